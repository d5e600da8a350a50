"""Another region's stream, applied here: a state machine per incoming connection.

The sender says who it is (``H``, answering our challenge); we say where to
resume (``R``: the last position of its store we committed, 0 for a full sync).
Each batch is merged record by record (``Keyspace.apply``); its *through*
position is remembered in the same commit as the records.  We answer ``P`` at
once (the sender's window) and ``A`` once the commit is done (``WAIT`` and the
publications count only what survives a crash).

Sans-IO: frames in through ``received``, frames out through ``send``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from geolru.common.auth import registration_mac
from geolru.common.collaborators import DelayedCall, EventLog, SilentLog
from geolru.model.hashkeys import identity_slot
from geolru.replication import peerwire
from geolru.replication.sender import BAD_FRAME, end_stream, peer_ended

if TYPE_CHECKING:  # (it imports this module)
    from geolru.replication.replicator import Replicator

PROGRESS_INTERVAL = 0.005  # seconds between two P frames at least


@attrs.define(eq=False)
class Receiver:
    replicator: Replicator
    send: Callable[[bytes | None], None]  # a frame; None closes the connection
    nonce: str
    log: EventLog = attrs.field(factory=SilentLog, kw_only=True)
    sender: str | None = None  # the sending region, once it said who it is
    protocol: int = 0  # the version both speak (peerwire.negotiate), once agreed
    store_id: str = ""
    position: int = 0  # the sender's stream is applied through here
    reached: int = 0  # the highest position of it applied
    committed_sent: int = -1  # ... and committed (acknowledged) through here
    committed_reached: int = -1
    urgent: int = 0  # a WAIT at the sender waits for this position: commit once reached
    target: int = 0  # the sender's newest position when it said hello
    caught_up: bool = False  # this stream has reached ``target``
    accepted: bool = False  # the sender took our resume position (it streams)
    _progress_at: float = float("-inf")  # when the last P went
    _progress_call: DelayedCall | None = None  # a P to send later
    _progress_owed: bool = False  # a frame came while the store could not commit
    lost: bool = False

    def start(self) -> None:
        self.send(b"C" + self.nonce.encode())

    def disconnected(self) -> None:
        self.lost = True
        if self._progress_call is not None and self._progress_call.active():
            self._progress_call.cancel()
        self._progress_call = None
        self.replicator.receiver_closed(self)

    def close(self, why: str | None = None) -> None:
        end_stream(self.send, why)

    def received(self, frame: bytes) -> None:
        kind = frame[:1]
        try:
            if kind == b"H" and self.sender is None:
                self._hello(peerwire.decode_control(frame))
            elif kind == b"B" and self.sender is not None:
                self._accepted()
                self._apply(*peerwire.decode_batch(frame))
            elif kind == b"S" and self.sender is not None:
                self._accepted()
                self._reached(peerwire.decode_position(frame))
            elif kind == b"K" and self.sender is not None:
                self._claimed(*peerwire.decode_progress(frame))
            elif kind == b"M" and self.sender is not None:
                self.replicator.message_received(*peerwire.decode_message(frame))
            elif kind == b"F" and self.sender is not None:
                self.urgent = max(self.urgent, peerwire.decode_position(frame))
                self._commit_if_urgent()
            elif kind == b"E":
                peer_ended(self.log, self.sender, frame[1:].decode(errors="replace"),
                           self.replicator.refused)
                end_stream(self.send)
            else:
                raise peerwire.WireError(f"unexpected frame {kind!r}")
        except BAD_FRAME as e:
            self.log.warn("replication stream from {peer}: {error}",
                          peer=self.sender or "a peer", error=str(e))
            self.close(str(e))

    def _hello(self, hello: dict) -> None:
        replicator = self.replicator
        name, store_id = str(hello["name"]), str(hello["store_id"])
        if replicator.secret:
            expected = registration_mac(replicator.secret, self.nonce, [name.encode()])
            if str(hello.get("mac", "")) != expected:
                self.log.warn("refused a replication stream from {peer}: bad cluster secret",
                              peer=name)
                self.close("authentication failed")
                return
        theirs = peerwire.offered(hello)
        version = peerwire.negotiate(theirs)
        if version is None:
            ours = f"{peerwire.OLDEST_PROTOCOL}-{peerwire.PROTOCOL}"
            self.log.error("refused a replication stream from {peer}: it speaks replication "
                           "protocols {theirs}, this region {ours}; upgrade the older one",
                           peer=name, theirs="%d-%d" % theirs, ours=ours)
            self.close(f"replication protocols {ours} expected")
            return
        if name in replicator.forgotten:
            self.close(f"refused: region {name} was forgotten (decommissioned); start it "
                       "under a new name, with an empty data_dir")
            return
        if name == replicator.own_name:
            self.close("refused: that is this region's own name")
            return
        self.sender, self.store_id, self.protocol = name, store_id, version
        self.position = self.reached = int(
            replicator.store.get_meta(self._position_key, 0) or 0)
        self.target = int(hello.get("position", 0))
        request = {"from": self.position, "protocol": version,
                   "store_id": replicator.store.store_id}
        began = f"began:{name}:{store_id}"
        if self.position == 0 and "collected" in hello:
            # a full sync: all it brings is newer than the deletes collected there so
            # far (committed with the first records, as the position is)
            replicator.store.put_meta(began, int(hello["collected"]))
        if replicator.store.get_meta(began) is not None:
            request["began"] = int(replicator.store.get_meta(began))
        if replicator.slots is not None:  # a shard: only the keys it serves
            request["slots"] = str(replicator.slots)
        self.send(peerwire.encode_control(b"R", request))
        replicator.receiver_ready(self)
        self._check_caught_up()
        # (read back, that position may still be in the commit buffer)
        replicator.store.committed().addCallback(self._committed, self.position,
                                                 self.reached)

    @property
    def _position_key(self) -> str:
        return f"pos:{self.sender}:{self.store_id}"

    def _apply(self, through: int, changes) -> None:
        replicator = self.replicator
        apply = replicator.keyspace.apply
        sender = self.sender
        slots = replicator.slots  # (a sender of a release without cluster mode sends all)
        reached = self.reached
        newest = -1  # the sender's own writes come in order: this one and all before it
        applied = 0
        for seq, key, record in changes:
            # (position 0: a record sent along with a list's run, out of the stream's
            # order, which says nothing of how far the sender's own writes are here)
            own = seq != 0 and record.origin == sender
            # *reached*: how far the sender's own writes are here (what WAIT counts).
            # Only its own records say so: a frame of records forwarded for other
            # regions goes before its own writes still queued, at higher positions
            if own and seq > reached:
                reached = seq
            if slots is not None and identity_slot(key) not in slots:
                continue
            apply(key, record)
            applied += 1
            if own and record.version > newest:
                newest = record.version
        self.reached = reached
        if newest >= 0:
            replicator.applied_from_origin(sender, newest)
        replicator.applied += applied
        self._reached(through)

    def _claimed(self, upto: int, version: int) -> None:
        """The sender's own writes up to position ``upto`` are here (``K``), and, if
        ``version``, each of its writes up to that version: acknowledged as *reached*
        once committed, and published, as a frame's own records would be."""
        if version:
            self.replicator.applied_from_origin(self.sender, version)
        if upto > self.reached:
            self.reached = upto
            self._reached(self.position)

    def _reached(self, through: int) -> None:
        """A frame is applied, and with it every change up to ``through``: resume
        from there; acknowledge (every frame, so the sender's window moves even when
        held-back records keep ``through`` where it was)."""
        store = self.replicator.store
        if through > self.position:
            self.position = through
            store.put_meta(self._position_key, through)
        self.reached = max(self.reached, through)
        if store.failure is None:
            self._progress_soon()
        else:
            # (a store that cannot commit sends none: the sender's window then
            # fills, and what it has not sent waits on its own disk; the P goes once
            # the store commits again, ``_committed``)
            self._progress_owed = True
        # acknowledged only once committed: WAIT and the publications rest on it,
        # and a crash before the commit must not have lost what they count
        store.committed().addCallback(self._committed, self.position, self.reached)
        self._commit_if_urgent()
        self._check_caught_up()

    def _accepted(self) -> None:
        """The sender streams: it took our resume position (a refusal is an ``E``)."""
        if not self.accepted:
            self.accepted = True
            self.replicator.accepted(self.sender)

    def _check_caught_up(self) -> None:
        if not self.caught_up and self.position >= self.target:
            self.caught_up = True
            self.replicator.caught_up(self)

    def _progress_soon(self) -> None:
        """``P``, at most one per ``PROGRESS_INTERVAL``: it only moves the sender's
        window, and each costs both ends a write and a read."""
        if self._progress_call is not None:
            return
        clock = self.replicator.clock
        wait = self._progress_at + PROGRESS_INTERVAL - clock.seconds()
        if wait <= 0:
            self._send_progress()
        else:
            self._progress_call = clock.callLater(wait, self._send_progress)

    def _send_progress(self) -> None:
        self._progress_call = None
        if not self.lost:
            self._progress_at = self.replicator.clock.seconds()
            self.send(peerwire.encode_progress(b"P", self.position, self.reached))

    def _commit_if_urgent(self) -> None:
        """What a ``WAIT`` waits for is here: commit now (a group commit as any
        other, only earlier), so the ``A`` goes a round trip after the write."""
        if self.urgent and self.reached >= self.urgent:
            self.urgent = 0
            self.replicator.store.commit()

    def _committed(self, _, through: int, reached: int) -> None:
        if self._progress_owed:
            # the store commits again: the frames that came while it could not are
            # applied, and the sender's window waits for this P to move (an A only
            # follows a position that moved: not for frames whose records were all
            # held back or forwarded, wide seed 3000000187 with sets and a window of
            # a few hundred bytes, which stayed shut for good)
            self._progress_owed = False
            self._progress_soon()
        if through > self.committed_sent or reached > self.committed_reached:
            self.committed_sent = max(self.committed_sent, through)
            self.committed_reached = max(self.committed_reached, reached)
            if not self.lost:
                self.send(peerwire.encode_progress(b"A", self.committed_sent,
                                                   self.committed_reached))
            self.replicator.committed_through(self.sender, self.store_id,
                                              self.committed_sent)

