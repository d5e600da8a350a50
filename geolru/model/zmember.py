"""One member of a sorted set: whether it is in the set, and its score, as regions'
``ZADD``, ``ZINCRBY`` and ``ZREM`` merge (issue "Sets, sorted sets, lists and geo
indexes that merge across regions"; docs/collections.md, "Sorted sets", states the
rule).

Membership is a set's (``geolru.model.orset``): each region's newest write of the
member is an add, and a remove removes the adds its region had seen, so an add made
at the same time elsewhere wins.  The score is a counter (docs/replication.md,
"Counters") of the writes that survive: a ``ZADD`` is a whole write (a *base*), a
``ZINCRBY`` an increment that built on the base its region saw, or on nothing if the
member was not in the set there.  Of a region's increments since its start, all
count or none: a remove voids them only if it saw the newest of them (it saw them
all), and a base some surviving increment built on survives with it.

So, as for a string key: concurrent ``ZINCRBY``s all count; a ``ZADD`` newer than a
region's increments replaces them (a ``ZADD`` against a concurrent ``ZINCRBY`` is
decided by version); a member removed and added again starts from what the add says.

Each region keeps one entry, its newest write; two states join region by region
(the entry of the newer write) and remove by remove (the greater version seen), a
join-semilattice.  Each region's newest remove is kept too (``removers``), as a set
member's is (``geolru.model.orset``).  Sans-IO and deterministic.
"""

from __future__ import annotations

import attrs

from geolru.model.orset import REMOVERS_MARK, UNKNOWN, split_removers, unknown_removers

Version = tuple[int, str]  # (hybrid-logical-clock time, the region that made it)
NONE: Version = (0, "")


@attrs.frozen(slots=True)
class Entry:
    """A region's newest write of the member, and what of it bears on the score."""

    added: Version  # the write's version (every write of a member is an add)
    base: tuple | None = None  # (version, score): the base its score builds on, if any
    since: Version | None = None  # its increments' start: a base's version, or its own
    total: float = 0.0  # its increments since then


@attrs.frozen(slots=True)
class ZMember:
    entries: tuple = ()  # ((region, Entry), ...) by region
    removes: tuple = ()  # ((region, version), ...): the newest write a remove had seen
    removers: tuple = ()  # ((region, version), ...) by region: its newest remove

    def _alive(self, cleared: Version) -> list[Entry]:
        removed = dict(self.removes)
        return [entry for region, entry in self.entries
                if entry.added > removed.get(region, NONE) and entry.added > cleared]

    def present(self, cleared: Version = NONE) -> bool:
        """Whether the member is in its set, whose last clear was ``cleared``."""
        return bool(self._alive(cleared))

    def score(self, cleared: Version = NONE) -> float | None:
        """The member's score (None: it is not in the set)."""
        alive = self._alive(cleared)
        if not alive:
            return None
        base = max((e.base for e in alive if e.base is not None), default=None,
                   key=lambda b: b[0])
        start = base[0] if base is not None else NONE
        counting = [e for e in alive if e.since is not None and e.since >= start]
        if not counting:
            return base[1] if base is not None else 0.0
        value = sum(e.total for e in counting)
        if base is not None and any(e.since == base[0] for e in counting):
            value += base[1]
        return value

    @property
    def version(self) -> Version:
        """Its newest write or remove: what orders it against the key's other writes
        (a remove's own version, where it says one: ``removers``)."""
        return max((v for v in (*(e.added for _, e in self.entries),
                                *(v for _, v in self.removes),
                                *(v for region, v in self.removers if region != UNKNOWN))),
                   default=NONE)

    def assign(self, version: Version, score: float) -> ZMember:
        """``ZADD`` of ``score``, made at ``version``'s region."""
        return self._with(version[1], Entry(version, (version, score)))

    def increment(self, version: Version, delta: float, cleared: Version = NONE) -> ZMember:
        """``ZINCRBY`` of ``delta``, made at ``version``'s region on this state (what
        its region had seen), whose set was last cleared at ``cleared``."""
        region = version[1]
        mine = dict(self.entries).get(region)
        alive = self._alive(cleared)
        if not alive:  # not in the set here: it starts on nothing
            return self._with(region, Entry(version, None, version, delta))
        base = max((e.base for e in alive if e.base is not None), default=None,
                   key=lambda b: b[0])
        start = base[0] if base is not None else NONE
        if mine is not None and mine in alive and mine.since is not None \
                and mine.since >= start:
            return self._with(region, Entry(version, mine.base if mine.since == start
                                            else None, mine.since, mine.total + delta))
        if base is None:  # in the set on increments alone: its value is theirs
            # (a part of its own on nothing, newer than them all: they keep counting)
            return self._with(region, Entry(version, None, version, delta))
        return self._with(region, Entry(version, base, base[0], delta))

    def remove(self, version: Version) -> ZMember:
        """``ZREM`` made at ``version``: of every write this state holds."""
        removes = dict(self.removes)
        for region, entry in self.entries:
            removes[region] = max(entry.added, removes.get(region, NONE))
        return ZMember(self.entries, tuple(sorted(removes.items())),
                       _join_versions(self.removers, ((version[1], version),)))

    def since(self, cleared: Version) -> ZMember:
        """The state without the writes made before its set's clear at ``cleared``
        (they are not part of the set, whatever a region learns later)."""
        return ZMember(tuple(e for e in self.entries if e[1].added > cleared),
                       *(tuple(p for p in part if p[1] > cleared)
                         for part in (self.removes, self.removers)))

    def without_removers(self) -> ZMember:
        """The state as a peer that keeps no removers reads it."""
        return ZMember(self.entries, self.removes)

    def join(self, other: ZMember) -> ZMember:
        entries = dict(self.entries)
        for region, entry in other.entries:
            mine = entries.get(region)
            if mine is None or entry.added > mine.added or (
                    entry.added == mine.added and _rank(entry) > _rank(mine)):
                entries[region] = entry
        return ZMember(tuple(sorted(entries.items())),
                       _join_versions(self.removes, other.removes),
                       _join_versions(self.removers, other.removers))

    def _with(self, region: str, entry: Entry) -> ZMember:
        entries = dict(self.entries)
        entries[region] = entry
        return ZMember(tuple(sorted(entries.items())), self.removes, self.removers)

    def encode(self) -> str:
        """Text: the entries' count, each entry (its region's write, base, start and
        total; ``-`` for none), then the removes."""
        words = [str(len(self.entries))]
        for _, e in self.entries:
            words += [*_stamp(e.added), *(("-", "-", "-") if e.base is None else
                                          (*_stamp(e.base[0]), repr(e.base[1]))),
                      *(("-", "-") if e.since is None else _stamp(e.since)), repr(e.total)]
        for _, version in self.removes:
            words += _stamp(version)
        if self.removers:
            words.append(REMOVERS_MARK)
            for _, version in self.removers:
                words += _stamp(version)
        return " ".join(words)

    @classmethod
    def decode(cls, text: str) -> ZMember:
        words, removers = split_removers(text.split(" "))
        count, i, entries = int(words[0]), 1, []
        for _ in range(count):
            added = (int(words[i]), words[i + 1])
            base = None if words[i + 2] == "-" else (
                (int(words[i + 2]), words[i + 3]), float(words[i + 4]))
            since = None if words[i + 5] == "-" else (int(words[i + 5]), words[i + 6])
            entries.append((added[1], Entry(added, base, since, float(words[i + 7]))))
            i += 8
        removes = tuple((words[j + 1], (int(words[j]), words[j + 1]))
                        for j in range(i, len(words), 2))
        return cls(tuple(entries), removes,
                   removers if removers or not removes else unknown_removers(removes))


def _join_versions(a: tuple, b: tuple) -> tuple:
    """((region, version), ...) joined region by region (the greater version)."""
    joined = dict(a)
    for region, version in b:
        if version > joined.get(region, NONE):
            joined[region] = version
    return tuple(sorted(joined.items()))


def _rank(entry: Entry) -> tuple:
    """An order of two entries of one write (which one command never makes twice:
    the join stays commutative even so)."""
    return (entry.base is not None, entry.base or (NONE, 0.0), entry.since or NONE,
            entry.total)


def _stamp(version: Version) -> tuple:
    return str(version[0]), version[1]
