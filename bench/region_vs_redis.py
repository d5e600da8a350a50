"""Region vs redis-server, measured in the same run on the same machine.

    .venv/bin/python bench/region_vs_redis.py [--requests 200000] [--keys 1000000]

Throughput: ``redis-benchmark -t set|get -c 50 -d 100 -r 100000`` at each
``--pipelines`` depth against redis-server with ``--appendonly yes
--appendfsync everysec`` (the same durability class), a standalone region
(twistd), and Montreal in a three-region cluster (so replicating every write to
two peers), with the CPU each server process spent per request.  Then, as issue
"Writes at the speed of reads" measures: redis-server with one replica (both AOF
everysec) against Montreal with one peer, Frankfurt, at pipeline depths 1 and 16.
Memory: RSS growth per key after loading ``--keys`` keys of 100-byte values,
with the region's cache tier large enough to hold them all.
Prints a Markdown table whose ratios are region / redis-server.
``--a-hash``: every server first takes one HSET, as any application's store holds
some hash (a store that ever held one did more per SET before 2026-12-07).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import redis_benchmark, scratch, start_cluster  # noqa: E402

from support import Cluster, Daemon, redis_server, region_daemon, wait_until  # noqa: E402


def memory(pid: int) -> tuple[int, int]:
    """(RSS, RssAnon) of ``pid`` in bytes; RssAnon leaves out file pages mapped in."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                fields[name] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["RssAnon"]


def load_keys(daemon: Daemon, keys: int) -> tuple[float, float]:
    """Load ``keys`` keys of 100-byte values; bytes of RSS (and RssAnon) growth per key."""
    client = daemon.client(socket_timeout=120)
    client.flushall()
    time.sleep(0.5)
    before = memory(daemon.process.pid)
    value = b"v" * 100
    batch = 10_000
    for start in range(0, keys, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(keys, start + batch), 100):
            pipe.mset({b"key:%012d" % j: value for j in range(i, min(keys, i + 100))})
        pipe.execute()
    assert client.dbsize() == keys
    time.sleep(1.0)  # let the store commit and the allocator settle before reading RSS
    after = memory(daemon.process.pid)
    return (after[0] - before[0]) / keys, (after[1] - before[1]) / keys


def throughput(name: str, port: int, depths: list[int], requests: int,
               watch: dict[str, int], results: dict, repeats: int) -> None:
    """Fill ``results[name]`` with ops/s and ``results["cpu_us"][...]`` with CPU µs
    per request of each watched process: the median of ``repeats`` runs, since this
    machine's speed moves from one minute to the next."""
    for pipeline in depths:
        for test in ("set", "get"):
            figure = f"{test.upper()} P{pipeline}"
            runs = [redis_benchmark(port, test, pipeline, requests, watch)
                    for _ in range(repeats)]
            ops = statistics.median(r[0] for r in runs)
            cpu = {process: statistics.median(r[1][process] for r in runs) for process in watch}
            results.setdefault(name, {})[figure] = ops
            for process, micros in cpu.items():
                results["cpu_us"].setdefault(process, {})[figure] = micros
            print(f"{name:15} {figure:8} {ops:>10,.0f} ops/s  CPU µs/request "
                  + ", ".join(f"{p} {m:.1f}" for p, m in cpu.items())
                  + f"  (median of {repeats}: "
                  + ", ".join(f"{r[0]:,.0f}" for r in runs) + ")", flush=True)


def one_replica(work: Path, args, results: dict) -> None:
    """redis-server with one replica against Montreal with one peer (Frankfurt): the
    issue's own yardstick, each primary's CPU and its copy's per request."""
    aof = ("--appendonly", "yes", "--appendfsync", "everysec")
    primary = redis_server(work / "primary", *aof)
    replica = None
    try:
        primary.start()
        replica = redis_server(work / "replica", *aof, "--replicaof", "127.0.0.1",
                               str(primary.port)).start()
        wait_until(lambda: replica.client().info("replication").get("master_link_status")
                   == "up", 10, what="the replica to sync")
        if args.a_hash:
            primary.client().hset("bench:hash", "field", "value")
        throughput("redis_1_replica", primary.port, [1, 16], args.requests,
                   {"redis_primary": primary.process.pid,
                    "redis_replica": replica.process.pid}, results, args.repeats)
    finally:
        for daemon in (primary, replica):
            if daemon is not None:
                daemon.stop()
    pair = Cluster(work / "pair", names=("montreal", "frankfurt"), heartbeat_timeout=5)
    try:
        montreal = pair.regions["montreal"]
        if args.a_hash:
            montreal.client().hset("bench:hash", "field", "value")
        throughput("region_1_peer", montreal.port, [1, 16], args.requests,
                   {"region_1_peer": montreal.process.pid,
                    "peer_1": pair.regions["frankfurt"].process.pid}, results, args.repeats)
    finally:
        pair.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--pipelines", default="1,16",
                        help="pipeline depths to measure, comma-separated (1 and 16 always)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="redis-benchmark runs per figure; the median is kept")
    parser.add_argument("--a-hash", action="store_true",
                        help="one HSET on each server before measuring")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "ensure-redis-server")], check=True)

    work = scratch("geolru-bench-")
    depths = sorted({1, 16, *(int(x) for x in args.pipelines.split(","))})
    results: dict = {"cpu_us": {}}
    redis = redis_server(work / "redis", "--appendonly", "yes", "--appendfsync", "everysec")
    region = region_daemon(work / "region", name="bench",
                           max_entries=str(args.keys * 2), max_bytes="0")
    try:
        for name, daemon in (("redis", redis), ("region", region)):
            daemon.start()
            if args.a_hash:
                daemon.client().hset("bench:hash", "field", "value")
            throughput(name, daemon.port, depths, args.requests,
                       {name: daemon.process.pid}, results, args.repeats)
            rss, anon = load_keys(daemon, args.keys)
            results[name]["bytes/key"], results[name]["anon bytes/key"] = rss, anon
            print(f"{name:15} memory {rss:.0f} bytes/key (RSS), {anon:.0f} (RssAnon)",
                  flush=True)
            daemon.stop()
    finally:
        redis.stop()
        region.stop()

    master, regions = start_cluster(work / "cluster")
    try:
        watch = {"region_2_peers": regions["montreal"].process.pid,
                 "peer": regions["frankfurt"].process.pid}
        if args.a_hash:
            regions["montreal"].client().hset("bench:hash", "field", "value")
        throughput("region_2_peers", regions["montreal"].port, [1, 16], args.requests, watch,
                   results, args.repeats)
    finally:
        for daemon in (master, *regions.values()):
            daemon.stop()

    one_replica(work, args, results)

    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"{platform.machine()}, Python {platform.python_version()}\n")
    print("| figure | redis-server | region | ratio | region, 2 peers | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for figure in ("SET P1", "GET P1", "SET P16", "GET P16"):
        theirs, mine, peers = (results[n][figure] for n in ("redis", "region", "region_2_peers"))
        print(f"| {figure} ops/s | {theirs:,.0f} | {mine:,.0f} | {mine / theirs:.2f}× "
              f"| {peers:,.0f} | {peers / theirs:.2f}× |")
    for figure in ("SET P1", "GET P1", "SET P16", "GET P16"):
        theirs, mine = (results[n][figure] for n in ("redis_1_replica", "region_1_peer"))
        print(f"| {figure} ops/s, one replica / one peer | {theirs:,.0f} | {mine:,.0f} "
              f"| {mine / theirs:.2f}× | | |")
    mine, theirs = results["region"]["bytes/key"], results["redis"]["bytes/key"]
    print(f"| memory per key (RSS) | {theirs:,.0f} B | {mine:,.0f} B | {mine / theirs:.2f}× |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
