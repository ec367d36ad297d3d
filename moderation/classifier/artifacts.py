"""Versioned model artifacts under `<data_dir>/models/abuse/`.

Layout::

    <data_dir>/models/abuse/
        CURRENT                      # one line: the active version
        abuse-20261203-171500-1a2b3c4d/
            arrays.npz               # weights, idf, out-of-fold and out-of-topic validation scores (plain arrays)
            metadata.json            # manifest: format, per-head hyperparameters and scalars, metrics, thresholds

Why no pickle: a pickle names the project's classes and the library's private layout, so renaming a class
or upgrading scikit-learn breaks every saved model (and loading one runs code). The manifest names a format
version; `model.Head.from_arrays` rebuilds the scikit-learn pipeline from hyperparameters and arrays.

Training never deletes old versions.  Loading verifies the arrays' sha256 and the format version; any problem
(including an artifact of the earlier pickled format) yields a `NullClassifier` whose `reason` says what went
wrong (also logged on the "civic.moderation" logger), so items go to human review and first-start training
replaces it.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import platform
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy
import sklearn

from .model import AbuseModel, Head
from .scoring import ModelClassifier, NullClassifier

log = logging.getLogger("civic.moderation")

FORMAT = "civic-abuse/2"
MODEL_FILE = "arrays.npz"
METADATA_FILE = "metadata.json"
CURRENT_FILE = "CURRENT"
_VERSION_RE = re.compile(r"^abuse-\d{8}-\d{6}-[0-9a-f]{8}(?:-\d+)?$")


def models_root(data_dir: Path) -> Path:
    return Path(data_dir) / "models" / "abuse"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def runtime_versions() -> dict[str, str]:
    return {"sklearn": sklearn.__version__, "numpy": numpy.__version__, "python": platform.python_version()}


def _put_score_groups(arrays: dict[str, Any], prefix: str, groups: dict[str, dict[str, Any]]) -> None:
    """Store each named group's validation scores and labels as `<prefix>.<name>.scores` / `.labels`."""
    for name, v in groups.items():
        arrays[f"{prefix}.{name}.scores"] = numpy.asarray(v["scores"], dtype=numpy.float64)
        arrays[f"{prefix}.{name}.labels"] = numpy.asarray(v["labels"], dtype=numpy.int8)


def _score_groups(arrays: dict[str, Any], prefix: str, languages: dict[str, str] | None) -> dict[str, list]:
    """{language: [(scores, labels)]} of the groups `_put_score_groups` stored under `prefix`; a group whose
    arrays are missing is skipped."""
    out: dict[str, list] = {}
    for name, lang in (languages or {}).items():
        scores, labels = arrays.get(f"{prefix}.{name}.scores"), arrays.get(f"{prefix}.{name}.labels")
        if scores is not None and labels is not None:
            out.setdefault(lang, []).append((scores, labels.astype(numpy.int64)))
    return out


def save_model(data_dir: Path, model: AbuseModel, info: dict[str, Any], *, training_data_sha256: str) -> str:
    """Write a new version directory; returns its version. Does not touch CURRENT."""
    root = models_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    info = dict(info)
    validation = info.pop("_validation_scores", {}) or {}
    shifted = info.pop("_shifted_scores", {}) or {}
    heldout = info.pop("_heldout", None)
    heads_meta, arrays = {}, {}
    for key, head in model.heads.items():
        meta, head_arrays = head.to_arrays(f"head.{key}")
        heads_meta[key] = meta
        arrays.update(head_arrays)
    _put_score_groups(arrays, "valid", validation)
    _put_score_groups(arrays, "shift", shifted)
    for key, values in (heldout or {}).items():
        arrays[f"heldout.{key}"] = values
    buf = io.BytesIO()
    # numpy's stub gives savez_compressed a bool keyword (allow_pickle), so **arrays looks wrong to mypy;
    # every key here is an array name ("head.en.coef", "valid.x.scores" ...), never allow_pickle
    numpy.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    blob = buf.getvalue()
    digest = hashlib.sha256(blob).hexdigest()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = f"abuse-{stamp}-{digest[:8]}"
    version, n = base, 1
    while (root / version).exists():
        n += 1
        version = f"{base}-{n}"
    metadata = {
        "version": version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": runtime_versions(),
        "format": FORMAT,
        "model_file": MODEL_FILE,
        "heads": heads_meta,
        "default_head": model.default,
        "validation_languages": {name: v["language"] for name, v in validation.items()},
        "shifted_validation_languages": {name: v["language"] for name, v in shifted.items()},
        "model_sha256": digest,
        "training_data_sha256": training_data_sha256,
        **info,
    }
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        (tmp / MODEL_FILE).write_bytes(blob)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
        os.chmod(tmp, 0o755)
        os.replace(tmp, root / version)
    except BaseException:
        for p in tmp.glob("*"):
            p.unlink()
        tmp.rmdir()
        raise
    log.info("saved abuse model %s", version)
    return version


def set_current(data_dir: Path, version: str) -> None:
    root = models_root(data_dir)
    if not (root / version / METADATA_FILE).is_file():
        raise FileNotFoundError(f"no such model version: {version}")
    tmp = root / f".CURRENT.{os.getpid()}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, root / CURRENT_FILE)


def current_version(data_dir: Path) -> str | None:
    try:
        v = (models_root(data_dir) / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return v or None


def list_versions(data_dir: Path) -> list[str]:
    root = models_root(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _VERSION_RE.match(p.name))


def read_metadata(data_dir: Path, version: str) -> dict[str, Any]:
    return json.loads((models_root(data_dir) / version / METADATA_FILE).read_text(encoding="utf-8"))


def _null(reason: str) -> NullClassifier:
    log.warning("abuse classifier unavailable: %s", reason)
    return NullClassifier(reason)


def load_version(data_dir: Path, version: str):
    """Load and verify one version; NullClassifier(reason) on any failure."""
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        return _null(f"invalid model version {version!r}")
    vdir = models_root(data_dir) / version
    try:
        metadata = json.loads((vdir / METADATA_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _null(f"model version {version} not found in {vdir}")
    except (OSError, ValueError) as exc:
        return _null(f"unreadable metadata for {version}: {exc}")
    if not isinstance(metadata, dict):
        return _null(f"malformed metadata for {version}")
    if metadata.get("format") != FORMAT:
        return _null(f"model {version} is in an older format ({metadata.get('format', 'pickled')}); "
                     "it is not loaded: items go to human review until a new model is trained")
    model_path = vdir / MODEL_FILE
    try:
        digest = sha256_file(model_path)
    except OSError as exc:
        return _null(f"model file for {version} unreadable: {exc}")
    if digest != metadata.get("model_sha256"):
        return _null(f"checksum mismatch for {version}: model file is corrupt or was modified")
    try:
        with numpy.load(model_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        heads = {key: Head.from_arrays(meta, arrays, f"head.{key}") for key, meta in metadata["heads"].items()}
        model = AbuseModel(heads, default=metadata.get("default_head", "en"))
    except Exception as exc:  # noqa: BLE001 - any unreadable artifact means "no model"
        return _null(f"cannot load model {version}: {type(exc).__name__}: {exc}")
    validation = _score_groups(arrays, "valid", metadata.get("validation_languages"))
    # Out-of-topic validation scores (models trained before they existed have none: in-corpus groups only).
    shifted = _score_groups(arrays, "shift", metadata.get("shifted_validation_languages"))
    heldout = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("heldout.")}
    thresholds = metadata.get("thresholds") or {}
    try:
        out = {"review": float(thresholds["review"]), "hold": float(thresholds["hold"])}
        # optional per-language operating points ("review:en", "hold:zh", ...)
        for key, value in thresholds.items():
            if isinstance(key, str) and key.split(":", 1)[0] in ("review", "hold") and ":" in key:
                out[key] = float(value)
        thresholds = out
    except (KeyError, TypeError, ValueError, AttributeError):
        return _null(f"metadata for {version} lacks valid thresholds")
    try:
        return ModelClassifier(model=model, version=version, thresholds=thresholds, metadata=metadata,
                               validation=validation, heldout=heldout, shifted=shifted)
    except Exception as exc:  # noqa: BLE001
        return _null(f"model {version} failed to initialise: {exc}")


def load_current(data_dir: Path):
    version = current_version(data_dir)
    if version is None:
        return _null(f"no current abuse model in {models_root(data_dir)}")
    return load_version(data_dir, version)
