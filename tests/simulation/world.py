"""The simulated world: one clock, regions that freeze and crash, links that delay and cut.

Everything runs on one deterministic event queue (``Scheduler``): an event is a
time, a sequence number (ties run in the order they were scheduled) and the
region that owns it.  A frozen region runs none of its events: they wait, in
order, until it thaws (its kernel keeps what arrives meanwhile).  A crashed
region's events are dropped, and so is what was not committed in its store.

Each region is the real thing -- ``Store`` (LMDB on tmpfs), ``Keyspace``,
``CommandTable`` and ``Replicator`` -- given a reactor of its own
(``RegionClock``: the scheduler's time plus the region's clock skew).  Links
carry the replicator's frames in order (TCP) after a one-way delay with jitter; in
*wire* mode, bytes between the daemon's own Twisted protocols (``Connection``).

A region in cluster mode is several nodes, its shards: each a process of its own
(store, keyspace, commands, replicator serving its slots, clock), streaming to
every shard of every other region, never to its own region's.  Faults strike
nodes; ``region/*`` names every shard of a region.
"""

from __future__ import annotations

import heapq
import itertools
import os
import shutil

from twisted.internet import defer
from twisted.internet.address import IPv4Address

from geolru.commands.table import CommandTable, Session
from geolru.common.endpoints import (
    KEEPALIVE_COUNT,
    KEEPALIVE_IDLE,
    KEEPALIVE_INTERVAL,
    USER_TIMEOUT,
)
from geolru.keyspace.keyspace import Keyspace
from geolru.keyspace.lru import LRUCache
from geolru.model.hashkeys import identity_slot
from geolru.replication import peerwire
from geolru.replication.replicator import Replicator
from geolru.replication.transport import ReceiverFactory, SenderFactory
from geolru.store.store import Store, StoreError
from simulation.schedule import ALL_SHARDS, EPOCH, region_of, shard_name

HOUSEKEEPING = 0.1  # seconds, as geolru.region.service.HOUSEKEEPING_INTERVAL
BACKOFF = (0.1, 2.0, 1.5)  # reconnect: first delay, longest delay, factor (as the region)
MASTER_ANSWER = 0.01  # seconds from a start to the master's word on which peers are down
# seconds until a half-open connection is noticed: its keepalive probes unanswered
# (idle), or its data unacknowledged for TCP_USER_TIMEOUT (the later of the two)
HALF_OPEN_NOTICED = max(KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT, USER_TIMEOUT)


class Event:
    """A scheduled call; also what ``callLater`` returns (``IDelayedCall``)."""

    __slots__ = ("time", "seq", "owner", "incarnation", "function", "args", "cancelled",
                 "called", "timer")

    def __init__(self, time, seq, owner, function, args, timer):
        self.time, self.seq, self.owner = time, seq, owner
        self.incarnation = owner.incarnation if owner is not None else 0
        self.function, self.args = function, args
        self.cancelled = self.called = False
        self.timer = timer  # a timer (vs a delivery), for the order at thaw

    def cancel(self):
        self.cancelled = True

    def active(self):
        return not (self.cancelled or self.called)

    def getTime(self):
        return self.time + (self.owner.offset(self.time) if self.owner is not None
                            else 0.0) + EPOCH


class Scheduler:
    def __init__(self):
        self.now = 0.0
        # (time, seq, event): ordered by time, then as scheduled (compared in C)
        self._queue: list[tuple[float, int, Event]] = []
        self._seq = itertools.count()
        self.events_run = 0

    def at(self, time: float, owner, function, *args, timer: bool = False) -> Event:
        event = Event(max(time, self.now), next(self._seq), owner, function, args, timer)
        heapq.heappush(self._queue, (event.time, event.seq, event))
        return event

    def requeue(self, event: Event) -> None:
        """Run ``event`` now, after what is already due (a thawed region's backlog)."""
        event.time, event.seq = self.now, next(self._seq)
        heapq.heappush(self._queue, (event.time, event.seq, event))

    def run(self, until: float) -> None:
        queue = self._queue
        pop = heapq.heappop
        while queue and queue[0][0] <= until:
            event = pop(queue)[2]
            if event.cancelled:
                continue
            self.now = event.time
            owner = event.owner
            if owner is not None:
                if not owner.up or event.incarnation != owner.incarnation:
                    continue
                if owner.frozen:
                    owner.deferred.append(event)
                    continue
            event.called = True
            self.events_run += 1
            event.function(*event.args)
        self.now = max(self.now, until)


class RegionClock:
    """A region's reactor, as far as geolru uses one (``IReactorTime``)."""

    def __init__(self, scheduler: Scheduler, node: Node):
        self._scheduler, self._node = scheduler, node

    def seconds(self) -> float:
        now = self._scheduler.now
        return now + self._node.offset(now) + EPOCH

    def callLater(self, delay, function, *args, **kwargs):
        if kwargs:
            args = (*args, kwargs)
            return self._scheduler.at(self._scheduler.now + delay, self._node,
                                      lambda *a: function(*a[:-1], **a[-1]), *args,
                                      timer=True)
        return self._scheduler.at(self._scheduler.now + delay, self._node, function, *args,
                                  timer=True)


class Disk:
    """A store's writer in the simulator (``Store.make_writer``): each job runs, in
    order, a little later in simulated time (a commit takes time; the region goes on
    meanwhile, as it does while the daemon's writer thread works); while the disk
    stalls, jobs wait; while it is full, they fail as LMDB's would."""

    def __init__(self, node: Node):
        self.node = node
        self.free_at = 0.0  # when the last job submitted is done
        self._waiting: list = []  # [event, deferred, job, args], in order

    def submit(self, job, *args) -> defer.Deferred:
        world = self.node.world
        disk = world.disks.get(self.node.name, {})
        now = world.scheduler.now
        start = max(now, self.free_at, disk.get("stalled_until", 0.0))
        self.free_at = start + world.rng.uniform(0.0002, 0.003)
        d = defer.Deferred()
        entry = [None, d, job, args]
        entry[0] = world.scheduler.at(self.free_at, self.node, self._due, entry)
        self._waiting.append(entry)
        return d

    def _due(self, entry) -> None:
        while self._waiting:  # (in order: those before it first)
            first = self._waiting.pop(0)
            first[0].cancel()
            self._run(*first[1:])
            if first is entry:
                return

    def barrier(self, timeout: float = 30.0) -> None:
        """The caller waits for the disk: every job submitted so far runs now."""
        while self._waiting:
            self._due(self._waiting[-1])

    def _run(self, d: defer.Deferred, job, args) -> None:
        disk = self.node.world.disks.get(self.node.name, {})
        if disk.get("full"):
            d.errback(StoreError("mdb_txn_commit: No space left on device"))
            return
        try:
            result = job(*args)
        except Exception:
            d.errback()
        else:
            d.callback(result)

    def stop(self) -> None:
        pass


class Connection:
    """One TCP connection: ``dialer``'s stream to ``listener``.

    Without ``wire``, it carries the state machines' frames as they are.  With it,
    each end is the daemon's own Twisted protocol (``geolru.replication.transport``:
    ``SenderProtocol``, ``ReceiverProtocol``, their ``Int32StringReceiver`` framing)
    on a simulated transport, and it carries bytes, now and then split where TCP
    might split them."""

    def __init__(self, world, dialer: Node, listener: Node, wire: bool = False):
        self.world, self.dialer, self.listener = world, dialer, listener
        self.open = True  # frames are still carried
        self.broken = False  # cut: frames in flight are lost
        self.receiver = None
        self.last_arrival = {dialer.name: 0.0, listener.name: 0.0}  # by destination
        # each end's process: a restarted one never reads its former life's sockets
        self.incarnations = {dialer.name: dialer.incarnation,
                             listener.name: listener.incarnation}
        self.wire = wire
        self.protocols: dict[str, object] = {}  # node name -> its end's protocol (wire)
        # half-open: (the node whose host went, its incarnation then); the other end
        # still thinks the connection is up, and what it sends is lost
        self.dead: tuple | None = None
        self.reset = False  # the other end's send met the host back: a RST is on its way
        self.to_listener = self._sender(listener)
        self.to_dialer = self._sender(dialer)

    def _sender(self, destination: Node):
        def send(frame):
            self.world.carry(self, destination, frame)
        return send


class WireTransport:
    """What a Twisted protocol writes to, for one end of a simulated connection."""

    def __init__(self, connection: Connection, toward: Node):
        self.connection, self.toward = connection, toward
        self.disconnecting = False

    def write(self, data: bytes) -> None:
        if data:
            self.connection.world.carry(self.connection, self.toward, data)

    def writeSequence(self, data) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        self.disconnecting = True
        self.connection.world.close(self.connection)

    def getPeer(self):
        return IPv4Address("TCP", "127.0.0.1", 0)

    def getHost(self):
        return IPv4Address("TCP", "127.0.0.1", 0)


class Node:
    """A region, or one shard of a region in cluster mode: the real store, keyspace,
    commands and replicator."""

    def __init__(self, world, name: str, skew: float, data_dir: str, region: str = "",
                 slots=None):
        self.world, self.name, self.skew, self.data_dir = world, name, skew, data_dir
        self.drift = 0.0  # seconds its clock gains per second (loses, if negative)
        self.region = region or name
        self.slots = slots  # a SlotSet (a shard), or None (a region without cluster mode)
        self.clock = RegionClock(world.scheduler, self)
        self.up = False
        self.frozen = False
        self.incarnation = 0
        self.deferred: list[Event] = []
        self.store = self.keyspace = self.replicator = self.table = None
        self.session = None
        self.lost_after = []  # [(committed position, highest position)] at each crash

    def offset(self, now: float) -> float:
        """How far its clock is ahead of the simulation's at ``now`` (seconds)."""
        return self.skew + self.drift * now

    def boot(self) -> None:
        self.incarnation += 1
        self.up = True
        self.store = Store(self.data_dir, self.clock, threaded=False, stale_sweep_at=8,
                           make_writer=(lambda: Disk(self)) if self.world.slow_disks else None)
        self.store.open()
        self.store.listeners.extend(
            lambda key, record, seq, watch=watch: watch(self, key, record, seq)
            for watch in self.world.store_watchers)
        cache = LRUCache(self.clock, max_entries=64, idle_ttl=2.0)
        self.keyspace = Keyspace(cache, self.store, self.name, self.clock)
        self.replicator = Replicator(self.name, self.keyspace, self.clock,
                                     forgotten=set(self.world.forgotten),
                                     random_bytes=self.world.rng.randbytes,
                                     window=self.world.window[1],
                                     window_minimum=self.world.window[0],
                                     buffer=self.world.buffer, slots=self.slots,
                                     siblings=self._siblings())
        self.table = CommandTable(self.keyspace, self.clock, name=self.name,
                                  replication=self.replicator)
        # pub/sub across regions, as the daemon's service wires it
        self.table.publish_to_peers = self.replicator.broadcast
        self.replicator.message_listeners.append(self.table.deliver)
        self.session = Session(1)
        for peer in self.world.nodes.values():
            # every shard of every other region; none of its own region
            if peer.region != self.region and peer.name not in self.world.forgotten:
                self.replicator.add_peer(peer.name, region=peer.region, slots=peer.slots)
        self._housekeeping()
        for peer in self.replicator.senders:
            self.world.dial(self, peer, BACKOFF[0] * self.world.rng.random())
        if self.world.sync_on_boot:
            # as the daemon's Replication service: catch up with the peers the master
            # says are up before serving (LOADING meanwhile)
            peers = [peer for peer in self.world.nodes.values()
                     if peer.region != self.region and peer.name not in self.world.forgotten]
            self.replicator.begin_sync([peer.name for peer in peers if peer.up], "starting")
            # it streams its store once each took its resume positions, or the master
            # says it is down (its answer to the registration, a moment later)
            self.replicator.hold_streams([peer.name for peer in peers])
            self.clock.callLater(MASTER_ANSWER, lambda: self.replicator.peers_down(
                [peer.name for peer in peers if not peer.up]))

    def _siblings(self) -> set[str]:
        """The other shards of its region (as the ini and the master name them)."""
        return {node.name for node in self.world.regions[self.region] if node is not self}

    def _housekeeping(self) -> None:
        self.keyspace.expire_due(1000)
        self.keyspace.collect_tombstones(self.replicator.tombstone_horizon())
        self.clock.callLater(HOUSEKEEPING, self._housekeeping)

    def crash(self, vanished: bool = False) -> None:
        """kill -9: the process and what it had not committed are gone (``vanished``:
        its host left the network too, silently, and its connections are left
        half-open; its disk stays as after a kill -9)."""
        self.lost_after.append((self.store.committed_seq, self.store.seq))
        self.up = False
        self.frozen = False
        self.deferred.clear()
        self.store.abandon()
        if vanished:
            self.world.connections_half_open(self)
        else:
            self.world.connections_lost(self)

    def snapshot(self) -> int:
        """Copy what its store has committed (LMDB's own copy: consistent, as a backup
        or what the disk held at its last flush); the position committed then."""
        path = self.data_dir + ".snapshot"
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        self.store.tables.env.copy(path)
        return self.store.committed_seq

    def restore(self) -> None:
        """Put the snapshot back in place of its data folder (it is down)."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.copytree(self.data_dir + ".snapshot", self.data_dir)

    def stop(self) -> None:
        if self.up:
            self.store.close()
            self.up = False

    def freeze(self) -> None:
        self.frozen = True

    def thaw(self, timers_first: bool) -> None:
        """SIGCONT: what waited runs now, in order (timers first, or what arrived)."""
        self.frozen = False
        waiting, self.deferred = self.deferred, []
        waiting.sort(key=lambda e: ((not e.timer) if timers_first else e.timer, e.time, e.seq))
        for event in waiting:
            if not event.cancelled:
                self.world.scheduler.requeue(event)


def shm_dir() -> str:
    """Where the simulated stores live: memory, not disk."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


class World:
    """The regions, the links between them, and what happens to both."""

    def __init__(self, rng, names, delays: dict, jitter: float, skews: dict, root: str,
                 timeline: list | None, window: tuple = (1 << 20, 32 << 20),
                 buffer: int = 64 << 20, layout: dict | None = None):
        self.rng = rng
        self.window = window  # (minimum, maximum) bytes of a stream's window
        self.buffer = buffer
        self.scheduler = Scheduler()
        self.delays = delays  # frozenset({a, b}) -> one-way seconds
        self.jitter = jitter  # fraction of the delay
        self.cut: set[frozenset] = set()
        self.forgotten: set[str] = set()
        self.timeline = timeline
        # callables(node, key, record, seq) every booted node's store tells of its writes
        self.store_watchers: list = []
        self.nodes: dict[str, Node] = {}
        self.regions: dict[str, list[Node]] = {}  # region -> its nodes, shard 0 first
        for region in names:
            shards = (layout or {}).get(region)
            for k, slots in enumerate(shards or (None,)):
                name = shard_name(region, k)
                node = Node(self, name, skews[name],
                            os.path.join(root, name.replace("/", "-")), region, slots)
                self.nodes[name] = node
                self.regions.setdefault(region, []).append(node)
        self.connections: dict[tuple[str, str], Connection] = {}  # (dialer, listener)
        self.sync_on_boot = False  # a booting node syncs with its peers first (LOADING)
        self.wire = False  # connections carry bytes between the daemon's protocols
        self.splits = 0  # ... of which writes split in two reads
        self.slow_disks = False  # store jobs take simulated time (Disk)
        self.disks: dict[str, dict] = {}  # node -> {"stalled_until": t, "full": bool}
        # (from region, to region) -> frames that direction holds back (a one-way stall:
        # TCP retransmits what a route drops, so they arrive once it is back)
        self.stalled: dict[tuple[str, str], list] = {}
        self._attempts: dict[tuple[str, str], int] = {}
        self.frames = 0
        self.bytes = 0
        self.misrouted: list[str] = []  # records a stream carried outside a shard's slots

    def log(self, text: str) -> None:
        if self.timeline is not None:
            self.timeline.append(f"{self.scheduler.now:8.3f}  {text}")

    def named(self, target: str) -> list[Node]:
        """The nodes a fault names: one, or every shard of a region (``region/*``)."""
        if target.endswith(ALL_SHARDS):
            return self.regions[region_of(target)]
        return [self.nodes[target]]

    def serving(self, region: str, key: bytes) -> Node:
        """The node of ``region`` that serves ``key`` (its hash slot's shard)."""
        nodes = self.regions[region]
        if len(nodes) == 1:
            return nodes[0]
        slot = identity_slot(key)
        return next(node for node in nodes if slot in node.slots)

    def delay(self, a: Node, b: Node) -> float:
        base = self.delays[frozenset((a.region, b.region))]
        return base * (1 + self.jitter * self.rng.random())

    # ------------------------------------------------------------ connections

    def dial(self, node: Node, peer: str, after: float) -> None:
        node.clock.callLater(after, self._attempt, node, peer)

    def _attempt(self, node: Node, peer: str) -> None:
        if peer not in node.replicator.senders or (node.name, peer) in self.connections:
            return
        target = self.nodes[peer]
        if frozenset((node.name, peer)) in self.cut or not target.up:
            tries = self._attempts.get((node.name, peer), 0)
            self._attempts[(node.name, peer)] = tries + 1
            first, longest, factor = BACKOFF
            self.dial(node, peer, min(longest, first * factor ** tries))
            return
        self._attempts.pop((node.name, peer), None)
        connection = Connection(self, node, target, self.wire)
        self.connections[(node.name, peer)] = connection
        d = self.delay(node, target)
        # the dialer's side is up after a round trip, the listener's after one way;
        # nothing the listener sends arrives before the dialer's side is up
        established = self.scheduler.now + 2 * d
        connection.last_arrival[node.name] = established
        self.scheduler.at(established, node, self._established, connection)
        self.scheduler.at(self.scheduler.now + d, target, self._accepted, connection)

    def _established(self, connection: Connection) -> None:
        if connection.open:
            sender = connection.dialer.replicator.senders.get(connection.listener.name)
            if sender is None:
                self.close(connection)
                return
            self.log(f"{connection.dialer.name} -> {connection.listener.name}: connected")
            if connection.wire:
                protocol = SenderFactory(sender).buildProtocol(None)
                connection.protocols[connection.dialer.name] = protocol
                protocol.makeConnection(WireTransport(connection, connection.listener))
                connection.to_listener = protocol.send  # (what the sender now holds)
            else:
                sender.connected(connection.to_listener)

    def _accepted(self, connection: Connection) -> None:
        if connection.open:
            replicator = connection.listener.replicator
            if connection.wire:
                protocol = ReceiverFactory(replicator).buildProtocol(None)
                connection.protocols[connection.listener.name] = protocol
                protocol.makeConnection(WireTransport(connection, connection.dialer))
                connection.receiver = protocol.receiver
            else:
                connection.receiver = replicator.new_receiver(connection.to_dialer)

    def carry(self, connection: Connection, destination: Node, frame) -> None:
        """A frame sent on ``connection`` towards ``destination`` (None: close)."""
        if not connection.open:
            return
        if frame is None:
            self.close(connection)
            return
        self.frames += 1
        self.bytes += len(frame)
        source = (connection.dialer if destination is connection.listener
                  else connection.listener)
        if connection.dead is not None:
            node, incarnation = connection.dead
            if destination is node:
                if node.up and node.incarnation != incarnation and not connection.reset:
                    # the host is back: its kernel answers with a RST, a round trip on
                    connection.reset = True
                    self.scheduler.at(self.scheduler.now + 2 * self.delay(source, node),
                                      source, self._half_open_noticed, connection)
                return  # lost
        held = self.stalled.get((source.region, destination.region))
        if held is not None:
            held.append((connection, source, destination, frame))
            return
        self._send(connection, source, destination, frame)

    def _send(self, connection: Connection, source: Node, destination: Node, frame) -> None:
        arrival = max(self.scheduler.now + self.delay(source, destination),
                      connection.last_arrival[destination.name])
        connection.last_arrival[destination.name] = arrival
        pieces = [frame]
        if connection.wire and len(frame) > 1 and self.rng.random() < 0.3:
            # TCP keeps no message bounds: the receiver's reads may end anywhere
            cut = self.rng.randrange(1, len(frame))
            pieces = [frame[:cut], frame[cut:]]
            self.splits += 1
        for piece in pieces:
            self.scheduler.at(arrival, destination, self._deliver, connection, destination,
                              piece)

    def _deliver(self, connection: Connection, destination: Node, frame: bytes) -> None:
        if connection.broken or (destination.incarnation
                                 != connection.incarnations[destination.name]):
            return
        if connection.wire:
            protocol = connection.protocols.get(destination.name)
            if protocol is not None:
                protocol.dataReceived(frame)
            return
        if destination is connection.listener:
            slots = destination.slots
            if slots is not None and not slots.complete and frame[:1] == b"B":
                self._elsewhere(connection, slots, frame)
            if connection.receiver is not None:
                connection.receiver.received(frame)
        else:
            sender = connection.dialer.replicator.senders.get(connection.listener.name)
            if sender is not None and sender.is_current(connection.to_listener):
                sender.received(frame)

    def _elsewhere(self, connection: Connection, slots, frame: bytes) -> None:
        """A stream to a shard carries only the records of its slots: note any other."""
        for _, key, _ in peerwire.decode_batch(frame)[1]:
            if identity_slot(key) not in slots:
                self.misrouted.append(f"{self.scheduler.now:.3f} {connection.dialer.name} -> "
                                      f"{connection.listener.name}: {key!r}")

    def close(self, connection: Connection, notice_after: float = 0.0) -> None:
        """End ``connection``: each side hears of it once what was sent to it arrived
        (and ``notice_after`` later)."""
        if not connection.open:
            return
        connection.open = False
        key = (connection.dialer.name, connection.listener.name)
        if self.connections.get(key) is connection:
            del self.connections[key]
        now = self.scheduler.now
        dialer, listener = connection.dialer, connection.listener
        self.scheduler.at(max(now, connection.last_arrival[dialer.name]) + notice_after,
                          dialer, self._dialer_lost, connection)
        self.scheduler.at(max(now, connection.last_arrival[listener.name]) + notice_after,
                          listener, self._listener_lost, connection)

    def _dialer_lost(self, connection: Connection) -> None:
        node = connection.dialer
        sender = node.replicator.senders.get(connection.listener.name)
        if sender is not None and sender.is_current(connection.to_listener):
            self.log(f"{node.name} -> {connection.listener.name}: connection lost")
            protocol = connection.protocols.get(node.name)
            if protocol is not None:
                protocol.connectionLost(None)
            else:
                sender.disconnected()
        if connection.listener.name in node.replicator.senders:
            self.dial(node, connection.listener.name, BACKOFF[0])

    def _listener_lost(self, connection: Connection) -> None:
        protocol = connection.protocols.get(connection.listener.name)
        if protocol is not None:
            protocol.connectionLost(None)
        elif connection.receiver is not None:
            connection.receiver.disconnected()

    def connections_half_open(self, node: Node) -> None:
        """``node``'s host went without a word (a network that dropped it, a host
        frozen or cut off, a NAT that forgot it): the other end of each of
        its connections notices only when its keepalive probes go unanswered, or when
        what it sends meets the host back (``carry``)."""
        for connection in list(self.connections.values()):
            if node in (connection.dialer, connection.listener):
                connection.dead = (node, node.incarnation)
                survivor = (connection.listener if node is connection.dialer
                            else connection.dialer)
                self.scheduler.at(self.scheduler.now + HALF_OPEN_NOTICED, survivor,
                                  self._half_open_noticed, connection)

    def _half_open_noticed(self, connection: Connection) -> None:
        if connection.open:
            self.log(f"{connection.dialer.name} -> {connection.listener.name}: the "
                     "half-open connection is noticed")
            self.close(connection)

    def connections_lost(self, node: Node) -> None:
        """``node`` crashed: its connections close (what it sent still arrives)."""
        for connection in list(self.connections.values()):
            if node in (connection.dialer, connection.listener):
                self.close(connection)

    # ------------------------------------------------------------ faults

    def _links(self, a: str, b: str) -> list[frozenset]:
        """The links between the nodes ``a`` and ``b`` name (each may be ``region/*``)."""
        return [frozenset((x.name, y.name)) for x in self.named(a) for y in self.named(b)]

    def cut_link(self, a: str, b: str) -> None:
        self.log(f"cut {a} -- {b}")
        for link in self._links(a, b):
            self.cut.add(link)
            for connection in list(self.connections.values()):
                if {connection.dialer.name, connection.listener.name} == link:
                    connection.broken = True  # what is in flight is lost
                    self.close(connection, notice_after=0.5 + self.rng.random())

    def stall(self, a: str, b: str) -> None:
        """Frames from region ``a`` to region ``b`` wait (the other way flows)."""
        self.log(f"stall {a} -> {b}")
        self.stalled.setdefault((a, b), [])

    def unstall(self, a: str, b: str) -> None:
        """... and go, in order; those of a connection that closed meanwhile are lost."""
        held = self.stalled.pop((a, b), None)
        if held is None:
            return
        self.log(f"unstall {a} -> {b} ({len(held)} frames held)")
        for connection, source, destination, frame in held:
            if connection.open:
                self._send(connection, source, destination, frame)

    def heal_link(self, a: str, b: str) -> None:
        self.log(f"heal {a} -- {b}")
        for link in self._links(a, b):
            self.cut.discard(link)

    def forget(self, region: str) -> None:
        """The master's FORGET: every other region hears of it (a frozen one at
        thaw); a region of shards is forgotten shard by shard."""
        names = [node.name for node in self.regions[region]]
        self.log(f"FORGET {region}" + (f" ({', '.join(names)})" if len(names) > 1 else ""))
        self.forgotten.update(names)
        for node in self.nodes.values():
            if node.up and node.region != region:
                for name in names:
                    node.clock.callLater(0, node.replicator.forget, name)
