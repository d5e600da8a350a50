"""Sorted sets in the keyspace: a header under the key (as a set's, of kind "zset")
and one record per member, which holds its adds and removes and its score's parts
(``geolru.model.zmember``): membership merges as a set's, the score as a counter.

A sorted set read whole is cached whole (member -> its score, as ``repr`` bytes),
with its members in order once a range was read (``HashEntry.order``), kept in order
through every write after, this region's and its peers'.

``ZSetOperations`` is a part of ``Keyspace`` (``geolru.keyspace.keyspace``).
"""

from __future__ import annotations

from geolru.model import members
from geolru.model.hashkeys import ZMEMBER_MARK, ZSET, key_id, member_id
from geolru.model.headers import header


def zmember_id(key: bytes, member: bytes) -> bytes:
    return member_id(key, member, ZMEMBER_MARK)


class ZSetOperations:
    __slots__ = ()

    def zset_scores(self, key: bytes) -> dict:
        """The members of the sorted set at ``key`` and their scores (bytes of
        ``repr``; empty: none).  Read whole, it is cached whole."""
        entry = self.cached_hash(key, ZSET)
        if entry is not None:
            self.hits += 1
            return entry.fields
        head = self.hash_header(key, ZSET)
        if head is None:
            self.misses += 1
            return {}
        self.hits += 1
        found = self.visible_elements(key, head.hash_meta.cleared, ZSET)
        self.cache.misses += 1
        return self.cache.put_hash(key, found, head.deadline, ZSET).fields

    def zset_ordered(self, key: bytes) -> list:
        """The members of the sorted set at ``key`` in order: ``(score, member)``
        pairs, by score then member (Redis' order), sorted once, then kept."""
        scores = self.zset_scores(key)
        entry = self.cache.entry(key)
        if entry is not None and entry.value is None and entry.fields is scores:
            if entry.order is None:
                entry.order = _ordered(scores)
            return entry.order
        return _ordered(scores)

    def zset_score(self, key: bytes, member: bytes) -> float | None:
        entry = self.cached_hash(key, ZSET)
        if entry is not None:
            self.hits += 1
            score = entry.fields.get(member)
            return None if score is None else float(score)
        head = self.hash_header(key, ZSET)
        if head is None:
            self.misses += 1
            return None
        self.hits += 1
        return members.zscore(self.store.get(zmember_id(key, member)), head.hash_meta.cleared)

    def zset_write(self, key: bytes, changes: list) -> list:
        """Write ``changes`` to the sorted set at ``key`` (making it if there is none),
        each ``(member, score, increment)``: a ``ZADD`` of ``score``, or with
        ``increment`` a ``ZINCRBY`` of it; the members' new scores, in order."""
        head = self.hash_header(key, ZSET)
        version = self.hlc.now()
        if head is None:
            head = self.new_header(key, version, ZSET)
            entry = self.cache.put_hash(key, self.visible_elements(
                key, head.hash_meta.cleared, ZSET), None, ZSET)
        else:
            head = header(version, self.origin, head.hash_meta, head.deadline)
            entry = self.cached_hash(key, ZSET)
        cleared = head.hash_meta.cleared
        stamp = (version, self.origin)
        scores = []
        for member, score, increment in changes:
            identity = zmember_id(key, member)
            current = members.zstate(self.store.get(identity))
            state = current.increment(stamp, score, cleared) if increment \
                else current.assign(stamp, score)
            self.store.put(identity, members.since(members.member_record(state), cleared))
            new = state.score(cleared)
            scores.append(new)
            if entry is not None:
                self.cache.resized(key, entry.set(member, members.score_bytes(new)))
        self.store.put(key_id(key), head)
        if entry is not None:
            entry.deadline = head.deadline
        self.writes += 1
        return scores

    def zset_remove(self, key: bytes, gone: list) -> int:
        """Remove members of the sorted set at ``key``; how many it had."""
        return self.remove_elements(key, gone, ZSET)


def _ordered(scores: dict) -> list:
    return sorted((float(score), member) for member, score in scores.items())
