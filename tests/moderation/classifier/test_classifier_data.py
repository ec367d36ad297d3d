from __future__ import annotations

import csv
import gzip

from moderation.classifier.datasets import DATA_DIR, DATASETS, load_dataset


def test_shipped_files_have_only_text_label_split_and_colds_topics():
    for name, (filename, _lang) in DATASETS.items():
        with gzip.open(DATA_DIR / filename, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == ["text", "label", "split"] + (["topic"] if name == "cold" else []), name
            seen_splits, seen_labels, seen_topics = set(), set(), set()
            for row in reader:
                seen_splits.add(row["split"])
                seen_labels.add(row["label"])
                seen_topics.add(row.get("topic"))
        # COLD's topics let training score each topic's validation posts with a model that never saw the topic
        assert seen_topics == ({"race", "region", "gender"} if name == "cold" else {None}), name
        # petition titles are ordinary civic text only (label 0)
        assert seen_labels == ({"0"} if name == "uk_petitions" else {"0", "1"}), name
        assert seen_splits == {"train", "valid", "test"}, name


def test_splits_are_disjoint_and_sizes_match_upstream():
    sizes = {(n, s): len(load_dataset(n, s)) for n in DATASETS for s in ("train", "valid", "test")}
    assert sizes[("hatexplain", "train")] == 10204 and sizes[("hatexplain", "test")] == 4251
    assert sizes[("cold", "train")] == 25726 and sizes[("cold", "valid")] == 6431 and sizes[("cold", "test")] == 5323
    cold_valid = load_dataset("cold", "valid")
    assert len(cold_valid.topics) == len(cold_valid.texts) and not load_dataset("davidson", "valid").topics
    assert sum(v for (n, _s), v in sizes.items() if n == "davidson") == 24783
    assert sizes[("toxic_spans", "train")] > 14000 and sum(load_dataset("toxic_spans", "test").labels) == 2000
    assert not sum(load_dataset("uk_petitions", "train").labels)
    dv_train = set(load_dataset("davidson", "train").texts)
    assert not dv_train & set(load_dataset("davidson", "test").texts)


def test_sources_document_licences_and_no_olid_is_shipped():
    sources = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for needle in ("MIT", "Apache License 2.0", "Davidson", "HateXplain", "COLD", "EMNLP 2022", "ICWSM",
                   "CC0", "Toxic Spans", "Open Government Licence"):
        assert needle in sources
    assert not [p for p in DATA_DIR.iterdir() if "olid" in p.name.lower()]
