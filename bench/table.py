#!/usr/bin/env python3
"""Prints the coproc benchmark table (median of the repetitions) from Google Benchmark
JSON files; the best-peer column comes from bench/results/runs.csv (bench/compare),
never from numbers typed here, beside the issue's targets and the best peer measured on a 2-core VM
(bench/WORKLOADS.md).
Usage: bench/table.py build/bench-results.json [build/bench-memory.json]
                      [--epoll build/bench-results-epoll.json]
With --epoll (the same benchmarks run with COPROC_BACKEND=epoll, as bench/run does for
the rows in EPOLL_ROWS), an "epoll" column shows those rows' numbers and, in parentheses,
epoll's number divided by the main column's."""
import csv
import json
import pathlib
import statistics
import sys

HIGHER_IS_BETTER = {"hops_per_s", "msgs_per_s"}
NAMES = {"erlang": "Erlang", "go": "Go", "caf": "CAF"}


def best_peers():
    """(workload, metric) -> (system, median) of the best peer in bench/compare's runs."""
    path = pathlib.Path(__file__).resolve().parent / "results" / "runs.csv"
    values = {}
    if path.exists():
        for row in csv.DictReader(open(path)):
            if row["system"] in ("coproc", "floor") or row.get("status", "ok") != "ok" or \
                    row.get("cores"):
                continue
            values.setdefault((row["workload"], row["metric"], row["system"]), []).append(
                float(row["value"]))
    best = {}
    for (w, m, system), vals in values.items():
        med = statistics.median(vals)
        cur = best.get((w, m))
        better = cur is None or (med > cur[1] if m in HIGHER_IS_BETTER else med < cur[1])
        if better:
            best[(w, m)] = (system, med)
    return best


def peer_text(key, best):
    if not isinstance(key, tuple):
        return key
    workload, metric, unit = key
    found = best.get((workload, metric))
    if found is None:
        return "-"
    system, v = found
    shown = f"{v / 1e6:.1f} M" if unit == "M/s" else f"{v:,.0f} {unit}"
    return f"{NAMES.get(system, system)} {shown}"

# name prefix -> (row title, how to read the value, the number an epoll ratio divides
# (for the timers: p99), target, best peer)
ROWS = [
    ("BM_PingPong/0/", "ping-pong, same core", lambda b: f"{b['real_time']:.0f} ns/rt", "real_time", "<= 100 ns", ("pingpong", "ns_per_roundtrip", "ns")),
    ("BM_PingPong/1/", "ping-pong, across 2 cores", lambda b: f"{b['real_time']:.0f} ns/rt", "real_time", "(not a 20 us wakeup)", "-"),
    ("BM_RingHops/1/", "ring 10k procs, 1M hops, 1 core", lambda b: f"{b['hops_per_s']/1e6:.1f} M hops/s", "hops_per_s", ">= 30 M", ("ring", "hops_per_s", "M/s")),
    ("BM_RingHops/2/", "ring 10k procs, 1M hops, 2 cores", lambda b: f"{b['hops_per_s']/1e6:.1f} M hops/s", "hops_per_s", ">= 30 M", ("ring", "hops_per_s", "M/s")),
    ("BM_RingSpawn/1/", "ring spawn 10k, 1 core", lambda b: f"{b['real_time']:.2f} ms", "real_time", "-", ("ring", "spawn_ms", "ms")),
    ("BM_RingSpawn/2/", "ring spawn 10k, 2 cores", lambda b: f"{b['real_time']:.2f} ms", "real_time", "-", ("ring", "spawn_ms", "ms")),
    ("BM_Skynet/1/", "skynet 1M leaves, 1 core", lambda b: f"{b['real_time']:.0f} ms", "real_time", "<= 150 ms", ("skynet", "wall_ms", "ms")),
    ("BM_Skynet/2/", "skynet 1M leaves, 2 cores", lambda b: f"{b['real_time']:.0f} ms", "real_time", "<= 150 ms", ("skynet", "wall_ms", "ms")),
    ("BM_SpawnExit/1/", "spawn+exit, 1 core", lambda b: f"{b['spawns_per_s']/1e6:.1f} M/s", "spawns_per_s", "-", "-"),
    ("BM_SpawnExit/2/", "spawn+exit, 2 cores", lambda b: f"{b['spawns_per_s']/1e6:.1f} M/s", "spawns_per_s", "-", "-"),
    ("BM_SpawnIdle/", "1M idle procs: spawn time", lambda b: f"{b['spawn_ms']:.0f} ms", "spawn_ms", "<= 500 ms", ("spawn_idle", "spawn_ms", "ms")),
    ("BM_SpawnIdle/", "1M idle procs: RSS per proc", lambda b: f"{b['rss_bytes_per_process']:.0f} B", "rss_bytes_per_process", "<= 512 B", ("spawn_idle", "rss_bytes_per_process", "B")),
    ("BM_FanIn/1/", "fan-in 1000x10000, 1 core", lambda b: f"{b['msgs_per_s']/1e6:.1f} M msgs/s", "msgs_per_s", ">= 30 M", ("fanin", "msgs_per_s", "M/s")),
    ("BM_FanIn/2/", "fan-in 1000x10000, 2 cores", lambda b: f"{b['msgs_per_s']/1e6:.1f} M msgs/s", "msgs_per_s", ">= 30 M", ("fanin", "msgs_per_s", "M/s")),
    ("BM_SelectivePastJunk/1000/", "selective receive past 1000 junk", lambda b: f"{b['real_time']:.0f} ns", "real_time", "<= 500 ns", ("selective", "ns_per_receive", "ns")),
    ("BM_SelectiveGuardPastJunk/1000/", "  same, guarded clause (rescans)", lambda b: f"{b['real_time']:.0f} ns", "real_time", "<= 500 ns", ("selective", "ns_per_receive", "ns")),
    ("BM_Call/0/", "call round trip, empty mailbox", lambda b: f"{b['real_time']:.0f} ns", "real_time", "-", "-"),
    ("BM_Call/10000/", "call round trip, 10k unrelated queued", lambda b: f"{b['real_time']:.0f} ns", "real_time", "~ same as empty", "-"),
    ("BM_GenServerCall/", "gen_server call (typed request)", lambda b: f"{b['real_time']:.0f} ns", "real_time", "-", "-"),
    ("BM_LinkExitPropagation/0/", "link + exit propagation, same core", lambda b: f"{b['real_time']:.0f} ns", "real_time", "-", "-"),
    ("BM_LinkExitPropagation/1/", "link + exit propagation, across cores", lambda b: f"{b['real_time']:.0f} ns", "real_time", "-", "-"),
    ("BM_SupervisorRestart/", "supervisor restart latency (kill -> new worker)", lambda b: f"{b['real_time']/1000:.1f} us", "real_time", "-", "-"),
    ("BM_Timers/1/", "100k x after 10ms, 1 core: p50 / p99 late", lambda b: f"{b['late_p50_us']:.0f} / {b['late_p99_us']:.0f} us", "late_p99_us", "p99 <= 2000 us", ("timers", "late_p99_us", "us p99")),
    ("BM_Timers/2/", "100k x after 10ms, 2 cores: p50 / p99 late", lambda b: f"{b['late_p50_us']:.0f} / {b['late_p99_us']:.0f} us", "late_p99_us", "p99 <= 2000 us", ("timers", "late_p99_us", "us p99")),
]


# The rows bench/run runs again with COPROC_BACKEND=epoll (its EPOLL_FILTER says the same).
EPOLL_ROWS = ("BM_PingPong/", "BM_Skynet/", "BM_FanIn/", "BM_Timers/")


def load(paths):
    """run name + '/' -> median entry, and the first file's JSON (for its context)."""
    runs = {}
    data = None
    for path in paths:
        try:
            loaded = json.load(open(path))
        except (OSError, ValueError):
            continue
        for b in loaded["benchmarks"]:
            if b.get("aggregate_name", "median") != "median":
                continue
            runs[b["run_name"] + "/"] = b
        if data is None:
            data = loaded
    return runs, data


def find(runs, prefix):
    return next((v for k, v in runs.items() if k.startswith(prefix)), None)


def main() -> int:
    args = sys.argv[1:]
    epoll_path = None
    if "--epoll" in args:
        i = args.index("--epoll")
        epoll_path = args[i + 1] if i + 1 < len(args) else None
        del args[i:i + 2]
    runs, data = load(args)
    if data is None:
        sys.exit("bench/table.py: no readable Google Benchmark JSON in " + " ".join(args))
    ctx = data["context"]
    backend = ctx.get("coproc_backend")
    epoll_runs = {}
    if epoll_path:
        epoll_runs, edata = load([epoll_path])
        got = edata["context"].get("coproc_backend") if edata else None
        if edata is not None and got != "epoll":
            print(f"bench/table.py: {epoll_path} ran on {got or 'an unknown backend'}, "
                  "not epoll: no epoll column", file=sys.stderr)
            epoll_runs = {}
        if backend == "epoll":
            epoll_runs = {}  # the main column is epoll already
    load_avg = ctx.get("load_avg")
    load_text = f", load average {load_avg[0]:.1f} at the start" if load_avg else ""
    print(f"\ncoproc benchmarks ({ctx['num_cpus']} CPUs, {ctx['date']}{load_text}), median of repetitions")
    main_title = f"coproc ({backend})" if backend else "coproc"
    header = ["workload", main_title] + (["epoll (epoll/io_uring)"] if epoll_runs else []) + [
        "target", "best peer (bench/compare)"]
    best = best_peers()
    lines = []
    for prefix, title, fmt, key, target, peer_key in ROWS:
        peer = peer_text(peer_key, best)
        b = find(runs, prefix)
        if b is None:
            continue
        cells = [title]
        if b.get("error_occurred"):
            cells.append("ERROR: " + b.get("error_message", ""))
        else:
            cells.append(fmt(b))
        if epoll_runs:
            e = find(epoll_runs, prefix) if prefix.startswith(EPOLL_ROWS) else None
            if e is None:
                cells.append("-")
            elif e.get("error_occurred"):
                cells.append("ERROR: " + e.get("error_message", ""))
            elif b.get("error_occurred") or not b.get(key):
                cells.append(fmt(e))
            else:
                cells.append(f"{fmt(e)} ({e[key] / b[key]:.2f})")
        lines.append(cells + [target, peer])
    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in lines:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    if epoll_runs:
        print("\nepoll: the same benchmark with COPROC_BACKEND=epoll, run after the main column; "
              "in parentheses epoll's number / io_uring's (for times above 1 is slower, "
              "for rates below 1 is slower).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
