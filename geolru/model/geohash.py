"""Redis' geohash: a point as a sorted set score (52 bits: 26 of latitude interleaved
with 26 of longitude, over latitudes ±85.05112878 and longitudes ±180), back to the
point (the centre of its cell), and the standard 11-character geohash; the haversine
distance Redis uses; the nine cells a search by radius or box reads (``search_cells``).
redis-server's formulas (geohash.c, geohash_helper.c), so scores, positions, distances
and the order a search finds its points in are its own to the last digit.  Sans-IO.
"""

from __future__ import annotations

import math

LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
LONG_MIN, LONG_MAX = -180.0, 180.0
STEP = 26
EARTH_RADIUS = 6372797.560856  # meters
BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"


def _spread(value: int) -> int:
    """The bits of a 32-bit value at the even positions of a 64-bit one."""
    out = 0
    for bit in range(32):
        out |= ((value >> bit) & 1) << (2 * bit)
    return out


def _gather(value: int) -> int:
    """The even-position bits of a 64-bit value, packed."""
    out = 0
    for bit in range(32):
        out |= ((value >> (2 * bit)) & 1) << bit
    return out


def encode(longitude: float, latitude: float, lat_min: float = LAT_MIN,
           lat_max: float = LAT_MAX, long_min: float = LONG_MIN,
           long_max: float = LONG_MAX, step: int = STEP) -> int:
    """The hash of a point, ``2 * step`` bits (as ``geohashEncode``)."""
    lat_offset = (latitude - lat_min) / (lat_max - lat_min) * (1 << step)
    long_offset = (longitude - long_min) / (long_max - long_min) * (1 << step)
    return _spread(int(lat_offset) & 0xFFFFFFFF) | (_spread(int(long_offset) & 0xFFFFFFFF) << 1)


def cell(bits: int, step: int = STEP) -> tuple[float, float, float, float]:
    """The cell of a hash of ``2 * step`` bits: (longitude min, longitude max,
    latitude min, latitude max), as ``geohashDecode``."""
    lat_cell, long_cell = _gather(bits), _gather(bits >> 1)
    scale = 1 << step
    return (LONG_MIN + (long_cell * 1.0 / scale) * (LONG_MAX - LONG_MIN),
            LONG_MIN + ((long_cell + 1) * 1.0 / scale) * (LONG_MAX - LONG_MIN),
            LAT_MIN + (lat_cell * 1.0 / scale) * (LAT_MAX - LAT_MIN),
            LAT_MIN + ((lat_cell + 1) * 1.0 / scale) * (LAT_MAX - LAT_MIN))


def decode(bits: int) -> tuple[float, float]:
    """(longitude, latitude): the centre of the hash's cell, within the bounds."""
    long_lo, long_hi, lat_lo, lat_hi = cell(bits)
    longitude = min(max((long_lo + long_hi) / 2, LONG_MIN), LONG_MAX)
    latitude = min(max((lat_lo + lat_hi) / 2, LAT_MIN), LAT_MAX)
    return longitude, latitude


def standard(longitude: float, latitude: float) -> bytes:
    """The standard geohash of a point, 11 characters (the last always ``0``: 52 bits)."""
    bits = encode(longitude, latitude, -90.0, 90.0, -180.0, 180.0)
    return bytes(BASE32[(bits >> (52 - (i + 1) * 5)) & 0x1F] if i < 10 else BASE32[0]
                 for i in range(11))


def distance(long1: float, lat1: float, long2: float, lat2: float) -> float:
    """Meters between two points (haversine, as ``geohashGetDistance``)."""
    lon1r, lon2r = math.radians(long1), math.radians(long2)
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return EARTH_RADIUS * abs(math.radians(lat2) - math.radians(lat1))
    lat1r, lat2r = math.radians(lat1), math.radians(lat2)
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS * math.asin(math.sqrt(a))


def latitude_distance(lat1: float, lat2: float) -> float:
    """Meters between two latitudes on one meridian (``geohashGetLatDistance``)."""
    return EARTH_RADIUS * abs(math.radians(lat2) - math.radians(lat1))


def in_box(width: float, height: float, longitude: float, latitude: float,
           point_long: float, point_lat: float) -> float | None:
    """The distance (meters) from a box's centre to a point within ``width`` by
    ``height`` meters of it, or None (``geohashGetDistanceIfInRectangle``)."""
    if latitude_distance(point_lat, latitude) > height / 2:
        return None
    if distance(point_long, point_lat, longitude, point_lat) > width / 2:
        return None
    return distance(longitude, latitude, point_long, point_lat)


# ------------------------------------------------------------ a search's cells

MERCATOR_MAX = 20037726.37
_EVEN = 0x5555555555555555  # latitude's bits
_ODD = 0xAAAAAAAAAAAAAAAA  # longitude's bits


def _steps_for(meters: float, latitude: float) -> int:
    """``geohashEstimateStepsByRadius``: the cell size a search of this reach starts at."""
    if meters == 0:
        return 26
    step = 1
    while meters < MERCATOR_MAX:
        meters *= 2
        step += 1
    step -= 2
    if latitude > 66 or latitude < -66:
        step -= 1
        if latitude > 80 or latitude < -80:
            step -= 1
    return min(max(step, 1), 26)


def _move(bits: int, step: int, mask: int, other: int, d: int) -> int:
    """``geohash_move_x`` (``mask`` the longitude's bits) or ``_y``: one cell over."""
    if d == 0:
        return bits
    moved, kept = bits & mask, bits & other
    unit = other >> (64 - step * 2)
    moved = moved + (unit + 1) if d > 0 else (moved | unit) - (unit + 1)
    return ((moved & 0xFFFFFFFFFFFFFFFF) & (mask >> (64 - step * 2))) | kept


def _neighbour(bits: int, step: int, east: int, north: int) -> int:
    bits = _move(bits, step, _ODD, _EVEN, east)
    return _move(bits, step, _EVEN, _ODD, north)


def bounding_box(longitude: float, latitude: float, width: float,
                 height: float) -> tuple[float, float, float, float]:
    """``geohashBoundingBox``: (longitude min, latitude min, longitude max, latitude
    max) around a point, ``width`` and ``height`` meters each side of it."""
    lat_delta = math.degrees(height / EARTH_RADIUS)
    top = math.degrees(width / EARTH_RADIUS / math.cos(math.radians(latitude + lat_delta)))
    bottom = math.degrees(width / EARTH_RADIUS / math.cos(math.radians(latitude - lat_delta)))
    delta = bottom if latitude < 0 else top
    return longitude - delta, latitude - lat_delta, longitude + delta, latitude + lat_delta


# (east, north) of each cell a search reads, in Redis' order: the centre, N S E W, NE NW SE SW
_AROUND = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def search_cells(longitude: float, latitude: float, half_width: float,
                 half_height: float, reach: float) -> list:
    """``geohashCalculateAreasByShapeWGS84``: the cells a search around a point reads,
    in the order redis-server reads them, each ``(bits, step)`` or None where Redis
    leaves that neighbour out; ``half_width`` and ``half_height`` in meters (a
    radius for both), ``reach`` the farthest a match may be (the radius, or the
    box's half diagonal)."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(longitude, latitude, half_width,
                                                      half_height)
    step = _steps_for(reach, latitude)
    bits = encode(longitude, latitude, step=step)
    north = cell(_neighbour(bits, step, 0, 1), step)
    south = cell(_neighbour(bits, step, 0, -1), step)
    east = cell(_neighbour(bits, step, 1, 0), step)
    west = cell(_neighbour(bits, step, -1, 0), step)
    if step > 1 and (north[3] < max_lat or south[2] > min_lat or east[1] < max_lon
                     or west[0] > min_lon):
        step -= 1
        bits = encode(longitude, latitude, step=step)
    cells = [(_neighbour(bits, step, x, y), step) for x, y in _AROUND]
    if step >= 2:
        long_lo, long_hi, lat_lo, lat_hi = cell(bits, step)
        left_out = set()
        if lat_lo < min_lat:
            left_out |= {(0, -1), (-1, -1), (1, -1)}
        if lat_hi > max_lat:
            left_out |= {(0, 1), (1, 1), (-1, 1)}
        if long_lo < min_lon:
            left_out |= {(-1, 0), (-1, -1), (-1, 1)}
        if long_hi > max_lon:
            left_out |= {(1, 0), (1, -1), (1, 1)}
        cells = [None if around in left_out else found
                 for around, found in zip(_AROUND, cells, strict=True)]
    return cells


def score_range(bits: int, step: int) -> tuple[int, int]:
    """The scores of the points in a cell: from the first (included) to the second
    (excluded), as ``scoresOfGeoHashBox``."""
    shift = 52 - step * 2
    return bits << shift, (bits + 1) << shift
