"""One member of an observed-remove set: how its adds and removes from several
regions merge (issue "Sets, sorted sets, lists and geo indexes that merge across
regions"; docs/collections.md states the rule).  Not wired to commands yet.

A member's state is, per region, the version of the newest add made there
(``adds``) and the newest add of that region a remove had seen (``removes``).  It is
present while some region's newest add is newer than what any remove of it saw:
a remove removes only the adds its region had seen, so an add made concurrently
elsewhere survives it (add wins), and an add made after a remove was seen, anywhere,
brings the member back.  Two states join region by region by the greater version,
so every order, duplication or interleaving of the same adds and removes gives the
same state (a join-semilattice).  A set's clear point (a ``DEL`` of the key, its
expiry: the ``cleared`` of its header, as a hash's) hides every add made before it.

Sans-IO and deterministic.
"""

from __future__ import annotations

import attrs

Version = tuple[int, str]  # (hybrid-logical-clock time, the region that made it)
NONE: Version = (0, "")


@attrs.frozen(slots=True)
class Member:
    adds: tuple = ()  # ((region, version), ...) by region: its newest add
    removes: tuple = ()  # ((region, version), ...): its newest add a remove had seen

    def present(self, cleared: Version = NONE) -> bool:
        """Whether the member is in the set whose last clear was ``cleared``."""
        removed = dict(self.removes) if self.removes else None
        for region, version in self.adds:
            if version > cleared and (removed is None or version > removed.get(region, NONE)):
                return True
        return False

    @property
    def version(self) -> Version:
        """Its newest add or remove: what orders it against the key's other writes."""
        return max((v for _, v in (*self.adds, *self.removes)), default=NONE)

    def add(self, version: Version) -> Member:
        """An add made at ``version``'s region (newer than every version it saw)."""
        region = version[1]
        return Member(tuple(sorted([*(a for a in self.adds if a[0] != region),
                                    (region, version)])), self.removes)

    def remove(self) -> Member:
        """A remove: of every add this state holds."""
        removes = dict(self.removes)
        for region, version in self.adds:
            removes[region] = max(version, removes.get(region, NONE))
        return Member(self.adds, tuple(sorted(removes.items())))

    def join(self, other: Member) -> Member:
        return Member(_join(self.adds, other.adds), _join(self.removes, other.removes))

    def encode(self) -> str:
        return " ".join([str(len(self.adds)),
                         *(f"{version[0]} {version[1]}" for _, version in self.adds),
                         *(f"{version[0]} {version[1]}" for _, version in self.removes)])

    @classmethod
    def decode(cls, text: str) -> Member:
        words = text.split(" ")
        count = int(words[0])
        versions = [(int(words[i]), words[i + 1]) for i in range(1, len(words), 2)]
        return cls(tuple((v[1], v) for v in versions[:count]),
                   tuple((v[1], v) for v in versions[count:]))


def _join(a: tuple, b: tuple) -> tuple:
    joined = dict(a)
    for region, version in b:
        if version > joined.get(region, NONE):
            joined[region] = version
    return tuple(sorted(joined.items()))
