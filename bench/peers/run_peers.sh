#!/usr/bin/env bash
# Run the peer benchmarks (Erlang/OTP, Go, CAF) defined in bench/WORKLOADS.md.
#   run_peers.sh <erlang|go|caf> <workload>   -> RESULT lines on stdout
#   run_peers.sh <erlang|go|caf> all          -> every workload for one system
#   run_peers.sh all                          -> every system x workload once
# Builds into bench/peers/build/; installs missing Debian packages.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$HERE/build"
SYSTEMS=(erlang go caf)
WORKLOADS=(ring pingpong skynet spawn_idle fanin timers selective)
TIMEOUT="${PEERS_TIMEOUT:-120}"  # seconds per single run

need_pkg() { # need_pkg <package> <test-command...>
  local pkg="$1"; shift
  "$@" >/dev/null 2>&1 && return 0
  echo "installing $pkg" >&2
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y "$pkg" >&2 ||
    { $sudo apt-get update >&2 && $sudo apt-get install -y "$pkg" >&2; }
}

# Rebuild $1 when it is missing or older than source $2.
stale() { [ ! -e "$1" ] || [ "$2" -nt "$1" ]; }

build() {
  mkdir -p "$BUILD"
  case "$1" in
    erlang)
      need_pkg erlang-nox command -v erlc
      if stale "$BUILD/coproc_peers.beam" "$HERE/erlang/coproc_peers.erl"; then
        erlc -o "$BUILD" "$HERE/erlang/coproc_peers.erl" >&2
      fi ;;
    go)
      need_pkg golang-go command -v go
      if stale "$BUILD/go-peers" "$HERE/go/peers.go"; then
        GOCACHE="${GOCACHE:-$BUILD/gocache}" GO111MODULE=off \
          go build -o "$BUILD/go-peers" "$HERE/go/peers.go" >&2
      fi ;;
    caf)
      need_pkg libcaf-dev test -e /usr/include/caf/all.hpp
      need_pkg g++ command -v g++
      if stale "$BUILD/caf-peers" "$HERE/caf/peers.cpp"; then
        g++ -O2 -std=c++17 -o "$BUILD/caf-peers" "$HERE/caf/peers.cpp" \
          -lcaf_core -lpthread >&2
      fi ;;
    *) echo "unknown system: $1" >&2; exit 2 ;;
  esac
}

run_one() { # run_one <system> <workload>
  case "$1" in
    erlang) timeout "$TIMEOUT" erl +P 2000000 -noshell -pa "$BUILD" \
              -run coproc_peers main "$2" ;;
    go)     timeout "$TIMEOUT" "$BUILD/go-peers" "$2" ;;
    caf)    timeout "$TIMEOUT" "$BUILD/caf-peers" "$2" ;;
  esac
}

run_many() { # run_many <systems...> -- runs all workloads, keeps going on failure
  local rc=0 s w
  for s in "$@"; do
    build "$s"
    for w in "${WORKLOADS[@]}"; do
      run_one "$s" "$w" || { echo "FAILED system=$s workload=$w rc=$?" >&2; rc=1; }
    done
  done
  return $rc
}

case "${1:-}" in
  all) run_many "${SYSTEMS[@]}" ;;
  erlang|go|caf)
    [ $# -eq 2 ] || { echo "usage: $0 <system> <workload|all>" >&2; exit 2; }
    if [ "$2" = all ]; then run_many "$1"; else build "$1"; run_one "$1" "$2"; fi ;;
  *) echo "usage: $0 all | <erlang|go|caf> <$(IFS="|"; echo "${WORKLOADS[*]}")|all>" >&2; exit 2 ;;
esac
