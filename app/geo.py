"""Area boundaries from a GeoJSON file, projected once to SVG path data (no map tiles, no network).

`load_boundaries(path, areas)` reads a FeatureCollection whose features carry the area's name in
`properties.name` and a Polygon or MultiPolygon geometry in longitude/latitude. Whatever is wrong with the
file (too big, not JSON, wrong types, non-finite coordinates, names that are not configured areas) is
logged with a message that says what to fix; the caller gets `None` (no map) or the usable areas only.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("civic.geo")

MAX_BYTES = 5_000_000
"""Largest boundaries file read; simplify bigger ones (e.g. `mapshaper -simplify`)."""
MAX_POINTS = 200_000
"""Most coordinate pairs kept over all areas."""
WIDTH = 360.0
"""Width of the projected map in SVG units; the height follows the areas' shape."""


@dataclass(frozen=True)
class Boundaries:
    """Projected areas: SVG path data per configured area name, and the map's size in SVG units."""

    paths: dict[str, str]
    width: float
    height: float


def _problem(path: Path, message: str, *args) -> None:
    log.warning("Area boundaries %s: " + message + " The area map is left out; the table stays.", path, *args)


def _rings(geometry) -> list[list[list[float]]] | None:
    """The geometry's linear rings (outer and holes alike), or None when it is not a usable polygon."""
    if not isinstance(geometry, dict):
        return None
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not isinstance(polygons, list):
        return None
    rings = []
    for polygon in polygons:
        if not isinstance(polygon, list):
            return None
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 3:
                return None
            for point in ring:
                if (not isinstance(point, list) or len(point) < 2
                        or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point[:2])
                        or not all(math.isfinite(c) for c in point[:2])):
                    return None
            rings.append(ring)
    return rings or None


def _read(path: Path):
    try:
        size = path.stat().st_size
    except OSError as exc:
        _problem(path, "cannot be read (%s). Check CIVIC_PETITIONS_AREA_BOUNDARIES.", exc)
        return None
    if size > MAX_BYTES:
        _problem(path, "is %d bytes, more than the %d allowed. Simplify the shapes.", size, MAX_BYTES)
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        _problem(path, "is not valid JSON (%s).", exc)
        return None


def load_boundaries(path: str | Path, areas: tuple[str, ...]) -> Boundaries | None:
    """The configured areas' shapes from a GeoJSON FeatureCollection, or None (logged) when none are usable."""
    path = Path(path)
    data = _read(path)
    if data is None:
        return None
    features = data.get("features") if isinstance(data, dict) and data.get("type") == "FeatureCollection" else None
    if not isinstance(features, list):
        _problem(path, "is not a GeoJSON FeatureCollection.")
        return None
    wanted = {a.casefold(): a for a in areas}
    shapes: dict[str, list] = {}
    points = 0
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        name = props.get("name") if isinstance(props, dict) else None
        if not isinstance(name, str) or not name.strip():
            log.warning("Area boundaries %s: feature %d has no properties.name; it is skipped.", path, i)
            continue
        area = wanted.get(name.strip().casefold())
        if area is None:
            log.warning("Area boundaries %s: %r is not one of the configured areas (CIVIC_PETITIONS_AREAS: %s); "
                        "it is skipped.", path, name, ", ".join(areas))
            continue
        rings = _rings(feature.get("geometry"))
        if rings is None:
            log.warning("Area boundaries %s: %r needs a Polygon or MultiPolygon geometry with finite longitude/latitude "
                        "coordinates; it is skipped.", path, name)
            continue
        points += sum(len(r) for r in rings)
        if points > MAX_POINTS:
            _problem(path, "has more than %d points. Simplify the shapes.", MAX_POINTS)
            return None
        shapes.setdefault(area, []).extend(rings)
    if not shapes:
        _problem(path, "has no shapes for the configured areas (%s).", ", ".join(areas))
        return None
    missing = [a for a in areas if a not in shapes]
    if missing:
        log.warning("Area boundaries %s: no shape for %s; the map leaves them out (the table lists them).",
                    path, ", ".join(missing))
    return _project(shapes)


def _project(shapes: dict[str, list]) -> Boundaries:
    """Equirectangular projection, x scaled by cos(mid latitude), north up, fitted to WIDTH."""
    lons = [p[0] for rings in shapes.values() for ring in rings for p in ring]
    lats = [p[1] for rings in shapes.values() for ring in rings for p in ring]
    lon0, lat0, lat1 = min(lons), min(lats), max(lats)
    k = math.cos(math.radians((lat0 + lat1) / 2)) or 1.0
    span_x = (max(lons) - lon0) * k or 1.0
    span_y = (lat1 - lat0) or 1.0
    scale = WIDTH / span_x
    height = max(1.0, min(span_y * scale, WIDTH * 2))
    sy = height / span_y
    paths = {}
    for area, rings in shapes.items():
        d = []
        for ring in rings:
            pts = [f"{(p[0] - lon0) * k * scale:.1f},{(lat1 - p[1]) * sy:.1f}" for p in ring]
            d.append("M" + " L".join(pts) + " Z")
        paths[area] = " ".join(d)
    return Boundaries(paths, WIDTH, round(height, 1))


class SiteAreas:
    """The site's areas and their boundaries, one list every domain reads. `source()` gives the configured
    (names, boundaries file path) each time: the composition root reads them from the petitions settings
    (`CIVIC_PETITIONS_AREAS`, `CIVIC_PETITIONS_AREA_BOUNDARIES`), where they began, so a settings change reaches
    both domains. The file is read once per (names, path); problems are logged then and the map is left out."""

    def __init__(self, source: Callable[[], tuple[tuple[str, ...], str]]):
        self._source = source
        self._loaded: tuple[tuple[str, ...], str, Boundaries | None] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._source()[0])

    def boundaries(self) -> Boundaries | None:
        names, path = self._source()
        names = tuple(names)
        if self._loaded is None or self._loaded[:2] != (names, path):
            self._loaded = (names, path, load_boundaries(path, names) if path else None)
        return self._loaded[2]
