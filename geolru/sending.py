"""Our change stream to one peer, as a state machine (sans-IO).

The stream is this region's store in position order.  On connect the peer says
where to resume; the sender reads the store from there (``changes_since``: what
waits for a peer waits on disk), then, once caught up, goes *live*: each write
is queued as it happens and sent a batch per turn, at most ``WINDOW`` frames
unacknowledged.

A record made elsewhere is *held* instead of forwarded: dropped once the peer's
publication says it has the record from its origin, forwarded after
``FORWARD_AFTER``.  A newer write of the same key replaces what waits for it.
Every frame says how far the stream is complete (*through*): below the first
record still queued or held, so a peer never acknowledges past what it lacks.

Fed frames (``received``), the store's changes (``changed``) and connection
events; it sends frames through the ``send`` callable it is given on connect and
schedules its timers on the injected clock (``IReactorTime``).
"""

from __future__ import annotations

from collections import OrderedDict

import attrs
from twisted.logger import Logger

from geolru import peerwire
from geolru.auth import registration_mac
from geolru.stability import Publication

BATCH_RECORDS = 500
BATCH_BYTES = 1 << 20
WINDOW = 8  # frames sent and not yet applied by the peer
LIVE_QUEUE_LIMIT = 20_000  # records waiting in memory before going back to the store
HANDSHAKE_TIMEOUT = 10.0
FORWARD_AFTER = 0.25  # seconds a record made elsewhere is held before it is forwarded
SKIP_DELAY = 0.05  # seconds: how soon a peer hears of positions that held nothing for it
# what reading a malformed frame raises: the connection is failed, the region goes on
BAD_FRAME = (peerwire.WireError, KeyError, ValueError, TypeError, AttributeError)


def end_stream(send, why: str | None = None) -> None:
    """Close a connection through its ``send``, saying why first (an ``E`` frame)."""
    if why is not None:
        send(b"E" + why.encode())
    send(None)


def peer_ended(log, peer: str | None, why: str, on_refused) -> None:
    """The peer sent an ``E`` frame: log it.  A refusal means this region's data must
    not be served (it was forgotten, or is older than deletes the peer collected):
    ``on_refused(peer, why)``."""
    refused = why.startswith("refused:")
    (log.error if refused else log.warn)(
        "{peer} ended the replication stream: {why}", peer=peer, why=why)
    if refused:
        on_refused(peer, why)


def first_batch(changes) -> int:
    """How many of ``changes`` (seq, key, record) fit in one batch (at least one)."""
    size = 0
    count = 0
    for count, (_, key, record) in enumerate(changes, 1):
        size += len(key) + len(record.value or b"")
        if count >= BATCH_RECORDS or size >= BATCH_BYTES:
            break
    return count


@attrs.define(eq=False)
class PeerStatus:
    """What a region knows of one peer's progress on its stream."""

    name: str
    address: str = ""
    state: str = "connecting"  # connecting, full-sync, partial-sync, live, refused
    acked: int = 0  # our stream: the peer committed every change up to here
    written: int = 0  # ... and every write of ours up to here (what WAIT counts)
    sent: int = 0  # our last position sent to the peer
    full_syncs: int = 0
    partial_syncs: int = 0
    last_ack_ms: float = 0.0  # send -> apply time of the last acknowledged frame
    oldest_unacked: float | None = None  # clock seconds the oldest unapplied frame was sent
    forwarded: int = 0  # records made elsewhere sent on, in live mode
    not_forwarded: int = 0  # records made elsewhere the peer had from their origin


@attrs.define(eq=False)
class Sender:
    """Our stream to ``peer``; one object for the peer's whole life, across connections."""

    peer: str
    own_name: str
    store: object  # geolru.store.Store
    clock: object  # IReactorTime
    stability: object  # geolru.stability.Stability
    on_acked: object  # () -> None: the peer committed more (WAIT)
    on_refused: object  # (peer, why) -> None: the peer refuses this region's data
    secret: str = ""
    status: PeerStatus = None
    log = Logger()
    _send: object = None  # set while connected
    ready: bool = False  # the peer said where to resume
    live: bool = False
    position: int = 0  # every change up to here is sent, skipped, queued or held
    _queue: OrderedDict = attrs.field(factory=OrderedDict)  # key -> (seq, record)
    _held: OrderedDict = attrs.field(factory=OrderedDict)  # seq -> (key, record, since)
    _held_at: dict = attrs.field(factory=dict)  # key -> [seq, ...] of its held records
    _forwards: list = attrs.field(factory=list)  # [(seq, key, record)] held long enough
    _in_flight: list = attrs.field(factory=list)  # [(through, sent at)], oldest first
    peer_applied: dict = attrs.field(factory=dict)  # origin -> newest version it applied
    _timers: dict = attrs.field(factory=dict)  # name -> IDelayedCall

    def __attrs_post_init__(self):
        if self.status is None:
            self.status = PeerStatus(self.peer)
        self.status.acked = self.status.written = int(
            self.store.get_meta(f"acked:{self.peer}", 0) or 0)

    # ------------------------------------------------------------ connection

    def connected(self, send) -> None:
        self._reset()
        self._send = send
        self._later("handshake", HANDSHAKE_TIMEOUT, self._handshake_timeout)

    @property
    def has_connection(self) -> bool:
        return self._send is not None

    def is_current(self, send) -> bool:
        """Whether ``send`` belongs to the connection this stream uses now."""
        return self.has_connection and self._send == send

    def disconnected(self) -> None:
        self._reset()
        if self.status.state != "refused":
            self.status.state = "connecting"

    def _reset(self) -> None:
        for call in self._timers.values():
            if call.active():
                call.cancel()
        self._timers.clear()
        self._send = None
        self.ready = self.live = False
        self._queue.clear()
        self._held.clear()
        self._held_at.clear()
        self._forwards.clear()
        self._in_flight.clear()
        self.peer_applied = {}
        self.status.oldest_unacked = None

    def _handshake_timeout(self) -> None:
        self._fail("no resume position within the handshake timeout")

    def _fail(self, message: str) -> None:
        if self._send is not None:
            end_stream(self._send, message)

    # ------------------------------------------------------------ frames in

    def received(self, frame: bytes) -> None:
        kind = frame[:1]
        try:
            if kind == b"C":
                self._hello(frame[1:].decode())
            elif kind == b"R":
                self._cancel("handshake")
                self.start(int(peerwire.decode_control(frame)["from"]))
            elif kind == b"P":
                self.applied(*peerwire.decode_progress(frame))
            elif kind == b"A":
                self.acknowledged(*peerwire.decode_progress(frame))
            elif kind == b"W":
                self.published(peerwire.decode_control(frame))
            elif kind == b"E":
                peer_ended(self.log, self.peer, frame[1:].decode(errors="replace"),
                           self.on_refused)
                if self._send is not None:
                    end_stream(self._send)
            else:
                raise peerwire.WireError(f"unexpected frame {kind!r}")
        except BAD_FRAME as e:
            self._fail(str(e))

    def _hello(self, nonce: str) -> None:
        name = self.own_name
        mac = registration_mac(self.secret, nonce, [name.encode()]) if self.secret else ""
        self._send(peerwire.encode_control(b"H", {
            "name": name, "store_id": self.store.store_id, "mac": mac,
            "protocol": peerwire.PROTOCOL}))

    def start(self, position: int) -> None:
        """The peer wants the changes after ``position``."""
        status = self.status
        collected = self.store.collected_upto
        if 0 < position < collected:
            # deletes between its position and ours are gone from our store: streaming
            # would leave keys on the peer that the cluster deleted
            status.state = "refused"
            self.log.error(
                "refusing to stream to {name}: it asks for changes after position "
                "{position}, but deletes up to {collected} are collected here (it was "
                "forgotten, or restored from an old copy): empty its data_dir to rejoin",
                name=self.peer, position=position, collected=collected)
            self._fail(f"refused: your data is older than deletes this region has "
                       f"collected (position {position} < {collected}); empty your "
                       f"data_dir to rejoin")
            return
        self.position = position
        self.ready = True
        if position == 0:
            status.state = "full-sync"
            status.full_syncs += 1
        else:
            status.state = "partial-sync"
            status.partial_syncs += 1
        # the peer's word: it may have been wiped
        status.acked = status.sent = status.written = position
        self.store.put_meta(f"acked:{self.peer}", position)
        self.log.info("streaming to {name} from position {position} ({kind})",
                      name=self.peer, position=position, kind=status.state)
        self.pump()

    def applied(self, through: int, reached: int = 0) -> None:
        """The peer applied everything up to ``through``: room in the window."""
        status = self.status
        now = self.clock.seconds()
        in_flight = self._in_flight
        while in_flight and in_flight[0][0] <= through:
            _, sent = in_flight.pop(0)
            status.last_ack_ms = (now - sent) * 1000
        status.oldest_unacked = in_flight[0][1] if in_flight else None
        if self.live:
            if self._queue or self._forwards:
                self._soon("flush", 0, self.flush)
            else:
                self._skip_soon()
        elif self.ready:
            self.pump()

    def acknowledged(self, through: int, reached: int) -> None:
        """The peer committed everything up to ``through``, and our own writes up
        to ``reached`` (none is held back)."""
        status = self.status
        if through > status.acked:
            status.acked = through
            self.store.put_meta(f"acked:{self.peer}", through)
        if reached > status.written:
            status.written = reached
            self.on_acked()
        self.applied(through)

    def published(self, control: dict) -> None:
        applied = control.get("applied", {})
        marks = self.peer_applied
        for origin, version in applied.items():
            if int(version) > marks.get(origin, -1):
                marks[str(origin)] = int(version)
        self.stability.published(self.peer, Publication(
            str(control["store_id"]), int(control["position"]), int(control["acked"]),
            tuple(str(m) for m in control.get("members", ()))))
        if self._held:
            self._check_held(expire=False)

    # ------------------------------------------------------------ changes out

    def pump(self) -> None:
        """Send from the store while the window allows; go live once caught up."""
        store = self.store
        while self._send is not None and not self.live and len(self._in_flight) < WINDOW:
            changes = store.changes_since(self.position, BATCH_RECORDS)
            count = first_batch(changes)
            if count:
                batch = changes[:count]
                self.position = batch[-1][0]
                self._send_batch(batch)
            if count == len(changes) < BATCH_RECORDS:
                self.live = True  # every later write arrives through changed()
                self.position = max(self.position, store.seq)
                self.status.state = "live"
                self._skip_soon()

    def changed(self, key: bytes, record, seq: int) -> None:
        """The store took a write (``seq``): queue it, hold it, or skip it."""
        if not self.live:
            return
        queue, held = self._queue, self._held
        if record.counter is None:
            # a plain record won the merge: every older one of the key is obsolete
            # wherever this one arrives (a joined counter is not: its increments
            # travel in their own records)
            queue.pop(key, None)
            for older in self._held_at.pop(key, ()):
                del held[older]
        self.position = seq
        origin = record.origin
        if origin == self.peer:  # the peer made it: it has it
            self._skip_soon()
            return
        if origin != self.own_name:  # made elsewhere: forward only if needed
            if record.version <= self.peer_applied.get(origin, -1):
                self.status.not_forwarded += 1
                self._skip_soon()
                return
            held[seq] = (key, record, self.clock.seconds())
            self._held_at.setdefault(key, []).append(seq)
            if "held" not in self._timers:
                self._later("held", FORWARD_AFTER, self._check_held)
        else:
            queue.pop(key, None)  # (our newer counter holds our older increments)
            queue[key] = (seq, record)
            self._soon("flush", 0, self.flush)
        if self.waiting() > LIVE_QUEUE_LIMIT:
            self.leave_live()  # the peer is slow: read from the store instead

    def leave_live(self) -> None:
        """Drop what waits in memory and read it from the store (many changes at
        once, or a peer too slow for memory)."""
        if not self.live:
            return
        self.position = self.through()
        self._queue.clear()
        self._held.clear()
        self._held_at.clear()
        self._forwards.clear()
        self._cancel("held")
        self.live = False
        self.status.state = "partial-sync"
        self._soon("pump", 0, self.pump)

    def through(self) -> int:
        """The position up to which every change is sent or not for the peer."""
        through = self.position
        if self._queue:
            through = min(through, next(iter(self._queue.values()))[0] - 1)
        if self._held:
            through = min(through, next(iter(self._held)) - 1)
        if self._forwards:
            through = min(through, self._forwards[0][0] - 1)
        return through

    def flush(self) -> None:
        """Send what waits (forwards first: they are older), while the window allows."""
        queue, forwards = self._queue, self._forwards
        while self.live and (queue or forwards) and len(self._in_flight) < WINDOW:
            if forwards:
                count = first_batch(forwards)
                batch = forwards[:count]
                del forwards[:count]
            else:
                count = first_batch((seq, key, rec) for key, (seq, rec) in queue.items())
                batch = [(seq, key, rec) for key, (seq, rec) in
                         (queue.popitem(last=False) for _ in range(count))]
            self._send_batch(batch)
        if not queue and not forwards:
            self._skip_soon()

    def _send_batch(self, changes) -> None:
        through = self.through() if self.live else changes[-1][0]
        self._send(peerwire.encode_batch(through, changes))
        self._sent(through)

    def _sent(self, through: int) -> None:
        status = self.status
        status.sent = max(status.sent, through)
        now = self.clock.seconds()
        self._in_flight.append((through, now))
        if status.oldest_unacked is None:
            status.oldest_unacked = now

    def _skip_soon(self) -> None:
        """Tell the peer, within ``SKIP_DELAY``, of positions that held nothing for it,
        so that it acknowledges them (and publishes them) without waiting for a write."""
        if self.live and "skip" not in self._timers:
            self._later("skip", SKIP_DELAY, self._send_skip)

    def _send_skip(self) -> None:
        through = self.through()
        if self.live and through > self.status.sent:
            if len(self._in_flight) < WINDOW:
                self._send(peerwire.encode_position(b"S", through))
                self._sent(through)
            # else: applied() asks again when the window opens

    def _check_held(self, expire: bool = True) -> None:
        """Drop the held records the peer has from their origin; with ``expire``,
        forward those held ``FORWARD_AFTER`` or longer."""
        held = self._held
        marks = self.peer_applied
        due = self.clock.seconds() - FORWARD_AFTER
        status = self.status
        forward = []
        for seq, (key, record, since) in list(held.items()):
            if record.version <= marks.get(record.origin, -1):
                status.not_forwarded += 1
            elif expire and since <= due:
                forward.append((seq, key, record))
            else:
                continue
            del held[seq]
            seqs = self._held_at[key]
            seqs.remove(seq)
            if not seqs:
                del self._held_at[key]
        if forward:
            status.forwarded += len(forward)
            self._forwards = sorted(self._forwards + forward, key=lambda change: change[0])
            self._soon("flush", 0, self.flush)
        elif not held:
            self._skip_soon()
        if held and "held" not in self._timers:
            oldest = next(iter(held.values()))[2]
            wait = max(0.0, oldest + FORWARD_AFTER - self.clock.seconds())
            self._later("held", wait, self._check_held)

    # ------------------------------------------------------------ status

    def waiting(self) -> int:
        """Records waiting in memory for the peer (queued or held)."""
        return len(self._queue) + len(self._held) + len(self._forwards)

    def lag(self) -> tuple[int, float]:
        """(changes not yet acknowledged, ms the oldest unapplied frame has waited)."""
        if not self.live:  # not streaming live: all of it waits
            behind = max(0, self.store.seq - self.status.acked)
        else:
            behind = max(0, self.status.sent - self.status.written) + self.waiting()
        oldest = self.status.oldest_unacked
        waited = 0.0 if oldest is None else (self.clock.seconds() - oldest) * 1000
        return behind, waited

    # ------------------------------------------------------------ timers

    def _later(self, name: str, delay: float, function) -> None:
        self._timers[name] = self.clock.callLater(delay, self._fire, name, function)

    def _fire(self, name: str, function) -> None:
        del self._timers[name]
        function()

    def _soon(self, name: str, delay: float, function) -> None:
        if name not in self._timers:
            self._later(name, delay, function)

    def _cancel(self, name: str) -> None:
        call = self._timers.pop(name, None)
        if call is not None and call.active():
            call.cancel()
