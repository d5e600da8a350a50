"""Set commands for both clients, written once (as ``geolru.client.hashes``):
``GeoCache`` answers at once, ``TxGeoCache`` with a Deferred."""

from __future__ import annotations


def _as_set(reply) -> set:
    return set(reply or ())


def _as_bools(reply) -> list:
    return [bool(x) for x in reply]


class SetMethods:
    """A set merges as an observed-remove set: an add wins over a remove made in
    another region at the same time (docs/types.md)."""

    def _then(self, reply, function):
        raise NotImplementedError

    def sadd(self, key, *members) -> int:
        return self.execute("SADD", key, *members)

    def srem(self, key, *members) -> int:
        return self.execute("SREM", key, *members)

    def smembers(self, key) -> set:
        return self._then(self.execute("SMEMBERS", key), _as_set)

    def sismember(self, key, member) -> bool:
        return self._then(self.execute("SISMEMBER", key, member), bool)

    def smismember(self, key, *members) -> list:
        return self._then(self.execute("SMISMEMBER", key, *members), _as_bools)

    def scard(self, key) -> int:
        return self.execute("SCARD", key)

    def spop(self, key, count: int | None = None):
        return self.execute("SPOP", key, *(() if count is None else (count,)))

    def srandmember(self, key, number: int | None = None):
        return self.execute("SRANDMEMBER", key, *(() if number is None else (number,)))

    def smove(self, source, destination, member) -> bool:
        return self._then(self.execute("SMOVE", source, destination, member), bool)

    def sinter(self, *keys) -> set:
        return self._then(self.execute("SINTER", *keys), _as_set)

    def sunion(self, *keys) -> set:
        return self._then(self.execute("SUNION", *keys), _as_set)

    def sdiff(self, *keys) -> set:
        return self._then(self.execute("SDIFF", *keys), _as_set)

    def sinterstore(self, destination, *keys) -> int:
        return self.execute("SINTERSTORE", destination, *keys)

    def sunionstore(self, destination, *keys) -> int:
        return self.execute("SUNIONSTORE", destination, *keys)

    def sdiffstore(self, destination, *keys) -> int:
        return self.execute("SDIFFSTORE", destination, *keys)

    def sintercard(self, *keys, limit: int = 0) -> int:
        return self.execute("SINTERCARD", len(keys), *keys,
                            *(("LIMIT", limit) if limit else ()))
