"""Sets, sorted sets and lists, region vs redis-server, measured in the same run on
the same machine: memory per member of a 100,000-member set (and sorted set, and per
element of a 100,000-element list), and SADD and SISMEMBER (ZADD and ZSCORE; RPUSH
and LINDEX of the middle element) of one random member.

    .venv/bin/python bench/sets.py [--members 100000] [--requests 100000] [--json FILE]

Memory: RSS growth (and RssAnon, without file pages mapped in) of each server,
started afresh for each kind, while one set is filled with ``--members`` members of
16 bytes (``member:%09d``), SADD 1,000 at a time (ZADD, RPUSH likewise; and a list
again, RPUSH of one value each, and LPUSH of one value each), over the members' own
bytes: what the server spends per member.
The region's cache holds the set whole, and its store holds it too.  Throughput:
``redis-benchmark -c 50 -P 16 -r N SADD s member:__rand_int__`` (and SISMEMBER) on
that set.  Prints a Markdown table whose ratios are region / redis-server.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from region_vs_redis import memory  # noqa: E402
from servers import scratch  # noqa: E402

from support import redis_server, region_daemon  # noqa: E402

FIGURES = ("SADD", "SISMEMBER", "ZADD", "ZSCORE", "RPUSH", "LINDEX")


def fill(daemon, members: int, kind: str = "set") -> tuple[float, float]:
    """Fill set ``s`` (or sorted set ``z``, or list ``l``: ``list1`` an ``RPUSH`` of
    one value each, 1,000 to a pipeline, ``list1l`` an ``LPUSH`` likewise); bytes of
    RSS and RssAnon growth per member."""
    import redis
    client = redis.Redis(port=daemon.port, socket_timeout=60)
    key = {"set": "s", "zset": "z", "list": "l", "list1": "l", "list1l": "l"}[kind]
    client.delete(key)
    before = memory(daemon.process.pid)
    for start in range(0, members, 1000):
        chunk = [b"member:%09d" % i for i in range(start, min(members, start + 1000))]
        if kind == "zset":
            client.zadd(key, {m: i for i, m in enumerate(chunk, start)})
        elif kind == "list":
            client.rpush(key, *chunk)
        elif kind in ("list1", "list1l"):
            pipe = client.pipeline(transaction=False)
            push = pipe.rpush if kind == "list1" else pipe.lpush
            for member in chunk:
                push(key, member)
            pipe.execute()
        else:
            client.sadd(key, *chunk)
    assert {"set": client.scard, "zset": client.zcard}.get(kind, client.llen)(key) \
        == members
    time.sleep(1.0)  # let the store commit and the allocator settle
    after = memory(daemon.process.pid)
    client.close()
    return (after[0] - before[0]) / members, (after[1] - before[1]) / members


KINDS = {"set": ("", ("SADD", "SISMEMBER")), "zset": ("zset ", ("ZADD", "ZSCORE")),
         "list": ("list ", ("RPUSH", "LINDEX")), "list1": ("list1 ", ()),
         "list1l": ("list1l ", ())}


def measure(name: str, daemons, members: int, requests: int, results: dict) -> None:
    """Each kind on a daemon of its own (``daemons(kind)`` makes it), started afresh:
    a store grown by another kind before would move the figures (LMDB maps its file
    again when it grows, and the pages mapped in leave RSS)."""
    results.setdefault(name, {})
    for kind, (label, commands) in KINDS.items():
        daemon = daemons(kind)
        daemon.start()
        try:
            rss, anon = fill(daemon, members, kind)
            unit = "element" if kind.startswith("list") else "member"
            results[name].update({f"{label}rss per {unit}": rss,
                                  f"{label}anon per {unit}": anon})
            print(f"{name:7} {members:,} {kind} {unit}s: {rss:,.0f} B RSS per {unit} "
                  f"({anon:,.0f} RssAnon)", flush=True)
            for command in commands:
                ops = run_set(daemon.port, command, members, requests)
                results[name][command] = ops
                print(f"{name:7} {command} of one member: {ops:>9,.0f} ops/s", flush=True)
        finally:
            daemon.stop()


def run_set(port: int, command: str, members: int, requests: int) -> float:
    import csv
    import io
    args = (["z", "__rand_int__", "member:__rand_int__"] if command == "ZADD"
            else ["z", "member:__rand_int__"] if command == "ZSCORE"
            else ["l", "member:__rand_int__"] if command == "RPUSH"
            else ["l", "50000"] if command == "LINDEX"
            else ["s", "member:__rand_int__"])
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", "50", "-P", "16", "-r", str(members),
         "-n", str(requests), "--csv", command, *args],
        capture_output=True, text=True, check=True, timeout=600).stdout
    return float(list(csv.reader(io.StringIO(out)))[1][1])


def report(results: dict, members: int) -> str:
    redis, region = results["redis"], results["region"]
    out = [f"| a set (sorted set, list) of {members:,} members | redis-server | region "
           f"| ratio |",
           "|---|---:|---:|---:|"]
    for figure, label, unit in (("rss per member", "memory per member (RSS)", "B"),
                                ("anon per member", "the same, RssAnon", "B"),
                                ("SADD", "SADD of one member, P16, ops/s", ""),
                                ("SISMEMBER", "SISMEMBER, P16, ops/s", ""),
                                ("zset rss per member", "sorted set: memory per member "
                                 "(RSS)", "B"),
                                ("zset anon per member", "the same, RssAnon", "B"),
                                ("ZADD", "ZADD of one member, P16, ops/s", ""),
                                ("ZSCORE", "ZSCORE, P16, ops/s", ""),
                                ("list rss per element", "list: memory per element (RSS)",
                                 "B"),
                                ("list anon per element", "the same, RssAnon", "B"),
                                ("list1 rss per element", "list, pushed one value at a "
                                 "time: memory per element (RSS)", "B"),
                                ("list1 anon per element", "the same, RssAnon", "B"),
                                ("list1l rss per element", "list, LPUSH one value at a "
                                 "time: memory per element (RSS)", "B"),
                                ("list1l anon per element", "the same, RssAnon", "B"),
                                ("RPUSH", "RPUSH of one element, P16, ops/s", ""),
                                ("LINDEX", "LINDEX, P16, ops/s", "")):
        if figure not in redis or figure not in region:
            continue
        out.append(f"| {label} | {redis[figure]:,.0f} {unit} | {region[figure]:,.0f} {unit} "
                   f"| {region[figure] / redis[figure]:.2f}× |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "ensure-redis-server")], check=True)
    work = scratch("geolru-bench-sets-")
    results: dict = {"members": args.members}
    measure("redis", lambda kind: redis_server(work / f"redis-{kind}", "--appendonly",
                                               "yes", "--appendfsync", "everysec"),
            args.members, args.requests, results)
    measure("region", lambda kind: region_daemon(work / f"region-{kind}", name="bench"),
            args.members, args.requests, results)
    print("\n" + report(results, args.members))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
