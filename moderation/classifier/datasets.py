"""Shipped training data for the abuse classifier.

The package ships three compressed CSVs (columns `text,label,split`) under
`moderation/classifier/data/`:

* `davidson_hsol.csv.gz`   English tweets, Davidson et al. 2017 (MIT).  The
  upstream data has no split; we assign a fixed 80/10/10 train/valid/test split
  from a hash of the text so it is stable across builds.
* `hatexplain.csv.gz`      English Twitter/Gab posts, HateXplain re-split (MIT),
  upstream train/valid/test.
* `cold.csv.gz`            Chinese COLD (Apache-2.0), upstream train/dev/test
  (dev is stored as "valid"), with a fourth column `topic` (race, region, gender): training scores the
  validation posts of each topic with a model fitted without that topic (training.out_of_topic_scores).

`build_shipped_data()` regenerates them from the raw copies in
/work/shared/data; it is only needed by maintainers.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

DATASETS = {
    # name: (file, language)
    "davidson": ("davidson_hsol.csv.gz", "en"),
    "hatexplain": ("hatexplain.csv.gz", "en"),
    "toxic_spans": ("toxic_spans.csv.gz", "en"),
    "uk_petitions": ("uk_petition_titles.csv.gz", "en"),
    "cold": ("cold.csv.gz", "zh"),
}
SPLITS = ("train", "valid", "test")


@dataclass
class Rows:
    texts: list[str]
    labels: list[int]
    topics: list[str] = field(default_factory=list)   # per row, for corpora with a `topic` column (COLD)

    def __len__(self) -> int:
        return len(self.texts)


def _stable_bucket(text: str, buckets: int = 10) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % buckets


def load_dataset(name: str, split: str, *, data_dir: Path = DATA_DIR) -> Rows:
    filename, _lang = DATASETS[name]
    out = Rows([], [])
    with gzip.open(data_dir / filename, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == split:
                _append(out, row)
    return out


def _append(rows: Rows, row: dict[str, str]) -> None:
    rows.texts.append(row["text"])
    rows.labels.append(int(row["label"]))
    if "topic" in row:
        rows.topics.append(row["topic"])


def load_all(*, data_dir: Path = DATA_DIR) -> dict[str, dict[str, Rows]]:
    """{dataset: {split: Rows}} for every shipped dataset and split."""
    out: dict[str, dict[str, Rows]] = {}
    for name, (filename, _lang) in DATASETS.items():
        per = {s: Rows([], []) for s in SPLITS}
        with gzip.open(data_dir / filename, "rt", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                _append(per[row["split"]], row)
        out[name] = per
    return out


def data_sha256(*, data_dir: Path = DATA_DIR) -> str:
    h = hashlib.sha256()
    for name in sorted(DATASETS):
        h.update((data_dir / DATASETS[name][0]).read_bytes())
    return h.hexdigest()


def language_of(name: str) -> str:
    return DATASETS[name][1]


# --------------------------------------------------------------------------
# Maintainer helper: rebuild the shipped files from the raw dataset copies.


def _write(path: Path, rows: list[tuple], header: tuple[str, ...] = ("text", "label", "split")) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    # mtime=0 keeps the gzip byte-identical across rebuilds (stable data hash).
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(buf.getvalue().encode("utf-8"))


def build_shipped_data(src: Path = Path("/work/shared/data"), dest: Path = DATA_DIR) -> dict[str, int]:
    dest.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    rows: list[tuple[str, int, str]] = []
    with open(src / "abuse-en/davidson-hsol/labeled_data.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            text = r["tweet"]
            b = _stable_bucket(text)
            split = "test" if b == 9 else "valid" if b == 8 else "train"
            rows.append((text, 0 if r["class"] == "2" else 1, split))
    _write(dest / DATASETS["davidson"][0], rows)
    counts["davidson"] = len(rows)

    rows = []
    for split in SPLITS:
        with open(src / f"abuse-en/hatexplain-resplit/{split}.tsv", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                label = {"hatespeech": 1, "offensive": 1, "normal": 0}[r["label"]]
                rows.append((r["text"], label, split))
    _write(dest / DATASETS["hatexplain"][0], rows)
    counts["hatexplain"] = len(rows)

    # Toxic Spans (CC0): every post is toxic (label 1). The same post with its marked spans cut out is kept
    # as a label-0 example, so the model learns the toxic words rather than the news-comment style.
    rows = []
    for split, upstream in (("train", "train"), ("valid", "trial"), ("test", "test")):
        with open(src / f"abuse-en/toxic-spans/tsd_{upstream}.csv", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                text, spans = r["text"], set(json.loads(r["spans"]))
                rows.append((text, 1, split))
                if spans:
                    rest = "".join(ch for i, ch in enumerate(text) if i not in spans)
                    rest = " ".join(rest.split())
                    if len(rest) >= 20:
                        rows.append((rest, 0, split))
    _write(dest / DATASETS["toxic_spans"][0], rows)
    counts["toxic_spans"] = len(rows)

    # UK Parliament petition titles 2010-2015 (OGL v3): ordinary civic text, label 0. The 2015-2017 and
    # closed-petition files are never shipped or trained on: the bench checks routing on them.
    rows = []
    with open(src / "petitions/uk-petitions-titles/published-petitions-2010-2015.csv", encoding="utf-8",
              errors="replace", newline="") as fh:
        for r in csv.DictReader(fh):
            title = (r.get("Petition") or "").strip()
            if title:
                b = _stable_bucket(title)
                rows.append((title, 0, "test" if b == 9 else "valid" if b == 8 else "train"))
    _write(dest / DATASETS["uk_petitions"][0], rows)
    counts["uk_petitions"] = len(rows)

    cold: list[tuple[str, int, str, str]] = []
    for split, upstream in (("train", "train"), ("valid", "dev"), ("test", "test")):
        with open(src / f"abuse-zh/cold/{upstream}.csv", encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                cold.append((r["TEXT"], int(r["label"]), split, r["topic"]))
    _write(dest / DATASETS["cold"][0], cold, ("text", "label", "split", "topic"))
    counts["cold"] = len(cold)
    return counts


if __name__ == "__main__":  # pragma: no cover
    print(build_shipped_data())
