"""Hash commands: HSET HGET HMGET HDEL HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN
HINCRBY HINCRBYFLOAT HSETNX HMSET HRANDFIELD HSCAN.

Each field replicates and merges on its own (``geolru.keyspace.keyspace``); replies and
errors are redis-server 7.0's, in the order it checks them.  Fields come back in
the store's order, not in the order they were set (Redis promises none).
"""

from __future__ import annotations

import random

from geolru.commands.args import (
    LLONG_MAX,
    LLONG_MIN,
    MAX_REPEATED,
    OVERFLOW,
    SYNTAX,
    TOO_MANY_REPEATED,
    CommandError,
    arity_error,
    int_arg,
    keyword,
    scan_arguments,
)
from geolru.commands.globmatch import glob_match
from geolru.commands.values import LISTPACK_ENTRIES, float_sum, parse_long_double
from geolru.commands.values import NOT_FLOAT as FLOAT_ARG
from geolru.keyspace.errors import WrongType
from geolru.resp import codec as p
from geolru.resp.codec import parse_int

CURSOR_BYTES = 7  # an HSCAN cursor is where it goes on: the first bytes of a place, + 1
EMPTY_SCAN = b"*2\r\n$1\r\n0\r\n*0\r\n"
NOT_INTEGER = p.error("ERR hash value is not an integer")
NOT_FLOAT = p.error("ERR hash value is not a float")


class HashCommands:

    def _pairs(self, args, start: int, name: str) -> dict:
        if (len(args) - start) % 2:
            raise CommandError(arity_error(name))
        return {args[i]: args[i + 1] for i in range(start, len(args), 2)}

    def cmd_hset(self, session, args):
        return p.integer(self.keyspace.hash_set(args[1], self._pairs(args, 2, "hset")))

    def cmd_hmset(self, session, args):
        self.keyspace.hash_set(args[1], self._pairs(args, 2, "hmset"))
        return p.OK

    def cmd_hsetnx(self, session, args):
        added = self.keyspace.hash_set(args[1], {args[2]: args[3]}, only_new=True)
        return p.ONE if added else p.ZERO

    def cmd_hget(self, session, args):
        return p.bulk(self.keyspace.hash_field(args[1], args[2]), session.nil)

    def cmd_hmget(self, session, args):
        get = self.keyspace.hash_field
        return p.bulk_array([get(args[1], field) for field in args[2:]], session.nil)

    def cmd_hdel(self, session, args):
        return p.integer(self.keyspace.hash_delete(args[1], args[2:]))

    def cmd_hgetall(self, session, args):
        items = self.keyspace.hash_items(args[1])
        return p.mapping([(p.bulk(f), p.bulk(v)) for f, v in items.items()], session.resp3)

    def cmd_hkeys(self, session, args):
        return p.bulk_array(list(self.keyspace.hash_items(args[1])))

    def cmd_hvals(self, session, args):
        return p.bulk_array(list(self.keyspace.hash_items(args[1]).values()))

    def cmd_hlen(self, session, args):
        return p.integer(self.keyspace.hash_length(args[1]))

    def cmd_hexists(self, session, args):
        return p.ONE if self.keyspace.hash_field(args[1], args[2]) is not None else p.ZERO

    def cmd_hstrlen(self, session, args):
        value = self.keyspace.hash_field(args[1], args[2])
        return p.integer(0 if value is None else len(value))

    def cmd_hincrby(self, session, args):
        delta = int_arg(args[3])
        key, field = args[1], args[2]
        current = self.keyspace.hash_field(key, field)
        number = 0
        if current is not None:
            number = parse_int(current)
            if number is None:
                return NOT_INTEGER
        if not LLONG_MIN <= number + delta <= LLONG_MAX:
            return OVERFLOW
        return b":%s\r\n" % self.keyspace.hash_increment(key, field, delta)

    def cmd_hincrbyfloat(self, session, args):
        """Like INCRBYFLOAT: a plain write of the sum (last writer wins)."""
        step = parse_long_double(args[3])  # (Redis checks the increment first)
        if step is None:
            return FLOAT_ARG
        if abs(step) == float("inf"):
            return p.error("ERR value is NaN or Infinity")
        key, field = args[1], args[2]
        value = float_sum(self.keyspace.hash_field(key, field), args[3], NOT_FLOAT)
        self.keyspace.hash_set(key, {field: value})
        return p.bulk(value)

    def cmd_hrandfield(self, session, args):
        if len(args) > 4 or (len(args) == 4 and keyword(args[3]) != b"WITHVALUES"):
            return SYNTAX
        if len(args) == 2:
            items = self.keyspace.hash_items(args[1])
            return p.bulk(random.choice(list(items)) if items else None, session.nil)
        count = int_arg(args[2])
        values = len(args) == 4
        if values and not -LLONG_MAX // 2 <= count <= LLONG_MAX // 2:
            return p.error("ERR value is out of range")
        items = self.keyspace.hash_items(args[1])
        if not items or count == 0:
            return p.EMPTY_ARRAY
        if -count > MAX_REPEATED:
            return TOO_MANY_REPEATED
        fields = list(items)
        if count > 0:
            chosen = random.sample(fields, min(count, len(fields)))
        else:
            chosen = random.choices(fields, k=-count)
        if not values:
            return p.bulk_array(chosen)
        if session.resp3:
            return p.array([p.bulk_array([f, items[f]]) for f in chosen])
        return p.bulk_array([x for f in chosen for x in (f, items[f])])

    def _scanned_kind(self, args, kind: str) -> bytes | None:
        """HSCAN's and SSCAN's checks in Redis' order: the cursor, then the key (an
        empty scan if it holds nothing, WRONGTYPE if another type), then the options
        (``scan_arguments``); the reply if one of the first two ends the command."""
        scan_arguments(args[:3], 2, with_type=False)  # (the cursor alone)
        held = self.keyspace.kind(args[1])
        if held is None:
            return EMPTY_SCAN
        if held != kind:
            raise WrongType(args[1])
        return None

    def cmd_hscan(self, session, args):
        ended = self._scanned_kind(args, "hash")
        if ended is not None:
            return ended
        cursor, count, pattern, _ = scan_arguments(args, 2, with_type=False)
        start = b"" if cursor == 0 else (cursor - 1).to_bytes(
            CURSOR_BYTES, "big").rstrip(b"\0")
        # at least a small hash's worth: like Redis with a hash it keeps compact, all
        # of a small one at once, with cursor 0
        place, found = self.keyspace.hash_scan(args[1], start, max(count, LISTPACK_ENTRIES),
                                               CURSOR_BYTES)
        if place is None:
            cursor = 0
        else:
            cursor = int.from_bytes(place[:CURSOR_BYTES].ljust(CURSOR_BYTES, b"\0"), "big") + 1
        flat = [x for f, v in found.items() if pattern is None or glob_match(pattern, f)
                for x in (f, v)]
        return p.array([p.bulk(b"%d" % cursor), p.bulk_array(flat)])
