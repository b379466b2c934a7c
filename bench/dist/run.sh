#!/usr/bin/env bash
# Remote (Erlang distribution) ping-pong benchmark: coproc and Erlang/OTP nodes
# on 127.0.0.1, in every client -> server combination, in one run.
#
#   bench/dist/run.sh [SECONDS=3] [RUNS=3]
#
# Pairs (client -> server), run interleaved A B C D A B C D ... per mode:
#   A coproc -> coproc   B coproc -> erlang   C erlang -> coproc   D erlang -> erlang
# Modes: rt (one ping in flight, round trips/s), pipe (1000 pings in flight,
# pongs/s) and bin (one 10 MiB binary in flight, MiB echoed/s). See bench/dist/README.md.
#
# Env: COPROC_DIST_BENCH  the C++ peer (default build/release/bench/coproc_dist_pingpong,
#                         relative to the repository root, built here in Release if
#                         missing); if it is still missing the coproc pairs are skipped.
#      DIST_RESULTS_DIR   where dist.csv (appended) and dist.md (replaced) go
#                         (default bench/results).
#      DIST_ERL_ARGS      extra arguments for every erl node (e.g. "+sbwt none").
#
# Everything runs against a private epmd on a random port (ERL_EPMD_PORT is
# exported); every process this script starts runs under `timeout`, is stopped
# by its PID, and anything still running is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DUR="${1:-3}"
RUNS="${2:-3}"
for v in DUR RUNS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SECONDS>0] [RUNS>0]" >&2; exit 2; }
done
COOKIE=benchcookie
HOST=127.0.0.1
BIN="${COPROC_DIST_BENCH:-build/release/bench/coproc_dist_pingpong}"
[[ "$BIN" == /* ]] || BIN="$ROOT/$BIN"
if [[ -z "${COPROC_DIST_BENCH:-}" && ! -x "$BIN" ]]; then
  (cd "$ROOT" && scripts/install-deps.sh >&2 &&
    cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOPROC_BUILD_TESTS=OFF >/dev/null &&
    cmake --build build/release -j "$(nproc)" --target coproc_dist_pingpong >&2) || true
fi
RESULTS_DIR="${DIST_RESULTS_DIR:-$ROOT/bench/results}"
read -r -a EXTRA_ERL_ARGS <<<"${DIST_ERL_ARGS:-}"
MODES=(rt pipe bin)
READY_TIMEOUT=20                            # s, for a server to print READY
CLIENT_LIMIT=$((DUR + 40))                  # s, per client run (connect + run + drain)
LIFETIME=$((RUNS * 8 * (CLIENT_LIMIT + 5) + 120))  # s, hard cap for servers and epmd

log() { echo "[dist] $*" >&2; }
die() { log "ERROR: $*"; FAILED=1; exit 1; }

for tool in erl erlc epmd timeout; do
  command -v "$tool" >/dev/null || { echo "[dist] ERROR: '$tool' not found (install erlang-nox)" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/coproc-dist-bench.XXXXXX")"
FAILED=0

# ---------------------------------------------------------------- cleanup ---
# `timeout` puts itself and its command in a process group whose id is its
# PID and forwards SIGTERM to the command; we stop by that PID.
BG_PIDS=()      # servers (stopped in reverse order), epmd first in the list
CLIENT_PID=""
stop_pid() { # stop_pid <pid>: TERM, wait up to 5 s, then KILL its group
  local pid="$1" i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "process $pid ignored SIGTERM; killing its process group"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local i
  trap - EXIT INT TERM
  if [ -n "$CLIENT_PID" ]; then stop_pid "$CLIENT_PID"; CLIENT_PID=""; fi
  for ((i = ${#BG_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${BG_PIDS[i]}"; done
  BG_PIDS=()
  if [ "$FAILED" = 1 ]; then
    log "logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'FAILED=1; exit 130' INT
trap 'FAILED=1; exit 143' TERM

show_log() { # show_log <file>: last lines of a log, indented, on stderr
  sed -e 's/^/    | /' <(tail -n 20 "$1") >&2 || true
}

# ---------------------------------------------------------------- compile ---
mkdir -p "$WORK/ebin"
timeout 60 erlc -o "$WORK/ebin" "$HERE/pong.erl" || die "erlc failed on $HERE/pong.erl"
OTP_RELEASE="$(timeout 30 erl -noshell -noinput -start_epmd false \
  -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')"

# ------------------------------------------------------------------- epmd ---
port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }
start_epmd() {
  local port pid i
  for _ in $(seq 10); do
    port=$((43690 + RANDOM % 2000))
    port_in_use "$port" && continue
    ERL_EPMD_ADDRESS=$HOST timeout -k 5 "$LIFETIME" epmd -port "$port" \
      </dev/null >"$WORK/epmd.log" 2>&1 &
    pid=$!
    for i in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      if timeout 2 epmd -port "$port" -names >/dev/null 2>&1; then
        BG_PIDS+=("$pid")
        export ERL_EPMD_PORT="$port"
        log "private epmd on port $port (pid $pid)"
        return 0
      fi
      sleep 0.1
    done
    stop_pid "$pid"   # died (port taken meanwhile?) or never answered: next port
  done
  show_log "$WORK/epmd.log"
  die "could not start a private epmd"
}
start_epmd

ERL_ARGS=(-noshell -noinput -start_epmd false -setcookie "$COOKIE"
  -kernel inet_dist_use_interface "{127,0,0,1}" -pa "$WORK/ebin" "${EXTRA_ERL_ARGS[@]}")

# ---------------------------------------------------------------- servers ---
wait_ready() { # wait_ready <pid> <log> <what>
  local pid="$1" file="$2" what="$3" i
  for i in $(seq $((READY_TIMEOUT * 10))); do
    grep -q '^READY' "$file" 2>/dev/null && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log "$file"
      die "$what exited before printing READY (log: $file)"
    fi
    sleep 0.1
  done
  show_log "$file"
  die "$what did not print READY within ${READY_TIMEOUT}s (log: $file)"
}

ERL_SRV="erl_srv@$HOST"
COPROC_SRV="coproc_srv@$HOST"
SRV_PID_erlang=""
SRV_PID_coproc=""

start_erlang_server() {
  timeout -k 5 "$LIFETIME" erl "${ERL_ARGS[@]}" -name "$ERL_SRV" \
    -eval 'pong:server(), halt().' </dev/null >"$WORK/erl_srv.log" 2>&1 &
  SRV_PID_erlang=$!
  BG_PIDS+=("$SRV_PID_erlang")
  wait_ready "$SRV_PID_erlang" "$WORK/erl_srv.log" "Erlang server $ERL_SRV"
  log "Erlang server $ERL_SRV ready (pid $SRV_PID_erlang)"
}
start_coproc_server() {
  timeout -k 5 "$LIFETIME" "$BIN" serve --name "$COPROC_SRV" --cookie "$COOKIE" \
    </dev/null >"$WORK/coproc_srv.log" 2>&1 &
  SRV_PID_coproc=$!
  BG_PIDS+=("$SRV_PID_coproc")
  wait_ready "$SRV_PID_coproc" "$WORK/coproc_srv.log" "coproc server $COPROC_SRV"
  log "coproc server $COPROC_SRV ready (pid $SRV_PID_coproc)"
}

# Pairs, in run order: "<client>-<server>".
PAIRS=(coproc-coproc coproc-erlang erlang-coproc erlang-erlang)
HAVE_COPROC=1
if [ ! -x "$BIN" ]; then
  HAVE_COPROC=0
  log "SKIPPING the coproc pairs: $BIN not found (build it, or set COPROC_DIST_BENCH)"
  PAIRS=(erlang-erlang)
fi

start_erlang_server
[ "$HAVE_COPROC" = 1 ] && start_coproc_server

# ---------------------------------------------------------------- clients ---
mkdir -p "$RESULTS_DIR"
CSV="$RESULTS_DIR/dist.csv"
MD="$RESULTS_DIR/dist.md"
[ -s "$CSV" ] || echo "timestamp,pair,mode,run,per_s" >"$CSV"
STAMP="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
declare -A VALUES=() FAILS=()
ANY_FAIL=0

server_alive() { # server_alive <erlang|coproc> <node> <pid>: dies if that server has exited
  kill -0 "$3" 2>/dev/null && return 0
  show_log "$WORK/${1/erlang/erl}_srv.log"
  die "the $1 server ($2) has died"
}
RESULT_VALUE=""
run_client() { # run_client <pair> <mode> <run>: sets RESULT_VALUE to per_s, or returns 1
  local pair="$1" mode="$2" run="$3"
  local client="${pair%-*}" server="${pair#*-}" srv_node srv_pid out value
  if [ "$server" = erlang ]; then srv_node="$ERL_SRV"; srv_pid="$SRV_PID_erlang"
  else srv_node="$COPROC_SRV"; srv_pid="$SRV_PID_coproc"; fi
  server_alive "$server" "$srv_node" "$srv_pid"
  out="$WORK/client_${pair}_${mode}_${run}.log"
  local name="${client/erlang/erl}_cli_${mode}_${run}_${pair//-/_}@$HOST"
  if [ "$client" = erlang ]; then
    timeout -k 5 "$CLIENT_LIMIT" erl "${ERL_ARGS[@]}" -hidden -name "$name" \
      -eval "pong:client_main('$srv_node', $mode, $DUR)." </dev/null >"$out" 2>&1 &
  else
    timeout -k 5 "$CLIENT_LIMIT" "$BIN" client --name "$name" --cookie "$COOKIE" \
      --peer "$srv_node" --mode "$mode" --seconds "$DUR" </dev/null >"$out" 2>&1 &
  fi
  CLIENT_PID=$!
  local rc=0
  wait "$CLIENT_PID" || rc=$?
  CLIENT_PID=""
  value="$(sed -n "s/^RESULT mode=$mode per_s=\([0-9][0-9]*\)\r\{0,1\}\$/\1/p" "$out" | tail -n 1)"
  if [ "$rc" != 0 ] || [ -z "$value" ]; then
    log "FAILED: $pair $mode run $run (exit $rc$([ "$rc" = 124 ] && echo ', timed out'))"
    show_log "$out"
    server_alive "$server" "$srv_node" "$srv_pid"
    return 1
  fi
  RESULT_VALUE="$value"
}

T0=$(date +%s)
for ((run = 1; run <= RUNS; run++)); do
  for mode in "${MODES[@]}"; do
    for pair in "${PAIRS[@]}"; do
      key="$pair|$mode"
      if run_client "$pair" "$mode" "$run"; then
        value="$RESULT_VALUE"
        VALUES[$key]="${VALUES[$key]:-} $value"
        echo "$STAMP,$pair,$mode,$run,$value" >>"$CSV"
        log "run $run/$RUNS  $mode  ${pair/-/ -> }: $value/s"
      else
        FAILS[$key]=$(( ${FAILS[$key]:-0} + 1 ))
        ANY_FAIL=1
      fi
    done
  done
done
log "measured in $(( $(date +%s) - T0 ))s"

# ------------------------------------------------------------------ table ---
stats() { # stats <values...>: "median min max" (median of an even count: mean of the middle two)
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit 1
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%d %d %d\n", m + 0.5, v[1], v[NR] }'
}
label() { local c="${1%-*}" s="${1#*-}"; echo "${c/erlang/Erlang} → ${s/erlang/Erlang}"; }

# VALUES entries are space-separated integers, split on purpose when passed to stats.
# shellcheck disable=SC2086
table() {
  local mode pair key med min max base ratio both
  echo "| pair (client → server) | mode | median per_s | min–max | both ways msg/s | vs Erlang → Erlang |"
  echo "|---|---|--:|--:|--:|--:|"
  for mode in "${MODES[@]}"; do
    base=""
    if [ -n "${VALUES[erlang-erlang|$mode]:-}" ]; then
      read -r base _ _ < <(stats ${VALUES[erlang-erlang|$mode]})
    fi
    for pair in "${PAIRS[@]}"; do
      key="$pair|$mode"
      if [ -z "${VALUES[$key]:-}" ]; then
        echo "| $(label "$pair") | $mode | FAILED | | | |"
        continue
      fi
      read -r med min max < <(stats ${VALUES[$key]})
      both=$((2 * med))
      if [ -n "$base" ] && [ "$base" -gt 0 ]; then
        ratio="$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.2f×", a / b }')"
      else
        ratio="–"
      fi
      local note=""
      [ -n "${FAILS[$key]:-}" ] && note=" (${FAILS[$key]} failed)"
      echo "| $(label "$pair") | $mode | $med$note | $min–$max | $both | $ratio |"
    done
  done
}

{
  echo "# Remote ping-pong over Erlang distribution"
  echo
  echo "$STAMP, $(uname -n), $(nproc) cores, OTP $OTP_RELEASE; ${DUR}s per run, $RUNS runs per pair and mode (interleaved), pipe window 1000."
  echo "rt: round trips/s (one ping in flight); pipe: pongs received/s with 1000 pings in flight;"
  echo "bin: MiB echoed/s with one 10 MiB binary in flight ({echo, From, Bin} -> From ! {echo, Bin})."
  echo "Every ping is a registered-name send to {pong, ServerNode}; all nodes on 127.0.0.1."
  [ "$HAVE_COPROC" = 1 ] || echo "coproc pairs skipped: $BIN not found."
  echo
  table
} >"$MD"

echo
cat "$MD"
echo
log "table: $MD; raw rows appended to $CSV"
if [ "$ANY_FAIL" = 1 ]; then FAILED=1; exit 1; fi
