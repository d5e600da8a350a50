"""A region: the client port's protocol glue and the service that wires it all.

``RegionProtocol`` only moves bytes: the parser (``geolru.protocols``) turns
them into commands, the command table (``geolru.commands``) turns commands
into replies.  ``RegionService`` owns the keyspace, the store, the client
port and the housekeeping loop.
"""

from __future__ import annotations

import itertools
import os

from twisted.application.service import MultiService, Service
from twisted.internet import tcp
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from geolru.cache import LRUCache
from geolru.commands import CommandTable, Session
from geolru.config import RegionConfig
from geolru.endpoints import listen_address, no_delay
from geolru.keyspace import Keyspace
from geolru.membership import MasterLinks, Membership, Registration
from geolru.protected import from_loopback, listens_beyond_loopback, refusal
from geolru.protocols import RequestParser
from geolru.replication import Replication
from geolru.services import ListeningService, PeriodicService, quiet_site
from geolru.stats import RATE_INTERVAL
from geolru.store import Store

HOUSEKEEPING_INTERVAL = 0.1  # seconds
EXPIRE_BATCH = 1000  # keys removed per tick at most
IDLE_BATCH = 5000  # cache entries dropped per tick at most
EVICTION_LOG_INTERVAL = 10.0  # seconds between log lines summing up evictions
housekeeping_log = Logger(namespace="geolru.housekeeping")


class RegionProtocol(Protocol):
    """One client connection: RESP2 or inline commands in, replies out."""

    session: Session

    def connectionMade(self):
        factory = self.factory
        no_delay(self.transport)
        self._paused = False
        self._waiting = None  # the Deferred reply of a blocking command (WAIT)
        if factory.protected and not from_loopback(self.transport.getPeer()):
            self.session = None
            factory.connections.rejected += 1
            self.transport.write(b"-DENIED %s\r\n" % refusal(
                "this geolru region", "requirepass").encode())
            self.transport.loseConnection()
            return
        if factory.connections.connected >= factory.maxclients:
            self.session = None
            factory.connections.rejected += 1
            self.transport.write(b"-ERR max number of clients reached\r\n")
            self.transport.loseConnection()
            return
        # the transport pauses us when its send buffer fills: we stop reading, so a
        # client that does not read its replies stops being served (TCP backpressure)
        self.transport.registerProducer(self, True)
        peer = self.transport.getPeer()
        address = f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '')}"
        self.session = Session(id=next(factory.ids), address=address,
                               created=factory.clock.seconds())
        self._parser = RequestParser(factory.table.max_bulk_len)
        self._waiting = None  # the Deferred reply of a blocking command (WAIT)
        self._backlog: list = []  # commands that arrived while it blocks
        self._execute = factory.table.execute
        self._stats = factory.table.stats
        # plain TCP: replies go straight to the socket when nothing is queued (below)
        self._socket = self.transport.socket if isinstance(self.transport, tcp.Connection) \
            else None
        factory.connections.connected += 1
        factory.connections.received += 1

    def dataReceived(self, data: bytes):
        if self.session is None:  # refused (protected mode, maxclients): closing
            return
        self._stats.net_input_bytes += len(data)
        parser = self._parser
        commands = parser.feed(data)
        if self._waiting is not None:  # a WAIT is blocking this connection: queue
            self._backlog.extend(commands)
            return
        if len(commands) == 1 and parser.error is None:
            reply = self._execute(self.session, commands[0])
            if type(reply) is bytes:
                self._send(reply)
                if self.session.closing:
                    self.transport.loseConnection()
                elif self._paused:
                    self._check_output()
                return
        self._run(commands, [])

    def _run(self, commands, replies):
        session = self.session
        execute = self._execute
        for i, command in enumerate(commands):
            reply = execute(session, command) if type(command) is list else command
            if type(reply) is not bytes:  # a Deferred (WAIT): the rest waits for it
                if replies:
                    self._send(b"".join(replies))
                self._waiting = reply
                self.factory.connections.blocked += 1
                self._backlog = commands[i + 1:]
                reply.addCallback(self._resume)
                return
            replies.append(reply)
            if session.closing:
                break
        parser = self._parser
        if parser.error is not None and not session.closing:
            replies.append(self._stats.error(parser.error.reply()))
            session.closing = True
        if replies:
            self._send(b"".join(replies))
        if session.closing:
            self.transport.loseConnection()
        elif self._paused:
            self._check_output()

    def _send(self, data: bytes):
        """Write ``data``, straight to the socket when the transport has nothing queued.

        A plain ``transport.write`` makes the reactor register for writability and
        send on its next turn (two ``epoll_ctl`` calls and a loop iteration per
        reply): most of the cost of a request at pipeline depth 1.
        """
        self._stats.net_output_bytes += len(data)
        transport = self.transport
        sock = self._socket
        if sock is not None and not transport.dataBuffer and not transport._tempDataLen:
            try:
                sent = sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:  # let the transport see and report the error
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)

    def _resume(self, reply: bytes):
        self._unblock()
        backlog, self._backlog = self._backlog, []
        if self.transport.connected:
            self._run(backlog, [reply])

    def _unblock(self) -> None:
        if self._waiting is not None:
            self._waiting = None
            self.factory.connections.blocked -= 1

    def connectionLost(self, reason=None):
        self._unblock()
        if self.session is not None:
            self.factory.connections.connected -= 1

    # ------------------------------------------------------------ IPushProducer

    def pauseProducing(self):
        self._paused = True
        self.transport.stopReading()
        self._check_output()

    def resumeProducing(self):
        self._paused = False
        self.transport.startReading()

    def stopProducing(self):
        pass

    def _check_output(self):
        """Close a connection whose unread replies passed ``client_output_limit``."""
        transport = self.transport
        pending = len(getattr(transport, "dataBuffer", b"")) + getattr(
            transport, "_tempDataLen", 0)
        if pending > self.factory.output_limit:
            self.factory.log.warn(
                "closing client {address}: {n} bytes of replies unread (client_output_limit)",
                address=self.session.address, n=pending)
            transport.abortConnection()


class RegionFactory(Factory):
    noisy = False
    protocol = RegionProtocol
    log = Logger()

    def __init__(self, table: CommandTable, clock, maxclients: int = 10000,
                 output_limit: int = 256 * 1024 * 1024, protected: bool = False):
        self.table = table
        self.protected = protected  # only loopback clients: beyond it, no requirepass
        self.connections = table.connections  # the counters INFO shows: kept here
        self.clock = clock
        self.maxclients = maxclients
        self.output_limit = output_limit
        self.ids = itertools.count(1)


def housekeeping(keyspace: Keyspace, clock, tombstone_horizon=lambda: None) -> PeriodicService:
    """The reactor-scheduled task that removes expired keys, idle entries and the
    tombstones replication says no older write can reach (``tombstone_horizon``).

    Each tick does bounded work (``EXPIRE_BATCH`` keys from the store's
    deadline index, ``IDLE_BATCH`` entries from the LRU's cold end), so it
    never scans the keyspace and never holds the reactor for long.
    """
    cache = keyspace.cache
    reported = {"at": clock.seconds(), "evictions": 0, "expired": 0}

    def tick():
        keyspace.expire_due(EXPIRE_BATCH)
        cache.evict_idle(IDLE_BATCH)
        keyspace.collect_tombstones(tombstone_horizon())
        now = clock.seconds()
        if now - reported["at"] >= EVICTION_LOG_INTERVAL:  # a summary, not a line per key
            evicted = cache.evictions - reported["evictions"]
            expired = keyspace.expired + cache.expirations - reported["expired"]
            if evicted or expired:
                housekeeping_log.info(
                    "cache: {evicted} LRU evictions, {expired} expirations in {seconds:.0f}s; "
                    "{entries} entries, {bytes} bytes", evicted=evicted, expired=expired,
                    seconds=now - reported["at"], entries=len(cache), bytes=cache.bytes)
            reported.update(at=now, evictions=cache.evictions,
                            expired=keyspace.expired + cache.expirations)
    return PeriodicService(tick, clock, HOUSEKEEPING_INTERVAL, "housekeeping")


class StoreService(Service):
    """Closes (and so commits) the store when the region stops."""

    def __init__(self, store: Store):
        self.store = store

    def stopService(self):
        super().stopService()
        self.store.close()


class RegionService(MultiService):
    """Everything one region runs, built from a ``RegionConfig``."""

    log = Logger()

    def __init__(self, config: RegionConfig, reactor, daemon: bool = False):
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.store = Store(os.path.join(config.data_dir, "store"), reactor,
                           commit_interval=config.commit_interval, fsync=config.fsync)
        self.store.open()  # StoreError here stops a daemon before any port opens
        cache = LRUCache(reactor, max_entries=config.max_entries,
                         max_bytes=config.max_bytes, idle_ttl=config.ttl)
        self.keyspace = Keyspace(cache, self.store, config.name, reactor)
        self.membership = Membership(config.name, os.path.join(config.data_dir, "peers.json"))
        self.membership.load()
        self.replication = Replication(config.name, self.keyspace, self.membership, reactor,
                                       config.cluster_secret, config.peer_ca,
                                       config.peer_routes, config.peer_window,
                                       config.peer_buffer, config.sync_timeout)
        self.table = CommandTable(
            self.keyspace, reactor, name=config.name, latitude=config.latitude,
            longitude=config.longitude, requirepass=config.requirepass.encode(),
            max_bulk_len=config.proto_max_bulk_len, started=reactor.seconds(),
            replication=self.replication, tcp_port=endpoint_port(config.listen),
            maxclients=config.maxclients, serve_stale_data=config.serve_stale_data == "yes")
        StoreService(self.store).setServiceParent(self)
        PeriodicService(self.table.sample_stats, reactor, RATE_INTERVAL,
                        "stats").setServiceParent(self)
        self.client_port = ListeningService(
            reactor, serverFromString(reactor, config.listen),
            RegionFactory(self.table, reactor, config.maxclients, config.client_output_limit,
                          protected=listens_beyond_loopback(config.listen)
                          and not config.requirepass),
            f"region {config.name} clients",
            stop_reactor_on_failure=daemon)
        self.client_port.setServiceParent(self)
        self.replication.setServiceParent(self)
        housekeeping(self.keyspace, reactor,
                     self.replication.tombstone_horizon).setServiceParent(self)
        if config.master:
            MasterLinks(config.master, self.registration, self.membership, reactor,
                        config.cluster_secret, self.peer_lags,
                        lambda: self.replication.replicator.syncing).setServiceParent(self)
        self.peer_port = None
        if config.peer_listen:
            self.replication.receiver_factory.protected = (
                listens_beyond_loopback(config.peer_listen) and not config.cluster_secret)
            self.peer_port = ListeningService(
                reactor, serverFromString(reactor, config.peer_listen),
                self.replication.receiver_factory, f"region {config.name} peers",
                stop_reactor_on_failure=daemon)
            self.peer_port.setServiceParent(self)
        if config.http:
            from geolru.region_http import region_root
            ListeningService(reactor, serverFromString(reactor, config.http),
                             quiet_site(region_root(self.table)),
                             f"region {config.name} http",
                             stop_reactor_on_failure=daemon).setServiceParent(self)

    def peer_lags(self) -> dict[str, float]:
        """Each peer's replication lag in ms, for the master's status page."""
        return {name: waited for name, _, _, _, waited in self.replication.peers()}

    def registration(self) -> Registration:
        """What the masters are told; the ports are the ones actually listening."""
        config = self.config
        address = self.client_port.address
        port = address.port if address is not None else endpoint_port(config.listen)
        peer_address = self.peer_port.address if self.peer_port is not None else None
        peer_port = (peer_address.port if peer_address is not None
                     else endpoint_port(config.peer_listen))
        return Registration(config.name, config.advertise_host, port, peer_port,
                            config.latitude, config.longitude)


def endpoint_port(description: str) -> int:
    """The port a server endpoint string listens on (0 if it names none)."""
    return listen_address(description)[1]
