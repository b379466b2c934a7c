#!/usr/bin/env bash
# Run the peer benchmarks (coproc, Erlang/OTP, Go, CAF) defined in bench/WORKLOADS.md.
#   run_peers.sh <coproc|erlang|go|caf> <workload>   -> RESULT lines on stdout
#   run_peers.sh <coproc|erlang|go|caf> all          -> every workload for one system
#   run_peers.sh all                                 -> every system x workload once
#   run_peers.sh coproc <workload> --cores N         -> coproc with N event loops
#   run_peers.sh build <system>                      -> only build
#   run_peers.sh floor timers_steady                 -> an ideal timer's lateness on this
#                                                       machine (floor/floor.cpp)
# coproc also has pingpong_cross (ping and pong on different cores).
# Builds into bench/peers/build/; installs missing Debian packages.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$HERE/build"
SYSTEMS=(coproc erlang go caf)
WORKLOADS=(ring pingpong skynet spawn_idle fanin timers timers_steady selective)
TIMEOUT="${PEERS_TIMEOUT:-120}"  # seconds per single run
# PEERS_SKIP_BUILD=1: run what is already built (bench/compare builds once, up front).

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
  [ -n "${PEERS_SKIP_BUILD:-}" ] && return 0  # bench/compare builds once, up front
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
    coproc)
      need_pkg g++ command -v g++
      need_pkg cmake command -v cmake
      need_pkg ninja-build command -v ninja
      need_pkg liburing-dev test -e /usr/include/liburing.h
      need_pkg libboost-dev test -e /usr/include/boost/version.hpp
      if [ ! -e "$BUILD/coproc-cmake/build.ninja" ]; then
        cmake -S "$HERE/coproc" -B "$BUILD/coproc-cmake" -G Ninja \
          -DCMAKE_BUILD_TYPE=Release >&2
      fi
      # Ninja rebuilds only what changed (peers.cpp or the library).
      cmake --build "$BUILD/coproc-cmake" >&2 ;;
    floor)
      need_pkg g++ command -v g++
      if stale "$BUILD/floor-peers" "$HERE/floor/floor.cpp"; then
        g++ -O2 -std=c++20 -pthread -o "$BUILD/floor-peers" "$HERE/floor/floor.cpp" >&2
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

run_one() { # run_one <system> <workload> [--cores N]
  case "$1" in
    coproc) timeout "$TIMEOUT" "$BUILD/coproc-peers" "${@:2}" ;;
    erlang) timeout "$TIMEOUT" erl +P 2000000 -noshell -pa "$BUILD" \
              -run coproc_peers main "$2" ;;
    go)     timeout "$TIMEOUT" "$BUILD/go-peers" "$2" ;;
    caf)    timeout "$TIMEOUT" "$BUILD/caf-peers" "$2" ;;
    floor)  timeout "$TIMEOUT" "$BUILD/floor-peers" "$2" ;;
  esac
}

run_many() { # run_many <systems...> -- runs all workloads, keeps going on failure
  local rc=0 s w
  for s in "$@"; do
    build "$s"
    local ws=("${WORKLOADS[@]}")
    [ "$s" = coproc ] && ws+=(pingpong_cross)
    for w in "${ws[@]}"; do
      run_one "$s" "$w" || { echo "FAILED system=$s workload=$w rc=$?" >&2; rc=1; }
    done
  done
  return $rc
}

case "${1:-}" in
  all) run_many "${SYSTEMS[@]}" ;;
  build)
    [ $# -eq 2 ] || { echo "usage: $0 build <system>" >&2; exit 2; }
    build "$2" ;;
  coproc)
    [ $# -ge 2 ] || { echo "usage: $0 coproc <workload|all> [--cores N]" >&2; exit 2; }
    if [ "$2" = all ]; then run_many coproc; else build coproc; run_one coproc "${@:2}"; fi ;;
  erlang|go|caf|floor)
    [ $# -eq 2 ] || { echo "usage: $0 <system> <workload|all>" >&2; exit 2; }
    if [ "$2" = all ]; then run_many "$1"; else build "$1"; run_one "$1" "$2"; fi ;;
  *) echo "usage: $0 all | build <system> | <coproc|erlang|go|caf> <$(IFS="|"; echo "${WORKLOADS[*]}")|all> | floor timers_steady" >&2
     exit 2 ;;
esac
