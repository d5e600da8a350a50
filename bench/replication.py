"""Replication: lag and catch-up rate (what it costs: bench/region_vs_redis.py).

    .venv/bin/python bench/replication.py [--seconds 5] [--down-seconds 20]

A master and three regions (twistd) on loopback.

- Lag: while a load thread writes at montreal at 1k, 5k and 10k SET/s, a probe
  sets a key at montreal and, once that SET is acknowledged, polls frankfurt
  until it sees it; p50/p99/max over the probes.
- Catch-up: singapore is killed, montreal takes writes for --down-seconds at
  full speed, singapore restarts; keys/s from its restart until it has them all.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import (  # noqa: E402
    load_thread,
    percentile,
    probe_lag,
    scratch,
    start_cluster,
    time_catch_up,
    write_while_down,
)


def lag(regions, rate: int, seconds: float) -> dict:
    stop, written = threading.Event(), [0]
    thread = load_thread(regions["montreal"], rate, stop, written)
    started = time.monotonic()
    samples = probe_lag(regions["montreal"], regions["frankfurt"], seconds, "probe", 0.005)
    stop.set()
    thread.join()
    achieved = written[0] / (time.monotonic() - started)
    return {"rate": rate, "achieved": achieved, "p50": percentile(samples, 0.5),
            "p99": percentile(samples, 0.99), "max": max(samples), "probes": len(samples)}


def catch_up(regions, down_seconds: float) -> dict:
    keys = write_while_down(regions["singapore"], regions["montreal"].client(), down_seconds,
                            "away", "y" * 100)
    took = time_catch_up(regions["singapore"], f"away:{keys - 1}")
    return {"keys": keys, "seconds": took, "rate": keys / took}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--down-seconds", type=float, default=20.0)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts" / "ensure-redis-server")], check=True)
    work = scratch("geolru-repl-")

    master, regions = start_cluster(work)
    try:
        lags = []
        for rate in (1000, 5000, 10000):
            lags.append(lag(regions, rate, args.seconds))
            print(lags[-1], flush=True)
        caught = catch_up(regions, args.down_seconds)
        print(caught, flush=True)
    finally:
        for daemon in [master, *regions.values()]:
            daemon.stop()

    print(f"\n{time.strftime('%Y-%m-%d')}; 3 regions + master on one 2-core machine\n")
    print("| writes/s asked | achieved | lag p50 | lag p99 | lag max | probes |")
    print("|---:|---:|---:|---:|---:|---:|")
    for x in lags:
        print(f"| {x['rate']:,} | {x['achieved']:,.0f} | {x['p50']:.2f} ms | {x['p99']:.2f} ms "
              f"| {x['max']:.2f} ms | {x['probes']} |")
    print(f"\ncatch-up: {caught['keys']:,} keys written in {args.down_seconds:g} s while "
          f"singapore was down, caught up in {caught['seconds']:.1f} s after its restart: "
          f"{caught['rate']:,.0f} keys/s\n")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "lag": lags, "catch_up": caught}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
