"""Set and sorted set commands for both clients, written once (as
``geolru.client.hashes``):
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


def _pairs(reply) -> list:
    """WITHSCORES' reply: [(member, score), ...], from pairs (RESP3, or redis-py's
    callback) or a flat list (hiredis, RESP2)."""
    reply = list(reply or ())
    if reply and isinstance(reply[0], (list, tuple)):
        return [(m, float(s)) for m, s in reply]
    return [(m, float(s)) for m, s in zip(reply[0::2], reply[1::2], strict=True)]


def _score(reply):
    return None if reply is None else float(reply)


class ZSetMethods:
    """A sorted set's membership merges as a set's; its scores as counters: ``zincrby``
    from every region adds up, a ``zadd`` replaces the increments made on an older
    score (docs/collections.md)."""

    def _then(self, reply, function):
        raise NotImplementedError

    def zadd(self, key, mapping: dict, nx=False, xx=False, ch=False, gt=False,
             lt=False) -> int:
        flags = [name for name, on in (("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt),
                                       ("CH", ch)) if on]
        return self.execute("ZADD", key, *flags,
                            *(x for member, score in mapping.items() for x in (score, member)))

    def zincrby(self, key, amount: float, member) -> float:
        return self._then(self.execute("ZINCRBY", key, amount, member), _score)

    def zrem(self, key, *members) -> int:
        return self.execute("ZREM", key, *members)

    def zscore(self, key, member) -> float | None:
        return self._then(self.execute("ZSCORE", key, member), _score)

    def zcard(self, key) -> int:
        return self.execute("ZCARD", key)

    def zrank(self, key, member, withscore: bool = False):
        """The rank, or with ``withscore`` ``[rank, score]`` (Redis 7.2's option)."""
        return self._rank("ZRANK", key, member, withscore)

    def zrevrank(self, key, member, withscore: bool = False):
        return self._rank("ZREVRANK", key, member, withscore)

    def _rank(self, command, key, member, withscore: bool):
        if not withscore:
            return self.execute(command, key, member)
        return self._then(self.execute(command, key, member, "WITHSCORE"),
                          lambda reply: None if reply is None
                          else [reply[0], float(reply[1])])

    def zmpop(self, num_keys: int, keys: list, min: bool = False, max: bool = False,
              count: int = 1):
        """redis-py's: ``[key, [[member, score], ...]]`` or None."""
        return self._then(
            self.execute("ZMPOP", num_keys, *keys, "MIN" if min else "MAX", "COUNT", count),
            lambda reply: None if reply is None else [
                reply[0], [[m, float(s)] for m, s in reply[1]]])

    def zrange(self, key, start, end, withscores: bool = False, desc: bool = False):
        args = ("ZRANGE", key, start, end, *(("REV",) if desc else ()))
        if withscores:
            return self._then(self.execute(*args, "WITHSCORES"), _pairs)
        return self.execute(*args)
