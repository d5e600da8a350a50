"""LOCATE: end-to-end throughput and latency of a master over TCP, and the
nearest-region computation against a naive per-query geopandas distance.

    .venv/bin/python bench/locate.py [--seconds 3]

For 10, 100 and 1,000 registered regions (random positions): LOCATE/s with 4
connections pipelining 200 requests each; p50/p99 of single requests on one
connection; and in-process, ``NearestIndex.nearest`` (once the query's cell is
known, and on the cell's first query) vs ``GeoSeries.distance(...).idxmin()``
on the same frame.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import scratch  # noqa: E402

from geolru.master.geo import NearestIndex, naive_nearest, regions_frame  # noqa: E402
from support import master_daemon  # noqa: E402

PIPELINE = 200
CONNECTIONS = 4


def random_points(rng, count):
    return [(rng.uniform(-89, 89), rng.uniform(-180, 180)) for _ in range(count)]


def register(port: int, count: int, rng) -> None:
    with socket.create_connection(("127.0.0.1", port)) as s:
        lines = [f"REGISTER r{i:04d} 127.0.0.1 {10000 + i} 0 {lat:.4f} {lon:.4f}\r\n"
                 for i, (lat, lon) in enumerate(random_points(rng, count))]
        s.sendall("".join(lines).encode())
        data = b""
        while data.count(b"OK registered") < count:
            data += s.recv(1 << 20)


def read_ends(sock, count: int, buffer: bytes) -> bytes:
    while buffer.count(b"END\r\n") < count:
        buffer += sock.recv(1 << 20)
    # keep what follows the count-th END
    index = -1
    for _ in range(count):
        index = buffer.index(b"END\r\n", index + 1)
    return buffer[index + 5:]


def throughput(port: int, seconds: float, rng) -> float:
    done = [0] * CONNECTIONS
    stop = time.monotonic() + seconds

    def worker(slot):
        points = random_points(random.Random(slot), PIPELINE)
        request = "".join(f"LOCATE {lat:.3f} {lon:.3f}\r\n" for lat, lon in points).encode()
        with socket.create_connection(("127.0.0.1", port)) as s:
            rest = b""
            while time.monotonic() < stop:
                s.sendall(request)
                rest = read_ends(s, PIPELINE, rest)
                done[slot] += PIPELINE

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def latencies(port: int, count: int, rng) -> tuple[float, float]:
    samples = []
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for lat, lon in random_points(rng, count):
            t = time.perf_counter()
            s.sendall(f"LOCATE {lat:.3f} {lon:.3f}\r\n".encode())
            read_ends(s, 1, b"")
            samples.append(time.perf_counter() - t)
    samples.sort()
    return samples[len(samples) // 2] * 1e6, samples[int(len(samples) * 0.99)] * 1e6


def computation(count: int, rng) -> tuple[float, float, float]:
    """µs per query: NearestIndex.nearest once its cells are known (a master's steady
    state: at most 16,200 cells, each found on its first query); its first query
    in a cell; the naive geopandas way."""
    points = random_points(rng, count)
    frame = regions_frame([{"name": f"r{i}", "latitude": a, "longitude": o}
                           for i, (a, o) in enumerate(points)])
    index = NearestIndex(frame)
    queries = random_points(rng, 1000)

    def per_query(find) -> float:
        t = time.perf_counter()
        for lat, lon in queries:
            find(frame, lat, lon)
        return (time.perf_counter() - t) / len(queries) * 1e6

    def fast(_, lat, lon):
        return index.nearest(lat, lon)

    first = per_query(fast)  # nearly every query in a cell of its own
    return per_query(fast), first, per_query(naive_nearest)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # geopandas: "geographic CRS", we know
    rng = random.Random(42)
    rows = []
    for count in (10, 100, 1000):
        work = scratch("geolru-locate-")
        master = master_daemon(work, heartbeat_timeout=3600).start()
        try:
            register(master.port, count, rng)
            rate = throughput(master.port, args.seconds, rng)
            p50, p99 = latencies(master.port, 2000, rng)
        finally:
            master.stop()
        fast, first, naive = computation(count, rng)
        rows.append((count, rate, p50, p99, fast, first, naive))
        print(f"{count} regions: {rate:,.0f} LOCATE/s, p50 {p50:.0f} µs, p99 {p99:.0f} µs; "
              f"nearest {fast:.1f} µs (first in a cell {first:.1f} µs) vs naive geopandas "
              f"{naive:.1f} µs", flush=True)
    print(f"\n{time.strftime('%Y-%m-%d')}; {CONNECTIONS} connections x {PIPELINE} pipelined\n")
    print("| regions | LOCATE/s (TCP) | p50 | p99 | nearest (in-process) | first in a cell "
          "| naive geopandas | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count, rate, p50, p99, fast, first, naive in rows:
        print(f"| {count:,} | {rate:,.0f} | {p50:.0f} µs | {p99:.0f} µs | {fast:.1f} µs | "
              f"{first:.1f} µs | {naive:.1f} µs | {naive / fast:.1f}× |")
    if args.json:
        Path(args.json).write_text(json.dumps([dict(zip(
            ("regions", "locate_per_s", "p50_us", "p99_us", "nearest_us", "first_in_cell_us",
             "naive_us"), row,
            strict=True)) for row in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
