"""Quality benchmark: Civic's abuse classifier vs alt-profanity-check.

    python bench/classifier_quality.py [--data-dir ./var] [--retrain] [--peer-venv bench/out/peer-venv]

* Civic: the current model in `<data-dir>/models/abuse/` (the full model is
  trained there first if none loads, or always with --retrain).  It was
  trained on the shipped *train* and *valid* splits (2-fold cross-fitting
  over the valid splits) and calibrated / thresholded on out-of-fold valid
  scores; the test sets below were never used for fitting or tuning.
* Peer: `alt-profanity-check`, pip-installed into a separate venv (default
  bench/out/peer-venv, git-ignored) and run in a subprocess on the same texts.

Evaluation sets (ROC-AUC, label 1 = abusive/offensive):
  OLID test level A (read from /work/shared/data; never shipped or trained on),
  HateXplain re-split test, COLD test (Chinese), and, as an extra row not in
  the English mean, our fixed Davidson test split.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moderation.classifier import load_classifier, train_to_dir  # noqa: E402
from moderation.classifier.datasets import load_dataset  # noqa: E402
from moderation.classifier.training import safe_auc  # noqa: E402

SHARED = Path("/work/shared/data")
PEER_PACKAGE = "alt-profanity-check"

PEER_SCRIPT = r"""
import json, sys
from profanity_check import predict_prob
sets = json.load(open(sys.argv[1], encoding="utf-8"))
out = {}
for name, texts in sets.items():
    out[name] = [float(p) for p in predict_prob(texts)]
    print(f"[peer] scored {name}: {len(texts)} texts", file=sys.stderr, flush=True)
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"))
"""


def say(msg: str) -> None:
    print(f"[quality] {msg}", file=sys.stderr, flush=True)


def load_olid_test() -> tuple[list[str], list[int]]:
    base = SHARED / "abuse-en/olid"
    labels: dict[str, int] = {}
    with open(base / "labels-levela.csv", encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) >= 2:
                labels[row[0].strip()] = 1 if row[1].strip().upper() == "OFF" else 0
    texts, ys = [], []
    with open(base / "testset-levela.tsv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row["id"] in labels:
                texts.append(row["tweet"])
                ys.append(labels[row["id"]])
    return texts, ys


def ensure_peer(venv_dir: Path) -> Path:
    py = venv_dir / "bin" / "python"
    if py.exists():
        ok = subprocess.run([str(py), "-c", "import profanity_check"], capture_output=True)
        if ok.returncode == 0:
            say(f"peer venv ready: {venv_dir}")
            return py
    say(f"creating peer venv in {venv_dir} and installing {PEER_PACKAGE} (network: PyPI)...")
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    subprocess.run([str(py), "-m", "pip", "install", "-q", PEER_PACKAGE], check=True)
    ver = subprocess.run(
        [str(py), "-m", "pip", "show", PEER_PACKAGE], capture_output=True, text=True
    ).stdout.split("Version:")[-1].split()[0]
    say(f"installed {PEER_PACKAGE} {ver}")
    return py


def run_peer(py: Path, sets: dict[str, list[str]]) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, script = Path(tmp, "in.json"), Path(tmp, "out.json"), Path(tmp, "peer.py")
        src.write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
        script.write_text(PEER_SCRIPT, encoding="utf-8")
        subprocess.run([str(py), str(script), str(src), str(dst)], check=True, env={**os.environ, "PYTHONPATH": ""})
        return json.loads(dst.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("./var"))
    ap.add_argument("--retrain", action="store_true", help="train a fresh full model first")
    ap.add_argument("--peer-venv", type=Path, default=ROOT / "bench" / "out" / "peer-venv")
    args = ap.parse_args(argv)

    clf = load_classifier(args.data_dir)
    if args.retrain or not clf.available:
        say("training the full Civic model (train splits only; about a minute)...")
        t0 = time.monotonic()
        version = train_to_dir(args.data_dir, progress=lambda m: say(f"  train: {m}"))
        say(f"trained {version} in {time.monotonic() - t0:.0f}s")
        clf = load_classifier(args.data_dir)
    if not clf.available:
        say(f"no usable model: {clf.reason}")
        return 1
    say(f"Civic model: {clf.version}")

    say("loading evaluation sets...")
    sets: dict[str, tuple[list[str], list[int]]] = {}
    sets["OLID test A"] = load_olid_test()
    hx = load_dataset("hatexplain", "test")
    sets["HateXplain test"] = (hx.texts, hx.labels)
    cold = load_dataset("cold", "test")
    sets["COLD test (zh)"] = (cold.texts, cold.labels)
    dv = load_dataset("davidson", "test")
    sets["Davidson test*"] = (dv.texts, dv.labels)
    for name, (t, y) in sets.items():
        say(f"  {name}: {len(t)} texts, {sum(y)} abusive")

    py = ensure_peer(args.peer_venv)
    say("running the peer in a subprocess...")
    peer = run_peer(py, {k: v[0] for k, v in sets.items()})

    results: dict[str, tuple[float | None, float | None]] = {}
    for name, (texts, labels) in sets.items():
        say(f"scoring {name} with Civic...")
        civic = clf.probabilities(texts)
        results[name] = (safe_auc(labels, civic), safe_auc(labels, peer[name]))

    def fmt(v: float | None) -> str:
        return "   n/a" if v is None else f"{v:.4f}"

    print(f"Civic model {clf.version} vs {PEER_PACKAGE} (ROC-AUC on held-out test data)")
    print(f"{'set':<18} {'rows':>6} {'Civic':>8} {'peer':>8}")
    for name, (c, p) in results.items():
        print(f"{name:<18} {len(sets[name][0]):>6} {fmt(c):>8} {fmt(p):>8}")
    en = ["OLID test A", "HateXplain test"]
    civic_en = sum(results[k][0] for k in en) / len(en)
    peer_en = sum(results[k][1] for k in en) / len(en)
    print(f"{'mean English':<18} {'':>6} {civic_en:>8.4f} {peer_en:>8.4f}   (OLID + HateXplain)")
    print("* Davidson test is our fixed hash split of a training corpus; shown for reference, not in the mean.")
    cold_auc = results["COLD test (zh)"][0] or 0.0
    beat = civic_en > peer_en
    print(f"target: Civic beats peer on mean English ROC-AUC: {'met' if beat else 'NOT met'}")
    print(f"target: Civic COLD test ROC-AUC >= 0.88: {'met' if cold_auc >= 0.88 else 'NOT met'} ({cold_auc:.4f})")
    return 0 if beat and cold_auc >= 0.88 else 2


if __name__ == "__main__":
    raise SystemExit(main())
