"""Write geolru/data/world.path: the land outline for the master's status map.

Source: Natural Earth 1:110m countries (public domain), as shipped in pyogrio's
test fixtures. Equirectangular: x = lon + 180, y = 90 - lat, in a 360 x 180 box.
Run once by a developer; the result is committed, so nothing is fetched at run time.
"""

import sys
from pathlib import Path

import geopandas
import pyogrio
from shapely.geometry import MultiPolygon, Polygon

fixtures = Path(pyogrio.__file__).parent / "tests" / "fixtures"
source = fixtures / "naturalearth_lowres" / "naturalearth_lowres.shp"
world = geopandas.read_file(source).geometry.union_all().simplify(0.25)
polygons = world.geoms if isinstance(world, MultiPolygon) else [world]
parts = []
for polygon in polygons:
    assert isinstance(polygon, Polygon)
    ring = polygon.exterior.coords
    if len(ring) < 4:
        continue
    points = " ".join(f"{x + 180:.1f},{90 - y:.1f}" for x, y in ring)
    parts.append(f"M{points}Z")
out = Path(__file__).resolve().parent.parent / "geolru" / "data" / "world.path"
out.write_text("\n".join(parts) + "\n")
print(f"wrote {out} ({out.stat().st_size} bytes)", file=sys.stderr)
