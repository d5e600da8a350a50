"""Sorted set commands: ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZSCORE ZMSCORE ZCARD
ZCOUNT ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZRANGESTORE ZREVRANGE ZRANGEBYSCORE
ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZLEXCOUNT ZRANK ZREVRANK ZPOPMIN ZPOPMAX
ZRANDMEMBER ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZSCAN.

Members replicate and merge one by one (``geolru.model.zmember``: membership as a
set's, the score a counter of the writes that survive); replies and errors are
redis-server 7.0's, in the order it checks them.  Scores are replied as Redis does,
``%.17g`` (``inf``, ``-inf``), a RESP3 double under ``HELLO 3``.
"""

from __future__ import annotations

import bisect
import math
import random

from geolru.commands.args import (
    LLONG_MAX,
    MAX_REPEATED,
    SYNTAX,
    TOO_MANY_REPEATED,
    arity_error,
    blocking_timeout,
    int_arg,
    keyword,
    mpop_arguments,
    null_array,
    scan_arguments,
    text,
    would_block,
)
from geolru.commands.globmatch import glob_match
from geolru.commands.hashes import CURSOR_BYTES
from geolru.commands.values import _FLOAT, NOT_FLOAT
from geolru.resp import codec as p

NOT_A_NUMBER = p.error("ERR resulting score is not a number (NaN)")
NOT_POSITIVE = p.error("ERR value is out of range, must be positive")
WRONGTYPE = p.error("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_A_RANGE = p.error("ERR min or max is not a float")
NOT_A_LEX_RANGE = p.error("ERR min or max not valid string range item")
MINUS_INF, PLUS_INF = float("-inf"), float("inf")
RANK, SCORE, LEX = "rank", "score", "lex"


def parse_score(raw: bytes) -> float | None:
    """A score argument as Redis reads one (``strtod`` over the whole string, no NaN,
    no spaces), or None."""
    if not raw or len(raw) > 5000 or not _FLOAT.fullmatch(raw):
        return None
    return float(raw)


def _bound(raw: bytes) -> tuple[float, bool] | None:
    """A score range's end: (value, exclusive), ``(`` for exclusive; None if not one
    (as ``zslParseRange``: an empty number is 0)."""
    exclusive = raw[:1] == b"("
    text = raw[1:] if exclusive else raw
    if not text:
        return 0.0, exclusive
    value = parse_score(text)
    return None if value is None else (value, exclusive)


def _lex_bound(raw: bytes):
    """A lex range's end: ``-``, ``+``, or (value, exclusive); None if not one."""
    if raw in (b"-", b"+"):
        return raw
    if raw[:1] in (b"[", b"("):
        return raw[1:], raw[:1] == b"("
    return None


def score_reply(score: float, resp3: bool) -> bytes:
    text = b"inf" if score == PLUS_INF else b"-inf" if score == MINUS_INF \
        else b"%.17g" % score
    return b",%s\r\n" % text if resp3 else b"$%d\r\n%s\r\n" % (len(text), text)


class ZSetCommands:

    # ------------------------------------------------------------ writes

    def cmd_zadd(self, session, args):
        flags, at = set(), 2
        while at < len(args) and keyword(args[at]) in (b"NX", b"XX", b"CH", b"INCR", b"GT",
                                                       b"LT"):
            flags.add(keyword(args[at]))
            at += 1
        pairs = len(args) - at
        if pairs % 2 or not pairs:
            return SYNTAX
        if {b"NX", b"XX"} <= flags:
            return p.error("ERR XX and NX options at the same time are not compatible")
        if (b"GT" in flags or b"LT" in flags) and b"NX" in flags or {b"GT", b"LT"} <= flags:
            return p.error("ERR GT, LT, and/or NX options at the same time are not "
                           "compatible")
        incr = b"INCR" in flags
        if incr and pairs > 2:
            return p.error("ERR INCR option supports a single increment-element pair")
        scores = [parse_score(args[j]) for j in range(at, len(args), 2)]
        if None in scores:
            return NOT_FLOAT
        return self._zadd(session, args[1], list(zip(args[at + 1::2], scores, strict=True)),
                          flags, incr)

    def cmd_zincrby(self, session, args):
        delta = parse_score(args[2])
        if delta is None:
            return NOT_FLOAT
        return self._zadd(session, args[1], [(args[3], delta)], set(), True)

    def _zadd(self, session, key: bytes, pairs: list, flags: set, incr: bool) -> bytes:
        keyspace = self.keyspace
        current = keyspace.zset_scores(key)  # (WRONGTYPE before anything is written)
        if not current and b"XX" in flags:
            return session.nil if incr else p.ZERO
        changes, added, updated, last, now = [], 0, 0, None, {}
        for member, score in pairs:  # (in order: a member named twice is then updated)
            old = now[member] if member in now else current.get(member)
            old = None if old is None else float(old)
            new = score + old if incr and old is not None else score
            if math.isnan(new):
                return NOT_A_NUMBER
            if old is None:
                if b"XX" in flags:
                    continue
                added += 1
            else:
                if b"NX" in flags or (b"GT" in flags and new <= old) or (
                        b"LT" in flags and new >= old):
                    continue
                updated += new != old
            changes.append((member, score, incr))
            now[member] = last = new
        if changes:
            # one write per member: a member named twice is written once, as it ends
            # (two writes of one version would be two states the regions could not
            # tell apart: wide seed 3000030653, ZADD wz0 7 p2 17 p2)
            keyspace.zset_write(key, list({c[0]: c for c in changes}.values()))
        if incr:
            return session.nil if last is None else score_reply(last, session.resp3)
        return p.integer(added + updated if b"CH" in flags else added)

    def cmd_zrem(self, session, args):
        return p.integer(self.keyspace.zset_remove(args[1], args[2:]))

    # ------------------------------------------------------------ reads

    def cmd_zscore(self, session, args):
        score = self.keyspace.zset_score(args[1], args[2])
        return session.nil if score is None else score_reply(score, session.resp3)

    def cmd_zmscore(self, session, args):
        scores = self.keyspace.zset_scores(args[1])
        return p.array([session.nil if scores.get(m) is None
                        else score_reply(float(scores[m]), session.resp3) for m in args[2:]])

    def cmd_zcard(self, session, args):
        return p.integer(len(self.keyspace.zset_scores(args[1])))

    def cmd_zcount(self, session, args):
        low, high = _bound(args[2]), _bound(args[3])
        if low is None or high is None:
            return NOT_A_RANGE
        ordered = self.keyspace.zset_ordered(args[1])
        return p.integer(len(_by_score(ordered, low, high)))

    def cmd_zlexcount(self, session, args):
        low, high = _lex_bound(args[2]), _lex_bound(args[3])
        if low is None or high is None:
            return NOT_A_LEX_RANGE
        return p.integer(len(_by_lex(self.keyspace.zset_ordered(args[1]), low, high)))

    def cmd_zrank(self, session, args):
        return self._rank(session, args, reverse=False)

    def cmd_zrevrank(self, session, args):
        return self._rank(session, args, reverse=True)

    def _rank(self, session, args, reverse: bool) -> bytes:
        """ZRANK and ZREVRANK, with Redis 7.2's ``WITHSCORE``."""
        if len(args) > 4:
            return arity_error(text(args[0]).lower())
        withscore = len(args) == 4
        if withscore and keyword(args[3]) != b"WITHSCORE":
            return SYNTAX
        score = self.keyspace.zset_score(args[1], args[2])
        if score is None:
            return null_array(session) if withscore else session.nil
        ordered = self.keyspace.zset_ordered(args[1])
        rank = bisect.bisect_left(ordered, (score, args[2]))
        rank = p.integer(len(ordered) - 1 - rank if reverse else rank)
        if withscore:
            return b"*2\r\n" + rank + score_reply(score, session.resp3)
        return rank

    def cmd_zrange(self, session, args):
        return self._range(session, args, None, None)

    def cmd_zrevrange(self, session, args):
        return self._range(session, args, RANK, True)

    def cmd_zrangebyscore(self, session, args):
        return self._range(session, args, SCORE, False)

    def cmd_zrevrangebyscore(self, session, args):
        return self._range(session, args, SCORE, True)

    def cmd_zrangebylex(self, session, args):
        return self._range(session, args, LEX, False)

    def cmd_zrevrangebylex(self, session, args):
        return self._range(session, args, LEX, True)

    def cmd_zrangestore(self, session, args):
        chosen = self._range(session, args[1:], None, None, store=True)
        if isinstance(chosen, bytes):
            return chosen  # (an error)
        keyspace = self.keyspace
        with keyspace.transaction():
            keyspace.delete(args[1])
            if chosen:
                keyspace.zset_write(args[1], [(m, s, False) for s, m in chosen])
        return p.integer(len(chosen))

    def _range(self, session, args, kind: str | None, reverse: bool | None,
               store: bool = False):
        """``zrangeGenericCommand``: ``kind`` and ``reverse`` fixed by the older
        commands, None where ZRANGE's options say; with ``store``, the chosen
        ``(score, member)`` pairs (or an error reply)."""
        withscores, offset, limit = False, 0, -1
        j = 4
        while j < len(args):
            word, left = keyword(args[j]), len(args) - j - 1
            if word == b"WITHSCORES" and not store:
                withscores = True
            elif word == b"LIMIT" and left >= 2:
                offset, limit = int_arg(args[j + 1]), int_arg(args[j + 2])
                j += 2
            elif reverse is None and word == b"REV":
                reverse = True
            elif kind is None and word == b"BYLEX":
                kind = LEX
            elif kind is None and word == b"BYSCORE":
                kind = SCORE
            else:
                return SYNTAX
            j += 1
        kind, reverse = kind or RANK, bool(reverse)
        if limit != -1 and kind == RANK:
            return p.error("ERR syntax error, LIMIT is only supported in combination with "
                           "either BYSCORE or BYLEX")
        if withscores and kind == LEX:
            return p.error("ERR syntax error, WITHSCORES not supported in combination "
                           "with BYLEX")
        low, high = (args[3], args[2]) if reverse and kind != RANK else (args[2], args[3])
        if kind == RANK:
            start, stop = int_arg(low), int_arg(high)
        elif kind == SCORE:
            low, high = _bound(low), _bound(high)
            if low is None or high is None:
                return NOT_A_RANGE
        else:
            low, high = _lex_bound(low), _lex_bound(high)
            if low is None or high is None:
                return NOT_A_LEX_RANGE
        ordered = self.keyspace.zset_ordered(args[1])
        if kind == RANK:
            chosen = _by_rank(ordered, start, stop, reverse)
            if store:
                return chosen
        else:
            chosen = (_by_score if kind == SCORE else _by_lex)(ordered, low, high)
            if reverse:
                chosen = chosen[::-1]
            if offset < 0:
                chosen = []
            else:
                chosen = chosen[offset:] if limit < 0 else chosen[offset:offset + limit]
        if store:
            return chosen
        if not withscores:
            return p.bulk_array([member for _, member in chosen])
        if session.resp3:
            return p.array([b"*2\r\n" + p.bulk(member) + score_reply(score, True)
                            for score, member in chosen])
        return b"*%d\r\n" % (2 * len(chosen)) + b"".join(
            p.bulk(member) + score_reply(score, False) for score, member in chosen)


    # ------------------------------------------------------------ removes

    def cmd_zpopmin(self, session, args):
        return self._pop(session, args, highest=False)

    def cmd_zpopmax(self, session, args):
        return self._pop(session, args, highest=True)

    def _pop(self, session, args, highest: bool) -> bytes:
        if len(args) > 3:
            return SYNTAX
        count = None
        if len(args) == 3:
            count = p.parse_int(args[2])
            if count is None or count < 0:
                return NOT_POSITIVE
        ordered = self.keyspace.zset_ordered(args[1])
        if not ordered or count == 0:
            return p.EMPTY_ARRAY
        chosen = self._zset_take(args[1], ordered, count or 1, highest)
        return _with_scores(chosen, session.resp3 and count is not None, session.resp3)

    def cmd_zmpop(self, session, args):
        return self._zset_mpop(session, args, 1)

    def cmd_bzmpop(self, session, args):
        reply = self._zset_mpop(session, args, 2, blocking=True)
        null = null_array(session)
        return would_block(session, args, reply) if reply == null else reply

    def _zset_mpop(self, session, args, at: int, blocking: bool = False) -> bytes:
        """``zmpopGenericCommand``: ZMPOP's (``at`` where its key count is; BZMPOP's
        is one later, after its timeout, which is checked last)."""
        keys, where, count = mpop_arguments(args, at, (b"MIN", b"MAX"))
        if blocking:
            blocking_timeout(args[1])
        for key in keys:
            ordered = self.keyspace.zset_ordered(key)
            if ordered:
                chosen = self._zset_take(key, ordered, count or 1, where == b"MAX")
                return b"*2\r\n" + p.bulk(key) + p.array([
                    b"*2\r\n" + p.bulk(m) + score_reply(s, session.resp3) for s, m in chosen])
        return null_array(session)

    def cmd_bzpopmin(self, session, args):
        return self._zset_blocking_pop(session, args, highest=False)

    def cmd_bzpopmax(self, session, args):
        return self._zset_blocking_pop(session, args, highest=True)

    def _zset_blocking_pop(self, session, args, highest: bool) -> bytes:
        blocking_timeout(args[-1])
        for key in args[1:-1]:
            ordered = self.keyspace.zset_ordered(key)
            if ordered:
                (score, member), = self._zset_take(key, ordered, 1, highest)
                return b"*3\r\n" + p.bulk(key) + p.bulk(member) + score_reply(
                    score, session.resp3)
        return would_block(session, args, null_array(session))

    def _zset_take(self, key: bytes, ordered: list, count: int, highest: bool) -> list:
        """Remove up to ``count`` members from one end; their (score, member), in the
        order taken."""
        chosen = ordered[:-count - 1:-1] if highest else ordered[:count]
        self.keyspace.zset_remove(key, [m for _, m in chosen])
        return chosen

    def cmd_zremrangebyrank(self, session, args):
        start, stop = int_arg(args[2]), int_arg(args[3])
        return self._remove(args[1], lambda ordered: _by_rank(ordered, start, stop, False))

    def cmd_zremrangebyscore(self, session, args):
        low, high = _bound(args[2]), _bound(args[3])
        if low is None or high is None:
            return NOT_A_RANGE
        return self._remove(args[1], lambda ordered: _by_score(ordered, low, high))

    def cmd_zremrangebylex(self, session, args):
        low, high = _lex_bound(args[2]), _lex_bound(args[3])
        if low is None or high is None:
            return NOT_A_LEX_RANGE
        return self._remove(args[1], lambda ordered: _by_lex(ordered, low, high))

    def _remove(self, key: bytes, choose) -> bytes:
        chosen = choose(self.keyspace.zset_ordered(key))
        if chosen:
            self.keyspace.zset_remove(key, [m for _, m in chosen])
        return p.integer(len(chosen))

    # ------------------------------------------------------------ the rest

    def cmd_zrandmember(self, session, args):
        if len(args) == 2:
            ordered = self.keyspace.zset_ordered(args[1])
            return p.bulk(random.choice(ordered)[1] if ordered else None, session.nil)
        count = int_arg(args[2])
        if count < -LLONG_MAX:
            return p.error(f"ERR value is out of range, value must between {-LLONG_MAX} "
                           f"and {LLONG_MAX}")
        if len(args) > 4 or (len(args) == 4 and keyword(args[3]) != b"WITHSCORES"):
            return SYNTAX
        withscores = len(args) == 4
        if withscores and not -LLONG_MAX // 2 <= count <= LLONG_MAX // 2:
            return p.error("ERR value is out of range")
        ordered = self.keyspace.zset_ordered(args[1])
        if not ordered or count == 0:
            return p.EMPTY_ARRAY
        if count < 0:
            if -count > MAX_REPEATED:
                return TOO_MANY_REPEATED
            chosen = random.choices(ordered, k=-count)
        elif count >= len(ordered):
            chosen = ordered
        else:
            chosen = random.sample(ordered, count)
        if not withscores:
            return p.bulk_array([m for _, m in chosen])
        return _with_scores(chosen, session.resp3, session.resp3)

    def cmd_zscan(self, session, args):
        ended = self._scanned_kind(args, "zset")
        if ended is not None:
            return ended
        cursor, count, pattern, _ = scan_arguments(args, 2, with_type=False)
        scores = self.keyspace.zset_scores(args[1]) if cursor == 0 else {}
        if cursor == 0 and zset_small(scores):
            # like Redis with a listpack: all of it at once (in order), with cursor 0
            chosen = list(self.keyspace.zset_ordered(args[1]))
        else:
            start = b"" if cursor == 0 else (cursor - 1).to_bytes(
                CURSOR_BYTES, "big").rstrip(b"\0")
            place, scanned = self.keyspace.hash_scan(args[1], start, count, CURSOR_BYTES,
                                                     kind="zset")
            chosen = [(float(s), m) for m, s in scanned.items()]
            cursor = 0 if place is None else int.from_bytes(
                place[:CURSOR_BYTES].ljust(CURSOR_BYTES, b"\0"), "big") + 1
        flat = []
        for score, member in chosen:
            if pattern is None or glob_match(pattern, member):
                flat += [member, score_reply(score, False).split(b"\r\n")[1]]
        return p.array([p.bulk(b"%d" % cursor), p.bulk_array(flat)])


    # ------------------------------------------------------------ union, inter, diff

    def cmd_zunion(self, session, args):
        return self._combine(session, args, "zunion", None)

    def cmd_zinter(self, session, args):
        return self._combine(session, args, "zinter", None)

    def cmd_zdiff(self, session, args):
        return self._combine(session, args, "zdiff", None)

    def cmd_zunionstore(self, session, args):
        return self._combine(session, args, "zunionstore", args[1])

    def cmd_zinterstore(self, session, args):
        return self._combine(session, args, "zinterstore", args[1])

    def cmd_zdiffstore(self, session, args):
        return self._combine(session, args, "zdiffstore", args[1])

    def cmd_zintercard(self, session, args):
        return self._combine(session, args, "zintercard", None)

    def _combine(self, session, args, name: str, destination: bytes | None) -> bytes:
        """``zunionInterDiffGenericCommand``, in its order of checks: the key count,
        the keys' types (a set counts as a sorted set of scores 1), then the
        options (WEIGHTS, AGGREGATE, WITHSCORES, ZINTERCARD's LIMIT)."""
        at = 2 if destination is not None else 1
        card = name == "zintercard"
        op = "inter" if card else name[1:].removesuffix("store")
        count = int_arg(args[at])
        if count < 1:
            return p.error(f"ERR at least 1 input key is needed for '{name}' command")
        if count > len(args) - at - 1:
            return SYNTAX
        keys = args[at + 1:at + 1 + count]
        sources = []
        for key in keys:
            kind = self.keyspace.kind(key)
            if kind not in (None, "set", "zset"):
                return WRONGTYPE
            sources.append({} if kind is None else dict.fromkeys(
                self.keyspace.set_members(key), 1.0) if kind == "set"
                else {m: float(s) for m, s in self.keyspace.zset_scores(key).items()})
        weights, aggregate, withscores, limit = [1.0] * count, b"SUM", False, 0
        j = at + 1 + count
        while j < len(args):
            word, left = keyword(args[j]), len(args) - j
            if op != "diff" and not card and left >= count + 1 and word == b"WEIGHTS":
                parsed = [parse_score(w) for w in args[j + 1:j + 1 + count]]
                if None in parsed:
                    return p.error("ERR weight value is not a float")
                weights, j = parsed, j + 1 + count
            elif op != "diff" and not card and left >= 2 and word == b"AGGREGATE":
                aggregate = keyword(args[j + 1])
                if aggregate not in (b"SUM", b"MIN", b"MAX"):
                    return SYNTAX
                j += 2
            elif destination is None and not card and word == b"WITHSCORES":
                withscores, j = True, j + 1
            elif card and left >= 2 and word == b"LIMIT":
                limit = p.parse_int(args[j + 1])
                if limit is None or limit < 0:
                    return p.error("ERR LIMIT can't be negative")
                j += 2
            else:
                return SYNTAX
        found = _combined(sources, weights, aggregate, op)
        if card:
            return p.integer(min(len(found), limit) if limit else len(found))
        chosen = sorted((score, member) for member, score in found.items())
        if destination is not None:
            keyspace = self.keyspace
            with keyspace.transaction():
                keyspace.delete(destination)
                if chosen:
                    keyspace.zset_write(destination, [(m, s, False) for s, m in chosen])
            return p.integer(len(chosen))
        if not withscores:
            return p.bulk_array([m for _, m in chosen])
        return _with_scores(chosen, session.resp3, session.resp3)


def zset_small(scores: dict) -> bool:
    """Whether Redis keeps a sorted set of these members as a listpack
    (``zset-max-listpack-entries`` 128, ``zset-max-listpack-value`` 64)."""
    return len(scores) <= 128 and all(len(m) <= 64 for m in scores)


def _with_scores(chosen: list, nested: bool, resp3: bool) -> bytes:
    """Members with their scores: pairs (RESP3 with a count), or flat."""
    if nested:
        return p.array([b"*2\r\n" + p.bulk(m) + score_reply(s, True) for s, m in chosen])
    return b"*%d\r\n" % (2 * len(chosen)) + b"".join(
        p.bulk(m) + score_reply(s, resp3) for s, m in chosen)


def _combined(sources: list, weights: list, aggregate: bytes, op: str) -> dict:
    """member -> score of the union, intersection or difference of ``sources``, as
    Redis combines them (a weighted score that is NaN counts as 0)."""
    def weighted(score, weight):
        value = score * weight
        return 0.0 if math.isnan(value) else value

    def join(a, b):
        if aggregate == b"MIN":
            return min(a, b)
        if aggregate == b"MAX":
            return max(a, b)
        total = a + b
        return 0.0 if math.isnan(total) else total

    if op == "diff":
        first, rest = sources[0], sources[1:]
        return {m: s for m, s in first.items() if not any(m in other for other in rest)}
    if op == "inter":
        ordered = sorted(zip(sources, weights, strict=True), key=lambda sw: len(sw[0]))
        (smallest, weight), rest = ordered[0], ordered[1:]
        found = {}
        for member, score in smallest.items():
            if all(member in other for other, _ in rest):
                value = weighted(score, weight)
                for other, w in rest:
                    value = join(value, weighted(other[member], w))
                found[member] = value
        return found
    found = {}
    for source, weight in zip(sources, weights, strict=True):
        for member, score in source.items():
            value = weighted(score, weight)
            found[member] = join(found[member], value) if member in found else value
    return found


def _by_rank(ordered: list, start: int, stop: int, reverse: bool) -> list:
    length = len(ordered)
    if start < 0:
        start += length
    if stop < 0:
        stop += length
    start = max(start, 0)
    if start > stop or start >= length:
        return []
    stop = min(stop, length - 1)
    if reverse:
        return ordered[length - 1 - stop:length - start][::-1]
    return ordered[start:stop + 1]


def _by_score(ordered: list, low: tuple, high: tuple) -> list:
    """The members with scores within [low, high] (each end (value, exclusive))."""
    (lo, lo_ex), (hi, hi_ex) = low, high
    if lo > hi or (lo == hi and (lo_ex or hi_ex)):
        return []
    first = (bisect.bisect_right if lo_ex else bisect.bisect_left)(ordered, lo, key=_score)
    last = (bisect.bisect_left if hi_ex else bisect.bisect_right)(ordered, hi, key=_score)
    return ordered[first:last]


def _score(pair: tuple) -> float:
    return pair[0]


def _by_lex(ordered: list, low, high) -> list:
    """The members within a lex range (Redis assumes one score for them all: it walks
    the members in order and keeps those within the bounds)."""
    def above(member):
        if low == b"-":
            return True
        if low == b"+":
            return False
        value, exclusive = low
        return member > value if exclusive else member >= value

    def below(member):
        if high == b"+":
            return True
        if high == b"-":
            return False
        value, exclusive = high
        return member < value if exclusive else member <= value

    return [(s, m) for s, m in ordered if above(m) and below(m)]
