"""Gather the benchmarks' JSON into bench/results.json, bench/results.md, plots in
docs/, docs/benchmarks.md (between the bench:start and bench:end markers) and the
README's summary table (between bench-summary:start and bench-summary:end).

    .venv/bin/python bench/report.py DIR  # region, locate, replication, wan[, hashes, sets].json
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from hashes import report as hashes_report  # noqa: E402
from members import report as members_report  # noqa: E402
from nearcache import report as near_report  # noqa: E402
from sets import report as sets_report  # noqa: E402
from wan import report as wan_report  # noqa: E402

FIGURES = ("SET P1", "GET P1", "SET P16", "GET P16")
TARGETS = {"SET P1": "0.8×", "GET P1": "0.8×", "SET P16": "0.4×", "GET P16": "0.5×"}


def tables(region: dict, locate: list, replication: dict, wan: dict, hashes: dict,
           sets: dict | None = None, near: dict | None = None,
           members: dict | None = None) -> str:
    redis, alone, peers, cpu = (region[k] for k in ("redis", "region", "region_2_peers",
                                                     "cpu_us"))
    out = [f"Measured {time.strftime('%Y-%m-%d')} on this machine: {os.cpu_count()} cores, "
           f"{platform.machine()}, Python {platform.python_version()}. Rerun: `bench/run`. "
           "Ratios are against a reference measured in the same run.", "",
           "Region vs redis-server (`--appendonly yes --appendfsync everysec`), "
           "`redis-benchmark -t set|get -c 50 -d 100 -r 100000`, each figure the median of "
           "three runs; the region alone, and "
           "Montreal of a three-region cluster, so replicating every write to two peers "
           "(all on the same 2 cores). The targets are for the region with 2 peers:", "",
           "| figure | redis-server | region | ratio | region, 2 peers | ratio | target |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    figures = [k for k in alone if " P" in k]
    for figure in sorted(figures, key=lambda k: (k.split()[0] != "SET", int(k.split(" P")[1]))):
        row = f"| {figure} ops/s | {redis[figure]:,.0f} | {alone[figure]:,.0f} | " \
              f"{alone[figure] / redis[figure]:.2f}× |"
        if figure in peers:
            row += f" {peers[figure]:,.0f} | {peers[figure] / redis[figure]:.2f}× " \
                   f"| {TARGETS.get(figure, '')} |"
        else:
            row += " | | |"
        out.append(row)
    out += [f"| memory per key, 1M keys of 100 B (RSS) | {redis['bytes/key']:,.0f} B "
            f"| {alone['bytes/key']:,.0f} B | {alone['bytes/key'] / redis['bytes/key']:.2f}× "
            "| | | ≤ 2.5× |",
            f"| the same, private memory only (RssAnon) | {redis['anon bytes/key']:,.0f} B "
            f"| {alone['anon bytes/key']:,.0f} B "
            f"| {alone['anon bytes/key'] / redis['anon bytes/key']:.2f}× | | | |", "",
            "CPU time each server process spent per request (user + system, from /proc; "
            "steadier than ops/s on a shared machine); *peer* is Frankfurt applying what "
            "Montreal replicates:", "",
            "| CPU µs per request | redis-server | region | ratio | region, 2 peers | peer |",
            "|---|---:|---:|---:|---:|---:|"]
    for figure in FIGURES:
        theirs, mine = cpu["redis"][figure], cpu["region"][figure]
        out.append(f"| {figure} | {theirs:.1f} | {mine:.1f} | {mine / theirs:.1f}× "
                   f"| {cpu['region_2_peers'][figure]:.1f} | {cpu['peer'][figure]:.1f} |")
    if "region_1_peer" in region:
        out += ["", one_replica_table(region)]
    out += ["", "LOCATE over TCP (4 connections × 200 pipelined) and the nearest-region "
            "computation vs a naive per-query `GeoSeries.distance`:", "",
            "| regions | LOCATE/s | p50 | p99 | nearest | first in a cell | naive geopandas "
            "| speed-up |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in locate:
        out.append(f"| {row['regions']:,} | {row['locate_per_s']:,.0f} | {row['p50_us']:.0f} µs "
                   f"| {row['p99_us']:.0f} µs | {row['nearest_us']:.1f} µs | "
                   f"{row['first_in_cell_us']:.1f} µs | {row['naive_us']:.1f} µs | "
                   f"{row['naive_us'] / row['nearest_us']:.0f}× |")
    out += ["", "Replication lag (SET acknowledged at Montreal → visible at Frankfurt) "
            "under load, 3 regions and a master on the same machine:", "",
            "| writes/s | achieved | p50 | p99 | max |", "|---:|---:|---:|---:|---:|"]
    for x in replication["lag"]:
        out.append(f"| {x['rate']:,} | {x['achieved']:,.0f} | {x['p50']:.2f} ms | "
                   f"{x['p99']:.2f} ms | {x['max']:.2f} ms |")
    caught = replication["catch_up"]
    out += ["", f"Catch-up: {caught['keys']:,} keys missed by a region that was down, "
            f"received in {caught['seconds']:.1f} s: **{caught['rate']:,.0f} keys/s**.",
            "", "At real distances (`bench/wan.py`): every peer link through a proxy delaying "
            "each direction by Montreal–Frankfurt 45 ms, Frankfurt–Singapore 80 ms, "
            "Montreal–Singapore 115 ms one way; lag is from the writer's OK to the value "
            "visible at the reader, the one-way delay included:", "", wan_report(wan)]
    if hashes:
        out += ["", "Hashes (`bench/hashes.py`): `redis-benchmark -c 50 -P 16` HSET and HGET "
                "of one random field, the region's cache holding the hash, and too small "
                "for it (each command reads and writes the store):", "", hashes_report(hashes)]
    if sets:
        out += ["", "Sets, sorted sets and lists (`bench/sets.py`): memory per member (element)"
                " of one, each kind on a server started afresh (lists pushed 1,000 values "
                "at a time), and `redis-benchmark -c 50 -P 16` SADD and SISMEMBER (ZADD and "
                "ZSCORE, RPUSH and LINDEX of the middle element) of one random member:", "",
                sets_report(sets, sets["members"])]
    if members:
        out += ["", f"A set across regions (`bench/members.py`): {members['requests']:,} "
                "`redis-benchmark -c 50 -P 16 -t sadd` at Montreal with Frankfurt and "
                "Singapore, against a redis-server with two replicas (AOF everysec), CPU "
                "counted until every replica holds the set:", "", members_report(members)]
    if near:
        out += ["", "Near caches (`bench/nearcache.py`): one hot key read through a near "
                "cache (CLIENT TRACKING) and over the socket, and the tracking table's "
                "memory; how soon a near cache learns of a write made in another region is "
                "in the replication table above (`bench/wan.py`):", "", near_report(near)]
    return "\n".join(out) + "\n"


# what issue "Writes at the speed of reads" asks, against redis-server with one replica
ISSUE_TARGETS = {"SET P1": "0.5×", "GET P1": "0.8×", "SET P16": "0.35×", "GET P16": "0.5×"}


def one_replica_table(region: dict) -> str:
    """redis-server with one replica against a region with one peer: ops/s, and each
    process's CPU per request (the issue's yardstick; docs/store.md says what is out of
    reach and why)."""
    redis, mine, cpu = region["redis_1_replica"], region["region_1_peer"], region["cpu_us"]
    out = ["redis-server with one replica (both AOF everysec) against Montreal with one "
           "peer (Frankfurt), the yardstick of issue \"Writes at the speed of reads\"; "
           "CPU µs per request of each process (the replica's and the peer's per write "
           "they copy). [docs/store.md](store.md) says which targets no Twisted server "
           "reaches here (`bench/floor.py`):", "",
           "| figure | redis-server | region | ratio | target | CPU: primary, replica "
           "| CPU: region, peer |", "|---|---:|---:|---:|---:|---:|---:|"]
    for figure in FIGURES:
        out.append(f"| {figure} ops/s | {redis[figure]:,.0f} | {mine[figure]:,.0f} "
                   f"| {mine[figure] / redis[figure]:.2f}× | {ISSUE_TARGETS[figure]} "
                   f"| {cpu['redis_primary'][figure]:.1f}, {cpu['redis_replica'][figure]:.1f} "
                   f"| {cpu['region_1_peer'][figure]:.1f}, {cpu['peer_1'][figure]:.1f} |")
    return "\n".join(out)


def summary(region: dict, locate: list, replication: dict, wan: dict, hashes: dict,
            sets: dict | None = None, near: dict | None = None) -> str:
    """The README's table: each figure against its reference, measured in the same run."""
    redis, peers = region["redis"], region["region_2_peers"]
    big = locate[-1]
    lag5k = [x for x in replication["lag"] if x["rate"] == 5000]
    far = [x for x in wan["lag"] if x["rate"] == 5000 and x["one_way_ms"] == 115]
    out = [f"Measured {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores (`bench/run`; "
           "every table and plot: [docs/benchmarks.md](docs/benchmarks.md)).", "",
           "| figure | geolru | reference, same run | ratio |", "|---|---:|---:|---:|"]
    for figure in FIGURES:
        out.append(f"| {figure} ops/s, Montreal with 2 peers | {peers[figure]:,.0f} "
                   f"| redis-server {redis[figure]:,.0f} | {peers[figure] / redis[figure]:.2f}× |")
    if "region_1_peer" in region:
        theirs, mine = region["redis_1_replica"], region["region_1_peer"]
        for figure in FIGURES:
            out.append(f"| {figure} ops/s, a region with 1 peer | {mine[figure]:,.0f} "
                       f"| redis-server with 1 replica {theirs[figure]:,.0f} "
                       f"| {mine[figure] / theirs[figure]:.2f}× |")
    out.append(f"| memory per key (1M keys of 100 B) | {region['region']['bytes/key']:,.0f} B "
               f"| redis-server {redis['bytes/key']:,.0f} B "
               f"| {region['region']['bytes/key'] / redis['bytes/key']:.2f}× |")
    out.append(f"| nearest region among {big['regions']:,} | {big['nearest_us']:.1f} µs "
               f"| naive geopandas {big['naive_us']:.0f} µs "
               f"| {big['naive_us'] / big['nearest_us']:.0f}× faster |")
    if hashes:
        for command in ("HSET", "HGET"):
            key = f"{command} 10000"
            mine, theirs = hashes["region"][key], hashes["redis"][key]
            out.append(f"| {command} P16, one field of a 10,000-field hash | {mine:,.0f} "
                       f"| redis-server {theirs:,.0f} | {mine / theirs:.2f}× |")
    if sets:
        mine, theirs = sets["region"]["rss per member"], sets["redis"]["rss per member"]
        out.append(f"| memory per member of a {sets['members']:,}-member set | {mine:,.0f} B "
                   f"| redis-server {theirs:,.0f} B | {mine / theirs:.2f}× |")
        for figure, label in (("zset rss per member", "... of a sorted set"),
                              ("list rss per element",
                               "... per element of a list (pushed 1,000 at a time)"),
                              ("list1 rss per element",
                               "... of a list pushed one value at a time (RPUSH)"),
                              ("list1l rss per element", "... the same with LPUSH")):
            if figure in sets["region"]:
                mine, theirs = (sets[who][figure] for who in ("region", "redis"))
                out.append(f"| {label} | {mine:,.0f} B | redis-server {theirs:,.0f} B "
                           f"| {mine / theirs:.2f}× |")
    if near:
        mine, theirs = near["region"]["near cache reads/s"], near["redis"]["socket reads/s"]
        out.append(f"| GET of a hot key through GeoCache's near cache, reads/s | {mine:,.0f} "
                   f"| redis-server over the socket {theirs:,.0f} | {mine / theirs:.0f}× |")
    if lag5k:
        out.append(f"| replication lag p99, 5k SET/s, loopback | {lag5k[0]['p99']:.1f} ms | | |")
    if far:
        out.append(f"| replication lag p99, 5k SET/s, 115 ms away | {far[0]['p99']:.1f} ms "
                   f"| the one-way delay, 115 ms | +{far[0]['p99'] - 115:.1f} ms |")
    return "\n".join(out) + "\n"


def plots(region: dict, replication: dict, wan: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    names = {"region": "geolru region", "region_2_peers": "geolru region, 2 peers",
             "redis": "redis-server"}
    for server, style in (("region", "-o"), ("region_2_peers", ":^"), ("redis", "--s")):
        for test in ("SET", "GET"):
            depths = sorted(int(k.split(" P")[1]) for k in region[server] if
                            k.startswith(test + " P"))
            ax.plot(depths, [region[server][f"{test} P{d}"] for d in depths], style,
                    label=f"{test}, {names[server]}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("pipeline depth (redis-benchmark -P)")
    ax.set_ylabel("ops/s")
    ax.set_title("Throughput vs pipeline depth (50 clients, 100-byte values)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "throughput.png", dpi=110)

    fig, ax = plt.subplots(figsize=(7, 4))
    rates = [x["rate"] for x in replication["lag"]]
    for key, style in (("p50", "-o"), ("p99", "-s"), ("max", ":^")):
        ax.plot(rates, [x[key] for x in replication["lag"]], style, label=key)
    ax.set_xlabel("writes/s at one region")
    ax.set_ylabel("lag to another region (ms)")
    ax.set_title("Replication lag vs write rate")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "lag.png", dpi=110)

    fig, ax = plt.subplots(figsize=(7, 4))
    delays = [0, 130]
    ax.plot(delays, delays, "-", color="grey", label="one-way delay (the speed of light)")
    ax.plot(delays, [d + 10 for d in delays], ":", color="grey", label="target: + 10 ms")
    for rate, style in ((1000, "o"), (5000, "s")):
        rows = [x for x in wan["lag"] if x["rate"] == rate]
        for key, fill in (("p50", None), ("p99", "none")):
            ax.plot([x["one_way_ms"] for x in rows], [x[key] for x in rows], style,
                    fillstyle=fill or "full", label=f"{key} at {rate:,} SET/s")
    ax.set_xlabel("one-way delay of the link (ms)")
    ax.set_ylabel("lag to the other end (ms)")
    ax.set_title("Replication lag vs link delay (Montreal, Frankfurt, Singapore)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "wan-lag.png", dpi=110)


def _between_markers(path: Path, marker: str, text: str) -> None:
    body = path.read_text()
    block = f"<!-- {marker}:start (bench/run writes this part) -->\n{text}<!-- {marker}:end -->"
    body, count = re.subn(rf"<!-- {marker}:start.*?<!-- {marker}:end -->", lambda _: block,
                          body, flags=re.S)
    if count:
        path.write_text(body)


def main() -> int:
    source = Path(sys.argv[1])
    region = json.loads((source / "region.json").read_text())
    locate = json.loads((source / "locate.json").read_text())
    replication = json.loads((source / "replication.json").read_text())
    wan = json.loads((source / "wan.json").read_text())
    hashes_file = source / "hashes.json"
    hashes = json.loads(hashes_file.read_text()) if hashes_file.exists() else {}
    sets_file = source / "sets.json"
    sets = json.loads(sets_file.read_text()) if sets_file.exists() else {}
    near_file = source / "near.json"
    near = json.loads(near_file.read_text()) if near_file.exists() else {}
    members_file = source / "members.json"
    members = json.loads(members_file.read_text()) if members_file.exists() else {}
    (ROOT / "bench" / "results.json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(),
        "machine": platform.machine(), "python": platform.python_version(),
        "region_vs_redis": region, "locate": locate, "replication": replication, "wan": wan,
        "hashes": hashes, "sets": sets, "near": near, "members": members}, indent=2))
    text = tables(region, locate, replication, wan, hashes, sets, near, members)
    (ROOT / "bench" / "results.md").write_text(text)
    plots(region, replication, wan)
    _between_markers(ROOT / "docs" / "benchmarks.md", "bench", text + (
        "\n![throughput](throughput.png) ![lag](lag.png) "
        "![lag at a distance](wan-lag.png)\n"))
    _between_markers(ROOT / "README.md", "bench-summary",
                     summary(region, locate, replication, wan, hashes, sets, near))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
