"""Geography: which regions are nearest a point, on the WGS84 ellipsoid.

Region positions live in a geopandas ``GeoDataFrame``.  ``LOCATE`` does not
ask geopandas for distances per query (planar degrees, and ~0.6 ms for 1,000
regions): ranking uses unit vectors on the sphere, where the largest dot
product is the smallest great-circle angle, and only the few regions that can
be among the nearest get a geodesic distance from ``pyproj.Geod`` (WGS84),
which decides the order.
"""

from __future__ import annotations

import math

import geopandas
import numpy as np
from pyproj import Geod
from shapely.geometry import Point

GEOD = Geod(ellps="WGS84")


def unit_vectors(latitudes, longitudes) -> np.ndarray:
    lat = np.radians(np.asarray(latitudes, dtype=float))
    lon = np.radians(np.asarray(longitudes, dtype=float))
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def check_coordinates(latitude: float, longitude: float) -> str | None:
    """Why this is not a position on Earth, or ``None``."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return "coordinates must be finite numbers"
    if not -90 <= latitude <= 90:
        return f"latitude {latitude:g} is outside [-90, 90]"
    if not -180 <= longitude <= 180:
        return f"longitude {longitude:g} is outside [-180, 180]"
    return None


class NearestIndex:
    """Ranks a fixed set of named positions by distance to a query point.

    Built from a ``GeoDataFrame`` (index: names; Point geometries in
    longitude/latitude); rebuild it when the set changes.  Ties (equal
    angle) are broken by name, so answers are deterministic.  One thread
    (the master's reactor) queries it: the query vector is reused.
    """

    def __init__(self, frame: geopandas.GeoDataFrame):
        order = np.argsort(np.asarray(frame.index, dtype=str), kind="stable")
        frame = frame.iloc[order]
        self.names = list(frame.index)
        self.latitudes = frame.geometry.y.to_numpy(dtype=float)
        self.longitudes = frame.geometry.x.to_numpy(dtype=float)
        self._vectors = unit_vectors(self.latitudes, self.longitudes)
        self._positions = list(zip(self.longitudes.tolist(), self.latitudes.tolist(),
                                   strict=True))
        self._query = np.empty(3)

    def __len__(self) -> int:
        return len(self.names)

    def nearest(self, latitude: float, longitude: float, n: int = 1) -> list[tuple[str, float]]:
        """Up to ``n`` (name, geodesic km), nearest first, ties by name.

        The sphere ranks; the ellipsoid decides.  Great-circle and WGS84
        distances differ by under 0.6%, so every region whose angle is within
        1% of the n-th's is a candidate; only those get a geodesic distance.
        """
        if not self.names:
            return []
        lat, lon = math.radians(latitude), math.radians(longitude)
        cos_lat = math.cos(lat)
        query = self._query  # reused: building an array per query cost more than this
        query[0], query[1], query[2] = cos_lat * math.cos(lon), cos_lat * math.sin(lon), \
            math.sin(lat)
        dots = self._vectors @ query
        n = min(n, len(self.names))
        if n == 1:
            best = int(dots.argmax())
            nth_dot = float(dots[best])
        else:
            nth_dot = float(-np.partition(-dots, n - 1)[n - 1])
        # every region within 1% of the n-th's angle (plus rounding) is a candidate
        allowed = math.acos(max(-1.0, min(1.0, nth_dot))) * 1.01 + 1e-9
        candidates = np.flatnonzero(dots >= math.cos(min(allowed, math.pi)))
        inv, positions, names = GEOD.inv, self._positions, self.names
        if n == 1 and len(candidates) == 1:  # the usual case: no near tie to settle
            return [(names[best], inv(longitude, latitude, *positions[best])[2] / 1000.0)]
        ranked = sorted((inv(longitude, latitude, *positions[i])[2] / 1000.0, names[i])
                        for i in candidates.tolist())
        return [(name, km) for km, name in ranked[:n]]


def regions_frame(rows: list[dict]) -> geopandas.GeoDataFrame:
    """A GeoDataFrame of regions: one row per dict with name, latitude, longitude …"""
    columns = ["name", "host", "port", "peer_port", "latitude", "longitude", "up",
               "last_heartbeat", "registered_from"]
    frame = geopandas.GeoDataFrame(
        [{c: row.get(c) for c in columns} for row in rows], columns=columns,
        geometry=[Point(row["longitude"], row["latitude"]) for row in rows], crs="EPSG:4326")
    return frame.set_index("name", drop=False)


def naive_nearest(frame: geopandas.GeoDataFrame, latitude: float, longitude: float):
    """The per-query geopandas way (planar degrees): for the benchmark only.

    geopandas warns that degrees are no distance; the caller silences that.
    """
    distances = frame.geometry.distance(Point(longitude, latitude))
    return distances.idxmin()
