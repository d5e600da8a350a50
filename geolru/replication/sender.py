"""Our change stream to one peer, as a state machine (sans-IO).

The stream is this region's store in position order.  On connect the peer says
where to resume; the sender reads the store from there (``changes_since``: what
waits for a peer waits on disk), then, once caught up, goes *live*: each write
is queued as it happens and sent a batch per reactor turn, within a window sized
to the link (``geolru.replication.window``).

A record made elsewhere is *held* instead of forwarded, in catch-up as in live
mode: the peer gets it from its origin, and says so in its publications (the
newest version it applied from each origin's stream); then it is dropped.  It
is forwarded only when the origin's stream to the peer has not moved for a
while (the origin is down, cut off, or lost the write), or in live mode when
holding it would take more memory than ``buffer`` allows.  So each record reaches
a region about once, whatever the number of regions.  A newer write of the same
key replaces what waits for it.  Every frame says how far the stream is complete
(*through*): below the first record still queued or held, so a peer never
acknowledges past what it lacks.

Fed frames (``received``), the store's changes (``changed``) and connection
events; it sends frames through the ``send`` callable it is given on connect and
schedules its timers on the injected clock (``IReactorTime``).
"""

from __future__ import annotations

import enum
import heapq
import itertools
from collections import OrderedDict
from collections.abc import Callable

import attrs

from geolru.common.auth import registration_mac
from geolru.common.collaborators import Clock, EventLog, SilentLog
from geolru.model import listpos
from geolru.model.counters import counter_origins, holds_registers
from geolru.model.hashkeys import (
    HASH,
    LIST,
    ZSET,
    HashMeta,
    identity_slot,
    is_field,
    is_list_element,
    key_id,
    parse,
)
from geolru.model.headers import EXPIRY_ORIGIN
from geolru.model.hlc import physical_ms
from geolru.model.listpos import newest_of
from geolru.model.orset import UNKNOWN, Member
from geolru.model.slots import SlotSet
from geolru.model.zmember import ZMember
from geolru.replication import peerwire
from geolru.replication.ports import ReplicatedStore
from geolru.replication.stability import Publication, Stability
from geolru.replication.window import Window

BATCH_RECORDS = 500
BATCH_BYTES = 1 << 20
READS_PER_TURN = 4  # store reads a catch-up makes in one reactor turn, at most
BUFFER = 64 << 20  # bytes of records waiting in memory for a peer (config: peer_buffer)
RECORD_OVERHEAD = 160  # bytes of memory a waiting record takes besides its key and value
HANDSHAKE_TIMEOUT = 10.0
# seconds a record made elsewhere is held, beyond the round trip to the peer, while
# its origin's stream to the peer does not move
FORWARD_AFTER = 0.25
# seconds after connecting before an origin that never streamed to the peer counts
# as standing still: the peer's other streams may connect this much later (the
# reconnect backoff, at most 2 s, plus up to 1 s of jitter), and what they carry
# should not come twice
ORIGIN_GRACE = 3.0
LATE = 0.05  # seconds past its due time after which the held timer waits for input
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
        size += len(key) + len(record.value or b"") + len(record.counter or "")
        if count >= BATCH_RECORDS or size >= BATCH_BYTES:
            break
    return count


def same_write(record) -> tuple:
    """What the records of one write share: its version and origin."""
    return record.version, record.origin


def whole_writes(changes, count: int) -> int:
    """``count`` of ``changes``, or more, up to the end of the last one's write."""
    if 0 < count < len(changes):
        write = same_write(changes[count - 1][2])
        while count < len(changes) and same_write(changes[count][2]) == write:
            count += 1
    return count


def catch_up_frames(changes: list) -> list:
    """``changes`` cut into frames of about ``first_batch`` each, never cutting a
    write, nor a collection (its header and the elements of it here) in two."""
    last = _last_of_each_collection(changes)
    frames, start = [], 0
    while start < len(changes):
        end = _frame_end(changes, start, last)
        frames.append(changes[start:end])
        start = end
    return frames


def _group(identity: bytes) -> bytes:
    """What a frame keeps whole: an element's collection (its key's identity), or a
    key's own record."""
    return _collection(identity) if is_field(identity) else identity


def _last_of_each_collection(changes: list) -> dict:
    return {_group(key): index for index, (_, key, _) in enumerate(changes)}


def _frame_end(changes: list, start: int, last: dict, offset: int = 0) -> int:
    """Where the frame that starts at ``start`` ends (``last``: the index, less
    ``offset``, of each collection's last record)."""
    end = start + first_batch(changes[start:start + BATCH_RECORDS])
    index = start
    while True:
        while index < end:
            end = max(end, last.get(_group(changes[index][1]), offset) - offset + 1)
            index += 1
        whole = whole_writes(changes, end)
        if whole == end:
            return end
        end = whole


def footprint(key: bytes, record) -> int:
    """Bytes of memory a record waiting for a peer takes (about): its value, and a
    counter's parts (a HyperLogLog's hold registers, up to 16 KB a region)."""
    return len(key) + len(record.value or b"") + len(record.counter or "") + RECORD_OVERHEAD


@attrs.define(eq=False)
class Holding:
    """Records made elsewhere, held for one peer: by position, by key, by origin, and
    a collection's elements by the identity of its key."""

    records: OrderedDict = attrs.field(factory=OrderedDict)  # seq -> (key, record, since)
    by_key: dict = attrs.field(factory=dict)  # key -> [seq, ...]
    elements: dict = attrs.field(factory=dict)  # a collection's key's identity -> {seq}
    # origin -> OrderedDict {seq: None}, oldest first.  Not a dict: taking a dict's
    # first key after deleting the ones before it scans past their empty slots, and
    # dropping a peer's covered records one by one went quadratic (5 s of CPU for
    # 350k records in a catch-up)
    by_origin: dict = attrs.field(factory=dict)
    bytes: int = 0

    def __len__(self) -> int:
        return len(self.records)

    def first(self) -> int | None:
        return next(iter(self.records), None)

    def add(self, seq: int, key: bytes, record, now: float) -> None:
        self.records[seq] = (key, record, now)
        self.by_key.setdefault(key, []).append(seq)
        of_origin = self.by_origin.get(record.origin)
        if of_origin is None:
            of_origin = self.by_origin[record.origin] = OrderedDict()
        of_origin[seq] = None
        if is_field(key):
            self.elements.setdefault(_collection(key), set()).add(seq)
        self.bytes += footprint(key, record)

    def remove(self, seq: int):
        key, record, since = self.records.pop(seq)
        seqs = self.by_key[key]
        seqs.remove(seq)
        if not seqs:
            del self.by_key[key]
        if is_field(key):
            collection = _collection(key)
            of_collection = self.elements[collection]
            of_collection.discard(seq)
            if not of_collection:
                del self.elements[collection]
        of_origin = self.by_origin[record.origin]
        del of_origin[seq]
        if not of_origin:
            del self.by_origin[record.origin]
        self.bytes -= footprint(key, record)
        return key, record, since

    def drop_key(self, key: bytes) -> None:
        seqs = self.by_key.get(key)
        if seqs:
            for seq in list(seqs):
                self.remove(seq)

    def take_key(self, key: bytes) -> list:
        """Take the records held of ``key`` (an identity)."""
        return [(seq, *self.remove(seq)[:2]) for seq in list(self.by_key.get(key, ()))]

    def take_elements(self, key: bytes) -> list:
        """Take the elements held of the collection whose key's identity is ``key``."""
        return [(seq, *self.remove(seq)[:2])
                for seq in sorted(self.elements.get(key, ()))]

    def covered(self, origin: str, version: int) -> int:
        """Drop the oldest records of ``origin`` up to ``version`` (the peer has
        them from their origin); how many."""
        of_origin = self.by_origin.get(origin)
        dropped = 0
        while of_origin:
            seq = next(iter(of_origin))
            if newest_of(*self.records[seq][:2]) > version:
                break
            self.remove(seq)
            dropped += 1
        return dropped

    def take_write(self, origin: str, write: tuple) -> list:
        """Take the records of ``write`` (``same_write``) held last of ``origin``: those
        a frame being applied, or a catch-up's read, held before its next record."""
        of_origin = self.by_origin.get(origin)
        seqs = []
        if of_origin:
            records = self.records
            for seq in reversed(of_origin):
                if same_write(records[seq][1]) != write:
                    break
                seqs.append(seq)
        return [(seq, *self.remove(seq)[:2]) for seq in reversed(seqs)]

    def due(self, origin: str, held_since: float) -> list:
        """Take the records of ``origin`` held since ``held_since`` or before, and the
        rest of the last one's write (held a moment later: the clock moves while one
        frame is applied)."""
        of_origin = self.by_origin.get(origin)
        taken = []
        while of_origin:
            seq = next(iter(of_origin))
            if self.records[seq][2] > held_since:
                break
            key, record, _ = self.remove(seq)
            taken.append((seq, key, record))
        return self._rest_of_write(taken)

    def oldest(self, count: int) -> list:
        """Take the ``count`` records held longest, and the rest of the last one's
        write (the records of one write are never split: a collection's header and
        its elements go on together)."""
        return self._rest_of_write([(seq, *self.remove(seq)[:2])
                                    for seq in list(itertools.islice(self.records, count))])

    def _rest_of_write(self, taken: list) -> list:
        """``taken`` and the records held next that are of its last one's write."""
        if taken:
            write = same_write(taken[-1][2])
            records = self.records
            while records:
                seq = next(iter(records))
                if same_write(records[seq][1]) != write:
                    break
                taken.append((seq, *self.remove(seq)[:2]))
        return taken

    def clear(self) -> None:
        self.records.clear()
        self.by_key.clear()
        self.by_origin.clear()
        self.elements.clear()
        self.bytes = 0


@attrs.define(eq=False)
class Standing:
    """The keys whose record stands for a write of ours the peer may lack (another
    region's that replaced it): each with our write's position, and the lowest of
    those positions (a heap: a catch-up may stand for many keys, and asks for the
    lowest at every frame); and with that record's origin and version, to let a key
    go once the peer says it has that record from its origin (``covered``)."""

    positions: dict = attrs.field(factory=dict)  # identity -> the position of ours
    stamps: dict = attrs.field(factory=dict)  # identity -> (origin, version) standing
    _heap: list = attrs.field(factory=list)  # (position, identity), some gone since
    # origin -> heap of (version, identity): the record that stands, some gone since
    _by_origin: dict = attrs.field(factory=dict)

    def __len__(self) -> int:
        return len(self.positions)

    def add(self, key: bytes, position: int, origin: str, version: int) -> None:
        """``key``'s record (``origin``'s, at ``version``) stands for our write at
        ``position``: the lowest such position of the key stands, and the newest
        record (which a peer must have: an older one does not hold a newer write of
        ours that it replaced)."""
        if position < self.positions.get(key, position + 1):
            self.positions[key] = position
            heapq.heappush(self._heap, (position, key))
        self.stamps[key] = (origin, version)
        heapq.heappush(self._by_origin.setdefault(origin, []), (version, key))

    def discard(self, key: bytes) -> None:
        self.positions.pop(key, None)
        self.stamps.pop(key, None)
        if not self.positions:
            self.clear()

    def went(self, key: bytes, seq: int, record, own: str) -> None:
        """A record of ``key`` (at ``seq``) is sent: the key stands no more if that is
        the record that stands, or a newer one, or ours from the write that stands
        on (not an older copy, held or deferred before the one that stands came)."""
        stamp = self.stamps.get(key)
        if stamp is not None and (
                seq >= self.positions[key] if record.origin == own
                else (newest_of(key, record), record.origin) >= (stamp[1], stamp[0])):
            self.discard(key)

    def lowest(self) -> int | None:
        heap, positions = self._heap, self.positions
        while heap and positions.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def covered(self, origin: str, version: int) -> None:
        """The peer has ``origin``'s writes up to ``version``: the keys whose standing
        record is one of them stand no more."""
        heap, stamps = self._by_origin.get(origin), self.stamps
        while heap and heap[0][0] <= version:
            key = heapq.heappop(heap)[1]
            stamp = stamps.get(key)
            if stamp is not None and stamp[0] == origin and stamp[1] <= version:
                self.discard(key)
        if not self.positions:
            self.clear()

    def keep(self, keys) -> None:
        """Keep those of ``keys`` only."""
        self.positions = {key: at for key, at in self.positions.items() if key in keys}
        self.stamps = {key: stamp for key, stamp in self.stamps.items() if key in keys}
        if not self.positions:
            self.clear()

    def clear(self) -> None:
        self.positions.clear()
        self.stamps.clear()
        self._heap.clear()
        self._by_origin.clear()


class StreamState(enum.StrEnum):
    """Where a stream to a peer is: the one state its sender keeps (INFO shows it)."""

    CONNECTING = "connecting"  # no connection, or the peer has not said where to resume
    FULL_SYNC = "full-sync"  # reading the whole store to the peer
    PARTIAL_SYNC = "partial-sync"  # reading the store from where the peer resumes
    LIVE = "live"  # caught up: every new write goes from memory
    REFUSED = "refused"  # the peer's data is older than deletes collected here


SENDING = frozenset({StreamState.FULL_SYNC, StreamState.PARTIAL_SYNC, StreamState.LIVE})
LIVE = StreamState.LIVE


@attrs.define(eq=False)
class PeerStatus:
    """What a region knows of one peer's progress on its stream."""

    name: str
    address: str = ""
    state: StreamState = StreamState.CONNECTING
    acked: int = 0  # our stream: the peer committed every change up to here
    written: int = 0  # ... and every write of ours up to here (what WAIT counts)
    sent: int = 0  # our last position sent to the peer
    full_syncs: int = 0
    partial_syncs: int = 0
    last_ack_ms: float = 0.0  # send -> apply time of the last acknowledged frame
    forwarded: int = 0  # records made elsewhere sent on, in live mode
    not_forwarded: int = 0  # records made elsewhere the peer had from their origin


@attrs.define(eq=False)
class Sender:
    """Our stream to ``peer``; one object for the peer's whole life, across connections."""

    peer: str
    own_name: str
    store: ReplicatedStore
    clock: Clock
    stability: Stability
    on_acked: Callable[[], None]  # the peer committed more (WAIT)
    on_refused: Callable[[str, str], None]  # (peer, why): the peer refuses our data
    secret: str = ""
    buffer: int = BUFFER  # bytes of records waiting in memory, at most (about)
    window: Window = attrs.field(factory=Window)
    status: PeerStatus = None
    log: EventLog = attrs.field(factory=SilentLog, kw_only=True)
    _send: Callable[[bytes | None], None] | None = None  # set while connected
    position: int = 0  # every change up to here is sent, skipped, queued or held
    protocol: int = 0  # the version the peer asked for (peerwire.negotiate), once it did
    messages_sent: int = 0  # pub/sub messages sent to the peer
    messages_dropped: int = 0  # ... and not sent: the stream was down (or too old)
    # key -> (seq, record, unit, footprint): unit is the transaction (EXEC) the write
    # belongs to, None alone; a frame never splits a unit
    _queue: OrderedDict = attrs.field(factory=OrderedDict)
    _queue_bytes: int = 0
    _held: Holding = attrs.field(factory=Holding)
    _forwards: list = attrs.field(factory=list)  # [(seq, key, record)] to send on
    # the identities of the keys whose elements this catch-up sent: their header (at a
    # later position: each write of an element rewrites it) goes too
    _sent_elements: set = attrs.field(factory=set)
    # a catch-up's elements whose key's record is at a later position than the store
    # read that found them: key's identity -> [(seq, key, record)], sent with that
    # record once a read reaches it (``_take``), never before it
    _deferred: dict = attrs.field(factory=dict)
    # how far the peer had our writes when this catch-up began (what it says during
    # the catch-up may count our records this catch-up sent, not those it will
    # reach: one of ours inside another region's record would be taken as had)
    _own_before_catch_up: int = -1
    _forward_bytes: int = 0
    peer_applied: dict = attrs.field(factory=dict)  # origin -> newest version it applied
    _moved: dict = attrs.field(factory=dict)  # origin -> when peer_applied last grew
    _connected_at: float = 0.0
    _held_due: float = 0.0  # when the "held" timer is due
    _held_put_off: bool = False  # it fired late once, and was put off for input to be read
    _timers: dict = attrs.field(factory=dict)  # name -> IDelayedCall
    # cluster mode (docs/cluster.md): the peer's region, and the slots it serves as
    # the membership says (None: all) and as it said itself when it asked for the stream
    peer_region: str = ""
    member_slots: SlotSet | None = None
    peer_slots: SlotSet | None = None
    acked_store: str | None = None  # the peer's store that ``status.acked`` is of
    # whether this region's store may be read out to peers: not while a region that
    # starts waits to hear that its peers accept its data (``Replicator.hold_streams``)
    may_stream: Callable[[], bool] = attrs.field(default=lambda: True, kw_only=True)
    # the keyspace's notes of writes of ours that a peer's record replaced here
    # (``Keyspace.replaced_own``, ``PeerRecords._replacing``)
    replaced_own: dict = attrs.field(factory=dict, kw_only=True)
    # the keys whose record stands for a write of ours the peer may lack: the stream is
    # complete only below the lowest such write until that record goes
    _stands: Standing = attrs.field(factory=Standing)
    _urgent: set = attrs.field(factory=set)  # writes (``same_write``) going at once
    # the queued records made elsewhere, by write (``same_write``) -> {identity}
    _queued_elsewhere: dict = attrs.field(factory=dict)
    _unclaimed_upto: int = 0  # the last of our records sent at position 0 (``_unclaimed``)
    _unclaimed_version: int = 0  # ... the newest version among them
    _claimed: int = 0  # ... and how far the peer was told they are there (``_claim``)

    def __attrs_post_init__(self):
        if self.status is None:
            self.status = PeerStatus(self.peer)
        if not self.peer_region:
            self.peer_region = self.peer
        self.status.acked = self.status.written = int(
            self.store.get_meta(f"acked:{self.peer}", 0) or 0)
        self.acked_store = self.store.get_meta(f"acked_store:{self.peer}", None)

    # ------------------------------------------------------------ connection

    def connected(self, send) -> None:
        self._reset()
        self._send = send
        self._connected_at = self.clock.seconds()
        self._later("handshake", HANDSHAKE_TIMEOUT, self._handshake_timeout)

    @property
    def has_connection(self) -> bool:
        return self._send is not None

    def is_current(self, send) -> bool:
        """Whether ``send`` belongs to the connection this stream uses now."""
        return self.has_connection and self._send == send

    @property
    def ready(self) -> bool:
        """The peer said where to resume: changes go to it."""
        return self.status.state in SENDING

    @property
    def live(self) -> bool:
        """Caught up: new writes go to the peer from memory, not from the store."""
        return self.status.state is LIVE

    def disconnected(self) -> None:
        self._reset()

    def _reset(self) -> None:
        for call in self._timers.values():
            if call.active():
                call.cancel()
        self._timers.clear()
        self._send = None
        if self.status.state is not StreamState.REFUSED:
            self.status.state = StreamState.CONNECTING
        self._drop_waiting()
        self.window.reset()
        self.peer_applied = {}
        self._moved = {}

    def _drop_waiting(self) -> None:
        self._queue.clear()
        self._held.clear()
        self._sent_elements.clear()
        self._deferred.clear()
        self._forwards.clear()
        self._stands.clear()
        self._urgent.clear()
        self._unclaimed_upto = self._claimed = self._unclaimed_version = 0
        self._queued_elsewhere.clear()
        self._queue_bytes = self._forward_bytes = 0

    def stop(self, why: str) -> None:
        """End the stream (its region's data was refused); it may connect again."""
        self._fail(why)

    def released(self) -> None:
        """Our store may be read out to peers now (``may_stream``)."""
        self._resume()

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
                request = peerwire.decode_control(frame)
                slots = request.get("slots")
                store_id, began = request.get("store_id"), request.get("began")
                self.start(int(request["from"]),
                           int(request.get("protocol", peerwire.OLDEST_PROTOCOL)),
                           None if slots is None else SlotSet.parse(str(slots)),
                           None if store_id is None else str(store_id),
                           None if began is None else int(began))
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
            "protocol": peerwire.OLDEST_PROTOCOL,
            "protocols": [peerwire.OLDEST_PROTOCOL, peerwire.PROTOCOL],
            "position": self.store.seq, "collected": self.store.collected_upto}))

    def start(self, position: int, protocol: int = peerwire.PROTOCOL,
              slots: SlotSet | None = None, store_id: str | None = None,
              began: int | None = None) -> None:
        """The peer wants the changes after ``position``, in ``protocol``, of the keys
        in ``slots`` (a shard of a region in cluster mode; None: every key), for its
        store ``store_id``, whose full sync from ours began when tombstones up to
        ``began`` were collected here (None: a release that does not say)."""
        status = self.status
        self.peer_slots = None if slots is None or slots.complete else slots
        if not peerwire.OLDEST_PROTOCOL <= protocol <= peerwire.PROTOCOL:
            self._fail(f"replication protocol {protocol} asked for; this region speaks "
                       f"{peerwire.OLDEST_PROTOCOL}-{peerwire.PROTOCOL}")
            return
        self.protocol = protocol
        if store_id is not None:
            # its other stores' publications no longer hold (a wiped peer's old one
            # must not let a delete go that this store has not committed)
            self.stability.store_seen(self.peer, store_id)
        collected = self.store.collected_upto
        if self._older_than_collected(position, store_id, began, collected):
            # deletes between its position and ours are gone from our store: streaming
            # would leave keys on the peer that the cluster deleted
            status.state = StreamState.REFUSED
            self.log.error(
                "refusing to stream to {name}: it asks for changes after position "
                "{position}, but deletes up to {collected} are collected here (it was "
                "forgotten, or its data folder is an older copy: a restore, a power "
                "cut): empty its data_dir to rejoin",
                name=self.peer, position=position, collected=collected)
            self._fail(f"refused: your data is older than deletes this region has "
                       f"collected (position {position} < {collected}); empty your "
                       f"data_dir to rejoin")
            return
        if store_id is not None and store_id != self.acked_store:
            self.acked_store = store_id
            self.store.put_meta(f"acked_store:{self.peer}", store_id)
        self.position = position
        self._own_before_catch_up = self.peer_applied.get(self.own_name, -1)
        self._stand_for_replaced()
        if position == 0:
            status.state = StreamState.FULL_SYNC
            status.full_syncs += 1
        else:
            status.state = StreamState.PARTIAL_SYNC
            status.partial_syncs += 1
        # where it resumes: it may have been wiped (then lower than it acknowledged).
        # Not where it committed: it reads its position back from its commit buffer,
        # which a failing disk may hold for long, and only its A says it committed
        # (a WAIT counted a peer whose commits were failing: the simulator's full disk)
        status.sent = position
        status.acked = min(status.acked, position)
        status.written = min(status.written, position)
        self.store.put_meta(f"acked:{self.peer}", status.acked)
        self.log.info("streaming to {name} from position {position} ({kind})",
                      name=self.peer, position=position, kind=status.state)
        # accepted, at once: a region that starts waits for that word from its peers
        # before it streams in turn (``Replicator.hold_streams``), as ours may now
        self._send(peerwire.encode_position(b"S", position))
        self.pump()

    def _older_than_collected(self, position: int, store_id: str | None,
                              began: int | None, collected: int) -> bool:
        """Whether the peer may hold a version of a key whose tombstone went from our
        store: streaming from ``position`` would not delete it there.

        - A store that resumes below what it acknowledged as committed is an older
          copy of itself (a restore, a power cut that lost its last commits): it
          may have lost writes of its own whose tombstones went here on its word,
          even asking for everything (0).
        - A store whose full sync from ours began when every tombstone collected
          here so far already was has nothing from us older than those deletes: it
          may resume from anywhere (a first sync cut off before it caught up).  One
          collected since went on that store's own word that it had committed our
          stream past it.
        """
        if position >= collected:
            return False
        if store_id is not None and store_id == self.acked_store \
                and position < self.status.acked:
            return True
        return position > 0 and (began is None or collected > began)

    def applied(self, through: int, reached: int = 0) -> None:
        """The peer applied everything up to ``through``: room in the window."""
        rtt = self.window.applied(through, self.clock.seconds())
        if rtt is not None:
            self.status.last_ack_ms = rtt * 1000
        self._resume()

    def _resume(self) -> None:
        """Send what the window and the buffer now allow."""
        if self.live:
            if self._queue or self._forwards:
                self._flush_soon()
            else:
                self._skip_soon()
        elif self.ready:
            self._soon("pump", 0, self.pump)

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
        now = self.clock.seconds()
        for origin, version in applied.items():
            origin, version = str(origin), int(version)
            if version > marks.get(origin, -1):
                marks[origin] = version
                self._moved[origin] = now
                if self._stands:
                    self._stands.covered(origin, version)
                    if self._unclaimed_upto:
                        self._claim()
        self.stability.published(self.peer, Publication(
            str(control["store_id"]), int(control["position"]), int(control["acked"]),
            tuple(str(m) for m in control.get("members", ()))))
        if len(self._held):
            self._check_held(expire=False)

    # ------------------------------------------------------------ changes out

    def _take(self, seq: int, key: bytes, record, live: bool) -> bool:
        """Decide for one change: ``True`` if it is to be sent (as our own, or in a
        catch-up, as the peer's own: it may have lost it in a crash); held or
        skipped otherwise."""
        slots = self.peer_slots
        if slots is not None and identity_slot(key) not in slots:
            if self._stands:
                self._stands.discard(key)
            return False  # another shard of the peer's region serves it
        unqueued = False
        if record.counter is None:
            # a plain record won the merge: every older one of the key is obsolete
            # wherever this one arrives (a joined counter is not: its increments
            # travel in their own records)
            unqueued = self._unqueue(key)
            self._held.drop_key(key)
        if not live and key in self._deferred:  # (the record its elements waited for)
            self._forward([*self._deferred.pop(key), (seq, key, record)])
            return False
        origin = record.origin
        if origin == self.own_name or origin == EXPIRY_ORIGIN:  # (made here too)
            return True
        if self._urgent and same_write(record) in self._urgent:
            self._send_now(seq, key, record)  # (the rest of a write going at once)
            return False
        # (it stands for a write of ours the peer may lack, and does not carry it)
        replaces = False
        if self.replaced_own:
            note = self._stand(key, record, self.status.acked)
            replaces = note is not None and not note[3]
        if record.hash_meta is not None:
            if type(record.hash_meta) is not HashMeta:
                # a set member's record joins several regions' adds and removes: it
                # goes on if the peer may lack one of them, else it waits for its
                # origin's stream as any record
                if self._member_carries_what_the_peer_lacks(record, live, unqueued):
                    return self._with_what_is_held_of_its_key(seq, key, record)
            elif (not live and key in self._sent_elements) or \
                    self._header_carries_what_the_peer_lacks(record, live, unqueued):
                # (in a catch-up, the header of elements it sent: wide seed 3000501272,
                # a list's elements went, its header, another region's, waited, and a
                # command at the peer made a list of its own that showed them)
                elements = self._held.take_elements(key)
                if not elements:
                    return True
                # sent on with the elements held of it, in one frame: a peer that
                # applied them apart could show the elements in a collection a
                # command there makes in between (wide seed 3000300771)
                self._forward([*elements, (seq, key, record)])
                return False
            # else the header is its origin's, as the elements of the same write are:
            # held with them, so that the peer never has the header of a write
            # without its elements (wide seed 3000095278: a header went on at once and
            # its field was held; the peer, holding no field, kept the header as a
            # tombstone and collected it before the field came)
        if record.counter is not None and self._carries_what_the_peer_lacks(record, live):
            return True
        if origin == self.peer:
            if live:  # the peer made it: it has it
                if self._stands:
                    self._stands.discard(key)
                return False
            return True
        if newest_of(key, record) <= self.peer_applied.get(origin, -1):
            self.status.not_forwarded += 1  # the peer has it from its origin
            if self._stands:
                self._stands.discard(key)
            return False
        if replaces:
            if record.hash_meta is None and not is_field(key):
                self._send_now(seq, key, record)
                return False
            # (a collection's header or element waits as before, standing: sent at
            # once, ahead of the records of its collection held for their origins,
            # it left a list's trimmed elements showing at a region: wide seed
            # 6040001688)
        elif self._stands:  # (it carries our write, which the peer has: ``_lacks``)
            self._stands.discard(key)
        self._held.add(seq, key, record, self.clock.seconds())
        if "held" not in self._timers:
            self._hold_until(self.clock.seconds() + self.hold_time)
        return False

    def _stand(self, key: bytes, record, past: int) -> tuple | None:
        """If ``key``'s note is of a write of ours past ``past``: ``record`` stands for
        it (until it goes, our claims stay below ours: ``Standing``); the note."""
        note = self.replaced_own.get(key)
        if note is None or note[0] <= past:
            return None
        self._stands.add(key, note[0], record.origin, newest_of(key, record))
        return note

    def _stand_for_replaced(self) -> None:
        """A catch-up begins (from ``position``): each write of ours past it that a
        record made elsewhere replaced here (``replaced_own``) keeps the stream
        complete only below it until the read meets that record and sends it
        (``_send_now``), or finds that the peer has it; our records read before it
        say nothing of how far ours are there (``_send_batch``)."""
        position = self.position
        stands = self._stands
        stands.clear()
        for key, (ours, origin, version, *_) in self.replaced_own.items():
            if ours > position:
                stands.add(key, ours, origin, version)

    def _send_now(self, seq: int, key: bytes, record) -> None:
        """A record made elsewhere that replaced a write of ours the peer may lack (or
        is of the same write as one that did): sent on at once, with the records of
        its write held before it, and those after it as they come (``_urgent``).
        Held back for its origin's stream, our later writes would tell the peer that
        ours is there, while it has neither (wide seed 6010001902): until a record of
        its key goes, the stream is complete only below ours (``through``), and our
        records past that say nothing of how far ours are there (``_send_batch``)."""
        write = same_write(record)
        if write in self._urgent:
            self._forward([(seq, key, record)])
            return
        self._urgent.add(write)
        # (what went before it of its write: held, or queued, as a header that holds
        # a write the peer may lack is)
        queued = []
        for queued_key in list(self._queued_elsewhere.get(write, ())):
            entry = self._queue.get(queued_key)
            if entry is not None:
                queued.append((entry[0], queued_key, entry[1]))
                self._unqueue(queued_key)
        self._forward(sorted([*queued, *self._held.take_write(record.origin, write),
                              (seq, key, record)], key=lambda change: change[0]))

    def _with_what_is_held_of_its_key(self, seq: int, key: bytes, record) -> bool:
        """An element that goes now: ``True`` (send it) if nothing is held of its key;
        else sent on with what is, in one frame (``_with_their_collections``)."""
        held = self._held.take_key(_collection(key))
        if not held:
            return True
        self._forward([*held, (seq, key, record)])
        return False

    def _header_carries_what_the_peer_lacks(self, record, live: bool,
                                            unqueued: bool) -> bool:
        """Whether a collection's header holds a write besides its origin's that the
        peer may not have: a header joins what several writes said (when it was
        cleared, which write set its deadline) under the version of one of them."""
        meta = record.hash_meta
        return self._lacks(record, (meta.cleared, meta.ttl), live, unqueued)

    def _member_carries_what_the_peer_lacks(self, record, live: bool,
                                            unqueued: bool) -> bool:
        """Whether a set's (or sorted set's) member's record holds an add or a remove
        besides its origin's that the peer may not have.  Removes made by regions
        not known (a record of a release before removers were kept) always count."""
        state = record.hash_meta
        if state.removes and (not state.removers or state.removers[0][0] == UNKNOWN):
            return True
        adds = state.adds if type(state) is Member else [
            (region, entry.added) for region, entry in state.entries]
        return self._lacks(record, [*(v for _, v in adds), *(v for _, v in state.removers)],
                           live, unqueued)

    def _lacks(self, record, writes, live: bool, unqueued: bool) -> bool:
        """Whether the peer may lack one of ``writes`` (versions) that ``record``
        joins, other than its own origin's (whose stream carries them up to its
        version) and the peer's.

        - One of ours, or an expiry, if a record still queued for the peer gave way to
          this one, or in a catch-up, unless the peer said it had ours before the
          catch-up began (a catch-up sends only the newest record of a key). An expiry
          counts as ours: each region makes its own, but only from the deadline it
          knows (wide seed 3000301085: a region frozen past a hash's deadline made
          the hash anew without it, and the expiry queued for it gave way to that).
        - A third region's that the peer has not said it has.
        """
        applied = self.peer_applied
        newest = (record.version, record.origin)
        for version, origin in writes:
            if not version or origin == self.peer or (
                    origin == record.origin and (version, origin) <= newest):
                continue
            if origin == self.own_name or origin == EXPIRY_ORIGIN:
                # sent as it was made, unless it gave way here; a catch-up sends only
                # the newest record of a key
                if unqueued or (not live and version > self._own_before_catch_up):
                    return True
            elif version > applied.get(origin, -1):
                return True
        return False

    def _carries_what_the_peer_lacks(self, record, live: bool) -> bool:
        """Whether a counter (or HyperLogLog) record holds a write its newest part's
        origin does not stand for, which the peer may not get otherwise: the record
        is that origin's, but its other parts and its base are other regions' writes.

        - One of ours (a part, or the base it built on), in a catch-up: written while
          this stream was not live and merged since, our stream carries it in this
          record or not at all (wide seeds 3000502543, 3000801018, with
          HyperLogLogs: a region's streams held at its start; a PEXPIRE a PFADD
          elsewhere built on, missed by a region gone from the network).
        - A third region's that the peer has not said it has: its own stream may
          never bring it (3001000808: a region whose stream to the peer had stalled
          was wiped; the one record left holding its last PFADD was the peer's own
          by its newest part, and never went back to it).
        """
        applied = self.peer_applied
        for origin, version in counter_origins(record).items():
            if origin == self.own_name:
                if not live and version > self._own_before_catch_up:
                    return True
            elif origin not in (self.peer, record.origin, EXPIRY_ORIGIN) and \
                    version > applied.get(origin, -1):
                return True
        return False

    @property
    def hold_time(self) -> float:
        """Seconds a record made elsewhere waits for the peer to say it has it."""
        return FORWARD_AFTER + (self.window.srtt or 0.0)

    def pump(self) -> None:
        """Catch up from the store while the window and the buffer allow; go live once
        caught up."""
        if not self.may_stream():
            return  # (``Replicator`` pumps every stream once it may)
        store = self.store
        window, held = self.window, self._held
        limit = self.buffer // 2
        self.flush()
        reads = 0
        while (self._send is not None and not self.live and window.open
               and held.bytes < limit):
            if reads == READS_PER_TURN:  # let clients and the peer's frames in first
                self._soon("pump", 0, self.pump)
                return
            reads += 1
            waited = set(self._deferred)  # (waiting since the last read)
            changes = store.changes_since(self.position, BATCH_RECORDS)
            send = []
            sent_elements = self._sent_elements
            for change in changes:
                if self._take(*change, live=False):
                    send.append(change)
                    if is_field(change[1]):
                        sent_elements.add(_collection(change[1]))
            if changes:
                self.position = changes[-1][0]
            send = self._without_elements_ahead_of_their_keys(self._with_headers(send))
            # what waited a read for its key's record and did not meet it (rewritten
            # further on since), and all that waits at the end of the store, goes now
            late = [key for key in self._deferred
                    if key in waited or len(changes) < BATCH_RECORDS]
            if late:
                send = sorted([*send, *(change for key in late
                                        for change in self._deferred.pop(key))],
                              key=lambda change: change[0])
            frames = catch_up_frames(send)
            for number, batch in enumerate(frames, 1):
                self._send_batch(batch, frames[number][0][0] - 1
                                 if number < len(frames) else None)
            if len(changes) < BATCH_RECORDS:
                sent_elements.clear()
                self._urgent.clear()
                if self._stands:  # (the keys the read never met: their records are gone)
                    self._stands.keep({*(key for _, key, _ in self._forwards),
                                       *self._held.by_key})
                self.status.state = LIVE  # every later write arrives through changed()
                self.position = max(self.position, store.seq)
                self.log.info("streaming to {name} live from position {position}",
                              name=self.peer, position=self.position)
        self._skip_soon()

    def _without_elements_ahead_of_their_keys(self, send: list) -> list:
        """``send`` without the elements whose key's record (a collection's header, or
        what replaced it) is at a later position than this read: they wait for it
        (``_deferred``) and go in its frame.  Sent now, an element could show at the
        peer in a collection a command there makes before that frame comes.  They wait
        one read at most, for a record the next read reaches: a collection written on
        and on would otherwise hold the stream's position back (review)."""
        keys = {key for _, key, _ in send if not is_field(key)}
        sent_now = set()  # (collections found to go now: looked up once a read)
        kept = []
        for change in send:
            key = change[1]
            if is_field(key):
                collection = _collection(key)
                if collection in self._deferred:
                    self._deferred[collection].append(change)
                    continue
                if collection not in keys and collection not in sent_now:
                    where = self.store.position_of(collection)
                    if where is not None and \
                            self.position < where <= self.position + BATCH_RECORDS:
                        self._deferred[collection] = [change]
                        continue
                    sent_now.add(collection)
            kept.append(change)
        return kept

    def _with_headers(self, send: list) -> list:
        """What a catch-up's store read sends, and what is held of the collections
        whose elements it sends (their headers), and what this read took on for the
        peer (``_forwards``: a header with the elements held of it): in the same
        frames (``catch_up_frames``).  A peer that got the elements in one frame and
        their header in another could show them in a collection that a command there
        makes in between (wide seed 3000601690: a list's element went, its header,
        made elsewhere since, waited for the next frame; an RPUSH at the peer made a
        list that showed it).  A header at a later position than this read still
        goes in a later frame (``_sent_elements``)."""
        send = self._with_their_collections(send)
        forwards = self._forwards
        if forwards:  # (taken on during this read: ``_take``; the same frames)
            self._forward_bytes -= sum(footprint(key, rec) for _, key, rec in forwards)
            send = sorted([*send, *forwards], key=lambda change: change[0])
            forwards.clear()
        return send

    def changed(self, key: bytes, record, seq: int) -> None:
        """The store took a write (``seq``): queue it, hold it, or skip it."""
        if self.status.state is not LIVE:
            if self.replaced_own and self.status.state in SENDING \
                    and record.origin != self.own_name:
                # a catch-up's reads have not reached a write of ours that this record
                # replaced (``_stand_for_replaced``, for those before it began)
                self._stand(key, record, self.position)
            return
        self.position = seq
        if self._take(seq, key, record, live=True):
            if record.counter is not None:  # (``_take`` unqueued a plain record's key)
                self._unqueue(key)  # (our newer counter holds our older increments)
            size = footprint(key, record)
            self._queue[key] = (seq, record, self.store.unit, size)
            self._queue_bytes += size
            if record.origin != self.own_name and record.origin != EXPIRY_ORIGIN:
                # (``_send_now`` finds it there if its write is to go at once)
                self._queued_elsewhere.setdefault(same_write(record), set()).add(key)
            if "flush" not in self._timers:
                self._flush_soon()
        elif "skip" not in self._timers:
            self._skip_soon()
        limit = self.buffer // 2
        if self._held.bytes > limit:
            # the peer takes the origins' writes slower than they come: send them on,
            # at the end of the turn (the frame being applied may hold more of the
            # write of the oldest, which go together) and before this turn's writes
            self._flush_soon()
        if self._queue_bytes + self._forward_bytes > limit:
            self.leave_live()  # the peer is slow: read from the store instead

    def _unqueue(self, key: bytes) -> bool:
        """Drop what waits to be sent of ``key``; whether there was something."""
        queued = self._queue.pop(key, None)
        if queued is None:
            return False
        self._queue_bytes -= queued[3]
        if self._queued_elsewhere:
            self._left_queue(key, queued[1])
        return True

    def _left_queue(self, key: bytes, record) -> None:
        """``key``'s record left the queue: out of the index of those made elsewhere."""
        keys = self._queued_elsewhere.get(same_write(record))
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._queued_elsewhere[same_write(record)]

    def leave_live(self) -> None:
        """Drop what waits in memory and read it from the store (many changes at
        once, or a peer too slow for memory)."""
        if not self.live:
            return
        self.position = self.through()
        self._drop_waiting()
        self._stand_for_replaced()
        self._cancel("held")
        self.status.state = StreamState.PARTIAL_SYNC
        self._soon("pump", 0, self.pump)

    def through(self) -> int:
        """The position up to which every change is sent or not for the peer."""
        through = self.position
        if self._queue:
            through = min(through, next(iter(self._queue.values()))[0] - 1)
        first_held = self._held.first()
        if first_held is not None:
            through = min(through, first_held - 1)
        if self._forwards:
            through = min(through, self._forwards[0][0] - 1)
        if self._deferred:
            through = min(through, min(changes[0][0] for changes in self._deferred.values())
                          - 1)
        if self._stands:
            through = min(through, self._stands.lowest() - 1)
        return through

    def _flush_soon(self) -> None:
        """At the end of this reactor turn: the turn's writes go in one frame
        (docs/replication.md says why no longer)."""
        self._soon("flush", 0, self.flush)

    def flush(self) -> None:
        """Send what waits (forwards first: they are older), while the window allows;
        queued writes only in live mode."""
        held = self._held
        if self.live:
            self._urgent.clear()  # (a write's records come in one frame: all came)
        while self.live and held and held.bytes > self.buffer // 2:  # (see ``changed``)
            self._forward(held.oldest(max(1, len(held) // 4)))
        queue, forwards, window = self._queue, self._forwards, self.window
        # (forwards are cut into frames as a catch-up's reads are,
        # ``catch_up_frames``, their collections found once a flush: a frame at a
        # time went quadratic)
        last, sent = None, 0
        while self._send is not None and window.open and (
                forwards or (self.live and queue)):
            end = None
            if forwards:
                if last is None:
                    last = _last_of_each_collection(forwards)
                end = _frame_end(forwards, 0, last, sent)
            if end is not None and not (self.live and queue
                                        and self._key_queued(forwards[:end])):
                # (a write's records in one frame, and a collection's: its elements
                # and its header)
                batch = forwards[:end]
                del forwards[:end]
                sent += end
                self._forward_bytes -= sum(footprint(key, rec) for _, key, rec in batch)
            else:
                # as many as ``first_batch`` says fit, counted from the footprints the
                # queue keeps (each is first_batch's size and RECORD_OVERHEAD), and the
                # rest of the last one's transaction
                batch = []
                unit = None
                popitem = queue.popitem
                elsewhere = self._queued_elsewhere
                size = 0
                full = False
                while queue and (not full or (unit is not None and
                                              next(iter(queue.values()))[2] == unit)):
                    key, (seq, rec, unit, footprint_) = popitem(last=False)
                    batch.append((seq, key, rec))
                    size += footprint_
                    full = len(batch) >= BATCH_RECORDS or \
                        size - len(batch) * RECORD_OVERHEAD >= BATCH_BYTES
                    if elsewhere:
                        self._left_queue(key, rec)
                self._queue_bytes -= size
                # (an element of ours whose header another region's write replaced,
                # held or forwarded here: in the same frame; wide seeds 3001001766,
                # 3003402079)
                ours, waiting = len(batch), len(forwards)
                batch = self._with_their_collections(batch)
                # (what it took from the forwards was counted when it went there)
                self.status.forwarded += len(batch) - ours - (waiting - len(forwards))
                if len(forwards) != waiting:  # (taken from among them: found again)
                    last, sent = None, 0
            self._send_batch(batch)
        if not queue and not forwards:
            self._skip_soon()

    def _key_queued(self, frame: list) -> bool:
        """Whether the record of the key of an element in ``frame`` (the next of the
        forwards) is queued (a write of ours replaced the header held with it): the
        queue goes first, so the peer has it before the element (wide seed
        3000903073: the element went alone, and a push at the peer made a list that
        showed it)."""
        queue = self._queue
        return any(is_field(key) and _collection(key) in queue for _, key, _ in frame)

    def _send_batch(self, changes, upto: int | None = None) -> None:
        if self._send is None:
            return  # (a batch before it failed the stream)
        lacking = self._what_the_protocol_lacks(changes)
        if lacking is not None:
            # its release would fail on it, and again at every retry: what follows
            # waits here, on our disk, until it is upgraded
            self.log.error("{name} speaks replication protocol {protocol}, which cannot "
                           "carry {what}: its stream stops here until it is upgraded",
                           name=self.peer, protocol=self.protocol, what=lacking)
            self._fail(f"replication protocol {self.protocol} cannot carry {lacking}: "
                       f"upgrade this region")
            self._reset()
            return
        stands = self._stands
        if stands:
            for seq, key, record in changes:
                stands.went(key, seq, record, self.own_name)
        through = self.through()
        if upto is not None:
            through = min(through, upto)
        if stands:
            # our records past a write of ours still on its way (in a record made
            # elsewhere, ``_send_now``) go at position 0: the peer takes them as saying
            # nothing of how far our writes are there (``Receiver._apply``)
            changes = self._unclaimed(changes, stands.lowest())
        changes = self._with_run_removals(changes)
        if self.protocol < peerwire.REMOVERS:
            changes = [_without_removers(change) for change in changes]
        frame = peerwire.encode_batch(through, changes)
        self._send(frame)
        self._sent(through, len(frame), len(changes))
        if self._unclaimed_upto:
            self._claim()

    def _unclaimed(self, changes, ours: int) -> list:
        """``changes``, those of our own at positions from ``ours`` on at position 0
        (the highest of them is claimed later: ``_claim``)."""
        own = self.own_name
        unclaimed = [(seq, record.version) for seq, _, record in changes
                     if seq >= ours and record.origin == own]
        if not unclaimed:
            return changes
        self._unclaimed_upto = max(self._unclaimed_upto, unclaimed[-1][0])
        self._unclaimed_version = max(self._unclaimed_version, unclaimed[-1][1])
        return [(0, key, record) if seq >= ours and record.origin == own
                else (seq, key, record) for seq, key, record in changes]

    def _claim(self) -> None:
        """Tell the peer (``K``) how far our writes sent at position 0 are there, once
        no write of ours they went past still waits for its record (protocol 13 on:
        a peer of an older one counts them as *through* passes them)."""
        if self._send is None or not self.ready:
            return
        claim = self._unclaimed_upto
        lowest = self._stands.lowest() if self._stands else None
        if lowest is not None:
            claim = min(claim, lowest - 1)
        if claim > self._claimed and self.protocol >= peerwire.CLAIMS:
            self._claimed = claim
            # (and, once it covers them all, the newest of them: how far the peer has
            # our writes, for its publications, as our records' positions would say)
            self._send(peerwire.encode_progress(
                b"K", claim, self._unclaimed_version if claim >= self._unclaimed_upto
                else 0))
        if lowest is None:
            self._unclaimed_upto = self._claimed = self._unclaimed_version = 0

    def _with_run_removals(self, changes) -> list:
        """``changes``, each run of a list's preceded by the records of its elements'
        own that the store holds (a pop's tombstone, an ``LSET``'s value), unless the
        frame has them already.  A run and what removed its elements are two records,
        and what is sent of each is decided apart: a run sent alone (a catch-up back
        to a region that had collected both, the pop skipped as that region's own)
        would show the popped elements there.  Before the run, so that no element
        shows for a moment, nor says so in an event.  (Position 0: not the order of
        this stream.)"""
        runs = [key for _, key, record in changes
                if record.value is not None and listpos.is_run_identity(key)]
        if not runs:
            return changes
        present = {key for _, key, _ in changes}
        with_them = []
        for change in changes:
            if change[1] in runs:
                with_them.extend((0, identity, record) for identity, record
                                 in self.store.run_element_records(change[1])
                                 if identity not in present)
            with_them.append(change)
        return with_them

    def _what_the_protocol_lacks(self, changes) -> str | None:
        """What of ``changes`` the stream's protocol cannot carry (named for the log),
        or None."""
        if self.protocol < peerwire.LISTS and any(
                is_list_element(key) or (type(r.hash_meta) is HashMeta
                                         and r.hash_meta.kind == LIST)
                for _, key, r in changes):
            return "a list (LPUSH, RPUSH, LPOP)"
        if self.protocol < peerwire.RUNS and any(
                is_list_element(key) and listpos.in_a_run(parse(key)[1])
                for _, key, _ in changes):
            return "a push to a list of this release's (LPUSH, RPUSH)"
        if self.protocol < peerwire.ZSETS and any(_is_zset(r) for _, _, r in changes):
            return "a sorted set (ZADD, ZINCRBY, ZREM)"
        if self.protocol < peerwire.SETS and any(
                record.hash_meta is not None and (type(record.hash_meta) is not HashMeta
                                                  or record.hash_meta.kind != HASH)
                for _, _, record in changes):
            return "a set (SADD, SREM)"
        if self.protocol < peerwire.HYPERLOGLOGS and any(
                holds_registers(record) for _, _, record in changes):
            return "a HyperLogLog (PFADD, PFMERGE)"
        return None

    def _sent(self, through: int, size: int, records: int) -> None:
        status = self.status
        status.sent = max(status.sent, through)
        self.window.sent(through, self.clock.seconds(), size, records)

    def _skip_soon(self) -> None:
        """Tell the peer, within ``SKIP_DELAY``, of positions that held nothing for it,
        so that it acknowledges them (and publishes them) without waiting for a write."""
        if self.ready and "skip" not in self._timers:
            self._later("skip", SKIP_DELAY, self._send_skip)

    def _send_skip(self) -> None:
        if self._unclaimed_upto:
            self._claim()
        through = self.through()
        if self.ready and self._send is not None and through > self.status.sent:
            if self.window.open:
                frame = peerwire.encode_position(b"S", through)
                self._send(frame)
                self._sent(through, len(frame), 0)
            # else: applied() asks again when the window opens

    def _hold_until(self, when: float) -> None:
        self._held_due = when
        self._later("held", when - self.clock.seconds(), self._check_held)

    def _check_held(self, expire: bool = True) -> None:
        """Drop the held records the peer has from their origin; with ``expire``,
        forward those of an origin whose stream to the peer has not moved for
        ``hold_time`` (down, cut off, or it lost them), held that long."""
        held = self._held
        marks = self.peer_applied
        now = self.clock.seconds()
        if expire and now - self._held_due > LATE and not self._held_put_off:
            # this process was busy (or frozen) past the due time: the peer's
            # publications may wait unread, so read them before concluding that an
            # origin stands still
            self._held_put_off = True
            self._timers.pop("held", None)
            self._later("held", 0.001, self._check_held)
            return
        self._held_put_off = False
        hold = self.hold_time
        due = now - hold
        status = self.status
        forward = []
        for origin in list(held.by_origin):
            status.not_forwarded += held.covered(origin, marks.get(origin, -1))
            if expire and self._moved.get(origin, self._connected_at + ORIGIN_GRACE) <= due:
                forward += held.due(origin, due)
        if forward:
            forward.sort(key=lambda change: change[0])
            self._forward(forward)
        if expire:
            self._timers.pop("held", None)
        if len(held) and "held" not in self._timers:
            # next: when the oldest record of an origin is due, the origin still
            # standing still
            wake = min(max(held.records[next(iter(seqs))][2],
                           self._moved.get(origin, self._connected_at + ORIGIN_GRACE))
                       for origin, seqs in held.by_origin.items()) + hold
            # (at least a millisecond: a float's rounding must not make it spin)
            self._hold_until(max(now + 0.001, wake))
        if not forward:
            if len(held) == 0:
                self._cancel("held")
            self._resume()

    def _forward(self, changes) -> None:
        """Send ``changes`` (seq, key, record) on: the peer does not get them from
        their origin."""
        if not changes:
            return
        forwards = self._forwards
        waiting = len(forwards)
        changes = self._with_their_collections(changes)
        # (what it took from the forwards goes back there, counted once)
        self.status.forwarded += len(changes) - (waiting - len(forwards))
        self._forward_bytes += sum(footprint(key, rec) for _, key, rec in changes)
        if forwards and forwards[-1][0] > changes[0][0]:
            forwards.extend(changes)
            forwards.sort(key=lambda change: change[0])
        else:
            forwards.extend(changes)
        self._flush_soon()

    def _with_their_collections(self, changes) -> list:
        """``changes`` and what is held of their collections: an element's key's
        record (its header, or what replaced it), a header's elements.  A peer that
        got an element before any record of its key would show it in a collection
        that a write there makes (wide seeds 3000000025, 3000300799: a list showed an
        element whose list a DEL had removed); one that got a header without its
        elements would keep the header empty, and collect it before they came."""
        held, forwards = self._held, self._forwards
        if not held and not forwards:
            return changes
        more = []
        lacking = set()  # collections whose key's record is not among ``changes``
        keys = {identity for _, identity, _ in changes if not is_field(identity)}
        for _, identity, record in changes:
            if is_field(identity):
                collection = _collection(identity)
                more += held.take_key(collection)
                if collection not in keys:
                    lacking.add(collection)
            elif record.hash_meta is not None:
                more += held.take_elements(identity)
        if forwards and lacking:
            more += self._take_forwarded(lacking)
        if not more:
            return changes
        return sorted([*changes, *more], key=lambda change: change[0])

    def _take_forwarded(self, keys: set) -> list:
        """Take from the forwards the records of ``keys`` (identities) and the rest of
        their writes, in one pass: elements going now go with them (wide seed
        3003402079: a push of ours went alone, queued while the peer's window was
        shut; the header that replaced ours, another region's, waited in the
        forwards; an RPUSH at the peer in between made a list that showed our
        elements).  Counted as forwarded already."""
        forwards = self._forwards
        writes = {same_write(record) for _, identity, record in forwards if identity in keys}
        if not writes:
            return []
        taken = [change for change in forwards if same_write(change[2]) in writes]
        forwards[:] = [change for change in forwards if same_write(change[2]) not in writes]
        self._forward_bytes -= sum(footprint(identity, record) for _, identity, record in taken)
        return taken

    def send_message(self, channel: bytes, message: bytes) -> bool:
        """A pub/sub message, to the peer's subscribers, if the stream is up and its
        protocol carries messages; ``False`` if it was not sent (nothing keeps it)."""
        if not self.ready or self._send is None or self.protocol < peerwire.MESSAGES:
            self.messages_dropped += 1
            return False
        if self.live and self._queue:
            # (the writes made before it go first, as far as the window lets them: a
            # subscriber told to look finds them)
            self.flush()
        self._send(peerwire.encode_message(channel, message))
        self.messages_sent += 1
        return True

    def urge(self, position: int) -> None:
        """A client waits for the peer to commit ``position``: ask it to commit as
        soon as it has it (``F``)."""
        if self.ready and self._send is not None and self.status.written < position:
            if self.live and self._queue:
                self.flush()  # now, before the F: a client waits for it
            self._send(peerwire.encode_position(b"F", position))

    # ------------------------------------------------------------ status

    def waiting(self) -> int:
        """Records waiting in memory for the peer (queued or held)."""
        return len(self._queue) + len(self._held) + len(self._forwards)

    def waiting_bytes(self) -> int:
        """... and the memory they take (about)."""
        return self._queue_bytes + self._held.bytes + self._forward_bytes

    def lag(self) -> tuple[int, float]:
        """(changes the peer has not committed, ms since the oldest of them was
        written) — for a peer that is down too, whose lag grows while it is away."""
        acked = self.status.acked
        behind = max(0, self.store.seq - acked)
        if not behind:
            return 0, 0.0
        oldest = self.store.changes_since(acked, 1)
        if not oldest:
            return behind, 0.0
        written_ms = physical_ms(oldest[0][2].version)
        return behind, max(0.0, self.clock.seconds() * 1000 - written_ms)

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


def _without_removers(change):
    """A change as a peer of a protocol before ``REMOVERS`` reads it."""
    seq, key, record = change
    meta = record.hash_meta
    if meta is None or type(meta) is HashMeta or not meta.removers:
        return change
    return seq, key, record._replace(hash_meta=meta.without_removers())


def _collection(identity: bytes) -> bytes:
    """The identity of an element's collection's key (its header's)."""
    return key_id(parse(identity)[0])


def _is_zset(record) -> bool:
    """Whether ``record`` is a sorted set's header or member's (protocol 7's)."""
    meta = record.hash_meta
    return meta is not None and (type(meta) is ZMember if type(meta) is not HashMeta
                                 else meta.kind == ZSET)
