"""The replication wire format: length-prefixed frames between regions.

Frames (each an ``Int32StringReceiver`` string; first byte is the kind):

- ``C`` + nonce — the receiving region's challenge, sent on connect.
- ``H`` + JSON ``{"name", "store_id", "mac", "progress"}`` — the sending region says who
  it is (``"progress": 1``: it reads ``P`` frames).
- ``R`` + JSON ``{"from": position, "skips": 1}`` — the receiver: send changes after
  this (0: all); ``"skips": 1``: it reads ``S`` frames.
- ``B`` + records — a batch of changes, each ``(seq, key, Record)``.
- ``S`` + 8-byte position — the sender: nothing up to this position is for you (the
  records there came from you, or you have them from their origin); the receiver
  resumes from it and acknowledges it like a batch.
- ``P`` + 8-byte position — the receiver applied every change up to it (frees the
  sender's window; sent only to a sender whose ``H`` says ``"progress": 1``).
- ``A`` + 8-byte position — the receiver has every change up to it committed to its
  store: the sender may count it for ``WAIT`` and collect tombstones up to it.
- ``W`` + JSON ``{origin: version}`` — the receiver: the newest version it applied
  from each origin's own stream (the sender need not forward what it covers).
- ``E`` + text — an error; the connection closes.

Sans-IO: bytes in, values out.
"""

from __future__ import annotations

import json
import struct

from geolru.store import Record

_HEAD = struct.Struct(">QQBI")  # seq, version, flags, key length
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")
HAS_VALUE, HAS_DEADLINE, HAS_COUNTER = 1, 2, 4


class WireError(Exception):
    """A frame that does not parse: the peer is not speaking our protocol."""


def encode_control(kind: bytes, payload: dict) -> bytes:
    return kind + json.dumps(payload).encode()


def decode_control(frame: bytes) -> dict:
    try:
        value = json.loads(frame[1:])
    except ValueError as e:
        raise WireError(f"bad {frame[:1]!r} frame: {e}")
    if not isinstance(value, dict):
        raise WireError(f"bad {frame[:1]!r} frame: not an object")
    return value


def encode_ack(position: int, kind: bytes = b"A") -> bytes:
    """An ``A`` (committed) or ``P`` (applied) frame."""
    return kind + _U64.pack(position)


def decode_ack(frame: bytes) -> int:
    if len(frame) != 9:
        raise WireError(f"bad {frame[:1]!r} frame")
    return _U64.unpack(frame[1:])[0]


def encode_batch(changes) -> bytes:
    """``changes``: iterable of (seq, key, Record)."""
    parts = [b"B"]
    append = parts.append
    for seq, key, record in changes:
        flags = ((HAS_VALUE if record.value is not None else 0)
                 | (HAS_DEADLINE if record.deadline is not None else 0)
                 | (HAS_COUNTER if record.counter is not None else 0))
        append(_HEAD.pack(seq, record.version, flags, len(key)))
        append(key)
        if record.deadline is not None:
            append(_I64.pack(record.deadline))
        if record.value is not None:
            append(_U32.pack(len(record.value)))
            append(record.value)
        origin = record.origin.encode()
        append(bytes((len(origin),)))
        append(origin)
        if record.counter is not None:
            counter = record.counter.encode()
            append(_U32.pack(len(counter)))
            append(counter)
    return b"".join(parts)


def decode_batch(frame: bytes) -> list[tuple[int, bytes, Record]]:
    changes = []
    pos, end = 1, len(frame)
    try:
        while pos < end:
            seq, version, flags, key_length = _HEAD.unpack_from(frame, pos)
            pos += _HEAD.size
            key = frame[pos:pos + key_length]
            pos += key_length
            deadline = value = counter = None
            if flags & HAS_DEADLINE:
                deadline = _I64.unpack_from(frame, pos)[0]
                pos += 8
            if flags & HAS_VALUE:
                length = _U32.unpack_from(frame, pos)[0]
                value = frame[pos + 4:pos + 4 + length]
                pos += 4 + length
            origin_length = frame[pos]
            origin = frame[pos + 1:pos + 1 + origin_length].decode()
            pos += 1 + origin_length
            if flags & HAS_COUNTER:
                length = _U32.unpack_from(frame, pos)[0]
                counter = frame[pos + 4:pos + 4 + length].decode()
                pos += 4 + length
            if pos > end or len(key) != key_length:
                raise WireError("truncated batch")
            changes.append((seq, key, Record(value, deadline, version, origin, counter)))
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise WireError(f"bad batch frame: {e}")
    return changes
