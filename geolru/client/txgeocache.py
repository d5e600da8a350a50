"""The Twisted client: ``GeoCache``'s surface, returning Deferreds.

    cache = TxGeoCache(reactor, master="127.0.0.1:7000", near=(45.50, -73.57))
    await cache.set("k", "v", ttl=60)
    value = await cache.get("k")

Same behaviour as ``geolru.client.geocache.GeoCache``: locate the nearest regions, send
each command to the first that answers, move on to the next on a connection
error or a timeout.  One connection per region, commands pipelined on it.

A region in cluster mode answers a key of another shard ``-MOVED slot host:port``:
the client then learns the region's slots (``CLUSTER SLOTS``), sends each command
to the shard of its first key, and fails over per shard (a shard that does not
answer sends that command to the next region).
"""

from __future__ import annotations

import json
from collections import deque

import hiredis
from twisted.internet import defer, error
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.protocols.basic import LineReceiver

from geolru.client.geo import GeoMethods
from geolru.client.geocache import DEFAULT_MASTER, LOCATE_COUNT, NoRegionAvailable, RegionAddress
from geolru.client.hashes import HashMethods
from geolru.client.lists import ListMethods
from geolru.client.sets import SetMethods, ZSetMethods
from geolru.cluster import masterwire
from geolru.common.endpoints import host_port, no_delay
from geolru.model.slots import key_slot


def syncing(error) -> bool:
    """A region's ``-LOADING`` answer: it is catching up; another region serves."""
    return str(error).startswith("LOADING")


class ResponseError(Exception):
    """The region answered with an error reply (``-ERR …``)."""


def encode_command(args) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, (int, float)):
            arg = repr(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class RespClientProtocol(Protocol):
    """Pipelined RESP2 requests; each ``send`` gets its reply's Deferred."""

    def connectionMade(self):
        no_delay(self.transport)
        self._reader = hiredis.Reader()
        self._waiting: deque[defer.Deferred] = deque()

    def send(self, *args) -> defer.Deferred:
        d = defer.Deferred()
        self._waiting.append(d)
        self.transport.write(encode_command(args))
        return d

    def dataReceived(self, data: bytes):
        self._reader.feed(data)
        while True:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError as e:
                self.transport.abortConnection()
                self._fail_all(error.ConnectionLost(f"bad reply: {e}"))
                return
            if reply is False:
                return
            d = self._waiting.popleft()
            if isinstance(reply, hiredis.ReplyError):
                d.errback(ResponseError(str(reply)))
            else:
                d.callback(reply)

    def connectionLost(self, reason=None):
        self._fail_all(error.ConnectionLost(str(reason.value) if reason else "closed"))

    def _fail_all(self, exception):
        waiting, self._waiting = self._waiting, deque()
        for d in waiting:
            d.errback(exception)


class LocateProtocol(LineReceiver):
    delimiter = b"\n"

    def __init__(self, line: bytes):
        self.line = line
        self.lines: list[str] = []
        self.done = defer.Deferred()

    def connectionMade(self):
        self.sendLine(self.line)

    def lineReceived(self, line: bytes):
        text = line.decode(errors="replace").rstrip("\r")
        if text == "END":
            self.transport.loseConnection()
            self.done.callback(self.lines)
        elif text.startswith("ERR"):
            self.transport.loseConnection()
            self.done.errback(LookupError(text[4:]))
        else:
            self.lines.append(text)


CONNECTION_ERRORS = (error.ConnectError, error.ConnectionLost, error.ConnectionDone,
                     defer.TimeoutError, defer.CancelledError)


class TxGeoCache(HashMethods, SetMethods, ZSetMethods, GeoMethods, ListMethods):
    def __init__(self, reactor, master: str | None = DEFAULT_MASTER,
                 near: tuple[float, float] = (0, 0), regions: list[str] | None = None,
                 timeout: float = 2.0, serializer=json):
        self.reactor = reactor
        self.masters = master or ""
        self.near = near
        self.timeout = timeout
        self.serializer = serializer
        self.regions = [RegionAddress(r, *host_port(r, 7001)) for r in regions or []]
        self.current: RegionAddress | None = None
        self._connections: dict[tuple[str, int], RespClientProtocol] = {}  # by address
        self._slots: dict[str, list] = {}  # region name -> slot -> (host, port): cluster mode

    # ------------------------------------------------------------ regions

    def refresh(self) -> defer.Deferred:
        """Locate again; fires with True if a master answered with regions."""
        return defer.Deferred.fromCoroutine(self._refresh())

    async def _refresh(self) -> bool:
        lat, lon = self.near
        for master in filter(None, self.masters.split(",")):
            host, port = host_port(master, 7000)
            protocol = LocateProtocol(f"LOCATE {lat} {lon} {LOCATE_COUNT}".encode())
            try:
                endpoint = TCP4ClientEndpoint(self.reactor, host, port, timeout=self.timeout)
                await connectProtocol(endpoint, protocol)
                lines = await protocol.done.addTimeout(self.timeout, self.reactor)
            except (*CONNECTION_ERRORS, LookupError):
                continue
            found = [RegionAddress(f.name, f.host, f.port, f.distance_km, f.seeds)
                     for f in map(masterwire.parse_located, lines)]
            if found:
                self.regions = found
                return True
        return False

    async def _connection(self, address) -> RespClientProtocol:
        """The connection to ``address``: a region, or ``(host, port)`` of a shard."""
        if isinstance(address, RegionAddress):
            address = (address.host, address.port)
        protocol = self._connections.get(address)
        if protocol is not None and protocol.transport is not None and \
                protocol.transport.connected:
            return protocol
        endpoint = TCP4ClientEndpoint(self.reactor, *address, timeout=self.timeout)
        protocol = await connectProtocol(endpoint, RespClientProtocol())
        self._connections[address] = protocol
        return protocol

    def _address(self, region: RegionAddress, args) -> tuple[str, int]:
        """Where ``args`` go in ``region``: the shard of its first key, once the region's
        slots are known (cluster mode), else the region's address."""
        slots = self._slots.get(region.name)
        if slots is not None and len(args) > 1:
            key = args[1] if isinstance(args[1], bytes) else str(args[1]).encode()
            owner = slots[key_slot(key)]
            if owner is not None:
                return owner
        return (region.host, region.port)

    async def _learn_slots(self, region: RegionAddress, address) -> None:
        """Read the region's slots from one of its shards (``CLUSTER SLOTS``)."""
        protocol = await self._connection(address)
        rows = await protocol.send("CLUSTER", "SLOTS").addTimeout(self.timeout, self.reactor)
        slots = [None] * 16384
        for low, high, node, *_ in rows:
            owner = (node[0].decode(), int(node[1]))
            slots[low:high + 1] = [owner] * (high - low + 1)
        self._slots[region.name] = slots

    async def _send(self, region: RegionAddress, args):
        """``args`` to ``region``, following ``-MOVED`` to the shard of the key."""
        if region.seeds and region.name not in self._slots:  # cluster mode, first use
            await self._learn_slots(region, (region.host, region.port))
        address = self._address(region, args)
        for _ in range(3):
            protocol = await self._connection(address)
            try:
                return await protocol.send(*args).addTimeout(self.timeout, self.reactor)
            except ResponseError as e:
                if not str(e).startswith("MOVED "):
                    raise
                _, _, target = str(e).split()
                host, _, port = target.rpartition(":")
                address = (host, int(port))
                await self._learn_slots(region, address)
        raise ResponseError(f"too many redirections for {args[0]!r} in {region.name}")

    def close(self):
        for protocol in self._connections.values():
            if protocol.transport is not None:
                protocol.transport.loseConnection()
        self._connections.clear()

    # ------------------------------------------------------------ commands

    def _drop(self, address) -> None:
        """Forget the connection to ``address`` (it failed), closing it if it is open."""
        if isinstance(address, RegionAddress):
            address = (address.host, address.port)
        dead = self._connections.pop(address, None)
        if dead is not None and dead.transport is not None:
            dead.transport.abortConnection()

    def execute(self, *args) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._execute(args))

    async def _execute(self, args):
        if not self.regions:
            await self._refresh()
        errors = []
        tried = set()  # each region once, even if the master names it again
        for attempt in range(2):
            for region in list(self.regions):
                if region in tried:
                    continue
                tried.add(region)
                try:
                    reply = await self._send(region, args)
                except CONNECTION_ERRORS as e:
                    errors.append(f"{region}: {e}")
                    self._drop(self._address(region, args))
                    continue
                except ResponseError as e:
                    if syncing(e):  # the next region answers
                        errors.append(f"{region}: {e}")
                        continue
                    raise
                self.current = region
                return reply
            if attempt == 0 and not await self._refresh():
                break
        raise NoRegionAvailable("no region answered: " + "; ".join(errors))

    def transaction(self, *commands) -> defer.Deferred:
        """Run ``commands`` (each a sequence of arguments) as one MULTI/EXEC on the
        nearest region that answers: all of them or none, replicated as one unit (in
        cluster mode their keys share a slot, on the shard of the first one).
        Fires with their replies (an error reply as a ``ResponseError`` in the list).

        Failover happens only while connecting: once MULTI is sent, a lost
        connection fails the Deferred (EXEC may or may not have run)."""
        return defer.Deferred.fromCoroutine(self._transaction(commands))

    async def _transaction(self, commands):
        if not self.regions:
            await self._refresh()
        errors = []
        for region in list(self.regions):
            address = self._address(region, commands[0] if commands else ())
            try:
                if region.seeds and region.name not in self._slots:
                    await self._learn_slots(region, (region.host, region.port))
                    address = self._address(region, commands[0] if commands else ())
                protocol = await self._connection(address)
            except CONNECTION_ERRORS as e:
                errors.append(f"{region}: {e}")
                self._drop(address)
                continue
            self.current = region
            sent = [protocol.send("MULTI"), *(protocol.send(*c) for c in commands),
                    protocol.send("EXEC")]
            replies = await defer.gatherResults(
                [d.addErrback(lambda f: f.value) for d in sent]).addTimeout(
                    self.timeout, self.reactor)
            if any(isinstance(r, ResponseError) and syncing(r)
                   for r in replies):  # nothing ran there; the next region
                errors.append(f"{region}: region is syncing")
                continue
            if isinstance(replies[-1], Exception):
                raise replies[-1]
            return [ResponseError(str(r)) if isinstance(r, hiredis.ReplyError) else r
                    for r in replies[-1]]
        raise NoRegionAvailable("no region answered: " + "; ".join(errors))

    def _then(self, deferred, function):
        return deferred.addCallback(function)

    def get(self, key):
        return self.execute("GET", key)

    def set(self, key, value, ttl: float | None = None) -> defer.Deferred:
        args = ["SET", key, value] + (["PX", int(ttl * 1000)] if ttl is not None else [])
        return self.execute(*args).addCallback(lambda reply: reply == b"OK")

    def delete(self, *keys):
        return self.execute("DEL", *keys)

    def expire(self, key, ttl: float):
        return self.execute("PEXPIRE", key, int(ttl * 1000)).addCallback(lambda n: n == 1)

    def ttl(self, key):
        return self.execute("PTTL", key).addCallback(
            lambda ms: None if ms == -1 else (-2 if ms == -2 else ms / 1000))

    def mget(self, *keys):
        return self.execute("MGET", *keys)

    def mset(self, mapping: dict):
        args = [x for pair in mapping.items() for x in pair]
        return self.execute("MSET", *args).addCallback(lambda reply: reply == b"OK")

    def incr(self, key, amount: int = 1):
        return self.execute("INCRBY", key, amount)

    def set_json(self, key, value, ttl: float | None = None):
        return self.set(key, self.serializer.dumps(value), ttl=ttl)

    def get_json(self, key):
        return self.get(key).addCallback(
            lambda raw: None if raw is None else self.serializer.loads(raw))
