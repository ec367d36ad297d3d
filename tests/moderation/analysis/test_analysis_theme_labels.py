"""Theme labels a person would write: a phrase found in the theme's comments (or a central comment, trimmed),
short enough for the dashboard's bar labels, in English and Chinese."""
from __future__ import annotations

import csv
import re
from html import escape
from pathlib import Path

import pytest

from app.charts import _text_width, bar_chart
from moderation.analysis.themes import LABEL_MAX_EM, find_themes

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: the dashboard draws theme bars with bar_chart's default label column: 200 px, 12 px of it padding, 13 px text
COLUMN_PX, FONT_PX = 200 - 12, 13


def _norm(text: str) -> str:
    return " ".join(str(text).split()).lower()


def _traceable(label: str, texts: list[str], members: list[int]) -> bool:
    return any(_norm(label) in _norm(texts[i]) for i in members)


def _drawn_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end" font-size="13">(.*?)</text>', svg)


def _assert_fit_their_column(labels: list[str]) -> None:
    for label in labels:
        assert _text_width(label, FONT_PX) <= COLUMN_PX, label
    # drawn whole: no ellipsis, no <title> holding a longer text
    svg = str(bar_chart([(label, 1) for label in labels], title="Themes"))
    assert _drawn_labels(svg) == [escape(label) for label in labels]


ENGLISH = {
    "bus": ["The bus lane on Main Street is always blocked", "Please keep the bus lane clear of parked cars",
            "A bus lane would make my commute faster", "Buses are late because the bus lane ends too soon",
            "Extend the bus lane to the station", "Drivers ignore the bus lane every morning",
            "Fares went up again this year", "More buses at night please"],
    "water": ["Water quality in the river has got worse", "Test the water quality of the lake every month",
              "Farms are hurting water quality downstream", "I worry about water quality for swimming",
              "Publish water quality results online", "Fish are dying, the water quality is poor",
              "Stop sewage overflows into the river", "Clean the river banks"],
    "rent": ["Rent controls would help young families", "Rent controls are needed now that rents doubled",
             "Introduce rent controls for small flats", "Without rent controls I will have to move away",
             "Landlords raise prices every year", "Rent controls for students too",
             "Build more social housing", "Tenants need longer leases"],
}


def _english():
    texts, truth = [], []
    for t, comments in enumerate(ENGLISH.values()):
        texts += comments
        truth += [t] * len(comments)
    return texts, truth


def test_english_labels_are_phrases_from_the_theme_and_fit_the_bar_column():
    texts, _ = _english()
    res = find_themes(texts, k=3)
    labels = [t.label for t in res.themes]
    assert sorted(labels, key=str.lower) == ["Bus lane", "Rent controls", "Water quality"]
    for t in res.themes:
        assert _traceable(t.label, texts, t.members)
        assert 2 <= len(t.label.split()) <= 6
        assert t.terms and t.label.lower() != " / ".join(t.terms[:3])  # the terms stay, as a secondary line
    _assert_fit_their_column(labels)


def test_a_theme_without_a_shared_phrase_is_labelled_by_its_central_comment_trimmed_at_a_word_boundary():
    long = ("Honestly the council should publish every planning decision online together with the minutes "
            "of the meeting and the names of the councillors who voted")
    res = find_themes([long], k=1)
    label = res.themes[0].label
    assert long.startswith(label) and long[len(label)] == " "  # whole words, cut at a space
    assert 2 <= len(label.split()) <= 6 and _text_width(label, FONT_PX) <= COLUMN_PX
    assert label.split()[-1].lower() not in {"the", "of", "and", "with"}
    short = find_themes(["Fix the potholes now!"], k=1).themes[0].label
    assert short == "Fix the potholes now"  # short enough: whole, without the closing "!"


def test_two_themes_never_get_the_same_label():
    texts = (["young people need youth clubs", "young people need safe parks", "young people and youth clubs"] * 2
             + ["young people feel watched by police", "police stop young people too often",
                "police should talk to young people", "stop and search targets young people"])
    texts = [f"{t} {i}" for i, t in enumerate(texts)]
    res = find_themes(texts, k=2)
    labels = [t.label for t in res.themes]
    assert len(set(labels)) == len(labels)
    assert all(_traceable(t.label, texts, t.members) for t in res.themes)


ZH_TRANSPORT = ["公車經常誤點，希望增加班次", "夜間公車班次不足，等車太久", "公車班次太少，等車時間太長",
                "假日公車班次應該增加", "捷運站應該增加公車接駁", "公車司機開車太快"]
ZH_PARKS = ["公園遊樂設施太舊了，需要更新", "希望公園遊樂設施更安全", "公園遊樂設施常常壞掉",
            "公園晚上照明不足", "公園廁所需要改善", "公園遊樂設施不適合幼兒"]


def test_chinese_labels_are_contiguous_runs_of_a_comment_that_fit_the_column():
    texts = ZH_TRANSPORT + ZH_PARKS
    res = find_themes(texts, k=2)
    labels = [t.label for t in res.themes]
    assert {"公車班次", "公園遊樂設施"} <= set(labels) or {"公車班次", "遊樂設施"} <= set(labels), labels
    for t in res.themes:
        assert " " not in t.label and 4 <= len(t.label) <= 12
        assert _traceable(t.label, texts, t.members)
    _assert_fit_their_column(labels)
    # a Chinese comment without a shared phrase is trimmed between characters, within the column
    long = "我認為政府應該全面檢討目前的公共運輸政策並且在每個行政區都增加更多的公車路線與班次"
    label = find_themes([long], k=1).themes[0].label
    assert long.startswith(label) and len(label) >= 4
    _assert_fit_their_column([label])


def test_labels_do_not_change_the_themes():
    texts, _ = _english()
    res = find_themes(texts, k=3, seed=3)
    import moderation.analysis.themes as themes

    original = themes._phrase_labels
    try:
        themes._phrase_labels = lambda texts, d, group_label, k, reps: ["x"] * k
        plain = find_themes(texts, k=3, seed=3)
    finally:
        themes._phrase_labels = original
    assert plain.assignments == res.assignments and [t.terms for t in plain.themes] == [t.terms for t in res.themes]


def test_the_width_budget_matches_the_dashboard_bar_column():
    # LABEL_MAX_EM is measured like app/charts.py (wide characters 1 em, others 0.6 em)
    assert _text_width("中" * int(LABEL_MAX_EM), FONT_PX) <= COLUMN_PX
    assert _text_width("a" * int(LABEL_MAX_EM / 0.6), FONT_PX) <= COLUMN_PX


def _polis(conversation: str) -> list[str]:
    path = SHARED_DATA / "polis" / conversation / "comments.csv"
    if not path.is_file():
        pytest.skip(f"shared data not available: {path}")
    with path.open(encoding="utf-8") as f:
        return [r["comment-body"].strip() for r in csv.DictReader(f) if (r.get("comment-body") or "").strip()]


@pytest.mark.parametrize("conversation", ["scoop-hivemind.freshwater", "brexit-consensus", "vtaiwan.uberx"])
def test_labels_of_a_real_polis_conversation_are_traceable_and_fit(conversation):
    texts = _polis(conversation)
    res = find_themes(texts)
    assert res.k >= 2
    labels = [t.label for t in res.themes]
    assert len(set(labels)) == len(labels)
    for t in res.themes:
        assert _traceable(t.label, texts, t.members), t.label
        if CJK.search(t.label):
            assert 1 <= len(t.label) <= 14
        else:
            assert 1 <= len(t.label.split()) <= 6
    assert sum(bool(CJK.search(label)) for label in labels) == (len(labels) if conversation == "vtaiwan.uberx" else 0)
    _assert_fit_their_column(labels)


def test_an_officials_name_overrides_the_automatic_label_and_survives_a_rerun():
    import json
    from datetime import UTC, datetime

    from moderation.analysis.models import EditKind, ThemeEdit
    from moderation.analysis.store import apply_edits, compute

    now = datetime.now(UTC)
    texts, _ = _english()
    items = [(i + 1, text, now, 0, 0) for i, text in enumerate(texts)]
    first = compute(items, [], now=now)
    water = next(t for t in first.themes if t["label"] == "Water quality")
    assert water["auto_label"] == "Water quality" and not water["renamed"]
    edit = ThemeEdit(subject_kind="test", subject_id=1, kind=EditKind.RENAME, label="River health",
                     members=json.dumps(water["members"]), created_at=now)
    rerun = compute(items + [(99, "Water quality reports should be easier to read", now, 0, 0)], [], now=now)
    apply_edits(rerun, [edit])
    renamed = next(t for t in rerun.themes if 99 in t["members"])
    assert renamed["label"] == "River health" and renamed["renamed"]
    assert renamed["auto_label"] == "Water quality"  # the automatic phrase is kept beside the official's name
    assert all(t["label"] != "River health" for t in rerun.themes if t is not renamed)


def test_a_label_is_not_a_phrase_cut_short_nor_shouted_when_a_calmer_wording_exists():
    texts = ["TARIFFS HURT FARMERS NOW", "Write to the President of the United States about tariffs",
             "The President of the United States must act",
             "Tariffs hurt farmers, the President of the United States knows", "tariffs hurt farmers in Iowa"]
    label = find_themes(texts, k=1).themes[0].label
    assert label.lower() != "president of the united" and _traceable(label, texts, list(range(len(texts))))
    assert label == "Tariffs hurt farmers"
