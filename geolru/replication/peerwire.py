"""The replication wire format: length-prefixed frames between regions.

Frames (each an ``Int32StringReceiver`` string; the first byte is the kind).
From the receiving region (it accepted the connection):

- ``C`` + nonce — its challenge, sent on connect.
- ``R`` + JSON ``{"from": position, "protocol": version, "store_id": id, "began":
  collected}`` — send changes after this position (0: all), in this protocol version
  (the highest both speak; a receiver of a release before negotiation sends no
  ``protocol``: then the ``H`` frame's), to its store ``store_id``, whose full sync
  from this sender's store began when the sender had collected tombstones up to
  ``began`` (the ``H`` frame's ``collected`` then).  A resume below what the sender
  has collected is refused unless nothing was collected since ``began``.  (Releases
  before these two send neither: their resume is refused as before.)
- ``P`` + 8-byte *through* + 8-byte *reached* — it applied every change up to
  *through* (where it resumes), and the sender's own writes up to *reached*, the
  highest position of one it got (frees the window).
- ``A`` + the same two — ... and has them *committed*: *reached* is what ``WAIT``
  counts (this region's own writes are never held back, so every one up to it
  arrived), *through* what its publications (``W``) report.
- ``W`` + JSON — a publication, every ``PUBLISH_INTERVAL`` at most while anything moved:
  ``{"store_id", "position", "acked", "members", "applied"}``: its store's id and
  newest position, the position of the sender's stream it has committed (``A``), the
  regions it streams to, and the newest version it applied from each origin's own
  stream (the sender need not forward what that covers).  Tombstones are collected
  on publications: docs/replication.md.

From the sending region:

- ``H`` + JSON ``{"name", "store_id", "mac", "protocol", "protocols", "position",
  "collected"}`` — who it is, the protocol versions it speaks (``protocols``: the
  oldest and the newest; ``protocol``: the oldest, what a receiver of a release before
  negotiation checks), its store's newest position (the receiver has caught up once
  it has that) and the position up to which it has collected tombstones.
- ``B`` + 8-byte *through* + changes — a batch, each change a key and its record in
  the store's encoding (``geolru.model.record``); after applying it the receiver has every
  change of the sender's stream up to *through* (records held back to be forwarded
  later keep it below them).
- ``S`` + 8-byte *through* — nothing more up to this position is for the receiver.
  The first, at the position the receiver asked for, says the sender took it.
- ``F`` + 8-byte *position* — a client ``WAIT``s for this position: commit as soon
  as every change up to it is applied, not at the end of the commit interval.
- ``K`` + 8-byte *position* + 8-byte *version* — the sender's own writes up to this
  position are all with the receiver (or the records that replaced them), and (if
  not 0) each of them up to this version: a claim for *reached*, and for the
  receiver's publications, that its records sent at position 0 did not make
  (protocol 13 on; docs/replication.md).
- ``M`` + 4-byte channel length + channel + message — a pub/sub message ``PUBLISH``ed
  at the sender, for the receiver's subscribers (protocol 9 on; sent while the
  stream is up, in the order published, and never stored: a message published while
  the stream is down is not sent later).

Either side: ``E`` + text — an error; the connection closes.

Sans-IO: bytes in, values out.
"""

from __future__ import annotations

import json
import struct

from geolru.model.record import Record, decode, encode

# The replication protocol versions this release speaks, oldest to newest.  Two
# regions stream in the newest one both speak (``negotiate``), so a cluster upgrades
# one region at a time: a release that changes the wire speaks the previous version
# too, for as long as it may meet a region that has not been upgraded.  Version 4 is
# the first to negotiate; the release before it speaks 4 alone and refuses any other.
PROTOCOL = 13
OLDEST_PROTOCOL = 4
# Version 5: a counter record may hold a HyperLogLog's parts (registers where a
# release of version 4 reads an integer): a stream in version 4 stops before the
# first one, until its receiver is upgraded (``Sender``).
HYPERLOGLOGS = 5
# Version 6: sets: a header may say its key is a set, and a member's record holds its
# adds and removes (``geolru.model.members``), which a release of version 5 would
# misread: a stream in an older version stops before the first one likewise.
SETS = 6
# Version 7: sorted sets likewise (a header of kind "zset", a member's record with its
# score's parts).
ZSETS = 7
# Version 8: lists likewise (a header of kind "list", element records under their own
# identity mark).
LISTS = 8
# Version 9: pub/sub messages (``M`` frames), which a release of 8 would refuse as an
# unexpected frame: a stream in an older version carries none.
MESSAGES = 9
# Version 10: a set's (or sorted set's) member's record says each region's newest
# remove (``removers``), in words a release of 9 cannot parse: a stream in an older
# version sends member records without them (each such record then goes on from
# every region that has it, as all did before).
REMOVERS = 10
# Version 11: a push of several values to a list is one record, a run
# (``geolru.model.listpos``), which a release of 10 would take for an element with a
# name it cannot parse: a stream in an older version stops before the first one.
# Version 12: a run grows by later pushes of one value (elements past its count, a
# version per element, a tombstone that counts what it removes), which a release of
# 11 would misread (it takes a run's tombstone to remove every element named in it):
# a stream in 11 stops before the first run likewise.
RUNS = 12
# Version 13: a ``K`` frame claims how far the sender's own writes are there (its
# records sent at position 0 while a write of its own they went past was on its way in
# another region's record), which a release of 12 would refuse as an unexpected frame:
# a stream in an older version sends none (the receiver counts them once *through*
# passes them).
CLAIMS = 13
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_PROGRESS = struct.Struct(">QQ")


class WireError(Exception):
    """A frame that does not parse: the peer is not speaking our protocol."""


def offered(hello: dict) -> tuple[int, int]:
    """The (oldest, newest) protocol versions an ``H`` frame offers (one alone, from
    a release before negotiation)."""
    versions = hello.get("protocols")
    if versions is None:
        versions = [hello.get("protocol"), hello.get("protocol")]
    try:
        oldest, newest = (int(v) for v in versions)
    except (TypeError, ValueError):
        raise WireError(f"bad H frame: protocols {versions!r}")
    return oldest, newest


def negotiate(theirs: tuple[int, int], ours: tuple[int, int] = (OLDEST_PROTOCOL, PROTOCOL)
              ) -> int | None:
    """The newest version both ranges hold, or None: they share none."""
    version = min(theirs[1], ours[1])
    return version if version >= max(theirs[0], ours[0]) else None


def encode_control(kind: bytes, payload: dict) -> bytes:
    return kind + json.dumps(payload, separators=(",", ":")).encode()


def decode_control(frame: bytes) -> dict:
    try:
        value = json.loads(frame[1:])
    except ValueError as e:
        raise WireError(f"bad {frame[:1]!r} frame: {e}")
    if not isinstance(value, dict):
        raise WireError(f"bad {frame[:1]!r} frame: not an object")
    return value


def encode_position(kind: bytes, position: int) -> bytes:
    """An ``S`` or ``F`` frame."""
    return kind + _U64.pack(position)


def decode_position(frame: bytes) -> int:
    if len(frame) != 9:
        raise WireError(f"bad {frame[:1]!r} frame: {len(frame)} bytes")
    return _U64.unpack_from(frame, 1)[0]


def encode_progress(kind: bytes, through: int, reached: int) -> bytes:
    """A ``P`` or ``A`` frame."""
    return kind + _PROGRESS.pack(through, reached)


def decode_progress(frame: bytes) -> tuple[int, int]:
    """(through, reached) of a ``P`` or ``A`` frame."""
    if len(frame) != 1 + _PROGRESS.size:
        raise WireError(f"bad {frame[:1]!r} frame: {len(frame)} bytes")
    return _PROGRESS.unpack_from(frame, 1)


def encode_message(channel: bytes, message: bytes) -> bytes:
    return b"".join((b"M", _U32.pack(len(channel)), channel, message))


def decode_message(frame: bytes) -> tuple[bytes, bytes]:
    """(channel, message) of an ``M`` frame."""
    if len(frame) < 5:
        raise WireError("bad message frame: no channel length")
    length = _U32.unpack_from(frame, 1)[0]
    if 5 + length > len(frame):
        raise WireError("bad message frame: shorter than its channel")
    return frame[5:5 + length], frame[5 + length:]


def encode_batch(through: int, changes) -> bytes:
    """``changes``: iterable of (seq, key, Record)."""
    parts = [b"B", _U64.pack(through)]
    append = parts.append
    pack = _U32.pack
    for seq, key, record in changes:
        raw = encode(record, seq)
        append(pack(len(key)))
        append(key)
        append(pack(len(raw)))
        append(raw)
    return b"".join(parts)


def decode_batch(frame: bytes) -> tuple[int, list[tuple[int, bytes, Record]]]:
    """(through, [(seq, key, record), ...])."""
    if len(frame) < 9:
        raise WireError("bad batch frame: no position")
    through = _U64.unpack_from(frame, 1)[0]
    changes = []
    pos, end = 9, len(frame)
    unpack = _U32.unpack_from
    try:
        while pos < end:
            length = unpack(frame, pos)[0]
            key = frame[pos + 4:pos + 4 + length]
            pos += 4 + length
            length = unpack(frame, pos)[0]
            raw = frame[pos + 4:pos + 4 + length]
            pos += 4 + length
            if pos > end:
                raise WireError("bad batch frame: truncated")
            seq, record = decode(raw)
            changes.append((seq, key, record))
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise WireError(f"bad batch frame: {e}")
    return through, changes
