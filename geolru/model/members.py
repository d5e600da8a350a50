"""A set's (or sorted set's) member as a record: its observed-remove state (``geolru.model.orset``)
under the member's identity (``geolru.model.hashkeys.member_id``).

The record's value is ``b""`` while some add of the member stands (a remove has not
seen it) and None once none does: then it is a tombstone, stored, streamed and
collected like a field's.  Its version is the newest add or remove it holds, which
orders it against its set's clear point as a field's version does.  Two records of
one member join (``join``): every order of the same adds and removes gives the same
record.  Sans-IO and deterministic.
"""

from __future__ import annotations

from geolru.model.orset import NONE, Member
from geolru.model.record import Record
from geolru.model.zmember import ZMember


def member_record(member: Member | ZMember) -> Record:
    """A set's member's record (or a sorted set's, from its ``ZMember``)."""
    return Record(b"" if member.present() else None, None, *member.version, hash_meta=member)


def state(record: Record | None) -> Member:
    """The member's adds and removes held by ``record`` (none: no record)."""
    return Member() if record is None else record.hash_meta


def zstate(record: Record | None) -> ZMember:
    """A sorted set's member's state held by ``record`` (none: no record)."""
    return ZMember() if record is None else record.hash_meta


def join(current: Record | None, incoming: Record) -> Record:
    """The record both regions agree on, given what each has (commutative): of a
    set's member or a sorted set's."""
    if current is None or current == incoming:
        return incoming
    return member_record(current.hash_meta.join(incoming.hash_meta))


def since(record: Record, cleared: tuple) -> Record | None:
    """``record`` without the writes made before its collection's clear at
    ``cleared`` (None: it holds none after it).  A region that kept them would show
    them once the clear is forgotten: an emptied set's header is a tombstone,
    collected in time, and a set made again there starts from no clear (wide seed
    3001202643: an old add came back inside another region's newer remove).  Every
    write of a member here goes through it (a peer's, applied; a command's), and a
    clear takes them out of the records it finds (``FieldIndex.drop``)."""
    if cleared == NONE:
        return record
    state = record.hash_meta.since(cleared)
    if state.version == NONE:
        return None
    return record if state == record.hash_meta else member_record(state)


def added(current: Record | None, version: int, origin: str) -> Record:
    """``SADD`` in region ``origin`` at ``version``."""
    return member_record(state(current).add((version, origin)))


def removed(current: Record, version: tuple) -> Record:
    """``SREM`` (or ``ZREM``) made at ``version``: of every write ``current`` holds."""
    return member_record(current.hash_meta.remove(version))


def present(record: Record | None, cleared: tuple = NONE) -> bool:
    """Whether the member is in its set, whose last clear was ``cleared``."""
    return record is not None and record.value is not None and record.hash_meta.present(
        cleared)


def zscore(record: Record | None, cleared: tuple = NONE) -> float | None:
    """The member's score in its sorted set, last cleared at ``cleared`` (None: it is
    not in it)."""
    if record is None or record.value is None:
        return None
    return record.hash_meta.score(cleared)


def cached_value(record: Record | None, cleared: tuple = NONE) -> bytes | None:
    """What a cached collection holds of the member (None: it is not in it): ``b""``
    for a set's, its score (``repr``) for a sorted set's."""
    if record is None or type(record.hash_meta) is not ZMember:
        return b"" if present(record, cleared) else None
    return score_bytes(zscore(record, cleared))


def score_bytes(score: float | None) -> bytes | None:
    return None if score is None else repr(score).encode()
