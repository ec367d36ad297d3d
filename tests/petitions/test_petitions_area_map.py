"""The area map on petition pages (from a configured GeoJSON file) and the petitions list filtered by area."""
from __future__ import annotations

import dataclasses
import html
import json
import logging
import re

import pytest

from petitions.demo import BOUNDARIES

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def domain_settings(domain_settings):
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], area_boundaries=str(BOUNDARIES))
    return domain_settings


def _areas_in_map(page: str) -> dict[str, str]:
    svg = page.split('class="chart choropleth"')[1].split("</svg>")[0]
    return {a: label for label, a in re.findall(r'<path role="img" aria-label="([^"]+)"[^>]*data-area="([^"]+)"', svg)}


def test_the_petition_page_draws_the_demo_areas_as_a_map_with_counts_and_keeps_the_table(app, client, area_petition):
    pid = area_petition(app, "Plant trees on every street", {"Central": 1200, "North": 1, "Outside the city": 3})
    page = client.get(f"/petitions/{pid}")
    assert page.status_code == 200
    labels = _areas_in_map(page.text)
    assert len(labels) == 8  # every demo area is drawn, the ones without signatures too
    assert labels["Central"] == "Central: 1,200 signatures" and labels["North"] == "North: 1 signature"
    assert labels["Hillside"] == "Hillside: 0 signatures"
    assert "Map of signatures by area" in page.text and "No signatures" in page.text  # title and legend
    assert "<td>Central</td><td class=\"num\">1,200</td>" in page.text  # the accessible table stays


def test_the_map_speaks_chinese_on_a_zh_hans_page(app, client, area_petition):
    pid = area_petition(app, "Plant trees on every street", {"Central": 1200, "North": 1})
    page = client.get(f"/petitions/{pid}", headers=ZH)
    labels = _areas_in_map(page.text)
    assert labels["Central"] == "Central：1,200 个签名"  # area names are configured strings, shown as configured
    assert "各地区签名地图" in page.text and "没有签名" in page.text


def test_a_broken_boundaries_file_leaves_the_table_and_logs_why(app, client, domain_settings, tmp_path, caplog, area_petition):
    bad = tmp_path / "areas.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], area_boundaries=str(bad))
    pid = area_petition(app, "Plant trees on every street", {"Central": 12})
    with caplog.at_level(logging.WARNING, logger="civic.geo"):
        page = client.get(f"/petitions/{pid}")
    assert page.status_code == 200 and "choropleth" not in page.text
    assert "<td>Central</td>" in page.text
    assert "is not valid JSON" in caplog.text


def test_without_boundaries_there_is_no_map(app, client, domain_settings, area_petition):
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"], area_boundaries="")
    pid = area_petition(app, "Plant trees on every street", {"Central": 12})
    page = client.get(f"/petitions/{pid}")
    assert page.status_code == 200 and "choropleth" not in page.text and "<td>Central</td>" in page.text


def _titles(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<h2><a href="/petitions/\d+"[^>]*>([^<]+)</a>', page)]


def test_the_list_filtered_by_area_shows_most_support_there_first(app, client, area_petition):
    area_petition(app, "Popular everywhere but not in the north", {"Central": 5000, "North": 2})
    area_petition(app, "A northern cause", {"North": 300, "Central": 1})
    area_petition(app, "Not signed in the north at all", {"South": 80})
    area_petition(app, "Some northern support", {"North": 40, "South": 900})
    page = client.get("/petitions/?area=North")
    assert page.status_code == 200
    assert _titles(page.text) == ["A northern cause", "Some northern support", "Popular everywhere but not in the north"]
    assert "300 in North" in page.text and "signed in North, most signatures there first" in page.text
    assert '<option value="North" selected>North</option>' in page.text
    assert _titles(client.get("/petitions/?area=north").text)[0] == "A northern cause"  # any case
    assert _titles(client.get("/petitions/").text)[0] == "Popular everywhere but not in the north"
    zh = client.get("/petitions/?area=North", headers=ZH)
    assert "其中 North 300 个" in zh.text


@pytest.mark.parametrize("area", ["Atlantis", "<script>alert(1)</script>", "x" * 5000])
def test_an_unknown_area_gets_a_clear_message_and_the_whole_list(app, client, area, area_petition):
    area_petition(app, "A northern cause", {"North": 300})
    page = client.get("/petitions/", params={"area": area})
    assert page.status_code == 400
    assert "There is no area called" in page.text and "Choose one of the listed areas." in page.text
    assert "<script>alert" not in page.text
    assert _titles(page.text) == ["A northern cause"]
    zh = client.get("/petitions/", params={"area": area}, headers=ZH)
    assert zh.status_code == 400 and "请选择列出的地区之一" in zh.text


def test_the_demo_boundaries_say_they_are_synthetic_and_cover_the_demo_areas():
    from petitions.config import PetitionSettings
    from petitions.demo import AREAS

    data = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    assert "SYNTHETIC" in data["name"]
    assert sorted(f["properties"]["name"] for f in data["features"]) == sorted(AREAS) == sorted(PetitionSettings().areas)


def test_the_api_filters_by_area_and_lists_the_allowed_areas(app, client, area_petition):
    area_petition(app, "Popular everywhere but not in the north", {"Central": 5000, "North": 2})
    area_petition(app, "A northern cause", {"North": 300})
    area_petition(app, "Not signed in the north at all", {"South": 80})
    body = client.get("/api/petitions", params={"area": "North"}).json()
    assert [p["title"] for p in body["data"]] == ["A northern cause", "Popular everywhere but not in the north"]
    assert body["meta"]["area"] == "North" and body["meta"]["total"] == 2
    bad = client.get("/api/petitions", params={"area": "Atlantis"})
    assert bad.status_code == 422 and "Unknown area" in bad.json()["error"]["message"]
    params = client.get("/api/openapi.json").json()["paths"]["/petitions"]["get"]["parameters"]
    area = next(p for p in params if p["name"] == "area")
    assert area["schema"]["enum"] == list(app.state.unit_context.domain_settings["petitions"].areas)
