"""Near caches, region vs redis-server, in the same run on the same machine: reads per
second of one hot key through a near cache (``geolru.client.nearcache``: CLIENT
TRACKING over RESP3, the value kept in the process) against reads over the socket
(redis-py, RESP2, no cache) at the region and at redis-server; and the tracking
table's memory per tracked key (one client reads 100,000 keys with tracking on).

    .venv/bin/python bench/nearcache.py [--reads 200000] [--keys 100000] [--json FILE]

The cross-region part (how soon a near cache learns of a write made elsewhere) is in
``bench/wan.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from region_vs_redis import memory  # noqa: E402
from servers import scratch  # noqa: E402

from geolru.client.nearcache import NearCache  # noqa: E402
from support import redis_server, region_daemon  # noqa: E402


def reads_per_second(read, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        read()
    return count / (time.perf_counter() - started)


def tracked_memory(daemon, keys: int) -> float:
    """RSS growth per key while one tracking client reads ``keys`` keys."""
    import redis
    writer = redis.Redis(port=daemon.port, socket_timeout=60)
    for start in range(0, keys, 1000):
        writer.mset({b"t:%d" % i: b"v" for i in range(start, min(keys, start + 1000))})
    time.sleep(0.5)
    tracker = redis.Redis(port=daemon.port, protocol=3, single_connection_client=True,
                          socket_timeout=60)
    tracker.execute_command("CLIENT", "TRACKING", "ON")
    before = memory(daemon.process.pid)[0]
    for start in range(0, keys, 1000):
        tracker.execute_command("MGET", *(b"t:%d" % i for i in range(start,
                                                                      min(keys, start + 1000))))
    time.sleep(0.5)
    after = memory(daemon.process.pid)[0]
    tracker.close()
    writer.close()
    return (after - before) / keys


def measure(name: str, daemon, reads: int, keys: int, results: dict) -> None:
    import redis
    daemon.start()
    try:
        client = redis.Redis(port=daemon.port)
        client.set("hot", "x" * 100)
        out = results.setdefault(name, {})
        out["socket reads/s"] = reads_per_second(lambda: client.get("hot"), reads // 10)
        near = NearCache("127.0.0.1", daemon.port)
        out["near cache reads/s"] = reads_per_second(lambda: near.get("hot"), reads)
        near.close()
        out["tracking bytes per key"] = tracked_memory(daemon, keys)
        print(name, {k: round(v) for k, v in out.items()}, flush=True)
    finally:
        daemon.stop()


def report(results: dict) -> str:
    redis, region = results["redis"], results["region"]
    rows = ["| near cache (one hot key) | redis-server | region | ratio |",
            "|---|---:|---:|---:|"]
    for figure, label in (("socket reads/s", "GET over the socket, redis-py, reads/s"),
                          ("near cache reads/s", "GET through a near cache, reads/s"),
                          ("tracking bytes per key", "tracking table, bytes per key read")):
        rows.append(f"| {label} | {redis[figure]:,.0f} | {region[figure]:,.0f} "
                    f"| {region[figure] / redis[figure]:.2f}× |")
    rows.append(f"| near cache / socket, at the region | | "
                f"{region['near cache reads/s'] / region['socket reads/s']:.0f}× | |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    work = scratch("geolru-bench-near-")
    results: dict = {}
    measure("redis", redis_server(work / "redis"), args.reads, args.keys, results)
    measure("region", region_daemon(work / "region", name="bench"), args.reads, args.keys,
            results)
    print("\n" + report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
