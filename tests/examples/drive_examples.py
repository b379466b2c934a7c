#!/usr/bin/env python3
"""Starts every example and drives it over loopback, checking the answers byte for byte.

    drive_examples.py BIN_DIR SOURCE_DIR [only...]

Only 127.0.0.1 is ever contacted. Every step has a timeout, every loop a bound, and every
program started here is stopped by its PID before the script ends. Prints one line per
check and a closing "N passed, N failed" line; exits non-zero if any check failed.
"""
import os
import random
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = sys.argv[1]
SRC = sys.argv[2]
ONLY = set(sys.argv[3:])
passed = 0
failed = 0
started = []  # every Popen, stopped at the end


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what} {detail}")
    sys.stdout.flush()
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, ready=None, env=None, limit_fds=None, timeout=20):
    """Starts a program; waits until a stdout line contains `ready`."""
    def pre():
        os.setpgrp()
        if limit_fds:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit_fds, limit_fds))
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, preexec_fn=pre)
    started.append(p)
    p.lines = []
    if ready is None:
        return p
    deadline = time.time() + timeout
    buf = b""
    while time.time() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.2)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            if ready.encode() in buf:
                p.lines.append(buf)
                return p
        if p.poll() is not None:
            break
    raise RuntimeError(f"{args[0]} did not print {ready!r}: {buf!r} "
                       f"stderr={p.stderr.read(2000) if p.poll() is not None else b''!r}")


def stop(p, sig=signal.SIGTERM, timeout=10):
    """Sends sig; returns the exit code, or None if it had to be killed."""
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
        return None


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_until_closed(s, limit=64 << 20):
    out = b""
    try:
        while len(out) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError) as e:
        out += f"<<{type(e).__name__}>>".encode()
    return out


def read_exactly(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


DATE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")


def undate(b):
    return DATE.sub(b"Date: D\r\n", b)


def response(status, reason, body, close=False, head=False):
    r = (f"HTTP/1.1 {status} {reason}\r\nDate: D\r\nServer: coproc\r\n"
         f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n").encode()
    r += b"Connection: close\r\n\r\n" if close else b"\r\n"
    return r + (b"" if head else body)


HELLO = response(200, "OK", b"Hello, World!")


def read_response(s):
    """One response with a Content-Length body."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            return head
        head += chunk
    m = re.search(rb"Content-Length: (\d+)", head)
    n = int(m.group(1)) if m else 0
    return head + read_exactly(s, n)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


# ---------------------------------------------------------------- one-shot programs

def test_seed_walkthrough():
    out = subprocess.run([f"{BIN}/seed_walkthrough"], capture_output=True, timeout=60)
    with open(f"{SRC}/tests/examples/seed_walkthrough.expected", "rb") as f:
        want = f.read()
    check(out.returncode == 0 and out.stdout == want, "seed_walkthrough prints the seed's output",
          f"rc={out.returncode} got={out.stdout!r}")


def test_backend_choice():
    """Where io_uring is blocked (COPROC_EXPECT_BACKEND=epoll: scripts/test.sh runs the
    driver under a seccomp filter) the examples say so in one stderr line and run on epoll;
    a forced io_uring there, or an unknown COPROC_BACKEND anywhere, ends with status 1 and
    a message, never an abort."""
    env = dict(os.environ)
    env.pop("COPROC_BACKEND", None)
    out = subprocess.run([f"{BIN}/seed_walkthrough"], capture_output=True, timeout=60, env=env)
    lines = out.stderr.decode(errors="replace").splitlines()
    if os.environ.get("COPROC_EXPECT_BACKEND") == "epoll":
        check(out.returncode == 0 and len(lines) == 1 and "io_uring is unavailable" in lines[0]
              and "epoll" in lines[0],
              "seed_walkthrough without io_uring: one stderr line names epoll and why", repr(lines))
        forced = subprocess.run([f"{BIN}/seed_walkthrough"], capture_output=True, timeout=60,
                                env=dict(env, COPROC_BACKEND="io_uring"))
        err = forced.stderr.decode(errors="replace")
        check(forced.returncode == 1 and "cannot start the runtime" in err and "io_uring" in err
              and forced.stdout == b"",
              "seed_walkthrough with io_uring forced but blocked: status 1 and the reason",
              f"rc={forced.returncode} {err!r}")
    else:
        check(out.returncode == 0 and lines == [], "seed_walkthrough: nothing on stderr",
              repr(lines))
    bad = subprocess.run([f"{BIN}/seed_walkthrough"], capture_output=True, timeout=60,
                         env=dict(env, COPROC_BACKEND="kqueue"))
    err = bad.stderr.decode(errors="replace")
    check(bad.returncode == 1 and "COPROC_BACKEND=kqueue" in err and bad.stdout == b"",
          "an unknown COPROC_BACKEND: status 1 and a message", f"rc={bad.returncode} {err!r}")


def test_ping_pong():
    out = subprocess.run([f"{BIN}/ping_pong"], capture_output=True, timeout=60)
    check(out.returncode == 0 and
          out.stdout == b"ping-pong: 100000 round trips between core 0 and core 1\n",
          "ping_pong runs its round trips", f"rc={out.returncode} {out.stdout!r}")


def test_supervision_tree():
    out = subprocess.run([f"{BIN}/supervision_tree"], capture_output=True, timeout=60)
    check(out.returncode == 0 and out.stdout.rstrip().endswith(b"top supervisor ended: shutdown"),
          "supervision_tree builds, breaks and shuts down its tree",
          f"rc={out.returncode} tail={out.stdout[-200:]!r}")


# ---------------------------------------------------------------- http_hello

def http_checks(port):
    with connect(port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        check(undate(read_response(s)) == HELLO, "http_hello: GET / byte for byte")
        for i in range(3):
            s.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
            r = undate(read_response(s))
            check(r.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\n\r\ncoproc runtime\n" in r
                  and b"longest mailboxes:" in r, f"http_hello: GET /stats #{i + 1}", repr(r[:300]))
            # scripts/test.sh sets COPROC_EXPECT_BACKEND=epoll when io_uring is blocked.
            want = os.environ.get("COPROC_EXPECT_BACKEND", "").encode()
            backend = re.search(rb"I/O backend: (io_uring|epoll)\n", r)
            check(backend is not None and (not want or backend.group(1) == want),
                  f"http_hello: /stats names the I/O backend{' (' + want.decode() + ')' if want else ''}",
                  repr(r[:300]))
        s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = response(200, "OK", b"Hello, World!", head=True)
        dated = len(b"Date: Tue, 01 Dec 2026 21:36:24 GMT\r\n") - len(b"Date: D\r\n")
        got = undate(read_exactly(s, len(head) + len(HELLO) + 2 * dated))
        check(got == head + HELLO, "http_hello: HEAD has the GET's Content-Length and no body",
              repr(got))
        s.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        check(undate(read_response(s)) == response(404, "Not Found", b"not found\n"),
              "http_hello: 404")

    # Pipelined: 500 good requests then a bad one; every answer arrives (lingering close).
    bad400 = response(400, "Bad Request", b"Bad Request\n", close=True)
    ok_tries = 0
    for _ in range(20):
        with connect(port, timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 500 + b"BAD\r\n\r\n")
            got = undate(read_until_closed(s))
            ok_tries += got == HELLO * 500 + bad400
    check(ok_tries == 20, "http_hello: 500 pipelined answers and the 400 arrive, 20 of 20 tries",
          f"{ok_tries}/20")

    def one(raw, want, what):
        with connect(port) as s:
            s.sendall(raw)
            got = undate(read_until_closed(s) if b"close" in want else read_response(s))
            check(got == want, f"http_hello: {what}", repr(got[:400]))

    bad = response(400, "Bad Request", b"Bad Request\n", close=True)
    one(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", bad, "two Host lines get 400")
    one(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", bad, "an invalid Host gets 400")
    one(b"GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", HELLO,
        "an absolute-form target is served")
    one(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n",
        response(200, "OK", b"Hello, World!", close=True), "Connection: keep-alive, close closes")
    one(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n",
        response(200, "OK", b"Hello, World!", close=True), "close on one line wins over another")
    # Expect: 100-continue is answered at once, before the body is sent.
    with connect(port, timeout=2) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        cont = read_exactly(s, 25)
        check(cont == b"HTTP/1.1 100 Continue\r\n\r\n", "http_hello: Expect: 100-continue answered",
              repr(cont))
        s.sendall(b"hello")
        got = undate(read_response(s))
        check(got == response(405, "Method Not Allowed", b"method not allowed\n"),
              "http_hello: the final answer follows the 100", repr(got))
    # A chunked body is parsed (the handler then answers 405), and the connection goes on.
    with connect(port) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        a = undate(read_response(s))
        b = undate(read_response(s))
        check(a == response(405, "Method Not Allowed", b"method not allowed\n") and b == HELLO,
              "http_hello: a chunked request body is parsed", repr(a + b))
    one(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", bad,
        "a bad chunk size gets 400")


def test_http_hello():
    port = free_port()
    p = start([f"{BIN}/http_hello", str(port)], ready="http_hello on")
    try:
        http_checks(port)
        check(p.poll() is None, "http_hello: still running after every check")
        # SIGTERM during a slow request: that request finishes, idle ones close, exit 0.
        idle = connect(port)
        idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(idle)
        slow = connect(port)
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        idle_end = read_until_closed(idle)
        check(idle_end == b"", "http_hello: SIGTERM closes an idle keep-alive connection",
              repr(idle_end))
        slow.sendall(b"\r\n")
        got = undate(read_until_closed(slow))
        check(got == response(200, "OK", b"Hello, World!", close=True),
              "http_hello: SIGTERM lets the request in progress finish, with Connection: close",
              repr(got))
        rc = p.wait(10)
        check(rc == 0, "http_hello: exits 0 after SIGTERM", f"rc={rc}")
        idle.close()
        slow.close()
    finally:
        stop(p, signal.SIGKILL)


def test_http_hello_out_of_descriptors():
    """Under ulimit -n 64, a flood past the limit does not kill accept."""
    port = free_port()
    p = start([f"{BIN}/http_hello", str(port)], ready="http_hello on", limit_fds=64)
    clients = []
    try:
        for _ in range(300):
            try:
                clients.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(0.5)  # the server is now out of descriptors, connections queue
        before = cpu_ticks(p.pid)
        time.sleep(2.0)
        ticks = cpu_ticks(p.pid) - before
        hz = os.sysconf("SC_CLK_TCK")
        cpu_share = ticks / hz / 2.0
        check(p.poll() is None, f"ulimit -n 64: http_hello alive with {len(clients)} clients")
        check(cpu_share < 0.10, f"ulimit -n 64: no spin while the limit holds "
              f"(CPU {cpu_share * 100:.1f}% of one core)", f"{ticks} ticks in 2 s")
        for c in clients:
            c.close()
        left = time.time()
        answered = None
        for _ in range(100):
            try:
                with connect(port, timeout=0.5) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    if undate(read_response(s)) == HELLO:
                        answered = time.time() - left
                        break
            except OSError:
                pass
            time.sleep(0.02)
        check(answered is not None and answered < 1.0,
              "ulimit -n 64: answers again within 1 s of the clients leaving",
              f"after {answered} s")
        if answered is not None:
            print(f"     recovery {answered * 1000:.0f} ms, CPU while limited "
                  f"{cpu_share * 100:.1f}% of a core, {len(clients)} clients")
        with connect(port) as s:  # and keeps working
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            check(undate(read_response(s)) == HELLO, "ulimit -n 64: serves normally afterwards")
        check(stop(p) == 0, "ulimit -n 64: exits 0 on SIGTERM")
    finally:
        for c in clients:
            c.close()
        stop(p, signal.SIGKILL)


# ---------------------------------------------------------------- echo_server

def test_echo_server():
    port = free_port()
    p = start([f"{BIN}/echo_server", str(port)], ready="echo server on")
    try:
        results = {}

        def client(i):
            data = random.Random(i).randbytes(1 << 20)
            with connect(port, timeout=20) as s:
                sender = threading.Thread(target=s.sendall, args=(data,))
                sender.start()
                got = read_exactly(s, len(data))
                sender.join(20)
            results[i] = got == data

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check(len(results) == 4 and all(results.values()),
              "echo_server: 4 clients each get 1 MiB back byte for byte", str(results))
        check(stop(p) == 0, "echo_server: exits 0 on SIGTERM")
    finally:
        stop(p, signal.SIGKILL)


def test_echo_server_out_of_descriptors():
    port = free_port()
    p = start([f"{BIN}/echo_server", str(port)], ready="echo server on", limit_fds=48)
    clients = []
    try:
        for _ in range(200):
            try:
                clients.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(1.0)
        check(p.poll() is None, "ulimit -n 48: echo_server survives the flood")
        for c in clients:
            c.close()
        clients = []
        ok = False
        deadline = time.time() + 3
        while time.time() < deadline and not ok:
            try:
                with connect(port, timeout=1) as s:
                    s.sendall(b"ping")
                    ok = read_exactly(s, 4) == b"ping"
            except OSError:
                time.sleep(0.05)
        check(ok, "ulimit -n 48: echo_server echoes again after the clients left")
        check(stop(p) == 0, "ulimit -n 48: echo_server exits 0 on SIGTERM")
    finally:
        for c in clients:
            c.close()
        stop(p, signal.SIGKILL)


# ---------------------------------------------------------------- chat_server

def test_chat_server():
    port = free_port()
    p = start([f"{BIN}/chat_server", str(port)], ready="chat server on")
    try:
        a = connect(port)
        b = connect(port)
        wa = a.recv(200)
        wb = b.recv(200)
        a_name = a.getsockname()
        check(wa == f"welcome, 127.0.0.1:{a_name[1]}\r\n".encode() and wb.startswith(b"welcome, "),
              "chat_server: greets each client by address", repr(wa + wb))
        time.sleep(0.2)  # both have joined the room
        a.sendall(b"hello room\n")
        line = b.recv(200)
        check(line == f"127.0.0.1:{a_name[1]}: hello room\r\n".encode(),
              "chat_server: a line reaches the other member", repr(line))
        a.close()
        b.close()
        check(p.poll() is None, "chat_server: running after its clients left")
    finally:
        stop(p, signal.SIGKILL)


# ---------------------------------------------------------------- cluster_ping

def test_cluster_ping():
    erl = subprocess.run(["which", "erl"], capture_output=True).stdout.strip()
    epmd_bin = subprocess.run(["which", "epmd"], capture_output=True).stdout.strip()
    if not erl or not epmd_bin:
        check(False, "cluster_ping: erl and epmd are needed (apt-get install erlang-nox)")
        return
    epmd_port = free_port()
    home = tempfile.mkdtemp()
    env = dict(os.environ, ERL_EPMD_PORT=str(epmd_port), HOME=home)
    epmd = start([epmd_bin, "-port", str(epmd_port)], env=env)
    time.sleep(0.5)
    node = None
    try:
        node = start([f"{BIN}/cluster_ping", "coproc@127.0.0.1", "secret"], ready="is up",
                     env=env)
        script = (
            'P = {ping, \'coproc@127.0.0.1\'},'
            'W = fun() -> receive M -> M after 5000 -> timeout end end,'
            'P ! {ping, self()}, R1 = W(),'
            'P ! {echo, self(), #{list => [1, 2.5, three], text => <<"ol", 195, 161>>}}, R2 = W(),'
            'P ! {add, self(), 40, 2}, R3 = W(),'
            'P ! {upcase, self(), <<"hello">>}, R4 = W(),'
            'io:format("~w~n~w~n~w~n~w~n", [R1, R2, R3, R4]), halt().')
        out = subprocess.run(["timeout", "-s", "KILL", "40", erl, "-noshell", "-name",
                              "t@127.0.0.1", "-setcookie", "secret", "-start_epmd", "false",
                              "-eval", script], capture_output=True, env=env, timeout=60)
        want = (b'{pong,<<99,111,112,114,111,99,64,49,50,55,46,48,46,48,46,49>>}\n'
                b'{echo,#{list => [1,2.5,three],text => <<111,108,195,161>>}}\n'
                b'{sum,42}\n'
                b'{upcase,<<72,69,76,76,79>>}\n')
        check(out.stdout == want, "cluster_ping: an erl node gets ping, echo, add and upcase answers",
              repr(out.stdout) + repr(out.stderr[-500:]))
    finally:
        if node:
            stop(node, signal.SIGKILL)
        stop(epmd, signal.SIGKILL)


TESTS = [test_seed_walkthrough, test_backend_choice, test_ping_pong, test_supervision_tree, test_http_hello,
         test_http_hello_out_of_descriptors, test_echo_server, test_echo_server_out_of_descriptors,
         test_chat_server, test_cluster_ping]

if __name__ == "__main__":
    try:
        for t in TESTS:
            if ONLY and t.__name__.replace("test_", "") not in ONLY:
                continue
            try:
                t()
            except Exception as e:  # a crash of one check is a failure, the rest still run
                check(False, t.__name__, f"raised {type(e).__name__}: {e}")
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait(5)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
