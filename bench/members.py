"""Set members across regions: what a replicated SADD costs, region vs redis-server,
measured in the same run on the same machine.

    .venv/bin/python bench/members.py [--requests 200000] [--json FILE]

Montreal, Frankfurt and Singapore (the tests' ``Cluster``) against a redis-server
with two replicas (AOF everysec on all three): ``redis-benchmark -c 50 -P 16 -r
100000 -t sadd`` at Montreal (the master), then, once every region holds the set
Montreal holds, the CPU each process spent per SADD and the member records
Singapore applied per SADD (1 when each reaches it once; 2 when Frankfurt also sends
on what it applied from Montreal).  Prints a Markdown table.
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

from servers import cpu_seconds, scratch, start_cluster  # noqa: E402

from support import redis_server, stop_all, wait_until  # noqa: E402

KEY = "myset"  # redis-benchmark's SADD adds element:__rand_int__ to it


def sadd(port: int, requests: int, watch: dict[str, int]) -> tuple[float, dict[str, float]]:
    """ops/s of redis-benchmark's SADD at P16, and each watched process's CPU seconds
    before it (``spent`` takes them once the others have the set)."""
    before = {name: cpu_seconds(pid) for name, pid in watch.items()}
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "sadd", "-c", "50", "-P", "16",
         "-r", "100000", "-n", str(requests), "--csv"],
        capture_output=True, text=True, check=True, timeout=600).stdout
    ops = float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
    return ops, before


def spent(before: dict, watch: dict[str, int], requests: int) -> dict[str, float]:
    return {name: (cpu_seconds(pid) - before[name]) / requests * 1e6
            for name, pid in watch.items()}


def report(results: dict) -> str:
    """A Markdown table of ``main``'s figures; ratios region / redis-server."""
    redis_row, region_row = results["redis"], results["region"]
    out = ["| a replicated SADD, P16 | redis-server | region | ratio |", "|---|---:|---:|---:|",
           f"| SADD ops/s at the master (Montreal) | {redis_row['ops']:,.0f} | "
           f"{region_row['ops']:,.0f} | {region_row['ops'] / redis_row['ops']:.2f}× |"]
    for name, label in (("primary", "CPU per SADD, the master (Montreal)"),
                        ("replica", "CPU per SADD, a replica (Singapore)")):
        mine, theirs = region_row["cpu"][name], redis_row["cpu"][name]
        out.append(f"| {label} | {theirs:.1f} µs | {mine:.1f} µs | {mine / theirs:.1f}× |")
    out.append(f"| member records Singapore applied per SADD | | {region_row['records']:.2f} | |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "ensure-redis-server")], check=True)
    import redis
    work = scratch("geolru-bench-members-")
    rows = {}

    aof = ("--appendonly", "yes", "--appendfsync", "everysec")
    primary = redis_server(work / "primary", *aof).start()
    replicas = [redis_server(work / f"replica{i}", *aof, "--replicaof", "127.0.0.1",
                             str(primary.port)).start() for i in (1, 2)]
    try:
        clients = [redis.Redis(port=d.port) for d in (primary, *replicas)]
        wait_until(lambda: all(c.info("replication").get("master_link_status") == "up"
                               for c in clients[1:]), 10, what="the replicas to sync")
        watch = {"primary": primary.process.pid, "replica": replicas[0].process.pid}
        ops, before = sadd(primary.port, args.requests, watch)
        wait_until(lambda: all(c.scard(KEY) == clients[0].scard(KEY) for c in clients),
                   60, what="the replicas to have the set")
        rows["redis"] = (ops, spent(before, watch, args.requests), None)
    finally:
        stop_all(primary, *replicas)

    master, regions = start_cluster(work / "cluster")
    try:
        clients = {name: region.client() for name, region in regions.items()}
        watch = {"primary": regions["montreal"].process.pid,
                 "replica": regions["singapore"].process.pid}
        applied = int(clients["singapore"].info("replication")["replication_applied"])
        ops, before = sadd(regions["montreal"].port, args.requests, watch)
        want = clients["montreal"].scard(KEY)
        wait_until(lambda: all(c.scard(KEY) == want for c in clients.values()), 120,
                   what="every region to have the set")
        time.sleep(1.0)  # (what Frankfurt still sends on would count)
        records = (int(clients["singapore"].info("replication")["replication_applied"])
                   - applied) / args.requests
        rows["region"] = (ops, spent(before, watch, args.requests), records)
    finally:
        stop_all(master, *regions.values())

    results = {"requests": args.requests,
               **{name: {"ops": ops, "cpu": cpu, "records": records}
                  for name, (ops, cpu, records) in rows.items()}}
    print("\n" + report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
