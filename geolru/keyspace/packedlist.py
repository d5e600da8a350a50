"""A cached list, packed: its elements' names and values in chunks of a few hundred
bytes, not a ``bytes`` object (and a dict slot) for each.

A list's element is named by its position (``geolru.model.listpos``), and the
elements one push makes share all of their name but the last number, its ``index``.
So a chunk keeps each name as a *stem* (the name up to its last ``,``, kept once for
the elements that share it) and that number, and the values one after another in one
``bytes``: an element of a pushed batch costs its value and about 13 bytes, where a
name, a value and a dict slot of their own cost about 190 (``bench/sets.py``).

``PackedList`` answers by index in the list's order, as Redis' commands ask
(``name``, ``value``, ``names``, ``values``), and by name for a peer's element
(``locate``).  Pushes and pops at either end touch one chunk; an insert or a remove
in the middle packs the chunks it touches again.  Sans-IO, pure Python.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from itertools import accumulate

from geolru.model import listpos

CHUNK_COUNT = 128  # elements a chunk holds at most
CHUNK_BYTES = 4096  # ... and bytes of values, past which it takes no more
NO_INDEX = 0xFFFFFFFF  # a name that does not end in ",<index>": its stem is all of it
_MAX_STEMS = 255  # (a chunk's stems are numbered in one byte)


def split(name: bytes) -> tuple[bytes, int]:
    """(stem, index) of a name (``listpos.stem_and_number``), ``NO_INDEX`` for a name
    that does not end in a number."""
    stem, number = listpos.stem_and_number(name)
    return stem, NO_INDEX if number is None else number


class _Chunk:
    """Up to ``CHUNK_COUNT`` elements, in order.  Element ``k``'s name is its stem (the
    ``stem_of[k]``-th of the stems packed in ``stem_data``, each ending at its
    ``stem_ends``) and ``index[k]``; its value the bytes of ``data`` from the end of
    element ``k - 1`` to ``ends[k]`` (offsets counted from ``shift``, so that a pop at
    the front need not renumber the rest).  Packed, the stems of a list pushed one
    value at a time (one each) cost their bytes, not a ``bytes`` object each."""

    __slots__ = ("stem_data", "stem_ends", "stem_of", "index", "data", "ends", "shift")

    def __init__(self):
        self.stem_data = b""
        self.stem_ends = array("I")
        self.stem_of = array("B")
        self.index = array("I")
        self.data = b""
        self.ends = array("q")
        self.shift = 0  # the offset of data[0]

    def __len__(self) -> int:
        return len(self.index)

    def full(self) -> bool:
        return len(self.index) >= CHUNK_COUNT or len(self.data) >= CHUNK_BYTES

    def _stem_at(self, number: int) -> bytes:
        ends = self.stem_ends
        return self.stem_data[ends[number - 1] if number else 0:ends[number]]

    def name(self, k: int) -> bytes:
        stem, index = self._stem_at(self.stem_of[k]), self.index[k]
        return stem if index == NO_INDEX else stem + b"%d" % index

    def value(self, k: int) -> bytes:
        ends, shift = self.ends, self.shift
        return self.data[(ends[k - 1] if k else shift) - shift:ends[k] - shift]

    def names_between(self, k: int, last: int) -> list:
        return [self.name(j) for j in range(k, last)]

    def values_between(self, k: int, last: int) -> list:
        """The values of elements ``k`` to ``last - 1``."""
        ends, shift, data = self.ends, self.shift, self.data
        start = (ends[k - 1] if k else shift) - shift
        found = []
        for end in ends[k:last]:
            end -= shift
            found.append(data[start:end])
            start = end
        return found

    def pairs(self) -> list:
        return [(self.name(k), self.value(k)) for k in range(len(self.index))]

    def _stem(self, stem: bytes, near: int) -> int:
        """The number of ``stem`` among the chunk's, added if the element at ``near``
        (its neighbour) does not have it already."""
        if self.stem_of and self._stem_at(self.stem_of[near]) == stem:
            return self.stem_of[near]
        self.stem_data += stem
        self.stem_ends.append(len(self.stem_data))
        return len(self.stem_ends) - 1

    def append(self, name: bytes, value: bytes) -> None:
        stem, index = split(name)
        self.stem_of.append(self._stem(stem, -1))
        self.index.append(index)
        self.ends.append((self.ends[-1] if self.ends else self.shift) + len(value))
        self.data += value

    def prepend(self, name: bytes, value: bytes) -> None:
        stem, index = split(name)
        self.stem_of.insert(0, self._stem(stem, 0))
        self.index.insert(0, index)
        self.shift -= len(value)
        self.ends.insert(0, self.shift + len(value))
        self.data = value + self.data

    def replace_value(self, k: int, value: bytes) -> None:
        ends, shift = self.ends, self.shift
        start, end = (ends[k - 1] if k else shift) - shift, ends[k] - shift
        self.data = self.data[:start] + value + self.data[end:]
        change = len(value) - (end - start)
        for j in range(k, len(ends)):
            ends[j] += change

    def drop_front(self, count: int) -> None:
        cut = self.ends[count - 1] - self.shift
        self.data = self.data[cut:]
        self.shift += cut
        del self.stem_of[:count], self.index[:count], self.ends[:count]

    def drop_back(self, count: int) -> None:
        keep = len(self.index) - count
        self.data = self.data[:(self.ends[keep - 1] if keep else self.shift) - self.shift]
        del self.stem_of[keep:], self.index[keep:], self.ends[keep:]

    def crowded(self) -> bool:
        """Whether its stems outnumber what one byte counts (elements came and went
        at one end): time to pack it again."""
        return len(self.stem_ends) >= _MAX_STEMS


def _packed(pairs) -> list:
    """Chunks holding ``pairs`` (name, value), in order."""
    chunks, chunk = [], None
    for name, value in pairs:
        if chunk is None or chunk.full():
            chunk = _Chunk()
            chunks.append(chunk)
        chunk.append(name, value)
    return chunks


class PackedList:
    """A list's elements (name, value) in the list's order, packed in chunks.
    ``size`` is the bytes of its names and values (what the cache counts)."""

    __slots__ = ("_chunks", "_starts", "_base", "_length", "size")

    def __init__(self, pairs=()):
        self._chunks: list = []
        self._starts: list = []  # the number of each chunk's first element, from _base
        self._base = 0  # the number of the list's first element
        pairs = list(pairs)
        self._length = len(pairs)
        self.size = sum(len(name) + len(value) for name, value in pairs)
        self._repack(0, [], pairs)

    # ------------------------------------------------------------ reads

    def __len__(self) -> int:
        return self._length

    def _find(self, at: int) -> tuple[_Chunk, int, int]:
        """(chunk, number of that chunk, place in it) of the element at index ``at``."""
        number = self._base + at
        c = bisect_right(self._starts, number) - 1
        return self._chunks[c], c, number - self._starts[c]

    def name(self, at: int) -> bytes:
        chunk, _, k = self._find(at)
        return chunk.name(k)

    def value(self, at: int) -> bytes:
        chunk, _, k = self._find(at)
        return chunk.value(k)

    def _range(self, start: int, stop: int, read) -> list:
        stop = min(stop, self._length)
        if start >= stop:
            return []
        found, (chunk, c, k) = [], self._find(start)
        chunks, wanted = self._chunks, stop - start
        while True:
            last = min(len(chunk), k + wanted - len(found))
            found += read(chunk, k, last)
            if len(found) == wanted:
                return found
            c, k = c + 1, 0
            chunk = chunks[c]

    def names(self, start: int = 0, stop: int | None = None) -> list:
        return self._range(start, self._length if stop is None else stop,
                           _Chunk.names_between)

    def values(self, start: int = 0, stop: int | None = None) -> list:
        return self._range(start, self._length if stop is None else stop,
                           _Chunk.values_between)

    def iter_values(self, reverse: bool = False):
        """The values in order (or from the last), one at a time: a scan that stops
        early reads no more."""
        chunks = reversed(self._chunks) if reverse else self._chunks
        for chunk in chunks:
            count = len(chunk)
            for k in (range(count - 1, -1, -1) if reverse else range(count)):
                yield chunk.value(k)

    def items(self):
        """Every element's (name, value), in order."""
        for chunk in self._chunks:
            yield from chunk.pairs()

    def locate(self, name: bytes) -> tuple[int, bool]:
        """(index, present): where the element ``name`` is, or where it would go."""
        chunks = self._chunks
        wanted = listpos.decode(name)
        low, high = 0, len(chunks)  # the last chunk whose first element is <= name
        while low < high:
            middle = (low + high) // 2
            if listpos.decode(chunks[middle].name(0)) <= wanted:
                low = middle + 1
            else:
                high = middle
        if low == 0:
            return 0, False
        c = low - 1
        chunk = chunks[c]
        low, high = 1, len(chunk)  # (its first element is <= name)
        while low < high:
            middle = (low + high) // 2
            if listpos.decode(chunk.name(middle)) <= wanted:
                low = middle + 1
            else:
                high = middle
        at = self._starts[c] - self._base + low
        return (at - 1, True) if chunk.name(low - 1) == name else (at, False)

    # ------------------------------------------------------------ writes

    def _end(self, back: bool) -> _Chunk:
        """The chunk at the back (or front) to add an element to: the one there if it
        has room (packed again first if its stems are crowded), else a new one."""
        chunks = self._chunks
        if chunks:
            c = len(chunks) - 1 if back else 0
            chunk = chunks[c]
            if chunk.crowded():
                self._repack(c, [chunk], chunk.pairs())
                chunk = chunks[c]
            if not chunk.full():
                return chunk
        chunk = _Chunk()
        if back:
            chunks.append(chunk)
            self._starts.append(self._base + self._length)
        else:
            chunks.insert(0, chunk)
            self._starts.insert(0, self._base)
        return chunk

    def push_back(self, names: list, values: list) -> None:
        for name, value in zip(names, values, strict=True):
            self._end(back=True).append(name, value)
            self._length += 1
            self.size += len(name) + len(value)

    def push_front(self, names: list, values: list) -> None:
        """Put ``names`` (and their values), in their order, before the first."""
        for name, value in zip(reversed(names), reversed(values), strict=True):
            self._end(back=False).prepend(name, value)
            self._base -= 1
            self._starts[0] = self._base
            self._length += 1
            self.size += len(name) + len(value)

    def pop_front(self, count: int) -> None:
        """Remove the first ``count`` elements (which it has)."""
        chunks = self._chunks
        while count:
            chunk = chunks[0]
            taken = min(count, len(chunk))
            self.size -= sum(len(chunk.name(k)) + len(chunk.value(k)) for k in range(taken))
            if taken == len(chunk):
                del chunks[0], self._starts[0]
            else:
                chunk.drop_front(taken)
                self._starts[0] += taken
            self._base += taken
            self._length -= taken
            count -= taken

    def pop_back(self, count: int) -> None:
        """Remove the last ``count`` elements (which it has)."""
        chunks = self._chunks
        while count:
            chunk = chunks[-1]
            taken = min(count, len(chunk))
            self.size -= sum(len(chunk.name(k)) + len(chunk.value(k))
                             for k in range(len(chunk) - taken, len(chunk)))
            if taken == len(chunk):
                del chunks[-1], self._starts[-1]
            else:
                chunk.drop_back(taken)
            self._length -= taken
            count -= taken

    def insert(self, at: int, name: bytes, value: bytes) -> None:
        """Put ``name`` (and its value) at index ``at`` (``len``: at the end)."""
        if at == self._length:
            self.push_back([name], [value])
        elif at == 0:
            self.push_front([name], [value])
        else:
            chunk, c, k = self._find(at)
            pairs = chunk.pairs()
            pairs.insert(k, (name, value))
            self._repack(c, [chunk], pairs)
            self._length += 1
            self.size += len(name) + len(value)

    def set_value(self, at: int, value: bytes) -> None:
        """Write the value of the element at index ``at`` (in its chunk, where it is)."""
        chunk, _, k = self._find(at)
        self.size += len(value) - len(chunk.value(k))
        chunk.replace_value(k, value)

    def remove(self, indexes) -> None:
        """Remove the elements at ``indexes`` (ascending, each one it has)."""
        indexes = list(indexes)
        if not indexes:
            return
        count = len(indexes)
        if indexes[-1] == count - 1:
            return self.pop_front(count)
        if indexes[0] == self._length - count:
            return self.pop_back(count)
        chunks = self._chunks
        first = self._find(indexes[0])[1]
        last = self._find(indexes[-1])[1]
        offset = self._starts[first] - self._base
        gone = set(indexes)
        kept = []
        for chunk in chunks[first:last + 1]:
            for pair in chunk.pairs():
                if offset in gone:
                    self.size -= len(pair[0]) + len(pair[1])
                else:
                    kept.append(pair)
                offset += 1
        self._repack(first, chunks[first:last + 1], kept)
        self._length -= count

    def _repack(self, first: int, old: list, pairs: list) -> None:
        """Put chunks holding ``pairs`` in the place of ``old``, the chunks from number
        ``first`` on, and count the chunks' first elements again."""
        chunks = self._chunks
        chunks[first:first + len(old)] = _packed(pairs)
        assert first < len(self._starts) or not first  # (the chunks before keep theirs)
        start = self._starts[first] if first < len(self._starts) else self._base
        # (the chunks before ``first`` keep their first elements' numbers)
        self._starts[first:] = accumulate((len(chunk) for chunk in chunks[first:-1]),
                                          initial=start) if len(chunks) > first else []
