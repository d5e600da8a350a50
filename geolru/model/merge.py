"""How two versions of one key become one: the rule every region applies.

Sans-IO and deterministic: any order, duplication or interleaving of the same
writes gives the same state in every region (the states form a join-semilattice).

- A plain record (a value or a tombstone) is ordered by its version
  ``(timestamp, origin)``: the greater one wins, whole (value and deadline).
- A counter record (made by ``INCR``-family commands) is a plain *base* -- the
  newest plain record its key has seen, or nothing -- and one *contribution* per
  region: ``(since, increments, decrements)``.  A contribution counts while its
  ``since`` is not older than the base's version; a newer base (a ``SET`` or
  ``DEL``) voids the contributions made before it.
  - A region's first increment on a live integer builds on it: ``since`` is the
    base's version, and the base's value counts once.
  - On nothing, a tombstone or an expired value it starts from zero, with
    ``since`` its own write's version: newer than anything its region has seen
    *or collected* (a region that forgot a tombstone builds on nothing, and a
    peer still holding the tombstone must not void that increment).
  - Two states join base by version and contributions region by region (a
    later ``since`` wins, the same one takes both totals' maximum).
  So concurrent ``INCR`` from several regions never lose an increment, and a
  ``SET`` or ``DEL`` newer than the increments it saw replaces them.
- Deadlines: a counter's base and the contributions built on it expire together
  (``INCR`` keeps the key's TTL); a contribution started on nothing or on an
  expired value has none.  What a client sees is what is alive (``visible``), and
  a dead record's tombstone carries its base's version (``expired``): the same in
  every region, whatever parts each had, so expiry never makes regions differ.
- A hash's header (``Record.hash_meta``) and its fields: each field is a record of
  its own, merged as above (so concurrent writes of different fields both stay, the
  same field's last writer wins, ``HINCRBY`` is a counter).  Against the key's other
  records a header is a plain write at its version (the newest write to the hash):
  the newer one decides the key's type.  Two headers join: the newest version, the
  newest ``cleared`` and the newest ``ttl``.  A header that wins over a plain record
  or a counter takes that record's base as ``cleared``: its fields written before
  it are gone (``clear_point``, ``field_visible``).
"""

from __future__ import annotations

import attrs

from geolru.model import hlc
from geolru.model.hashkeys import NO_VERSION, HashMeta
from geolru.model.record import Record

NO_BASE = (0, "")  # the base of a key nobody ever wrote (or whose tombstone was collected)
# the origin of a hash's expiry (``expiry_tombstone``): no region's name, since every
# region that holds the hash makes the same one
EXPIRY_ORIGIN = ""


@attrs.frozen(slots=True)
class Counter:
    base_version: int
    base_origin: str
    base_value: int | None  # the base's integer value; None: a tombstone or not a number
    base_deadline: int | None
    # ((origin, since, increments, decrements, last version, deadline), ...) by origin:
    # ``since`` is a version ``(timestamp, origin)``: the base's, or the region's own
    # first increment's; ``last version`` is its latest increment's; ``deadline`` the
    # base's for a contribution built on the base, None for one started on nothing
    counts: tuple

    @property
    def base(self) -> tuple[int, str]:
        return (self.base_version, self.base_origin)

    def total(self, now_ms: int | None = None) -> int:
        """The value: the base's (when some region built on it) and every contribution;
        at ``now_ms``, only the parts alive then."""
        counts = self.counts if now_ms is None else [
            c for c in self.counts if _alive(c[5], now_ms)]
        counted = (self.base_value is not None
                   and (now_ms is None or _alive(self.base_deadline, now_ms))
                   and any(c[1] == self.base for c in counts))
        return (self.base_value if counted else 0) + sum(c[2] - c[3] for c in counts)

    def encode(self) -> str:
        parts = [str(self.base_version), self.base_origin, _text(self.base_value),
                 _text(self.base_deadline)]
        for origin, (since, since_origin), p, n, last, deadline in self.counts:
            parts += [origin, str(since), since_origin, str(p), str(n), str(last),
                      _text(deadline)]
        return " ".join(parts)

    @classmethod
    def decode(cls, text: str) -> Counter:
        parts = text.split(" ")
        rest = parts[4:]
        counts = tuple((rest[i], (int(rest[i + 1]), rest[i + 2]), int(rest[i + 3]),
                        int(rest[i + 4]), int(rest[i + 5]), _number(rest[i + 6]))
                       for i in range(0, len(rest), 7))
        return cls(int(parts[0]), parts[1], _number(parts[2]), _number(parts[3]), counts)


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


def _as_counter(record: Record) -> Counter:
    """A record's base and contributions (a plain record is a base with none)."""
    if record.counter is not None:
        return counter_of(record)
    return Counter(record.version, record.origin, _integer(record.value), record.deadline,
                   ())


def _later(x, y):
    """Of two optional numbers, the larger (a deterministic choice for equal writes)."""
    return y if x is None else x if y is None else max(x, y)


def merge(current: Record | None, incoming: Record) -> Record:
    """The record both regions agree on, given what each has (commutative)."""
    if current is None or current == incoming:
        return incoming
    a, b = current, incoming
    if a.hash_meta is not None or b.hash_meta is not None:
        return _merge_header(a, b)
    if a.counter is None and b.counter is None:
        if (a.version, a.origin) == (b.version, b.origin):
            # two plain records with the same version come from one write: equal
            return max(a, b, key=_tiebreak)
        return a if (a.version, a.origin) > (b.version, b.origin) else b
    ca, cb = _as_counter(a), _as_counter(b)
    plain = None  # the plain record that holds the newer base, if one does
    if ca.base == cb.base:
        # one write; a region that expired it holds it as a tombstone: the live
        # copy wins, as between plain records
        base = (ca.base_version, ca.base_origin, _later(ca.base_value, cb.base_value),
                _later(ca.base_deadline, cb.base_deadline))
        if a.counter is None and b.counter is None:
            plain = max(a, b, key=_tiebreak)
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
            counts[origin] = (since, max(p, mine[1]), max(n, mine[2]), max(last, mine[3]),
                              _later(deadline, mine[4]))
    if not counts:  # every increment older than the other side's base
        return plain if plain is not None else Record(None, None, base[0], base[1])
    return _record(Counter(*base, tuple((o, *rest) for o, rest in sorted(counts.items()))))


def _record(counter: Counter) -> Record:
    """A counter as a record: its newest write's version, the value of all its parts,
    and the deadline of its last part to expire (``visible`` says what is alive)."""
    version, origin = max((counter.base_version, counter.base_origin),
                          *((c[4], c[0]) for c in counter.counts))
    deadlines = [c[5] for c in counter.counts]
    deadline = None if None in deadlines else max(deadlines)
    return Record(str(counter.total()).encode(), deadline, version, origin, counter.encode())


def _tiebreak(record: Record):
    return (record.value is not None, record.value or b"", record.deadline or 0,
            record.counter or "")


def _alive(deadline: int | None, now_ms: int) -> bool:
    return deadline is None or deadline > now_ms


def visible(record: Record | None, now_ms: int) -> tuple[bytes, int | None] | None:
    """What a client sees of ``record`` at ``now_ms``: (value, deadline), or None.

    A counter's parts expire on their own: its base and the increments built on it
    with the base's deadline, increments started on nothing never.  The deadline
    returned for a counter is when its value next changes."""
    if record is None or not record.live_at(now_ms):
        return None
    if record.counter is None:
        return record.value, record.deadline
    counter = counter_of(record)
    alive = [c for c in counter.counts if _alive(c[5], now_ms)]
    if not alive:
        return None
    deadlines = [c[5] for c in alive if c[5] is not None]
    return str(counter.total(now_ms)).encode(), min(deadlines) if deadlines else None


def expired(record: Record) -> Record:
    """The tombstone a region keeps once ``record`` is dead: under the version of the
    write it came from -- a counter's base -- so every region, whatever parts it
    had, keeps the same one, and merging it changes nothing."""
    if record.counter is None:
        return Record(None, None, record.version, record.origin)
    counter = counter_of(record)
    return Record(None, None, counter.base_version, counter.base_origin)


def increment(current: Record | None, now_version: int, now_ms: int, origin: str,
              delta: int) -> Record:
    """The counter record after ``INCRBY delta`` at ``origin``, on ``current``, the
    key's record as stored (``None`` if it holds nothing)."""
    counter = Counter(*NO_BASE, None, None, ()) if current is None else _as_counter(current)
    base_alive = counter.base_value is not None and _alive(counter.base_deadline, now_ms)
    counts = {o: rest for o, *rest in counter.counts}
    since, p, n, _, deadline = counts.get(origin, (None, 0, 0, 0, None))
    if since is None or since < counter.base or not _alive(deadline, now_ms):
        # a first contribution: on a live integer it counts from that value (since
        # its version) and expires with it; on nothing, a tombstone or an expired
        # value it counts from zero, since this very write, and never expires
        if base_alive:
            since, deadline = counter.base, counter.base_deadline
        else:
            since, deadline = (now_version, origin), None
        p = n = 0
    p, n = (p + delta, n) if delta >= 0 else (p, n - delta)
    counts[origin] = (since, p, n, now_version, deadline)
    return _record(attrs.evolve(counter, counts=tuple(
        (o, *rest) for o, rest in sorted(counts.items()))))


# ---------------------------------------------------------------- hashes

def clear_point(record: Record | None) -> tuple:
    """The newest whole-key write ``record`` holds: a hash's fields written before it
    are not part of the key.  A header's ``cleared``; a plain record's own version;
    a counter's newest start: its base, or a contribution started on nothing (an
    increment is not a whole-key write; the first one on nothing is)."""
    if record is None:
        return NO_VERSION
    if record.hash_meta is not None:
        return record.hash_meta.cleared
    if record.counter is not None:
        counter = counter_of(record)
        return max([counter.base, *(since for _, since, *_ in counter.counts)])
    return (record.version, record.origin)


def _merge_header(a: Record, b: Record) -> Record:
    if a.hash_meta is not None and b.hash_meta is not None:
        newest = max(a, b, key=_version)
        ttl_holder = max(a, b, key=lambda r: r.hash_meta.ttl)
        meta = HashMeta(max(a.hash_meta.cleared, b.hash_meta.cleared),
                        ttl_holder.hash_meta.ttl)
        deadline = ttl_holder.deadline if a.hash_meta.ttl != b.hash_meta.ttl \
            else _later(a.deadline, b.deadline)
        live = a.value is not None or b.value is not None
        return header(newest.version, newest.origin, meta, deadline, live)
    hashed, other = (a, b) if a.hash_meta is not None else (b, a)
    # the header as a plain write of a value that is no number, in the counter merge:
    # whatever of ``other`` is newer than the hash survives it
    stand_in = Record(b"", None, hashed.version, hashed.origin)
    merged = merge(other, stand_in)
    if merged != stand_in:
        return merged  # the key is not a hash
    meta = hashed.hash_meta
    return header(hashed.version, hashed.origin,
                  HashMeta(max(meta.cleared, clear_point(other)), meta.ttl),
                  hashed.deadline, hashed.value is not None)


def header(version: int, origin: str, meta: HashMeta, deadline: int | None,
           live: bool = True) -> Record:
    """A hash's header; a deadline set before the hash's last clear is void."""
    if meta.ttl <= meta.cleared:
        meta, deadline = HashMeta(meta.cleared, NO_VERSION), None
    return Record(b"" if live else None, deadline, version, origin, hash_meta=meta)


def _version(record: Record) -> tuple:
    return (record.version, record.origin)


def field_visible(record: Record | None, cleared: tuple) -> bytes | None:
    """A field's value, given its hash's ``cleared``; None if it has none."""
    if record is None or record.value is None:
        return None
    if (record.version, record.origin) <= cleared:
        return None
    if record.counter is None:
        return record.value
    seen = visible(merge(record, Record(None, None, *cleared)), 0)
    return None if seen is None else seen[0]


def expiry_tombstone(record: Record) -> Record:
    """What a hash becomes when its deadline passes: a delete, the same in every
    region that held the same header, at its deadline (or just after the header's
    newest write, if that came later) -- newer than every field written before."""
    version = max(hlc.pack(record.deadline), record.version + 1)
    return Record(None, None, version, EXPIRY_ORIGIN)
