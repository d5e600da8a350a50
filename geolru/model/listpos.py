"""A list's elements across regions: where each one stands, and how its records join.

Each element of a list is a record of its own, named by its *position*: a sequence
of levels ``(digit, version, origin, index)`` compared level by level, made once, by
the write that inserted the element (``version`` and ``origin`` are that write's, and
``index`` tells apart the elements one ``RPUSH`` or ``LPUSH`` makes).  The list is its
elements in the order of their positions.  An insert takes a position between the
elements it goes between (``between``), as its region sees them:

- ``RPUSH`` after the last element, at the top level (its digit + 1), ``LPUSH``
  before the first (its digit - 1), so pushes keep positions one level deep;
- ``LINSERT`` between two neighbours: a digit between theirs, or a level deeper.

A position never changes and no two elements share one, so every region orders the
same elements the same way, whatever order it learned them in; two regions that push
at once both keep their elements, each push's together (its elements share all but
``index``).  Where two such pushes go relative to each other is the order of their
versions.

An element's record holds its value (``LSET`` writes it again: the newest write
wins) or, once removed (a pop, ``LREM``, ``LTRIM``), is a tombstone: a removed
element never comes back, so a tombstone wins over any value, whatever its time
(``join``).  Two regions that pop the same element at once both return it; it is
removed once.  Sans-IO and deterministic.
"""

from __future__ import annotations

from geolru.model.record import Record

Level = tuple[int, int, str, int]  # (digit, version, origin, index)


def encode(levels: tuple) -> bytes:
    """A position as the element's name (ASCII: digits, the origin, ``,`` and ``;``)."""
    return ";".join("%d,%d,%s,%d" % level for level in levels).encode()


def decode(raw: bytes) -> tuple:
    """The levels of an element's name; ``ValueError`` if it is none."""
    levels = []
    for part in raw.decode().split(";"):
        digit, version, origin, index = part.split(",")
        levels.append((int(digit), int(version), origin, int(index)))
    return tuple(levels)


def created(raw: bytes) -> tuple[int, str]:
    """The version of the write that inserted the element: its name's last level's."""
    last = raw[raw.rfind(b";") + 1:].split(b",")
    return int(last[1]), last[2].decode()


def between(low: bytes | None, high: bytes | None, version: int, origin: str,
            count: int = 1) -> list[bytes]:
    """``count`` new positions, in order, after ``low`` and before ``high`` (None: the
    list's start, or its end), for the write ``(version, origin)``."""
    prefix, digit = _between(decode(low) if low is not None else (),
                             decode(high) if high is not None else ())
    return [encode(prefix + ((digit, version, origin, index),)) for index in range(count)]


def _between(low: tuple, high: tuple) -> tuple[tuple, int]:
    """(levels, digit): the levels a new position shares with ``low``, and its digit
    one level deeper, so that it falls after ``low`` and before ``high`` (each a tuple
    of levels, () for no bound)."""
    if not high:
        return (), (low[0][0] + 1 if low else 0)
    if not low:
        return (), high[0][0] - 1
    first, last = low[0], high[0]
    if last[0] - first[0] >= 2:
        return (), (first[0] + last[0]) // 2
    if first < last:  # (anything that starts with ``first`` is before ``high``)
        prefix, digit = _between(low[1:], ())
    else:  # (the same level: ``high`` goes on deeper than ``low``)
        prefix, digit = _between(low[1:], high[1:])
    return (first,) + prefix, digit


def join(current: Record | None, incoming: Record) -> Record:
    """The record of an element both regions agree on (commutative): a tombstone wins
    over a value (a removed element stays removed); two values, or two tombstones,
    the newer (one write makes one record; the value breaks a tie all the same)."""
    if current is None or current == incoming:
        return incoming
    if (current.value is None) != (incoming.value is None):
        return current if current.value is None else incoming
    return max(current, incoming, key=_version)


def _version(record: Record) -> tuple:
    return (record.version, record.origin, record.value or b"")


def visible(name: bytes, record: Record | None, cleared: tuple) -> bytes | None:
    """The element's value in its list, last cleared at ``cleared`` (None: it is not
    in it: removed, or inserted before the clear)."""
    if record is None or record.value is None or created(name) <= cleared:
        return None
    return record.value
