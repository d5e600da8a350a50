"""Nearest region on WGS84: unit vectors for ranking, pyproj.Geod for distance."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geolru.master.geo import GEOD, NearestIndex, check_coordinates, regions_frame

REGIONS = {
    "montreal": (45.5019, -73.5674), "frankfurt": (50.1109, 8.6821),
    "singapore": (1.3521, 103.8198), "saopaulo": (-23.5505, -46.6333),
    "sydney": (-33.8688, 151.2093),
}


def index(regions=REGIONS):
    return NearestIndex(regions_frame([
        {"name": n, "latitude": lat, "longitude": lon} for n, (lat, lon) in regions.items()]))


def brute_force(lat, lon, regions=REGIONS):
    distances = {n: GEOD.inv(lon, lat, rlon, rlat)[2] / 1000 for n, (rlat, rlon) in regions.items()}
    return sorted(distances.items(), key=lambda item: (item[1], item[0]))


@pytest.mark.parametrize("place, lat, lon, nearest", [
    ("New York", 40.71, -74.01, "montreal"),
    ("Tonga", -21.18, -175.20, "sydney"),       # across the antimeridian
    ("Honolulu", 21.31, -157.86, "montreal"),
    ("Eastern Siberia", 66.0, 170.0, "montreal"),  # over the pole, not across the map
    ("North Pole", 89.9, 0.0, "frankfurt"),
    ("Cape Town", -33.92, 18.42, "saopaulo"),
])
def test_nearest_is_geodesic(place, lat, lon, nearest):
    expected = brute_force(lat, lon)[0]
    assert expected[0] == nearest, f"{place}: the test's own expectation is wrong"
    name, km = index().nearest(lat, lon)[0]
    assert name == nearest
    assert km == pytest.approx(expected[1], rel=1e-9)


def test_planar_degrees_would_pick_wrong_across_the_antimeridian():
    frame = regions_frame([{"name": n, "latitude": a, "longitude": o}
                           for n, (a, o) in REGIONS.items()])
    from shapely.geometry import Point
    with pytest.warns(UserWarning, match="geographic CRS"):
        planar = frame.geometry.distance(Point(-175.20, -21.18)).idxmin()
    assert planar != "sydney"  # which is why LOCATE does not do this
    assert index().nearest(-21.18, -175.20)[0][0] == "sydney"


@settings(max_examples=200, deadline=None)
@given(st.floats(-90, 90), st.floats(-180, 180), st.integers(1, 5))
def test_ranking_matches_brute_force_geodesic(lat, lon, n):
    got = index().nearest(lat, lon, n)
    want = brute_force(lat, lon)[:n]
    assert [name for name, _ in got] == [name for name, _ in want]
    assert np.allclose([km for _, km in got], [km for _, km in want])


def random_regions(seed: int, count: int) -> dict:
    import random
    rng = random.Random(seed)
    return {f"r{i}": (rng.uniform(-90, 90), rng.uniform(-180, 180)) for i in range(count)}


DENSE = random_regions(7, 400)
DENSE_INDEX = index(DENSE)  # one index for every example: its cells fill as they go
corners = st.sampled_from([-90.0, -89.999, 0.0, 1.9999999, 2.0, 89.999, 90.0])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(-90, 90), corners),
       st.one_of(st.floats(-180, 180), corners.map(lambda x: 2 * x)))
def test_the_nearest_from_a_cells_candidates_is_the_geodesic_nearest(lat, lon):
    """n=1 looks only at the regions its 2°×2° cell keeps; with 400 regions
    there are many near ties, and points on cell edges, poles and the antimeridian."""
    (name, km), = DENSE_INDEX.nearest(lat, lon)
    want = brute_force(lat, lon, DENSE)[0]
    assert (name, km) == (want[0], pytest.approx(want[1], rel=1e-9))


def test_ties_are_broken_by_name():
    twins = {"b": (10.0, 10.0), "a": (10.0, 10.0), "c": (50.0, 50.0)}
    assert [n for n, _ in index(twins).nearest(10.0, 10.0, 2)] == ["a", "b"]
    assert [n for n, _ in index(twins).nearest(10.0, 10.0, 1)] == ["a"]


def test_empty_index():
    assert index({}).nearest(0, 0, 3) == []


@pytest.mark.parametrize("lat, lon, ok", [
    (0, 0, True), (90, 180, True), (-90, -180, True), (90.1, 0, False), (0, 180.1, False),
    (float("nan"), 0, False), (0, float("inf"), False)])
def test_check_coordinates(lat, lon, ok):
    assert (check_coordinates(lat, lon) is None) == ok
