"""Redis' geohash: a point as a sorted set score (52 bits: 26 of latitude interleaved
with 26 of longitude, over latitudes ±85.05112878 and longitudes ±180), back to the
point (the centre of its cell), and the standard 11-character geohash; the haversine
distance Redis uses.  redis-server's formulas (geohash.c, geohash_helper.c), so
scores, positions and distances are its own to the last digit.  Sans-IO.
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
           long_max: float = LONG_MAX) -> int:
    """The 52-bit hash of a point (as ``geohashEncode`` at step 26)."""
    lat_offset = (latitude - lat_min) / (lat_max - lat_min) * (1 << STEP)
    long_offset = (longitude - long_min) / (long_max - long_min) * (1 << STEP)
    return _spread(int(lat_offset) & 0xFFFFFFFF) | (_spread(int(long_offset) & 0xFFFFFFFF) << 1)


def decode(bits: int) -> tuple[float, float]:
    """(longitude, latitude): the centre of the hash's cell, within the bounds."""
    lat_cell, long_cell = _gather(bits), _gather(bits >> 1)
    scale = 1 << STEP
    lat_lo = LAT_MIN + (lat_cell * 1.0 / scale) * (LAT_MAX - LAT_MIN)
    lat_hi = LAT_MIN + ((lat_cell + 1) * 1.0 / scale) * (LAT_MAX - LAT_MIN)
    long_lo = LONG_MIN + (long_cell * 1.0 / scale) * (LONG_MAX - LONG_MIN)
    long_hi = LONG_MIN + ((long_cell + 1) * 1.0 / scale) * (LONG_MAX - LONG_MIN)
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
