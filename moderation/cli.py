"""`civic moderation ...` commands: train, evaluate and batch-score the abuse classifier.

`app/cli.py` calls `register(subparsers)`; every handler is `fn(args, settings) -> int`
where `settings.data_dir` is the app's data directory.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from app.config import load_section
from app.progress import Progress
from moderation.contract import ModerationSettings
from moderation.learning import add_retrain_parser


def _register_classifier_commands(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("moderation", help="abuse classifier: train, evaluate, score")
    sub = parser.add_subparsers(dest="moderation_command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("train", help="train the abuse model on the shipped data and make it current")
    p.add_argument("--sample", type=int, default=None, help="cap rows per dataset split (quick smoke runs)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("evaluate", help="ROC-AUC / precision / recall / F1 of the current model on a labelled CSV")
    p.add_argument("--data", required=True, type=Path, help="CSV file with a header row")
    p.add_argument("--text-column", required=True)
    p.add_argument("--label-column", required=True, help="0/1 (also accepts true/false, yes/no, abusive/ok)")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("score", help="add `score` (probability of abuse 0..1), `route` (publish, review or hold, "
                                     "as the app would route the post) and `category` (top abuse category or empty) to a CSV")
    p.add_argument("--input", required=True, type=Path)
    p.add_argument("--text-column", required=True)
    p.add_argument("--output", required=True, type=Path)
    p.set_defaults(handler=cmd_score)
    return parser


class CliError(Exception):
    pass


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def _read_csv(path: Path, required: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    # Big free-text cells (long petitions) must not trip the csv module's 128 KiB default.
    if csv.field_size_limit() < 2**27:
        csv.field_size_limit(2**27)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames
            if not header:
                raise CliError(f"{path}: empty file or no header row")
            missing = [c for c in required if c not in header]
            if missing:
                raise CliError(
                    f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; "
                    f"available: {', '.join(repr(c) for c in header)}"
                )
            rows = []
            for i, row in enumerate(reader, start=2):
                if None in row:  # more fields than the header
                    raise CliError(f"{path}: line {i} has more fields than the header")
                rows.append(row)
            return list(header), rows
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise CliError(f"{path}: malformed CSV: {exc}") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory") from None


_TRUE = {"1", "true", "yes", "y", "abusive", "offensive", "hate", "toxic", "off"}
_FALSE = {"0", "false", "no", "n", "ok", "clean", "normal", "not", "none", "neither"}


def _parse_label(value: str | None, line: int) -> int:
    v = (value or "").strip().lower()
    if v in _TRUE:
        return 1
    if v in _FALSE:
        return 0
    try:
        f = float(v)
    except ValueError:
        raise CliError(f"line {line}: label {value!r} is not 0/1") from None
    if f in (0.0, 1.0):
        return int(f)
    raise CliError(f"line {line}: label {value!r} is not 0/1")


def _load_model(settings):
    from moderation.classifier import load_classifier  # deferred: loads numpy/scipy/sklearn (seconds)

    clf = load_classifier(Path(settings.data_dir))
    if not clf.available:
        raise CliError(f"no usable abuse model: {getattr(clf, 'reason', '')}. Run `civic moderation train` first.")
    return clf


def cmd_train(args, settings) -> int:
    # deferred: the classifier package loads numpy/scipy/sklearn (seconds); `civic --help` must not
    from moderation.classifier import train_to_dir
    from moderation.classifier.artifacts import read_metadata

    data_dir = Path(settings.data_dir)
    with Progress("Training abuse model", total=None) as progress:
        version = train_to_dir(
            data_dir, sample=getattr(args, "sample", None), seed=getattr(args, "seed", 0), progress=progress
        )
    meta = read_metadata(data_dir, version)
    print(f"version: {version}")
    print(f"training rows: {meta['training_rows']}  ({meta['training_seconds']} s)")
    print(f"thresholds: review {meta['thresholds']['review']:.3f}, hold {meta['thresholds']['hold']:.3f}")
    print("held-out test metrics:")
    _print_metrics_table(meta["metrics"]["test"])
    return 0


def _print_metrics_table(metrics: dict[str, Any]) -> None:
    print(f"  {'set':<12} {'rows':>6} {'ROC-AUC':>8}  {'P@review':>8} {'R@review':>8}  {'P@hold':>7} {'R@hold':>7}")
    rows = [(k, v) for k, v in metrics["datasets"].items()] + [(f"[{k}]", v) for k, v in metrics["languages"].items()]
    for name, m in rows:
        auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
        r, h = m["review"], m["hold"]
        print(
            f"  {name:<12} {m['rows']:>6} {auc:>8}  {r['precision']:>8.3f} {r['recall']:>8.3f}  "
            f"{h['precision']:>7.3f} {h['recall']:>7.3f}"
        )
    if metrics.get("mean_roc_auc") is not None:
        print(f"  mean ROC-AUC over datasets: {metrics['mean_roc_auc']:.4f}")


def cmd_evaluate(args, settings) -> int:
    # deferred: the classifier package loads numpy/scipy/sklearn (seconds); `civic --help` must not
    import numpy as np

    from moderation.classifier.training import safe_auc, threshold_metrics

    try:
        _header, rows = _read_csv(args.data, [args.text_column, args.label_column])
        if not rows:
            raise CliError(f"{args.data}: no data rows")
        labels = np.array([_parse_label(r[args.label_column], i) for i, r in enumerate(rows, start=2)])
        clf = _load_model(settings)
    except CliError as exc:
        return _err(str(exc))
    texts = [r[args.text_column] or "" for r in rows]
    probs = np.asarray(clf.probabilities(texts))
    auc = safe_auc(labels, probs)
    print(f"model: {clf.version}")
    print(f"rows: {len(rows)} (abusive {int(labels.sum())}, not abusive {int(len(labels) - labels.sum())})")
    print(f"ROC-AUC: {'n/a (only one class present)' if auc is None else f'{auc:.4f}'}")
    for level in ("review", "hold"):
        m = threshold_metrics(probs, labels, clf.thresholds[level])
        print(
            f"{level:<6} threshold {m['threshold']:.3f}: precision {m['precision']:.4f}  "
            f"recall {m['recall']:.4f}  F1 {m['f1']:.4f}"
        )
    return 0


def cmd_score(args, settings) -> int:
    try:
        header, rows = _read_csv(args.input, [args.text_column])
        clf = _load_model(settings)
    except CliError as exc:
        return _err(str(exc))
    from moderation import policy  # deferred: policy loads the classifier package (numpy/scipy/sklearn)

    route_of = policy.router(load_section(ModerationSettings, "CIVIC_MODERATION_", ".env"), clf)
    out_header = header + [c for c in ("score", "route", "category") if c not in header]
    texts = [r[args.text_column] or "" for r in rows]
    chunk = 2000
    results = []
    with Progress("Scoring", total=len(texts)) as progress:
        for i in range(0, len(texts), chunk):
            part = clf.score_many(texts[i : i + chunk], explain=False)
            results.extend(part)
            progress.advance(len(part))
    counts: dict[str, int] = {}
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=out_header)
            w.writeheader()
            for row, r in zip(rows, results):
                route = route_of(r.probability, r.category, r.language)
                row = dict(row)
                row["score"] = f"{r.probability:.6f}"
                row["route"] = route
                row["category"] = r.category
                counts[route] = counts.get(route, 0) + 1
                w.writerow(row)
    except OSError as exc:
        return _err(f"cannot write {args.output}: {exc}")
    print(f"scored {len(rows)} rows with {clf.version} -> {args.output}")
    print("routes: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("publish", "review", "hold")))
    return 0


# ----- `civic moderation retrain` (moderators' side: learning from decisions; see moderation/learning.py) -----

def register(subparsers) -> argparse.ArgumentParser:
    """Register the classifier commands above, then `retrain` (shipped data + moderators' decisions)."""
    parser = _register_classifier_commands(subparsers)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            add_retrain_parser(action)
            break
    return parser
