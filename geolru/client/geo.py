"""Geo commands for both clients, written once (as ``geolru.client.sets``), with
redis-py's names, arguments and reply shapes: ``GeoCache`` answers at once,
``TxGeoCache`` with a Deferred."""

from __future__ import annotations


def _position(pair):
    return None if pair is None else (float(pair[0]), float(pair[1]))


def _found(reply, withdist: bool, withhash: bool, withcoord: bool) -> list:
    """A search's reply as redis-py gives it: the members, or for each a list of the
    member, its distance (float), its geohash (int) and its (longitude, latitude),
    as asked."""
    reply = list(reply or ())
    if not (withdist or withhash or withcoord):
        return reply
    casts = [lambda member: member]
    casts += [cast for cast, on in ((float, withdist), (int, withhash),
                                    (_position, withcoord)) if on]
    return [[cast(value) for cast, value in zip(casts, item, strict=True)] for item in reply]


def _options(withdist, withhash, withcoord, count, any, sort) -> list:
    options = []
    options += [name for name, on in (("WITHDIST", withdist), ("WITHHASH", withhash),
                                      ("WITHCOORD", withcoord)) if on]
    if count is not None:
        options += ["COUNT", count] + (["ANY"] if any else [])
    if sort is not None:
        options.append(sort.upper())
    return options


def _centre_and_shape(member, longitude, latitude, unit, radius, width, height) -> list:
    where = ["FROMMEMBER", member] if member is not None \
        else ["FROMLONLAT", longitude, latitude]
    shape = ["BYRADIUS", radius, unit] if radius is not None \
        else ["BYBOX", width, height, unit]
    return where + shape


class GeoMethods:
    """A point is a sorted set member scored by its geohash, so it merges across
    regions as one (docs/types.md): the newest ``geoadd`` of a point wins."""

    def _then(self, reply, function):
        raise NotImplementedError

    def geoadd(self, name, values, nx=False, xx=False, ch=False) -> int:
        """``values``: longitude, latitude, member, longitude, … (as redis-py)."""
        flags = [flag for flag, on in (("NX", nx), ("XX", xx), ("CH", ch)) if on]
        return self.execute("GEOADD", name, *flags, *values)

    def geopos(self, name, *values) -> list:
        return self._then(self.execute("GEOPOS", name, *values),
                          lambda reply: [_position(pair) for pair in reply])

    def geodist(self, name, place1, place2, unit=None) -> float | None:
        return self._then(self.execute("GEODIST", name, place1, place2,
                                       *(() if unit is None else (unit,))),
                          lambda reply: None if reply is None else float(reply))

    def geohash(self, name, *values) -> list:
        """The geohashes as ``str`` (as redis-py gives them)."""
        return self._then(self.execute("GEOHASH", name, *values), lambda reply: [
            h.decode() if isinstance(h, bytes) else h for h in reply])

    def geosearch(self, name, member=None, longitude=None, latitude=None, unit="m",
                  radius=None, width=None, height=None, sort=None, count=None, any=False,
                  withcoord=False, withdist=False, withhash=False) -> list:
        return self._then(
            self.execute("GEOSEARCH", name, *_centre_and_shape(
                member, longitude, latitude, unit, radius, width, height),
                *_options(withdist, withhash, withcoord, count, any, sort)),
            lambda reply: _found(reply, withdist, withhash, withcoord))

    def geosearchstore(self, dest, name, member=None, longitude=None, latitude=None,
                       unit="m", radius=None, width=None, height=None, sort=None,
                       count=None, any=False, storedist=False) -> int:
        return self.execute("GEOSEARCHSTORE", dest, name, *_centre_and_shape(
            member, longitude, latitude, unit, radius, width, height),
            *_options(False, False, False, count, any, sort),
            *(("STOREDIST",) if storedist else ()))

    def georadius(self, name, longitude, latitude, radius, unit=None, withdist=False,
                  withcoord=False, withhash=False, count=None, sort=None, store=None,
                  store_dist=None, any=False):
        return self._radius(("GEORADIUS", name, longitude, latitude), radius, unit,
                            withdist, withcoord, withhash, count, sort, store, store_dist,
                            any)

    def georadiusbymember(self, name, member, radius, unit=None, withdist=False,
                          withcoord=False, withhash=False, count=None, sort=None,
                          store=None, store_dist=None, any=False):
        return self._radius(("GEORADIUSBYMEMBER", name, member), radius, unit, withdist,
                            withcoord, withhash, count, sort, store, store_dist, any)

    def _radius(self, command, radius, unit, withdist, withcoord, withhash, count, sort,
                store, store_dist, any):
        stored = ["STORE", store] if store is not None else \
            ["STOREDIST", store_dist] if store_dist is not None else []
        reply = self.execute(*command, radius, unit or "m", *_options(
            withdist, withhash, withcoord, count, any, sort), *stored)
        if stored:
            return reply
        return self._then(reply, lambda found: _found(found, withdist, withhash, withcoord))
