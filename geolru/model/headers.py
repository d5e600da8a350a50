"""A hash's header: its type, deadline and clear point, and how two headers join.

Each field of a hash is a record of its own (merged as any record); the header,
under the key, says when the hash was last cleared (``cleared``: its fields written
before are gone) and which write set its deadline (``ttl``).  ``geolru.model.merge``
states the whole rule.  Sans-IO and deterministic.
"""

from __future__ import annotations

from geolru.model import hlc
from geolru.model.counters import counter_of, later
from geolru.model.hashkeys import NO_VERSION, HashMeta
from geolru.model.record import Record

# the origin of a hash's expiry (``expiry_tombstone``): no region's name, since every
# region that holds the hash makes the same one
EXPIRY_ORIGIN = ""


def clear_point(record: Record | None, kind: str | None = None) -> tuple:
    """The newest whole-key write ``record`` holds: a hash's fields written before it
    are not part of the key.  A header's ``cleared``; a plain record's own version;
    a counter's newest start: its base, or a contribution started on nothing (an
    increment is not a whole-key write; the first one on nothing is).  With ``kind``,
    for a collection of that kind to be made on ``record``: a header of another kind
    is replaced whole, at its own version (``merge_headers``)."""
    if record is None:
        return NO_VERSION
    if record.hash_meta is not None:
        if kind is not None and record.hash_meta.kind != kind:
            return max(record.hash_meta.cleared, _version(record))
        return record.hash_meta.cleared
    if record.counter is not None:
        counter = counter_of(record)
        return max([counter.base, *(since for _, since, *_ in counter.counts)])
    return (record.version, record.origin)


def merge_headers(a: Record, b: Record) -> Record:
    """The join of two headers: the newest version (and its kind), the newest
    ``cleared``, the newest ``ttl`` (with its deadline), and an element here if either
    had one.

    Two headers of different kinds (a hash and a set, made at once in two regions):
    the newer replaces the older as a ``SET`` would, so the older's version is a
    clear point too, and every element of the older kind written up to it is gone
    (else a key made again with the older kind, after the newer emptied, would show
    them again; and each region would drop them only when it collects a tombstone)."""
    newest = max(a, b, key=_version)
    ttl_holder = max(a, b, key=lambda r: r.hash_meta.ttl)
    cleared = max(a.hash_meta.cleared, b.hash_meta.cleared)
    if a.hash_meta.kind != b.hash_meta.kind:
        older = b if newest is a else a
        cleared = max(cleared, _version(older))
        live = newest.value is not None
    else:
        live = a.value is not None or b.value is not None
    meta = HashMeta(cleared, ttl_holder.hash_meta.ttl, newest.hash_meta.kind)
    deadline = ttl_holder.deadline if a.hash_meta.ttl != b.hash_meta.ttl \
        else later(a.deadline, b.deadline)
    return header(newest.version, newest.origin, meta, deadline, live)


def header(version: int, origin: str, meta: HashMeta, deadline: int | None,
           live: bool = True) -> Record:
    """A hash's header; a deadline set before the hash's last clear is void."""
    if meta.ttl <= meta.cleared:
        meta, deadline = HashMeta(meta.cleared, NO_VERSION, meta.kind), None
    return Record(b"" if live else None, deadline, version, origin, hash_meta=meta)


def _version(record: Record) -> tuple:
    return (record.version, record.origin)


def expiry_tombstone(record: Record) -> Record:
    """What a hash becomes when its deadline passes: a delete, the same in every
    region that held the same header, at its deadline (or just after the header's
    newest write, if that came later) -- newer than every field written before."""
    version = max(hlc.pack(record.deadline), record.version + 1)
    return Record(None, None, version, EXPIRY_ORIGIN)
