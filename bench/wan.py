"""Replication at real distances: a delaying proxy on every peer link.

    .venv/bin/python bench/wan.py [--seconds 6] [--down-seconds 8] [--json FILE]

A master and three regions (twistd) on loopback; every stream between two
regions goes through ``geolru.devtools.delayproxy`` (run as a process of its own), which
delays each direction by the one-way delay of real regions: Montreal–Frankfurt
45 ms, Frankfurt–Singapore 80 ms, Montreal–Singapore 115 ms.  In one run:

- lag per link at 1k and 5k SET/s (a probe SETs at one end and polls the other),
  p50/p99/max, against the link's one-way delay (the speed of light);
- ``WAIT 2`` at Montreal, p50/p99, on loopback and with the delays;
- catch-up keys/s after Singapore was killed, with and without the delays, and
  the copies of each write Singapore received (bytes over one copy's bytes);
- copies per write while live, and a peer's CPU per applied write;
- a burst (``redis-benchmark -P 16``): the most writes waiting for a peer, the time
  to drain, and whether any stream left live mode;
- Montreal–Singapore capped at 20 Mbit/s under 3 MB/s of writes: Montreal–Frankfurt's
  lag and Montreal's memory;
- pub/sub: a message ``PUBLISH``ed at one end of each link until a subscriber at the
  other end has it, p50/p99, against the same link's replication lag at 1k SET/s;
- near caches: a SET at one end of each link until a near cache (``CLIENT
  TRACKING``) at the other end, which held the old value, reads the new one, p50/p99,
  on loopback and with the delays (goal: replication lag + 2 ms at p99).
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
sys.path.insert(0, str(ROOT / "bench"))

from servers import (  # noqa: E402
    PLACES,
    cpu_seconds,
    load_thread,
    percentile,
    probe_lag,
    scratch,
    time_catch_up,
    write_while_down,
)

from geolru.model.record import Record  # noqa: E402
from geolru.replication import peerwire  # noqa: E402
from support import (  # noqa: E402
    free_port,
    master_daemon,
    region_daemon,
    wait_until,
)

DELAYS_MS = {frozenset(("montreal", "frankfurt")): 45, frozenset(("frankfurt", "singapore")): 80,
             frozenset(("montreal", "singapore")): 115}
LINKS = (("montreal", "frankfurt"), ("frankfurt", "singapore"), ("montreal", "singapore"))
VALUE = b"x" * 100
COMMIT_INTERVAL_MS = 10  # the regions' default commit_interval


class ProxyProcess:
    """``python -m geolru.devtools.delayproxy`` with a link for each direction of each pair."""

    def __init__(self, peer_ports: dict[str, int]):
        self.ports = {}  # (from, to) -> the port ``from`` reaches ``to`` at
        specs = []
        for a in PLACES:
            for b in PLACES:
                if a != b:
                    port = free_port()
                    self.ports[(a, b)] = port
                    specs.append(f"{a}>{b}={port}:127.0.0.1:{peer_ports[b]}:0")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "geolru.devtools.delayproxy", *specs], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.process.stdout.readline().strip() == "ready"

    def command(self, line: str) -> dict:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def set_delays(self, real: bool) -> None:
        for (a, b) in self.ports:
            self.command(f"delay {a}>{b} {DELAYS_MS[frozenset((a, b))] if real else 0}")

    def received(self, region: str) -> int:
        """Bytes the streams to ``region`` carried to it so far."""
        stats = self.command("stats")
        return sum(v["up"] for name, v in stats.items() if name.endswith(f">{region}"))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


def one_copy_bytes(key: bytes) -> int:
    """Bytes one write of ``key`` takes in a batch frame (without the frame's header)."""
    record = Record(VALUE, None, 1 << 40, "montreal")
    return len(peerwire.encode_batch(0, [(1 << 20, key, record)])) - 9


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def start(work: Path):
    master = master_daemon(work / "master", heartbeat_timeout=5).start()
    peer_ports = {name: free_port() for name in PLACES}
    proxy = ProxyProcess(peer_ports)
    regions = {}
    for name, (lat, lon) in PLACES.items():
        routes = ",".join(f"{b}=127.0.0.1:{proxy.ports[(name, b)]}" for b in PLACES if b != name)
        regions[name] = region_daemon(
            work / name, name=name, latitude=lat, longitude=lon,
            master=f"tcp:127.0.0.1:{master.port}",
            peer_listen=f"tcp:{peer_ports[name]}:interface=127.0.0.1",
            peer_routes=routes).start()
    wait_until(lambda: all(live(r) for r in regions.values()), 30,
               what="the cluster streaming live")
    return master, proxy, regions


def peer_infos(region) -> dict:
    info = region.client().info("replication")
    return {v["name"]: v for k, v in info.items() if k.startswith("peer")}


def live(region) -> bool:
    peers = peer_infos(region)
    return len(peers) == 2 and all(p["state"] == "live" for p in peers.values())


def summary(samples: list[float]) -> dict:
    return {"p50": percentile(samples, 0.5), "p99": percentile(samples, 0.99),
            "max": max(samples), "samples": len(samples)}


def lags(regions, seconds: float, real: bool) -> list[dict]:
    """Lag per link at 1k and 5k SET/s."""
    out = []
    for rate in (1000, 5000):
        for writer, reader in LINKS:
            stop, written = threading.Event(), [0]
            thread = load_thread(regions[writer], rate, stop, written)
            started = time.monotonic()
            samples = probe_lag(regions[writer], regions[reader], seconds,
                                f"probe:{writer}>{reader}", 0.01)
            stop.set()
            thread.join()
            achieved = written[0] / (time.monotonic() - started)
            delay = DELAYS_MS[frozenset((writer, reader))] if real else 0
            row = {"rate": rate, "achieved": achieved, "writer": writer, "reader": reader,
                   "one_way_ms": delay, **summary(samples)}
            out.append(row)
            print(row, flush=True)
    return out


def pubsub_lags(regions, seconds: float) -> list[dict]:
    """Per link: PUBLISH at the writer, until the reader's subscriber has the message
    (a probe every 10 ms, each one waited for), in ms."""
    out = []
    for writer, reader in LINKS:
        listener = regions[reader].client().pubsub()
        listener.subscribe("lag")
        listener.get_message(timeout=5)
        publisher = regions[writer].client()
        samples, started, n = [], time.monotonic(), 0
        while time.monotonic() - started < seconds:
            n += 1
            t0 = time.perf_counter()
            publisher.publish("lag", str(n))
            while time.perf_counter() - t0 <= 5:  # (longer: lost, not counted)
                message = listener.get_message(timeout=1.0)
                if message is not None and message["type"] == "message" \
                        and message["data"] == str(n).encode():
                    samples.append((time.perf_counter() - t0) * 1000)
                    break
            time.sleep(0.01)
        listener.close()
        row = {"writer": writer, "reader": reader,
               "one_way_ms": DELAYS_MS[frozenset((writer, reader))], **summary(samples)}
        out.append(row)
        print("pub/sub", row, flush=True)
    return out


def invalidation_lags(regions, seconds: float, real: bool) -> list[dict]:
    """Per link: SET at the writer until a near cache at the reader, holding the old
    value, reads the new one (the invalidation came, and a read through), in ms."""
    from geolru.client.nearcache import NearCache
    out = []
    for writer, reader in LINKS:
        near = NearCache("127.0.0.1", regions[reader].port)
        client = regions[writer].client()
        key = f"near:{writer}>{reader}"
        samples, started, n = [], time.monotonic(), 0
        client.set(key, "0")
        wait_until(lambda near=near, key=key: near.get(key) == b"0", 10,
                   what="the first value")
        while time.monotonic() - started < seconds:
            n += 1
            value = str(n).encode()
            assert near.get(key) == str(n - 1).encode()  # (held: read from memory)
            client.set(key, value)
            t0 = time.perf_counter()
            while near.get(key) != value:
                time.sleep(0.0001)  # (a spinning reader would take a core from the regions)
            samples.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.01)
        near.close()
        row = {"writer": writer, "reader": reader,
               "one_way_ms": DELAYS_MS[frozenset((writer, reader))] if real else 0,
               **summary(samples)}
        out.append(row)
        print("near cache", row, flush=True)
    return out


def cost(regions, proxy, seconds: float) -> dict:
    """5k SET/s at Montreal, nobody reading: Frankfurt's CPU per write it applied,
    and the copies of each write Singapore received."""
    peer = regions["frankfurt"]
    cpu0 = cpu_seconds(peer.process.pid)
    applied0 = int(peer.client().info("replication")["replication_applied"])
    into_sin0 = proxy.received("singapore")
    stop, written = threading.Event(), [0]
    thread = load_thread(regions["montreal"], 5000, stop, written, prefix="cost")
    time.sleep(seconds)  # the load runs this long (a duration, not a wait for a condition)
    stop.set()
    thread.join()
    wait_until(lambda: caught_up(regions), 30, what="the streams to drain")
    applied = int(peer.client().info("replication")["replication_applied"]) - applied0
    return {"peer_cpu_us": (cpu_seconds(peer.process.pid) - cpu0) / applied * 1e6,
            "applied": applied, "written": written[0],
            "live_copies": (proxy.received("singapore") - into_sin0)
            / (written[0] * one_copy_bytes(b"cost:10000"))}


def caught_up(regions) -> bool:
    for region in regions.values():
        for peer in peer_infos(region).values():
            if peer["state"] != "live" or int(peer["lag_ops"]) != 0:
                return False
    return True


def wait_2(regions, count: int) -> dict:
    r = regions["montreal"].client()
    samples = []
    for i in range(count):
        r.set("waited", i)
        t0 = time.perf_counter()
        assert r.execute_command("WAIT", 2, 0) == 2
        samples.append((time.perf_counter() - t0) * 1000)
    return summary(samples)


def catch_up(regions, proxy, down_seconds: float, prefix: str) -> dict:
    keys = write_while_down(regions["singapore"], regions["montreal"].client(), down_seconds,
                            prefix, VALUE)
    wait_until(lambda: int(peer_infos(regions["frankfurt"])["montreal"]["lag_ops"]) == 0,
               60, what="frankfurt to have montreal's writes")
    received0 = proxy.received("singapore")
    took = time_catch_up(regions["singapore"], f"{prefix}:{keys - 1}")
    wait_until(lambda: caught_up(regions), 60, what="every stream live")
    copies = (proxy.received("singapore") - received0) / (keys * one_copy_bytes(
        f"{prefix}:100000".encode()))
    return {"keys": keys, "seconds": took, "rate": keys / took, "copies": copies}


def burst(regions, requests: int) -> dict:
    m = regions["montreal"]
    peak = [0]
    states = set()
    done = threading.Event()

    def sample():
        while not done.is_set():
            peers = peer_infos(m).values()
            peak[0] = max(peak[0], *(int(p["lag_ops"]) for p in peers))
            states.update(p["state"] for p in peers)
            time.sleep(0.02)
    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    subprocess.run(["redis-benchmark", "-p", str(m.port), "-t", "set", "-c", "50", "-d", "100",
                    "-r", "100000", "-n", str(requests), "-P", "16", "-q"],
                   capture_output=True, check=True, timeout=600)
    ended = time.monotonic()
    wait_until(lambda: caught_up(regions), 300, interval=0.01, what="the burst to drain")
    drained = time.monotonic()
    done.set()
    sampler.join()
    return {"requests": requests, "seconds": ended - started,
            "rate": requests / (ended - started), "peak_waiting": peak[0],
            "drain_seconds": drained - ended, "left_live": states != {"live"}}


def capped(regions, proxy, seconds: float) -> dict:
    """Montreal<->Singapore at 20 Mbit/s; Montreal writes 1 KB values at 3k/s
    (24 Mbit/s): Singapore falls behind, Frankfurt must not."""
    for name in ("montreal>singapore", "singapore>montreal"):
        proxy.command(f"cap {name} 20")
    m = regions["montreal"]
    stop, written = threading.Event(), [0]
    rss = [rss_bytes(m.process.pid)]
    behind = [0]
    thread = load_thread(m, 3000, stop, written, value=b"c" * 1000, prefix="capped")
    done = threading.Event()

    def sample():
        while not done.is_set():
            rss.append(rss_bytes(m.process.pid))
            behind[0] = max(behind[0], int(peer_infos(m)["singapore"]["lag_ops"]))
            time.sleep(0.1)
    sampler = threading.Thread(target=sample)
    sampler.start()
    samples = probe_lag(m, regions["frankfurt"], seconds, "probe:capped", 0.01)
    stop.set()
    thread.join()
    done.set()
    sampler.join()
    for name in ("montreal>singapore", "singapore>montreal"):
        proxy.command(f"cap {name} 0")
    wait_until(lambda: caught_up(regions), 300, what="singapore to catch up after the cap")
    return {"frankfurt": summary(samples), "rss_before": rss[0], "rss_max": max(rss),
            "singapore_behind_max": behind[0], "written": written[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--down-seconds", type=float, default=8.0)
    parser.add_argument("--burst", type=int, default=200_000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    work = scratch("geolru-wan-")
    master, proxy, regions = start(work)
    results = {"date": time.strftime("%Y-%m-%d")}
    try:
        results["near_loopback"] = invalidation_lags(regions, args.seconds, False)
        results["lag_loopback"] = lags(regions, 2.0, False)[:3]  # (1k SET/s: the same probes)
        results["wait_loopback"] = wait_2(regions, 200)
        print("WAIT 2 loopback", results["wait_loopback"], flush=True)
        results["catch_up_loopback"] = catch_up(regions, proxy, args.down_seconds, "near")
        print("catch-up loopback", results["catch_up_loopback"], flush=True)
        proxy.set_delays(True)
        results["lag"] = lags(regions, args.seconds, True)
        results["pubsub"] = pubsub_lags(regions, args.seconds)
        results["near"] = invalidation_lags(regions, args.seconds, True)
        results["cost"] = cost(regions, proxy, args.seconds)
        print("cost", results["cost"], flush=True)
        results["wait"] = wait_2(regions, 40)
        print("WAIT 2", results["wait"], flush=True)
        results["catch_up"] = catch_up(regions, proxy, args.down_seconds, "far")
        print("catch-up", results["catch_up"], flush=True)
        results["burst"] = burst(regions, args.burst)
        print("burst", results["burst"], flush=True)
        results["capped"] = capped(regions, proxy, args.seconds)
        print("capped", results["capped"], flush=True)
    finally:
        for daemon in [master, *regions.values()]:
            daemon.stop()
        proxy.close()
    print()
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def report(results: dict) -> str:
    """The figures, each against its target (issue: replication at real distances)."""
    farthest = 2 * max(DELAYS_MS.values())
    out = ["| link | one way | writes/s | lag p50 | lag p99 | lag max | target p99 | |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for x in results["lag"]:
        target = x["one_way_ms"] + 10
        ok = "ok" if x["rate"] < 5000 or x["p99"] <= target else "**missed**"
        out.append(f"| {x['writer']} → {x['reader']} | {x['one_way_ms']} ms | {x['rate']:,} "
                   f"| {x['p50']:.1f} ms | {x['p99']:.1f} ms | {x['max']:.1f} ms "
                   f"| ≤ {target} ms at 5k | {ok if x['rate'] == 5000 else ''} |")

    if results.get("pubsub"):
        replication = {(x["writer"], x["reader"]): x for x in results["lag"]
                       if x["rate"] == 1000}
        out += ["", "| pub/sub link | one way | delivery p50 | delivery p99 "
                "| replication p99 (1k SET/s) |", "|---|---:|---:|---:|---:|"]
        for x in results["pubsub"]:
            rep = replication.get((x["writer"], x["reader"]))
            out.append(f"| {x['writer']} → {x['reader']} | {x['one_way_ms']} ms "
                       f"| {x['p50']:.1f} ms | {x['p99']:.1f} ms "
                       f"| {rep['p99']:.1f} ms |" if rep else "| |")

    if results.get("near"):
        out += ["", "| near cache: a write, until the other end reads it | one way "
                "| p50 | p99 | replication p99 (1k SET/s) | goal: p99 ≤ replication + 2 ms |",
                "|---|---:|---:|---:|---:|---|"]
        for rows, lags_ in ((results.get("near_loopback", []), results.get("lag_loopback", [])),
                            (results["near"], [x for x in results["lag"] if x["rate"] == 1000])):
            replication = {(x["writer"], x["reader"]): x for x in lags_}
            for x in rows:
                rep = replication.get((x["writer"], x["reader"]))
                if rep is None:
                    continue
                ok = x["p99"] <= rep["p99"] + 2
                out.append(f"| {x['writer']} → {x['reader']} | {x['one_way_ms']} ms "
                           f"| {x['p50']:.1f} ms | {x['p99']:.1f} ms | {rep['p99']:.1f} ms "
                           f"| {'ok' if ok else '**missed**'} |")

    def line(figure, value, target, ok):
        return f"| {figure} | {value} | {target} | {'ok' if ok else '**missed**'} |"
    wait, loop = results["wait"], results["wait_loopback"]
    wait_target = farthest + COMMIT_INTERVAL_MS + 5
    slow, fast = results["catch_up"], results["catch_up_loopback"]
    cost, b, cap = results["cost"], results["burst"], results["capped"]
    out += ["", "| figure | measured | target | |", "|---|---:|---:|---|",
            line("`WAIT 2` p50 / p99, delays", f"{wait['p50']:.1f} / {wait['p99']:.1f} ms",
                 f"p50 ≤ {wait_target} ms", wait["p50"] <= wait_target),
            line("`WAIT 2` p50 / p99, loopback", f"{loop['p50']:.1f} / {loop['p99']:.1f} ms",
                 "p50 ≤ 15 ms", loop["p50"] <= 15),
            line("catch-up, loopback", f"{fast['rate']:,.0f} keys/s", "", True),
            line("catch-up, delays", f"{slow['rate']:,.0f} keys/s "
                 f"({slow['rate'] / fast['rate']:.0%})", "≥ 80% of loopback",
                 slow["rate"] >= 0.8 * fast["rate"]),
            line("copies of a write received, catch-up (delays / loopback)",
                 f"{slow['copies']:.2f} / {fast['copies']:.2f}", "≤ 1.2",
                 max(slow["copies"], fast["copies"]) <= 1.2),
            line("copies of a write received, live at 5k/s", f"{cost['live_copies']:.2f}",
                 "≤ 1.2", cost["live_copies"] <= 1.2),
            line("peer CPU per applied write, 5k/s", f"{cost['peer_cpu_us']:.1f} µs",
                 "≤ 12 µs", cost["peer_cpu_us"] <= 12),
            line(f"burst of {b['requests']:,} SET (P16, {b['rate']:,.0f}/s): most waiting, "
                 "drained in", f"{b['peak_waiting']:,} writes, {b['drain_seconds']:.2f} s",
                 "stays live", not b["left_live"]),
            line("Montreal–Singapore at 20 Mbit/s: Montreal → Frankfurt lag p99",
                 f"{cap['frankfurt']['p99']:.1f} ms", "≤ 55 ms",
                 cap["frankfurt"]["p99"] <= 55),
            line("... Montreal's memory (RSS) before → most",
                 f"{cap['rss_before'] / 2**20:.0f} → {cap['rss_max'] / 2**20:.0f} MB",
                 "bounded", cap["rss_max"] - cap["rss_before"] < 200 << 20)]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
