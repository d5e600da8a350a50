"""How the store lays its records out in LMDB, and the format version of that layout.

What the store keeps is named by *identities* (``geolru.model.hashkeys``): a key's,
or one hash field's.  Tables (LMDB named databases, opened by ``Tables``):

- ``kv``:          stored key -> record (``encode``): strings, counters, hash headers
- ``fields``:      stored element -> record: one row per field of a hash (or member
                   of a set), under the key's prefix for that kind, so an element is
                   read or written alone and a collection's elements are one range
                   (``geolru.store.fields``)
- ``seq``:         position (8 bytes, big-endian) -> identity, one per identity: its
                   last write
- ``tombs``:       position -> identity, for the keys whose record is a tombstone
- ``field_tombs``: the same for fields (so ``tombs`` counts keys)
- ``due``:         deadline (8 bytes, biased) + stored key -> identity, for live keys
                   that expire
- ``meta``:        name -> value (text): the store's identity, positions, format
                   version, replication positions

A key longer than ``LONG_KEY`` bytes (LMDB keys are 1 to 511 bytes), or empty,
is stored under a 32-byte BLAKE2b digest of it, behind a prefix no other key uses;
a long field likewise (``hashkeys.field_stored_key``).

``FORMAT`` numbers this layout.  A change to it that an older geolru would misread
takes the next number, and ``Store.open`` learns to upgrade a folder of the
formats before it; a folder of a format newer than ``FORMAT`` is refused.
"""

from __future__ import annotations

import hashlib
import struct

from geolru.model import hashkeys
from geolru.model.hashkeys import element_stored_key

LONG_KEY = 400  # longer keys are stored under a digest
DIGEST_PREFIX = b"\xff\x00#"  # a digest's stored key starts with this; no short key does
POSITION = struct.Struct(">Q")
DEADLINE_BIAS = 1 << 63  # deadlines are signed; index keys sort as unsigned

# the store format this geolru writes (and the newest it reads); a folder written
# before formats were numbered has no FORMAT_NAME in ``meta`` and format 1's layout.
# Format 2 adds sets (a header's kind, member records under their own prefix in
# ``fields``), which a release of format 1 would misread; a folder of format 1 is
# one of format 2 without sets, so it only gains the number.  Format 3 adds sorted
# sets likewise (a header of kind "zset", member records under a prefix of their own),
# format 4 lists (a header of kind "list", element records under a prefix of their own),
# format 5 a member's removers (``geolru.model.orset``: words a release of format 4
# cannot parse), format 6 a list's runs (``geolru.model.listpos``: a record named by a
# stem, holding the values of one push, which a release of format 5 cannot parse),
# format 7 runs that later pushes grew (a version per element, and a run's tombstone
# that counts the elements it removes), which a release of format 6 would misread;
# format 8 stale rows in ``seq`` (a moved record's old position, swept later:
# ``geolru.store.stale``), which a release of format 7 would read as current (a key
# twice in SCAN, a tombstone twice from FLUSHALL, a catch-up read's end too far on).
FORMAT = 8
FORMAT_NAME = b"store_format"  # meta: the format of the folder


def stored_key(key: bytes) -> bytes:
    """The LMDB key of ``key``: itself, or a digest when LMDB cannot take it
    (longer than 511 bytes, or empty)."""
    if 0 < len(key) <= LONG_KEY and not key.startswith(DIGEST_PREFIX):
        return key
    return DIGEST_PREFIX + hashlib.blake2b(key, digest_size=32).digest()


def place(tables, identity: bytes) -> tuple:
    """Where an identity's record is: (LMDB key, its table, its tombstones' table)."""
    if identity[:3] in hashkeys.ELEMENT_MARKS:
        return element_stored_key(identity), tables.fields, tables.field_tombs
    return stored_key(identity), tables.kv, tables.tombs


def due_key(deadline: int, stored: bytes) -> bytes:
    """The ``due`` table's key of a record stored under ``stored``."""
    return POSITION.pack(deadline + DEADLINE_BIAS) + stored
