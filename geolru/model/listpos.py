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
removed once.

**Runs.**  A push makes its values in one record, a *run*, named by their
positions' common start, the *stem* (``…,digit,version,origin,r``; ``…,l`` for an
``LPUSH``'s, numbered from the head back): its elements are named
``stem + b"%d" % i`` (``run_names``).  The run holds their values packed one after
another, and which of them are removed for good; later pushes of one value by the
same region grow it at its end (``run_grown``: a version per element), so two
copies join to every element of either, the newer of two values, and the removed
ones of both (``run_join``).  An element of a run has the record the run gives it
(``run_element``: its value and version), joined with its own record, if a later
write made one (a pop's tombstone, an ``LSET``'s value).  A region marks an element
removed in its run when it collects that element's tombstone
(``geolru.store.tombstones``); a run whose elements are all removed is a tombstone
that counts them (``run_tombstone``).  Sans-IO and deterministic.
"""

from __future__ import annotations

import struct
import sys
from array import array
from itertools import accumulate

from geolru.model.hashkeys import LIST_MARK
from geolru.model.record import Record

RUN = b"r"  # a run's stem ends with it; its elements' last level's index starts with it
# ... or this, for a run made by LPUSH: its elements are in the list in the reverse
# order of their numbers (the last level's index is the number's negative), so that a
# later LPUSH grows it at the list's head as an RPUSH grows a run at its end
LEFT_RUN = b"l"
RUNS = (RUN, LEFT_RUN)
_COUNT = struct.Struct("<I")
# a run's first byte: the lengths' type; lower case, a run grown by later pushes, with a
# version per element
_CODES = {b"H": "H", b"I": "I", b"h": "H", b"i": "I"}
_GROWN = (b"h", b"i")
GROW_BYTES = 4096  # a run grows by pushes of one value while its values are below this
GROW_COUNT = 512  # ... and its elements fewer than this
GROW_MS = 10_000  # ... for this long after the push that made it
MAX_RUN = 1 << 24  # a run of more elements is none geolru makes (a push takes 1M values)

Level = tuple[int, int, str, int]  # (digit, version, origin, index)


def encode(levels: tuple) -> bytes:
    """A position as the element's name (ASCII: digits, the origin, ``,`` and ``;``)."""
    return ";".join("%d,%d,%s,%d" % level for level in levels).encode()


def decode(raw: bytes) -> tuple:
    """The levels of an element's name; ``ValueError`` if it is none."""
    levels = []
    for part in raw.decode().split(";"):
        digit, version, origin, index = part.split(",")
        levels.append((int(digit), int(version), origin,
                       int(index[1:]) if index[:1] == "r" else -int(index[1:])
                       if index[:1] == "l" else int(index)))
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


def run_names(low: bytes | None, high: bytes | None, version: int, origin: str,
              count: int, left: bool = False) -> tuple[bytes, list[bytes]]:
    """(stem, names): a run of ``count`` new positions, in order, after ``low`` and
    before ``high``, for the write ``(version, origin)``; each orders as the name
    ``between`` would give it.  ``left``: a run an ``LPUSH`` makes, numbered from the
    list's head back (``LEFT_RUN``: the names in order end in count - 1, …, 1, 0)."""
    prefix, digit = _between(decode(low) if low is not None else (),
                             decode(high) if high is not None else ())
    stem = encode(prefix + ((digit, version, origin, 0),))[:-1] + (LEFT_RUN if left else RUN)
    numbers = range(count - 1, -1, -1) if left else range(count)
    return stem, [stem + b"%d" % number for number in numbers]


def is_run(name: bytes) -> bool:
    """Whether ``name`` is a run's (its stem), not an element's."""
    return name[-1:] in RUNS


def is_run_identity(identity: bytes) -> bool:
    """Whether ``identity`` is a list's run's (``geolru.model.hashkeys``)."""
    return identity[-1:] in RUNS and identity[:3] == LIST_MARK


def stem_and_number(name: bytes) -> tuple[bytes, int | None]:
    """(stem, number) of a name: ``stem + b"%d" % number == name``, the stem ending in
    ``,`` or, for an element of a run, ``,r`` or ``,l``; (name, None) when it does not end in
    such a number (of fewer than 10 digits, with no leading zero)."""
    at = name.rfind(b",") + 1
    if name[at:at + 1] in RUNS:  # (an element of a run: "…,r<number>", "…,l<number>")
        at += 1
    tail = name[at:]
    if at and tail.isdigit() and len(tail) < 10 and (tail[:1] != b"0" or tail == b"0"):
        return name[:at], int(tail)
    return name, None


def run_of(name: bytes) -> tuple[bytes, int] | None:
    """(the run's stem, the element's number in it) of an element a run made; None
    for an element made alone (or a name no geolru makes)."""
    stem, number = stem_and_number(name)
    return None if number is None or stem[-1:] not in RUNS else (stem, number)


def in_a_run(name: bytes) -> bool:
    """Whether ``name`` is a run's, or an element's a run made: what a release before
    runs cannot parse."""
    return is_run(name) or name[name.rfind(b",") + 1:][:1] in RUNS


def pack_run(values: list, removed: int = 0) -> bytes:
    """A run's value: the lengths of ``values`` (2 bytes each when every one is
    shorter than 64 KiB, else 4), the values, then a bit per element, set for those
    removed (``removed``, element 0 its lowest bit)."""
    lengths = array("H" if max(map(len, values)) < 0x10000 else "I", map(len, values))
    if sys.byteorder == "big":
        lengths.byteswap()
    count = len(values)
    return b"".join((lengths.typecode.encode(), _COUNT.pack(count), lengths.tobytes(),
                     *values, removed.to_bytes(_bits_bytes(count), "little")))


def _bits_bytes(count: int) -> int:
    """The bytes of a run's bits of removed elements, for ``count`` elements."""
    return (count + 7) // 8


def _lengths(value: bytes) -> tuple[array, int]:
    """(the lengths of a run's values, where the first value starts) (``ValueError``
    if it is none)."""
    code = value[:1]
    if code not in _CODES:
        raise ValueError("not a run")
    lengths = array(_CODES[code])
    count = _COUNT.unpack_from(value, 1)[0]
    at = 5 + count * lengths.itemsize
    lengths.frombytes(value[5:at])
    if sys.byteorder == "big":
        lengths.byteswap()
    if code in _GROWN:  # (each element's version after the run's: 4 bytes each)
        at += count * 4
    return lengths, at


def _deltas(value: bytes, count: int) -> array | None:
    """How much later than the run's each element's version is (None: none is, the
    run was made whole by one push)."""
    if value[:1] not in _GROWN:
        return None
    start = 5 + count * array(_CODES[value[:1]]).itemsize
    deltas = array("I", value[start:start + 4 * count])
    if sys.byteorder == "big":
        deltas.byteswap()
    return deltas


def unpack_run(value: bytes) -> tuple[list, int]:
    """(the values, the removed ones' bits) of a run's value."""
    lengths, at = _lengths(value)
    ends = list(accumulate(lengths, initial=at))
    return ([value[a:b] for a, b in zip(ends, ends[1:], strict=False)],
            _removed(value)[0])


def _removed(value: bytes) -> tuple[int, int]:
    """(the removed ones' bits, the element count) of a run's value."""
    count = _COUNT.unpack_from(value, 1)[0]
    return int.from_bytes(value[len(value) - _bits_bytes(count):], "little"), count


def run_removing(record: Record, removed: int) -> Record:
    """``record``, a run's, with the elements of the bits ``removed`` removed too (bits
    past its elements count for none): a tombstone once none is left, which keeps
    how many elements it had (``run_tombstone``); the same record if it had them all
    removed."""
    if record.value is None:
        return record
    had, count = _removed(record.value)
    every = (1 << count) - 1
    now = (had | removed) & every
    if now == had:
        return record
    if now == every:
        return run_tombstone(record.version, record.origin, count)
    value = record.value
    size = _bits_bytes(count)
    return record._replace(value=value[:len(value) - size] + now.to_bytes(size, "little"))


def run_tombstone(version: int, origin: str, count: int) -> Record:
    """A run with its first ``count`` elements removed and no other: its elements past
    them (pushed onto it later, elsewhere) are their own records' alone.  The count
    rides in the record's deadline, which no element's record has (a run before
    format 7 has none: every element of it is removed)."""
    return Record(None, count, version, origin)


def removed_count(run: Record) -> int | None:
    """How many elements a run's tombstone removes (None: all, whatever it grew to)."""
    return run.deadline


def newest_of(identity: bytes, record: Record) -> int:
    """The newest write of its origin's that ``record`` carries: its version, or for a
    list's run, that of the last element a later push grew it by (a peer that has
    the origin's writes up to the run's own version may lack those)."""
    if is_run_identity(identity):
        return newest_version(record)
    return record.version


def newest_version(run: Record) -> int:
    """The newest version a run's record carries: its own, or that of the last
    element a later push grew it by."""
    if run.value is None:
        return run.version
    count = run_count(run)
    deltas = _deltas(run.value, count)
    return run.version + (max(deltas) if deltas else 0)


def well_formed(run: Record) -> bool:
    """Whether a run's record (a peer's) is one geolru makes: its count, lengths,
    versions, values and bits add up to its size; a tombstone's count is a count."""
    if run.value is None:
        return run.deadline is None or 0 <= run.deadline < 1 << 32
    value = run.value
    try:
        count = _COUNT.unpack_from(value, 1)[0]
        if not 0 < count <= MAX_RUN:
            return False
        lengths, at = _lengths(value)
    except (ValueError, struct.error):
        return False
    return len(lengths) == count and at + sum(lengths) + _bits_bytes(count) == len(value)


def run_count(record: Record) -> int:
    """How many elements the run (a live record) has."""
    return _COUNT.unpack_from(record.value, 1)[0]


def run_grown(record: Record, element: Record) -> Record | None:
    """The run (a live record) with one more element at its end: ``element``'s (a
    value's) value and version; None if that version is before the run's or too far
    after it for the run to keep (4 bytes of difference)."""
    value = record.value
    lengths, at = _lengths(value)
    count = len(lengths)
    delta = element.version - record.version
    if not 0 <= delta < 1 << 32:
        return None
    deltas = _deltas(value, count) or array("I", bytes(4 * count))
    added = element.value
    if lengths.typecode == "H" and len(added) >= 0x10000:
        lengths = array("I", lengths)
    lengths.append(len(added))
    deltas.append(delta)
    return record._replace(value=_grown_value(
        lengths, deltas, value[at:len(value) - _bits_bytes(count)] + added,
        _removed(value)[0]))


def _grown_value(lengths: array, deltas: array, values: bytes, removed: int) -> bytes:
    """A grown run's value (``_lengths``): the type byte (lower case), the count, the
    lengths, each element's version after the run's, the values one after another,
    the removed ones' bits."""
    count = len(lengths)
    if sys.byteorder == "big":
        lengths, deltas = array(lengths.typecode, lengths), array("I", deltas)
        lengths.byteswap()
        deltas.byteswap()
    return b"".join((b"h" if lengths.typecode == "H" else b"i", _COUNT.pack(count),
                     lengths.tobytes(), deltas.tobytes(), values,
                     removed.to_bytes(_bits_bytes(count), "little")))


def run_removing_elements(record: Record, numbers) -> Record:
    """``run_removing`` of the elements ``numbers`` (those past the run's count, from
    a name no geolru makes or pushed onto it elsewhere, remove none)."""
    if record.value is None:
        return record
    count = _removed(record.value)[1]
    return run_removing(record, sum(1 << n for n in set(numbers) if n < count))


def run_join(current: Record | None, incoming: Record) -> Record:
    """The record of a run both regions agree on (commutative): one push made its
    values and later pushes of its region grew it at its end, so two copies differ
    in how far they grew, in what they have removed, and in an element a copy took
    in from a later write of the run's region (``_merged_runs``): every element of
    either, the newer of two values, the removed ones of both; a tombstone removes
    its count of elements."""
    if current is None or current == incoming:
        return incoming
    if current.value is None and incoming.value is None:
        return max(current, incoming, key=_tombstone_order)
    if current.value is None or incoming.value is None:
        tombstone, run = (current, incoming) if current.value is None else (incoming, current)
        gone = removed_count(tombstone)
        if gone is None or gone >= run_count(run):
            return tombstone
        return run_removing(run, (1 << gone) - 1)
    if run_count(current) == run_count(incoming) and _values_and_versions(current) \
            == _values_and_versions(incoming):  # (the common case: marks differ)
        first, second = sorted((current, incoming), key=lambda run: run.value)
        return run_removing(second, _removed(first.value)[0])
    return _merged_runs(current, incoming)


def _values_and_versions(run: Record) -> tuple:
    """(the values, each one's version after the run's) of a live run."""
    value = run.value
    lengths, at = _lengths(value)
    deltas = _deltas(value, len(lengths))
    return (value[at:len(value) - _bits_bytes(len(lengths))],
            bytes(deltas) if deltas else bytes(4 * len(lengths)))


def _merged_runs(one: Record, other: Record) -> Record:
    """Two live copies of a run that differ in more than what they removed: the
    elements of both, each the newer of its two values where both have it (a copy
    may hold an ``LSET`` of the run's region where the other holds the push, each
    packed in as the element's record came: ``geolru.store.rows``), and the removed
    ones of both."""
    elements = []
    for run in (one, other):
        values, removed = unpack_run(run.value)
        deltas = _deltas(run.value, len(values)) or [0] * len(values)
        elements.append((values, list(deltas), removed))
    (values, deltas, removed), (more, more_deltas, more_removed) = sorted(
        elements, key=lambda part: len(part[0]), reverse=True)
    values, deltas = list(values), list(deltas)
    for index, value in enumerate(more):
        if (more_deltas[index], value) > (deltas[index], values[index]):
            values[index], deltas[index] = value, more_deltas[index]
    return run_removing(_packed(one, values, deltas), removed | more_removed)


def _packed(run: Record, values: list, deltas: list) -> Record:
    """``run`` holding ``values``, each ``deltas`` after the run's version, none
    removed."""
    lengths = array("H" if max(map(len, values)) < 0x10000 else "I", map(len, values))
    return run._replace(value=_grown_value(lengths, array("I", deltas),
                                           b"".join(values), 0))


def _tombstone_order(run: Record) -> tuple:
    gone = removed_count(run)
    return (gone is None, gone or 0)


def run_element(run: Record | None, index: int) -> Record | None:
    """The record the run gives its element ``index``: its value at the version of the
    push that made it, or a tombstone if the run has it removed (which wins over any
    record of the element's own, as its own tombstone did); None if the run is not
    here (or has no such element).  Reads that element alone."""
    if run is None:
        return None
    if run.value is None:
        gone = removed_count(run)
        return None if gone is not None and index >= gone \
            else Record(None, None, run.version, run.origin)
    value = run.value
    lengths, at = _lengths(value)
    if index >= len(lengths):
        return None
    if _removed(value)[0] >> index & 1:
        return Record(None, None, run.version, run.origin)
    deltas = _deltas(value, len(lengths))
    at += sum(lengths[:index])
    return Record(value[at:at + lengths[index]], None,
                  run.version + (deltas[index] if deltas else 0), run.origin)


def run_elements(stem: bytes, run: Record):
    """(name, record) of each element of the run, in order (``run_element``'s: a
    tombstone for those it has removed); none if it is a tombstone.  A generator:
    a reader that wants a few stops early."""
    if run.value is None:
        return
    value = run.value
    lengths, at = _lengths(value)
    removed = _removed(value)[0]
    deltas = _deltas(value, len(lengths))
    version, origin = run.version, run.origin
    for index, length in enumerate(lengths):
        yield stem + b"%d" % index, Record(
            None if removed >> index & 1 else value[at:at + length], None,
            version + deltas[index] if deltas else version, origin)
        at += length


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
