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

import attrs

from geolru.model.hashkeys import HashMeta

# position, version, deadline, flags, origin length, counter length
HEADER = struct.Struct(">QQqBHI")
HAS_VALUE, HAS_DEADLINE, HAS_COUNTER, HAS_HASH = 1, 2, 4, 8


@attrs.frozen(slots=True)
class Record:
    """One key's whole state: what replicates and what last-writer-wins compares."""

    value: bytes | None  # None: deleted (tombstone)
    deadline: int | None  # unix ms
    version: int
    origin: str
    counter: str | None = None  # a PN-counter's state, see geolru.model.merge
    # a hash's header (geolru.model.hashkeys); its value is b"" while the hash has fields
    # here, None (a tombstone, collected like one) once it has none
    hash_meta: HashMeta | None = None

    def live_at(self, now_ms: int) -> bool:
        return self.value is not None and (self.deadline is None or self.deadline > now_ms)


def encode(record: Record, seq: int) -> bytes:
    """``record`` at store position ``seq``, as bytes."""
    origin = record.origin.encode()
    if record.hash_meta is not None:  # (a header never has a counter: it takes its place)
        counter, kind = record.hash_meta.encode().encode(), HAS_HASH
    elif record.counter is not None:
        counter, kind = record.counter.encode(), HAS_COUNTER
    else:
        counter, kind = b"", 0
    flags = ((HAS_VALUE if record.value is not None else 0)
             | (HAS_DEADLINE if record.deadline is not None else 0) | kind)
    header = HEADER.pack(seq, record.version, record.deadline or 0, flags, len(origin),
                         len(counter))
    return b"".join((header, origin, counter, record.value or b""))


def decode(raw: bytes) -> tuple[int, Record]:
    """(position, record) of ``encode``'s bytes; ``ValueError`` if they are not that."""
    try:
        seq, version, deadline, flags, origin_len, counter_len = HEADER.unpack_from(raw)
    except struct.error as e:
        raise ValueError(f"record header: {e}") from None
    start = HEADER.size
    if start + origin_len + counter_len > len(raw):
        raise ValueError("record shorter than its header says")
    origin = raw[start:start + origin_len].decode()
    start += origin_len
    counter = raw[start:start + counter_len].decode() if flags & HAS_COUNTER else None
    meta = HashMeta.decode(raw[start:start + counter_len].decode()) \
        if flags & HAS_HASH else None
    start += counter_len
    return seq, Record(raw[start:] if flags & HAS_VALUE else None,
                       deadline if flags & HAS_DEADLINE else None, version, origin, counter,
                       meta)


def header_fields(raw: bytes) -> tuple[int, int, int, int]:
    """(position, version, deadline, flags) of encoded bytes, without decoding them."""
    return HEADER.unpack_from(raw)[:4]
