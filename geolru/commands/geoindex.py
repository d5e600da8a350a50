"""Geo commands on sorted sets: GEOADD (NX XX CH) GEOPOS GEODIST GEOHASH.

A point is a sorted set member whose score is Redis' 52-bit geohash
(``geolru.model.geohash``): it replicates and merges as any sorted set member.
Replies are redis-server 7.0's, coordinates and distances included.  GEOSEARCH,
GEOSEARCHSTORE and the GEORADIUS forms are not built yet.
"""

from __future__ import annotations

from geolru.commands.args import SYNTAX, keyword
from geolru.commands.values import format_long_double
from geolru.commands.zsets import parse_score
from geolru.model import geohash
from geolru.resp import codec as p

UNITS = {b"M": 1.0, b"KM": 1000.0, b"FT": 0.3048, b"MI": 1609.34}
BAD_UNIT = p.error("ERR unsupported unit provided. please use M, KM, FT, MI")


def _coordinate(value: float, resp3: bool) -> bytes:
    import numpy
    text = format_long_double(numpy.longdouble(value))
    return b",%s\r\n" % text if resp3 else p.bulk(text)


class GeoIndexCommands:

    def cmd_geoadd(self, session, args):
        flags, at = [], 2
        while at < len(args) and keyword(args[at]) in (b"NX", b"XX", b"CH"):
            flags.append(keyword(args[at]))
            at += 1
        if (len(args) - at) % 3 or (b"NX" in flags and b"XX" in flags):
            return SYNTAX
        pairs = []
        for j in range(at, len(args), 3):
            longitude, latitude = parse_score(args[j]), parse_score(args[j + 1])
            if longitude is None or latitude is None:
                return p.error("ERR value is not a valid float")
            if not (geohash.LONG_MIN <= longitude <= geohash.LONG_MAX
                    and geohash.LAT_MIN <= latitude <= geohash.LAT_MAX):
                return p.error("ERR invalid longitude,latitude pair %f,%f"
                               % (longitude, latitude))
            pairs.append((args[j + 2], float(geohash.encode(longitude, latitude))))
        if not pairs:
            return SYNTAX
        return self._zadd(session, args[1], pairs, set(flags), False)

    def _points(self, key: bytes, members) -> list:
        """Each member's (longitude, latitude), or None; WRONGTYPE if ``key`` holds
        another type."""
        scores = self.keyspace.zset_scores(key)
        return [None if scores.get(m) is None else geohash.decode(int(float(scores[m])))
                for m in members]

    def cmd_geopos(self, session, args):
        out = []
        for point in self._points(args[1], args[2:]):
            if point is None:
                out.append(session.nil if session.resp3 else p.NIL_ARRAY)
            else:
                out.append(b"*2\r\n" + _coordinate(point[0], session.resp3)
                           + _coordinate(point[1], session.resp3))
        return p.array(out)

    def cmd_geodist(self, session, args):
        to_meter = 1.0
        if len(args) == 5:
            to_meter = UNITS.get(keyword(args[4]))
            if to_meter is None:
                return BAD_UNIT
        elif len(args) > 5:
            return SYNTAX
        if not self.keyspace.zset_scores(args[1]):
            return session.nil
        first, second = self._points(args[1], args[2:4])
        if first is None or second is None:
            return session.nil
        return p.bulk(b"%.4f" % (geohash.distance(*first, *second) / to_meter))

    def cmd_geohash(self, session, args):
        return p.array([session.nil if point is None else p.bulk(geohash.standard(*point))
                        for point in self._points(args[1], args[2:])])
