"""Names for what replicates: a key, or one field of a hash.

Everything below the keyspace -- the store's position index, the senders' queues,
the wire -- handles one kind of name, an *identity* (bytes):

- a key is itself, unless it starts with ``ESCAPE``: then ``ESCAPE + b"K"`` + key;
- a hash's field is ``ESCAPE + b"F"`` + 4-byte key length + key + field.

So no key's identity is ever a field's.  A hash itself (its type, its TTL, when it
was last cleared) is a record under the key's own identity: its *header*
(``HashMeta``).  Sans-IO.
"""

from __future__ import annotations

import hashlib
import struct

import attrs

from geolru.model.slots import key_slot

ESCAPE = b"\xff\x00"
KEY_MARK = ESCAPE + b"K"
FIELD_MARK = ESCAPE + b"F"
LENGTH = struct.Struct(">I")
NO_VERSION = (0, "")

# the store's LMDB key of a field: the key's part, then the field's
SHORT_KEY = 200  # longer keys are named by a digest in the fields table
SHORT_FIELD = 300  # longer fields (or ones starting with 0xff) likewise
LONG_MARK = b"\xff"


def key_id(key: bytes) -> bytes:
    return KEY_MARK + key if key[:2] == ESCAPE else key


def field_id(key: bytes, field: bytes) -> bytes:
    return b"".join((FIELD_MARK, LENGTH.pack(len(key)), key, field))


def parse(identity: bytes) -> tuple[bytes, bytes | None]:
    """(key, field) of an identity; field is None for a key's own."""
    if identity[:2] != ESCAPE:
        return identity, None
    if identity[:3] == KEY_MARK:
        return identity[3:], None
    if identity[:3] == FIELD_MARK and len(identity) >= 7:
        length = LENGTH.unpack_from(identity, 3)[0]
        return identity[7:7 + length], identity[7 + length:]
    return identity, None  # a key from before identities had marks


def is_field(identity: bytes) -> bool:
    return identity[:3] == FIELD_MARK


def fields_prefix(key: bytes) -> bytes:
    """Where ``key``'s fields start in the store's fields table (one prefix per key,
    and no prefix is the start of another's)."""
    if len(key) <= SHORT_KEY:
        return b"\x00" + LENGTH.pack(len(key))[2:] + key
    return b"\x01" + hashlib.blake2b(key, digest_size=16).digest()


def field_stored_key(key: bytes, field: bytes) -> bytes:
    if len(field) <= SHORT_FIELD and field[:1] != LONG_MARK:
        return fields_prefix(key) + field
    return fields_prefix(key) + LONG_MARK + hashlib.blake2b(field, digest_size=32).digest()


@attrs.frozen(slots=True)
class HashMeta:
    """What a hash's header says besides its version.

    - ``cleared``: the newest whole-key write (a ``DEL``, a ``SET``, an expiry) this
      hash came after; a field written before it is not part of the hash.
    - ``ttl``: the version of the write that set the key's deadline (``EXPIRE``,
      ``PERSIST``, or the hash's creation); the newest one decides the deadline.
      One made before ``cleared`` belongs to the key's earlier life: void.
    """

    cleared: tuple = NO_VERSION
    ttl: tuple = NO_VERSION

    def encode(self) -> str:
        return "%d %s %d %s" % (*self.cleared, *self.ttl)

    @classmethod
    def decode(cls, text: str) -> HashMeta:
        cv, co, tv, to = text.split(" ")
        return cls((int(cv), co), (int(tv), to))


def identity_slot(identity: bytes) -> int:
    """The hash slot of what ``identity`` names (a field's is its hash's key's)."""
    if identity[:2] != ESCAPE:
        return key_slot(identity)
    return key_slot(parse(identity)[0])
