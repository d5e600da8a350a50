"""Hashes, region vs redis-server: HSET and HGET of one field in a hash of 100 and of
10,000 fields, measured in the same run on the same machine.

    .venv/bin/python bench/hashes.py [--requests 100000] [--json FILE]

``redis-benchmark -c 50 -P 16 -r N HSET h field:__rand_int__ v`` (and HGET) on a
hash filled with those N fields first.  The region twice: with its cache tier
holding the hash whole (the default), and with a cache too small for either hash
(1 kB), so that each command reads and writes the store: one field and the hash's
header, never the whole hash (the figure for 10,000 fields would be a hundredth of
the one for 100 if it did).  Prints a Markdown table whose ratios are region / redis-server.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import scratch  # noqa: E402

from support import redis_server, region_daemon  # noqa: E402

SIZES = (100, 10_000)
FIGURES = ("HSET", "HGET")


def fill(port: int, size: int) -> None:
    import redis
    client = redis.Redis(port=port, socket_timeout=60)
    client.delete("h")
    fields = {b"field:%012d" % i: b"v" * 20 for i in range(size)}
    items = list(fields.items())
    for start in range(0, size, 1000):
        client.hset("h", mapping=dict(items[start:start + 1000]))
    assert client.hlen("h") == size
    client.close()


def run(port: int, command: str, size: int, requests: int) -> float:
    args = ["h", "field:__rand_int__"] + (["v" * 20] if command == "HSET" else [])
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", "50", "-P", "16", "-r", str(size),
         "-n", str(requests), "--csv", command, *args],
        capture_output=True, text=True, check=True, timeout=600).stdout
    return float(list(csv.reader(io.StringIO(out)))[1][1])


def measure(name: str, daemon, requests: int, results: dict) -> None:
    daemon.start()
    try:
        for size in SIZES:
            fill(daemon.port, size)
            for command in FIGURES:
                ops = run(daemon.port, command, size, requests)
                results.setdefault(name, {})[f"{command} {size}"] = ops
                print(f"{name:14} {command} of one field, {size:>6,} fields: {ops:>9,.0f} ops/s",
                      flush=True)
    finally:
        daemon.stop()


def report(results: dict) -> str:
    redis = results["redis"]
    out = ["| P16, one field of a hash of | redis-server | region | ratio "
           "| region, hash not cached | ratio |", "|---|---:|---:|---:|---:|---:|"]
    for size in SIZES:
        for command in FIGURES:
            key = f"{command} {size}"
            cached, stored = results["region"][key], results["region_uncached"][key]
            out.append(f"| {command}, {size:,} fields | {redis[key]:,.0f} | {cached:,.0f} "
                       f"| {cached / redis[key]:.2f}× | {stored:,.0f} "
                       f"| {stored / redis[key]:.2f}× |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "ensure-redis-server")], check=True)
    work = scratch("geolru-bench-hashes-")
    results: dict = {}
    measure("redis", redis_server(work / "redis", "--appendonly", "yes",
                                  "--appendfsync", "everysec"), args.requests, results)
    measure("region", region_daemon(work / "region", name="bench"), args.requests, results)
    measure("region_uncached", region_daemon(work / "small", name="bench",
                                             max_bytes="1024"),
            args.requests, results)
    print("\n" + report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
