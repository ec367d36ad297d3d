"""Area boundaries (app.geo) and the choropleth (app.charts): a bad boundaries file never breaks a page; it
logs what to fix and the map is left out or drawn without the unusable areas."""
from __future__ import annotations

import json
import logging
import re

import pytest

from app import geo
from app.charts import choropleth

AREAS = ("Central", "North", "Outside the city")


def _square(x: float, y: float, size: float = 1.0) -> list:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def _feature(name, geometry) -> dict:
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry}


def _write(tmp_path, data) -> str:
    path = tmp_path / "areas.geojson"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def _collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def test_polygons_and_multipolygons_become_svg_paths_north_up(tmp_path):
    path = _write(tmp_path, _collection(
        _feature("Central", {"type": "Polygon", "coordinates": [_square(0, 0)]}),
        _feature("north", {"type": "MultiPolygon", "coordinates": [[_square(0, 1)], [_square(1, 1)]]})))
    b = geo.load_boundaries(path, AREAS)
    assert set(b.paths) == {"Central", "North"}  # names match the configured spelling, whatever the case
    assert b.paths["North"].count("M") == 2 and b.paths["Central"].count("M") == 1
    assert b.width == geo.WIDTH and 0 < b.height < geo.WIDTH * 2
    ys = lambda d: [float(v) for v in re.findall(r",(-?[\d.]+)", d)]  # noqa: E731
    assert max(ys(b.paths["North"])) <= min(ys(b.paths["Central"])) + 0.1  # north is drawn above


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    (json.dumps({"type": "Feature"}), "is not a GeoJSON FeatureCollection"),
    (json.dumps([1, 2]), "is not a GeoJSON FeatureCollection"),
    (json.dumps({"type": "FeatureCollection", "features": {}}), "is not a GeoJSON FeatureCollection"),
    (b"\xff\xfe\x00".decode("latin-1"), "is not valid JSON"),
])
def test_malformed_files_log_a_clear_message_and_give_no_map(tmp_path, caplog, content, message):
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        assert geo.load_boundaries(_write(tmp_path, content), AREAS) is None
    assert message in caplog.text and "The area map is left out; the table stays." in caplog.text


def test_a_missing_file_is_reported_with_the_setting_to_check(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        assert geo.load_boundaries(tmp_path / "nope.geojson", AREAS) is None
    assert "CIVIC_PETITIONS_AREA_BOUNDARIES" in caplog.text


def test_a_huge_file_is_not_read(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(geo, "MAX_BYTES", 1000)
    path = _write(tmp_path, _collection(*[_feature("Central", {"type": "Polygon", "coordinates": [_square(i, 0)]})
                                          for i in range(40)]))
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        assert geo.load_boundaries(path, AREAS) is None
    assert "more than the 1000 allowed" in caplog.text


def test_too_many_points_give_no_map(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(geo, "MAX_POINTS", 8)
    path = _write(tmp_path, _collection(*[_feature(a, {"type": "Polygon", "coordinates": [_square(i, 0)]})
                                          for i, a in enumerate(AREAS)]))
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        assert geo.load_boundaries(path, AREAS) is None
    assert "more than 8 points" in caplog.text


@pytest.mark.parametrize("geometry", [
    {"type": "Point", "coordinates": [0, 0]},
    {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, "a"], [1, 1], [0, 0]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
    {"type": "Polygon", "coordinates": "nope"},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, True], [1, 1], [0, 0]]]},
    None,
])
def test_wrong_geometry_types_skip_that_area_only(tmp_path, caplog, geometry):
    path = _write(tmp_path, _collection(_feature("Central", {"type": "Polygon", "coordinates": [_square(0, 0)]}),
                                        _feature("North", geometry)))
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        b = geo.load_boundaries(path, AREAS)
    assert set(b.paths) == {"Central"}
    assert "'North' needs a Polygon or MultiPolygon geometry" in caplog.text


def test_non_finite_coordinates_are_refused(tmp_path, caplog):
    # json.loads accepts NaN and Infinity, which would make the whole projection NaN
    text = json.dumps(_collection(_feature("North", {"type": "Polygon", "coordinates": [_square(0, 0)]})))
    text = text.replace("[1.0, 0]", "[Infinity, 0]", 1)
    assert "Infinity" in text
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        assert geo.load_boundaries(_write(tmp_path, text), AREAS) is None
    assert "finite longitude/latitude" in caplog.text and "has no shapes for the configured areas" in caplog.text


def test_areas_that_do_not_match_the_configured_ones_are_named(tmp_path, caplog):
    path = _write(tmp_path, _collection(
        _feature("Central", {"type": "Polygon", "coordinates": [_square(0, 0)]}),
        _feature("Atlantis", {"type": "Polygon", "coordinates": [_square(2, 0)]}),
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [_square(3, 0)]}}))
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        b = geo.load_boundaries(path, AREAS)
    assert set(b.paths) == {"Central"}
    assert "'Atlantis' is not one of the configured areas" in caplog.text
    assert "feature 2 has no properties.name" in caplog.text
    assert "no shape for North, Outside the city" in caplog.text


def test_no_matching_area_at_all_gives_no_map(tmp_path, caplog):
    path = _write(tmp_path, _collection(_feature("Atlantis", {"type": "Polygon", "coordinates": [_square(0, 0)]})))
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        assert geo.load_boundaries(path, AREAS) is None
    assert "has no shapes for the configured areas (Central, North, Outside the city)" in caplog.text


def _map(counts, paths=None) -> str:
    paths = paths or {"Central": "M0,0 L1,0 L1,1 Z", "North": "M0,1 L1,1 L1,2 Z", "South": "M0,2 L1,2 L1,3 Z"}
    return str(choropleth(paths, counts, width=100, height=100, title="Map of signatures", description="Shaded",
                          area_label=lambda a, n: f"{a}: {n} signatures", legend_title="Signatures",
                          empty_label="None"))


def test_choropleth_has_a_path_per_area_with_its_count_in_the_title_and_a_legend():
    svg = _map({"Central": 120, "North": 7})
    assert svg.count("<path") == 3
    assert '<title>Central: 120 signatures</title>' in svg and 'aria-label="North: 7 signatures"' in svg
    assert '<title>South: 0 signatures</title>' in svg
    fills = {a: f for f, a in re.findall(r'fill="(#[0-9a-f]+)"[^>]*data-area="([^"]+)"', svg)}
    assert fills["Central"] != fills["North"] != fills["South"]  # more signatures, darker class; none, grey
    legend = svg.split('class="legend"')[1]
    assert ">Signatures<" in legend and ">None<" in legend and ">91–120<" in legend and ">1–30<" in legend


def test_choropleth_with_no_signatures_has_only_the_empty_class_and_escapes_names():
    svg = _map({}, {"<b>Town</b>": "M0,0 L1,0 L1,1 Z"})
    assert "<b>" not in svg and "&lt;b&gt;Town&lt;/b&gt;: 0 signatures" in svg
    assert svg.split('class="legend"')[1].count("<rect") == 1
