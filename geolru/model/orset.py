"""One member of an observed-remove set: how its adds and removes from several
regions merge (issue "Sets, sorted sets, lists and geo indexes that merge across
regions"; docs/collections.md states the rule).

A member's state is, per region, the version of the newest add made there
(``adds``) and the newest add of that region a remove had seen (``removes``).  It is
present while some region's newest add is newer than what any remove of it saw:
a remove removes only the adds its region had seen, so an add made concurrently
elsewhere survives it (add wins), and an add made after a remove was seen, anywhere,
brings the member back.  Two states join region by region by the greater version,
so every order, duplication or interleaving of the same adds and removes gives the
same state (a join-semilattice).  A set's clear point (a ``DEL`` of the key, its
expiry: the ``cleared`` of its header, as a hash's) hides every add made before it.

Each region's newest remove is kept too (``removers``): not for the rule, but so that
the record of a remove is that region's write (its version the remove's), and a
region passing a record on knows whose stream carries each remove
(``geolru.replication.sender``).  A record of a release before them (or from a peer
that speaks no removers) holds removes made nowhere known: ``UNKNOWN`` stands for
them, and such a record is always passed on.

Sans-IO and deterministic.
"""

from __future__ import annotations

import attrs

Version = tuple[int, str]  # (hybrid-logical-clock time, the region that made it)
NONE: Version = (0, "")
# a remover of removes made by no region known (``removers``): a record written before
# removers were kept
UNKNOWN = ""
REMOVERS_MARK = "/"  # in ``encode``: the removers follow


@attrs.frozen(slots=True)
class Member:
    adds: tuple = ()  # ((region, version), ...) by region: its newest add
    removes: tuple = ()  # ((region, version), ...): its newest add a remove had seen
    removers: tuple = ()  # ((region, version), ...) by region: its newest remove

    def present(self, cleared: Version = NONE) -> bool:
        """Whether the member is in the set whose last clear was ``cleared``."""
        removed = dict(self.removes) if self.removes else None
        for region, version in self.adds:
            if version > cleared and (removed is None or version > removed.get(region, NONE)):
                return True
        return False

    @property
    def version(self) -> Version:
        """Its newest add or remove: what orders it against the key's other writes,
        and names the region whose write its record is (a remove's own version, where
        it says one: ``removers``)."""
        return max((v for region, v in (*self.adds, *self.removes, *self.removers)
                    if region != UNKNOWN), default=NONE)

    def add(self, version: Version) -> Member:
        """An add made at ``version``'s region (newer than every version it saw)."""
        region = version[1]
        return Member(tuple(sorted([*(a for a in self.adds if a[0] != region),
                                    (region, version)])), self.removes, self.removers)

    def remove(self, version: Version) -> Member:
        """A remove made at ``version``: of every add this state holds."""
        removes = dict(self.removes)
        for region, added in self.adds:
            removes[region] = max(added, removes.get(region, NONE))
        return Member(self.adds, tuple(sorted(removes.items())),
                      _join(self.removers, ((version[1], version),)))

    def join(self, other: Member) -> Member:
        return Member(_join(self.adds, other.adds), _join(self.removes, other.removes),
                      _join(self.removers, other.removers))

    def since(self, cleared: Version) -> Member:
        """The state without the writes made before its set's clear at ``cleared``
        (they are not part of the set, whatever a region learns later)."""
        return Member(*(tuple(p for p in part if p[1] > cleared)
                        for part in (self.adds, self.removes, self.removers)))

    def without_removers(self) -> Member:
        """The state as a peer that keeps no removers reads it."""
        return Member(self.adds, self.removes)

    def encode(self) -> str:
        words = [str(len(self.adds)),
                 *(f"{version[0]} {version[1]}" for _, version in self.adds),
                 *(f"{version[0]} {version[1]}" for _, version in self.removes)]
        if self.removers:
            words += [REMOVERS_MARK, *(f"{version[0]} {version[1]}"
                                       for _, version in self.removers)]
        return " ".join(words)

    @classmethod
    def decode(cls, text: str) -> Member:
        words, removers = split_removers(text.split(" "))
        count = int(words[0])
        versions = [(int(words[i]), words[i + 1]) for i in range(1, len(words), 2)]
        removes = tuple((v[1], v) for v in versions[count:])
        return cls(tuple((v[1], v) for v in versions[:count]), removes,
                   removers if removers or not removes else unknown_removers(removes))


def split_removers(words: list) -> tuple[list, tuple]:
    """An encoded member's words before its removers, and its removers."""
    if REMOVERS_MARK not in words:
        return words, ()
    at = words.index(REMOVERS_MARK)
    return words[:at], tuple((words[i + 1], (int(words[i]), words[i + 1]))
                             for i in range(at + 1, len(words), 2))


def unknown_removers(removes: tuple) -> tuple:
    """Removers for ``removes`` made by regions not known (a record of a release
    before removers were kept)."""
    return ((UNKNOWN, (max(version for _, version in removes)[0], UNKNOWN)),)


def _join(a: tuple, b: tuple) -> tuple:
    joined = dict(a)
    for region, version in b:
        if version > joined.get(region, NONE):
            joined[region] = version
    return tuple(sorted(joined.items()))
