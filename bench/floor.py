"""The least a Twisted Redis server costs here, against redis-server and a region.

What any Redis server written as a Twisted protocol costs per request on this
machine, measured in the same run as redis-server and a region.

    .venv/bin/python bench/floor.py [--requests 200000] [--repeats 3]

The bare server (``--serve PORT``, started by this script) is the least a Twisted
Redis server can be: hiredis parses the requests, ``SET`` and ``GET`` go to a
``dict``, the replies of one read are joined and sent straight to the socket when
nothing is queued (as the region sends them).  No expiry, no recency, no store, no
replication, no statistics.  ``redis-benchmark -c 50 -d 100 -r 100000`` drives
each server at pipeline depths 1 and 16; the region runs alone, with no peer.

What it answers: how far the region's own work is from the interpreter's and the
reactor's floor, and which ratios to redis-server no Twisted server reaches here
(docs/store.md, step 5).
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

from servers import redis_benchmark, scratch  # noqa: E402

from support import free_port, redis_server, region_daemon, wait_until  # noqa: E402


def serve(port: int) -> None:
    """Run the bare server on loopback ``port`` until killed."""
    import hiredis
    from twisted.internet import reactor
    from twisted.internet.protocol import Factory, Protocol

    data: dict[bytes, bytes] = {}
    ok, null = b"+OK\r\n", b"$-1\r\n"

    class Bare(Protocol):
        def connectionMade(self):
            self.transport.setTcpNoDelay(True)  # (as the region and redis-server)
            self.reader = hiredis.Reader()
            self.sock = self.transport.socket

        def dataReceived(self, chunk):
            reader = self.reader
            reader.feed(chunk)
            replies = []
            command = reader.gets()
            while command is not False:
                name = command[0].lower()
                if name == b"set":
                    data[command[1]] = command[2]
                    replies.append(ok)
                elif name == b"get":
                    value = data.get(command[1])
                    replies.append(null if value is None
                                   else b"$%d\r\n%s\r\n" % (len(value), value))
                else:  # (redis-benchmark asks CONFIG GET at its start)
                    replies.append(b"*0\r\n")
                command = reader.gets()
            if not replies:  # (a request cut in two: the rest comes)
                return
            out = b"".join(replies)
            transport = self.transport
            if not transport.dataBuffer and not transport._tempDataLen:
                try:
                    sent = self.sock.send(out)
                except BlockingIOError:
                    sent = 0
                out = out[sent:]
            if out:
                transport.write(out)

    reactor.listenTCP(port, Factory.forProtocol(Bare), interface="127.0.0.1")
    reactor.run()


def measure(name: str, port: int, pid: int, requests: int, repeats: int,
            results: dict) -> None:
    for pipeline in (1, 16):
        for test in ("set", "get"):
            figure = f"{test.upper()} P{pipeline}"
            runs = [redis_benchmark(port, test, pipeline, requests, {name: pid})
                    for _ in range(repeats)]
            ops = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1][name] for r in runs)
            results.setdefault(name, {})[figure] = {"ops": ops, "cpu_us": cpu}
            print(f"{name:8} {figure:8} {ops:>10,.0f} ops/s  {cpu:5.1f} µs CPU/request",
                  flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3,
                        help="redis-benchmark runs per figure; the median is kept")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    subprocess.run([str(ROOT / "scripts" / "ensure-redis-server")], check=True)
    work = scratch("geolru-floor-")
    results: dict = {}
    redis = redis_server(work / "redis", "--appendonly", "yes", "--appendfsync", "everysec")
    region = region_daemon(work / "region", name="floor")
    port = free_port()
    bare = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        wait_until(lambda: _answers(port), 10, what="the bare server to listen")
        measure("bare", port, bare.pid, args.requests, args.repeats, results)
        for name, daemon in (("redis", redis), ("region", region)):
            daemon.start()
            measure(name, daemon.port, daemon.process.pid, args.requests, args.repeats,
                    results)
            daemon.stop()
    finally:
        bare.kill()
        bare.wait()
        redis.stop()
        region.stop()
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"{platform.machine()}, Python {platform.python_version()}\n")
    print("| figure | redis-server | bare Twisted | ratio | region | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for figure in ("SET P1", "GET P1", "SET P16", "GET P16"):
        r, b, g = (results[n][figure] for n in ("redis", "bare", "region"))
        print(f"| {figure} ops/s | {r['ops']:,.0f} | {b['ops']:,.0f} | "
              f"{b['ops'] / r['ops']:.2f}× | {g['ops']:,.0f} | {g['ops'] / r['ops']:.2f}× |")
    for figure in ("SET P1", "GET P1", "SET P16", "GET P16"):
        r, b, g = (results[n][figure]["cpu_us"] for n in ("redis", "bare", "region"))
        print(f"| {figure} CPU µs/request | {r:.1f} | {b:.1f} | | {g:.1f} | |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _answers(port: int) -> bool:
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"*2\r\n$3\r\nGET\r\n$1\r\nx\r\n")
            return s.recv(16) == b"$-1\r\n"
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
