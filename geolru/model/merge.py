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
  a dead record's tombstone carries its base's version (``tombstone_when_expired``):
  the same in every region, whatever parts each had, so expiry never makes regions
  differ.
- A HyperLogLog (``PFADD``, ``PFMERGE``) is a counter whose contributions hold
  registers: a region's first ``PFADD`` on a live HyperLogLog string builds on it
  (its registers, since its version, expiring with it), on anything else starts
  from none since its own write; a region's later ones raise its registers.  The
  value is the register-wise maximum of the contributions: concurrent ``PFADD``s
  in several regions all count, a ``SET`` or ``DEL`` newer than them replaces them.
  A record holding contributions of both kinds (concurrent first ``INCR`` and
  ``PFADD`` on a missing key) reads as the kind of its newest contribution.
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

from geolru.model.counters import counter_of, merge_counters, tiebreak, value_of
from geolru.model.hashkeys import HashMeta
from geolru.model.headers import clear_point, header, merge_headers
from geolru.model.record import Record


def merge(current: Record | None, incoming: Record) -> Record:
    """The record both regions agree on, given what each has (commutative)."""
    if current is None or current == incoming:
        return incoming
    a, b = current, incoming
    if a.hash_meta is not None or b.hash_meta is not None:
        return _merge_with_header(a, b)
    if a.counter is None and b.counter is None:
        if (a.version, a.origin) == (b.version, b.origin):
            # two plain records with the same version come from one write: equal
            return max(a, b, key=tiebreak)
        return a if (a.version, a.origin) > (b.version, b.origin) else b
    return merge_counters(a, b)


def _merge_with_header(a: Record, b: Record) -> Record:
    if a.hash_meta is not None and b.hash_meta is not None:
        return merge_headers(a, b)
    hashed, other = (a, b) if a.hash_meta is not None else (b, a)
    # the header as a plain write of a value that is no number, in the counter merge:
    # whatever of ``other`` is newer than the hash survives it
    stand_in = Record(b"", None, hashed.version, hashed.origin)
    merged = merge(other, stand_in)
    if merged != stand_in:
        return merged  # the key is not a hash
    meta = hashed.hash_meta
    return header(hashed.version, hashed.origin,
                  HashMeta(max(meta.cleared, clear_point(other)), meta.ttl, meta.kind),
                  hashed.deadline, hashed.value is not None)


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
    parts = counter.parts(now_ms)
    if not parts:
        return None
    deadlines = [c[5] for c in parts if c[5] is not None]
    # with every part alive the value is the record's own (``counter_record`` made it
    # from all of them): a HyperLogLog's is not rendered again
    alive = len(parts) == len(counter.counts)
    value = record.value if alive else value_of(counter, now_ms)
    return value, min(deadlines) if deadlines else None


def tombstone_when_expired(record: Record) -> Record:
    """The tombstone a region keeps once ``record`` is dead: under the version of the
    write it came from -- a counter's base -- so every region, whatever parts it
    had, keeps the same one, and merging it changes nothing."""
    if record.counter is None:
        return Record(None, None, record.version, record.origin)
    counter = counter_of(record)
    return Record(None, None, counter.base_version, counter.base_origin)


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
