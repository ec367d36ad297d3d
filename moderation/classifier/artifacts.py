"""Versioned model artifacts under `<data_dir>/models/abuse/`.

Layout::

    <data_dir>/models/abuse/
        CURRENT                      # one line: the active version
        abuse-20261127-171500-1a2b3c4d/
            model.joblib
            metadata.json

Training never deletes old versions.  Loading verifies the model file's
sha256 and the scikit-learn version recorded in the metadata; any problem
yields a `NullClassifier` whose `reason` says what went wrong (also logged on
the "civic.moderation" logger).
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

import joblib
import numpy
import sklearn

from .model import AbuseModel
from .scoring import ModelClassifier, NullClassifier

log = logging.getLogger("civic.moderation")

MODEL_FILE = "model.joblib"
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


def save_model(data_dir: Path, model: AbuseModel, info: dict[str, Any], *, training_data_sha256: str) -> str:
    """Write a new version directory; returns its version. Does not touch CURRENT."""
    root = models_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    joblib.dump(model, buf, compress=1)
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
        "model_file": MODEL_FILE,
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
    want = (metadata.get("versions") or {}).get("sklearn")
    if want != sklearn.__version__:
        return _null(f"model {version} was trained with scikit-learn {want}, running {sklearn.__version__}")
    model_path = vdir / MODEL_FILE
    try:
        digest = sha256_file(model_path)
    except OSError as exc:
        return _null(f"model file for {version} unreadable: {exc}")
    if digest != metadata.get("model_sha256"):
        return _null(f"checksum mismatch for {version}: model file is corrupt or was modified")
    try:
        model = joblib.load(model_path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "no model"
        return _null(f"cannot load model {version}: {type(exc).__name__}: {exc}")
    if not isinstance(model, AbuseModel):
        return _null(f"model file for {version} does not contain an AbuseModel")
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
        return ModelClassifier(model=model, version=version, thresholds=thresholds, metadata=metadata)
    except Exception as exc:  # noqa: BLE001
        return _null(f"model {version} failed to initialise: {exc}")


def load_current(data_dir: Path):
    version = current_version(data_dir)
    if version is None:
        return _null(f"no current abuse model in {models_root(data_dir)}")
    return load_version(data_dir, version)
