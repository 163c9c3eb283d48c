"""Versioned model files with model cards; loaded only when intact and made for this environment.

A model is a directory ``<models dir>/<version>/`` holding ``model.skops`` and ``model_card.json``
(version, date, library versions, training-data hash, parameters, metrics, threshold, file hash).
Loading refuses a file whose hash differs from its card (tampered or corrupted), a card made with
another scikit-learn version (no supported way to load it), and any type outside the allow-list
(skops never unpickles arbitrary code).

Two places hold models: the shipped default under ``classifiers/models/`` and the operator's own
under ``PATROLI_MODEL_DIR`` (default ``var/models``). ``ACTIVE`` in the operator's directory, else
in the shipped one, names the version in use.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
import scipy
import sklearn
import skops
import skops.io
from sklearn.pipeline import Pipeline

from patroli.config.table import PATROLI_MODEL_DIR

SHIPPED_DIR = Path(__file__).parent / "models"
MODEL_FILE = "model.skops"
CARD_FILE = "model_card.json"
ACTIVE_FILE = "ACTIVE"

# Types a model file may contain beyond skops' defaults: our own transformers and the scikit-learn
# internals of the calibrated classifier. Anything else is refused.
ALLOWED_TYPES = frozenset(
    {
        "classifiers.features.RedFlagFeatures",
        "classifiers.features.CompactTfidfVectorizer",
        "classifiers.features.CachedTfidfVectorizer",
        "classifiers.features.CharNgrams",
        "classifiers.features.WordNgrams",
        "classifiers.textnorm.IndonesianTextNormalizer",
        "classifiers.stacked.MonotoneScorecard",
        "classifiers.stacked.StackedRiskClassifier",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.isotonic.IsotonicRegression",
        "sklearn.utils._bunch.Bunch",
        "builtins.slice",
        "numpy.float32",
        "numpy.dtypes.Float32DType",
        "numpy.dtypes.Float64DType",
        "numpy.dtypes.Int64DType",
        "numpy.dtypes.Int32DType",
        "numpy.int64",
        "numpy.int32",
        "numpy.float64",
    }
)


class ModelError(Exception):
    """A model cannot be used; the message says which file and what to do."""


def default_model_dir() -> Path:
    return Path(PATROLI_MODEL_DIR.from_env())


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(slots=True)
class StoredModel:
    pipeline: Pipeline
    card: dict[str, Any]
    path: Path

    @property
    def version(self) -> str:
        return str(self.card["version"])

    @property
    def threshold(self) -> float:
        return float(self.card["threshold"])


def save_model(pipeline: Pipeline, card: dict[str, Any], models_dir: Path) -> Path:
    """Write ``pipeline`` and its card to ``models_dir/<card['version']>``; return that directory."""
    target = models_dir / str(card["version"])
    if target.exists():
        raise ModelError(f"{target} exists already: model versions are never overwritten")
    tmp = models_dir / f".{card['version']}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    skops.io.dump(pipeline, tmp / MODEL_FILE)
    card = {
        **card,
        "library_versions": library_versions(),
        "file": MODEL_FILE,
        "file_sha256": file_sha256(tmp / MODEL_FILE),
    }
    (tmp / CARD_FILE).write_text(
        json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    tmp.rename(target)
    return target


def read_card(model_dir: Path) -> dict[str, Any]:
    card_path = model_dir / CARD_FILE
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(
            f"{card_path}: missing model card; a model without a card is not loaded"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"{card_path}: model card is not valid JSON ({exc.msg})") from exc
    for key in ("version", "threshold", "file_sha256", "library_versions"):
        if key not in card:
            raise ModelError(f"{card_path}: model card lacks {key!r}")
    return card


def load_model(model_dir: Path) -> StoredModel:
    """Load and verify one model directory; raise ``ModelError`` saying why it was refused."""
    card = read_card(model_dir)
    model_path = model_dir / card.get("file", MODEL_FILE)
    if not model_path.is_file():
        raise ModelError(f"{model_path}: model file missing")
    actual = file_sha256(model_path)
    if actual != card["file_sha256"]:
        raise ModelError(
            f"{model_path}: file hash {actual[:12]}… does not match its model card "
            f"({str(card['file_sha256'])[:12]}…); the file was modified or corrupted: refusing to load it"
        )
    trained_with = card["library_versions"].get("scikit-learn")
    if trained_with != sklearn.__version__:
        raise ModelError(
            f"{model_dir}: trained with scikit-learn {trained_with}, this environment has "
            f"{sklearn.__version__}; retrain with `patroli train` (models cannot move across versions)"
        )
    try:
        untrusted = skops.io.get_untrusted_types(file=model_path)
    except Exception as exc:  # skops raises several kinds on a damaged archive
        raise ModelError(f"{model_path}: not a readable skops file ({exc})") from exc
    refused = sorted(set(untrusted) - ALLOWED_TYPES)
    if refused:
        raise ModelError(
            f"{model_path}: contains types outside the allow-list: {', '.join(refused)}"
        )
    pipeline = skops.io.load(model_path, trusted=untrusted)
    if not isinstance(pipeline, Pipeline):
        raise ModelError(
            f"{model_path}: holds a {type(pipeline).__name__}, not a scikit-learn Pipeline"
        )
    return StoredModel(pipeline=pipeline, card=card, path=model_dir)


def model_dirs(models_dir: Path | None = None) -> list[Path]:
    """Every model directory known: the operator's, then the shipped ones."""
    found: list[Path] = []
    for base in (models_dir or default_model_dir(), SHIPPED_DIR):
        if base.is_dir():
            found += sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    return found


def find_model(version: str, models_dir: Path | None = None) -> Path:
    for path in model_dirs(models_dir):
        if path.name == version:
            return path
    raise ModelError(f"no model version {version!r}; `patroli model list` shows the available ones")


def active_version(models_dir: Path | None = None) -> str:
    for base in (models_dir or default_model_dir(), SHIPPED_DIR):
        pointer = base / ACTIVE_FILE
        if pointer.is_file():
            return pointer.read_text(encoding="utf-8").strip()
    raise ModelError(
        f"no active model: neither {models_dir or default_model_dir()} nor {SHIPPED_DIR} has {ACTIVE_FILE}"
    )


def set_active(version: str, models_dir: Path | None = None) -> Path:
    """Make ``version`` the active model (after loading it once, so a broken one is never active)."""
    path = find_model(version, models_dir)
    load_model(path)
    base = models_dir or default_model_dir()
    base.mkdir(parents=True, exist_ok=True)
    (base / ACTIVE_FILE).write_text(version + "\n", encoding="utf-8")
    return path


def load_active(models_dir: Path | None = None) -> StoredModel:
    return load_model(find_model(active_version(models_dir), models_dir))
