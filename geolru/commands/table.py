"""The region's command table: Redis 7 semantics and reply bytes.

The commands live by family, a module each, as Redis splits its own source:
``connection``, ``strings``, ``bits``, ``hyperloglogs``, ``keys`` (and expiry),
``hashes``, ``sets``, ``zsets``, ``server`` (INFO, CONFIG, SLOWLOG, MONITOR), ``transactions`` and
``cluster`` (geolru's REGION, WAIT, PEERS; Redis' CLUSTER); what each takes is in
``geolru.commands.specs``.

``CommandTable.execute(session, args)`` takes a parsed command and returns the
encoded reply.  It knows nothing about sockets: the client port
(``geolru.region.protocol``) feeds it, and the tests call it directly.  Error texts are
redis-server 7.0's, so clients and scripts see what they expect.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from time import perf_counter_ns

import attrs
from twisted.logger import Logger

from geolru.commands import events
from geolru.commands.args import NOAUTH, CommandError, Session, arity_error, text
from geolru.commands.bits import BitCommands, BitfieldCommands
from geolru.commands.channels import Channels
from geolru.commands.cluster import GeoCommands
from geolru.commands.connection import ConnectionCommands
from geolru.commands.docs import ADMIN
from geolru.commands.events import command_events
from geolru.commands.geoindex import GeoIndexCommands
from geolru.commands.hashes import HashCommands
from geolru.commands.hyperloglogs import HyperLogLogCommands
from geolru.commands.keys import KeyCommands
from geolru.commands.lists import ListCommands
from geolru.commands.ports import ClusterView, ReplicationView
from geolru.commands.pubsub import SUBSCRIBER_COMMANDS, PubSubCommands, subscriber_refusal
from geolru.commands.server import INFO_SECTIONS, ServerCommands
from geolru.commands.sets import SetCommands
from geolru.commands.specs import COMMANDS, DATA_NAMES, NO_AUTH, SPECS, WRITE_NAMES
from geolru.commands.stats import ConnectionCounters, ServerStats, SlowLog, monitor_line
from geolru.commands.strings import StringCommands
from geolru.commands.tracking import Tracking
from geolru.commands.transactions import NOT_QUEUED, QUEUED, TransactionCommands
from geolru.commands.zsets import ZSetCommands
from geolru.common.collaborators import Clock
from geolru.keyspace.keyspace import Keyspace, WrongType
from geolru.model.slots import key_slot
from geolru.resp import codec as p

MONITOR_NO_KEYS = p.error("ERR Replica can't interact with the keyspace")
WRONGTYPE = p.error("WRONGTYPE Operation against a key holding the wrong kind of value")

__all__ = ["CommandTable", "Session", "CommandError", "INFO_SECTIONS"]


@attrs.define(eq=False)
class CommandTable(ConnectionCommands, StringCommands, BitCommands, BitfieldCommands,
                   HyperLogLogCommands, KeyCommands, HashCommands, SetCommands, ZSetCommands,
                   GeoIndexCommands, ListCommands, PubSubCommands,
                   ServerCommands, GeoCommands, TransactionCommands):
    """Every command a region implements (one mixin per family), and the dispatch."""

    log = Logger()
    keyspace: Keyspace
    _clock: Clock
    name: str = "geolru"
    latitude: float = 0.0
    longitude: float = 0.0
    requirepass: bytes = b""
    max_bulk_len: int = p.DEFAULT_MAX_BULK_LEN
    started: float = 0.0
    replication: ReplicationView | None = None  # None: a region alone
    cluster: ClusterView | None = None  # None: not in cluster mode
    commands_processed: int = attrs.field(default=0, init=False)
    tcp_port: int = 0
    maxclients: int = 10000
    serve_stale_data: bool = False  # answer key commands while syncing (config)
    # kept by the connection side (geolru.region.protocol.RegionFactory); INFO shows them
    connections: ConnectionCounters = attrs.field(factory=ConnectionCounters)
    config_file: str | None = None  # the ini the region was started from (CONFIG REWRITE)
    config_changed: set = attrs.field(factory=set, init=False)  # by CONFIG SET: REWRITE's
    sessions: dict[int, Session] = attrs.field(factory=dict)  # live connections, by id
    monitors: dict[int, Session] = attrs.field(factory=dict)  # those that said MONITOR
    channels: Channels = attrs.field(factory=Channels)  # pub/sub: who listens to what
    tracking: Tracking = attrs.field(default=None, init=False)  # CLIENT TRACKING
    # hands a message PUBLISHed here to the other regions (the region service wires it
    # to replication); None: a region alone
    publish_to_peers: Callable[[bytes, bytes], None] | None = None
    notify_flags: int = 0  # notify-keyspace-events (geolru.commands.events)
    used_memory_peak: int = attrs.field(default=0, init=False)
    stats: ServerStats = attrs.field(factory=ServerStats, init=False)
    slowlog: SlowLog = attrs.field(factory=SlowLog, init=False)
    run_id: str = attrs.field(factory=lambda: os.urandom(20).hex(), init=False)
    _table: dict = attrs.field(factory=dict, init=False)
    _keys_at: dict = attrs.field(factory=dict, init=False)  # name -> (args -> its keys)
    _one_key: frozenset = attrs.field(factory=frozenset, init=False)  # key at 1, alone
    # the commands whose keys a tracking client's read remembers (Redis': read-only
    # commands with keys)
    _tracked_reads: frozenset = attrs.field(factory=frozenset, init=False)
    _owned: bytes = attrs.field(default=b"", init=False)  # cluster mode: slot -> 1 if ours

    def __attrs_post_init__(self):
        self._table = {name.encode(): (getattr(self, "cmd_" + name), arity,
                                       self.stats.command(name))
                       for name, arity in COMMANDS.items()}
        self._keys_at = {name.encode(): keys_of(spec.keys)
                         for name, spec in SPECS.items() if spec.keys != (0, 0, 0)}
        self._one_key = frozenset(name.encode() for name, spec in SPECS.items()
                                  if spec.keys == (1, 1, 1))
        if self.cluster is not None:  # (a shard's own slots never change while it runs)
            self._owned = self.cluster.myself.slots.owned
        self.tracking = Tracking(self.sessions)
        self.keyspace.change_listeners.append(self._keyspace_changed)
        self.keyspace.watch_changes = bool(self.notify_flags)
        self._keys_at[b"object"] = _subcommand_key(b"help")
        self._keys_at[b"memory"] = _subcommand_key(b"help", b"doctor", b"stats",
                                                   b"malloc-stats", b"purge")
        self._keys_at[b"sintercard"] = _counted_keys
        for name in (b"zunion", b"zinter", b"zdiff", b"zintercard"):
            self._keys_at[name] = _counted_keys
        stored = (b"zunionstore", b"zinterstore", b"zdiffstore")
        for name in stored:  # (COMMAND INFO names the destination alone: 1,1,1)
            self._keys_at[name] = _stored_and_counted_keys
        for name in (b"lmpop", b"zmpop"):
            self._keys_at[name] = _counted_keys
        for name in (b"blmpop", b"bzmpop"):
            self._keys_at[name] = _counted_keys_after_timeout
        radius = (b"georadius", b"georadiusbymember")  # (and a STORE's destination)
        for name in radius:
            self._keys_at[name] = _source_and_stored_keys
        self._one_key -= set(stored) | set(radius)
        self._tracked_reads = frozenset(name for name in self._keys_at
                                        if name in DATA_NAMES and name not in WRITE_NAMES)

    # ------------------------------------------------------------ dispatch

    def execute(self, session: Session, args: list[bytes]) -> bytes:
        name = args[0].lower()
        entry = self._table.get(name)
        if entry is None:
            if session.multi is not None:
                session.multi_failed = True
            return self.stats.error(self._unknown(args))
        function, arity, stat = entry
        argc = len(args)
        if (arity > 0 and argc != arity) or argc < -arity:
            return self._reject(name, stat, arity_error(text(name)), session)
        if self.requirepass and not session.authenticated and name not in NO_AUTH:
            return self._reject(name, stat, NOAUTH, session)
        if self.cluster is not None and (name in self._keys_at or name == b"exec") and not (
                name in self._one_key and self._owned[key_slot(args[1])]):
            moved = self.route(session, name, args)
            if moved is not None:
                if name == b"exec" and session.multi is not None:
                    self._end_transaction(session)  # (as Redis: no EXECABORT)
                    stat.rejected += 1
                    return self.stats.error(moved)
                return self._reject(name, stat, moved, session)
        if self.keyspace.write_failure is not None and name in WRITE_NAMES:
            return self._reject(name, stat, p.error(
                "MISCONF geolru cannot commit to its store, so it refuses writes "
                f"until it can: {self.keyspace.write_failure}"), session)
        if self.keyspace.stale is not None and name in DATA_NAMES:
            return self._reject(name, stat, p.error("STALE " + self.keyspace.stale), session)
        if (session.channels or session.patterns) and not session.resp3 \
                and name not in SUBSCRIBER_COMMANDS:
            return self._reject(name, stat, subscriber_refusal(args), session)
        if session.monitoring and name in DATA_NAMES:
            return self._reject(name, stat, MONITOR_NO_KEYS, session)
        if self.keyspace.syncing and not self.serve_stale_data and name in DATA_NAMES:
            return self._reject(name, stat, p.error(
                f"LOADING region {self.name} is syncing with its peers after a start or a "
                "partition; try another region"), session)
        if session.multi is not None and name not in NOT_QUEUED:
            session.multi.append(args)
            return QUEUED
        self.commands_processed += 1
        session.last_command = name
        keyspace = self.keyspace
        position = keyspace.position
        # keyspace notifications or client tracking on (else none of what follows runs:
        # this is every command's path)
        watching = self.notify_flags or self.tracking.clients
        notify = watching and name in WRITE_NAMES and name in self._keys_at
        if notify:
            keys = self._keys_at[name](args)
            existed = {key: keyspace.exists(key) for key in keys} if self.notify_flags \
                else {}
        session.last_active = started = perf_counter_ns()  # (CLIENT LIST's idle= too)
        try:
            reply = function(session, args)
        except CommandError as e:
            reply = e.reply
        except WrongType:
            reply = WRONGTYPE
        except Exception as e:  # a bug, or a damaged record: this request fails, not the link
            self.log.failure("{command} failed", command=text(name))
            reply = p.error(f"ERR internal error in {text(name)}: {type(e).__name__}")
        elapsed = perf_counter_ns() - started
        stat.ns += elapsed
        stat.calls += 1
        slowlog = self.slowlog
        if 0 <= slowlog.slower_than_us <= elapsed // 1000 and name != b"exec":
            slowlog.add(args, elapsed // 1000, self._clock.seconds(), session.address,
                        session.name)
        if self.monitors and name not in ADMIN and (
                len(args) < 2 or name + b"|" + args[1].lower() not in ADMIN):
            line = self._feed_monitors(session, args)
            if session.monitoring and type(reply) is bytes:
                reply += line  # a monitor sees its own command after its reply
        if keyspace.position != position:  # a write: WAIT waits for this position
            session.last_write = keyspace.position
            if notify:
                self._written(session, name, args, reply, keys, existed)
        if watching:
            if name in (b"flushall", b"flushdb") and self.tracking.clients:
                self.tracking.flush(session)  # (even of an empty keyspace, as Redis)
            if session.tracking is not None:
                self._tracked(session, name, args, reply)
        if session.pending and type(reply) is bytes and not session.in_exec:
            # (invalidations for this client go after its reply; a transaction's,
            # after EXEC's)
            reply += b"".join(session.pending)
            session.pending.clear()
        if type(reply) is bytes and reply[0] == 45:  # b"-": an error reply
            stat.failed += 1
            self.stats.error(reply)
        return reply

    def _written(self, session: Session, name: bytes, args: list, reply, keys,
                 existed: dict) -> None:
        """A command wrote: its keyspace events, and the invalidations of its keys."""
        tracking = self.tracking
        if type(reply) is bytes:
            if self.notify_flags:
                for kind, event, key in command_events(name, args, reply, keys, existed,
                                                       self.keyspace.exists):
                    self.notify(kind, event, key)
            if tracking.clients:
                for key in dict.fromkeys(keys):
                    tracking.invalidate(key, session)

    def _tracked(self, session: Session, name: bytes, args: list, reply) -> None:
        """A tracking client's command: the keys it read are remembered, and CLIENT
        CACHING lasts no longer."""
        state = session.tracking
        if name in self._tracked_reads and type(reply) is bytes and reply[:1] != b"-":
            self.tracking.remember(session, self._keys_at[name](args), session)
        if state.caching and name != b"client" and session.multi is None \
                and not session.in_exec:
            state.caching = False  # (CLIENT CACHING counts for the next command but
            # CLIENT ones, or a whole transaction: Redis' resetClient)

    def notify(self, kind: int, event: str, key: bytes) -> None:
        """``notifyKeyspaceEvent``: to this region's subscribers of the channels the
        classes on (``notify_flags``) say."""
        flags = self.notify_flags
        if not flags & kind:
            return
        if flags & events.K:
            self.channels.publish(b"__keyspace@0__:" + key, event.encode())
        if flags & events.E:
            self.channels.publish(b"__keyevent@0__:" + event.encode(), key)

    def _keyspace_changed(self, key: bytes, event: str) -> None:
        """A change no command made here (an expiry, a peer's record)."""
        self.notify(events.PEER_CLASSES[event], event, key)
        if self.tracking.clients:
            self.tracking.invalidate(key, None)

    def closed(self, session: Session) -> None:
        """A connection that is gone: out of every list of sessions."""
        self.sessions.pop(session.id, None)
        self.monitors.pop(session.id, None)
        self.channels.drop(session)
        if session.tracking is not None:
            self.tracking.disable(session)
            self.watch_changes()

    def watch_changes(self) -> None:
        """The keyspace reports peers' changes while notifications (that can fire:
        K or E, and a class) or tracking need them."""
        flags = self.notify_flags
        self.keyspace.watch_changes = bool(flags & (events.K | events.E) and flags & ~(
            events.K | events.E)) or bool(self.tracking.clients)

    def set_notify_flags(self, flags: int) -> None:
        self.notify_flags = flags
        self.watch_changes()

    def _feed_monitors(self, session: Session, args: list[bytes]) -> bytes:
        """Show the command to every other monitor; the line, for the session's own."""
        line = monitor_line(self._clock.seconds(), session.address, args)
        for monitor in list(self.monitors.values()):
            if monitor is not session:
                monitor.push(line)
        return line

    def _reject(self, name: bytes, stat, reply: bytes, session) -> bytes:
        """A command refused before it runs; inside MULTI, the transaction fails."""
        stat.rejected += 1
        if session.multi is not None:
            session.multi_failed = True
            if name == b"exec":  # EXEC itself: the transaction ends
                self._end_transaction(session)
                self.stats.error(reply)
                message = reply[1:-2]
                message = message[4:] if message.startswith(b"ERR ") else message
                return b"-EXECABORT Transaction discarded because of: " + message + b"\r\n"
        return self.stats.error(reply)

    def _unknown(self, args: list[bytes]) -> bytes:
        shown = ""
        for arg in args[1:]:
            if len(shown) >= 128:
                break
            shown += "'%s' " % text(arg)[:128 - len(shown)]
        return p.error("ERR unknown command '%s', with args beginning with: %s"
                       % (text(args[0])[:128], shown))


def keys_of(positions: tuple[int, int, int]):
    """A command's keys from its arguments, by COMMAND INFO's first, last and step."""
    first, last, step = positions

    def keys(args: list[bytes]) -> list[bytes]:
        return args[first:(len(args) + last + 1) if last < 0 else last + 1:step]
    return keys


def _counted_keys(args: list[bytes]) -> list[bytes]:
    """SINTERCARD's (ZUNION's, …): as many keys as its first argument says (if it says
    a number)."""
    count = p.parse_int(args[1]) if len(args) > 1 else None
    return args[2:2 + count] if count is not None and count > 0 else []


def _counted_keys_after_timeout(args: list[bytes]) -> list[bytes]:
    """BLMPOP's and BZMPOP's: a timeout, then as many keys as it says."""
    return _counted_keys(args[1:])


def _stored_and_counted_keys(args: list[bytes]) -> list[bytes]:
    """ZUNIONSTORE's and the like: the destination, then as many keys as it says."""
    return args[1:2] + _counted_keys(args[1:])


def _source_and_stored_keys(args: list[bytes]) -> list[bytes]:
    """GEORADIUS's and GEORADIUSBYMEMBER's: the source, and the key after a STORE or a
    STOREDIST among the options (as COMMAND INFO's key specs find them: from argument
    6 of GEORADIUS, 5 of GEORADIUSBYMEMBER)."""
    first = 6 if args[0].lower() == b"georadius" else 5
    return args[1:2] + [args[j + 1] for j in range(first, len(args) - 1)
                        if args[j].upper() in (b"STORE", b"STOREDIST")]


def _subcommand_key(*keyless: bytes):
    """OBJECT's and MEMORY's: the key after the subcommand, unless it takes none."""
    def keys(args: list[bytes]) -> list[bytes]:
        return args[2:3] if len(args) > 2 and args[1].lower() not in keyless else []
    return keys
