"""List commands for both clients, written once (as ``geolru.client.sets``), with
redis-py's names and arguments: ``GeoCache`` answers at once, ``TxGeoCache`` with a
Deferred."""

from __future__ import annotations


def _ok(reply) -> bool:
    return reply in (b"OK", "OK", True)


class ListMethods:
    """Pushes and inserts made in several regions at once all stay, in one order every
    region shows; an element popped in two regions at once is removed once, and both
    clients get it (docs/types.md)."""

    def _then(self, reply, function):
        raise NotImplementedError

    def lpush(self, name, *values) -> int:
        return self.execute("LPUSH", name, *values)

    def rpush(self, name, *values) -> int:
        return self.execute("RPUSH", name, *values)

    def lpushx(self, name, *values) -> int:
        return self.execute("LPUSHX", name, *values)

    def rpushx(self, name, *values) -> int:
        return self.execute("RPUSHX", name, *values)

    def lpop(self, name, count: int | None = None):
        return self.execute("LPOP", name, *(() if count is None else (count,)))

    def rpop(self, name, count: int | None = None):
        return self.execute("RPOP", name, *(() if count is None else (count,)))

    def lrange(self, name, start: int, end: int) -> list:
        return self.execute("LRANGE", name, start, end)

    def lindex(self, name, index: int):
        return self.execute("LINDEX", name, index)

    def llen(self, name) -> int:
        return self.execute("LLEN", name)

    def lset(self, name, index: int, value) -> bool:
        return self._then(self.execute("LSET", name, index, value), _ok)

    def linsert(self, name, where: str, refvalue, value) -> int:
        return self.execute("LINSERT", name, where, refvalue, value)

    def lrem(self, name, count: int, value) -> int:
        return self.execute("LREM", name, count, value)

    def ltrim(self, name, start: int, end: int) -> bool:
        return self._then(self.execute("LTRIM", name, start, end), _ok)

    def lpos(self, name, value, rank: int | None = None, count: int | None = None,
             maxlen: int | None = None):
        options = [x for word, n in (("RANK", rank), ("COUNT", count), ("MAXLEN", maxlen))
                   if n is not None for x in (word, n)]
        return self.execute("LPOS", name, value, *options)

    def lmove(self, first_list, second_list, src: str = "LEFT", dest: str = "RIGHT"):
        return self.execute("LMOVE", first_list, second_list, src, dest)

    def rpoplpush(self, src, dst):
        return self.execute("RPOPLPUSH", src, dst)

    def lmpop(self, num_keys: int, *args, direction: str, count: int | None = 1):
        return self.execute("LMPOP", num_keys, *args, direction,
                            *(() if count is None else ("COUNT", count)))
