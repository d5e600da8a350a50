"""How two versions of one key become one: the rule every region applies.

Sans-IO and deterministic, so any order, duplication or interleaving of the
same writes gives the same state in every region.

- A plain record (a value or a tombstone) is ordered by its version
  ``(timestamp, origin)``: the greater one wins, whole (value and deadline).
- A counter record (made by ``INCR``-family commands) is a PN-counter on top
  of a *base*: the plain record it started from (a value, a tombstone, or
  nothing).  It is ordered by its base's version, and it beats the very record
  it was built on.  Two counters on the same base merge: per region, the
  larger increment and decrement totals; the deadline comes from the later
  operation.  So concurrent ``INCR`` from several regions never lose an
  increment, and a ``SET`` or ``DEL`` newer than the base replaces the counter.
"""

from __future__ import annotations

import attrs

from geolru.record import Record

NO_BASE = (0, "")  # the base of a counter started on a key nobody ever wrote


@attrs.frozen(slots=True)
class Counter:
    base_version: int
    base_origin: str
    base_value: int
    counts: tuple  # ((origin, increments, decrements), ...) sorted by origin

    @property
    def base(self) -> tuple[int, str]:
        return (self.base_version, self.base_origin)

    def total(self) -> int:
        return self.base_value + sum(p - n for _, p, n in self.counts)

    def add(self, origin: str, delta: int) -> Counter:
        counts = {o: (p, n) for o, p, n in self.counts}
        p, n = counts.get(origin, (0, 0))
        counts[origin] = (p + delta, n) if delta >= 0 else (p, n - delta)
        return attrs.evolve(self, counts=tuple(sorted((o, p, n) for o, (p, n) in counts.items())))

    def join(self, other: Counter) -> Counter:
        """Per-region maximum of both totals (both counters share a base)."""
        counts = {o: (p, n) for o, p, n in self.counts}
        for o, p, n in other.counts:
            mine = counts.get(o, (0, 0))
            counts[o] = (max(mine[0], p), max(mine[1], n))
        return attrs.evolve(self, counts=tuple(sorted((o, p, n) for o, (p, n) in counts.items())))

    def encode(self) -> str:
        parts = [str(self.base_version), self.base_origin, str(self.base_value)]
        for o, p, n in self.counts:
            parts += [o, str(p), str(n)]
        return " ".join(parts)

    @classmethod
    def decode(cls, text: str) -> Counter:
        parts = text.split(" ")
        base_version, base_origin, base_value = int(parts[0]), parts[1], int(parts[2])
        rest = parts[3:]
        counts = tuple((rest[i], int(rest[i + 1]), int(rest[i + 2]))
                       for i in range(0, len(rest), 3))
        return cls(base_version, base_origin, base_value, counts)


def counter_of(record: Record) -> Counter | None:
    return None if record.counter is None else Counter.decode(record.counter)


def order_key(record: Record) -> tuple[int, str]:
    """What last-writer-wins compares: a counter's base, else the record's version."""
    if record.counter is not None:
        counter = counter_of(record)
        return counter.base
    return (record.version, record.origin)


def merge(current: Record | None, incoming: Record) -> Record:
    """The record both regions agree on, given what each has (commutative)."""
    if current is None or current == incoming:
        return incoming
    a, b = current, incoming
    ka, kb = order_key(a), order_key(b)
    if a.counter is not None and b.counter is not None and ka == kb:
        return join_counters(a, b)
    if ka == kb:  # a counter beats the record it was built on
        if a.counter is not None and b.counter is None:
            return a
        if b.counter is not None and a.counter is None:
            return b
        # two plain records with the same version come from one write: equal
        return max(a, b, key=_tiebreak)
    return a if ka > kb else b


def join_counters(a: Record, b: Record) -> Record:
    counter = counter_of(a).join(counter_of(b))
    latest = max(a, b, key=lambda r: (r.version, r.origin, _tiebreak(r)))
    live = a.value is not None or b.value is not None
    value = str(counter.total()).encode() if live and latest.value is not None else None
    return Record(value, latest.deadline, latest.version, latest.origin, counter.encode())


def _tiebreak(record: Record):
    return (record.value is not None, record.value or b"", record.deadline or 0)


def increment(current: Record | None, now_version: int, origin: str, delta: int,
              current_value: int, deadline: int | None) -> Record:
    """The counter record after ``INCRBY delta`` at ``origin``.

    ``current`` is the key's record (``None`` if never written); when it is
    live, ``current_value`` is its integer value.
    """
    if current is not None and current.counter is not None and current.value is not None:
        counter = counter_of(current)
    elif current is not None and current.value is not None:
        counter = Counter(current.version, current.origin, current_value, ())
    elif current is not None:  # a tombstone (deleted or expired): build on it
        counter = Counter(current.version, current.origin, 0, ())
        deadline = None
    else:
        counter = Counter(*NO_BASE, 0, ())
        deadline = None
    counter = counter.add(origin, delta)
    return Record(str(counter.total()).encode(), deadline, now_version, origin,
                  counter.encode())
