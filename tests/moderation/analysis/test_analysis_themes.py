"""Themes: planted topics, campaigns, Chinese + English, trivial inputs, trends."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sklearn.metrics import adjusted_rand_score

from moderation.analysis.themes import find_themes

TOPICS = {
    "transport": ["bus", "buses", "tram", "timetable", "late", "route", "fares", "station", "driver", "commute"],
    "parks": ["park", "trees", "playground", "benches", "grass", "flowers", "garden", "picnic", "dogs", "green"],
    "housing": ["rent", "rents", "housing", "landlord", "apartments", "tenants", "affordable", "eviction", "homes", "deposit"],
}
FILLER = ["the", "we", "need", "more", "please", "our", "city", "is", "really", "should", "i", "think"]


def planted(n_per_topic: int = 50, seed: int = 1) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for t, (name, words) in enumerate(TOPICS.items()):
        for _ in range(n_per_topic):
            ws = rng.sample(words, 4) + rng.sample(FILLER, 3)
            rng.shuffle(ws)
            texts.append(" ".join(ws).capitalize() + ".")
            labels.append(t)
    return texts, labels


def test_planted_topics_recovered_with_given_and_automatic_k():
    texts, labels = planted()
    res = find_themes(texts, k=3)
    assert res.k == 3
    assert adjusted_rand_score(labels, res.assignments) > 0.9
    auto = find_themes(texts)
    assert 2 <= auto.k <= 20
    assert adjusted_rand_score(labels, auto.assignments) > 0.6


def test_theme_fields_are_traceable():
    texts, _ = planted()
    res = find_themes(texts, k=3)
    assert [t.id for t in res.themes] == list(range(res.k))
    assert sum(t.size for t in res.themes) == len(texts)
    assert sorted(i for t in res.themes for i in t.members) == list(range(len(texts)))
    assert abs(sum(t.share for t in res.themes) - 1.0) < 1e-9
    assert [t.size for t in res.themes] == sorted((t.size for t in res.themes), reverse=True)
    for t in res.themes:
        assert all(res.assignments[i] == t.id for i in t.members)
        assert 1 <= len(t.representatives) <= 5
        assert set(t.representatives) <= set(t.members)
        assert t.label and t.terms
        # the label is made of words that actually occur in the theme's comments
        member_text = " ".join(texts[i].lower() for i in t.members)
        assert all(w in member_text for term in t.terms[:3] for w in term.split())
    # each planted topic's vocabulary dominates the label of one theme
    label_words = [set(" ".join(t.terms[:3]).split()) for t in res.themes]
    for words in TOPICS.values():
        assert any(lw & set(words) for lw in label_words)


def test_campaign_is_collapsed_and_does_not_dominate():
    texts, labels = planted(40)
    campaign = "Stop the new motorway through Riverside park now! Sign and share."
    variants = [campaign, campaign.upper(), campaign + " Thanks", "stop the new motorway through riverside park now sign and share"]
    n_copies = 2000
    all_texts = texts + [variants[i % len(variants)] for i in range(n_copies)]
    res = find_themes(all_texts)
    assert res.campaigns, "the campaign must be reported"
    top = res.campaigns[0]
    assert top.size == n_copies
    assert sorted(top.members) == list(range(len(texts), len(all_texts)))
    assert top.text in variants and top.variants >= 2
    # all copies land in one theme; the campaign occupies at most one theme
    campaign_themes = {res.assignments[i] for i in top.members}
    assert len(campaign_themes) == 1
    # the organic topics are still found separately (the campaign counts once in clustering)
    assert res.k >= 3
    organic = res.assignments[: len(texts)]
    assert adjusted_rand_score(labels, organic) > 0.8
    theme = res.themes[campaign_themes.pop()]
    assert theme.size >= n_copies and theme.distinct <= 1 + 40  # sizes count copies, distinct does not
    # representatives are distinct wordings, never several copies of the campaign
    from moderation.analysis.duplicates import group_near_duplicates

    dup_ids = group_near_duplicates(all_texts)
    assert len({dup_ids[i] for i in theme.representatives}) == len(theme.representatives)


def test_chinese_and_english_mixed():
    zh_transport = ["公車經常誤點，希望增加班次", "公車班次太少，等車時間太長", "捷運站應該增加公車接駁",
                    "公車司機開車太快", "希望公車路線延長到山區", "公車票價應該降低", "夜間公車班次不足", "公車站牌資訊不清楚"]
    zh_parks = ["公園需要更多樹木和遮蔭", "公園的遊樂設施太舊了", "希望公園增加座椅", "公園草地應該定期整理",
                "公園晚上照明不足", "公園廁所需要改善", "希望公園有更多花草", "公園應該禁止機車進入"]
    en = ["The bus is always late", "More buses on route 5 please", "Bus fares are too high", "The bus driver was rude",
          "Plant more trees in the park", "The park playground is broken", "Park benches need repair", "Keep the park grass green"]
    texts = zh_transport + zh_parks + en + ["", "   "]
    # three groups share no words (Chinese transport, Chinese parks, English): with three themes each is one
    # theme (with two, the languages part, which is as good an answer)
    res = find_themes(texts, k=3)
    assert res.assignments[-2:] == [-1, -1]
    assert res.n_empty == 2
    assert all(a >= 0 for a in res.assignments[:-2])
    majority = []
    for block in (res.assignments[:8], res.assignments[8:16], res.assignments[16:24]):
        top = max(set(block), key=block.count)
        assert block.count(top) >= 7
        majority.append(top)
    assert len(set(majority)) == 3
    # labels of Chinese themes are readable (no spaces between CJK characters)
    for t in res.themes:
        for term in t.terms:
            assert not any("\u4e00" <= a <= "\u9fff" and b == " " and "\u4e00" <= c <= "\u9fff"
                           for a, b, c in zip(term, term[1:], term[2:]))
    auto = find_themes(texts)
    assert auto.k in (2, 3) and len(auto.assignments) == len(texts)  # by language, or by subject


ZH_TOPICS = {
    "transport": ["公車", "捷運", "班次", "誤點", "站牌", "路線", "票價", "司機", "接駁", "轉乘"],
    "parks": ["公園", "樹木", "草地", "座椅", "花草", "遮蔭", "步道", "遊樂設施", "涼亭", "綠地"],
    "housing": ["房租", "租金", "房東", "社會住宅", "房價", "押金", "租屋", "住宅", "買房", "房客"],
}
ZH_FILLER = ["我們", "希望", "應該", "市政府", "真的", "需要", "改善", "覺得", "問題", "很多"]


def test_chinese_subjects_of_a_larger_consultation_are_its_themes():
    # above 100 comments the themes also use word vectors learnt from the comments (Chinese: character bigrams)
    rng = random.Random(3)
    texts, labels = [], []
    for t, words in enumerate(ZH_TOPICS.values()):
        for _ in range(50):
            ws = rng.sample(words, 3) + rng.sample(ZH_FILLER, 3)
            rng.shuffle(ws)
            texts.append("".join(ws) + "。")
            labels.append(t)
    res = find_themes(texts, k=3)
    assert adjusted_rand_score(labels, res.assignments) > 0.9


@pytest.mark.parametrize("texts", [[], [""], ["   ", None, "!!!"]])
def test_no_text_gives_empty_result(texts):
    res = find_themes(texts)
    assert res.k == 0 and res.themes == []
    assert res.assignments == [-1] * len(texts)
    assert res.note


def test_one_and_two_comments():
    one = find_themes(["Fix the potholes on Elm Street"])
    assert one.k == 1 and one.assignments == [0] and one.themes[0].size == 1
    assert one.themes[0].representatives == [0]
    two = find_themes(["Fix the potholes on Elm Street", "Open the library on Sundays"])
    assert two.k in (1, 2) and all(a >= 0 for a in two.assignments)
    two_k = find_themes(["Fix the potholes on Elm Street", "Open the library on Sundays"], k=2)
    assert two_k.k == 2 and sorted(two_k.assignments) == [0, 1]
    more_k_than_texts = find_themes(["a cat", "a dog", "a bird"], k=10)
    assert more_k_than_texts.k == 3 and more_k_than_texts.note


def test_all_identical_comments():
    res = find_themes(["Save our library!"] * 30 + ["save our library"])
    assert res.k == 1
    assert res.themes[0].size == 31 and res.themes[0].distinct == 1
    assert res.campaigns[0].size == 31
    assert "identical" in res.note


def test_trend_per_bucket():
    texts, _ = planted(20)
    start = datetime(2024, 3, 1, 9, 0)
    times = [start + timedelta(days=i % 10) for i in range(len(texts))]
    times[0] = None
    res = find_themes(texts, k=3, timestamps=times)
    assert res.trend_bucket == "day"
    for t in res.themes:
        assert len(t.trend) == 10
        assert t.trend[0][0] == datetime(2024, 3, 1)
        assert sum(c for _, c in t.trend) == t.size - (1 if 0 in t.members else 0)
    long = find_themes(texts, k=3, timestamps=[start + timedelta(days=30 * i) for i in range(len(texts))])
    assert long.trend_bucket == "month"


def test_deterministic_for_a_seed():
    texts, _ = planted(30)
    assert find_themes(texts, seed=3).assignments == find_themes(texts, seed=3).assignments


def test_large_input_path_fits_on_a_sample_and_assigns_the_rest(monkeypatch):
    import moderation.analysis.themes as themes_mod

    monkeypatch.setattr(themes_mod, "FIT_SAMPLE", 60)  # force the sampled path on a small input
    texts, labels = planted(60)
    texts += ["Rent is too high, affordable housing now!"] * 50  # a campaign must be in the sample
    labels += [2] * 50
    res = find_themes(texts, k=3)
    assert res.k == 3 and all(a >= 0 for a in res.assignments)
    assert adjusted_rand_score(labels, res.assignments) > 0.8
    assert sum(t.size for t in res.themes) == len(texts)
    assert res.campaigns[0].size == 50
