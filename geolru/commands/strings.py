"""String commands: GET, SET and its options, MGET/MSET, APPEND, STRLEN, INCR and the rest."""

from __future__ import annotations

from geolru.commands.args import (
    LLONG_MAX,
    LLONG_MIN,
    NOT_INTEGER,
    OVERFLOW,
    SYNTAX,
    CommandError,
    arity_error,
    int_arg,
    keyword,
)
from geolru.commands.values import NOT_FLOAT, float_sum
from geolru.keyspace.keyspace import WrongType
from geolru.resp import codec as p
from geolru.resp.codec import parse_int


class StringCommands:

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
        try:
            old = keyspace.peek(key)
            exists = old is not None
            # (read before the write, which reuses the entry)
            old_value, old_deadline = (old.value, old.deadline) if exists else (None, None)
        except WrongType:  # a hash: SET replaces it, SET … GET refuses it
            if b"GET" in flags:
                raise
            exists, old_value, old_deadline = True, None, keyspace.expiry(key)[1]
        if b"KEEPTTL" in flags and exists:
            deadline = old_deadline
        if not ((b"NX" in flags and exists) or (b"XX" in flags and not exists)):
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
            opt = keyword(args[j])
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
            try:
                entry = lookup(key)
            except WrongType:  # MGET answers nil for a key of another type
                entry = None
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

    def cmd_incrbyfloat(self, session, args):
        """A float increment is a plain write of the result (as Redis replicates it:
        ``SET … KEEPTTL``): concurrent ones in two regions, last writer wins."""
        entry = self.keyspace.peek(args[1])
        value = float_sum(None if entry is None else entry.value, args[2], NOT_FLOAT)
        self.keyspace.write(args[1], value, None if entry is None else entry.deadline)
        return b"$%d\r\n%s\r\n" % (len(value), value)

    def cmd_getrange(self, session, args):
        start, end = int_arg(args[2]), int_arg(args[3])
        entry = self.keyspace.lookup(args[1])
        if entry is None:
            return p.EMPTY_BULK
        value = entry.value
        size = len(value)
        if start < 0 and end < 0 and start > end:
            return p.EMPTY_BULK
        start = max(0, start + size if start < 0 else start)
        end = max(0, end + size if end < 0 else end)
        end = min(end, size - 1)
        if start > end or size == 0:
            return p.EMPTY_BULK
        return p.bulk(value[start:end + 1])

    cmd_substr = cmd_getrange

    def cmd_setrange(self, session, args):
        offset = int_arg(args[2])
        if offset < 0:
            return p.error("ERR offset is out of range")
        piece = args[3]
        entry = self.keyspace.peek(args[1])
        if entry is None:
            if not piece:
                return p.ZERO
            value, deadline = b"", None
        else:
            value, deadline = entry.value, entry.deadline
            if not piece:
                return p.integer(len(value))
        if offset + len(piece) > self.max_bulk_len:
            return p.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        if len(value) < offset:
            value += b"\0" * (offset - len(value))
        value = value[:offset] + piece + value[offset + len(piece):]
        self.keyspace.write(args[1], value, deadline)
        return p.integer(len(value))
