"""Region vs redis-server, measured in the same run on the same machine.

    .venv/bin/python bench/region_vs_redis.py [--requests 200000] [--keys 1000000]

Throughput: ``redis-benchmark -t set,get -c 50 -d 100 -r 100000`` at ``-P 1``
and ``-P 16`` against a region (twistd) and against redis-server with
``--appendonly yes --appendfsync everysec`` (the same durability class).
Memory: RSS growth per key after loading ``--keys`` keys of 100-byte values,
with the region's cache tier large enough to hold them all.
Prints a Markdown table whose ratios are region / redis-server.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import Daemon, redis_server, region_daemon  # noqa: E402


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def redis_benchmark(port: int, pipeline: int, requests: int) -> dict[str, float]:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "set,get", "-c", "50", "-d", "100",
         "-r", "100000", "-n", str(requests), "-P", str(pipeline), "--csv"],
        capture_output=True, text=True, check=True, timeout=600).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return {row[0]: float(row[1]) for row in rows[1:]}


def load_keys(daemon: Daemon, keys: int) -> float:
    """Load ``keys`` keys of 100-byte values; return bytes of RSS growth per key."""
    client = daemon.client(socket_timeout=120)
    client.flushall()
    time.sleep(0.5)
    before = rss(daemon.process.pid)
    value = b"v" * 100
    batch = 10_000
    for start in range(0, keys, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(keys, start + batch), 100):
            pipe.mset({b"key:%012d" % j: value for j in range(i, min(keys, i + 100))})
        pipe.execute()
    assert client.dbsize() == keys
    time.sleep(1.0)  # let the store commit and the allocator settle before reading RSS
    return (rss(daemon.process.pid) - before) / keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--pipelines", default="1,16",
                        help="pipeline depths to measure, comma-separated (1 and 16 always)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "ensure-redis-server")], check=True)

    work = Path(tempfile.mkdtemp(prefix="geolru-bench-"))
    redis = redis_server(work / "redis", "--appendonly", "yes", "--appendfsync", "everysec")
    region = region_daemon(work / "region", name="bench",
                           max_entries=str(args.keys * 2), max_bytes="0")
    results: dict[str, dict[str, float]] = {}
    try:
        for name, daemon in (("redis", redis), ("region", region)):
            daemon.start()
            depths = sorted({1, 16, *(int(x) for x in args.pipelines.split(","))})
            for pipeline in depths:
                rps = redis_benchmark(daemon.port, pipeline, args.requests)
                results.setdefault(name, {}).update(
                    {f"{test} P{pipeline}": value for test, value in rps.items()})
                print(f"{name:7} P{pipeline:<3} {rps}", flush=True)
            results[name]["bytes/key"] = load_keys(daemon, args.keys)
            print(f"{name:7} memory {results[name]['bytes/key']:.0f} bytes/key", flush=True)
            daemon.stop()
    finally:
        redis.stop()
        region.stop()

    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"{platform.machine()}, Python {platform.python_version()}; "
          f"redis-benchmark -c 50 -d 100 -r 100000 -n {args.requests}; "
          f"memory: {args.keys:,} keys of 100 bytes\n")
    print("| figure | region | redis-server (AOF everysec) | ratio |")
    print("|---|---:|---:|---:|")
    for figure in ("SET P1", "GET P1", "SET P16", "GET P16"):
        mine, theirs = results["region"][figure], results["redis"][figure]
        print(f"| {figure} ops/s | {mine:,.0f} | {theirs:,.0f} | {mine / theirs:.2f}× |")
    mine, theirs = results["region"]["bytes/key"], results["redis"]["bytes/key"]
    print(f"| memory per key (RSS) | {mine:,.0f} B | {theirs:,.0f} B | {mine / theirs:.2f}× |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
