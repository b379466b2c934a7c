#!/usr/bin/env python3
"""Prints the coproc benchmark table (median of the repetitions) from Google Benchmark
JSON files, beside the issue's targets and the best peer measured on a 2-core VM
(bench/WORKLOADS.md). Usage: bench/table.py build/bench-results.json [build/bench-memory.json]"""
import json
import sys

# name prefix -> (row title, how to read the value, target, best peer)
ROWS = [
    ("BM_PingPong/0/", "ping-pong, same core", lambda b: f"{b['real_time']:.0f} ns/rt", "<= 100 ns", "Go 265 ns"),
    ("BM_PingPong/1/", "ping-pong, across 2 cores", lambda b: f"{b['real_time']:.0f} ns/rt", "(not a 20 us wakeup)", "-"),
    ("BM_RingHops/1/", "ring 10k procs, 1M hops, 1 core", lambda b: f"{b['hops_per_s']/1e6:.1f} M hops/s", ">= 30 M", "Go 4.4 M"),
    ("BM_RingHops/2/", "ring 10k procs, 1M hops, 2 cores", lambda b: f"{b['hops_per_s']/1e6:.1f} M hops/s", ">= 30 M", "Go 4.4 M"),
    ("BM_RingSpawn/1/", "ring spawn 10k, 1 core", lambda b: f"{b['real_time']:.2f} ms", "-", "CAF 15.9 ms"),
    ("BM_RingSpawn/2/", "ring spawn 10k, 2 cores", lambda b: f"{b['real_time']:.2f} ms", "-", "CAF 15.9 ms"),
    ("BM_Skynet/1/", "skynet 1M leaves, 1 core", lambda b: f"{b['real_time']:.0f} ms", "<= 150 ms", "Go 701 ms"),
    ("BM_Skynet/2/", "skynet 1M leaves, 2 cores", lambda b: f"{b['real_time']:.0f} ms", "<= 150 ms", "Go 701 ms"),
    ("BM_SpawnExit/1/", "spawn+exit, 1 core", lambda b: f"{b['spawns_per_s']/1e6:.1f} M/s", "-", "-"),
    ("BM_SpawnExit/2/", "spawn+exit, 2 cores", lambda b: f"{b['spawns_per_s']/1e6:.1f} M/s", "-", "-"),
    ("BM_SpawnIdle/", "1M idle procs: spawn time", lambda b: f"{b['spawn_ms']:.0f} ms", "<= 500 ms", "CAF 2023 ms"),
    ("BM_SpawnIdle/", "1M idle procs: RSS per proc", lambda b: f"{b['rss_bytes_per_process']:.0f} B", "<= 512 B", "CAF 1337 B"),
    ("BM_FanIn/1/", "fan-in 1000x10000, 1 core", lambda b: f"{b['msgs_per_s']/1e6:.1f} M msgs/s", ">= 30 M", "Go 15.3 M"),
    ("BM_FanIn/2/", "fan-in 1000x10000, 2 cores", lambda b: f"{b['msgs_per_s']/1e6:.1f} M msgs/s", ">= 30 M", "Go 15.3 M"),
    ("BM_SelectivePastJunk/1000/", "selective receive past 1000 junk", lambda b: f"{b['real_time']:.0f} ns", "<= 500 ns", "Go 1962 ns"),
    ("BM_SelectiveGuardPastJunk/1000/", "  same, guarded clause (rescans)", lambda b: f"{b['real_time']:.0f} ns", "<= 500 ns", "Go 1962 ns"),
    ("BM_Call/0/", "call round trip, empty mailbox", lambda b: f"{b['real_time']:.0f} ns", "-", "-"),
    ("BM_Call/10000/", "call round trip, 10k unrelated queued", lambda b: f"{b['real_time']:.0f} ns", "~ same as empty", "-"),
    ("BM_GenServerCall/", "gen_server call (typed request)", lambda b: f"{b['real_time']:.0f} ns", "-", "-"),
    ("BM_LinkExitPropagation/0/", "link + exit propagation, same core", lambda b: f"{b['real_time']:.0f} ns", "-", "-"),
    ("BM_LinkExitPropagation/1/", "link + exit propagation, across cores", lambda b: f"{b['real_time']:.0f} ns", "-", "-"),
    ("BM_SupervisorRestart/", "supervisor restart latency (kill -> new worker)", lambda b: f"{b['real_time']/1000:.1f} us", "-", "-"),
    ("BM_Timers/1/", "100k x after 10ms, 1 core: p50 / p99 late", lambda b: f"{b['late_p50_us']:.0f} / {b['late_p99_us']:.0f} us", "p99 <= 2000 us", "Erlang p99 9181 us"),
    ("BM_Timers/2/", "100k x after 10ms, 2 cores: p50 / p99 late", lambda b: f"{b['late_p50_us']:.0f} / {b['late_p99_us']:.0f} us", "p99 <= 2000 us", "Erlang p99 9181 us"),
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
    header = ("workload", "coproc", "target", "best peer (2-core VM)")
    lines = []
    for prefix, title, fmt, target, peer in ROWS:
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
