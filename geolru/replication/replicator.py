"""A region's replication, as one state machine (sans-IO).

It owns a ``Sender`` per peer and a ``Receiver`` per incoming stream, feeds the
store's changes to the senders, publishes this region's progress to every
region streaming to it (``W`` frames, every ``PUBLISH_INTERVAL`` at most), and
keeps what follows from those: the tombstone horizon (``geolru.replication.stability``) and
``WAIT``.  Connections are the caller's: ``geolru.replication.transport`` runs them over
Twisted, the simulator in ``tests/simulation`` over a simulated network.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs

from geolru.common.collaborators import Clock, DelayedCall, EventLog, SilentLog
from geolru.model.slots import ALL, SlotSet
from geolru.replication import peerwire
from geolru.replication.ports import ReplicatedKeyspace, ReplicatedStore
from geolru.replication.receiver import Receiver
from geolru.replication.sender import BUFFER, Sender
from geolru.replication.stability import Stability
from geolru.replication.window import MIN_WINDOW, Window

PUBLISH_INTERVAL = 0.05  # seconds between a region's publications, at most
SYNC_TIMEOUT = 10.0  # seconds a region waits to catch up before it serves anyway
PARTITION_AFTER = 5.0  # seconds a peer's stream was away for its return to mean syncing


@attrs.define(eq=False)
class Waiter:
    """A ``WAIT``: ``answer`` it once ``count`` peers committed ``position``."""

    position: int
    count: int
    answer: Callable[[int], object]
    timeout: DelayedCall | None = None


@attrs.define(eq=False)
class Replicator:
    own_name: str
    keyspace: ReplicatedKeyspace
    clock: Clock
    secret: str = ""
    forgotten: set = attrs.field(factory=set)  # decommissioned regions: refused
    random_bytes: Callable[[int], bytes] = os.urandom  # nonces (the simulator: its own)
    window: int = 32 << 20  # bytes in flight to a peer, at most (config: peer_window)
    window_minimum: int = MIN_WINDOW
    buffer: int = BUFFER  # bytes waiting in memory for a peer, at most (peer_buffer)
    log: EventLog = attrs.field(factory=SilentLog)
    slots: SlotSet | None = None  # a shard of a region in cluster mode: what it serves
    # ... and the other shards of its region: they share no key with it, so nothing
    # streams between them and no tombstone waits for them (peers' publications name
    # them among the regions they stream to)
    siblings: set = attrs.field(factory=set)
    senders: dict = attrs.field(factory=dict)  # peer name -> Sender
    receivers: list = attrs.field(factory=list)  # Receivers that know their sender
    stability: Stability = None
    watermarks: dict = attrs.field(factory=dict)  # origin -> newest version from its stream
    applied: int = 0  # records applied from peers
    _publish_call: DelayedCall | None = None
    _waiters: list = attrs.field(factory=list)  # [Waiter]
    sync_timeout: float = SYNC_TIMEOUT
    sync_waiting: set = attrs.field(factory=set)  # peers whose stream has not caught up
    _sync_call: DelayedCall | None = None
    _lost_at: dict = attrs.field(factory=dict)  # peer -> when its stream to us went
    # callables(syncing: bool), told when syncing begins and ends (the master link
    # heartbeats at once, so LOCATE does not wait a heartbeat to change its answer)
    sync_listeners: list = attrs.field(factory=list)
    # callables(channel, message), told of each pub/sub message a peer sent
    message_listeners: list = attrs.field(factory=list)
    # a region that starts reads its store out to no peer before the peers it syncs
    # with took its resume positions: its data folder may be an older copy of itself
    # (a restore, a power cut), which they refuse, and a wiped peer's full sync from it
    # would bring back what the cluster deleted since (``held``: it waits)
    held: bool = False
    _unheard: set = attrs.field(factory=set)  # peers whose word it waits for
    _hold_call: DelayedCall | None = None
    _hold_done: bool = False  # (held once, at start: never again)
    refused_by: str | None = None  # a peer refused our data: we stream it to nobody

    def __attrs_post_init__(self):
        self.stability = Stability(self.own_name)
        self.store.listeners.append(self._changed)
        self.store.bulk_listeners.append(self._bulk_changed)

    @property
    def store(self) -> ReplicatedStore:
        return self.keyspace.store

    # ------------------------------------------------------------ peers

    def add_peer(self, name: str, region: str = "", slots: SlotSet | None = None) -> Sender:
        """A stream to ``name``: a region, or a shard of ``region`` serving ``slots``
        (cluster mode)."""
        sender = Sender(name, self.own_name, self.store, self.clock, self.stability,
                        self._acknowledged, self.refused, self.secret, self.buffer,
                        Window(self.window, self.window_minimum), log=self.log,
                        peer_region=region or name, member_slots=slots,
                        may_stream=self.may_stream, replaced_own=self.keyspace.replaced_own)
        self.senders[name] = sender
        return sender

    def broadcast(self, channel: bytes, message: bytes) -> int:
        """A pub/sub message published here, to every peer whose stream is up; how
        many it went to."""
        return sum(sender.send_message(channel, message) for sender in self.senders.values())

    def message_received(self, channel: bytes, message: bytes) -> None:
        for listener in list(self.message_listeners):
            listener(channel, message)

    def remove_peer(self, name: str) -> None:
        sender = self.senders.pop(name, None)
        if sender is not None:
            sender.disconnected()

    def forget(self, name: str) -> None:
        """A decommissioned region: no stream to or from it, and it is no longer
        waited for before tombstones go."""
        self.forgotten.add(name)
        self.remove_peer(name)
        self.stability.forget(name)
        self._heard({name})  # (a starting region waits no longer for its word)
        for receiver in [r for r in self.receivers if r.sender == name]:
            receiver.close("refused: region %s was forgotten (decommissioned)" % name)

    def retire(self, name: str) -> None:
        """A shard a reshard emptied (its records moved to the other shards of its
        region, which stream them on): no stream to it, and it is no longer waited
        for; unlike ``forget``, a shard of that name may come back (empty)."""
        self.remove_peer(name)
        self.stability.forget(name)
        self._heard({name})

    def refused(self, peer: str, why: str) -> None:
        """A peer refuses this region's data (forgotten, or older than deletes it
        collected): key commands answer ``-STALE`` from now on, and no peer gets
        any of it (a wiped one would take in keys the cluster deleted)."""
        self.keyspace.refuse(f"{peer} {why}")
        if self.refused_by is None:
            self.refused_by = peer
            for sender in self.senders.values():
                sender.stop(f"stopped: {self.own_name}'s data was refused by {peer}")

    def may_stream(self) -> bool:
        """Whether our store may be read out to peers (``held``, ``refused_by``)."""
        return not self.held and self.refused_by is None

    def accepted(self, peer: str) -> None:
        """``peer`` took our resume position: it streams to us."""
        self._heard({peer})

    def _heard(self, peers) -> None:
        if self.held and self._unheard & set(peers):
            self._unheard -= set(peers)
            if not self._unheard:
                self._release("every peer took this region's resume positions")

    def _release(self, why: str) -> None:
        self.held, self._hold_done = False, True
        self._unheard = set()
        self._cancel_hold()
        if self.refused_by is None:
            self.log.info("streaming this region's store to its peers: {why}", why=why)
            for sender in self.senders.values():
                sender.released()

    def _hold_timed_out(self) -> None:
        self._hold_call = None
        self._release(f"gave up waiting after {self.sync_timeout:g} s for "
                      f"{', '.join(sorted(self._unheard))}")

    def _cancel_hold(self) -> None:
        if self._hold_call is not None and self._hold_call.active():
            self._hold_call.cancel()
        self._hold_call = None

    def new_receiver(self, send) -> Receiver:
        receiver = Receiver(self, send, self.random_bytes(16).hex(), log=self.log)
        receiver.start()
        return receiver

    def receiver_ready(self, receiver: Receiver) -> None:
        self.receivers.append(receiver)
        receiver.send(self._publication(receiver))
        name = receiver.sender
        lost = self._lost_at.pop(name, None)
        if (not receiver.caught_up and receiver.target > receiver.position and lost is not None
                and self.clock.seconds() - lost >= PARTITION_AFTER):
            self.begin_sync({name}, f"{name}'s stream is back after "
                                    f"{self.clock.seconds() - lost:.0f} s away")

    def receiver_closed(self, receiver: Receiver) -> None:
        if receiver in self.receivers:
            self.receivers.remove(receiver)
            if receiver.sender and not any(r.sender == receiver.sender
                                           for r in self.receivers):
                self._lost_at[receiver.sender] = self.clock.seconds()

    # ------------------------------------------------------------ syncing

    @property
    def syncing(self) -> bool:
        """Catching up: key commands answer LOADING (the keyspace's flag, which the
        command table reads)."""
        return self.keyspace.syncing

    def hold_streams(self, peers) -> None:
        """This region starts: it streams its store to no peer before ``peers`` (every
        peer it knows, up or not: what it last heard may be as old as its data folder)
        took its resume positions, or the master says they are down, or
        ``sync_timeout`` passed (``held``).  Once: peers learnt later join the wait only
        while it lasts."""
        peers = set(peers) - self.forgotten - {self.own_name}
        if not peers or self._hold_done:
            return
        if not self.held:
            self.held = True
            self._hold_call = self.clock.callLater(self.sync_timeout, self._hold_timed_out)
        self._unheard |= peers - {r.sender for r in self.receivers if r.accepted}
        if not self._unheard:
            self._release("every peer took this region's resume positions")

    def begin_sync(self, peers, why: str) -> None:
        """Answer key commands with LOADING until the streams of ``peers`` have
        caught up (up to where each was when it connected), or ``sync_timeout``."""
        peers = set(peers) - self.forgotten - {self.own_name}
        caught = {r.sender for r in self.receivers if r.caught_up}
        peers -= caught | self.sync_waiting  # (already waited for: said once)
        if not peers:
            return
        self.sync_waiting |= peers
        if not self.syncing:
            self.keyspace.syncing = True
            self._sync_call = self.clock.callLater(self.sync_timeout, self._sync_timed_out)
            self._sync_changed()
        self.log.info("syncing with {peers} ({why}): key commands answer LOADING until "
                      "caught up, {timeout:g} s at most", peers=", ".join(sorted(peers)),
                      why=why, timeout=self.sync_timeout)

    def caught_up(self, receiver: Receiver) -> None:
        if receiver.sender in self.sync_waiting:
            self.sync_waiting.discard(receiver.sender)
            if not self.sync_waiting:
                self.end_sync("caught up with every peer")

    def peers_down(self, names) -> None:
        """The master says these peers are down: not waited for."""
        self._heard(names)
        if self.sync_waiting & set(names):
            self.sync_waiting -= set(names)
            if not self.sync_waiting:
                self.end_sync("caught up with every live peer")

    def end_sync(self, why: str) -> None:
        if not self.syncing:
            return
        self.keyspace.syncing = False
        self.sync_waiting = set()
        if self._sync_call is not None and self._sync_call.active():
            self._sync_call.cancel()
        self._sync_call = None
        self.log.info("synced: {why}; serving", why=why)
        self._sync_changed()

    def _sync_changed(self) -> None:
        for listener in list(self.sync_listeners):
            listener(self.syncing)

    def _sync_timed_out(self) -> None:
        self._sync_call = None
        self.end_sync(f"gave up waiting after {self.sync_timeout:g} s for "
                      f"{', '.join(sorted(self.sync_waiting))}")

    # ------------------------------------------------------------ changes

    def _changed(self, key, record, seq):
        for sender in self.senders.values():
            sender.changed(key, record, seq)

    def _bulk_changed(self):
        """Many changes reached the store at once: streams read them from there."""
        for sender in self.senders.values():
            sender.leave_live()

    def applied_from_origin(self, origin: str, version: int) -> None:
        if version > self.watermarks.get(origin, -1):
            self.watermarks[origin] = version
            self._publish_soon()

    def committed_through(self, sender: str, store_id: str, through: int) -> None:
        self.stability.committed_through(sender, store_id, through)
        self._publish_soon()

    # ------------------------------------------------------------ publications

    def _publish_soon(self) -> None:
        if self._publish_call is None:
            self._publish_call = self.clock.callLater(PUBLISH_INTERVAL, self.publish)

    def publish(self) -> None:
        """Tell every region streaming to us how far we are (``W``)."""
        self._publish_call = None
        for receiver in list(self.receivers):
            receiver.send(self._publication(receiver))

    def _publication(self, receiver: Receiver) -> bytes:
        received = self.stability.received.get(receiver.sender)
        acked = received[1] if received and received[0] == receiver.store_id else 0
        return peerwire.encode_control(b"W", {
            "store_id": self.store.store_id, "position": self.store.seq, "acked": acked,
            "members": sorted([self.own_name, *self.senders]),
            "applied": self.watermarks})

    def tombstone_horizon(self) -> int:
        """The position of our store up to which tombstones may be collected."""
        peers = set(self.senders)
        peers.update(r.sender for r in self.receivers)
        horizon = self.stability.horizon(peers, self.forgotten | self.siblings)
        return self.store.seq if horizon is None else horizon

    def stop(self) -> None:
        if self._publish_call is not None and self._publish_call.active():
            self._publish_call.cancel()
        self._publish_call = None
        if self._sync_call is not None and self._sync_call.active():
            self._sync_call.cancel()
        self._sync_call = None
        self._cancel_hold()
        for sender in self.senders.values():
            sender.disconnected()

    # ------------------------------------------------------------ WAIT

    def acknowledged_count(self, position: int) -> int:
        """How many regions committed every write of ours up to ``position``.

        A region of shards has it once the shards serving our slots all do: a shard
        serving none of them is told there is nothing for it, and counts for nothing.
        """
        senders = self.senders.values()
        if self.slots is None and all(s.peer_region == s.peer for s in senders):
            return sum(s.status.written >= position for s in senders)
        mine = self.slots or ALL
        regions: dict[str, list] = {}  # region -> [slots covered, every shard has it]
        for sender in senders:
            slots = sender.peer_slots or sender.member_slots or ALL
            if not slots.intersects(mine):
                continue
            seen = regions.setdefault(sender.peer_region, [0, True])
            seen[0] |= slots.bits
            seen[1] = seen[1] and sender.status.written >= position
        return sum(has and covered | mine.bits == covered
                   for covered, has in regions.values())

    def wait(self, position: int, count: int, timeout_ms: int,
             answer: Callable[[int], object]) -> None:
        """Calls ``answer`` with how many peers committed ``position`` once ``count``
        have, or when ``timeout_ms`` passes (0: no timeout); at once if they have."""
        done = self.acknowledged_count(position)
        if done >= count or count <= 0:
            answer(done)
            return
        for sender in self.senders.values():
            sender.urge(position)
        waiter = Waiter(position, count, answer)
        self._waiters.append(waiter)
        if timeout_ms > 0:
            waiter.timeout = self.clock.callLater(timeout_ms / 1000, self._expire_waiter, waiter)

    def _expire_waiter(self, waiter: Waiter) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
            waiter.answer(self.acknowledged_count(waiter.position))

    def _acknowledged(self):
        for waiter in list(self._waiters):
            done = self.acknowledged_count(waiter.position)
            if done >= waiter.count:
                self._waiters.remove(waiter)
                if waiter.timeout is not None and waiter.timeout.active():
                    waiter.timeout.cancel()
                waiter.answer(done)

    # ------------------------------------------------------------ status

    def info_lines(self) -> list[str]:
        full, partial = self.sync_counts()
        live = sum(s.live for s in self.senders.values())
        lines = [f"sync_state:{'syncing' if self.syncing else 'synced'}",
                 f"sync_waiting:{','.join(sorted(self.sync_waiting))}",
                 f"connected_peers:{live}",
                 f"replication_position:{self.store.seq}",
                 f"replication_applied:{self.applied}",
                 f"full_syncs:{full}", f"partial_syncs:{partial}",
                 f"tombstone_horizon:{self.tombstone_horizon()}"]
        for i, sender in enumerate(self.senders.values()):
            s = sender.status
            behind, waited = sender.lag()
            lines.append(
                f"peer{i}:name={s.name},addr={s.address},state={s.state},acked={s.acked},"
                f"lag_ops={behind},lag_ms={waited:.1f},last_ack_ms={s.last_ack_ms:.1f},"
                f"full_syncs={s.full_syncs},partial_syncs={s.partial_syncs},"
                f"forwarded={s.forwarded},not_forwarded={s.not_forwarded}")
        return lines

    def sync_counts(self) -> tuple[int, int]:
        """(full, partial) catch-ups of peers from our store, over all streams."""
        statuses = [s.status for s in self.senders.values()]
        return (sum(s.full_syncs for s in statuses), sum(s.partial_syncs for s in statuses))

    def peers(self) -> list[tuple[str, str, str, int, float]]:
        out = []
        for sender in self.senders.values():
            behind, waited = sender.lag()
            out.append((sender.peer, sender.status.address, sender.status.state, behind,
                        waited))
        return out
