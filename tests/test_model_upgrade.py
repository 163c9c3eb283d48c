"""An operator who upgrades keeps the models they trained before: they load through the registry and
still score well with today's normalizer and indicators.

``tests/fixtures/models/seed-2026.11.4`` is the default model patroli shipped before the shared
vocabulary (``patroli.text``) replaced three drifted lists; it is kept byte for byte, with its card.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import skops.io

from classifiers.datasets import load_corpus
from classifiers.evaluate import binary_metrics
from classifiers.registry import (
    ALLOWED_TYPES,
    MODEL_FILE,
    SHIPPED_DIR,
    active_version,
    file_sha256,
    load_active,
    model_dirs,
    set_active,
)
from classifiers.scoring import RiskModel

OLD = Path(__file__).resolve().parent / "fixtures" / "models" / "seed-2026.11.4"


@pytest.fixture
def operator_models(tmp_path: Path) -> Path:
    """An operator's model directory holding the old model, made active before the upgrade."""
    models = tmp_path / "models"
    shutil.copytree(OLD, models / OLD.name)
    (models / "ACTIVE").write_text(f"{OLD.name}\n", encoding="utf-8")
    return models


def test_the_old_model_file_is_the_one_that_shipped() -> None:
    card = json.loads((OLD / "model_card.json").read_text(encoding="utf-8"))
    assert card["version"] == OLD.name
    assert file_sha256(OLD / MODEL_FILE) == card["file_sha256"]
    # It names its own classes by module path; every one of them still exists and is allowed.
    untrusted = set(skops.io.get_untrusted_types(file=OLD / MODEL_FILE))
    assert {t for t in untrusted if t.startswith("classifiers.")} == {
        "classifiers.features.CachedTfidfVectorizer",
        "classifiers.features.CharNgrams",
        "classifiers.features.RedFlagFeatures",
        "classifiers.features.WordNgrams",
        "classifiers.textnorm.IndonesianTextNormalizer",
    }
    assert untrusted <= ALLOWED_TYPES


def test_an_operators_old_active_model_still_loads_and_scores(operator_models: Path) -> None:
    stored = load_active(operator_models)
    assert stored.version == OLD.name
    test = [ad for ad in load_corpus() if ad.split == "test"]
    model = RiskModel(stored)
    risks = [score.risk for score in model.score([ad.model_text for ad in test])]
    metrics = binary_metrics([ad.label for ad in test], risks, model.threshold)
    shipped = stored.card["metrics"]["test"]
    # The normalizer now reads more currencies and no longer takes "PP" for Phnom Penh: the old
    # model's numbers move a little, not more.
    assert metrics["pr_auc"] == pytest.approx(shipped["pr_auc"], abs=0.01)
    assert metrics["recall"] == pytest.approx(shipped["recall"], abs=0.02)
    assert metrics["precision"] == pytest.approx(shipped["precision"], abs=0.02)


def test_the_operator_can_switch_between_the_old_and_the_new_default(
    operator_models: Path,
) -> None:
    shipped_active = (SHIPPED_DIR / "ACTIVE").read_text(encoding="utf-8").strip()
    assert shipped_active != OLD.name
    assert {p.name for p in model_dirs(operator_models)} >= {OLD.name, shipped_active}
    set_active(shipped_active, operator_models)
    assert active_version(operator_models) == shipped_active
    assert load_active(operator_models).version == shipped_active
    set_active(OLD.name, operator_models)
    assert load_active(operator_models).version == OLD.name
