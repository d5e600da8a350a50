"""Redis Cluster's hash slots: which of the 16,384 slots a key belongs to, and sets of
slots as a shard owns them.

A key's slot is CRC16 (XMODEM: polynomial 0x1021, initial value 0, as Redis' own
``crc16.c``) of the key modulo 16,384; when the key holds a ``{...}`` with at least one
byte between the first ``{`` and the first ``}`` after it, only those bytes are hashed
(a *hash tag*), so ``{user1000}.following`` and ``{user1000}.followers`` share a slot.
``binascii.crc_hqx`` is that CRC, computed in C.  Sans-IO.
"""

from __future__ import annotations

from binascii import crc_hqx

import attrs

SLOTS = 16384
LAST = SLOTS - 1


def parse_slot(text) -> int:
    """A slot number as a command or an ini gives it; ``SlotsError`` if it is none."""
    try:
        slot = int(text)
    except ValueError:
        raise SlotsError(f"{text!r} is not a slot number")
    if not 0 <= slot <= LAST:
        raise SlotsError(f"slot {slot} is outside 0-{LAST}")
    return slot


def key_slot(key: bytes) -> int:
    """The hash slot of ``key``, as ``CLUSTER KEYSLOT`` answers."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc_hqx(key, 0) & LAST


class SlotsError(ValueError):
    """Slot ranges that do not parse, or fall outside 0-16383."""


@attrs.frozen
class SlotSet:
    """Some of the 16,384 slots, as sorted disjoint inclusive ranges; membership is one
    byte lookup."""

    ranges: tuple[tuple[int, int], ...]
    _map: bytes = attrs.field(eq=False, repr=False)  # a byte per slot: 1 if in the set
    bits: int = attrs.field(eq=False, repr=False)  # bit n set if slot n is in the set

    @classmethod
    def of(cls, ranges) -> SlotSet:
        owned = bytearray(SLOTS)
        for low, high in ranges:
            if not 0 <= low <= high <= LAST:
                raise SlotsError(f"slot range {low}-{high} is outside 0-{LAST}")
            owned[low:high + 1] = b"\x01" * (high - low + 1)
        merged = _ranges_of(owned)
        bits = sum((1 << (high + 1)) - (1 << low) for low, high in merged)
        return cls(merged, bytes(owned), bits)

    @classmethod
    def parse(cls, text: str) -> SlotSet:
        """``0-5460,10923`` (commas or spaces between ranges)."""
        ranges = []
        for part in text.replace(",", " ").split():
            low, dash, high = part.partition("-")
            try:
                ranges.append((int(low), int(high) if dash else int(low)))
            except ValueError:
                raise SlotsError(f"{part!r} is not a slot or a slot range (e.g. 0-8191)")
        return cls.of(ranges)

    @property
    def owned(self) -> bytes:
        """A byte per slot, 1 for those in the set (a lookup for a hot path)."""
        return self._map

    def __contains__(self, slot: int) -> bool:
        return 0 <= slot < SLOTS and self._map[slot] == 1

    def __len__(self) -> int:
        return sum(high - low + 1 for low, high in self.ranges)

    def __str__(self) -> str:
        return ",".join(str(low) if low == high else f"{low}-{high}"
                        for low, high in self.ranges)

    @property
    def complete(self) -> bool:
        return self.ranges == ((0, LAST),)

    def intersects(self, other: SlotSet) -> bool:
        return bool(self.bits & other.bits)

    def covers(self, other: SlotSet) -> bool:
        return self.bits | other.bits == self.bits

    def union(self, other: SlotSet) -> SlotSet:
        return SlotSet.of(self.ranges + other.ranges)

    def without(self, other: SlotSet) -> SlotSet:
        owned = bytearray(self._map)
        for low, high in other.ranges:
            owned[low:high + 1] = bytes(high - low + 1)
        return SlotSet.of(_ranges_of(owned))


def _ranges_of(owned) -> tuple[tuple[int, int], ...]:
    """The runs of 1 in a byte per slot, found by ``bytes.find`` (in C: ``SlotSet.of``
    runs wherever a slot list is parsed, the master's registry and status page too)."""
    ranges = []
    start = owned.find(1)
    while start >= 0:
        end = owned.find(0, start)
        if end < 0:
            ranges.append((start, LAST))
            break
        ranges.append((start, end - 1))
        start = owned.find(1, end)
    return tuple(ranges)


ALL = SlotSet.of([(0, LAST)])


def split(shards: int) -> list[SlotSet]:
    """The slots of ``shards`` shards, in equal contiguous ranges (the first ones one
    slot larger when 16,384 does not divide), as ``redis-cli --cluster create`` does."""
    if shards < 1:
        raise SlotsError("a region has at least one shard")
    return [SlotSet.of([(SLOTS * k // shards, SLOTS * (k + 1) // shards - 1)])
            for k in range(shards)]
