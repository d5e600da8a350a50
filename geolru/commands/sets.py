"""Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE
SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.

Members replicate and merge one by one, as an observed-remove set
(``geolru.keyspace.sets``); replies and errors are redis-server 7.0's, in the order
it checks them.  Order: a set Redis keeps as an intset (every member an integer, at
most ``set-max-intset-entries`` of them) comes back in numeric order, as from Redis;
any other set in the store's order (Redis' own is its hash table's, which no client
may rely on).
"""

from __future__ import annotations

import random

from geolru.commands.args import (
    LLONG_MAX,
    MAX_REPEATED,
    SYNTAX,
    TOO_MANY_REPEATED,
    int_arg,
    keyword,
    scan_arguments,
)
from geolru.commands.globmatch import glob_match
from geolru.commands.hashes import CURSOR_BYTES
from geolru.resp import codec as p
from geolru.resp.codec import parse_int

INTSET_ENTRIES = 512  # set-max-intset-entries: Redis' default
NOT_POSITIVE = p.error("ERR value is out of range, must be positive")


def intset(members) -> list[int] | None:
    """The members as Redis' intset holds them (sorted integers), or None if Redis
    would keep them in a hash table."""
    if len(members) > INTSET_ENTRIES:
        return None
    numbers = []
    for member in members:
        number = parse_int(member)
        if number is None:
            return None
        numbers.append(number)
    return sorted(numbers)


def in_order(members) -> list[bytes]:
    """The members in the order Redis replies with them (see the module's note)."""
    numbers = intset(members)
    if numbers is None:
        return list(members)
    return [b"%d" % n for n in numbers]


def set_encoding(members) -> bytes:
    """What Redis' OBJECT ENCODING says of a set with these members, made by SADD."""
    return b"hashtable" if intset(members) is None else b"intset"


class SetCommands:

    def cmd_sadd(self, session, args):
        return p.integer(self.keyspace.set_add(args[1], args[2:]))

    def cmd_srem(self, session, args):
        return p.integer(self.keyspace.set_remove(args[1], args[2:]))

    def cmd_smembers(self, session, args):
        return p.bulk_set(in_order(self.keyspace.set_members(args[1])), session.resp3)

    def cmd_sismember(self, session, args):
        return p.ONE if self.keyspace.set_contains(args[1], args[2]) else p.ZERO

    def cmd_smismember(self, session, args):
        contains = self.keyspace.set_contains
        return p.array([p.ONE if contains(args[1], m) else p.ZERO for m in args[2:]])

    def cmd_scard(self, session, args):
        return p.integer(len(self.keyspace.set_members(args[1])))

    def cmd_spop(self, session, args):
        if len(args) > 3:
            return SYNTAX
        keyspace = self.keyspace
        if len(args) == 2:
            found = keyspace.set_members(args[1])
            if not found:
                return session.nil
            member = random.choice(list(found))
            keyspace.set_remove(args[1], [member])
            return p.bulk(member)
        count = parse_int(args[2])  # (a word, too, is "out of range" here)
        if count is None or count < 0:
            return NOT_POSITIVE
        found = keyspace.set_members(args[1])
        if not found or count == 0:
            return p.bulk_set([], session.resp3)
        if count >= len(found):
            chosen = in_order(found)
        else:
            chosen = random.sample(list(found), count)
        keyspace.set_remove(args[1], chosen)
        return p.bulk_set(chosen, session.resp3)

    def cmd_srandmember(self, session, args):
        if len(args) > 3:
            return SYNTAX
        if len(args) == 2:
            found = self.keyspace.set_members(args[1])
            return p.bulk(random.choice(list(found)) if found else None, session.nil)
        count = int_arg(args[2])
        if count < -LLONG_MAX:
            return p.error(f"ERR value is out of range, value must between {-LLONG_MAX} "
                           f"and {LLONG_MAX}")
        found = self.keyspace.set_members(args[1])
        if not found or count == 0:
            return p.EMPTY_ARRAY
        if count < 0:
            if -count > MAX_REPEATED:
                return TOO_MANY_REPEATED
            return p.bulk_array(random.choices(list(found), k=-count))
        if count >= len(found):
            return p.bulk_array(in_order(found))
        return p.bulk_array(random.sample(list(found), count))

    def cmd_smove(self, session, args):
        keyspace = self.keyspace
        source, destination, member = args[1], args[2], args[3]
        found = keyspace.set_members(source)  # (WRONGTYPE first for the source)
        if not found and keyspace.kind(source) is None:
            return p.ZERO
        keyspace.set_members(destination)  # (then for the destination)
        if source == destination:
            return p.ONE if member in found else p.ZERO
        if member not in found:
            return p.ZERO
        with keyspace.transaction():
            keyspace.set_remove(source, [member])
            keyspace.set_add(destination, [member])
        return p.ONE

    def _sets(self, keys) -> list[dict]:
        """Each key's members (empty: none); WRONGTYPE if one holds another type."""
        return [self.keyspace.set_members(key) for key in keys]

    def cmd_sinter(self, session, args):
        return p.bulk_set(in_order(_intersection(self._sets(args[1:]))), session.resp3)

    def cmd_sintercard(self, session, args):
        numkeys = parse_int(args[1])
        if numkeys is None or numkeys < 1:
            return p.error("ERR numkeys should be greater than 0")
        if numkeys > len(args) - 2:
            return p.error("ERR Number of keys can't be greater than number of args")
        limit = 0
        j = 2 + numkeys
        while j < len(args):
            if keyword(args[j]) == b"LIMIT" and j + 1 < len(args):
                limit = parse_int(args[j + 1])
                if limit is None or limit < 0:
                    return p.error("ERR LIMIT can't be negative")
                j += 2
            else:
                return SYNTAX
        found = len(_intersection(self._sets(args[2:2 + numkeys])))
        return p.integer(min(found, limit) if limit else found)

    def cmd_sinterstore(self, session, args):
        return self._store(args[1], _intersection(self._sets(args[2:])))

    def cmd_sunion(self, session, args):
        return p.bulk_set(in_order(_union(self._sets(args[1:]))), session.resp3)

    def cmd_sunionstore(self, session, args):
        return self._store(args[1], _union(self._sets(args[2:])))

    def cmd_sdiff(self, session, args):
        return p.bulk_set(in_order(_difference(self._sets(args[1:]))), session.resp3)

    def cmd_sdiffstore(self, session, args):
        return self._store(args[1], _difference(self._sets(args[2:])))

    def _store(self, destination: bytes, found: list) -> bytes:
        self.keyspace.set_replace(destination, found)
        return p.integer(len(found))

    def cmd_sscan(self, session, args):
        ended = self._scanned_kind(args, "set")
        if ended is not None:
            return ended
        cursor, count, pattern, _ = scan_arguments(args, 2, with_type=False)
        # (read whole once per scan, at its start: a scan of a set too big for the
        # cache reads it page by page from the store after that)
        found = self.keyspace.set_members(args[1]) if cursor == 0 else ()
        if cursor == 0 and intset(found) is not None:
            # like Redis with an intset: all of it at once, with cursor 0
            chosen, cursor = in_order(found), 0
        else:
            start = b"" if cursor == 0 else (cursor - 1).to_bytes(
                CURSOR_BYTES, "big").rstrip(b"\0")
            place, scanned = self.keyspace.hash_scan(args[1], start, count, CURSOR_BYTES,
                                                     kind="set")
            chosen = list(scanned)
            cursor = 0 if place is None else int.from_bytes(
                place[:CURSOR_BYTES].ljust(CURSOR_BYTES, b"\0"), "big") + 1
        chosen = [m for m in chosen if pattern is None or glob_match(pattern, m)]
        return p.array([p.bulk(b"%d" % cursor), p.bulk_array(chosen)])


def _intersection(sets: list[dict]) -> list[bytes]:
    if not all(sets):
        return []
    smallest = min(sets, key=len)
    return [m for m in smallest if all(m in s for s in sets)]


def _union(sets: list[dict]) -> list[bytes]:
    found: dict = {}
    for s in sets:
        found.update(s)
    return list(found)


def _difference(sets: list[dict]) -> list[bytes]:
    first, rest = sets[0], sets[1:]
    return [m for m in first if not any(m in s for s in rest)]
