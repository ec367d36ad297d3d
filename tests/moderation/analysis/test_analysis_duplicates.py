"""Near-duplicate grouping (campaigns, copy-paste floods) and similarity search."""
from __future__ import annotations

import random
import time

from moderation.analysis.duplicates import find_campaigns, group_near_duplicates
from moderation.analysis.similarity import SimilarityIndex

LETTER = ("Dear council, I strongly oppose the planned demolition of the old library on Market Street. "
          "It is a valued community space used by families, students and older residents every day. "
          "Please keep it open and invest in its repair instead.")


def test_exact_and_near_copies_share_a_group():
    texts = [
        LETTER,
        LETTER.upper(),                                   # case
        LETTER.replace(",", "") + "  ",                   # punctuation / spacing
        "Dear council, I strongly oppose the planned demolition of the old library on Market Street. "
        "It is a valued community space used by families, students and older residents every day. "
        "Please keep it open and invest in its repair instead. Regards, Anna",   # signature added
        "Please add a pedestrian crossing near the primary school.",
        "More bins in the park, please.",
    ]
    ids = group_near_duplicates(texts)
    assert len(ids) == len(texts)
    assert ids[0] == ids[1] == ids[2] == ids[3]
    assert len({ids[0], ids[4], ids[5]}) == 3
    assert sorted(set(ids)) == list(range(len(set(ids))))  # dense ids


def test_threshold_controls_merging():
    a = "Reduce bus fares for students and pensioners in the city"
    b = "Reduce bus fares for students in the city"
    assert group_near_duplicates([a, b], threshold=0.6)[0] == group_near_duplicates([a, b], threshold=0.6)[1]
    strict = group_near_duplicates([a, b], threshold=1.0)
    assert strict[0] != strict[1]


def test_singletons_and_empty_texts_get_their_own_ids():
    ids = group_near_duplicates(["", "hello there", None, "  ", "general kenobi"])
    assert len(set(ids)) == 5
    assert group_near_duplicates([]) == []


def test_find_campaigns_reports_size_members_and_representative():
    rng = random.Random(0)
    organic = [f"Comment number {i} about topic {rng.randint(0, 10_000)} and {rng.random()}" for i in range(50)]
    flood = [LETTER] * 30 + [LETTER + " Thanks!"] * 5
    texts = organic[:25] + flood + organic[25:]
    camps = find_campaigns(texts)
    assert len(camps) == 1
    c = camps[0]
    assert c.size == 35 and len(c.members) == 35
    assert c.members == sorted(c.members) and all(25 <= i < 60 for i in c.members)
    assert c.text == LETTER and c.representative == 25  # the most common wording, first occurrence
    assert c.variants == 2
    assert group_near_duplicates(texts)[c.members[0]] == c.id


def test_chinese_near_duplicates():
    a = "我們強烈反對在河濱公園興建停車場，請市政府保留綠地。"
    b = "我們強烈反對在河濱公園興建停車場，請市政府保留綠地！謝謝"
    c = "請增加夜間公車班次"
    ids = group_near_duplicates([a, b, c])
    assert ids[0] == ids[1] != ids[2]


def test_fast_enough_for_large_floods():
    rng = random.Random(1)
    words = [f"w{i}" for i in range(3000)]
    base = [" ".join(rng.choices(words, k=15)) for _ in range(2000)]
    texts = [rng.choice(base) + ("" if rng.random() < 0.5 else " " + rng.choice(words)) for _ in range(30_000)]
    t0 = time.perf_counter()
    ids = group_near_duplicates(texts)
    assert time.perf_counter() - t0 < 20
    assert len(set(ids)) <= 2000 + 50  # every text joined its base text's group (a few base texts may collide)


def test_similarity_index_english_and_chinese():
    petitions = [
        "Build a protected bike lane on Main Street",
        "Lower bus fares for students",
        "降低學生公車票價",
        "Ban single-use plastic bags in shops",
        "Plant more trees along the river",
    ]
    idx = SimilarityIndex(petitions)
    hits = idx.query("protected bike lanes on main street please")
    assert hits and hits[0][0] == 0 and 0.2 <= hits[0][1] <= 1.0
    assert idx.query("公車票價太貴，學生負擔不起")[0][0] == 2
    assert idx.query("zebra quantum xylophone") == []
    assert idx.query("") == []
    many = idx.query("bus fares", k=2, min_score=0.0)
    assert len(many) == 2 and many[0][1] >= many[1][1] and many[0][0] == 1
    assert SimilarityIndex([]).query("anything") == []
    assert SimilarityIndex(["", "the"]).query("the") in ([], [(1, 1.0)])
