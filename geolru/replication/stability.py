"""When a tombstone may go: causal stability, from the peers' publications.

A region ``S`` may collect a tombstone at position ``t`` of its own store once, for
every region ``Y`` it must hear from, it holds a publication of ``Y`` (a ``W``
frame) that says

- ``acked >= t``: ``Y`` had committed ``S``'s stream through ``t``, so ``Y``'s
  state held the delete (or something newer for its key);
- ``position = p``: ``Y``'s store had handed out positions up to ``p`` then;

and ``S`` itself has committed ``Y``'s stream through ``p``.  Any older version of
the key that ``Y`` ever held was put in ``Y``'s store before the delete reached it,
so at a position ``<= p``: ``S`` has received it already (or ``Y`` found that ``S``
had it).  Held-back forwards keep a stream's *through* below them, so nothing
``Y`` still means to send is below ``p``.  docs/replication.md gives the whole
argument, with forwarding, freezes, restarts, FORGET and clock skew.

The regions ``S`` must hear from: its peers, every region that streams to it, and
every region its peers' publications name (a region that joined at a peer first).

Sans-IO: publications and positions in, a position out.
"""

from __future__ import annotations

import attrs

MAX_PUBLICATIONS = 64  # kept per peer while this region's position catches up with them


@attrs.frozen(slots=True)
class Publication:
    store_id: str
    position: int  # the publisher's newest store position then
    acked: int  # our stream, committed there through this position
    members: tuple[str, ...]  # the regions it streamed to


@attrs.define(eq=False)
class Stability:
    own_name: str
    # name -> (store_id, position): how far this region has *committed* each
    # peer's stream (of that store)
    received: dict = attrs.field(factory=dict)
    _publications: dict = attrs.field(factory=dict)  # name -> [Publication], oldest first
    _usable: dict = attrs.field(factory=dict)  # name -> the newest usable Publication

    def committed_through(self, name: str, store_id: str, position: int) -> None:
        """This region has committed ``name``'s stream (its store ``store_id``)
        through ``position``."""
        self.store_seen(name, store_id)
        current = self.received.get(name)
        if current is None or current[0] != store_id or position > current[1]:
            self.received[name] = (store_id, position)
            self._settle(name)

    def published(self, name: str, publication: Publication) -> None:
        pending = self._publications.setdefault(name, [])
        if pending and pending[-1].store_id != publication.store_id:
            pending.clear()  # a wiped store: its positions start again
        self.store_seen(name, publication.store_id)
        if len(pending) >= MAX_PUBLICATIONS:
            pending[-1] = publication  # the newest is the one worth waiting for
        else:
            pending.append(publication)
        self._settle(name)

    def store_seen(self, name: str, store_id: str) -> None:
        """``name`` streams, publishes or asks for our stream from its store
        ``store_id``: a usable publication of another store of it (wiped, or a new
        region of that name) no longer holds, and nothing goes on its word until the
        new store says so."""
        usable = self._usable.get(name)
        if usable is not None and usable.store_id != store_id:
            del self._usable[name]

    def _settle(self, name: str) -> None:
        """Make the newest publication this region has caught up with the usable one."""
        pending = self._publications.get(name)
        received = self.received.get(name)
        if not pending or received is None:
            return
        store_id, position = received
        ready = 0
        for i, publication in enumerate(pending):
            if publication.store_id == store_id and publication.position <= position:
                ready = i + 1
        if ready:
            self._usable[name] = pending[ready - 1]
            del pending[:ready]

    def forget(self, name: str) -> None:
        """A region the master forgot: it is no longer waited for."""
        self._publications.pop(name, None)
        self._usable.pop(name, None)

    def horizon(self, peers, forgotten=frozenset()) -> int:
        """The position of this region's store up to which tombstones may go.

        ``peers``: the regions this region streams to or from.  With none, every
        tombstone may go (``None``).
        """
        waited = set(peers)
        for publication in self._usable.values():
            waited.update(publication.members)
        for pending in self._publications.values():
            for publication in pending:
                waited.update(publication.members)
        waited.discard(self.own_name)
        waited.difference_update(forgotten)
        if not waited:
            return None
        horizon = None
        for name in waited:
            usable = self._usable.get(name)
            if usable is None:
                return 0
            horizon = usable.acked if horizon is None else min(horizon, usable.acked)
        return horizon
