"""Run a schedule in a simulated world, heal it, and check what must hold.

After the schedule every cut link heals, every frozen region thaws and every
crashed one (not forgotten) restarts; the world runs until it is quiet.  Then:

- every region shows a client the same value and deadline for every key, and the
  same fields for every hash (members, elements for sets, sorted sets and lists);
- no two elements of a list ever change places: what a region showed right after
  it inserted an element (its neighbours) is the order every region shows at the end;
- (level 8) each region's subscriber got the messages of each region in the order
  they were published there, each once, none that was not published; and each
  region's near cache (a client with CLIENT TRACKING on) holds no value its region
  changed since: no invalidation was missed;
- a ``WAIT`` answers no more regions than have committed the writes it waits for
  (read from their stores; with ``check_wait``, see ``CHECK_WAIT``);
- no write that could not have been lost is missing: each key's record includes
  (by the merge's own order) every write that was committed at its origin or
  confirmed by ``WAIT`` -- so no deleted or expired key is back, and no counter
  lost an increment;
- no region holds anything nobody wrote (each record is within the merge of all
  writes ever made to its key);
- nothing waits any more: no queued or held record, no tombstone, no commit;
- a shard holds only keys of its slots, and no stream carried it any other;
- and all along (every ``PROBE_INTERVAL``), what waits in memory stayed within
  its bounds (queued and held records, frames in flight, publications kept).

A write that its region had not committed when it crashed may be lost, so it
binds nothing; it may also survive (it may have reached a peer first).

A region in cluster mode is its shards: a client sends each command to the shard
serving its key (``FLUSHALL`` to every shard, ``WAIT`` to the shard of its last
write), and a region shows a key as the shard serving it does.  A shard holds
nothing of the slots it does not serve.  ``WAIT n`` at a shard confirms that
client's writes there once it counts n other regions: a region counts when its
shards serving the writing shard's slots all committed them.
"""

from __future__ import annotations

import functools
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
import traceback
from unittest import mock

import attrs
from twisted.internet import defer

from geolru.commands.args import Session
from geolru.keyspace.keyspace import WrongType
from geolru.keyspace.lists import own_joined
from geolru.model import hyperloglog, listpos
from geolru.model.counters import as_counter, counter_of
from geolru.model.hashkeys import (
    LIST_MARK,
    ZMEMBER_MARK,
    field_id,
    identity_slot,
    is_member,
    is_zmember,
    key_id,
    member_id,
    parse,
)
from geolru.model.headers import EXPIRY_ORIGIN, clear_point
from geolru.model.merge import field_visible, merge, visible
from geolru.model.record import decode
from geolru.model.slots import SlotSet
from geolru.replication.sender import BATCH_RECORDS, RECORD_OVERHEAD, StreamState
from geolru.replication.stability import MAX_PUBLICATIONS
from geolru.store.layout import place
from simulation import reference
from simulation.schedule import (
    CHANNELS,
    WORKLOAD_SECONDS,
    Schedule,
    generate,
)
from simulation.world import EPOCH, World, shm_dir

# Whether a WAIT's answer is checked against the stores of the regions it counts.  It
# found that a receiver acknowledged the sender's own writes up to the last record of a
# frame, when a frame of records forwarded for other regions went before the sender's
# own writes still queued: a WAIT counted a region that did not have them yet (seeds
# 10 and 598; fixed: Receiver._apply).
CHECK_WAIT = True
MAX_UNCERTAIN = 10  # writes that may have been lost, per key, tried in every combination
QUIET_LIMIT = 60.0  # simulated seconds after healing before the run counts as stuck
PROBE_INTERVAL = 0.1  # simulated seconds between checks of what waits in memory
HEARTBEAT_TIMEOUT = 2.0  # seconds until the master says a killed region is down


@attrs.define
class Write:
    time: float
    node: str
    incarnation: int
    key: bytes
    record: object
    position: int  # the origin's store position of the write (its last, for FLUSHALL)
    confirmed: bool = False  # by WAIT on every peer
    command: tuple = ()  # what the client sent
    fresh: bool = False  # a hash's header: the key held no live hash at its region before
    before: object = None  # the record its region held before (what a remove had seen)


@attrs.define
class Result:
    seed: int
    problems: list
    timeline: list | None
    events: int = 0
    frames: int = 0
    simulated: float = 0.0
    wall: float = 0.0
    layout: str = ""  # a sharded schedule's shards, as the report shows them

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        lines = [f"seed {self.seed}{self.layout}: " + ("ok" if self.ok else "FAILED")]
        lines += [f"  - {problem}" for problem in self.problems]
        if self.timeline is not None and not self.ok:
            lines.append("  timeline:")
            lines += ["    " + line for line in self.timeline]
        return "\n".join(lines)


class Simulation:
    def __init__(self, schedule: Schedule, timeline: bool = False,
                 check_wait: bool | None = None):
        self.schedule = schedule
        self.check_wait = CHECK_WAIT if check_wait is None else check_wait
        self.rng = random.Random(schedule.seed ^ 0x5EED)
        self.root = tempfile.mkdtemp(prefix="geolru-sim-", dir=shm_dir())
        self.timeline = [] if timeline else None
        self.world = World(self.rng, schedule.names, schedule.delays, schedule.jitter,
                           schedule.skews, self.root, self.timeline, schedule.window,
                           schedule.buffer, schedule.layout)
        self.last_shard: dict[str, object] = {}  # region -> the node of its client's last write
        self.writes: list[Write] = []
        self.world.store_watchers.append(self._expired)
        self.world.sync_on_boot = schedule.wide
        self.world.wire = schedule.wide  # the daemon's Twisted protocols on the links
        self.world.slow_disks = schedule.wide  # commits take time; disks stall and fill
        for name, drift in schedule.drifts.items():
            self.world.nodes[name].drift = drift
        self.world.store_watchers.append(self._stored)
        self.positions: dict[tuple[str, bytes], int] = {}  # (node, key) -> its position
        self.crashes: dict[tuple[str, int], int] = {}  # (node, incarnation) -> committed
        self.problems: list[str] = []
        # the keys the workload writes: strings, and each hash's parts (its header and
        # each field, by identity), which are tracked
        self.string_keys = schedule.string_keys
        self.strings = frozenset(self.string_keys)
        self.hash_fields = schedule.hashes
        self.hash_parts = {key: [key_id(key)] + [field_id(key, f) for f in fields]
                           for key, fields in self.hash_fields.items()}
        # each set's parts likewise: its header and each member
        self.set_members = schedule.sets
        self.set_parts = {key: [key_id(key)] + [member_id(key, m) for m in members]
                          + [field_id(key, f) for f in schedule.set_key_fields]
                          for key, members in self.set_members.items()}
        # and each sorted set's
        self.zset_members = schedule.zsets
        self.zset_parts = {key: [key_id(key)] + [member_id(key, m, ZMEMBER_MARK)
                                                  for m in members]
                           for key, members in self.zset_members.items()}
        # and each list's header (its elements are found as they are made: _elements)
        self.list_keys = schedule.lists
        self.tracked = self.string_keys + [part for parts in (*self.hash_parts.values(),
                                                              *self.set_parts.values(),
                                                              *self.zset_parts.values())
                                           for part in parts] + [key_id(key)
                                                                 for key in self.list_keys]
        # a list element's identity -> the identities next to it (before, after; None
        # at an end) where its region put it, right after the command that made it
        self.neighbours: dict[bytes, tuple] = {}
        # (level 8) each node incarnation's subscriber and near-cache client, and the
        # messages each region published, in order
        self.events = schedule.with_events
        self.listeners: dict[tuple[str, int], dict] = {}
        self.published: dict[str, list[bytes]] = {}
        self.local_published: dict[tuple[str, int], list[bytes]] = {}
        self.tracked_set = frozenset(self.tracked)
        # (node, incarnation, key) -> the newest (version, origin) of a plain record or
        # tombstone that node stored for a string key since it started: what its
        # clients may no longer see anything older than
        self.floors: dict[tuple[str, int, bytes], tuple[int, str]] = {}
        self.wiped: dict[str, float] = {}  # node -> when its data folder was wiped
        # node -> when its data folder was last wiped or put back to an older copy: a
        # WAIT may have counted it before, for writes it has lost since
        self.disk_lost: dict[str, float] = {}
        # node -> (its incarnation, the position it had committed) at its snapshot
        self.snapshots: dict[str, tuple[int, int]] = {}
        self.restored: set[str] = set()  # nodes put back to a snapshot (not yet emptied)
        # (node, incarnation) -> the newest version it stored (made or applied): what
        # its next write must be newer than (a hybrid logical clock never goes back)
        self.newest: dict[tuple[str, int], int] = {}
        self.reads = 0
        self.peaks = {"waiting": 0, "in_flight": 0, "publications": 0}

    def log(self, text: str) -> None:
        self.world.log(text)

    # ------------------------------------------------------------ the schedule

    def run(self) -> Result:
        # a sender parses its peer's slots at each connection: 2 ms in SlotSet.of,
        # more than the rest of a handshake; the same few strings, parsed once here
        with mock.patch.object(SlotSet, "parse", staticmethod(_parse_slots)):
            return self._run()

    def _run(self) -> Result:
        started = time.perf_counter()
        world = self.world
        try:
            for node in world.nodes.values():
                if node.name not in self.schedule.late:
                    node.boot()
            for action in self.schedule.actions:
                world.scheduler.at(action[0], None, self._act, *action[1:])
            world.scheduler.at(PROBE_INTERVAL, None, self._probe)
            end = max([WORKLOAD_SECONDS, *(a[0] for a in self.schedule.actions)]) + 0.1
            world.scheduler.run(end)
            self._heal()
            self._run_until_quiet()
            self._check()
        except Exception:
            self.problems.append("exception:\n" + traceback.format_exc())
        finally:
            for node in world.nodes.values():
                try:
                    node.stop()
                except Exception:
                    self.problems.append(f"{node.name} did not stop:\n"
                                         + traceback.format_exc())
            shutil.rmtree(self.root, ignore_errors=True)
        return Result(self.schedule.seed, self.problems, self.timeline,
                      world.scheduler.events_run, world.frames, world.scheduler.now,
                      time.perf_counter() - started, describe_layout(self.schedule))

    def _stored(self, node, key: bytes, record, seq: int) -> None:
        clock = (node.name, node.incarnation)
        if record.version > self.newest.get(clock, 0):
            self.newest[clock] = record.version
        if key in self.strings:
            self.positions[(node.name, key)] = seq
            if record.counter is None and record.hash_meta is None:
                floor = (node.name, node.incarnation, key)
                stamp = (record.version, record.origin)
                if stamp > self.floors.get(floor, (-1, "")):
                    self.floors[floor] = stamp

    def _expired(self, node, key: bytes, record, seq: int) -> None:
        """A hash's expiry: a write no command made, which the writes must include."""
        if record.origin == EXPIRY_ORIGIN and key in self.tracked_set:
            self.writes.append(Write(self.world.scheduler.now, node.name, node.incarnation,
                                     key, record, seq))

    def _act(self, kind: str, *args) -> None:
        world = self.world
        if self.events:
            for node in world.nodes.values():
                if node.up:
                    self._listening(node)
        if kind == "nearread":
            for node in self._route(args[0], (b"GET", args[1])):
                node.clock.callLater(0, self._near_read, node, args[1])
        elif kind == "command":
            first = args[1][1][0] if args[1][0] == "transaction" else args[1]
            for node in self._route(args[0], first):
                # the client's request reaches the region when it can read it
                node.clock.callLater(0, self._command, node, args[1])
        elif kind == "read":
            for node in self._route(args[0], (b"GET", args[1])):
                node.clock.callLater(0, self._read, node, args[1])
        elif kind == "cut":
            world.cut_link(*args)
        elif kind == "heal":
            world.heal_link(*args)
        elif kind == "freeze":
            for node in world.named(args[0]):
                if node.up:
                    self.log(f"SIGSTOP {node.name}")
                    node.freeze()
        elif kind == "thaw":
            for node in world.named(args[0]):
                self._thaw(node)
        elif kind in ("crash", "vanish"):
            for node in world.named(args[0]):
                if node.up:
                    self.crashes[(node.name, node.incarnation)] = node.store.committed_seq
                    what = "kill -9" if kind == "crash" else "the host (gone from the network) of"
                    self.log(f"{what} {node.name} (committed through "
                             f"{node.store.committed_seq} of {node.store.seq})")
                    node.crash(vanished=kind == "vanish")
                    if world.sync_on_boot:
                        self._tell_down(node)
        elif kind == "restart":
            for node in world.named(args[0]):
                if not node.up and node.name not in world.forgotten:
                    node.boot()
                    self.log(f"restart {node.name} at position {node.store.seq}")
        elif kind == "forget":
            world.forget(args[0])
        elif kind == "stall":
            world.stall(*args)
        elif kind == "unstall":
            world.unstall(*args)
        elif kind == "diskstall":
            world.disks.setdefault(args[0], {})["stalled_until"] = world.scheduler.now + args[1]
            self.log(f"the disk of {args[0]} stalls for {args[1] * 1000:.0f} ms")
        elif kind == "diskfull":
            world.disks.setdefault(args[0], {})["full"] = True
            self.log(f"the disk of {args[0]} is full")
        elif kind == "diskfreed":
            world.disks.setdefault(args[0], {})["full"] = False
            self.log(f"the disk of {args[0]} has room again")
        elif kind == "clockstep":
            for node in world.regions[args[0]]:
                node.skew += args[1]
                self.log(f"clock of {node.name} stepped {args[1] * 1000:+.0f} ms")
        elif kind == "wipe":
            for node in world.named(args[0]):
                if not node.up:
                    self._wipe(node)
                    self.log(f"rm -rf the data folder of {node.name}")
        elif kind == "snapshot":
            for node in world.named(args[0]):
                if node.up:
                    self.snapshots[node.name] = (node.incarnation, node.snapshot())
                    self.log(f"a copy of {node.name}'s data folder (committed through "
                             f"{self.snapshots[node.name][1]})")
        elif kind == "restore":
            for node in world.named(args[0]):
                incarnation, committed = self.snapshots.get(node.name, (-1, 0))
                if node.up and node.incarnation == incarnation:
                    # a power cut with the disk as at its last flush, or a restore
                    # from a backup: what it committed since is gone
                    key = (node.name, node.incarnation)
                    self.crashes[key] = min(self.crashes.get(key, committed), committed)
                    self.log(f"kill -9 {node.name}, its data folder put back to the copy")
                    node.crash()
                    node.restore()
                    self.restored.add(node.name)
                    self.disk_lost[node.name] = world.scheduler.now
        elif kind == "join":
            for node in world.named(args[0]):
                if not node.up and node.incarnation == 0:
                    node.boot()
                    self.log(f"{node.name} joins, empty")

    def _tell_down(self, node) -> None:
        """The master's word, a heartbeat timeout later, that ``node`` is down: a
        region syncing waits no longer for it."""
        incarnation = node.incarnation

        def down(other):
            if not node.up or node.incarnation != incarnation:
                other.replicator.peers_down([node.name])
        for other in self.world.nodes.values():
            if other.up and other is not node:
                other.clock.callLater(HEARTBEAT_TIMEOUT, down, other)

    def _route(self, region: str, args: tuple) -> list:
        """The nodes of ``region`` a client sends ``args`` to: the shard serving its
        key; FLUSHALL to every shard; WAIT to the shard of its last write."""
        world = self.world
        nodes = world.regions[region]
        if len(nodes) == 1:
            return nodes
        if args[0] == b"FLUSHALL":
            self.last_shard[region] = nodes[-1]
            return nodes
        if args[0] == b"WAIT":
            return [self.last_shard.get(region, nodes[0])]
        node = world.serving(region, args[1])
        self.last_shard[region] = node
        return [node]

    def _probe(self) -> None:
        """What waits in memory, anywhere, now: within the bounds the code promises."""
        peaks = self.peaks
        for node in self.world.nodes.values():
            if not node.up:
                continue
            for sender in node.replicator.senders.values():
                peaks["waiting"] = max(peaks["waiting"], sender.waiting_bytes())
                peaks["in_flight"] = max(peaks["in_flight"], sender.window.bytes)
            for pending in node.replicator.stability._publications.values():
                peaks["publications"] = max(peaks["publications"], len(pending))
        # bytes: the buffer, and the window, each overshot by at most one read of the
        # store (a batch of the simulator's small records)
        batch = BATCH_RECORDS * (RECORD_OVERHEAD + 64)
        bounds = {"waiting": self.schedule.buffer + batch,
                  "in_flight": self.schedule.window[1] + batch,
                  "publications": MAX_PUBLICATIONS}
        for name, peak in peaks.items():
            if peak > bounds[name]:
                self.problems.append(f"{name} reached {peak}, over its bound {bounds[name]}")
                bounds[name] = peak  # (said once)
        self.world.scheduler.at(self.world.scheduler.now + PROBE_INTERVAL, None, self._probe)

    def _thaw(self, node) -> None:
        if node.up and node.frozen:
            self.log(f"SIGCONT {node.name} ({len(node.deferred)} events waited)")
            node.thaw(self.schedule.timers_first)

    def _touched(self, commands) -> list:
        """The tracked identities ``commands`` may write: those of the keys they name
        (every one for FLUSHALL)."""
        touched = {}
        for args in commands:
            if args[0] == b"FLUSHALL":
                return self.tracked
            for arg in args[1:]:
                if arg in self.strings:
                    touched[arg] = None
                for part in self.hash_parts.get(arg, ()):
                    touched[part] = None
                for part in self.set_parts.get(arg, ()):
                    touched[part] = None
                for part in self.zset_parts.get(arg, ()):
                    touched[part] = None
                if arg in self.list_keys:
                    touched[key_id(arg)] = None
        return list(touched)

    def _lists_named(self, commands) -> list:
        """The list keys ``commands`` may write (every one for FLUSHALL)."""
        named = {}
        for args in commands:
            for arg in (self.list_keys if args[0] == b"FLUSHALL" else args[1:]):
                if arg in self.list_keys:
                    named[arg] = None
        return list(named)

    def _command(self, node, args: tuple) -> None:
        if args[0] == "transaction":
            self._execute(node, args[1], (b"EXEC", *args[1]),
                      "MULTI; " + "; ".join(b" ".join(a).decode() for a in args[1]) + "; EXEC")
        else:
            self._execute(node, (args,), args, b" ".join(args).decode())

    def _execute(self, node, commands, written: tuple, shown: str) -> None:
        """Run ``commands`` at ``node`` (several: in MULTI ... EXEC) and record what
        they wrote (``written``: the command each write says it came from)."""
        store = node.store
        tracked = self._touched(commands)
        before = {key: store.get(key) for key in tracked}
        lists = self._lists_named(commands)
        elements = {key: _elements(store, key) for key in lists}
        lists_before = {key: _stored_list(node, key) for key in lists}
        newest = self.newest.get((node.name, node.incarnation), 0)
        if len(commands) > 1:
            node.table.execute(node.session, [b"MULTI"])
            for args in commands:
                node.table.execute(node.session, list(args))
            reply = node.table.execute(node.session, [b"EXEC"])
        else:
            reply = node.table.execute(node.session, list(commands[0]))
        if isinstance(reply, defer.Deferred):  # a WAIT
            position, incarnation = node.session.last_write, node.incarnation
            reply.addCallback(self._waited, node, int(commands[0][1]), position,
                              incarnation, shown)
            return
        self.log(f"{node.name}: {shown} -> {reply.strip().decode(errors='replace')}")
        if self.events and commands[0][0] == b"PUBLISH" and reply.startswith(b":"):
            self.published.setdefault(node.region, []).append(commands[0][2])
            # (its own region's subscriber has it at once: a PUBLISH delivers here first)
            self.local_published.setdefault((node.name, node.incarnation), []).append(
                commands[0][2])
        if b"-ERR internal error" in reply:  # (an exception the command table caught)
            self.problems.append(f"{node.name}: {shown} failed: {reply.strip().decode()}")
        now_ms = node.keyspace.now_ms()
        for key in tracked:
            record = store.get(key)
            if record is not None and record != before[key]:
                old = before[key]
                # (a remove keeps the version of the adds it saw)
                member = is_member(key) or is_zmember(key)
                if old is not None and not member and (record.version, record.origin) <= (
                        old.version, old.origin):
                    # not this command's write (each gets a version newer than all
                    # before): the tombstone of what expired, under the version of the
                    # write it came from (a counter's base), made by a store job the
                    # command waited for, or by the command's own lookup
                    continue
                fresh = not (old is not None and old.hash_meta is not None
                             and old.value is not None
                             and (old.deadline is None or old.deadline > now_ms))
                self.writes.append(Write(self.world.scheduler.now, node.name,
                                         node.incarnation, key, record, store.seq,
                                         command=written, fresh=fresh, before=old))
                if record.version <= newest and not member:
                    self.problems.append(
                        f"{node.name}: {shown} wrote {key!r} at v{record.version}, not newer "
                        f"than v{newest} it had already stored: a write stamped in the past "
                        f"loses to writes made before it")
        for key in lists:
            self._element_writes(node, key, elements[key], lists_before[key], written, reply)

    def _element_writes(self, node, key: bytes, before: dict, shown: tuple,
                        written: tuple, reply: bytes) -> None:
        """Record the writes a command made to the elements of the list at ``key``
        (``before``: its element records before, ``shown`` the list as its store
        had it), where each new one stands, and check a push or pop did what it says
        to the list its region had (its store's, not its cache's: the check reads no
        cache, and finds a cache that drifted from its store)."""
        store = node.store
        after = _stored_list(node, key)
        order = [member_id(key, name, LIST_MARK) for name, _ in after]
        for identity, record in _elements(store, key).items():
            old = before.get(identity)
            if record == old:
                continue
            self.writes.append(Write(self.world.scheduler.now, node.name, node.incarnation,
                                     identity, record, store.seq, command=written,
                                     before=old))
            if old is None and record.value is not None and identity in order:
                at = order.index(identity)
                self.neighbours[identity] = (order[at - 1] if at > 0 else None,
                                             order[at + 1] if at + 1 < len(order) else None)
        self._check_list_effect(node, key, shown, after, written, reply)
        entry = node.keyspace.cache.entry(key)
        now_ms = node.keyspace.now_ms()
        if entry is not None and entry.value is None and entry.kind == "list" \
                and (entry.deadline is None or entry.deadline > now_ms):
            # (a cached list past its deadline is dropped at its next read: not shown)
            cached = tuple(entry.fields.items())
            if cached != after:
                self.problems.append(f"{node.name}: {written} left list {key!r} cached as "
                                     f"{cached}, its store's elements in order {after}")

    def _check_list_effect(self, node, key: bytes, before: tuple, after: tuple,
                           written: tuple, reply: bytes) -> None:
        """A push put its values at its end, in Redis' order; a pop took the elements
        at its end and answered their values."""
        command = written[0] if written else b""
        if reply[:1] == b"-" or command not in (b"LPUSH", b"RPUSH", b"LPOP", b"RPOP") \
                or written[1] != key:
            return
        values = [value for _, value in after]
        old = [value for _, value in before]
        if command in (b"LPUSH", b"RPUSH"):
            pushed = list(written[2:])
            want = pushed[::-1] + old if command == b"LPUSH" else old + pushed
        else:
            count = int(written[2]) if len(written) > 2 else 1
            taken = old[:count] if command == b"LPOP" else old[::-1][:count]
            want = old[count:] if command == b"LPOP" else old[:max(0, len(old) - count)]
            answered = [v for v in reply.split(b"\r\n")[1:] if v and v[:1] not in b"$*"] \
                if old else []
            if old and answered != taken:
                self.problems.append(f"{node.name}: {written} on {old} answered {reply!r}, "
                                     f"not {taken}")
        if values != want:
            self.problems.append(f"{node.name}: {written} made list {key!r} {values} "
                                 f"from {old}, not {want}")

    def _listening(self, node) -> dict:
        """The subscriber (to ``CHANNELS``) and the near-cache client (RESP3, tracking
        on) of a node's incarnation, made at its first action after a boot."""
        state = self.listeners.get((node.name, node.incarnation))
        if state is not None:
            return state
        received, near = [], {}

        def invalidated(frame: bytes) -> None:
            if frame.startswith(b">2\r\n$10\r\ninvalidate\r\n"):
                body = frame[len(b">2\r\n$10\r\ninvalidate\r\n"):]
                if body.startswith(b"*"):
                    for key in body.split(b"\r\n")[2::2]:
                        near.pop(key, None)
                else:
                    near.clear()  # (a FLUSHALL)
        subscriber = Session(900001, push=received.append)
        tracker = Session(900002, push=invalidated)
        node.table.sessions[tracker.id] = tracker
        node.table.execute(subscriber, [b"SUBSCRIBE", *CHANNELS])
        node.table.execute(tracker, [b"HELLO", b"3"])
        node.table.execute(tracker, [b"CLIENT", b"TRACKING", b"on"])
        state = self.listeners[(node.name, node.incarnation)] = {
            "received": received, "tracker": tracker, "near": near, "node": node}
        return state

    def _near_read(self, node, key: bytes) -> None:
        """A read through the node's near cache: from memory if held, else through
        the tracking client (remembered if it answered a value)."""
        if not node.up:
            return
        state = self._listening(node)
        if key in state["near"]:
            return
        reply = node.table.execute(state["tracker"], [b"GET", key])
        if reply.startswith(b"$") and not reply.startswith(b"$-1"):
            state["near"][key] = reply.split(b"\r\n")[1]

    def _check_events(self) -> None:
        """Level 8: each subscriber got each region's messages in its order, once, and
        only published ones; each live near cache holds what its region shows."""
        order = {region: {m: i for i, m in enumerate(messages)}
                 for region, messages in self.published.items()}
        for (name, incarnation), state in self.listeners.items():
            last: dict[str, int] = {}
            for frame in state["received"]:
                message = frame.split(b"\r\n")[6]
                region = message.split(b"#")[0].decode()
                at = order.get(region, {}).get(message)
                if at is None:
                    self.problems.append(f"{name} (incarnation {incarnation}) got "
                                         f"{message!r}, which was never published")
                elif at <= last.get(region, -1):
                    self.problems.append(f"{name} (incarnation {incarnation}) got "
                                         f"{message!r} after a later or the same message of "
                                         f"{region}")
                else:
                    last[region] = at
            got = {frame.split(b"\r\n")[6] for frame in state["received"]}
            missing = [m for m in self.local_published.get((name, incarnation), [])
                       if m not in got]
            if missing:
                self.problems.append(f"{name} (incarnation {incarnation}) published "
                                     f"{missing[:3]} and its own subscriber never got them")
        for (name, incarnation), state in self.listeners.items():
            node = state["node"]
            if not node.up or node.incarnation != incarnation:
                continue
            now_ms = node.keyspace.now_ms()
            for key, value in state["near"].items():
                record = node.store.get(key)
                if record is not None and record.deadline is not None \
                        and record.deadline <= now_ms:
                    continue  # (served until the expiry job runs: docs/events.md)
                if node.keyspace.part_expiries.get(key, now_ms + 1) <= now_ms:
                    continue  # (a counter's base, likewise)
                reply = node.table.execute(node.session, [b"GET", key])
                if reply.startswith((b"-LOADING", b"-STALE")):
                    continue
                shown = reply.split(b"\r\n")[1] if not reply.startswith(b"$-1") else None
                if shown != value:
                    self.problems.append(f"{name}'s near cache holds {key!r} = {value!r}, "
                                         f"the region shows {shown!r}: an invalidation was "
                                         f"missed")

    def _read(self, node, key: bytes) -> None:
        """A client's GET, checked against the history so far: the value was written
        by some SET, and by one no older than what this region had already stored
        for the key (a newer value, or a delete): nothing comes back, even for a
        moment, and a region never goes back to an older value."""
        reply = node.table.execute(node.session, [b"GET", key])
        self.log(f"{node.name}: GET {key.decode()} -> {reply.strip().decode(errors='replace')}")
        if not reply.startswith(b"$") or reply.startswith(b"$-1"):
            return  # nothing (or LOADING while it syncs)
        self.reads += 1
        value = reply.split(b"\r\n")[1]
        if value.lstrip(b"-").isdigit() or value.startswith(b"HYLL"):
            return  # a counter's total or a HyperLogLog's registers: no one write made it
        stamps = [(w.record.version, w.record.origin) for w in self.writes
                  if w.key == key and w.record.value == value and w.record.counter is None]
        if not stamps:
            self.problems.append(f"{node.name}: GET {key.decode()} returned "
                                 f"{value.decode(errors='replace')}, which no write wrote")
            return
        floor = self.floors.get((node.name, node.incarnation, key))
        if floor is not None and max(stamps) < floor:
            self.problems.append(
                f"{node.name}: GET {key.decode()} returned {value.decode(errors='replace')} "
                f"(written at v{max(stamps)[0]} by {max(stamps)[1]}) after it had stored "
                f"v{floor[0]} from {floor[1]}: an older value or a deleted key came back")

    def _waited(self, reply: bytes, node, wanted: int, position: int, incarnation: int,
                shown: str) -> None:
        count = int(reply[1:].strip())
        self.log(f"{node.name}: {shown} -> {count}")
        waited = [write for write in self.writes
                  if write.node == node.name and write.incarnation == incarnation
                  and write.position <= position]
        holding = self._holding(node, waited, position) if self.check_wait else count
        if holding < count:
            self.problems.append(
                f"{node.name}: {shown} answered {count}, but {holding} other regions had "
                f"committed its writes up to position {position} (in the shards serving them)")
        if count >= wanted and wanted > 0:
            for write in waited:
                write.confirmed = True

    def _holding(self, writer, writes, position: int) -> int:
        """How many regions besides ``writer``'s have committed ``writes`` -- each in
        the shard serving its key, as its own store says -- or may have (a shard that
        is down cannot say).  Only the string keys and counters are told: what a hash's
        header or field shows depends on the others.  Nor a write whose key the writer
        stored again, after the WAIT's ``position``, by the time it answers (a newer
        write, or a merge): a stream sends a key's newest record only, at its new
        position, and the WAIT counts the positions up to its own."""
        world = self.world
        writes = [write for write in writes if write.key in self.strings
                  and self.positions.get((writer.name, write.key), 0) <= position
                  and not _replaced(writer, write)]
        holding = 0
        for region in world.regions:
            if region == writer.region:
                continue
            holding += all(self.disk_lost.get(world.serving(region, write.key).name, -1.0)
                           > write.time  # it may have had it, before its disk went
                           or _committed_at(world.serving(region, write.key), writer, write)
                           for write in writes)
        return holding

    # ------------------------------------------------------------ healing

    def _heal(self) -> None:
        world = self.world
        for disk in world.disks.values():
            disk["full"] = False
        for link in list(world.cut):
            world.heal_link(*sorted(link))
        for a, b in list(world.stalled):
            world.unstall(a, b)
        for node in world.nodes.values():
            self._thaw(node)
            if not node.up and node.name not in world.forgotten:
                node.boot()
                self.log(f"restart {node.name} at position {node.store.seq}")
        self.log("healed: every link up, every region running")

    def _live_nodes(self):
        return [n for n in self.world.nodes.values()
                if n.up and n.name not in self.world.forgotten]

    def _live_regions(self) -> list[str]:
        return [region for region, nodes in self.world.regions.items()
                if all(n.up and n.name not in self.world.forgotten for n in nodes)]

    def _run_until_quiet(self) -> None:
        scheduler = self.world.scheduler
        healed = scheduler.now
        last_deadline = max([0, *(w.record.deadline or 0 for w in self.writes)])
        alive_checked = False
        while True:
            scheduler.run(scheduler.now + 0.25)
            # (every region's clock past them: skews, and steps, included)
            behind = 0.1 + max(-node.offset(scheduler.now)
                               for node in self.world.nodes.values())
            past_deadlines = (scheduler.now + EPOCH - behind) * 1000 > last_deadline
            self._operator()
            waiting = self._waiting()
            if not alive_checked and not [w for w in waiting if "tombstones" not in w]:
                alive_checked = True  # settled: every write everywhere, tombstones aside
                self._check_alive()
            if past_deadlines and not waiting:
                scheduler.run(scheduler.now + 0.3)  # nothing more may happen now
                return
            if scheduler.now - healed > QUIET_LIMIT:
                self.problems.append(
                    f"not quiet {QUIET_LIMIT:.0f}s after healing: " + "; ".join(self._waiting()))
                return

    def _wipe(self, node) -> None:
        """Remove the data folder of ``node`` (down): it starts again empty."""
        shutil.rmtree(node.data_dir, ignore_errors=True)
        self.wiped[node.name] = self.disk_lost[node.name] = self.world.scheduler.now

    def _operator(self) -> None:
        """A peer refuses to stream to a region put back to an older copy (it has
        collected deletes past where that copy is): do what the refusal says, empty
        its data_dir and start it again (docs/operations.md)."""
        world = self.world
        for name in sorted(self.restored):
            node = world.nodes[name]
            # (as its peers' senders say, or its own -STALE: the peer that refused it
            # may be gone since, crashed or forgotten; wide seed 3001702407, level 2)
            refused = node.up and node.replicator.refused_by is not None or any(
                sender.peer == name and sender.status.state == StreamState.REFUSED
                for other in world.nodes.values() if other.up
                for sender in other.replicator.senders.values())
            if node.up and refused:
                self.restored.discard(name)
                self.log(f"the operator empties the data folder of {name} (refused)")
                node.crash()
                self._wipe(node)
                node.boot()

    def _check_alive(self) -> None:
        """Once every write has reached everywhere (before the deadlines pass, and the
        tombstones go): every region holds each string key with the same value and
        deadline, to the millisecond, and the one the reference model gives.  A key
        whose deadline falls within the regions' clock skew of now is left out: one
        region may have expired it already."""
        regions = self._live_regions()
        if not regions:
            return
        nodes = {region: self.world.regions[region] for region in regions}
        now_ms = max(node.keyspace.now_ms() for group in nodes.values() for node in group)
        skews = [node.offset(self.world.scheduler.now) for node in self.world.nodes.values()]
        spread = 100 + int((max(skews) - min(skews)) * 1000)  # ms between the clocks
        for key in self.string_keys:
            owners = {region: self.world.serving(region, key) for region in regions}
            records = {region: node.store.get(key) for region, node in owners.items()}
            deadlines = [r.deadline for r in records.values() if r is not None and r.deadline]
            if any(deadline <= now_ms + spread for deadline in deadlines):
                continue
            seen = {region: visible(record, now_ms) for region, record in records.items()}
            if len(set(seen.values())) > 1:
                self.problems.append(f"{key!r} differs while alive, with every write "
                                     f"everywhere: {seen}")
                continue
            self._check_reference(key, next(iter(seen.values())), now_ms, "while alive, ")

    def _waiting(self) -> list[str]:
        """What still waits to happen anywhere (empty once the world is quiet)."""
        waiting = []
        for node in self._live_nodes():
            store = node.store
            if store.pending:
                waiting.append(f"{node.name}: {store.pending} writes not committed")
            open_links = {c.to_listener for c in self.world.connections.values()}
            for sender in node.replicator.senders.values():
                if sender.has_connection and not any(map(sender.is_current, open_links)):
                    waiting.append(f"{node.name} -> {sender.peer}: its connection is gone, "
                                   "not noticed yet")
                if not sender.live or sender.waiting() or sender.status.acked < store.seq:
                    waiting.append(
                        f"{node.name} -> {sender.peer}: {sender.status.state}, "
                        f"{sender.waiting()} waiting, acked {sender.status.acked} of "
                        f"{store.seq}")
            tombstones = store.tombstones()
            if tombstones:
                waiting.append(f"{node.name}: {tombstones} tombstones (horizon "
                               f"{node.replicator.tombstone_horizon()}, seq {store.seq})")
        return waiting

    # ------------------------------------------------------------ invariants

    def _certain(self, write: Write) -> bool:
        """Could not have been lost: committed at its origin before any crash, or
        confirmed by WAIT."""
        if write.confirmed:
            return True
        if write.node in self.world.forgotten:
            return False
        if self.wiped.get(write.node, -1.0) > write.time:
            return False  # its region's disk is gone (it may have reached a peer)
        committed = self.crashes.get((write.node, write.incarnation))
        return committed is None or write.position <= committed

    def _check(self) -> None:
        nodes = self._live_nodes()
        regions = self._live_regions()
        serving = self.world.serving
        for key in self.string_keys:
            # a region shows what the shard serving the key holds
            owners = {region: serving(region, key) for region in regions}
            records = {name: node.store.get(key) for name, node in owners.items()}
            seen = {name: visible(record, owners[name].keyspace.now_ms())
                    for name, record in records.items()}
            if len(set(seen.values())) > 1:
                self.problems.append(f"{key!r} differs: " + ", ".join(
                    f"{name}={seen[name]} {_show(record)}" for name, record in records.items()))
                continue
            final = next(iter(seen.values())) if seen else None
            certain, maybe = None, []
            for write in self.writes:
                if write.key == key:
                    if self._certain(write):
                        certain = merge(certain, write.record)
                    else:
                        maybe.append(write.record)
            now_ms = nodes[0].keyspace.now_ms() if nodes else 0
            possible = _outcomes(certain, maybe[-MAX_UNCERTAIN:], now_ms)
            if final not in possible:
                self.problems.append(
                    f"{key!r} is {_show(next(iter(records.values())))} everywhere; the writes "
                    f"allow only {sorted(map(str, possible))} (the certain ones merge to "
                    f"{_show(certain)}; {len(maybe)} may have been lost): a lost write, or "
                    f"a deleted or expired key come back")
            self._check_reference(key, final, now_ms)
        for key in self.hash_fields:
            self._check_hash(regions, key)
        for key in self.set_members:
            self._check_set(regions, key)
        for key in self.zset_members:
            self._check_zset(regions, key)
        for key in self.list_keys:
            self._check_list(regions, key)
        if self.events:
            self._check_events()
        for node in nodes:
            if node.slots is not None:
                strays = [key for key in self.tracked if identity_slot(key) not in node.slots
                          and node.store.get(key) is not None]
                if strays:
                    self.problems.append(f"{node.name} holds {strays}, outside its slots "
                                         f"{node.slots}")
        misrouted = self.world.misrouted
        if misrouted:
            self.problems.append(f"{len(misrouted)} records went to a shard that does not "
                                 f"serve them, first {'; '.join(misrouted[:3])}")
        self.problems += [f"still waiting: {w}" for w in self._waiting()]

    def _check_reference(self, key: bytes, final, now_ms: int, when: str = "") -> None:
        """``final``, what every region shows of a string key, against the reference
        model (``simulation.reference``) of the writes made to it."""
        ops, certain, maybe = {}, [], []
        for write in self.writes:
            if write.key != key or write.record.origin == EXPIRY_ORIGIN:
                continue
            op = self._op(write, ops)
            if op is None:
                return
            (certain if self._certain(write) else maybe).append(op)
        possible = reference.outcomes(certain, maybe[-MAX_UNCERTAIN:], now_ms)
        if final not in possible:
            self.problems.append(
                f"{when}{key!r} is {final} everywhere; the reference model of its "
                f"{len(certain)} certain writes (and {len(maybe)} that may have been "
                f"lost) allows only {sorted(map(str, possible))}")

    def _check_hash_reference(self, key: bytes, final, now_ms: int) -> None:
        """``final``, what every region shows at a hash key, against the reference
        model of every write to the key, its header and its fields."""
        ops, key_ops, hash_writes, fields = {}, [], [], {}
        for write in self.writes:
            if write.key not in self.hash_parts[key]:
                continue
            record = write.record
            if record.hash_meta is not None:  # a write to the hash as a whole
                command = write.command[:1]
                sets = command in ((b"PEXPIRE",), (b"PERSIST",)) or write.fresh
                hash_writes.append(reference.HashWrite(
                    (record.version, record.origin), sets,
                    record.deadline if command != (b"PERSIST",) else None))
                cleared = record.hash_meta.cleared
                if cleared[1] == EXPIRY_ORIGIN and cleared[0]:
                    # the hash had expired here, and the command made a new one: the
                    # expiry is a delete this region made (other regions store it as
                    # a write of its own, which _expired records)
                    key_ops.append(reference.Op(cleared))
                continue
            op = self._op(write, ops)
            if op is None:
                return
            if write.key == key_id(key):
                key_ops.append(op)
            else:
                fields.setdefault(parse(write.key)[1], []).append(op)
        expected = reference.hash_outcome(key_ops, hash_writes, fields, now_ms)
        if final != expected:
            self.problems.append(f"hash {key!r} is {final} everywhere; the reference model "
                                 f"of its writes says {expected}")

    def _op(self, write: Write, ops: dict) -> reference.Op | None:
        """A write as the reference model takes it, also kept in ``ops`` (the key's
        writes so far, by version): its version; a whole-key write's value and
        deadline; an increment's amount and the start its region gave it (the base it
        had seen, or its own version)."""
        record = write.record
        stamp = (record.version, record.origin)
        if record.counter is None:
            op = ops[stamp] = reference.Op(stamp, record.value, record.deadline)
            return op
        mine = [c for c in counter_of(record).counts if c[0] == record.origin]
        since = mine[0][1] if mine else None
        # started on a whole-key write, or on nothing: at its own version, or at its
        # region's first increment since (a later one goes on from there)
        earlier = ops.get(since)
        base = earlier if earlier is not None and not earlier.increment else None
        delta, registers = _delta(write), _added(write)
        if (delta is None and registers is None) or since is None or (
                earlier is None and since != stamp):
            self.problems.append(f"{write.key!r}: {write.command} at {write.node} made "
                                 f"{_show(record)}, which the reference model cannot read")
            return None
        op = ops[stamp] = reference.Op(stamp, delta=delta, since=since, base=base,
                                       registers=registers)
        return op

    def _check_hash(self, regions, key: bytes) -> None:
        """Every region shows the same hash (or string, or nothing) at ``key``; when
        every write to it is certain, the one its writes merge to."""
        owners = {region: self.world.serving(region, key) for region in regions}
        seen = {region: _hash_view(node.keyspace, key) for region, node in owners.items()}
        nodes = list(owners.values())
        if len(set(seen.values())) > 1:
            self.problems.append(f"hash {key!r} differs: {seen}")
            return
        writes = [w for w in self.writes if w.key in self.hash_parts[key]]
        if not nodes or not all(self._certain(w) for w in writes):
            return
        merged = {}
        for write in writes:
            merged[write.key] = merge(merged.get(write.key), write.record)
        expected = _expected_hash(merged, key, self.hash_fields[key],
                                  nodes[0].keyspace.now_ms())
        final = next(iter(seen.values()))
        if final != expected:
            self.problems.append(f"hash {key!r} is {final} everywhere; its writes merge to "
                                 f"{expected}")
        self._check_hash_reference(key, final, nodes[0].keyspace.now_ms())


    def _check_zset(self, regions, key: bytes) -> None:
        """Every region shows the same sorted set (members, scores, deadline) at
        ``key``; when every write to it is certain, the members and scores the
        reference model of its writes keeps (``reference.zset_outcome``)."""
        owners = {region: self.world.serving(region, key) for region in regions}
        seen = {region: _zset_view(node.keyspace, key) for region, node in owners.items()}
        if len(set(seen.values())) > 1:
            self.problems.append(f"sorted set {key!r} differs: {seen}")
            return
        writes = [w for w in self.writes if w.key in self.zset_parts[key]]
        if not owners or not all(self._certain(w) for w in writes):
            return
        self._check_zset_reference(key, next(iter(seen.values())), writes)

    def _check_zset_reference(self, key: bytes, final, writes: list) -> None:
        """A sorted set against the reference model: each member's writes (an add has
        a version of its own, and a ``ZADD``'s score or a ``ZINCRBY``'s amount and
        start; a remove is its record's newest remover's, and says what it had
        seen)."""
        key_ops, headers, members, stamps, clears, ops = [], [], {}, set(), set(), {}
        for write in writes:
            record = write.record
            if write.key == key_id(key):
                if record.hash_meta is not None:
                    headers.append(_header_write(write))
                    if record.hash_meta.cleared[0]:
                        clears.add(record.hash_meta.cleared)
                else:
                    op = self._op(write, ops)
                    if op is None:
                        return
                    key_ops.append(op)
                continue
            stamp = (write.key, record.version, record.origin)
            if stamp in stamps or _a_remove(record):
                op = reference.MemberOp(seen=_seen(write.before))
            else:
                op = _score_op(write)
                if op is None:
                    self.problems.append(f"{write.key!r}: {write.command} at {write.node} "
                                         f"made {_show(record)}, which the reference "
                                         "model cannot read")
                    return
            stamps.add(stamp)
            members.setdefault(parse(write.key)[1], []).append(op)
        made = {op.stamp for op in key_ops}
        key_ops += [reference.Op(cleared) for cleared in sorted(clears - made)]
        expected = reference.zset_outcome(key_ops, headers, members, self._now_ms())
        if final is not None and final[0] == "zset":
            final = ("zset", tuple(sorted(final[1])), final[2])
        if final != expected:
            self.problems.append(f"sorted set {key!r} is {final} everywhere; the reference "
                                 f"model of its writes says {expected}")

    def _check_list(self, regions, key: bytes) -> None:
        """Every region shows the same list (elements in the same order, values,
        deadline) at ``key``, its cached order that of its elements' positions; no two
        elements changed places since a region inserted them; when every write to it
        is certain, its elements and values are those the reference model keeps (none
        removed is back: ``reference.list_outcome``)."""
        owners = {region: self.world.serving(region, key) for region in regions}
        seen = {}
        for region, node in owners.items():
            seen[region] = _list_view(node.keyspace, key)
            stored = _stored_list(node, key)
            if seen[region] is not None and seen[region][0] == "list" \
                    and seen[region][1] != stored:
                self.problems.append(f"list {key!r} at {region} shows {seen[region][1]}, "
                                     f"its store's elements in order {stored}")
        if len(set(seen.values())) > 1:
            self.problems.append(f"list {key!r} differs: {seen}")
            return
        final = next(iter(seen.values()), None)
        shown = [member_id(key, name, LIST_MARK) for name, _ in final[1]] \
            if final is not None and final[0] == "list" else []
        place = {identity: at for at, identity in enumerate(shown)}
        for identity, (left, right) in self.neighbours.items():
            if parse(identity)[0] != key or identity not in place:
                continue
            if (left in place and place[left] > place[identity]) or (
                    right in place and place[right] < place[identity]):
                self.problems.append(f"list {key!r}: {parse(identity)[1]!r} was put between "
                                     f"{left!r} and {right!r}, and is not between them now")
        writes = [w for w in self.writes
                  if w.key == key_id(key) or (w.key[:3] == LIST_MARK
                                              and parse(w.key)[0] == key)]
        if not owners or not all(self._certain(w) for w in writes):
            return
        ops, key_ops, list_writes, elements, clears = {}, [], [], {}, set()
        for write in writes:
            record = write.record
            if write.key == key_id(key) and record.hash_meta is not None:
                list_writes.append(_header_write(write))
                if record.hash_meta.cleared[0]:
                    clears.add(record.hash_meta.cleared)
            elif write.key == key_id(key):
                op = self._op(write, ops)
                if op is None:
                    return
                key_ops.append(op)
            else:
                stamp = (record.version, record.origin)
                name = parse(write.key)[1]
                inserted, made = elements.setdefault(name, (stamp, []))
                made.append(reference.ElementOp(stamp, record.value))
        for name, (_, writes_of_it) in elements.items():
            # an element pushed onto the end of its region's run counts as inserted
            # when the run was (docs/collections.md, *Runs*): its first element was
            run = listpos.run_of(name)
            first = elements.get(run[0] + b"0") if run is not None else None
            if first is not None:
                elements[name] = (first[0], writes_of_it)
        made = {op.stamp for op in key_ops}
        key_ops += [reference.Op(cleared) for cleared in sorted(clears - made)]
        expected = reference.list_outcome(key_ops, list_writes, elements, self._now_ms())
        got = final if final is None or final[0] != "list" \
            else ("list", tuple(sorted(final[1])), final[2])
        if got != expected:
            self.problems.append(f"list {key!r} is {got} everywhere; the reference model "
                                 f"of its writes says {expected}")

    def _now_ms(self) -> int:
        nodes = self._live_nodes()
        return nodes[0].keyspace.now_ms() if nodes else 0

    def _check_set(self, regions, key: bytes) -> None:
        """Every region shows the same set (or string, or nothing) at ``key``; when
        every write to it is certain, the one the reference model says (no member
        whose every add a remove had seen is back, no add lost to a remove that had
        not seen it)."""
        owners = {region: self.world.serving(region, key) for region in regions}
        seen = {region: _set_view(node.keyspace, key) for region, node in owners.items()}
        if len(set(seen.values())) > 1:
            self.problems.append(f"set {key!r} differs: {seen}")
            return
        writes = [w for w in self.writes if w.key in self.set_parts[key]]
        if not owners or not all(self._certain(w) for w in writes):
            return
        now_ms = next(iter(owners.values())).keyspace.now_ms()
        ops, key_ops, set_writes, members, stamps, clears = {}, [], [], {}, set(), set()
        fields, adds = {}, {}  # adds: member -> {stamp: when it was made}
        for write in writes:
            record = write.record
            if write.key == key_id(key) and record.hash_meta is not None:
                set_writes.append(_header_write(write))
                if record.hash_meta.cleared[0]:
                    clears.add(record.hash_meta.cleared)
            elif write.key == key_id(key):
                op = self._op(write, ops)
                if op is None:
                    return
                key_ops.append(op)
            elif not is_member(write.key):  # a field: the key made a hash
                op = self._op(write, ops)
                if op is None:
                    return
                fields.setdefault(parse(write.key)[1], []).append(op)
            else:
                # an add has a version of its own, and so has a remove (its record's
                # newest remover: ``_a_remove``), which carries the adds its region had
                # seen
                member = parse(write.key)[1]
                stamp = (write.key, record.version, record.origin)
                if stamp in stamps or _a_remove(record):
                    op = reference.MemberOp(seen=_seen(write.before))
                    made = adds.get(member, {})
                    if any(made.get(seen, write.time + 1) > write.time
                           for _, seen in op.seen):
                        self.problems.append(
                            f"set {key!r}: {write.command} at {write.node} removed adds of "
                            f"{member!r} {op.seen} that were not all made before it")
                else:
                    op = reference.MemberOp(stamp[1:])
                    adds.setdefault(member, {})[stamp[1:]] = write.time
                stamps.add(stamp)
                members.setdefault(member, []).append(op)
        # a header's clear point that no recorded write made: an expiry, or the delete
        # that came before it in the same command (SINTERSTORE's, SMOVE's)
        made = {op.stamp for op in key_ops}
        key_ops += [reference.Op(cleared) for cleared in sorted(clears - made)]
        expected = reference.set_outcome(key_ops, set_writes, members, now_ms, fields)
        final = next(iter(seen.values()))
        if final != expected:
            self.problems.append(f"set {key!r} is {final} everywhere; the reference model "
                                 f"of its writes says {expected}")


def _zset_view(keyspace, key: bytes):
    """What a client sees at ``key``: a sorted set's members, scores and deadline."""
    try:
        entry = keyspace.peek(key)
    except WrongType:
        return ("zset", tuple((m, s) for s, m in keyspace.zset_ordered(key)),
                keyspace.expiry(key)[1])
    return None if entry is None else ("string", entry.value, entry.deadline)


def _header_write(write: Write) -> reference.HashWrite:
    """A write to a collection's header as the reference model takes it: its version,
    whether it set the deadline (PEXPIRE, PERSIST, or the write that made the
    collection: on no key, or over one it cleared, as a STORE does) and to what, and
    its kind.  (Wide seed 3000703619: a ZRANGESTORE over a sorted set made it anew,
    without a deadline, newer than a concurrent PEXPIRE that the model kept.)"""
    record = write.record
    command = write.command[:1]
    made_anew = write.fresh or record.hash_meta.cleared > clear_point(write.before)
    return reference.HashWrite(
        (record.version, record.origin),
        command in ((b"PEXPIRE",), (b"PERSIST",)) or made_anew,
        record.deadline if command != (b"PERSIST",) else None, record.hash_meta.kind)


def _elements(store, key: bytes) -> dict:
    """The records of the elements of the list at ``key`` in ``store`` (tombstones
    too), by identity: an element of a run has what its run gives it (a tombstone
    once the run has it removed) joined with its own record (``listpos``); one whose
    run is a tombstone (every element removed) has its own record, if any."""
    rows = {name: record for _, name, record in store.fields(key, b"", LIST_MARK)}
    given = {}  # (what each run gives its elements)
    for stem, run in rows.items():
        if listpos.is_run(stem):
            given.update(listpos.run_elements(stem, run))
    return {member_id(key, name, LIST_MARK): own_joined(given.get(name), rows.get(name))
            for name in [*given, *(name for name in rows if name not in given)]
            if not listpos.is_run(name)}


def _list_view(keyspace, key: bytes):
    """What a client sees at ``key``: a list's elements (name, value) in order and its
    deadline, or a string."""
    try:
        entry = keyspace.peek(key)
    except WrongType:
        return ("list", tuple(keyspace.list_items(key).items()),
                keyspace.expiry(key)[1])
    return None if entry is None else ("string", entry.value, entry.deadline)


def _stored_list(node, key: bytes) -> tuple:
    """The elements of the list at ``key`` as its store holds them, in the order of
    their positions (not the cache's); none if no live list is there."""
    head = node.store.get(key_id(key))
    if head is None or head.hash_meta is None or head.hash_meta.kind != "list" \
            or not head.live_at(node.keyspace.now_ms()):
        return ()
    found = node.keyspace.visible_elements(key, clear_point(head), "list")
    return tuple((name, found[name]) for name in sorted(found, key=listpos.decode))


def _score_op(write: Write) -> reference.ScoreOp | None:
    """A write that added a sorted set's member, as the reference model takes it: a
    ``ZADD``'s score (its record's base of its own version: a ``STORE``'s too), or a
    ``ZINCRBY``'s (or ``ZADD … INCR``'s) amount, from the command, and the start its
    region gave it; None if it is neither."""
    record = write.record
    stamp = (record.version, record.origin)
    entry = dict(record.hash_meta.entries).get(record.origin)
    if entry is None or entry.added != stamp:
        return None
    if entry.base is not None and entry.base[0] == stamp:
        return reference.ScoreOp(stamp, score=entry.base[1])
    member = parse(write.key)[1]
    commands = write.command[1:] if write.command[:1] == (b"EXEC",) else (write.command,)
    for args in commands:
        if args[0] == b"ZINCRBY" and args[3] == member:
            delta = float(args[2])
        elif args[0] == b"ZADD" and b"INCR" in (a.upper() for a in args[2:-2]) \
                and args[-1] == member:
            delta = float(args[-2])
        else:
            continue
        # a start of its own, or its region's increments since a start go on: its
        # region's entry before it, of that start, plus the amount (wide seed
        # 3008200347: a region that had seen its increments cleared started again on
        # the base another region's, made concurrently with the clear, had built on)
        before = dict(write.before.hash_meta.entries).get(record.origin) \
            if write.before is not None and write.before.hash_meta is not None else None
        goes_on = before is not None and before.since == entry.since \
            and entry.total == before.total + delta
        return reference.ScoreOp(stamp, delta=delta, since=entry.since,
                                 again=not goes_on and entry.since != stamp)
    return None


def _a_remove(record) -> bool:
    """Whether a member's record is a remove's: its version is its newest remover's."""
    return (record.version, record.origin) in {v for _, v in record.hash_meta.removers}


def _seen(before) -> tuple:
    """What a remove had seen of a member: each region's newest write in the record
    its region held before it (the adds it was made on, not what the remove wrote)."""
    if before is None or before.hash_meta is None:
        return ()
    state = before.hash_meta
    if hasattr(state, "adds"):  # a set's member
        return state.adds
    return tuple((region, entry.added) for region, entry in state.entries)


def _set_view(keyspace, key: bytes):
    """What a client sees at ``key``: a set's members (or a hash's fields) and
    deadline, or a string."""
    try:
        entry = keyspace.peek(key)
    except WrongType:
        if keyspace.kind(key) == "hash":
            return _hash_view(keyspace, key)
        found = keyspace.set_members(key)
        return ("set", tuple(sorted(found)), keyspace.expiry(key)[1])
    return None if entry is None else ("string", entry.value, entry.deadline)


def _delta(write: Write) -> int | None:
    """The amount of the increment that made ``write`` (a transaction's: its command
    on the write's key; a transaction names each key once), or None."""
    commands = write.command[1:] if write.command[:1] == (b"EXEC",) else (write.command,)
    for args in commands:
        name = args[0]
        if name == b"HINCRBY" and field_id(args[1], args[2]) == write.key:
            return int(args[3])
        if len(args) > 1 and args[1] == write.key:
            if name in (b"INCRBY", b"DECRBY"):
                return int(args[2]) * (1 if name == b"INCRBY" else -1)
            if name in (b"INCR", b"DECR"):
                return 1 if name == b"INCR" else -1
    return None


def _added(write: Write) -> bytes | None:
    """The registers the elements of the ``PFADD`` that made ``write`` raise, or None."""
    commands = write.command[1:] if write.command[:1] == (b"EXEC",) else (write.command,)
    for args in commands:
        if args[0] == b"PFADD" and args[1] == write.key:
            registers = hyperloglog.empty()
            hyperloglog.add(registers, args[2:])
            return bytes(registers)
    return None


def _replaced(writer, write: Write) -> bool:
    """Whether the writer's own record of the key no longer carries ``write``: a newer
    write replaced it, or one that voids it (a ``SET`` newer than the start of the
    increments it was one of, though older than the increment itself, under clock
    skew: seed 75773); its stream sends what replaced it, which is no longer this
    write for a ``WAIT`` to count."""
    current, record = writer.store.get(write.key), write.record
    if current is None:
        return False
    if (current.version, current.origin) > (record.version, record.origin):
        return True
    if record.counter is None:
        return False
    if current.counter is None:
        return merge(current, record) == current
    # a newer base (an EXPIRE elsewhere, made before this increment but after the
    # start of the increments it was one of) voided it at the writer: it is in no
    # record its streams send (wide seed 3001402403, level 2)
    mine = [c for c in counter_of(record).counts if c[0] == record.origin]
    return bool(mine) and mine[0][1] < as_counter(current).base


def _committed_at(node, writer, write: Write) -> bool:
    """Whether ``node``'s committed record of ``write``'s key (what a kill -9 would
    leave it) shows what it would with ``write`` merged in, or comes from a whole-key
    write made after it; True where that cannot be told: ``node`` is down, the write
    expired (by either's clock), or a record may have gone as a collected tombstone."""
    record = write.record
    if not node.up:
        return True
    now_ms = node.keyspace.now_ms()
    if record.deadline is not None and record.deadline <= max(
            now_ms, writer.keyspace.now_ms()):
        return True
    committed = _committed_record(node.store, write.key)
    if (visible(merge(committed, record), now_ms) == visible(committed, now_ms)
            or clear_point(committed) > (record.version, record.origin)):
        return True
    if committed is not None and committed.value is None and (
            committed.version, committed.origin) == (record.version, record.origin):
        return True  # it arrived, and expired there by a clock stepped back since
    return committed is None and node.store.collected_upto > 0


def _committed_record(store, identity: bytes):
    """The record of ``identity`` that ``store`` has committed (as LMDB holds it)."""
    tables = store.tables
    stored, table, _ = place(tables, identity)
    with tables.env.begin() as txn:
        raw = txn.get(stored, db=table)
    return None if raw is None else decode(raw)[1]


@functools.lru_cache(maxsize=256)
def _parse_slots(text: str) -> SlotSet:
    return _PARSE_SLOTS(text)


_PARSE_SLOTS = SlotSet.parse


def describe_layout(schedule: Schedule) -> str:
    """`` (shards: montreal 0-8191 | 8192-16383, frankfurt -, ...)``: each region's
    shards' slots (``-``: no cluster mode); empty for a schedule without shards."""
    if schedule.layout is None:
        return ""
    return " (shards: " + ", ".join(
        f"{region} " + (" | ".join(map(str, shards)) if shards else "-")
        for region, shards in schedule.layout.items()) + ")"


def _hash_view(keyspace, key: bytes):
    """What a client sees at ``key``: a hash's fields and deadline, or a string."""
    try:
        entry = keyspace.peek(key)
    except WrongType:
        items = keyspace.hash_items(key)
        return ("hash", tuple(sorted(items.items())), keyspace.expiry(key)[1])
    return None if entry is None else ("string", entry.value, entry.deadline)


def _expected_hash(merged: dict, key: bytes, fields, now_ms: int):
    head = merged.get(key_id(key))
    if head is None or head.hash_meta is None:
        seen = visible(head, now_ms)
        return None if seen is None else ("string", *seen)
    if head.deadline is not None and head.deadline <= now_ms:
        return None
    cleared = clear_point(head)
    items = {}
    for field in fields:
        value = field_visible(merged.get(field_id(key, field)), cleared)
        if value is not None:
            items[field] = value
    return ("hash", tuple(sorted(items.items())), head.deadline) if items else None


def _outcomes(certain, maybe: list, now_ms: int) -> set:
    """What a client may see of a key: the certain writes merged with any subset
    of the others."""
    outcomes = set()
    for mask in range(1 << len(maybe)):
        record = certain
        for i, other in enumerate(maybe):
            if mask >> i & 1:
                record = merge(record, other)
        outcomes.add(visible(record, now_ms))
    return outcomes


def _show(record) -> str:
    if record is None:
        return "nothing"
    value = "deleted" if record.value is None else record.value.decode(errors="replace")
    deadline = f" until {record.deadline}" if record.deadline is not None else ""
    counter = f" counter[{record.counter}]" if record.counter is not None else ""
    return f"{value}{deadline} (v{record.version} from {record.origin}){counter}"


def run_schedule(schedule: Schedule, timeline: bool = False,
                 check_wait: bool | None = None) -> Result:
    return Simulation(schedule, timeline, check_wait).run()


def run_seed(seed: int, check_wait: bool | None = None, extras: int = 0):
    result = run_schedule(generate(seed, extras), check_wait=check_wait)
    if not result.ok:  # run it again with its timeline: the same seed, the same run
        result = run_schedule(generate(seed, extras), timeline=True,
                              check_wait=check_wait)
    return seed, result.ok, result.report(), result.events


def run_seeds(seeds, jobs: int, out=sys.stdout, check_wait: bool | None = None,
              extras: int = 0) -> tuple[int, list[int], float]:
    """Run ``seeds`` on ``jobs`` processes; (how many ran, failing seeds, seconds)."""
    started = time.perf_counter()
    failed = []
    count = 0
    run = functools.partial(run_seed, check_wait=check_wait, extras=extras)
    if jobs > 1:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            results = pool.imap_unordered(run, seeds, chunksize=8)
            for seed, ok, report, _ in results:
                count += 1
                if not ok:
                    failed.append(seed)
                    print(report, file=out, flush=True)
    else:
        for seed in seeds:
            seed, ok, report, _ = run(seed)
            count += 1
            if not ok:
                failed.append(seed)
                print(report, file=out, flush=True)
    return count, sorted(failed), time.perf_counter() - started
