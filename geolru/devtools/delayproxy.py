"""A TCP proxy that makes loopback look like a long-distance link.

Each ``Link`` listens on a port and forwards every connection to an upstream
address, delaying the bytes in each direction by a one-way delay and, with a
bandwidth cap, releasing them no faster than the cap (what waits is queued
in the proxy, as in a router's buffer).  A link can be *cut* (every connection
dropped, new ones refused: a partition) and *healed*; its delay and cap can
change while it runs; it counts the bytes it carried each way.

Tests start a ``DelayProxy`` in a thread of their own process; benchmarks run it
as a process, so that it does not share an interpreter with the load they make::

    python -m geolru.devtools.delayproxy \
        NAME=LISTEN_PORT:UPSTREAM_HOST:UPSTREAM_PORT:DELAY_MS[:MBIT] ...

It prints ``ready`` once every link listens, then takes one command per line on
stdin and answers one JSON line: ``stats``, ``cut NAME``, ``heal NAME``,
``delay NAME MS``, ``cap NAME MBIT`` (0: none).
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import sys
import threading

import attrs

CHUNK = 1 << 16
BUFFER = 64 << 20  # bytes a direction holds before it stops reading (backpressure)


@attrs.define(eq=False)
class Direction:
    """One direction of one connection: read, hold ``delay``, pace to the cap, write."""

    link: Link
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    counter: str  # "up" (client -> upstream) or "down"
    _queue: collections.deque = attrs.field(factory=collections.deque)
    _queued: int = 0
    _more: asyncio.Event = attrs.field(factory=asyncio.Event)
    _room: asyncio.Event = attrs.field(factory=asyncio.Event)

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await self.reader.read(CHUNK)
                if not data:
                    break
                self._queue.append((loop.time(), data))
                self._queued += len(data)
                self._more.set()
                while self._queued > BUFFER:
                    self._room.clear()
                    await self._room.wait()
        except (ConnectionError, OSError):
            pass
        self._queue.append((loop.time(), b""))  # end of stream, after what precedes it
        self._more.set()

    async def write(self) -> None:
        loop = asyncio.get_running_loop()
        link = self.link
        free_at = 0.0  # when the capped link has sent what it was given
        try:
            while True:
                while not self._queue:
                    self._more.clear()
                    await self._more.wait()
                read_at, data = self._queue.popleft()
                due = read_at + link.delay
                if link.bits_per_second:
                    free_at = max(free_at, due) + len(data) * 8 / link.bits_per_second
                    due = free_at
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                self._queued -= len(data)
                self._room.set()
                self.writer.write(data)
                link.bytes[self.counter] += len(data)
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        self.writer.close()


@attrs.define(eq=False)
class Link:
    """One listening port forwarding to ``upstream`` (host, port)."""

    name: str
    upstream: tuple
    delay: float = 0.0  # seconds, each way
    bits_per_second: float = 0.0  # 0: no cap
    listen_port: int = 0
    cut_off: bool = False
    bytes: dict = attrs.field(factory=lambda: {"up": 0, "down": 0})
    connections: int = 0
    _server: asyncio.AbstractServer | None = None
    _writers: set = attrs.field(factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1",
                                                  self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def _accepted(self, reader, writer) -> None:
        if self.cut_off:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        for w in (writer, up_writer):
            _no_delay(w)
        directions = (Direction(self, reader, up_writer, "up"),
                      Direction(self, up_reader, writer, "down"))
        try:
            await asyncio.gather(*(d.read() for d in directions),
                                 *(d.write() for d in directions))
        except asyncio.CancelledError:  # the proxy is closing
            pass
        self._writers.difference_update((writer, up_writer))

    def cut(self) -> None:
        self.cut_off = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def heal(self) -> None:
        self.cut_off = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def stats(self) -> dict:
        return {"delay_ms": self.delay * 1000, "mbit": self.bits_per_second / 1e6,
                "connections": self.connections, "cut": self.cut_off, **self.bytes}


def _no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class DelayProxy:
    """Links served by an event loop in a thread of their own (for tests)."""

    def __init__(self):
        self.links: dict[str, Link] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="delayproxy")
        self._thread.start()

    def _call(self, coroutine_or_function, *args):
        async def run():
            result = coroutine_or_function(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def add(self, name: str, upstream_port: int, delay_ms: float = 0.0, mbit: float = 0.0,
            upstream_host: str = "127.0.0.1") -> Link:
        link = Link(name, (upstream_host, upstream_port), delay_ms / 1000, mbit * 1e6)
        self._call(link.start)
        self.links[name] = link
        return link

    def cut(self, name: str) -> None:
        self._call(self.links[name].cut)

    def heal(self, name: str) -> None:
        self._call(self.links[name].heal)

    def stats(self) -> dict:
        return self._call(lambda: {name: link.stats() for name, link in self.links.items()})

    def close(self) -> None:
        for link in self.links.values():
            self._call(link.close)
        self._call(_cancel_tasks)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


async def _cancel_tasks() -> None:
    """End the connections' tasks, so none is destroyed pending."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def parse_link(text: str) -> Link:
    """``NAME=LISTEN_PORT:UPSTREAM_HOST:UPSTREAM_PORT:DELAY_MS[:MBIT]``."""
    name, _, spec = text.partition("=")
    parts = spec.split(":")
    if not name or len(parts) not in (4, 5):
        raise ValueError(f"{text!r}: expected NAME=LISTEN_PORT:HOST:PORT:DELAY_MS[:MBIT]")
    mbit = float(parts[4]) if len(parts) == 5 else 0.0
    return Link(name, (parts[1], int(parts[2])), float(parts[3]) / 1000, mbit * 1e6,
                int(parts[0]))


async def _serve(links: list[Link]) -> None:
    for link in links:
        await link.start()
    by_name = {link.name: link for link in links}
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        words = line.split()
        try:
            if words == ["stats"]:
                answer = {name: link.stats() for name, link in by_name.items()}
            elif len(words) == 2 and words[0] in ("cut", "heal"):
                getattr(by_name[words[1]], words[0])()
                answer = {"ok": True}
            elif len(words) == 3 and words[0] == "delay":
                by_name[words[1]].delay = float(words[2]) / 1000
                answer = {"ok": True}
            elif len(words) == 3 and words[0] == "cap":
                by_name[words[1]].bits_per_second = float(words[2]) * 1e6
                answer = {"ok": True}
            else:
                answer = {"error": f"unknown command {line.strip()!r}"}
        except (KeyError, ValueError) as e:
            answer = {"error": str(e)}
        print(json.dumps(answer), flush=True)
    for link in links:
        await link.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    try:
        links = [parse_link(arg) for arg in argv]
    except ValueError as e:
        print(f"delayproxy: {e}", file=sys.stderr)
        return 2
    asyncio.run(_serve(links))
    return 0


if __name__ == "__main__":
    sys.exit(main())
