#!/usr/bin/env bash
# Server benchmarks: coproc vs Go, Erlang/OTP, Boost.Asio, raw liburing and nginx, over loopback.
#   tcp_echo   : bench/servers/load/echo_load (CONNS connections, SIZE-byte
#                ping-pong, DURATION s)               -> roundtrips_per_s
#   http_hello : wrk -t WRK_THREADS -c CONNS -d DURATION s  GET /  -> requests_per_s
# Systems: coproc (its examples on the backend they pick: io_uring where it works, or
# what COPROC_BACKEND says), coproc-epoll (the same binaries with COPROC_BACKEND=epoll),
# go, erlang, asio (Boost.Asio C++20 coroutines), uring (raw liburing), nginx
# (http_hello only). Each RESULT line also has the server's CPU time per operation
# (cpu_us_per_op: utime+stime of the server's whole process tree -- all threads, and
# child processes such as nginx's workers -- from /proc/PID/stat, read before and
# after the load, over the operations the load client counted) and server_cores
# (that CPU time over the load's wall time), since the load client shares the cores;
# coproc's lines say which backend ran (backend=, from the server's open descriptors).
#
#   bench/servers/run.sh                  all systems x all workloads, once
#   DURATION=5 RUNS=3 bench/servers/run.sh
#   SYSTEMS="coproc go" WORKLOADS=tcp_echo bench/servers/run.sh
#
# Env: DURATION (s, default 10), RUNS (default 1; runs interleave systems),
#      CONNS (100), SIZE (64), WRK_THREADS (2),
#      SYSTEMS ("coproc coproc-epoll go erlang asio uring nginx"),
#      WORKLOADS ("tcp_echo http_hello"), COPROC_BUILD_DIR (build/release),
#      COPROC_SKIP_BUILD=1 (use the coproc binaries as they are),
#      ERL_FLAGS (read by erl itself, e.g. "+sbwt none"), SERVER_THREADS (threads or
#      worker processes of asio, uring and nginx; default nproc), CXX (g++), CC (gcc),
#      NGINX (the nginx binary), CORES (servers on CPUs 0..CORES-1 only: see below).
# Prints RESULT lines as it goes and a table at the end; the RESULT lines are
# also kept in bench/servers/build/results-<time>.txt. Builds into
# bench/servers/build/ and installs missing Debian packages (golang-go,
# erlang-nox, wrk, g++, libboost-dev, liburing-dev, nginx-light). Every server is started with a time limit, stopped by its
# PID after its run, and anything still running is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$HERE/build"
DURATION="${DURATION:-10}"
RUNS="${RUNS:-1}"
CONNS="${CONNS:-100}"
SIZE="${SIZE:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
read -r -a SYSTEMS <<<"${SYSTEMS:-coproc coproc-epoll go erlang asio uring nginx}"
read -r -a WORKLOADS <<<"${WORKLOADS:-tcp_echo http_hello}"
COPROC_BUILD_DIR="${COPROC_BUILD_DIR:-$ROOT/build/release}"
COPROC_ECHO="$COPROC_BUILD_DIR/examples/echo_server"
COPROC_HTTP="$COPROC_BUILD_DIR/examples/http_hello"
# CORES=N: every server runs on CPUs 0..N-1 only (taskset; coproc and Go size themselves
# from that mask, Erlang brings its schedulers online on it) and SERVER_THREADS defaults to
# N; the load client stays free to use every CPU. For bench/compare --scaling.
CORES="${CORES:-}"
PIN=()
if [ -n "$CORES" ]; then
  [[ "$CORES" =~ ^[1-9][0-9]*$ ]] && [ "$CORES" -le "$(nproc)" ] ||
    { echo "CORES must be a number from 1 to $(nproc)" >&2; exit 2; }
  PIN=(taskset -c "0-$((CORES - 1))")
fi
SERVER_THREADS="${SERVER_THREADS:-${CORES:-$(nproc)}}"
CXX="${CXX:-g++}"
CC="${CC:-gcc}"
find_nginx() { PATH="$PATH:/usr/sbin:/sbin" command -v nginx || echo /usr/sbin/nginx; }
NGINX="${NGINX:-$(find_nginx)}"

for v in DURATION RUNS CONNS SIZE WRK_THREADS SERVER_THREADS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done

log() { echo "[run.sh] $*" >&2; }

# ---------------------------------------------------------------- cleanup ---
# Every server runs under `timeout`, which puts itself and the server in a
# process group whose id is its PID; we stop that group.
SERVER_PIDS=()
LOAD_PID=""
stop_server() { # stop_server <pid>: TERM, wait up to 5 s, then KILL the group
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true   # timeout forwards TERM to the server
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "server $pid ignored SIGTERM; killing its process group"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
forget_server() { # drop <pid> from SERVER_PIDS
  local p keep=()
  for p in "${SERVER_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  SERVER_PIDS=("${keep[@]}")
}
cleanup() {
  local pid
  if [ -n "$LOAD_PID" ]; then kill -TERM "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
  for pid in "${SERVER_PIDS[@]}"; do stop_server "$pid"; done
  SERVER_PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ build ---
need_pkg() { # need_pkg <package> <test-command...>
  local pkg="$1"; shift
  "$@" >/dev/null 2>&1 && return 0
  log "installing $pkg"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y "$pkg" >&2 ||
    { $sudo apt-get update >&2 && $sudo apt-get install -y "$pkg" >&2; }
}

stale() { # stale <output> <source...>: output missing or older than a source
  local out="$1" src; shift
  [ -e "$out" ] || return 0
  for src in "$@"; do [ "$src" -nt "$out" ] && return 0; done
  return 1
}

gobuild() { # gobuild <output> <source>
  if stale "$1" "$2"; then
    GOCACHE="${GOCACHE:-$BUILD/gocache}" GO111MODULE=off go build -o "$1" "$2" >&2
  fi
}

has_system() { local s; for s in "${SYSTEMS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
has_coproc() { has_system coproc || has_system coproc-epoll; }
has_workload() { local w; for w in "${WORKLOADS[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

build_all() {
  mkdir -p "$BUILD/logs"
  need_pkg golang-go command -v go            # echo_load is Go, whatever SYSTEMS is
  has_workload http_hello && need_pkg wrk command -v wrk
  gobuild "$BUILD/echo_load" "$HERE/load/echo_load.go"
  if has_system go; then
    gobuild "$BUILD/go-echo" "$HERE/go/echo.go"
    gobuild "$BUILD/go-http" "$HERE/go/http.go"
  fi
  if has_system erlang; then
    need_pkg erlang-nox command -v erlc
    local m
    for m in echo_server http_server; do
      if stale "$BUILD/$m.beam" "$HERE/erlang/$m.erl"; then
        erlc -o "$BUILD" "$HERE/erlang/$m.erl" >&2
      fi
    done
  fi
  local f
  if has_system asio; then
    need_pkg g++ command -v "$CXX"
    need_pkg libboost-dev test -e /usr/include/boost/asio.hpp
    for f in echo http; do
      if stale "$BUILD/asio-$f" "$HERE/asio/$f.cpp" "$HERE/asio/common.hpp"; then
        log "building asio-$f"
        nice -n 19 "$CXX" -std=c++20 -O2 -DNDEBUG -o "$BUILD/asio-$f" "$HERE/asio/$f.cpp" -lpthread >&2 ||
          log "WARNING: asio $f failed to build"
      fi
    done
  fi
  if has_system uring; then
    need_pkg gcc command -v "$CC"
    need_pkg liburing-dev test -e /usr/include/liburing.h
    for f in "${URING_SERVERS[@]}"; do
      if stale "$BUILD/uring-$f" "$HERE/uring/$f.c"; then
        log "building uring-$f"
        nice -n 19 "$CC" -std=gnu11 -O2 -o "$BUILD/uring-$f" "$HERE/uring/$f.c" -luring -lpthread >&2 ||
          log "WARNING: uring $f failed to build"
      fi
    done
  fi
  if has_system nginx && has_workload http_hello; then
    # Debian's nginx-light is nginx 1.22 (in bookworm a transitional package that
    # pulls in nginx); installing it may also start the distribution's nginx service.
    if [ ! -x "$NGINX" ]; then need_pkg nginx-light false || true; NGINX="$(find_nginx)"; fi
    mkdir -p "$BUILD/nginx/tmp"
  fi
  if has_coproc && [ -z "${COPROC_SKIP_BUILD:-}" ]; then
    need_pkg cmake command -v cmake
    need_pkg ninja-build command -v ninja
    need_pkg liburing-dev test -e /usr/include/liburing.h
    if [ ! -e "$COPROC_BUILD_DIR/build.ninja" ]; then
      cmake -S "$ROOT" -B "$COPROC_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCOPROC_BUILD_TESTS=OFF >&2 || log "WARNING: coproc configure failed"
    fi
    local t targets=(echo_server)
    if cmake --build "$COPROC_BUILD_DIR" --target help 2>/dev/null | grep -qw http_hello; then
      targets+=(http_hello)
    fi
    for t in "${targets[@]}"; do
      cmake --build "$COPROC_BUILD_DIR" --target "$t" >&2 ||
        log "WARNING: coproc $t failed to build; using the existing binary if there is one"
    done
  fi
}

# ---------------------------------------------------------------- servers ---
free_port() { # a port nobody listens on, below the ephemeral range
  local p i used
  used="$(ss -Htan 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)"
  for i in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
  done
  echo "no free port found" >&2; return 1
}

# nginx_conf <port>: writes $BUILD/nginx/nginx.conf for GET / -> 200 "Hello, World!"
# (text/plain), SERVER_THREADS worker processes with an SO_REUSEPORT listener each,
# keep-alive without a request limit, no access log; pid and temp files in
# $BUILD/nginx, errors in $BUILD/logs/nginx-error.log.
nginx_conf() {
  local d="$BUILD/nginx"
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $SERVER_THREADS;
pid $d/nginx.pid;
error_log $BUILD/logs/nginx-error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    server_tokens off;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen $1 reuseport backlog=1024;
        location = / {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
}
EOF
}

supports() { # supports <system> <workload>: whether the system has a server for it
  case "$1/$2" in
    uring/http_hello) [ -e "$HERE/uring/http.c" ] ;;
    nginx/tcp_echo) return 1 ;;
    *) return 0 ;;
  esac
}

server_cmd() { # server_cmd <system> <workload> <port> -> sets CMD array, or returns 1
  case "$1/$2" in
    coproc/tcp_echo)   CMD=("$COPROC_ECHO" "$3") ;;
    coproc/http_hello) CMD=("$COPROC_HTTP" "$3") ;;
    coproc-epoll/tcp_echo)   CMD=(env COPROC_BACKEND=epoll "$COPROC_ECHO" "$3") ;;
    coproc-epoll/http_hello) CMD=(env COPROC_BACKEND=epoll "$COPROC_HTTP" "$3") ;;
    go/tcp_echo)       CMD=("$BUILD/go-echo" "$3") ;;
    go/http_hello)     CMD=("$BUILD/go-http" "$3") ;;
    erlang/tcp_echo)   CMD=(erl -noshell -pa "$BUILD" -run echo_server main "$3") ;;
    erlang/http_hello) CMD=(erl -noshell -pa "$BUILD" -run http_server main "$3") ;;
    asio/tcp_echo)     CMD=("$BUILD/asio-echo" "$3" "$SERVER_THREADS") ;;
    asio/http_hello)   CMD=("$BUILD/asio-http" "$3" "$SERVER_THREADS") ;;
    uring/tcp_echo)    CMD=("$BUILD/uring-echo" "$3" "$SERVER_THREADS") ;;
    uring/http_hello)  CMD=("$BUILD/uring-http" "$3" "$SERVER_THREADS") ;;
    nginx/http_hello)
      [ "$3" = 0 ] || nginx_conf "$3"
      CMD=("$NGINX" -p "$BUILD/nginx" -e "$BUILD/logs/nginx-error.log" -c "$BUILD/nginx/nginx.conf") ;;
    *) echo "unknown system/workload: $1/$2" >&2; return 1 ;;
  esac
}

wait_accepting() { # wait_accepting <pid> <port> <log>: up to 15 s
  local i
  for i in $(seq 150); do
    if ! kill -0 "$1" 2>/dev/null; then
      log "server exited before accepting; its output:"; sed 's/^/    /' "$3" >&2; return 1
    fi
    if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "server did not accept on port $2 within 15 s; its output:"; sed 's/^/    /' "$3" >&2
  return 1
}

http_check() { # http_check <port>: GET / must answer 200 with Hello, World!
  local out
  out="$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1
    printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
    timeout 2 cat <&3" 2>/dev/null || true)"
  if ! grep -q '^HTTP/1\.[01] 200' <<<"$out" || ! grep -q 'Hello, World!' <<<"$out"; then
    log "WARNING: GET / did not answer 200 \"Hello, World!\"; got:"
    head -c 400 <<<"$out" | sed 's/^/    /' >&2
  fi
}

# The server process itself: the child of its `timeout` (env and erl exec their command).
server_proc() { # server_proc <timeout pid> -> pid, or nothing
  local kids
  kids="$(cat "/proc/$1/task/$1/children" 2>/dev/null || true)"
  echo "${kids%% *}" | tr -d ' '
}

proc_tree() { # proc_tree <pid>: the pid and all its descendants (children of any thread)
  local c
  echo "$1"
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do proc_tree "$c"; done
}

# cpu_ticks <pid>: CPU time (clock ticks) of the process tree under pid: for each
# process, utime + stime (all its threads) + cutime + cstime (its children that have
# exited and been waited for), from /proc/PID/stat. So nginx's workers count, and a
# child that exits between the two readings is still counted, in its parent.
cpu_ticks() {
  local p st sum=0 got=""
  for p in $(proc_tree "$1"); do
    st="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
    st="${st##*) }"   # fields from 3 on (the command name may hold spaces)
    sum=$((sum + $(awk '{ print $12 + $13 + $14 + $15 }' <<<"$st")))
    got=1
  done
  if [ -n "$got" ]; then echo "$sum"; else echo ""; fi
}

coproc_backend() { # coproc_backend <pid>: io_uring or epoll, from its open descriptors
  local links
  links="$(ls -l "/proc/$1/fd" 2>/dev/null || true)"
  if grep -q 'anon_inode:\[io_uring\]' <<<"$links"; then echo io_uring
  elif grep -q 'anon_inode:\[eventpoll\]' <<<"$links"; then echo epoll
  else echo unknown; fi
}

# The load client runs in the background and we `wait` for it, so that a
# signal to this script is handled at once rather than after the run.
run_load() { # run_load <output file> <command...>: bounded by DURATION + 30 s
  local outf="$1" rc=0; shift
  timeout -k 5 $((DURATION + 30)) "$@" >"$outf" 2>&1 </dev/null &
  LOAD_PID=$!
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=""
  return "$rc"
}

URING_SERVERS=(echo)
[ -e "$HERE/uring/http.c" ] && URING_SERVERS+=(http)

RESULTS="$BUILD/results-$(date +%Y%m%d-%H%M%S).txt"

run_one() { # run_one <system> <workload> <run#>
  local sys="$1" wl="$2" run="$3" port pid logf CMD=() rc=0 out="" bin
  local srv="" t0="" t1="" w0="" w1="" ops="" backend=""
  if ! supports "$sys" "$wl"; then
    log "skip system=$sys workload=$wl: $sys has no $wl server"
    return 0
  fi
  server_cmd "$sys" "$wl" 0 || return 1
  bin="${CMD[-2]}"
  case "$sys" in asio | uring | nginx) bin="${CMD[0]}" ;; esac
  if [[ $sys == coproc* || $sys == asio || $sys == uring || $sys == nginx ]] && [ ! -x "$bin" ]; then
    log "SKIP system=$sys workload=$wl: $bin does not exist (not built yet)"
    return 0
  fi
  port="$(free_port)"
  server_cmd "$sys" "$wl" "$port"
  logf="$BUILD/logs/$sys-$wl-run$run.log"
  log "run $run: $sys $wl on 127.0.0.1:$port (${DURATION}s)"
  # Bounded: the server cannot outlive DURATION + 120 s even if we are killed.
  timeout -k 5 $((DURATION + 120)) "${PIN[@]}" "${CMD[@]}" >"$logf" 2>&1 </dev/null &
  pid=$!
  SERVER_PIDS+=("$pid")
  if wait_accepting "$pid" "$port" "$logf"; then
    [ "$wl" = http_hello ] && http_check "$port"
    srv="$(server_proc "$pid")"
    if [[ $sys == coproc* ]] && [ -n "$srv" ]; then
      backend="$(coproc_backend "$srv")"
      [ "$sys" = coproc-epoll ] && [ "$backend" != epoll ] &&
        log "WARNING: $sys runs on $backend, not epoll"
    fi
    [ -n "$srv" ] && t0="$(cpu_ticks "$srv")"
    w0="$(date +%s.%N)"
    case "$wl" in
      tcp_echo)
        run_load "$logf.load" "$BUILD/echo_load" -port "$port" -system "$sys" \
          -c "$CONNS" -size "$SIZE" -d "${DURATION}s" || rc=$?
        w1="$(date +%s.%N)"; [ -n "$srv" ] && t1="$(cpu_ticks "$srv")"
        sed 's/^/    /' "$logf.load" | grep -v '^    RESULT' >&2 || true
        out="$(grep '^RESULT ' "$logf.load" || true)"
        ops="$(awk '/^echo_load: [0-9]+ round trips in/ {print $2}' "$logf.load")"
        [ "$rc" -eq 0 ] || { log "echo_load failed (rc=$rc)"; out=""; } ;;
      http_hello)
        run_load "$logf.load" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" \
          "http://127.0.0.1:$port/" || rc=$?
        w1="$(date +%s.%N)"; [ -n "$srv" ] && t1="$(cpu_ticks "$srv")"
        ops="$(awk '$2 == "requests" && $3 == "in" {print $1}' "$logf.load")"
        sed 's/^/    /' "$logf.load" >&2
        grep -qE 'Non-2xx|Socket errors' "$logf.load" &&
          log "WARNING: wrk reported errors for $sys (see above)"
        local rps
        rps="$(awk '/^Requests\/sec:/ {print $2}' "$logf.load")"
        if [ "$rc" -eq 0 ] && [ -n "$rps" ]; then
          out="$(printf 'RESULT system=%s workload=http_hello metric=requests_per_s value=%.0f unit=req/s' "$sys" "$rps")"
        else
          log "wrk failed (rc=$rc)"; out=""
        fi ;;
    esac
    if [ -n "$out" ]; then
      if [ -n "$t0" ] && [ -n "$t1" ] && [ -n "$ops" ] && [ "$ops" -gt 0 ]; then
        out="$out $(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$ops" \
          -v w0="$w0" -v w1="$w1" 'BEGIN { s = t / hz
            printf "cpu_us_per_op=%.2f server_cores=%.2f", s / n * 1e6, s / (w1 - w0) }')"
      else
        log "WARNING: no CPU time for $sys $wl (server pid '${srv}', ops '${ops}')"
      fi
      [ -n "$backend" ] && out="$out backend=$backend"
    fi
  else
    rc=1
  fi
  stop_server "$pid"
  forget_server "$pid"
  if [ -n "$out" ]; then
    echo "$out"
    echo "$out run=$run" >>"$RESULTS"
  else
    log "FAILED system=$sys workload=$wl run=$run (server log: $logf)"
    return 1
  fi
}

# ------------------------------------------------------------------ table ---
print_table() {
  [ -s "$RESULTS" ] || { log "no results"; return 0; }
  echo
  echo "Median of $RUNS run(s), ${DURATION}s each, $CONNS connections, $(nproc) cores shared by server and load client:"
  awk -v systems="${SYSTEMS[*]}" -v workloads="${WORKLOADS[*]}" '
    { delete f
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      add(f["workload"], "rate", f["system"], f["value"]); unit[f["workload"]] = f["unit"]
      if ("cpu_us_per_op" in f) add(f["workload"], "cpu", f["system"], f["cpu_us_per_op"])
      if ("server_cores" in f) add(f["workload"], "cores", f["system"], f["server_cores"]) }
    function add(w, m, s, x,   k) { k = w SUBSEP m SUBSEP s; n[k]++; v[k, n[k]] = x }
    function median(k,   m, i, j, t, a) {
      m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i] + 0
      for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
    function row(w, m, label, fmt, higher,   s, k, x, best, bestname, cp, ep) {
      printf "%-12s %-10s", w, label
      best = ""; bestname = ""; cp = ""; ep = ""
      for (s = 1; s <= ns; s++) {
        k = w SUBSEP m SUBSEP S[s]
        if (!(k in n)) { printf " %12s", "-"; continue }
        x = median(k); printf " %12" fmt, x
        if (S[s] == "coproc") cp = x
        else if (S[s] == "coproc-epoll") ep = x
        else if (best == "" || (higher ? x > best : x < best)) { best = x; bestname = S[s] }
      }
      if (m == "cores") { printf "\n"; return }
      if (cp != "" && best != "" && best > 0) printf "  %-17s", sprintf("%.2fx (vs %s)", cp / best, bestname)
      else printf "  %-17s", "-"
      if (cp != "" && ep != "" && cp > 0) printf "  %.2fx\n", ep / cp; else printf "  -\n"
    }
    END {
      ns = split(systems, S, " "); nw = split(workloads, W, " ")
      printf "%-12s %-10s", "workload", "unit"; for (s = 1; s <= ns; s++) printf " %12s", S[s]
      printf "  %-17s  %s\n", "coproc/best-peer", "epoll/io_uring"
      for (w = 1; w <= nw; w++) if ((W[w] SUBSEP "rate" SUBSEP "coproc") in n || W[w] in unit) {
        row(W[w], "rate", (W[w] in unit) ? unit[W[w]] : "-", ".0f", 1)
        row(W[w], "cpu", "us cpu/op", ".2f", 0)
        row(W[w], "cores", "srv cores", ".2f", 0)
      }
    }' "$RESULTS"
  echo "(us cpu/op: the server's user+system CPU (its process tree) per round trip or request; srv cores:"
  echo " that CPU over the load's wall time; coproc/best-peer: vs the fastest peer, and on CPU"
  echo " rows vs the cheapest; epoll/io_uring: coproc-epoll / coproc; for rates below 1 is"
  echo " slower, for CPU above 1 costs more.)"
  echo "(RESULT lines: $RESULTS)"
}

# ------------------------------------------------------------------- main ---
build_all
: >"$RESULTS"
failures=0
nsys=${#SYSTEMS[@]}
for run in $(seq "$RUNS"); do
  for wl in "${WORKLOADS[@]}"; do
    # Interleave: each run starts with the next system, so none always goes first.
    for i in $(seq 0 $((nsys - 1))); do
      sys="${SYSTEMS[$(((i + run - 1) % nsys))]}"
      run_one "$sys" "$wl" "$run" || failures=$((failures + 1))
    done
  done
done
print_table
[ "$failures" -eq 0 ] || { log "$failures run(s) failed"; exit 1; }
