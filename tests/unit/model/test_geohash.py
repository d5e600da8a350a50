"""Redis' geohash (``geolru.model.geohash``) on the points redis-server's own
documentation uses: the same scores, positions, geohashes and distances."""

from geolru.model import geohash


def test_palermo_and_catania_as_redis_gives_them():
    palermo = geohash.encode(13.361389, 38.115556)
    catania = geohash.encode(15.087269, 37.502669)
    assert (palermo, catania) == (3479099956230698, 3479447370796909)
    assert geohash.decode(palermo) == (13.361389338970184, 38.1155563954963)
    assert geohash.standard(*geohash.decode(palermo)) == b"sqc8b49rny0"
    assert geohash.standard(*geohash.decode(catania)) == b"sqdtr74hyu0"
    assert round(geohash.distance(*geohash.decode(palermo), *geohash.decode(catania)),
                 4) == 166274.1516


def test_the_corners_stay_within_the_bounds():
    low = geohash.decode(geohash.encode(-180, -85.05112878))
    high = geohash.decode(geohash.encode(180, 85.05112878))
    assert geohash.LONG_MIN <= low[0] and geohash.LAT_MIN <= low[1]
    assert high[0] <= geohash.LONG_MAX and high[1] <= geohash.LAT_MAX


def test_distances_round_as_redis_rounds_them():
    """redis-server scales a distance by 10,000 and rounds that double to the nearest
    integer (ties to even), which is not always what ``%.4f`` gives."""
    from geolru.commands.geoindex import fixed4
    assert fixed4(0.00005) == b"0.0000"  # ("%.4f" says 0.0001)
    assert fixed4(0.00025) == b"0.0002"  # (and 0.0003)
    assert fixed4(0) == b"0.0000"
    assert fixed4(166274.15156960033) == b"166274.1516"
    assert fixed4(12.3) == b"12.3000"
