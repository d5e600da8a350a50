"""Names for what replicates: a key, or one field of a hash.

Everything below the keyspace -- the store's position index, the senders' queues,
the wire -- handles one kind of name, an *identity* (bytes):

- a key is itself, unless it starts with ``ESCAPE``: then ``ESCAPE + b"K"`` + key;
- a hash's field is ``ESCAPE + b"F"`` + 4-byte key length + key + field;
- a set's member is ``ESCAPE + b"S"`` + 4-byte key length + key + member;
- a sorted set's member is the same with ``b"Z"``;
- a list's element likewise with ``b"L"``, its name its position
  (``geolru.model.listpos``).

So no key's identity is ever an element's (a field's or a member's), and a hash's
field ``a`` and a set's member ``a`` of the same key are two records.  A collection
itself (its kind, its TTL, when it was last cleared) is a record under the key's own
identity: its *header* (``HashMeta``).  Sans-IO.
"""

from __future__ import annotations

import hashlib
import struct

import attrs

from geolru.model.slots import key_slot

ESCAPE = b"\xff\x00"
KEY_MARK = ESCAPE + b"K"
FIELD_MARK = ESCAPE + b"F"
MEMBER_MARK = ESCAPE + b"S"
ZMEMBER_MARK = ESCAPE + b"Z"
LIST_MARK = ESCAPE + b"L"
ELEMENT_MARKS = (FIELD_MARK, MEMBER_MARK, ZMEMBER_MARK, LIST_MARK)
HASH, SET, ZSET, LIST = "hash", "set", "zset", "list"  # the kinds a header may say
_PREFIX_BYTE = {FIELD_MARK: 0, MEMBER_MARK: 2, ZMEMBER_MARK: 4, LIST_MARK: 6}
ELEMENT_MARK = {HASH: FIELD_MARK, SET: MEMBER_MARK, ZSET: ZMEMBER_MARK,
                LIST: LIST_MARK}  # kind -> mark
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


def member_id(key: bytes, member: bytes, mark: bytes = MEMBER_MARK) -> bytes:
    """A set's member's identity (with ``ZMEMBER_MARK``, a sorted set's)."""
    return b"".join((mark, LENGTH.pack(len(key)), key, member))


def parse(identity: bytes) -> tuple[bytes, bytes | None]:
    """(key, element) of an identity (a field or a member); element is None for a
    key's own."""
    if identity[:2] != ESCAPE:
        return identity, None
    if identity[:3] == KEY_MARK:
        return identity[3:], None
    if identity[:3] in ELEMENT_MARKS and len(identity) >= 7:
        length = LENGTH.unpack_from(identity, 3)[0]
        return identity[7:7 + length], identity[7 + length:]
    return identity, None  # a key from before identities had marks


def is_field(identity: bytes) -> bool:
    """Whether ``identity`` is an element's (a hash's field or a set's member): what
    the store keeps in its fields table."""
    return identity[:3] in ELEMENT_MARKS


def is_member(identity: bytes) -> bool:
    return identity[:3] == MEMBER_MARK


def is_zmember(identity: bytes) -> bool:
    return identity[:3] == ZMEMBER_MARK


def is_list_element(identity: bytes) -> bool:
    return identity[:3] == LIST_MARK


def fields_prefix(key: bytes, mark: bytes = FIELD_MARK) -> bytes:
    """Where ``key``'s fields (or with ``MEMBER_MARK``, its members) start in the
    store's fields table (one prefix per key and kind, and no prefix is the start of
    another's)."""
    first = _PREFIX_BYTE[mark]
    if len(key) <= SHORT_KEY:
        return bytes((first,)) + LENGTH.pack(len(key))[2:] + key
    return bytes((first + 1,)) + hashlib.blake2b(key, digest_size=16).digest()


def marks_in(first_bytes) -> tuple:
    """The element marks whose elements a fields table holds, given the first bytes
    its keys start with (``fields_prefix``: two per mark, short keys' and long's)."""
    return tuple(mark for mark, first in _PREFIX_BYTE.items()
                 if first in first_bytes or first + 1 in first_bytes)


def field_stored_key(key: bytes, field: bytes, mark: bytes = FIELD_MARK) -> bytes:
    prefix = fields_prefix(key, mark)
    if len(field) <= SHORT_FIELD and field[:1] != LONG_MARK:
        return prefix + field
    return prefix + LONG_MARK + hashlib.blake2b(field, digest_size=32).digest()


def element_stored_key(identity: bytes) -> bytes:
    """The fields table's key of an element's identity."""
    return field_stored_key(*parse(identity), identity[:3])


@attrs.frozen(slots=True)
class HashMeta:
    """What a hash's header says besides its version.

    - ``cleared``: the newest whole-key write (a ``DEL``, a ``SET``, an expiry) this
      hash came after; a field written before it is not part of the hash.
    - ``ttl``: the version of the write that set the key's deadline (``EXPIRE``,
      ``PERSIST``, or the hash's creation); the newest one decides the deadline.
      One made before ``cleared`` belongs to the key's earlier life: void.
    - ``kind``: a hash, a set, a sorted set or a list; the newest header decides it
      (two regions that make the key at once, one a hash and one a set), and
      replaces the other as a ``SET`` would: the other's version is a clear point too
      (``headers.merge_headers``).
    """

    cleared: tuple = NO_VERSION
    ttl: tuple = NO_VERSION
    kind: str = HASH  # the collection's kind (``HASH``, ``SET``, …): the newest header's

    def encode(self) -> str:
        if self.kind == HASH:  # (as before kinds: a hash's header reads the same)
            return "%d %s %d %s" % (*self.cleared, *self.ttl)
        return "%d %s %d %s %s" % (*self.cleared, *self.ttl, self.kind)

    @classmethod
    def decode(cls, text: str) -> HashMeta:
        cv, co, tv, to, *kind = text.split(" ")
        return cls((int(cv), co), (int(tv), to), kind[0] if kind else HASH)


def identity_slot(identity: bytes) -> int:
    """The hash slot of what ``identity`` names (a field's is its hash's key's)."""
    if identity[:2] != ESCAPE:
        return key_slot(identity)
    return key_slot(parse(identity)[0])
