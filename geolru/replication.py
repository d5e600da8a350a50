"""Replication between regions: every write reaches every region.

Each region *sends* its change stream to every peer over a connection it
opens to the peer's ``peer_listen`` port (``ClientService``, reconnecting with
backoff), and *receives* the other regions' streams on its own port.

A stream is the sender store's changes in position order (``seq``).  On
connect the receiver says where to resume — the last position it applied from
that sender's store, or 0 for a full sync (new, wiped, or never seen).  The
sender first reads the store (``changes_since``: what waits for a peer waits on
disk, not in RAM), then, once caught up, pushes each write as it happens
(``live``), a batch per reactor turn.  The receiver merges each record
(``geolru.merge``), remembers its position in the same commit as the records,
and acknowledges it.

Records are forwarded, so a write reaches every region even if one link is
down or its origin dies after reaching only some peers -- but only when
needed: each receiver tells its senders, every ``WATERMARK_INTERVAL``, the
newest version it has applied from each origin's *own* stream (which sends
that origin's writes in order: everything older from it is there too).  A
sender holds a record made elsewhere instead of forwarding it, drops it once
the peer's watermark for its origin covers it, and forwards it if that takes
longer than ``FORWARD_AFTER``.  So with every link up each write crosses each
link once (forwarding everything sent it twice to every region of three, and
N-1 times to each of N), and a cut link costs ``FORWARD_AFTER`` of extra lag.
"""

from __future__ import annotations

import os

import attrs
from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.internet.endpoints import clientFromString, wrapClientTLS
from twisted.internet.protocol import Factory
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.logger import Logger
from twisted.protocols.basic import Int32StringReceiver

from geolru import peerwire
from geolru.auth import registration_mac
from geolru.keyspace import Keyspace
from geolru.membership import Membership, Peer

BATCH_RECORDS = 500
BATCH_BYTES = 1 << 20
WINDOW = 8  # batches sent and not yet acknowledged
LIVE_QUEUE_LIMIT = 20_000  # records queued for a slow peer before going back to the store
MAX_FRAME = (1 << 30) + (1 << 20)
HANDSHAKE_TIMEOUT = 10.0
# what reading a malformed frame raises: the connection is failed, the region goes on
BAD_FRAME = (peerwire.WireError, KeyError, ValueError, TypeError)
WATERMARK_INTERVAL = 0.05  # seconds between a receiver's watermark updates, at most
FORWARD_AFTER = 0.25  # seconds a record made elsewhere is held before it is forwarded
SKIP_DELAY = 0.05  # seconds: how soon a peer hears of positions that held nothing for it


def first_batch(changes: list) -> list:
    """The longest prefix of ``changes`` within the batch limits (at least one)."""
    size = 0
    for count, (_, key, record) in enumerate(changes, 1):
        size += len(key) + len(record.value or b"")
        if count >= BATCH_RECORDS or size >= BATCH_BYTES:
            return changes[:count]
    return changes


class FrameProtocol(Int32StringReceiver):
    MAX_LENGTH = MAX_FRAME
    log = Logger()

    def lengthLimitExceeded(self, length):
        self.log.warn("closing a peer connection: frame of {n} bytes", n=length)
        self.transport.loseConnection()

    def peer_error(self, peer: str | None, frame: bytes, keyspace) -> None:
        """An E frame: log it and close.  A refusal means this region's data must not
        be served (``Keyspace.stale``): it was forgotten, or it is older than deletes
        the peer has collected."""
        why = frame[1:].decode(errors="replace")
        refused = why.startswith("refused:")
        (self.log.error if refused else self.log.warn)(
            "{peer} ended the replication connection: {why}", peer=peer, why=why)
        if refused:
            keyspace.stale = f"{peer} {why}"
        self.transport.loseConnection()

    def fail(self, message: str):
        self.log.warn("replication connection {peer}: {message}",
                      peer=self.transport.getPeer(), message=message)
        self.sendString(b"E" + message.encode())
        self.transport.loseConnection()


# ---------------------------------------------------------------- sending


@attrs.define(eq=False)
class PeerStatus:
    """What a region knows of one peer's progress on its stream."""

    name: str
    address: str
    state: str = "connecting"  # connecting, full-sync, partial-sync, live
    acked: int = 0  # our position the peer has applied
    sent: int = 0  # our last position sent to the peer
    full_syncs: int = 0
    partial_syncs: int = 0
    last_ack_ms: float = 0.0  # send -> ack time of the last acknowledged batch
    oldest_unacked: float | None = None  # clock seconds the oldest unacked batch was sent
    forwarded: int = 0  # records made elsewhere sent on, in live mode
    not_forwarded: int = 0  # records made elsewhere the peer had from their origin


class SenderProtocol(FrameProtocol):
    """Our change stream, to one peer."""

    def connectionMade(self):
        self.stream: PeerStream = self.factory.stream
        self.ready = False
        self.position = 0  # last seq sent
        self.in_flight: list[tuple[int, float]] = []  # (last seq of batch, sent at)
        self.live = False
        self.queue: list = []
        self.held: list = []  # (held at, seq, key, record) made elsewhere, in seq order
        self.peer_watermarks: dict[str, int] = {}  # origin -> newest version the peer has
        self._flush_call = None
        self._held_call = None
        self._skip_call = None
        self.skips = False
        self._timeout = self.stream.clock.callLater(
            HANDSHAKE_TIMEOUT, self.transport.loseConnection)

    def stringReceived(self, frame: bytes):
        kind = frame[:1]
        try:
            if kind == b"C":
                nonce = frame[1:].decode()
                name = self.stream.own_name
                mac = (registration_mac(self.stream.secret, nonce, [name.encode()])
                       if self.stream.secret else "")
                self.sendString(peerwire.encode_control(b"H", {
                    "name": name, "store_id": self.stream.keyspace.store.store_id, "mac": mac,
                    "progress": 1}))
            elif kind == b"R":
                if self._timeout.active():
                    self._timeout.cancel()
                control = peerwire.decode_control(frame)
                self.skips = bool(control.get("skips"))  # the peer reads S frames
                self.start(int(control["from"]))
            elif kind == b"P":
                self.progressed(peerwire.decode_ack(frame))
            elif kind == b"A":
                self.acknowledged(peerwire.decode_ack(frame))
            elif kind == b"W":
                self.watermarks_received(peerwire.decode_control(frame))
            elif kind == b"E":
                self.peer_error(self.stream.name, frame, self.stream.keyspace)
            else:
                raise peerwire.WireError(f"unexpected frame {kind!r}")
        except BAD_FRAME as e:
            self.fail(str(e))

    def start(self, position: int):
        status = self.stream.status
        collected = self.stream.keyspace.store.collected_upto
        if 0 < position < collected:
            # deletes between its position and ours are gone from our store: streaming
            # would leave keys on the peer that the cluster deleted
            status.state = "refused"
            self.log.error(
                "refusing to stream to {name}: it asks for changes after position "
                "{position}, but deletes up to {collected} are collected here (it was "
                "forgotten, or restored from an old copy): empty its data_dir to rejoin",
                name=self.stream.name, position=position, collected=collected)
            self.fail(f"refused: your data is older than deletes this region has "
                      f"collected (position {position} < {collected}); empty your "
                      f"data_dir to rejoin")
            return
        if self.stream.resend_from is not None:  # held records the last connection left
            position = min(position, self.stream.resend_from - 1)
            self.stream.resend_from = None
        self.position = position
        self.ready = True
        if position == 0:
            status.state = "full-sync"
            status.full_syncs += 1
        else:
            status.state = "partial-sync"
            status.partial_syncs += 1
        status.acked = status.sent = position  # the peer's word: it may have been wiped
        self.stream.keyspace.store.put_meta(f"acked:{self.stream.name}", position)
        self.log.info("streaming to {name} from position {position} ({kind})",
                      name=self.stream.name, position=position, kind=status.state)
        self.stream.protocol = self
        self.pump()

    def pump(self):
        """Send from the store while the window allows; go live once caught up."""
        store = self.stream.keyspace.store
        while not self.live and len(self.in_flight) < WINDOW:
            changes = store.changes_since(self.position, BATCH_RECORDS)
            batch = first_batch(changes)
            if batch:
                self.send_batch(batch)
            if len(batch) == len(changes) < BATCH_RECORDS:
                self.live = True  # every later write arrives through queue_change()
                self.position = store.seq
                self.stream.status.state = "live"

    def catch_up(self):
        """Leave live mode: send what the store has after our position."""
        self._leave_live()
        self.pump()

    def _leave_live(self):
        """Drop what waits in memory: the store has it, and pump() reads it from there."""
        self.queue = []
        self._release_held()
        self.live = False
        self.stream.status.state = "partial-sync"

    def queue_change(self, key, record, seq):
        if not self.live:
            return
        origin = record.origin
        if origin == self.stream.name:  # the peer made it: it has it
            self._skipped(seq)
            return
        if origin != self.stream.own_name:  # made elsewhere: forward only if needed
            if record.version <= self.peer_watermarks.get(origin, -1):
                self.stream.status.not_forwarded += 1
                self._skipped(seq)
                return
            self.held.append((self.stream.clock.seconds(), seq, key, record))
            if self._held_call is None:
                self._held_call = self.stream.clock.callLater(FORWARD_AFTER, self.check_held)
            if len(self.held) <= LIVE_QUEUE_LIMIT:
                return
        else:
            self.queue.append((seq, key, record))
        if len(self.queue) + len(self.held) > LIVE_QUEUE_LIMIT:
            # the peer is slow: read from disk instead
            self._leave_live()
            self.stream.clock.callLater(0, self.pump)
            return
        if self._flush_call is None:
            self._flush_call = self.stream.clock.callLater(0, self.flush_queue)

    def _skipped(self, seq: int):
        """Position ``seq`` holds nothing for the peer.  Once nothing before it waits
        to be sent, the peer is told (an S frame, at most every ``SKIP_DELAY``): it
        then acknowledges past it, so our tombstones there can be collected even if
        no write of ours goes its way."""
        if self.queue or self.held:
            return
        self.position = max(self.position, seq)
        if self._skip_call is None and self.skips:
            self._skip_call = self.stream.clock.callLater(SKIP_DELAY, self._send_skip)

    def _send_skip(self):
        self._skip_call = None
        if (self.live and not self.queue and not self.held
                and self.position > self.stream.status.sent and len(self.in_flight) < WINDOW):
            self.sendString(peerwire.encode_ack(self.position, b"S"))
            self._in_flight(self.position)

    def watermarks_received(self, watermarks: dict):
        for origin, version in watermarks.items():
            if int(version) > self.peer_watermarks.get(origin, -1):
                self.peer_watermarks[str(origin)] = int(version)
        if self.held:
            self.check_held(expire=False)

    def check_held(self, expire: bool = True):
        """Drop the held records the peer has from their origin; with ``expire``,
        forward those held ``FORWARD_AFTER`` or longer."""
        if expire:
            self._held_call = None
        marks = self.peer_watermarks
        due = self.stream.clock.seconds() - FORWARD_AFTER
        status = self.stream.status
        kept, forward, dropped = [], [], 0
        for entry in self.held:
            record = entry[3]
            if record.version <= marks.get(record.origin, -1):
                status.not_forwarded += 1
                dropped = entry[1]
            elif expire and entry[0] <= due:
                forward.append(entry[1:])
            else:
                kept.append(entry)
        self.held = kept
        if dropped and not kept and not forward:
            self._skipped(dropped)
        if forward:
            status.forwarded += len(forward)
            self.queue.extend(forward)
            self.queue.sort(key=lambda change: change[0])
            if self._flush_call is None:
                self._flush_call = self.stream.clock.callLater(0, self.flush_queue)
        if kept and self._held_call is None:
            wait = max(0.0, kept[0][0] + FORWARD_AFTER - self.stream.clock.seconds())
            self._held_call = self.stream.clock.callLater(wait, self.check_held)

    def _release_held(self):
        """Leaving live mode: the store read starts before the oldest held record."""
        if self.held:
            self.position = min(self.position, self.held[0][1] - 1)
            self.held = []
        if self._held_call is not None and self._held_call.active():
            self._held_call.cancel()
        self._held_call = None

    def flush_queue(self):
        self._flush_call = None
        while self.live and self.queue and len(self.in_flight) < WINDOW:
            batch = first_batch(self.queue)
            self.queue = self.queue[len(batch):]
            self.send_batch(batch)

    def send_batch(self, changes):
        self.sendString(peerwire.encode_batch(changes))
        self.position = max(self.position, changes[-1][0])
        self._in_flight(changes[-1][0])

    def _in_flight(self, position: int):
        """A frame covering everything up to ``position`` is sent, not yet applied."""
        status = self.stream.status
        status.sent = max(status.sent, position)
        now = self.stream.clock.seconds()
        self.in_flight.append((position, now))
        if status.oldest_unacked is None:
            status.oldest_unacked = now

    def acknowledged(self, position: int):
        """The peer committed everything up to ``position``."""
        status = self.stream.status
        if position > status.acked:
            status.acked = position
            self.stream.acknowledged(position)
        self.progressed(position)  # a receiver that sends no P frames frees the window here

    def progressed(self, position: int):
        """The peer applied everything up to ``position``: room in the window."""
        status = self.stream.status
        now = self.stream.clock.seconds()
        while self.in_flight and self.in_flight[0][0] <= position:
            _, sent = self.in_flight.pop(0)
            status.last_ack_ms = (now - sent) * 1000
        status.oldest_unacked = self.in_flight[0][1] if self.in_flight else None
        if self.live:
            if self.queue and self._flush_call is None:
                self._flush_call = self.stream.clock.callLater(0, self.flush_queue)
        else:
            self.pump()

    def connectionLost(self, reason=None):
        if self._timeout.active():
            self._timeout.cancel()
        for call in (self._flush_call, self._skip_call):
            if call is not None and call.active():
                call.cancel()
        if self.held:  # the next connection starts before them
            first = self.held[0][1]
            resend = self.stream.resend_from
            self.stream.resend_from = first if resend is None else min(resend, first)
        self._release_held()
        if self.stream.protocol is self:
            self.stream.protocol = None
        if self.stream.status.state != "refused":
            self.stream.status.state = "connecting"
        self.stream.status.oldest_unacked = None


class SenderFactory(Factory):
    protocol = SenderProtocol

    def __init__(self, stream):
        self.stream = stream


class PeerStream(MultiService):
    """Our stream to one peer: a reconnecting connection and its status."""

    def __init__(self, peer: Peer, own_name: str, keyspace: Keyspace, reactor, secret: str,
                 on_ack, tls_trust=None):
        super().__init__()
        self.name = peer.name
        self.peer = peer
        self.own_name = own_name
        self.keyspace = keyspace
        self.clock = reactor
        self.secret = secret
        self.on_ack = on_ack
        self.protocol: SenderProtocol | None = None
        self.resend_from: int | None = None  # held when a connection was lost: send again
        address = f"{peer.host}:{peer.peer_port}"
        self.status = PeerStatus(peer.name, address)
        self.status.acked = int(keyspace.store.get_meta(f"acked:{peer.name}", 0) or 0)
        endpoint = clientFromString(reactor, f"tcp:{peer.host}:{peer.peer_port}:timeout=5")
        if tls_trust is not None:  # peers listen on ssl: endpoints; check their certificate
            endpoint = wrapClientTLS(
                optionsForClientTLS(peer.host, trustRoot=tls_trust), endpoint)
        ClientService(endpoint, SenderFactory(self),
                      retryPolicy=backoffPolicy(initialDelay=0.1, maxDelay=2.0, factor=1.5),
                      clock=reactor).setServiceParent(self)

    def change(self, key, record, seq):
        if self.protocol is not None:
            self.protocol.queue_change(key, record, seq)

    def acknowledged(self, position: int):
        self.keyspace.store.put_meta(f"acked:{self.name}", position)
        self.on_ack()

    def safe_acked(self) -> int:
        """The position up to which the peer has everything (acknowledged, and no
        held record below it): tombstones up to it may go."""
        position = self.status.acked
        protocol = self.protocol
        if protocol is not None and protocol.held:
            position = min(position, protocol.held[0][1] - 1)
        if self.resend_from is not None:
            position = min(position, self.resend_from - 1)
        return position

    def lag(self) -> tuple[int, float]:
        """(changes not yet acknowledged, ms the oldest unacknowledged batch has waited)."""
        protocol = self.protocol
        if protocol is None or not protocol.live:  # not streaming live: all of it waits
            behind = max(0, self.keyspace.store.seq - self.status.acked)
        else:
            behind = max(0, self.status.sent - self.status.acked) + len(protocol.queue)
        oldest = self.status.oldest_unacked
        waited = 0.0 if oldest is None else (self.clock.seconds() - oldest) * 1000
        return behind, waited


# ---------------------------------------------------------------- receiving


class ReceiverProtocol(FrameProtocol):
    """Another region's stream, applied here."""

    def connectionMade(self):
        self.sender: str | None = None
        self.lost = False
        self.nonce = os.urandom(16).hex()
        self.sendString(b"C" + self.nonce.encode())

    def connectionLost(self, reason=None):
        self.lost = True
        self.factory.replication.receivers.discard(self)

    def stringReceived(self, frame: bytes):
        kind = frame[:1]
        try:
            if kind == b"H":
                self.hello(peerwire.decode_control(frame))
            elif kind == b"B" and self.sender is not None:
                self.apply(peerwire.decode_batch(frame))
            elif kind == b"S" and self.sender is not None:
                self.reached(peerwire.decode_ack(frame))
            elif kind == b"E":
                self.peer_error(self.sender, frame, self.factory.replication.keyspace)
            else:
                raise peerwire.WireError(f"unexpected frame {kind!r}")
        except BAD_FRAME as e:
            self.fail(str(e))

    def hello(self, hello: dict):
        replication = self.factory.replication
        name, store_id = str(hello["name"]), str(hello["store_id"])
        if replication.secret:
            expected = registration_mac(replication.secret, self.nonce, [name.encode()])
            if str(hello.get("mac", "")) != expected:
                self.log.warn("refused a replication stream from {peer}: bad cluster secret",
                              peer=self.transport.getPeer())
                self.fail("authentication failed")
                return
        if name in replication.membership.forgotten:
            self.fail(f"refused: region {name} was forgotten (decommissioned); start it "
                      "under a new name, with an empty data_dir")
            return
        self.sender = name
        self.progress = bool(hello.get("progress"))  # the sender reads P frames
        self.committed_sent = 0
        self.position_key = f"pos:{name}:{store_id}"
        position = int(replication.keyspace.store.get_meta(self.position_key, 0) or 0)
        self.sendString(peerwire.encode_control(b"R", {"from": position, "skips": 1}))
        replication.receivers.add(self)
        if replication.watermarks:
            self.sendString(peerwire.encode_control(b"W", replication.watermarks))

    def apply(self, changes):
        replication = self.factory.replication
        apply = replication.keyspace.apply
        sender = self.sender
        newest = -1  # the sender's own writes come in order: this one and all before it
        for _, key, record in changes:
            apply(key, record)
            if record.origin == sender and record.version > newest:
                newest = record.version
        if newest >= 0:
            replication.applied_from_origin(sender, newest)
        if changes:
            replication.applied += len(changes)
            self.reached(changes[-1][0])

    def reached(self, last: int):
        """Every change up to ``last`` is applied: resume from there; acknowledge."""
        store = self.factory.replication.keyspace.store
        store.put_meta(self.position_key, last)
        if self.progress and store.failure is None:
            # (a store that cannot commit sends none: the sender's window then
            # fills, and what it has not sent waits on its own disk)
            self.sendString(peerwire.encode_ack(last, b"P"))
        # acknowledged only once committed: the sender collects tombstones up to
        # it, and a crash before the commit must not have lost any of them
        store.committed().addCallback(self._committed, last)

    def _committed(self, _, position: int):
        if position > self.committed_sent and not self.lost:
            self.committed_sent = position
            self.sendString(peerwire.encode_ack(position))


class ReceiverFactory(Factory):
    protocol = ReceiverProtocol

    def __init__(self, replication):
        self.replication = replication


# ---------------------------------------------------------------- the service


class Replication(MultiService):
    """Streams to every peer the membership names; ``WAIT``; status for INFO/PEERS."""

    log = Logger()

    def __init__(self, own_name: str, keyspace: Keyspace, membership: Membership, reactor,
                 secret: str = "", peer_ca: str = ""):
        super().__init__()
        self.tls_trust = None
        if peer_ca:
            with open(peer_ca, "rb") as f:
                self.tls_trust = Certificate.loadPEM(f.read())
        self.own_name = own_name
        self.keyspace = keyspace
        self.membership = membership
        self.reactor = reactor
        self.secret = secret
        self.streams: dict[str, PeerStream] = {}
        self.applied = 0
        self.receivers: set[ReceiverProtocol] = set()  # streams coming in
        self.watermarks: dict[str, int] = {}  # origin -> newest version from its own stream
        self._watermark_call = None
        self._waiters: list[tuple[int, int, defer.Deferred]] = []
        keyspace.store.listeners.append(self._changed)
        keyspace.store.bulk_listeners.append(self._bulk_changed)
        keyspace.acknowledged_by_all = self.acknowledged_by_all
        membership.listeners.append(self._membership_changed)
        self.receiver_factory = ReceiverFactory(self)

    def startService(self):
        super().startService()
        self._membership_changed(self.membership)

    def _membership_changed(self, membership: Membership):
        if not self.running:
            return
        wanted = {p.name: p for p in membership.peers.values() if p.peer_port}
        for name in list(self.streams):
            peer = wanted.get(name)
            stream = self.streams[name]
            if peer is None or (peer.host, peer.peer_port) != (stream.peer.host,
                                                               stream.peer.peer_port):
                del self.streams[name]
                stream.disownServiceParent()
        for name, peer in wanted.items():
            if name not in self.streams:
                stream = PeerStream(peer, self.own_name, self.keyspace, self.reactor,
                                    self.secret, self._acknowledged, self.tls_trust)
                self.streams[name] = stream
                stream.setServiceParent(self)

    def stopService(self):
        if self._watermark_call is not None and self._watermark_call.active():
            self._watermark_call.cancel()
        self._watermark_call = None
        return super().stopService()

    def applied_from_origin(self, origin: str, version: int) -> None:
        if version > self.watermarks.get(origin, -1):
            self.watermarks[origin] = version
            if self._watermark_call is None:
                self._watermark_call = self.reactor.callLater(
                    WATERMARK_INTERVAL, self._send_watermarks)

    def _send_watermarks(self):
        """Tell every region streaming to us what we have from each origin."""
        self._watermark_call = None
        frame = peerwire.encode_control(b"W", self.watermarks)
        for receiver in list(self.receivers):
            receiver.sendString(frame)

    def _changed(self, key, record, seq):
        for stream in self.streams.values():
            stream.change(key, record, seq)

    def _bulk_changed(self):
        """Many changes reached the store at once: streams read them from there."""
        for stream in self.streams.values():
            if stream.protocol is not None and stream.protocol.ready:
                stream.protocol.catch_up()

    def acknowledged_by_all(self) -> int:
        if not self.streams:
            return self.keyspace.store.seq
        return min(stream.safe_acked() for stream in self.streams.values())

    # ------------------------------------------------------------ WAIT

    def acknowledged_count(self, position: int) -> int:
        return sum(s.status.acked >= position for s in self.streams.values())

    def wait(self, position: int, count: int, timeout_ms: int) -> defer.Deferred:
        """Fires with how many peers acknowledged ``position`` once ``count`` have,
        or when ``timeout_ms`` passes (0: no timeout)."""
        done = self.acknowledged_count(position)
        if done >= count or count <= 0:
            return defer.succeed(done)
        d = defer.Deferred()
        entry = (position, count, d)
        self._waiters.append(entry)
        if timeout_ms > 0:
            call = self.reactor.callLater(timeout_ms / 1000, self._expire_waiter, entry)
            d.addBoth(lambda result: (call.cancel() if call.active() else None, result)[1])
        return d

    def _expire_waiter(self, entry):
        if entry in self._waiters:
            self._waiters.remove(entry)
            entry[2].callback(self.acknowledged_count(entry[0]))

    def _acknowledged(self):
        for entry in list(self._waiters):
            position, count, d = entry
            done = self.acknowledged_count(position)
            if done >= count:
                self._waiters.remove(entry)
                d.callback(done)

    # ------------------------------------------------------------ status

    def info_lines(self) -> list[str]:
        full, partial = self.sync_counts()
        live = sum(s.status.state == "live" for s in self.streams.values())
        lines = [f"connected_peers:{live}",
                 f"replication_position:{self.keyspace.store.seq}",
                 f"replication_applied:{self.applied}",
                 f"full_syncs:{full}", f"partial_syncs:{partial}"]
        for i, stream in enumerate(self.streams.values()):
            s = stream.status
            behind, waited = stream.lag()
            lines.append(
                f"peer{i}:name={s.name},addr={s.address},state={s.state},acked={s.acked},"
                f"lag_ops={behind},lag_ms={waited:.1f},last_ack_ms={s.last_ack_ms:.1f},"
                f"full_syncs={s.full_syncs},partial_syncs={s.partial_syncs},"
                f"forwarded={s.forwarded},not_forwarded={s.not_forwarded}")
        return lines

    def sync_counts(self) -> tuple[int, int]:
        """(full, partial) catch-ups of peers from our store, over all streams."""
        statuses = [s.status for s in self.streams.values()]
        return (sum(s.full_syncs for s in statuses), sum(s.partial_syncs for s in statuses))

    def peers(self) -> list[tuple[str, str, str, int, float]]:
        out = []
        for stream in self.streams.values():
            behind, waited = stream.lag()
            out.append((stream.name, stream.status.address, stream.status.state, behind, waited))
        return out
