"""A key's record: what the store keeps, what replicates, what the merge compares.

One binary codec serves both the store (LMDB values) and the peer wire format
(batch frames carry records in the same encoding).  A catch-up decodes what it
reads from the store (the sender decides record by record what the peer needs) and
encodes it again into the frame.

Layout: a fixed header ``(position, version, deadline, flags, origin length,
counter length)``, then the origin, the counter state (or a hash header's
``HashMeta``) and the value.  Sans-IO.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from geolru.model.hashkeys import HashMeta
from geolru.model.orset import Member
from geolru.model.zmember import ZMember

# position, version, deadline, flags, origin length, counter length
HEADER = struct.Struct(">QQqBHI")
HAS_VALUE, HAS_DEADLINE, HAS_COUNTER, HAS_HASH, HAS_MEMBER, HAS_ZMEMBER = 1, 2, 4, 8, 16, 32
NOT_PLAIN = HAS_COUNTER | HAS_HASH | HAS_MEMBER | HAS_ZMEMBER  # any of them: not a plain record


class Record(NamedTuple):
    """One key's whole state: what replicates and what last-writer-wins compares.

    A ``NamedTuple``, not an attrs class like the rest of geolru's data: every write,
    every store read and every record a peer sends makes one, and a tuple is made in
    half the time of a frozen attrs instance (0.24 µs against 0.51 here).  Nothing
    orders records: compare them with ``==`` only.
    """

    value: bytes | None  # None: deleted (tombstone)
    deadline: int | None  # unix ms
    version: int
    origin: str
    counter: str | None = None  # a PN-counter's state, see geolru.model.merge
    # a collection's header (geolru.model.hashkeys): its value is b"" while it has an
    # element here, None (a tombstone, collected like one) once it has none; or a set
    # member's adds and removes (``geolru.model.orset.Member``, under a member's
    # identity only): its value is b"" while some add stands, None once none does
    # (or, under a sorted set member's identity, its ``geolru.model.zmember.ZMember``)
    hash_meta: HashMeta | Member | ZMember | None = None

    def live_at(self, now_ms: int) -> bool:
        return self.value is not None and (self.deadline is None or self.deadline > now_ms)


_ORIGINS: dict[str, bytes] = {}  # origin -> its bytes: a few region names, encoded once


def encode(record: Record, seq: int) -> bytes:
    """``record`` at store position ``seq``, as bytes."""
    value, deadline, version, origin, counter, meta = record
    raw_origin = _ORIGINS.get(origin)
    if raw_origin is None:
        raw_origin = origin.encode()
        if len(_ORIGINS) < 4096:
            _ORIGINS[origin] = raw_origin
    if counter is None and meta is None:  # a plain string or tombstone: most writes
        if value is None:
            return HEADER.pack(seq, version, deadline or 0,
                               0 if deadline is None else HAS_DEADLINE,
                               len(raw_origin), 0) + raw_origin
        return b"".join((HEADER.pack(seq, version, deadline or 0,
                                     HAS_VALUE if deadline is None
                                     else HAS_VALUE | HAS_DEADLINE,
                                     len(raw_origin), 0), raw_origin, value))
    if meta is not None:  # (a header never has a counter: it takes its place)
        state = meta.encode().encode()
        kind = HAS_MEMBER if type(meta) is Member else HAS_ZMEMBER \
            if type(meta) is ZMember else HAS_HASH
    else:
        state, kind = counter.encode(), HAS_COUNTER
    flags = ((HAS_VALUE if value is not None else 0)
             | (HAS_DEADLINE if deadline is not None else 0) | kind)
    header = HEADER.pack(seq, version, deadline or 0, flags, len(raw_origin), len(state))
    return b"".join((header, raw_origin, state, value or b""))


_NAMES: dict[bytes, str] = {}  # an origin's bytes -> the name: decoded once


def decode(raw: bytes) -> tuple[int, Record]:
    """(position, record) of ``encode``'s bytes; ``ValueError`` if they are not that."""
    try:
        seq, version, deadline, flags, origin_len, counter_len = HEADER.unpack_from(raw)
    except struct.error as e:
        raise ValueError(f"record header: {e}") from None
    start = HEADER.size
    if start + origin_len + counter_len > len(raw):
        raise ValueError("record shorter than its header says")
    end = start + origin_len
    origin = _NAMES.get(raw[start:end])
    if origin is None:
        origin = raw[start:end].decode()
        if len(_NAMES) < 4096:
            _NAMES[raw[start:end]] = origin
    start = end
    if not flags & NOT_PLAIN:  # a plain one
        # (past any counter bytes, as below: a record that has them without a flag
        # that reads them is no record encode writes, but decodes as before)
        return seq, Record(raw[start + counter_len:] if flags & HAS_VALUE else None,
                           deadline if flags & HAS_DEADLINE else None, version, origin)
    counter = raw[start:start + counter_len].decode() if flags & HAS_COUNTER else None
    meta = HashMeta.decode(raw[start:start + counter_len].decode()) \
        if flags & HAS_HASH else Member.decode(raw[start:start + counter_len].decode()) \
        if flags & HAS_MEMBER else ZMember.decode(raw[start:start + counter_len].decode()) \
        if flags & HAS_ZMEMBER else None
    start += counter_len
    return seq, Record(raw[start:] if flags & HAS_VALUE else None,
                       deadline if flags & HAS_DEADLINE else None, version, origin, counter,
                       meta)


def header_fields(raw: bytes) -> tuple[int, int, int, int]:
    """(position, version, deadline, flags) of encoded bytes, without decoding them."""
    return HEADER.unpack_from(raw)[:4]
