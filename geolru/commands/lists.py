"""List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LRANGE LINDEX LLEN LSET LINSERT
LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP, and the blocking forms (BLPOP BRPOP BLMOVE
BRPOPLPUSH BLMPOP), which answer at once when they have an element and refuse to
wait otherwise (a region does not block yet: docs/commands.md).

Replies and errors are redis-server 7.0's (t_list.c), checked in its order.  A list
merges across regions as ``geolru.model.listpos`` says: concurrent pushes and inserts
all stay, in one order everywhere; an element popped (or removed) in two regions at
once is removed once, and both clients get it.
"""

from __future__ import annotations

from geolru.commands.args import (
    LLONG_MIN,
    SYNTAX,
    CommandError,
    arity_error,
    blocking_timeout,
    keyword,
    long_arg,
    mpop_arguments,
    null_array,
    text,
    would_block,
)
from geolru.resp import codec as p

NO_SUCH_KEY = p.error("ERR no such key")
OUT_OF_RANGE = p.error("ERR index out of range")


def _wrapped(number: int) -> int:
    """``number`` as a C long holds it (two's complement, 64 bits)."""
    return (number + (1 << 63)) % (1 << 64) - (1 << 63)


def _positive(raw: bytes, message: str | None = None) -> int:
    return long_arg(raw, message or "value is out of range, must be positive", 0)


def _side(raw: bytes) -> bool:
    """LEFT (True) or RIGHT (False), as ``getListPositionFromObjectOrReply``."""
    word = keyword(raw)
    if word not in (b"LEFT", b"RIGHT"):
        raise CommandError(SYNTAX)
    return word == b"LEFT"


def _span(start: int, end: int, length: int) -> tuple[int, int] | None:
    """Redis' inclusive range of indexes (negative from the end), clipped; None if it
    is empty."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start = max(start, 0)
    if start > end or start >= length:
        return None
    return start, min(end, length - 1)


class ListCommands:

    # ------------------------------------------------------------ pushes

    def cmd_lpush(self, session, args):
        return p.integer(self.keyspace.list_push(args[1], args[2:], left=True))

    def cmd_rpush(self, session, args):
        return p.integer(self.keyspace.list_push(args[1], args[2:], left=False))

    def cmd_lpushx(self, session, args):
        return p.integer(self.keyspace.list_push(args[1], args[2:], left=True, make=False))

    def cmd_rpushx(self, session, args):
        return p.integer(self.keyspace.list_push(args[1], args[2:], left=False,
                                                 make=False))

    def cmd_linsert(self, session, args):
        where = keyword(args[2])
        if where not in (b"BEFORE", b"AFTER"):
            return SYNTAX
        elements = self.keyspace.list_items(args[1])
        if not elements:
            return p.integer(0)
        for at, value in enumerate(elements.iter_values()):
            if value == args[3]:
                return p.integer(self.keyspace.list_insert(
                    args[1], at + (where == b"AFTER"), args[4]))
        return p.integer(-1)

    # ------------------------------------------------------------ reads

    def cmd_llen(self, session, args):
        return p.integer(len(self.keyspace.list_items(args[1])))

    def cmd_lindex(self, session, args):
        elements = self.keyspace.list_items(args[1])
        if not elements:
            return session.nil
        index = long_arg(args[2])
        if index < 0:
            index += len(elements)
        if not 0 <= index < len(elements):
            return session.nil
        return p.bulk(elements.value(index))

    def cmd_lrange(self, session, args):
        start, end = long_arg(args[2]), long_arg(args[3])
        elements = self.keyspace.list_items(args[1])
        span = _span(start, end, len(elements))
        if span is None:
            return p.EMPTY_ARRAY
        return p.bulk_array(elements.values(span[0], span[1] + 1))

    def cmd_lpos(self, session, args):
        rank, count, maxlen = 1, None, 0
        j = 3
        while j < len(args):
            word, more = keyword(args[j]), j + 1 < len(args)
            if word == b"RANK" and more:
                rank = long_arg(args[j + 1])
                if rank == 0:
                    return p.error("ERR RANK can't be zero: use 1 to start from the first "
                                   "match, 2 from the second ... or use negative to start "
                                   "from the end of the list")
            elif word == b"COUNT" and more:
                count = _positive(args[j + 1], "COUNT can't be negative")
            elif word == b"MAXLEN" and more:
                maxlen = _positive(args[j + 1], "MAXLEN can't be negative")
            else:
                return SYNTAX
            j += 2
        elements = self.keyspace.list_items(args[1])
        if not elements:
            return p.EMPTY_ARRAY if count is not None else session.nil
        backwards = rank < 0
        if backwards and rank != LLONG_MIN:  # (Redis negates it in a long: the
            rank = -rank  # lowest stays negative, and every match is past it)
        length = len(elements)
        indexes = range(length - 1, -1, -1) if backwards else range(length)
        found, matches = [], 0
        for scanned, (index, value) in enumerate(zip(
                indexes, elements.iter_values(reverse=backwards), strict=True)):
            if maxlen and scanned >= maxlen:
                break
            if value == args[2]:
                matches += 1
                if matches >= rank:
                    found.append(index)
                    if count is None or (count and _wrapped(matches - rank + 1) >= count):
                        break
        if count is not None:
            return p.array([p.integer(index) for index in found])
        return p.integer(found[0]) if found else session.nil

    # ------------------------------------------------------------ writes in place

    def cmd_lset(self, session, args):
        elements = self.keyspace.list_items(args[1])
        if not elements:
            return NO_SUCH_KEY
        index = long_arg(args[2])
        if index < 0:
            index += len(elements)
        if not 0 <= index < len(elements):
            return OUT_OF_RANGE
        self.keyspace.list_set(args[1], index, args[3])
        return p.OK

    # ------------------------------------------------------------ removes

    def cmd_lpop(self, session, args):
        return self._list_pop(session, args, left=True)

    def cmd_rpop(self, session, args):
        return self._list_pop(session, args, left=False)

    def _list_pop(self, session, args, left: bool) -> bytes:
        if len(args) > 3:
            return arity_error(text(args[0]).lower())
        count = _positive(args[2]) if len(args) == 3 else None
        elements = self.keyspace.list_items(args[1])
        if not elements:
            return null_array(session) if count is not None else session.nil
        if count == 0:
            return p.EMPTY_ARRAY
        taken = self._list_take(args[1], elements, count or 1, left)
        if count is None:
            return p.bulk(taken[0])
        return p.bulk_array(taken)

    def _list_take(self, key: bytes, elements, count: int, left: bool) -> list:
        """Remove up to ``count`` elements from one end; their values, in the order
        they were taken."""
        length = len(elements)
        count = min(count, length)
        indexes = list(range(count) if left else range(length - count, length))
        taken = elements.values(indexes[0], indexes[-1] + 1)
        self.keyspace.list_remove(key, indexes)
        return taken if left else taken[::-1]

    def cmd_lrem(self, session, args):
        count = long_arg(args[2])
        elements = self.keyspace.list_items(args[1])
        if not elements:
            return p.integer(0)
        length = len(elements)
        indexes = range(length - 1, -1, -1) if count < 0 else range(length)
        gone = []
        for at, value in zip(indexes, elements.iter_values(reverse=count < 0), strict=True):
            if value == args[3]:
                gone.append(at)
                if len(gone) == abs(count):  # (0: every one)
                    break
        gone.sort()
        if gone:
            self.keyspace.list_remove(args[1], gone)
        return p.integer(len(gone))

    def cmd_ltrim(self, session, args):
        start, end = long_arg(args[2]), long_arg(args[3])
        elements = self.keyspace.list_items(args[1])
        if not elements:
            return p.OK
        length = len(elements)
        span = _span(start, end, length)
        gone = list(range(length)) if span is None else [
            *range(span[0]), *range(span[1] + 1, length)]
        if gone:
            self.keyspace.list_remove(args[1], gone)
        return p.OK

    # ------------------------------------------------------------ moves

    def cmd_lmove(self, session, args):
        source_left, destination_left = _side(args[3]), _side(args[4])
        return self._list_move(session, args[1], args[2], source_left, destination_left)

    def cmd_rpoplpush(self, session, args):
        return self._list_move(session, args[1], args[2], False, True)

    def _list_move(self, session, source: bytes, destination: bytes, source_left: bool,
              destination_left: bool) -> bytes:
        keyspace = self.keyspace
        elements = keyspace.list_items(source)
        if not elements:
            return session.nil
        keyspace.list_items(destination)  # (WRONGTYPE before anything is written)
        at = 0 if source_left else len(elements) - 1
        value = elements.value(at)
        with keyspace.transaction():
            # the push first: a list moved onto itself never is empty, so it keeps its
            # time to live (as Redis'); then the element, where the push left it (one
            # on, if the push went before it)
            keyspace.list_push(destination, [value], left=destination_left)
            keyspace.list_remove(source, [at + (source == destination and destination_left)])
        return p.bulk(value)

    def cmd_lmpop(self, session, args):
        return self._list_mpop(session, args, 1)

    def _list_mpop(self, session, args, at: int, blocking: bool = False) -> bytes:
        """LMPOP's (``at`` where its key count is; BLMPOP's is one later, after its
        timeout, which is checked last, as Redis)."""
        keys, side, count = mpop_arguments(args, at, (b"LEFT", b"RIGHT"))
        left = side == b"LEFT"
        if blocking:
            blocking_timeout(args[1])
        for key in keys:
            elements = self.keyspace.list_items(key)
            if elements:
                taken = self._list_take(key, elements, count or 1, left)
                return b"*2\r\n" + p.bulk(key) + p.bulk_array(taken)
        return null_array(session)

    # ------------------------------------------------------------ blocking forms

    def cmd_blpop(self, session, args):
        return self._list_blocking_pop(session, args, left=True)

    def cmd_brpop(self, session, args):
        return self._list_blocking_pop(session, args, left=False)

    def _list_blocking_pop(self, session, args, left: bool) -> bytes:
        blocking_timeout(args[-1])
        for key in args[1:-1]:
            elements = self.keyspace.list_items(key)
            if elements:
                taken = self._list_take(key, elements, 1, left)
                return b"*2\r\n" + p.bulk(key) + p.bulk(taken[0])
        return would_block(session, args, null_array(session))

    def cmd_blmove(self, session, args):
        source_left, destination_left = _side(args[3]), _side(args[4])
        blocking_timeout(args[5])
        return self._list_move_or_refuse(session, args, source_left, destination_left)

    def cmd_brpoplpush(self, session, args):
        blocking_timeout(args[3])
        return self._list_move_or_refuse(session, args, False, True)

    def _list_move_or_refuse(self, session, args, source_left: bool,
                        destination_left: bool) -> bytes:
        reply = self._list_move(session, args[1], args[2], source_left, destination_left)
        return would_block(session, args, reply) if reply == session.nil else reply

    def cmd_blmpop(self, session, args):
        reply = self._list_mpop(session, args, 2, blocking=True)
        return would_block(session, args, reply) if reply == null_array(session) else reply
