"""Bit commands on strings: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO,
with redis-server 7's replies and errors.  Bits are numbered from the first byte's most
significant bit; a string is as many zero bits as needed past its end.  SETBIT and BITOP
replicate as a write of the whole value, as SETRANGE does (the last writer's value
wins); so does BITFIELD (its INCRBY too: a field is not a counter that adds up across
regions)."""

from __future__ import annotations

from geolru.commands.args import SYNTAX, CommandError, int_arg, keyword
from geolru.resp import codec as p
from geolru.resp.codec import parse_int

BAD_OFFSET = p.error("ERR bit offset is not an integer or out of range")
BAD_BIT = p.error("ERR bit is not an integer or out of range")


def _range(value: bytes, start: int, end: int, in_bits: bool, end_given: bool = True):
    """(first, last) bit of ``value`` a BITCOUNT or BITPOS range covers, or None when
    it is empty; ``start``/``end`` in bytes or bits, negative from the end, as Redis
    clamps them."""
    total = len(value) * 8 if in_bits else len(value)
    if not end_given:
        end = total - 1
    if start < 0:
        start += total
    if end < 0:
        end += total
    start, end = max(start, 0), min(max(end, 0), total - 1)
    if start > end:
        return None
    return (start, end) if in_bits else (start * 8, end * 8 + 7)


def _bits(value: bytes, first: int, last: int) -> int:
    """Bits ``first`` to ``last`` of ``value`` as an integer (``first`` the highest)."""
    width = len(value) * 8
    return (int.from_bytes(value, "big") >> (width - 1 - last)) & ((1 << (last - first + 1)) - 1)


class BitCommands:  # (BITFIELD: BitfieldCommands, below)

    def _offset(self, raw: bytes) -> int:
        offset = parse_int(raw)
        if offset is None or offset < 0 or (offset >> 3) >= self.max_bulk_len:
            raise CommandError(BAD_OFFSET)
        return offset

    def cmd_setbit(self, session, args):
        offset = self._offset(args[2])
        on = parse_int(args[3])
        if on not in (0, 1):
            return BAD_BIT
        keyspace = self.keyspace
        entry = keyspace.peek(args[1])
        value, deadline = (b"", None) if entry is None else (entry.value, entry.deadline)
        byte, shift = offset >> 3, 7 - (offset & 7)
        grown = value.ljust(byte + 1, b"\0")
        was = (grown[byte] >> shift) & 1
        if entry is None or len(grown) != len(value) or was != on:
            changed = (grown[byte] & ~(1 << shift)) | (on << shift)
            keyspace.write(args[1], grown[:byte] + bytes((changed,)) + grown[byte + 1:],
                           deadline)
        return p.ONE if was else p.ZERO

    def cmd_bitop(self, session, args):
        op = keyword(args[1])
        if op not in (b"AND", b"OR", b"XOR", b"NOT"):
            return SYNTAX
        if op == b"NOT" and len(args) != 4:
            return p.error("ERR BITOP NOT must be called with a single source key.")
        keyspace = self.keyspace
        values = []
        for key in args[3:]:
            entry = keyspace.lookup(key)  # (WrongType for a hash, as Redis checks)
            values.append(b"" if entry is None else entry.value)
        width = max(map(len, values))
        if width == 0:
            keyspace.delete(args[2])
            return p.ZERO
        numbers = [int.from_bytes(v.ljust(width, b"\0"), "big") for v in values]
        if op == b"NOT":
            result = ~numbers[0] & ((1 << (8 * width)) - 1)
        else:
            result = numbers[0]
            for number in numbers[1:]:
                result = (result & number if op == b"AND" else
                          result | number if op == b"OR" else result ^ number)
        keyspace.write(args[2], result.to_bytes(width, "big"), None)
        return p.integer(width)

    def cmd_getbit(self, session, args):
        offset = self._offset(args[2])
        entry = self.keyspace.lookup(args[1])
        if entry is None or (offset >> 3) >= len(entry.value):
            return p.ZERO
        return p.ONE if (entry.value[offset >> 3] >> (7 - (offset & 7))) & 1 else p.ZERO

    def cmd_bitcount(self, session, args):
        entry = self.keyspace.lookup(args[1])  # (redis-server 7.0 looks first)
        if entry is None:
            return p.ZERO
        value = entry.value
        if len(args) == 2:
            return p.integer(int.from_bytes(value, "big").bit_count())
        if len(args) not in (4, 5):
            return SYNTAX
        start, end = int_arg(args[2]), int_arg(args[3])
        in_bits = False
        if len(args) == 5:
            unit = keyword(args[4])
            if unit not in (b"BIT", b"BYTE"):
                return SYNTAX
            in_bits = unit == b"BIT"
        if start < 0 and end < 0 and start > end:
            return p.ZERO
        span = _range(value, start, end, in_bits)
        return p.ZERO if span is None else p.integer(_bits(value, *span).bit_count())

    def cmd_bitpos(self, session, args):
        bit = int_arg(args[2])
        if bit not in (0, 1):
            return p.error("ERR The bit argument must be 1 or 0.")
        entry = self.keyspace.lookup(args[1])  # (redis-server 7.0 looks first)
        if entry is None:  # an endless run of zeros
            return p.integer(-1 if bit else 0)
        if len(args) not in (3, 4, 5, 6):
            return SYNTAX
        in_bits, start, end = False, 0, -1
        if len(args) > 3:
            start = int_arg(args[3])
            if len(args) == 6:
                unit = keyword(args[5])
                if unit not in (b"BIT", b"BYTE"):
                    return SYNTAX
                in_bits = unit == b"BIT"
            if len(args) >= 5:
                end = int_arg(args[4])
        end_given = len(args) >= 5
        span = _range(entry.value, start, end, in_bits, end_given)
        if span is None:
            return p.integer(-1)
        first, last = span
        bits = _bits(entry.value, first, last)
        width = last - first + 1
        if bit:
            return p.integer(-1 if bits == 0 else first + width - bits.bit_length())
        zeros = ~bits & ((1 << width) - 1)
        if zeros:
            return p.integer(first + width - zeros.bit_length())
        # all ones: past the range, the string reads as zeros, unless the range was given
        return p.integer(-1 if end_given else last + 1)


BAD_TYPE = p.error("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is "
                   "not supported but i64 is.")
BAD_OVERFLOW = p.error("ERR Invalid OVERFLOW type specified")
BAD_VALUE = p.error("ERR value is not an integer or out of range")
WRAP, SAT, FAIL = b"WRAP", b"SAT", b"FAIL"


def _field_type(raw: bytes) -> tuple[bool, int]:
    """``i8`` → (signed, 8); ``CommandError`` for anything Redis refuses."""
    sign, digits = raw[:1].lower(), raw[1:]
    bits = parse_int(digits) if digits.isdigit() else None
    if sign not in (b"i", b"u") or bits is None or not (
            1 <= bits <= (64 if sign == b"i" else 63)):
        raise CommandError(BAD_TYPE)
    return sign == b"i", bits


def _overflowed(value: int, incr: int, signed: bool, bits: int, policy: bytes):
    """(overflowed, the value to store) of ``value + incr`` in a field, as Redis'
    checkSignedBitfieldOverflow/checkUnsignedBitfieldOverflow decide it."""
    if signed:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        value &= (1 << 64) - 1  # (Redis takes the value as a uint64_t)
        low, high = 0, (1 << bits) - 1
    total = value + incr
    if low <= value <= high and low <= total <= high:
        return False, total
    if policy == WRAP:
        return True, (total - low) % (1 << bits) + low
    if policy == SAT:
        return True, high if value > high or total > high else low
    return True, None  # FAIL


class BitfieldCommands:
    """BITFIELD and BITFIELD_RO (mixed into ``BitCommands``)."""

    def _bitfield_ops(self, args, readonly: bool):
        """The operations, parsed whole before any runs (as Redis does): (op, signed,
        bits, offset, argument, overflow policy)."""
        ops, policy, j = [], WRAP, 2
        while j < len(args):
            sub, left = keyword(args[j]), len(args) - j - 1
            if sub == b"OVERFLOW" and left >= 1:
                policy = keyword(args[j + 1])
                if policy not in (WRAP, SAT, FAIL):
                    raise CommandError(BAD_OVERFLOW)
                j += 2
                continue
            if not ((sub == b"GET" and left >= 2) or (sub in (b"SET", b"INCRBY") and left >= 3)):
                raise CommandError(SYNTAX)
            signed, bits = _field_type(args[j + 1])
            raw = args[j + 2]
            offset = parse_int(raw[1:]) if raw[:1] == b"#" else parse_int(raw)
            if offset is None or offset < 0 or (
                    raw[:1] != b"#" and (offset >> 3) >= self.max_bulk_len):
                raise CommandError(BAD_OFFSET)
            if raw[:1] == b"#":
                offset *= bits
                if (offset >> 3) >= self.max_bulk_len:
                    raise CommandError(BAD_OFFSET)
            argument = None
            if sub != b"GET":
                argument = parse_int(args[j + 3])
                if argument is None:
                    raise CommandError(BAD_VALUE)
            ops.append((sub, signed, bits, offset, argument, policy))
            j += 3 if sub == b"GET" else 4
        if readonly and any(op[0] != b"GET" for op in ops):
            raise CommandError(p.error("ERR BITFIELD_RO only supports the GET subcommand"))
        return ops

    def cmd_bitfield(self, session, args, readonly: bool = False):
        ops = self._bitfield_ops(args, readonly)
        keyspace = self.keyspace
        writes = [op for op in ops if op[0] != b"GET"]
        entry = keyspace.lookup(args[1])  # (WrongType for a hash, as Redis checks)
        value = b"" if entry is None else entry.value
        if writes:  # the string grows to the highest bit written, even if that fails
            value = value.ljust((max(op[3] + op[2] - 1 for op in writes) >> 3) + 1, b"\0")
        number = int.from_bytes(value, "big")
        width = len(value) * 8
        replies = []
        for sub, signed, bits, offset, argument, policy in ops:
            mask = (1 << bits) - 1
            shift = width - offset - bits
            raw = (number >> shift) & mask if shift >= 0 else (number << -shift) & mask
            old = raw - (1 << bits) if signed and raw >> (bits - 1) else raw
            if sub == b"GET":
                replies.append(p.integer(old))
                continue
            if sub == b"INCRBY":
                overflowed, new = _overflowed(old, argument, signed, bits, policy)
            else:
                overflowed, new = _overflowed(argument, 0, signed, bits, policy)
            if overflowed and policy == FAIL:
                replies.append(p.NIL)
                continue
            number = (number & ~(mask << shift)) | ((new & mask) << shift)
            replies.append(p.integer(new if sub == b"INCRBY" else old))
        if writes:
            result = number.to_bytes(len(value), "big")
            if entry is None or result != entry.value:
                keyspace.write(args[1], result, None if entry is None else entry.deadline)
        return p.array(replies)

    def cmd_bitfield_ro(self, session, args):
        return self.cmd_bitfield(session, args, readonly=True)
