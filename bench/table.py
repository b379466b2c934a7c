#!/usr/bin/env python3
"""Prints the coproc benchmark table (median of the repetitions) from Google Benchmark
JSON files; the best-peer column comes from bench/results/runs.csv (bench/compare),
never from numbers typed here, beside the issue's targets and the best peer measured on a 2-core VM
(bench/WORKLOADS.md). Usage: bench/table.py build/bench-results.json [build/bench-memory.json]"""
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
            if row["system"] == "coproc" or row.get("status", "ok") != "ok" or row.get("cores"):
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

# name prefix -> (row title, how to read the value, target, best peer)
ROWS = [
    ("BM_PingPong/0/", "ping-pong, same core", lambda b: f"{b['real_time']:.0f} ns/rt", "<= 100 ns", ("pingpong", "ns_per_roundtrip", "ns")),
    ("BM_PingPong/1/", "ping-pong, across 2 cores", lambda b: f"{b['real_time']:.0f} ns/rt", "(not a 20 us wakeup)", "-"),
    ("BM_RingHops/1/", "ring 10k procs, 1M hops, 1 core", lambda b: f"{b['hops_per_s']/1e6:.1f} M hops/s", ">= 30 M", ("ring", "hops_per_s", "M/s")),
    ("BM_RingHops/2/", "ring 10k procs, 1M hops, 2 cores", lambda b: f"{b['hops_per_s']/1e6:.1f} M hops/s", ">= 30 M", ("ring", "hops_per_s", "M/s")),
    ("BM_RingSpawn/1/", "ring spawn 10k, 1 core", lambda b: f"{b['real_time']:.2f} ms", "-", ("ring", "spawn_ms", "ms")),
    ("BM_RingSpawn/2/", "ring spawn 10k, 2 cores", lambda b: f"{b['real_time']:.2f} ms", "-", ("ring", "spawn_ms", "ms")),
    ("BM_Skynet/1/", "skynet 1M leaves, 1 core", lambda b: f"{b['real_time']:.0f} ms", "<= 150 ms", ("skynet", "wall_ms", "ms")),
    ("BM_Skynet/2/", "skynet 1M leaves, 2 cores", lambda b: f"{b['real_time']:.0f} ms", "<= 150 ms", ("skynet", "wall_ms", "ms")),
    ("BM_SpawnExit/1/", "spawn+exit, 1 core", lambda b: f"{b['spawns_per_s']/1e6:.1f} M/s", "-", "-"),
    ("BM_SpawnExit/2/", "spawn+exit, 2 cores", lambda b: f"{b['spawns_per_s']/1e6:.1f} M/s", "-", "-"),
    ("BM_SpawnIdle/", "1M idle procs: spawn time", lambda b: f"{b['spawn_ms']:.0f} ms", "<= 500 ms", ("spawn_idle", "spawn_ms", "ms")),
    ("BM_SpawnIdle/", "1M idle procs: RSS per proc", lambda b: f"{b['rss_bytes_per_process']:.0f} B", "<= 512 B", ("spawn_idle", "rss_bytes_per_process", "B")),
    ("BM_FanIn/1/", "fan-in 1000x10000, 1 core", lambda b: f"{b['msgs_per_s']/1e6:.1f} M msgs/s", ">= 30 M", ("fanin", "msgs_per_s", "M/s")),
    ("BM_FanIn/2/", "fan-in 1000x10000, 2 cores", lambda b: f"{b['msgs_per_s']/1e6:.1f} M msgs/s", ">= 30 M", ("fanin", "msgs_per_s", "M/s")),
    ("BM_SelectivePastJunk/1000/", "selective receive past 1000 junk", lambda b: f"{b['real_time']:.0f} ns", "<= 500 ns", ("selective", "ns_per_receive", "ns")),
    ("BM_SelectiveGuardPastJunk/1000/", "  same, guarded clause (rescans)", lambda b: f"{b['real_time']:.0f} ns", "<= 500 ns", ("selective", "ns_per_receive", "ns")),
    ("BM_Call/0/", "call round trip, empty mailbox", lambda b: f"{b['real_time']:.0f} ns", "-", "-"),
    ("BM_Call/10000/", "call round trip, 10k unrelated queued", lambda b: f"{b['real_time']:.0f} ns", "~ same as empty", "-"),
    ("BM_GenServerCall/", "gen_server call (typed request)", lambda b: f"{b['real_time']:.0f} ns", "-", "-"),
    ("BM_LinkExitPropagation/0/", "link + exit propagation, same core", lambda b: f"{b['real_time']:.0f} ns", "-", "-"),
    ("BM_LinkExitPropagation/1/", "link + exit propagation, across cores", lambda b: f"{b['real_time']:.0f} ns", "-", "-"),
    ("BM_SupervisorRestart/", "supervisor restart latency (kill -> new worker)", lambda b: f"{b['real_time']/1000:.1f} us", "-", "-"),
    ("BM_Timers/1/", "100k x after 10ms, 1 core: p50 / p99 late", lambda b: f"{b['late_p50_us']:.0f} / {b['late_p99_us']:.0f} us", "p99 <= 2000 us", ("timers", "late_p99_us", "us p99")),
    ("BM_Timers/2/", "100k x after 10ms, 2 cores: p50 / p99 late", lambda b: f"{b['late_p50_us']:.0f} / {b['late_p99_us']:.0f} us", "p99 <= 2000 us", ("timers", "late_p99_us", "us p99")),
]


def main() -> int:
    runs = {}
    data = None
    for path in sys.argv[1:]:
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
    ctx = data["context"]
    print(f"\ncoproc benchmarks ({ctx['num_cpus']} CPUs, {ctx['date']}), median of repetitions")
    header = ("workload", "coproc", "target", "best peer (bench/compare)")
    best = best_peers()
    lines = []
    for prefix, title, fmt, target, peer_key in ROWS:
        peer = peer_text(peer_key, best)
        b = next((v for k, v in runs.items() if k.startswith(prefix)), None)
        if b is None:
            continue
        if b.get("error_occurred"):
            lines.append((title, "ERROR: " + b.get("error_message", ""), target, peer))
        else:
            lines.append((title, fmt(b), target, peer))
    widths = [max(len(r[i]) for r in [header] + lines) for i in range(4)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in lines:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
