"""The region's command table: Redis 7 semantics and reply bytes.

``CommandTable.execute(session, args)`` takes a parsed command and returns the
encoded reply.  It knows nothing about sockets: the protocol glue in
``geolru.region`` feeds it, and the tests call it directly.  Error texts are
redis-server 7.0's, so clients and scripts see what they expect.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from time import perf_counter_ns

import attrs
from twisted.logger import Logger

from geolru import protocols as p
from geolru.globmatch import glob_match
from geolru.keyspace import Keyspace
from geolru.protocols import parse_int
from geolru.stats import ServerStats

REDIS_VERSION = "7.0.15"
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808

NOT_INTEGER = p.error("ERR value is not an integer or out of range")
SYNTAX = p.error("ERR syntax error")
OVERFLOW = p.error("ERR increment or decrement would overflow")
NOAUTH = p.error("NOAUTH Authentication required.")
WRONGPASS = p.error("WRONGPASS invalid username-password pair or user is disabled.")


class CommandError(Exception):
    """Raised inside a command to answer with an encoded error reply."""

    def __init__(self, reply: bytes):
        self.reply = reply


def arity_error(name: str) -> bytes:
    return p.error(f"ERR wrong number of arguments for '{name}' command")


def text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def int_arg(value: bytes) -> int:
    number = parse_int(value)
    if number is None:
        raise CommandError(NOT_INTEGER)
    return number


@attrs.define(eq=False)
class Session:
    """Per-connection state."""

    id: int
    address: str = "?"
    name: bytes | None = None
    authenticated: bool = False
    lib_name: bytes = b""
    lib_version: bytes = b""
    created: float = 0.0
    closing: bool = False  # set by QUIT: reply, then close
    resp3: bool = False  # HELLO 3 was said
    last_write: int = 0  # store position of this connection's last write, for WAIT
    nil: bytes = p.NIL  # the null reply in the session's protocol


def _option(value: bytes) -> bytes:
    return value.upper()


@attrs.define(eq=False)
class CommandTable:
    log = Logger()
    keyspace: Keyspace
    _clock: object
    name: str = "geolru"
    latitude: float = 0.0
    longitude: float = 0.0
    requirepass: bytes = b""
    max_bulk_len: int = p.DEFAULT_MAX_BULK_LEN
    started: float = 0.0
    replication: object = None  # geolru.replication.Replication (or a Replicator); None alone
    commands_processed: int = attrs.field(default=0, init=False)
    connections_received: int = attrs.field(default=0, init=False)
    connected_clients: int = attrs.field(default=0, init=False)
    rejected: int = attrs.field(default=0, init=False)
    tcp_port: int = 0
    maxclients: int = 10000
    blocked_clients: int = attrs.field(default=0, init=False)  # waiting in WAIT
    used_memory_peak: int = attrs.field(default=0, init=False)
    stats: ServerStats = attrs.field(factory=ServerStats, init=False)
    run_id: str = attrs.field(factory=lambda: os.urandom(20).hex(), init=False)
    _table: dict = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self):
        self._table = {name.encode(): (getattr(self, "cmd_" + name), arity,
                                       self.stats.command(name))
                       for name, arity in COMMANDS.items()}

    # ------------------------------------------------------------ dispatch

    def execute(self, session: Session, args: list[bytes]) -> bytes:
        name = args[0].lower()
        entry = self._table.get(name)
        if entry is None:
            return self.stats.error(self._unknown(args))
        function, arity, stat = entry
        argc = len(args)
        if (arity > 0 and argc != arity) or argc < -arity:
            return self._reject(stat, arity_error(text(name)))
        if self.requirepass and not session.authenticated and name not in NO_AUTH:
            return self._reject(stat, NOAUTH)
        if self.keyspace.store.failure is not None and name in WRITE_NAMES:
            return self._reject(stat, p.error(
                "MISCONF geolru cannot commit to its store, so it refuses writes "
                f"until it can: {self.keyspace.store.failure}"))
        if self.keyspace.stale is not None and name in DATA_NAMES:
            return self._reject(stat, p.error("STALE " + self.keyspace.stale))
        self.commands_processed += 1
        store = self.keyspace.store
        position = store.seq
        started = perf_counter_ns()
        try:
            reply = function(session, args)
        except CommandError as e:
            reply = e.reply
        except Exception as e:  # a bug, or a damaged record: this request fails, not the link
            self.log.failure("{command} failed", command=text(name))
            reply = p.error(f"ERR internal error in {text(name)}: {type(e).__name__}")
        stat.ns += perf_counter_ns() - started
        stat.calls += 1
        if store.seq != position:  # a write: WAIT waits for this position
            session.last_write = store.seq
        if type(reply) is bytes and reply[0] == 45:  # b"-": an error reply
            stat.failed += 1
            self.stats.error(reply)
        return reply

    def _reject(self, stat, reply: bytes) -> bytes:
        stat.rejected += 1
        return self.stats.error(reply)

    def _unknown(self, args: list[bytes]) -> bytes:
        shown = ""
        for arg in args[1:]:
            if len(shown) >= 128:
                break
            shown += "'%s' " % text(arg)[:128 - len(shown)]
        return p.error("ERR unknown command '%s', with args beginning with: %s"
                       % (text(args[0])[:128], shown))

    # ------------------------------------------------------------ connection

    def cmd_ping(self, session, args):
        if len(args) > 2:
            return arity_error("ping")
        return p.PONG if len(args) == 1 else p.bulk(args[1])

    def cmd_echo(self, session, args):
        return p.bulk(args[1])

    def cmd_quit(self, session, args):
        session.closing = True
        return p.OK

    def cmd_auth(self, session, args):
        if len(args) > 3:
            return SYNTAX
        if not self.requirepass:
            return p.error("ERR AUTH <password> called without any password configured "
                           "for the default user. Are you sure your configuration is correct?")
        user, password = (b"default", args[1]) if len(args) == 2 else (args[1], args[2])
        if user == b"default" and password == self.requirepass:
            session.authenticated = True
            return p.OK
        return WRONGPASS

    def cmd_select(self, session, args):
        if int_arg(args[1]) != 0:
            return p.error("ERR DB index is out of range")
        return p.OK

    def cmd_hello(self, session, args):
        i = 1
        if len(args) > 1:
            version = parse_int(args[1])
            if version is None:
                return p.error("ERR Protocol version is not an integer or out of range")
            if version not in (2, 3):
                return p.error("NOPROTO unsupported protocol version")
            i = 2
        password = name = None
        while i < len(args):
            option = _option(args[i])
            more = len(args) - i - 1
            if option == b"AUTH" and more >= 2:
                password = (args[i + 1], args[i + 2])
                i += 3
            elif option == b"SETNAME" and more >= 1:
                name = args[i + 1]
                i += 2
            else:
                return p.error("ERR Syntax error in HELLO option '%s'" % text(args[i]))
        if password is not None:
            user, secret = password
            if not self.requirepass or user != b"default" or secret != self.requirepass:
                return WRONGPASS
            session.authenticated = True
        if self.requirepass and not session.authenticated:
            return p.error("NOAUTH HELLO must be called with the client already "
                           "authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
                           "option can be used to authenticate the client and select the "
                           "RESP protocol version at the same time")
        if name is not None:
            reply = self._set_client_name(session, name)
            if reply is not p.OK:
                return reply
        if len(args) > 1:
            session.resp3 = version == 3
            session.nil = p.NULL3 if session.resp3 else p.NIL
        return p.mapping([
            (p.bulk(b"server"), p.bulk(b"redis")),
            (p.bulk(b"version"), p.bulk(REDIS_VERSION.encode())),
            (p.bulk(b"proto"), p.integer(3 if session.resp3 else 2)),
            (p.bulk(b"id"), p.integer(session.id)),
            (p.bulk(b"mode"), p.bulk(b"standalone")),
            (p.bulk(b"role"), p.bulk(b"master")),
            (p.bulk(b"modules"), p.EMPTY_ARRAY),
        ], session.resp3)

    def _set_client_name(self, session, name: bytes) -> bytes:
        if any(c < 33 or c > 126 for c in name):
            return p.error("ERR Client names cannot contain spaces, newlines or "
                           "special characters.")
        session.name = name or None
        return p.OK

    def cmd_client(self, session, args):
        sub = _option(args[1])
        argc = len(args)
        if sub == b"SETNAME" and argc == 3:
            return self._set_client_name(session, args[2])
        if sub == b"GETNAME" and argc == 2:
            return p.bulk(session.name, session.nil)
        if sub == b"ID" and argc == 2:
            return p.integer(session.id)
        if sub == b"SETINFO" and argc == 4:
            attribute = _option(args[2])
            if attribute == b"LIB-NAME":
                session.lib_name = args[3]
            elif attribute == b"LIB-VER":
                session.lib_version = args[3]
            else:
                return p.error("ERR Unrecognized option '%s'" % text(args[2]))
            return p.OK
        if sub == b"INFO" and argc == 2:
            return p.bulk(self._client_line(session).encode() + b"\n")
        if sub == b"HELP" and argc == 2:
            return p.array([p.simple(line) for line in (
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME", "    Return the name of the current connection.",
                "ID", "    Return the ID of the current connection.",
                "INFO", "    Return information about the current client connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
                "SETNAME <name>", "    Assign the name <name> to the current connection.",
                "HELP", "    Print this help.")])
        if sub in (b"SETNAME", b"GETNAME", b"ID", b"SETINFO", b"INFO", b"HELP"):
            return arity_error("client|" + text(args[1].lower()))
        return p.error("ERR unknown subcommand '%s'. Try CLIENT HELP." % text(args[1])[:128])

    def _client_line(self, session) -> str:
        name = text(session.name) if session.name else ""
        age = int(self._clock.seconds() - session.created)
        return (f"id={session.id} addr={session.address} name={name} age={age} db=0 "
                f"lib-name={text(session.lib_name)} lib-ver={text(session.lib_version)}")

    def cmd_command(self, session, args):
        if len(args) == 1:
            return p.array([self._command_info(name) for name in COMMANDS])
        sub = _option(args[1])
        if sub == b"COUNT" and len(args) == 2:
            return p.integer(len(COMMANDS))
        if sub == b"DOCS":
            return p.EMPTY_ARRAY
        if sub == b"INFO":
            names = [text(a.lower()) for a in args[2:]] or list(COMMANDS)
            return p.array([self._command_info(n) if n in COMMANDS else session.nil
                            for n in names])
        if sub == b"LIST" and len(args) == 2:
            return p.bulk_array([n.encode() for n in COMMANDS])
        return p.error("ERR unknown subcommand '%s'. Try COMMAND HELP." % text(args[1])[:128])

    @staticmethod
    def _command_info(name: str) -> bytes:
        arity = COMMANDS[name]
        writes = name in WRITE_COMMANDS
        keyed = name in KEY_POSITIONS
        first, last, step = KEY_POSITIONS.get(name, (0, 0, 0))
        flags = [p.simple("write" if writes else "readonly")] if keyed else []
        return p.array([p.bulk(name.encode()), p.integer(arity), p.array(flags),
                        p.integer(first), p.integer(last), p.integer(step)])

    def cmd_region(self, session, args):
        return p.bulk_array([self.name.encode(), repr(self.latitude).encode(),
                             repr(self.longitude).encode()])

    def cmd_help(self, session, args):
        lines = ["geolru region %s: Redis-compatible commands:" % self.name]
        lines += ["  %s (arity %d)" % (n.upper(), a) for n, a in COMMANDS.items()]
        return p.array([p.simple(line) for line in lines])

    # ------------------------------------------------------------ strings

    def cmd_get(self, session, args):
        entry = self.keyspace.lookup(args[1])
        if entry is None:
            return session.nil
        value = entry.value
        return b"$%d\r\n%s\r\n" % (len(value), value)

    def cmd_set(self, session, args):
        key, value = args[1], args[2]
        flags, deadline = self._expire_options(args, 3, "set", for_set=True)
        keyspace = self.keyspace
        if not flags and deadline is None:  # the plain SET: no read needed
            keyspace.write(key, value, None)
            return p.OK
        old = keyspace.peek(key)
        old_value = None if old is None else old.value  # write() reuses the entry
        if b"KEEPTTL" in flags and old is not None:
            deadline = old.deadline
        if not ((b"NX" in flags and old is not None) or (b"XX" in flags and old is None)):
            keyspace.write(key, value, deadline)
        elif b"GET" not in flags:
            return session.nil
        return p.bulk(old_value, session.nil) if b"GET" in flags else p.OK

    def _expire_options(self, args, start, command, for_set):
        """Parse SET/GETEX options like Redis' ``parseExtendedStringArgumentsOrReply``.

        Returns the flags and, for SET, the deadline; for GETEX the unparsed
        ``(time, unit)``, as Redis validates it only for an existing key.
        """
        flags = set()
        unit = None
        when = None
        j = start
        while j < len(args):
            opt = _option(args[j])
            has_next = j + 1 < len(args)
            expiring = {b"EX", b"PX", b"EXAT", b"PXAT"} & flags
            if opt == b"NX" and b"XX" not in flags and for_set:
                flags.add(b"NX")
            elif opt == b"XX" and b"NX" not in flags and for_set:
                flags.add(b"XX")
            elif opt == b"GET" and for_set:
                flags.add(b"GET")
            elif opt == b"KEEPTTL" and not expiring and b"PERSIST" not in flags and for_set:
                flags.add(b"KEEPTTL")
            elif opt == b"PERSIST" and not for_set and not expiring and b"KEEPTTL" not in flags:
                flags.add(b"PERSIST")
            elif (opt in (b"EX", b"PX", b"EXAT", b"PXAT") and has_next
                  and b"KEEPTTL" not in flags and b"PERSIST" not in flags
                  and not (expiring - {opt})):
                flags.add(opt)
                unit = opt
                when = args[j + 1]
                j += 1
            else:
                raise CommandError(SYNTAX)
            j += 1
        flags -= {b"EX", b"PX", b"EXAT", b"PXAT"}
        if unit is None:
            return flags, None
        if not for_set:  # GETEX checks the time only once it found the key
            return flags, (when, unit)
        return flags, self._deadline(when, unit, command)

    def _deadline(self, when: bytes, unit: bytes, command: str) -> int:
        number = int_arg(when)
        seconds = unit in (b"EX", b"EXAT")
        invalid = CommandError(p.error(f"ERR invalid expire time in '{command}' command"))
        if number <= 0 or (seconds and number > LLONG_MAX // 1000):
            raise invalid
        ms = number * 1000 if seconds else number
        if unit in (b"EX", b"PX"):
            now = self.keyspace.now_ms()
            if ms > LLONG_MAX - now:
                raise invalid
            ms += now
        return ms

    def cmd_setex(self, session, args):
        deadline = self._deadline(args[2], b"EX", "setex")
        self.keyspace.write(args[1], args[3], deadline)
        return p.OK

    def cmd_psetex(self, session, args):
        deadline = self._deadline(args[2], b"PX", "psetex")
        self.keyspace.write(args[1], args[3], deadline)
        return p.OK

    def cmd_setnx(self, session, args):
        if self.keyspace.exists(args[1]):
            return p.ZERO
        self.keyspace.write(args[1], args[2], None)
        return p.ONE

    def cmd_getset(self, session, args):
        old = self.keyspace.peek(args[1])
        old_value = None if old is None else old.value  # write() reuses the entry
        self.keyspace.write(args[1], args[2], None)
        return p.bulk(old_value, session.nil)

    def cmd_getdel(self, session, args):
        entry = self.keyspace.lookup(args[1])
        if entry is None:
            return session.nil
        self.keyspace.delete(args[1])
        return p.bulk(entry.value)

    def cmd_getex(self, session, args):
        flags, when = self._expire_options(args, 2, "getex", for_set=False)
        keyspace = self.keyspace
        entry = keyspace.lookup(args[1])
        if entry is None:
            return session.nil
        deadline = None if when is None else self._deadline(*when, "getex")
        value = entry.value
        if deadline is not None and deadline <= keyspace.now_ms():
            keyspace.delete(args[1])
        elif deadline is not None:
            keyspace.write(args[1], value, deadline)
        elif b"PERSIST" in flags and entry.deadline is not None:
            keyspace.write(args[1], value, None)
        return p.bulk(value)

    def cmd_mget(self, session, args):
        lookup = self.keyspace.lookup
        values = []
        for key in args[1:]:
            entry = lookup(key)
            values.append(None if entry is None else entry.value)
        return p.bulk_array(values, session.nil)

    def cmd_mset(self, session, args):
        if len(args) % 2 == 0:
            return arity_error("mset")
        write = self.keyspace.write
        for i in range(1, len(args), 2):
            write(args[i], args[i + 1], None)
        return p.OK

    def cmd_msetnx(self, session, args):
        if len(args) % 2 == 0:
            return arity_error("msetnx")
        if any(self.keyspace.exists(args[i]) for i in range(1, len(args), 2)):
            return p.ZERO
        self.cmd_mset(session, args)
        return p.ONE

    def cmd_append(self, session, args):
        entry = self.keyspace.peek(args[1])
        if entry is None:
            value, deadline = args[2], None
        else:
            value, deadline = entry.value + args[2], entry.deadline
            if len(value) > self.max_bulk_len:
                return p.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        self.keyspace.write(args[1], value, deadline)
        return p.integer(len(value))

    def cmd_strlen(self, session, args):
        entry = self.keyspace.lookup(args[1])
        return p.integer(0 if entry is None else len(entry.value))

    def _increment(self, key: bytes, delta: int) -> bytes:
        entry = self.keyspace.peek(key)
        current = 0
        if entry is not None:
            current = parse_int(entry.value)
            if current is None:
                return NOT_INTEGER
        result = current + delta
        if result > LLONG_MAX or result < LLONG_MIN:
            return OVERFLOW
        value = self.keyspace.increment(key, delta)
        return b":%s\r\n" % value

    def cmd_incr(self, session, args):
        return self._increment(args[1], 1)

    def cmd_decr(self, session, args):
        return self._increment(args[1], -1)

    def cmd_incrby(self, session, args):
        return self._increment(args[1], int_arg(args[2]))

    def cmd_decrby(self, session, args):
        delta = int_arg(args[2])
        if delta == LLONG_MIN:
            return p.error("ERR decrement would overflow")
        return self._increment(args[1], -delta)

    # ------------------------------------------------------------ keys

    def cmd_del(self, session, args):
        delete = self.keyspace.delete
        return p.integer(sum(1 for key in args[1:] if delete(key)))

    cmd_unlink = cmd_del

    def cmd_exists(self, session, args):
        exists = self.keyspace.exists
        return p.integer(sum(1 for key in args[1:] if exists(key)))

    def cmd_type(self, session, args):
        return b"+string\r\n" if self.keyspace.exists(args[1]) else b"+none\r\n"

    def _expire(self, args, command: str, unit_ms: int, absolute: bool) -> bytes:
        flags = set()
        for arg in args[3:]:
            option = _option(arg)
            if option not in (b"NX", b"XX", b"GT", b"LT"):
                return p.error("ERR Unsupported option %s" % text(arg))
            flags.add(option)
        if b"NX" in flags and flags & {b"XX", b"GT", b"LT"}:
            return p.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        if b"GT" in flags and b"LT" in flags:
            return p.error("ERR GT and LT options at the same time are not compatible")
        when = int_arg(args[2])
        invalid = p.error(f"ERR invalid expire time in '{command}' command")
        if unit_ms == 1000:
            if when > LLONG_MAX // 1000 or when < LLONG_MIN // 1000:
                return invalid
            when *= 1000
        if not absolute:
            now = self.keyspace.now_ms()
            if when > LLONG_MAX - now:
                return invalid
            when += now
        keyspace = self.keyspace
        entry = keyspace.peek(args[1])
        if entry is None:
            return p.ZERO
        current = entry.deadline
        if b"NX" in flags and current is not None:
            return p.ZERO
        if b"XX" in flags and current is None:
            return p.ZERO
        if b"GT" in flags and (current is None or when <= current):
            return p.ZERO
        if b"LT" in flags and current is not None and when >= current:
            return p.ZERO
        if when <= keyspace.now_ms():
            keyspace.delete(args[1])
        else:
            keyspace.write(args[1], entry.value, when)
        return p.ONE

    def cmd_expire(self, session, args):
        return self._expire(args, "expire", 1000, absolute=False)

    def cmd_pexpire(self, session, args):
        return self._expire(args, "pexpire", 1, absolute=False)

    def cmd_expireat(self, session, args):
        return self._expire(args, "expireat", 1000, absolute=True)

    def cmd_pexpireat(self, session, args):
        return self._expire(args, "pexpireat", 1, absolute=True)

    def cmd_persist(self, session, args):
        entry = self.keyspace.peek(args[1])
        if entry is None or entry.deadline is None:
            return p.ZERO
        self.keyspace.write(args[1], entry.value, None)
        return p.ONE

    def _remaining_ms(self, key: bytes) -> int:
        entry = self.keyspace.lookup(key)
        if entry is None:
            return -2
        if entry.deadline is None:
            return -1
        return max(0, entry.deadline - self.keyspace.now_ms())

    def cmd_ttl(self, session, args):
        ms = self._remaining_ms(args[1])
        return p.integer(ms if ms < 0 else (ms + 500) // 1000)

    def cmd_pttl(self, session, args):
        return p.integer(self._remaining_ms(args[1]))

    def _expire_time(self, key: bytes, unit_ms: int) -> bytes:
        entry = self.keyspace.lookup(key)
        if entry is None:
            return p.integer(-2)
        return p.integer(-1 if entry.deadline is None else entry.deadline // unit_ms)

    def cmd_expiretime(self, session, args):
        return self._expire_time(args[1], 1000)

    def cmd_pexpiretime(self, session, args):
        return self._expire_time(args[1], 1)

    def cmd_keys(self, session, args):
        pattern = args[1]
        keys = []
        cursor = 0
        while True:
            cursor, batch = self.keyspace.scan(cursor, 10000)
            keys.extend(k for k in batch if glob_match(pattern, k))
            if cursor == 0:
                return p.bulk_array(keys)

    def cmd_scan(self, session, args):
        cursor = parse_int(args[1]) if args[1] != b"0" else 0
        if cursor is None or cursor < 0:
            return p.error("ERR invalid cursor")
        count, pattern, j = 10, None, 2
        while j < len(args):
            option = _option(args[j])
            if j + 1 >= len(args):
                return SYNTAX
            if option == b"COUNT":
                count = int_arg(args[j + 1])
                if count < 1:
                    return SYNTAX
            elif option == b"MATCH":
                pattern = args[j + 1]
            elif option == b"TYPE":
                if args[j + 1].lower() != b"string":
                    pattern = None
                    count = 0
            else:
                return SYNTAX
            j += 2
        if count == 0:  # TYPE other than string: nothing here
            return p.array([p.bulk(b"0"), p.EMPTY_ARRAY])
        cursor, keys = self.keyspace.scan(cursor, count)
        if pattern is not None:
            keys = [k for k in keys if glob_match(pattern, k)]
        return p.array([p.bulk(b"%d" % cursor), p.bulk_array(keys)])

    def cmd_dbsize(self, session, args):
        return p.integer(self.keyspace.count()[0])

    def cmd_flushall(self, session, args):
        if len(args) > 2 or (len(args) == 2 and _option(args[1]) not in (b"SYNC", b"ASYNC")):
            return SYNTAX
        self.keyspace.flush_all()
        return p.OK

    cmd_flushdb = cmd_flushall

    # ------------------------------------------------------------ server

    def cmd_time(self, session, args):
        now = self._clock.seconds()
        seconds = int(now)
        return p.bulk_array([b"%d" % seconds, b"%d" % int((now - seconds) * 1_000_000)])

    def cmd_config(self, session, args):
        sub = _option(args[1])
        if sub == b"GET":
            if len(args) < 3:
                return arity_error("config|get")
            params = self._config_params()
            found = {}
            for pattern in args[2:]:
                for name, value in params.items():
                    if glob_match(pattern.lower(), name.encode()):
                        found[name] = value
            return p.mapping([(p.bulk(k.encode()), p.bulk(v.encode()))
                              for k, v in found.items()], session.resp3)
        if sub == b"RESETSTAT" and len(args) == 2:
            self.keyspace.hits = self.keyspace.misses = 0
            self.commands_processed = self.connections_received = self.rejected = 0
            self.stats.reset()
            return p.OK
        if sub == b"SET":
            return p.error("ERR Unknown option or number of arguments for CONFIG SET - '%s'"
                           % (text(args[2]) if len(args) > 2 else ""))
        return p.error("ERR unknown subcommand '%s'. Try CONFIG HELP." % text(args[1])[:128])

    def _config_params(self) -> dict[str, str]:
        cache = self.keyspace.cache
        return {
            "save": "", "appendonly": "no", "databases": "1", "timeout": "0",
            "maxmemory": str(cache.max_bytes), "maxmemory-policy": "allkeys-lru",
            "proto-max-bulk-len": str(self.max_bulk_len),
            "requirepass": self.requirepass.decode(),
        }

    def cmd_info(self, session, args):
        wanted = {text(a).lower() for a in args[1:]} or {"default"}
        if wanted & {"all", "everything"}:
            sections = list(INFO_SECTIONS)
        else:
            default = DEFAULT_INFO_SECTIONS if "default" in wanted else ()
            sections = [s for s in INFO_SECTIONS if s in wanted or s in default]
        parts = []
        for section, fields in self.snapshot(sections).items():
            parts.append("# %s\n%s\n" % (section.capitalize(), "".join(
                f"{field}:{value}\n" for field, value in fields.items())))
        return p.verbatim_lines("\n".join(parts), session.resp3)

    def snapshot(self, sections=None) -> dict[str, dict[str, str]]:
        """The INFO figures, section by section: what INFO prints and /metrics and
        /info.json read (``geolru.metrics``)."""
        return {section: dict(line.split(":", 1)
                              for line in getattr(self, "_info_" + section)())
                for section in (INFO_SECTIONS if sections is None else sections)}

    def sample_stats(self) -> None:
        """Every ``RATE_INTERVAL``: feed the instantaneous rates and the memory peak."""
        self.stats.sample(self._clock.seconds(), self.commands_processed)
        self.used_memory_peak = max(self.used_memory_peak, _rss_bytes())

    def _info_server(self):
        now = self._clock.seconds()
        uptime = int(now - self.started)
        return [
            f"redis_version:{REDIS_VERSION}", "redis_mode:standalone",
            f"geolru_region:{self.name}", f"geolru_latitude:{self.latitude}",
            f"geolru_longitude:{self.longitude}",
            f"os:{platform.system()} {platform.release()} {platform.machine()}",
            f"arch_bits:{64 if sys.maxsize > 2 ** 32 else 32}",
            f"python_version:{platform.python_version()}", f"process_id:{os.getpid()}",
            "process_supervised:no", f"run_id:{self.run_id}", f"tcp_port:{self.tcp_port}",
            f"server_time_usec:{int(now * 1_000_000)}",
            f"uptime_in_seconds:{uptime}", f"uptime_in_days:{uptime // 86400}",
            f"hz:{HZ}", f"configured_hz:{HZ}", f"executable:{os.path.abspath(sys.argv[0])}",
        ]

    def _info_clients(self):
        return [f"connected_clients:{self.connected_clients}", f"maxclients:{self.maxclients}",
                f"blocked_clients:{self.blocked_clients}", "tracking_clients:0"]

    def _info_memory(self):
        rss = _rss_bytes()
        self.used_memory_peak = peak = max(self.used_memory_peak, rss)
        cache = self.keyspace.cache
        try:
            system = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            system = 0
        return [f"used_memory:{rss}", f"used_memory_human:{_human(rss)}",
                f"used_memory_rss:{rss}", f"used_memory_rss_human:{_human(rss)}",
                f"used_memory_peak:{peak}", f"used_memory_peak_human:{_human(peak)}",
                f"total_system_memory:{system}",
                f"total_system_memory_human:{_human(system)}",
                f"maxmemory:{cache.max_bytes}", f"maxmemory_human:{_human(cache.max_bytes)}",
                "maxmemory_policy:allkeys-lru", "mem_allocator:pymalloc"]

    def _info_persistence(self):
        store = self.keyspace.store
        status = "ok" if store.failure is None else "err"
        return ["loading:0", f"store_path:{store.path}", f"store_seq:{store.seq}",
                f"store_pending:{store.pending}",
                f"store_commits:{store.commits}",
                f"store_commit_interval_ms:{store.commit_interval * 1000:g}",
                f"store_slowest_commit_ms:{store.slowest_commit * 1000:.3f}",
                f"store_failed_commits:{store.failed_commits}",
                f"store_writable:{int(store.failure is None)}",
                f"store_fsync:{store.fsync}",
                f"store_writemap:{int(store.writemap)}",
                f"store_last_fsync:{int(store.last_fsync)}",
                f"store_tombstones:{store.tombstones()}",
                f"store_collected_upto:{store.collected_upto}",
                # what Redis tooling watches, mapped onto the store: MISCONF follows
                # the same "last save failed" state as Redis' bgsave error
                f"rdb_changes_since_last_save:{store.pending}", "rdb_bgsave_in_progress:0",
                f"rdb_last_save_time:{int(store.last_fsync)}",
                f"rdb_last_bgsave_status:{status}", "aof_enabled:0",
                "aof_rewrite_in_progress:0", f"aof_last_write_status:{status}"]

    def _info_stats(self):
        keyspace = self.keyspace
        syncs = (0, 0) if self.replication is None else self.replication.sync_counts()
        return [
            f"total_connections_received:{self.connections_received}",
            f"total_commands_processed:{self.commands_processed}",
            f"rejected_connections:{self.rejected}",
            f"expired_keys:{keyspace.expired + keyspace.cache.expirations}",
            f"evicted_keys:{keyspace.cache.evictions}",
            f"keyspace_hits:{keyspace.hits}", f"keyspace_misses:{keyspace.misses}",
            *self.stats.stats_lines(),
            f"sync_full:{syncs[0]}", f"sync_partial_ok:{syncs[1]}", "sync_partial_err:0",
            "pubsub_channels:0", "pubsub_patterns:0", "latest_fork_usec:0", "total_forks:0",
        ]

    def _info_cpu(self):
        me, children = (resource.getrusage(who) for who in
                        (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        lines = [f"used_cpu_sys:{me.ru_stime:.6f}", f"used_cpu_user:{me.ru_utime:.6f}",
                 f"used_cpu_sys_children:{children.ru_stime:.6f}",
                 f"used_cpu_user_children:{children.ru_utime:.6f}"]
        if hasattr(resource, "RUSAGE_THREAD"):  # INFO runs on the reactor (main) thread
            main = resource.getrusage(resource.RUSAGE_THREAD)
            lines += [f"used_cpu_sys_main_thread:{main.ru_stime:.6f}",
                      f"used_cpu_user_main_thread:{main.ru_utime:.6f}"]
        return lines

    def _info_commandstats(self):
        return self.stats.commandstats_lines()

    def _info_errorstats(self):
        return self.stats.errorstats_lines()

    def _info_replication(self):
        # peers are not Redis replicas: a Redis tool sees a master without any
        lines = ["role:master", "connected_slaves:0",
                 f"master_repl_offset:{self.keyspace.store.seq}",
                 f"region_stale:{int(self.keyspace.stale is not None)}"]
        if self.replication is not None:
            lines += self.replication.info_lines()
        return lines

    def cmd_wait(self, session, args):
        count, timeout = int_arg(args[1]), int_arg(args[2])
        if timeout < 0:
            return p.error("ERR timeout is negative")
        if self.replication is None:
            return p.ZERO
        d = self.replication.wait(session.last_write, count, timeout)
        return d.addCallback(p.integer)

    def cmd_peers(self, session, args):
        if self.replication is None:
            return p.EMPTY_ARRAY
        return p.array([
            p.array([p.bulk(name.encode()), p.bulk(address.encode()), p.bulk(state.encode()),
                     p.integer(behind), p.bulk(b"%.1f" % waited)])
            for name, address, state, behind, waited in self.replication.peers()])

    def _info_keyspace(self):
        keys, expires = self.keyspace.count()
        return [f"db0:keys={keys},expires={expires},avg_ttl=0"] if keys else []

    def _info_cache(self):
        cache = self.keyspace.cache
        return [
            f"cache_entries:{len(cache)}", f"cache_bytes:{cache.bytes}",
            f"cache_max_entries:{cache.max_entries}", f"cache_max_bytes:{cache.max_bytes}",
            f"cache_ttl:{cache.idle_ttl:g}", f"cache_hits:{cache.hits}",
            f"cache_misses:{cache.misses}", f"cache_evictions:{cache.evictions}",
            f"cache_expirations:{cache.expirations}",
        ]


def _rss_bytes() -> int:
    """Resident memory of this process (Linux; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


INFO_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication",
                 "cpu", "commandstats", "errorstats", "keyspace", "cache")
# what INFO alone shows: all but the per-command lines, as Redis does
DEFAULT_INFO_SECTIONS = tuple(s for s in INFO_SECTIONS if s != "commandstats")
HZ = 10  # the housekeeping tasks run ten times a second, like Redis' default hz


def _human(size: int) -> str:
    """Redis' human-readable sizes: 1.50M, 512B …"""
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.2f}{unit}"
    return f"{size}B"

# name -> Redis arity (n: exactly n arguments with the name; -n: at least n)
COMMANDS = {
    "ping": -1, "echo": 2, "quit": -1, "auth": -2, "select": 2, "hello": -1,
    "client": -2, "command": -1, "help": -1,
    "get": 2, "set": -3, "setex": 4, "psetex": 4, "setnx": 3, "getset": 3, "getdel": 2,
    "getex": -2, "mget": -2, "mset": -3, "msetnx": -3, "append": 3, "strlen": 2,
    "incr": 2, "decr": 2, "incrby": 3, "decrby": 3,
    "del": -2, "unlink": -2, "exists": -2, "type": 2, "expire": -3, "pexpire": -3,
    "expireat": -3, "pexpireat": -3, "persist": 2, "ttl": 2, "pttl": 2,
    "expiretime": 2, "pexpiretime": 2, "keys": 2, "scan": -2, "dbsize": 1,
    "flushall": -1, "flushdb": -1,
    "info": -1, "config": -2, "time": 1, "region": 1, "wait": 3, "peers": 1,
}
WRITE_COMMANDS = frozenset((
    "set", "setex", "psetex", "setnx", "getset", "getdel", "getex", "mset", "msetnx",
    "append", "incr", "decr", "incrby", "decrby", "del", "unlink", "expire", "pexpire",
    "expireat", "pexpireat", "persist", "flushall", "flushdb"))
WRITE_NAMES = frozenset(name.encode() for name in WRITE_COMMANDS)
KEY_POSITIONS = {name: (1, 1, 1) for name in (
    "get", "set", "setex", "psetex", "setnx", "getset", "getdel", "getex", "append",
    "strlen", "incr", "decr", "incrby", "decrby", "type", "expire", "pexpire", "expireat",
    "pexpireat", "persist", "ttl", "pttl", "expiretime", "pexpiretime")}
KEY_POSITIONS.update({"mget": (1, -1, 1), "del": (1, -1, 1), "unlink": (1, -1, 1),
                      "exists": (1, -1, 1), "mset": (1, -1, 2), "msetnx": (1, -1, 2)})
NO_AUTH = frozenset((b"auth", b"hello", b"quit"))
# what a stale region refuses: every command that reads or writes keys
DATA_NAMES = frozenset(name.encode() for name in (*KEY_POSITIONS, "keys", "scan", "dbsize",
                                                   "flushall", "flushdb")
                       if name in COMMANDS)
