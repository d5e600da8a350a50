"""Key commands: DEL, EXISTS, TYPE, expiry (EXPIRE…, PERSIST, TTL…), KEYS, SCAN, DBSIZE,
FLUSHALL; they take a key of any type."""

from __future__ import annotations

from geolru.commands.args import (
    LLONG_MAX,
    LLONG_MIN,
    SYNTAX,
    arity_error,
    int_arg,
    keyword,
    scan_arguments,
    text,
)
from geolru.commands.globmatch import glob_match
from geolru.commands.sets import set_encoding
from geolru.commands.values import LISTPACK_ENTRIES, LISTPACK_VALUE
from geolru.commands.zsets import zset_small
from geolru.model.hlc import physical_ms
from geolru.resp import codec as p
from geolru.resp.codec import parse_int

NO_SUCH_KEY = p.error("ERR no such key")


class KeyCommands:

    def cmd_del(self, session, args):
        delete = self.keyspace.delete
        return p.integer(sum(1 for key in args[1:] if delete(key)))

    cmd_unlink = cmd_del

    def cmd_exists(self, session, args):
        exists = self.keyspace.exists  # (touching nothing, as Redis: ``Keyspace.glance``)
        return p.integer(sum(1 for key in args[1:] if exists(key, False)))

    def cmd_type(self, session, args):
        return b"+%s\r\n" % (self.keyspace.kind(args[1], touch=False) or "none").encode()

    def _expire(self, args, command: str, unit_ms: int, absolute: bool) -> bytes:
        flags = set()
        for arg in args[3:]:
            option = keyword(arg)
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
        live, current = keyspace.expiry(args[1])
        if not live:
            return p.ZERO
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
            keyspace.set_deadline(args[1], when)
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
        keyspace = self.keyspace
        if keyspace.expiry(args[1])[1] is None:  # (none, or no deadline)
            return p.ZERO
        keyspace.set_deadline(args[1], None)
        return p.ONE

    def _remaining_ms(self, key: bytes) -> int:
        live, deadline = self.keyspace.expiry(key, counted=True, touch=False)
        if not live:
            return -2
        if deadline is None:
            return -1
        return max(0, deadline - self.keyspace.now_ms())

    def cmd_ttl(self, session, args):
        ms = self._remaining_ms(args[1])
        return p.integer(ms if ms < 0 else (ms + 500) // 1000)

    def cmd_pttl(self, session, args):
        return p.integer(self._remaining_ms(args[1]))

    def _expire_time(self, key: bytes, unit_ms: int) -> bytes:
        live, deadline = self.keyspace.expiry(key, counted=True, touch=False)
        if not live:
            return p.integer(-2)
        return p.integer(-1 if deadline is None else deadline // unit_ms)

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
        cursor, count, pattern, kind = scan_arguments(args, 1, with_type=True)
        if kind not in (None, b"string", b"hash", b"set", b"zset", b"list"):  # none of
            return p.array([p.bulk(b"0"), p.EMPTY_ARRAY])
        cursor, keys = self.keyspace.scan(cursor, count)
        if pattern is not None:
            keys = [k for k in keys if glob_match(pattern, k)]
        if kind is not None:
            keys = [k for k in keys if (self.keyspace.kind(k) or "").encode() == kind]
        return p.array([p.bulk(b"%d" % cursor), p.bulk_array(keys)])

    def cmd_rename(self, session, args):
        keyspace = self.keyspace
        if args[1] == args[2]:
            return p.OK if keyspace.exists(args[1]) else NO_SUCH_KEY
        return p.OK if keyspace.rename(args[1], args[2]) else NO_SUCH_KEY

    def cmd_renamenx(self, session, args):
        keyspace = self.keyspace
        if not keyspace.exists(args[1]):
            return NO_SUCH_KEY
        if args[1] == args[2] or keyspace.exists(args[2]):
            return p.ZERO
        keyspace.rename(args[1], args[2])
        return p.ONE

    def cmd_copy(self, session, args):
        replace = False
        j = 3
        while j < len(args):
            option = keyword(args[j])
            if option == b"REPLACE":
                replace = True
            elif option == b"DB" and j + 1 < len(args):
                j += 1
                if int_arg(args[j]) != 0:  # (one database: docs/commands.md)
                    return p.error("ERR DB index is out of range")
            else:
                return SYNTAX
            j += 1
        if args[1] == args[2]:
            return p.error("ERR source and destination objects are the same")
        keyspace = self.keyspace
        if not replace and keyspace.exists(args[2]):
            return p.ZERO
        return p.ONE if keyspace.copy(args[1], args[2]) else p.ZERO  # (none: no source)

    def cmd_randomkey(self, session, args):
        return p.bulk(self.keyspace.random_key(), session.nil)

    def cmd_dbsize(self, session, args):
        return p.integer(self.keyspace.count()[0])

    def cmd_flushall(self, session, args):
        if len(args) > 2 or (len(args) == 2 and keyword(args[1]) not in (b"SYNC", b"ASYNC")):
            return SYNTAX
        failure = self.keyspace.flush_all()
        if failure is not None:  # (the disk is full: nothing was deleted)
            return p.error(f"MISCONF geolru {failure}, so it refuses writes until it can")
        return p.OK

    cmd_flushdb = cmd_flushall

    def cmd_touch(self, session, args):
        exists = self.keyspace.exists  # (a read refreshes the key's place in the LRU)
        return p.integer(sum(1 for key in args[1:] if exists(key)))

    def cmd_object(self, session, args):
        sub = keyword(args[1])
        if sub == b"HELP" and len(args) == 2:
            return p.array([p.simple(line) for line in OBJECT_HELP])
        if sub not in (b"ENCODING", b"IDLETIME", b"FREQ", b"REFCOUNT"):
            return p.error("ERR unknown subcommand '%s'. Try OBJECT HELP."
                           % text(args[1])[:128])
        if len(args) != 3:
            return arity_error("object|" + text(args[1]).lower())
        now = self._clock.seconds()
        if sub == b"IDLETIME":  # (the cache tier's, touching nothing, as Redis)
            entry = self.keyspace.cache.untouched(args[2], self.keyspace.now_ms())
            if entry is not None:
                return p.integer(max(0, int(now - entry.touched)))
        kind = self.keyspace.kind(args[2], touch=False)  # (``Keyspace.glance``)
        if kind is None:
            return session.nil
        if sub == b"ENCODING":
            if kind == "hash":
                return p.bulk(hash_encoding(self.keyspace.hash_items(args[2])))
            if kind == "set":
                return p.bulk(set_encoding(self.keyspace.set_members(args[2])))
            if kind == "zset":
                return p.bulk(zset_encoding(self.keyspace.zset_scores(args[2])))
            if kind == "list":
                return p.bulk(b"quicklist")  # (Redis 7.0's for every list)
            value, record = self.keyspace.glance(args[2]).value, self.keyspace.record(args[2])
            if record is not None and record.counter is not None and value[:4] == b"HYLL":
                return p.bulk(b"raw")  # (as PFADD makes it, whatever its length)
            return p.bulk(string_encoding(value))
        if sub == b"IDLETIME":  # (not in the cache tier: the time since its last write)
            written = physical_ms(self.keyspace.record(args[2]).version) / 1000
            return p.integer(max(0, int(now - written)))
        if sub == b"REFCOUNT":
            return p.integer(1)
        # Redis' words but its advice: a region's policy is allkeys-lru, and CONFIG SET
        # cannot change it (docs/commands.md)
        return p.error("ERR An LFU maxmemory policy is not selected, access frequency not "
                       "tracked. geolru evicts by LRU only (maxmemory-policy allkeys-lru).")

    def cmd_memory(self, session, args):
        sub = keyword(args[1])
        if sub == b"HELP" and len(args) == 2:
            return p.array([p.simple(line) for line in MEMORY_HELP])
        if sub == b"USAGE":
            if len(args) < 3:
                return arity_error("memory|usage")
            if len(args) != 3 and (len(args) != 5 or keyword(args[3]) != b"SAMPLES"
                                   or int_arg(args[4]) < 0):
                return SYNTAX
            kind = self.keyspace.kind(args[2], touch=False)  # (as Redis)
            if kind is None:
                return session.nil
            if kind in ("hash", "set", "zset", "list"):
                fields = self.keyspace.hash_items(args[2]) if kind == "hash" \
                    else self.keyspace.set_members(args[2]) if kind == "set" \
                    else self.keyspace.zset_scores(args[2]) if kind == "zset" \
                    else self.keyspace.list_items(args[2])
                size = sum(FIELD_OVERHEAD + len(f) + len(v) for f, v in fields.items())
            else:
                size = len(self.keyspace.glance(args[2]).value)
            return p.integer(ENTRY_OVERHEAD + len(args[2]) + size)
        return p.error("ERR unknown subcommand '%s'. Try MEMORY HELP." % text(args[1])[:128])


# bytes a key takes in a region besides its key and value (the cache entry, its
# slot in the cache's dict, the store's record and position index), about: what MEMORY
# USAGE adds (60 less since the cache keeps no linked list: docs/store.md, step 7)
ENTRY_OVERHEAD = 160
FIELD_OVERHEAD = 200  # and each field of a hash (its record and position index)
OBJECT_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>", "    Return the kind of internal representation used in order to store "
    "the value", "    associated with a <key>.",
    "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number "
    "of", "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>", "    Return the number of references of the value associated with the "
    "specified", "    <key>.",
    "HELP", "    Prints this help."]
MEMORY_HELP = [
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value (an estimate in geolru).",
    "HELP", "    Prints this help."]


def hash_encoding(fields: dict) -> bytes:
    """What Redis' OBJECT ENCODING says of a hash with these fields, made by HSET."""
    small = len(fields) <= LISTPACK_ENTRIES and all(
        len(f) <= LISTPACK_VALUE and len(v) <= LISTPACK_VALUE for f, v in fields.items())
    return b"listpack" if small else b"hashtable"


def zset_encoding(scores: dict) -> bytes:
    """What Redis' OBJECT ENCODING says of a sorted set with these members, made by
    ZADD (``zset-max-listpack-entries`` 128, ``-value`` 64)."""
    return b"listpack" if zset_small(scores) else b"skiplist"


def string_encoding(value: bytes) -> bytes:
    """What Redis' OBJECT ENCODING says of a string it stored as given: an integer
    fits in a long, a short one is embedded with its header, a longer one is raw."""
    if len(value) <= 20 and parse_int(value) is not None:
        return b"int"
    return b"embstr" if len(value) <= 44 else b"raw"
