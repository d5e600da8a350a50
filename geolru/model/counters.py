"""Counters: a base and one contribution per region, so increments never get lost.

A counter record (made by ``INCR``-family commands) is a plain *base* -- the newest
plain record its key has seen, or nothing -- and one *contribution* per region:
``(since, increments, decrements)``; ``geolru.model.merge`` states the whole rule.

A HyperLogLog (``PFADD``, ``PFMERGE``) is the same shape: a region's contribution
holds registers instead of totals (``increments`` the registers as a HyperLogLog
string, ``decrements`` None), and the value is the register-wise maximum of the
contributions alive.  A record whose newest contribution is of a HyperLogLog is one.
Sans-IO and deterministic.
"""

from __future__ import annotations

import base64

import attrs

from geolru.model import hyperloglog
from geolru.model.record import Record

NO_BASE = (0, "")  # the base of a key nobody ever wrote (or whose tombstone was collected)


@attrs.frozen(slots=True)
class Counter:
    base_version: int
    base_origin: str
    base_value: int | None  # the base's integer value; None: a tombstone or not a number
    base_deadline: int | None
    # ((origin, since, increments, decrements, last version, deadline), ...) by origin:
    # ``since`` is a version ``(timestamp, origin)``: the base's, or the region's own
    # first increment's; ``last version`` is its latest increment's; ``deadline`` the
    # base's for a contribution built on the base, None for one started on nothing.
    # A HyperLogLog's part: ``increments`` its registers (a HyperLogLog string),
    # ``decrements`` None
    counts: tuple

    @property
    def base(self) -> tuple[int, str]:
        return (self.base_version, self.base_origin)

    def total(self, now_ms: int | None = None) -> int:
        """The value: the base's (when some region built on it) and every contribution;
        at ``now_ms``, only the parts alive then."""
        counts = [c for c in self.counts if c[3] is not None
                  and (now_ms is None or alive(c[5], now_ms))]
        counted = (self.base_value is not None
                   and (now_ms is None or alive(self.base_deadline, now_ms))
                   and any(c[1] == self.base for c in counts))
        return (self.base_value if counted else 0) + sum(c[2] - c[3] for c in counts)

    def parts(self, now_ms: int | None = None) -> list:
        """The contributions of the kind the newest one is (a HyperLogLog's or a
        counter's), alive at ``now_ms`` (None: all)."""
        counts = [c for c in self.counts if now_ms is None or alive(c[5], now_ms)]
        if not counts:
            return []
        newest = max(counts, key=_newest)
        return [c for c in counts if (c[3] is None) == (newest[3] is None)]

    def registers(self, now_ms: int | None = None) -> bytearray:
        """A HyperLogLog's registers: the maximum of its contributions'."""
        registers = hyperloglog.empty()
        for c in self.parts(now_ms):
            if c[3] is None:
                hyperloglog.join(registers, hyperloglog.parse(c[2]))
        return registers

    def encode(self) -> str:
        parts = [str(self.base_version), self.base_origin, _text(self.base_value),
                 _text(self.base_deadline)]
        for origin, (since, since_origin), p, n, last, deadline in self.counts:
            parts += [origin, str(since), since_origin, _amount(p), _text(n), str(last),
                      _text(deadline)]
        return " ".join(parts)

    @classmethod
    def decode(cls, text: str) -> Counter:
        parts = text.split(" ")
        rest = parts[4:]
        counts = tuple((rest[i], (int(rest[i + 1]), rest[i + 2]), _parse_amount(rest[i + 3]),
                        _number(rest[i + 4]), int(rest[i + 5]), _number(rest[i + 6]))
                       for i in range(0, len(rest), 7))
        return cls(int(parts[0]), parts[1], _number(parts[2]), _number(parts[3]), counts)


def counter_origins(record: Record) -> dict:
    """The regions whose writes a counter record holds (its parts, and the base they
    built on: a region's own write): region -> the version of its newest one."""
    counter = Counter.decode(record.counter)
    newest = {}
    if counter.base_origin:
        newest[counter.base_origin] = counter.base_version
    for c in counter.counts:
        newest[c[0]] = max(c[4], newest.get(c[0], -1))
    return newest


def holds_registers(record: Record) -> bool:
    """Whether ``record`` has a HyperLogLog's part (what replication version 4 cannot
    carry)."""
    return record.counter is not None and any(
        c[3] is None for c in Counter.decode(record.counter).counts)


def _newest(contribution) -> tuple:
    return contribution[4], contribution[0]  # (its latest write's version, its region)


def _amount(p: int | bytes) -> str:
    """A contribution's increments, or a HyperLogLog's registers (``h`` + base64)."""
    return "h" + base64.b64encode(p).decode() if isinstance(p, bytes) else str(p)


def _parse_amount(text: str) -> int | bytes:
    return base64.b64decode(text[1:]) if text[:1] == "h" else int(text)


def _text(number: int | None) -> str:
    return "-" if number is None else str(number)


def _number(text: str) -> int | None:
    return None if text == "-" else int(text)


def counter_of(record: Record) -> Counter | None:
    return None if record.counter is None else Counter.decode(record.counter)


def _integer(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def as_counter(record: Record) -> Counter:
    """A record's base and contributions (a plain record is a base with none)."""
    if record.counter is not None:
        return counter_of(record)
    return Counter(record.version, record.origin, _integer(record.value), record.deadline,
                   ())


def later(x, y):
    """Of two optional numbers, the larger (a deterministic choice for equal writes)."""
    return y if x is None else x if y is None else max(x, y)


def counter_record(counter: Counter) -> Record:
    """A counter as a record: its newest write's version, the value of all its parts,
    and the deadline of its last part to expire (``visible`` says what is alive)."""
    version, origin = max((counter.base_version, counter.base_origin),
                          *((c[4], c[0]) for c in counter.counts))
    deadlines = [c[5] for c in counter.counts]
    deadline = None if None in deadlines else max(deadlines)
    return Record(value_of(counter), deadline, version, origin, counter.encode())


def value_of(counter: Counter, now_ms: int | None = None) -> bytes:
    """What a client reads (at ``now_ms``: of the parts alive then): a counter's
    total, or a HyperLogLog's registers as Redis' string."""
    parts = counter.parts(now_ms)
    if parts and parts[0][3] is None:
        return hyperloglog.render(counter.registers(now_ms))
    return str(counter.total(now_ms)).encode()


def tiebreak(record: Record):
    return (record.value is not None, record.value or b"", record.deadline or 0,
            record.counter or "")


def alive(deadline: int | None, now_ms: int) -> bool:
    return deadline is None or deadline > now_ms


def merge_counters(a: Record, b: Record) -> Record:
    """The join of two records of which one at least is a counter (a plain record
    is a base with no contributions)."""
    ca, cb = as_counter(a), as_counter(b)
    plain = None  # the plain record that holds the newer base, if one does
    if ca.base == cb.base:
        # one write; a region that expired it holds it as a tombstone: the live
        # copy wins, as between plain records
        base = (ca.base_version, ca.base_origin, later(ca.base_value, cb.base_value),
                later(ca.base_deadline, cb.base_deadline))
        if a.counter is None and b.counter is None:
            plain = max(a, b, key=tiebreak)
    else:
        newer, holder = (ca, a) if ca.base > cb.base else (cb, b)
        base = (newer.base_version, newer.base_origin, newer.base_value,
                newer.base_deadline)
        plain = holder if holder.counter is None else None
    counts = {}
    for origin, since, p, n, last, deadline in (*ca.counts, *cb.counts):
        if since < base[:2]:
            continue  # made before the base: void
        mine = counts.get(origin)
        if mine is None or since > mine[0]:
            counts[origin] = (since, p, n, last, deadline)
        elif since == mine[0]:
            if n is None or mine[2] is None:
                # a HyperLogLog's registers only grow within one contribution: its
                # latest state holds all the earlier ones
                counts[origin] = max((since, p, n, last, deadline), mine,
                                     key=lambda c: (c[3], c[2] is None, _amount(c[1])))
            else:
                counts[origin] = (since, max(p, mine[1]), max(n, mine[2]),
                                  max(last, mine[3]), later(deadline, mine[4]))
    if not counts:  # every increment older than the other side's base
        return plain if plain is not None else Record(None, None, base[0], base[1])
    return counter_record(Counter(*base, tuple((o, *rest) for o, rest in sorted(counts.items()))))


def increment(current: Record | None, now_version: int, now_ms: int, origin: str,
              delta: int) -> Record:
    """The counter record after ``INCRBY delta`` at ``origin``, on ``current``, the
    key's record as stored (``None`` if it holds nothing)."""
    counter, counts, part = _own_part(current, origin, now_ms, hyperloglog_part=False)
    if part is None:
        # a first contribution: on a live integer it counts from that value (since
        # its version) and expires with it; on nothing, a tombstone or an expired
        # value it counts from zero, since this very write, and never expires
        if counter.base_value is not None and alive(counter.base_deadline, now_ms):
            since, deadline = counter.base, counter.base_deadline
        else:
            since, deadline = (now_version, origin), None
        p = n = 0
    else:
        since, p, n, _, deadline = part
    p, n = (p + delta, n) if delta >= 0 else (p, n - delta)
    return _with_part(counter, counts, origin, (since, p, n, now_version, deadline))


def add_registers(current: Record | None, now_version: int, now_ms: int, origin: str,
                  registers) -> Record:
    """The HyperLogLog record after ``PFADD`` (or ``PFMERGE``) raised ``registers``
    at ``origin``, on ``current``, the key's record as stored (``None`` if it holds
    nothing; its live value the caller checked is a HyperLogLog or nothing)."""
    counter, counts, part = _own_part(current, origin, now_ms, hyperloglog_part=True)
    if part is None:
        # a first contribution of this region: on a live HyperLogLog string it starts
        # from its registers (since its version) and expires with it; so it does on
        # one that other regions' parts built on (whose registers hold the string's);
        # on nothing or a HyperLogLog of parts started on nothing, from none, since
        # this very write, and never expires
        if current is not None and current.counter is None and current.live_at(now_ms):
            since, deadline = counter.base, counter.base_deadline
            mine = hyperloglog.parse(current.value)
        elif alive(counter.base_deadline, now_ms) and any(
                c[1] == counter.base and c[3] is None for c in counter.counts):
            since, deadline = counter.base, counter.base_deadline
            mine = hyperloglog.empty()
        else:
            since, deadline = (now_version, origin), None
            mine = hyperloglog.empty()
    else:
        since, held, _, _, deadline = part
        mine = hyperloglog.parse(held)
    hyperloglog.join(mine, registers)
    return _with_part(counter, counts, origin,
                      (since, hyperloglog.render(mine), None, now_version, deadline))


def _own_part(current: Record | None, origin: str, now_ms: int, hyperloglog_part: bool):
    """(the key's counter, its parts by region, ``origin``'s part if a write of this
    kind goes on from it: alive, not older than the base, of this kind; else None)."""
    counter = Counter(*NO_BASE, None, None, ()) if current is None else as_counter(current)
    counts = {o: rest for o, *rest in counter.counts}
    part = counts.get(origin)
    if part is not None and (part[0] < counter.base or not alive(part[4], now_ms)
                             or (part[2] is None) != hyperloglog_part):
        # (of the other kind: a HyperLogLog's part that a newer counter's outshone,
        # or the other way round)
        part = None
    return counter, counts, part


def _with_part(counter: Counter, counts: dict, origin: str, part: tuple) -> Record:
    counts[origin] = part
    return counter_record(attrs.evolve(counter, counts=tuple(
        (o, *rest) for o, rest in sorted(counts.items()))))
