"""Geography: which regions are nearest a point, on the WGS84 ellipsoid.

Region positions live in a geopandas ``GeoDataFrame``.  ``LOCATE`` does not
ask geopandas for distances per query (planar degrees, and ~0.6 ms for 1,000
regions): ranking uses unit vectors on the sphere, where the largest dot
product is the smallest great-circle angle, and only the few regions that can
be among the nearest get a geodesic distance from ``pyproj.Geod`` (WGS84),
which decides the order.  For the nearest one alone, the candidates come from
the query's 2°×2° cell (computed once per cell), which is cheaper than
numpy's per-call cost over every region.
"""

from __future__ import annotations

import math

import geopandas
import numpy as np
from pyproj import Geod
from shapely.geometry import Point

GEOD = Geod(ellps="WGS84")
CELL_DEGREES = 2  # LOCATE's cells: 2° of latitude by 2° of longitude
ROWS, COLUMNS = 180 // CELL_DEGREES, 360 // CELL_DEGREES
# no point of a cell is further than this angle from its centre: a path along the
# meridian (at most half a cell) and then along the parallel (at most half a cell,
# shorter still away from the equator) joins them, and the great circle is shorter
CELL_RADIUS = math.radians(CELL_DEGREES)
SLACK = 1e-6  # radians: room for rounding in the angles


def unit_vectors(latitudes, longitudes) -> np.ndarray:
    lat = np.radians(np.asarray(latitudes, dtype=float))
    lon = np.radians(np.asarray(longitudes, dtype=float))
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def near_tie(dot: float) -> float:
    """The smallest dot product of a region within 1% (plus rounding) of the angle
    that ``dot`` stands for: the ellipsoid may rank any of them first."""
    allowed = math.acos(max(-1.0, min(1.0, dot))) * 1.01 + 1e-9
    return math.cos(min(allowed, math.pi))


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
        # cell -> the regions that can be (or tie with) the nearest of any of its
        # points, as (index, x, y, z): found on the cell's first query
        self._cells: dict[int, tuple] = {}

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
        if n == 1:
            return self._nearest_one(latitude, longitude)
        lat, lon = math.radians(latitude), math.radians(longitude)
        cos_lat = math.cos(lat)
        query = self._query  # reused: building an array per query cost more than this
        query[0], query[1], query[2] = cos_lat * math.cos(lon), cos_lat * math.sin(lon), \
            math.sin(lat)
        dots = self._vectors @ query
        n = min(n, len(self.names))
        nth_dot = float(-np.partition(-dots, n - 1)[n - 1])
        candidates = np.flatnonzero(dots >= near_tie(nth_dot))
        return self._ranked(latitude, longitude, candidates.tolist())[:n]

    def _ranked(self, latitude: float, longitude: float, candidates) -> list:
        inv, positions, names = GEOD.inv, self._positions, self.names
        ranked = sorted((inv(longitude, latitude, *positions[i])[2] / 1000.0, names[i])
                        for i in candidates)
        return [(name, km) for km, name in ranked]

    def _nearest_one(self, latitude: float, longitude: float) -> list[tuple[str, float]]:
        """``nearest(n=1)`` among the few regions of the point's cell, in plain
        Python: cheaper than numpy's per-call cost whatever the number of regions."""
        lat, lon = math.radians(latitude), math.radians(longitude)
        cos_lat = math.cos(lat)
        qx, qy, qz = cos_lat * math.cos(lon), cos_lat * math.sin(lon), math.sin(lat)
        cell = self._cell(latitude, longitude)
        dots = [x * qx + y * qy + z * qz for _, x, y, z in cell]
        threshold = near_tie(max(dots))
        close = [cell[k][0] for k, dot in enumerate(dots) if dot >= threshold]
        if len(close) == 1:  # the usual case: no near tie to settle
            best = close[0]
            return [(self.names[best],
                     GEOD.inv(longitude, latitude, *self._positions[best])[2] / 1000.0)]
        return self._ranked(latitude, longitude, close)[:1]

    def _cell(self, latitude: float, longitude: float) -> tuple:
        """The candidates of the cell holding this point.

        For any point p of a cell with centre c and radius r, and the region b
        nearest c: p's nearest region, and any within 1% of its angle, is at an
        angle from c of at most 1.01 (angle(c, b) + r) + r.
        """
        row = min(int((latitude + 90.0) // CELL_DEGREES), ROWS - 1)
        column = min(int((longitude + 180.0) // CELL_DEGREES), COLUMNS - 1)
        key = row * COLUMNS + column
        cell = self._cells.get(key)
        if cell is None:
            centre = unit_vectors([-90.0 + (row + 0.5) * CELL_DEGREES],
                                  [-180.0 + (column + 0.5) * CELL_DEGREES])[0]
            dots = self._vectors @ centre
            best = math.acos(max(-1.0, min(1.0, float(dots.max()))))
            limit = 1.01 * (best + CELL_RADIUS) + CELL_RADIUS + SLACK
            members = np.flatnonzero(dots >= math.cos(min(limit, math.pi))).tolist()
            cell = self._cells[key] = tuple(
                (i, *self._vectors[i].tolist()) for i in members)
        return cell


def regions_frame(rows: list[dict]) -> geopandas.GeoDataFrame:
    """A GeoDataFrame of regions: one row per dict with name, latitude, longitude …"""
    columns = ["name", "host", "port", "peer_port", "latitude", "longitude", "up", "syncing",
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
