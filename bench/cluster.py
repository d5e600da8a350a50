"""Cluster mode: does a region grow with its shards?

``redis-benchmark [--cluster] -t set|get -c 50 -d 100 -r 100000 -P 1|16`` against,
in the same run and interleaved (each figure the median of ``--rounds``):

- a geolru region alone without cluster mode (plain redis-benchmark);
- the same region in cluster mode with 1 shard, and with 2 shards (``--cluster``);
- redis-server in cluster mode with 1 master and with 2 masters (AOF everysec, as a
  region commits every write), ``--cluster``.

(redis-benchmark refuses ``--cluster`` for a cluster of one node: a region of one
shard and one redis master are run without it; they serve every slot, so no request
is redirected either way.)

Every server alone on loopback (no peers, no master): what one region's shards
serve.  Prints the table and the ratios the issue asks for (2 shards / 1 shard,
1 shard / cluster mode off), and writes ``--json``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from servers import scratch  # noqa: E402

from support import RawConnection, bus_ports, region_daemon, wait_until  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
TESTS = ("set", "get")
PIPELINES = (1, 16)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pids_of(ports) -> list[int]:
    """The process of each geolru shard (or region) answering on ``ports``."""
    out = []
    for port in ports:
        info = RawConnection(port).call("INFO", "server").decode()
        out.append(int(info.split("process_id:")[1].split()[0]))
    return out


def benchmark(port: int, test: str, pipeline: int, requests: int, cluster: bool) -> float:
    argv = ["redis-benchmark", "-p", str(port), "-t", test, "-c", "50", "-d", "100",
            "-r", "100000", "-n", str(requests), "-P", str(pipeline), "--csv"]
    if cluster:
        argv.insert(1, "--cluster")
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
                         timeout=600).stdout
    rows = [row for row in csv.reader(io.StringIO(out)) if row and row[0] != "test"]
    return float(rows[-1][1])


def redis_cluster(work: Path, masters: int) -> list[subprocess.Popen]:
    """``masters`` redis-servers in cluster mode, the slots split between them."""
    ports = bus_ports(masters)
    processes = []
    for i, port in enumerate(ports):
        folder = work / f"redis-{masters}-{i}"
        folder.mkdir()
        processes.append(subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
             "--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf"),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--dir", str(folder)], cwd=folder, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
    wait_until(lambda: all(RawConnection(p).call("PING") == b"+PONG\r\n" for p in ports), 20,
               what="redis-servers")
    for i, port in enumerate(ports):
        low, high = 16384 * i // masters, 16384 * (i + 1) // masters - 1
        RawConnection(port).call("CLUSTER", "ADDSLOTSRANGE", str(low), str(high))
        if i:
            RawConnection(port).call("CLUSTER", "MEET", "127.0.0.1", str(ports[0]))
    wait_until(lambda: all(b"cluster_state:ok" in RawConnection(p).call("CLUSTER", "INFO")
                           for p in ports), 30, what="redis cluster ok")
    processes[0].port = ports[0]
    return processes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--write", action="store_true",
                        help="put the tables in README.md and docs/benchmarks.md")
    args = parser.parse_args()
    work = scratch("geolru-bench-cluster-")
    servers = {}  # name -> (port, --cluster?, [pid of each server process])
    stop = []
    try:
        off = region_daemon(work / "off", "off", max_entries=200_000).start()
        stop.append(off.stop)
        servers["geolru, cluster mode off"] = (off.port, False, pids_of(off.ports))
        one = region_daemon(work / "one", "one", cluster_enabled="yes",
                            max_entries=200_000).start()
        stop.append(one.stop)
        # (redis-benchmark --cluster refuses a cluster of one node: plain, for one)
        servers["geolru, 1 shard"] = (one.port, False, pids_of(one.ports))
        two = region_daemon(work / "two", "two", shards=2, max_entries=200_000).start()
        stop.append(two.stop)
        servers["geolru, 2 shards"] = (two.port, True, pids_of(two.ports))
        for masters in (1, 2):
            processes = redis_cluster(work, masters)
            stop += [p.terminate for p in processes]
            servers[f"redis-server, {masters} master{'s' * (masters > 1)}"] = (
                processes[0].port, masters > 1, [p.pid for p in processes])
        runs: dict = {name: {} for name in servers}
        cpu: dict = {name: {} for name in servers}  # µs of server CPU per request
        for round_ in range(args.rounds):
            for test in TESTS:
                for pipeline in PIPELINES:
                    for name, (port, cluster, pids) in servers.items():
                        before = sum(cpu_seconds(pid) for pid in pids)
                        ops = benchmark(port, test, pipeline, args.requests, cluster)
                        spent = sum(cpu_seconds(pid) for pid in pids) - before
                        column = f"{test.upper()} P{pipeline}"
                        runs[name].setdefault(column, []).append(ops)
                        cpu[name].setdefault(column, []).append(spent / args.requests * 1e6)
                        print(f"round {round_ + 1}: {name:<26} {column}: {ops:,.0f} ops/s, "
                              f"{cpu[name][column][-1]:.1f} µs CPU/request", flush=True)
    finally:
        for function in stop:
            function()
        shutil.rmtree(work, ignore_errors=True)
    figures = {name: {k: statistics.median(v) for k, v in by.items()}
               for name, by in runs.items()}
    cpu_figures = {name: {k: statistics.median(v) for k, v in by.items()}
                   for name, by in cpu.items()}
    columns = [f"{t.upper()} P{p}" for t in TESTS for p in PIPELINES]
    print("\nops/s, median of", args.rounds, "rounds\n")
    print(f"| | {' | '.join(columns)} |")
    print(f"|---|{'---:|' * len(columns)}")
    for name, by in figures.items():
        print(f"| {name} | " + " | ".join(f"{by[c] / 1000:.1f}k" for c in columns) + " |")
    print("\nµs of server CPU per request (all its processes), median\n")
    print(f"| | {' | '.join(columns)} |")
    print(f"|---|{'---:|' * len(columns)}")
    for name, by in cpu_figures.items():
        print(f"| {name} | " + " | ".join(f"{by[c]:.1f}" for c in columns) + " |")
    ratios = {
        "2 shards / 1 shard": {c: figures["geolru, 2 shards"][c] / figures["geolru, 1 shard"][c]
                               for c in columns},
        "1 shard / cluster mode off": {
            c: figures["geolru, 1 shard"][c] / figures["geolru, cluster mode off"][c]
            for c in columns},
        "redis 2 masters / 1 master": {
            c: figures["redis-server, 2 masters"][c] / figures["redis-server, 1 master"][c]
            for c in columns},
        "geolru 2 shards / redis 2 masters": {
            c: figures["geolru, 2 shards"][c] / figures["redis-server, 2 masters"][c]
            for c in columns},
    }
    print()
    for name, by in ratios.items():
        print(f"| {name} | " + " | ".join(f"{by[c]:.2f}×" for c in columns) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"figures": figures, "ratios": ratios,
                                               "cpu_us": cpu_figures, "runs": runs},
                                              indent=1))
    if args.write:
        write_tables(figures, cpu_figures, ratios, columns, args.rounds)
    return 0


def write_tables(figures, cpu, ratios, columns, rounds) -> None:
    """The README's cluster table and docs/benchmarks.md's, between their markers."""
    from report import _between_markers  # (bench/report.py, beside this file)
    head = [f"| | {' | '.join(columns)} |", f"|---|{'---:|' * len(columns)}"]
    ops = [f"| {name} | " + " | ".join(f"{by[c]:,.0f}" for c in columns) + " |"
           for name, by in figures.items()]
    ratio_rows = [f"| {name} | " + " | ".join(f"{by[c]:.2f}×" for c in columns) + " |"
                  for name, by in ratios.items()]
    cpu_rows = [f"| {name} | " + " | ".join(f"{by[c]:.1f}" for c in columns) + " |"
                for name, by in cpu.items()]
    when = (f"Measured {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
            f"`bench/cluster.py` (median of {rounds} interleaved rounds; every server "
            "alone on loopback, the load generator on the same cores).")
    readme = [when, "", "| cluster mode, ops/s | " + " | ".join(columns) + " |",
              f"|---|{'---:|' * len(columns)}", *ops, *ratio_rows, ""]
    docs = [when, "", "ops/s:", "", *head, *ops, "", "ratios:", "", *head, *ratio_rows,
            "", "µs of server CPU per request (every process of the server):", "", *head,
            *cpu_rows, ""]
    _between_markers(ROOT / "README.md", "bench-cluster", "\n".join(readme))
    _between_markers(ROOT / "docs" / "benchmarks.md", "bench-cluster", "\n".join(docs))


if __name__ == "__main__":
    raise SystemExit(main())
