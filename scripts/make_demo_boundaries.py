"""Write petitions/demo_data/areas.geojson: SYNTHETIC boundaries for the demo's eight areas.

These shapes are invented. They are not any real place: a 6 x 6 grid of made-up blocks placed in the middle
of the North Atlantic (around 30°W 45°N) so nobody mistakes them for a real city. "Outside the city" is a
ring around the other seven. Run `python scripts/make_demo_boundaries.py` to regenerate the file.
"""
from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "petitions" / "demo_data" / "areas.geojson"
LON0, LAT0, STEP = -30.0, 45.0, 0.01

# each area as rectangles in grid units (x0, y0, x1, y1), y pointing north; together they tile the 6 x 6 city
BLOCKS = {
    "Central": [(2, 2, 4, 4)],
    "North": [(0, 4, 4, 6)],
    "Hillside": [(4, 3, 6, 6)],
    "West": [(0, 1, 2, 4)],
    "East": [(4, 0, 6, 3)],
    "South": [(2, 0, 4, 2)],
    "Riverside": [(0, 0, 2, 1)],
}


def _ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [[round(LON0 + x * STEP, 5), round(LAT0 + y * STEP, 5)] for x, y in corners]


def build() -> dict:
    features = [{"type": "Feature", "properties": {"name": name, "synthetic": True},
                 "geometry": {"type": "MultiPolygon", "coordinates": [[_ring(*r)] for r in rects]}}
                for name, rects in BLOCKS.items()]
    # the ring around the city: an outer square with the city cut out as a hole
    features.append({"type": "Feature", "properties": {"name": "Outside the city", "synthetic": True},
                     "geometry": {"type": "Polygon", "coordinates": [_ring(-1, -1, 7, 7), _ring(0, 0, 6, 6)[::-1]]}})
    return {"type": "FeatureCollection",
            "name": "Civic demo areas (SYNTHETIC: invented shapes, not a real place; made by "
                    "scripts/make_demo_boundaries.py)",
            "features": features}


def main() -> int:
    OUT.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
    print(f"Wrote synthetic demo boundaries to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
