"""Geo commands on sorted sets: GEOADD (NX XX CH) GEOPOS GEODIST GEOHASH, GEOSEARCH,
GEOSEARCHSTORE and the older GEORADIUS, GEORADIUSBYMEMBER and their ``_RO`` forms.

A point is a sorted set member whose score is Redis' 52-bit geohash
(``geolru.model.geohash``): it replicates and merges as any sorted set member.
Replies are redis-server 7.0's, coordinates and distances included.  A search reads
the cells redis-server reads, in its order, so a search that neither sorts nor stops
early (``ANY``) lists its points in redis-server's order too.
"""

from __future__ import annotations

import bisect
import math

from geolru.commands.args import SYNTAX, keyword, null_array, text
from geolru.commands.values import format_long_double
from geolru.commands.zsets import parse_score
from geolru.model import geohash
from geolru.resp import codec as p

UNITS = {b"M": 1.0, b"KM": 1000.0, b"FT": 0.3048, b"MI": 1609.34}
BAD_UNIT = p.error("ERR unsupported unit provided. please use M, KM, FT, MI")
NOT_A_FLOAT = p.error("ERR value is not a valid float")
NOT_A_MEMBER = p.error("ERR could not decode requested zset member")

# how georadiusGeneric was called: the centre from coordinates or from a member
# (GEORADIUS…), from options (GEOSEARCH…); no STORE (the _RO forms); a destination
COORDS, MEMBER, NO_STORE, SEARCH, SEARCH_STORE = 1, 2, 4, 8, 16


def fixed4(value: float) -> bytes:
    """A distance with four decimals, rounded as redis-server's
    ``fixedpoint_d2string`` rounds (the scaled double to the nearest, ties to even)."""
    if value == 0:
        return b"0.0000"
    scaled = round(value * 10000.0)
    sign, scaled = (b"-", -scaled) if scaled < 0 else (b"", scaled)
    return b"%s%d.%04d" % (sign, scaled // 10000, scaled % 10000)


def _long_lat(raw: list) -> tuple[float, float] | bytes:
    """A point from two arguments (``extractLongLatOrReply``), or the error reply."""
    longitude, latitude = parse_score(raw[0]), parse_score(raw[1])
    if longitude is None or latitude is None:
        return NOT_A_FLOAT
    if not (geohash.LONG_MIN <= longitude <= geohash.LONG_MAX
            and geohash.LAT_MIN <= latitude <= geohash.LAT_MAX):
        return p.error("ERR invalid longitude,latitude pair %f,%f" % (longitude, latitude))
    return longitude, latitude


def _sizes(raw: list, names: tuple) -> tuple | bytes:
    """Sizes then a unit (``extractDistanceOrReply``, ``extractBoxOrReply``): the
    sizes and the unit's meters, or the error reply."""
    sizes = []
    for value, name in zip(raw, names, strict=False):
        size = parse_score(value)
        if size is None:
            return p.error(f"ERR need numeric {name}")
        sizes.append(size)
    if any(size < 0 for size in sizes):
        return p.error("ERR radius cannot be negative" if len(names) == 1
                       else "ERR height or width cannot be negative")
    to_meter = UNITS.get(keyword(raw[len(names)]))
    if to_meter is None:
        return BAD_UNIT
    return (*sizes, to_meter)


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
                out.append(null_array(session))
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
        return p.bulk(fixed4(geohash.distance(*first, *second) / to_meter))

    def cmd_geohash(self, session, args):
        return p.array([session.nil if point is None else p.bulk(geohash.standard(*point))
                        for point in self._points(args[1], args[2:])])

    # ------------------------------------------------------------ searches

    def cmd_georadius(self, session, args):
        return self._search(session, args, COORDS)

    def cmd_georadius_ro(self, session, args):
        return self._search(session, args, COORDS | NO_STORE)

    def cmd_georadiusbymember(self, session, args):
        return self._search(session, args, MEMBER)

    def cmd_georadiusbymember_ro(self, session, args):
        return self._search(session, args, MEMBER | NO_STORE)

    def cmd_geosearch(self, session, args):
        return self._search(session, args, SEARCH)

    def cmd_geosearchstore(self, session, args):
        return self._search(session, args, SEARCH | SEARCH_STORE)

    def _search(self, session, args, flags: int) -> bytes:
        """``georadiusGeneric``, in its order of checks: the source's type, the centre
        and size GEORADIUS takes first, the options, their combinations; then the
        points in the cells around the centre, filtered by the shape."""
        source = args[2] if flags & SEARCH_STORE else args[1]
        scores = self.keyspace.zset_scores(source)
        centre = radius = box = None
        destination, store_distance = None, False
        if flags & COORDS:
            base = 6
            centre = _long_lat(args[2:4])
            if isinstance(centre, bytes):
                return centre
            radius = _sizes(args[4:6], ("radius",))
            if isinstance(radius, bytes):
                return radius
        elif flags & MEMBER:
            base = 5
            if scores:
                centre = self._point(scores, args[2])
                if centre is None:
                    return NOT_A_MEMBER
                radius = _sizes(args[3:5], ("radius",))
                if isinstance(radius, bytes):
                    return radius
        else:
            base = 3 if flags & SEARCH_STORE else 2
            if flags & SEARCH_STORE:
                destination = args[1]
        withdist = withhash = withcoord = any_ = False
        sort, count = None, 0
        from_member = from_point = False
        j, end = base, len(args)
        while j < end:
            word, left = keyword(args[j]), end - j - 1
            if word == b"WITHDIST":
                withdist = True
            elif word == b"WITHHASH":
                withhash = True
            elif word == b"WITHCOORD":
                withcoord = True
            elif word == b"ANY":
                any_ = True
            elif word in (b"ASC", b"DESC"):
                sort = word
            elif word == b"COUNT" and left >= 1:
                count = p.parse_int(args[j + 1])
                if count is None:
                    return p.error("ERR value is not an integer or out of range")
                if count <= 0:
                    return p.error("ERR COUNT must be > 0")
                j += 1
            elif word in (b"STORE", b"STOREDIST") and left >= 1 \
                    and not flags & (NO_STORE | SEARCH):
                destination, store_distance = args[j + 1], word == b"STOREDIST"
                j += 1
            elif word == b"STOREDIST" and flags & SEARCH_STORE:
                store_distance = True
            elif word == b"FROMMEMBER" and left >= 1 and flags & SEARCH and not from_point:
                from_member = True
                if scores:
                    centre = self._point(scores, args[j + 1])
                    if centre is None:
                        return NOT_A_MEMBER
                j += 1
            elif word == b"FROMLONLAT" and left >= 2 and flags & SEARCH and not from_member:
                centre = _long_lat(args[j + 1:j + 3])
                if isinstance(centre, bytes):
                    return centre
                from_point = True
                j += 2
            elif word == b"BYRADIUS" and left >= 2 and flags & SEARCH and box is None:
                radius = _sizes(args[j + 1:j + 3], ("radius",))
                if isinstance(radius, bytes):
                    return radius
                j += 2
            elif word == b"BYBOX" and left >= 3 and flags & SEARCH and radius is None:
                box = _sizes(args[j + 1:j + 4], ("width", "height"))
                if isinstance(box, bytes):
                    return box
                j += 3
            else:
                return SYNTAX
            j += 1
        if destination is not None and (withdist or withhash or withcoord):
            return p.error("ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD "
                           "options" % ("GEOSEARCHSTORE" if flags & SEARCH_STORE
                                        else "STORE option in GEORADIUS"))
        if flags & SEARCH and not (from_member or from_point):
            return p.error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified "
                           "for %s" % text(args[0]))
        if flags & SEARCH and radius is None and box is None:
            return p.error("ERR exactly one of BYRADIUS and BYBOX can be specified for %s"
                           % text(args[0]))
        if any_ and not count:
            return p.error("ERR the ANY argument requires COUNT argument")
        if not scores:
            if destination is None:
                return p.EMPTY_ARRAY
            self.keyspace.delete(destination)
            return p.integer(0)
        if count and sort is None and not any_:
            sort = b"ASC"
        found = self._points_in(source, centre, radius, box, count if any_ else 0)
        if sort is not None:
            found.sort(key=lambda point: point[1], reverse=sort == b"DESC")
        if count:
            found = found[:count]
        to_meter = (radius or box)[-1]
        if destination is not None:
            return self._store_points(destination, found, store_distance, to_meter)
        if not found:
            return p.EMPTY_ARRAY
        out = []
        for member, meters, score, longitude, latitude in found:
            if not (withdist or withhash or withcoord):
                out.append(p.bulk(member))
                continue
            item = [p.bulk(member)]
            if withdist:
                item.append(p.bulk(fixed4(meters / to_meter)))
            if withhash:
                item.append(p.integer(int(score)))
            if withcoord:
                item.append(b"*2\r\n" + _coordinate(longitude, session.resp3)
                            + _coordinate(latitude, session.resp3))
            out.append(p.array(item))
        return p.array(out)

    @staticmethod
    def _point(scores: dict, member: bytes) -> tuple[float, float] | None:
        score = scores.get(member)
        return None if score is None else geohash.decode(int(float(score)))

    def _points_in(self, key: bytes, centre: tuple, radius, box, limit: int) -> list:
        """The points of the sorted set within the shape: ``(member, meters, score,
        longitude, latitude)`` in the order redis-server finds them (its cells in its
        order, each by score), stopping at ``limit`` points if it is not 0
        (``membersOfAllNeighbors``)."""
        longitude, latitude = centre
        if radius is not None:
            meters = radius[0] * radius[1]
            cells = geohash.search_cells(longitude, latitude, meters, meters, meters)

            def within(x, y):
                found = geohash.distance(longitude, latitude, x, y)
                return None if found > meters else found
        else:
            width, height, to_meter = box
            cells = geohash.search_cells(
                longitude, latitude, to_meter * (width / 2), to_meter * (height / 2),
                math.sqrt((width / 2) * (width / 2) + (height / 2) * (height / 2)) * to_meter)

            def within(x, y):
                return geohash.in_box(width * to_meter, height * to_meter,
                                      longitude, latitude, x, y)
        ordered = self.keyspace.zset_ordered(key)
        found, last = [], 0
        for at, cell in enumerate(cells):
            if cell is None or (last and cell == cells[last]):
                continue  # (Redis skips a cell only if it is the one read just before)
            if found and limit and len(found) >= limit:
                break
            low, high = geohash.score_range(*cell)
            j = bisect.bisect_left(ordered, low, key=_score)
            while j < len(ordered) and ordered[j][0] < high:
                score, member = ordered[j]
                x, y = geohash.decode(int(score))
                meters_away = within(x, y)
                if meters_away is not None:
                    found.append((member, meters_away, score, x, y))
                if found and limit and len(found) >= limit:
                    break
                j += 1
            last = at
        return found

    def _store_points(self, destination: bytes, found: list, store_distance: bool,
               to_meter: float) -> bytes:
        """GEOSEARCHSTORE's and STORE's: a sorted set of the points found, scored by
        geohash or (STOREDIST) by distance; no points deletes the destination."""
        chosen = {member: meters / to_meter if store_distance else score
                  for member, meters, score, _, _ in found}
        keyspace = self.keyspace
        with keyspace.transaction():
            keyspace.delete(destination)
            if chosen:
                keyspace.zset_write(destination, [(m, s, False) for m, s in chosen.items()])
        return p.integer(len(found))


def _score(pair: tuple) -> float:
    return pair[0]
