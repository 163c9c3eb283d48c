"""The risk model: estimator contract, normalizer, scoring with reasons, and safe loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from classifiers.datasets import DatasetError, load_corpus, load_labelled
from classifiers.features import RedFlagFeatures
from classifiers.model import build_pipeline
from classifiers.registry import ModelError, load_model, save_model
from classifiers.scoring import RiskModel, reason_text
from classifiers.textnorm import IndonesianTextNormalizer, normalize_text
from classifiers.train import train_model

ILLEGAL = (
    "LOKER ADMIN KAMBOJA 🇰🇭 gaji 1.500 USD, tanpa pengalaman, tiket + mess gratis. "
    "Berangkat 2 minggu, biaya proses 5 jt potong gaji. Japri WA 0812-5551-2345"
)
DOMESTIC = (
    "Dicari kasir minimarket di Bekasi Timur, pendidikan min SMA, gaji UMR + BPJS. "
    "Lamaran ke HRD PT Sumber Rejeki, Jl. Ahmad Yani 12, atau email hrd@sumber-rejeki.co.id"
)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on a slice of the seed corpus, saved like a real one (fast, not for quality)."""
    ads = load_corpus()
    sample = [a for i, a in enumerate(ads) if i % 3 == 0]
    result = train_model(sample, params={"calibration_folds": 3}, version="test-small")
    return save_model(result.pipeline, result.card, tmp_path_factory.mktemp("models"))


def test_pipeline_follows_the_estimator_contract() -> None:
    pipeline = build_pipeline(C=2.0)
    cloned = clone(pipeline)
    assert cloned.get_params()["classifier__estimator__C"] == 2.0
    assert cloned.get_params()["features__chars__analyzer__max_n"] == 4
    assert (
        clone(pipeline.set_params(features__chars__analyzer__max_n=5)).get_params()[
            "features__chars__analyzer__max_n"
        ]
        == 5
    )
    texts = [ILLEGAL, DOMESTIC] * 6
    labels = [1, 0] * 6
    assert build_pipeline(calibration_folds=2).fit(texts, labels).predict_proba(
        [ILLEGAL]
    ).shape == (1, 2)


@pytest.mark.parametrize("estimator", [RedFlagFeatures(weight=2.0), IndonesianTextNormalizer()])
def test_transformers_store_params_and_fit_returns_self(estimator: object) -> None:
    params = estimator.get_params()  # type: ignore[attr-defined]
    assert clone(estimator).get_params() == params  # type: ignore[arg-type]
    assert estimator.fit([ILLEGAL]) is estimator  # type: ignore[attr-defined]


def test_red_flag_features_mark_the_indicators_that_fire() -> None:
    flags = (
        RedFlagFeatures(weight=2.0)
        .fit([])
        .transform([normalize_text(ILLEGAL), normalize_text(DOMESTIC)])
    )
    names = list(RedFlagFeatures().get_feature_names_out())
    row = flags.toarray()
    assert row[0, names.index("flag_scam_hub_office_job")] == 2.0
    assert row[0, names.index("flag_salary_deduction")] == 2.0
    assert row[1].sum() == 0 or row[1, names.index("flag_scam_hub_office_job")] == 0


def test_normalizer_maps_slang_money_and_contacts() -> None:
    out = normalize_text("Gj 15jt/bln, brgkt cpt, japri wa.me/6281255512345 atau 0812-5551-2345")
    assert out == "gaji tok_money_idr bulan berangkat cepat japri tok_wa atau tok_phone"


def test_scores_are_probabilities_with_reasons(small_model: Path) -> None:
    model = RiskModel.load(small_model)
    illegal, domestic = model.score([ILLEGAL, DOMESTIC])
    assert 0.0 <= domestic.risk < illegal.risk <= 1.0
    assert illegal.flagged
    assert not domestic.flagged
    assert "indicator:scam_hub_office_job" in illegal.reason_codes
    assert reason_text("indicator:scam_hub_office_job") in illegal.reasons
    assert any(code.startswith("term:") for code in illegal.reason_codes)
    english = model.score([ILLEGAL], language="en")[0]
    assert "Office/admin/CS job in an online-scam hub" in english.reasons[0]


def test_model_card_records_versions_data_threshold_and_hash(small_model: Path) -> None:
    card = json.loads((small_model / "model_card.json").read_text())
    assert set(card) >= {
        "version",
        "created_at",
        "library_versions",
        "training_data",
        "metrics",
        "threshold",
        "file_sha256",
    }
    assert 0 < card["threshold"] < 1
    assert card["metrics"]["validation"]["recall"] >= 0.95
    assert len(card["training_data"]["sha256"]) == 64


def test_tampered_model_file_is_refused(small_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(small_model, copy)
    with (copy / "model.skops").open("r+b") as handle:
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match="does not match its model card"):
        load_model(copy)


def test_model_from_another_scikit_learn_is_refused(small_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(small_model, copy)
    card = json.loads((copy / "model_card.json").read_text())
    card["library_versions"]["scikit-learn"] = "0.24.2"
    (copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"trained with scikit-learn 0\.24\.2"):
        load_model(copy)


def test_model_with_types_outside_the_allow_list_is_refused(tmp_path: Path) -> None:
    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    # A function reference is how a pickle-style payload would smuggle code in.
    evil = Pipeline([("step", FunctionTransformer(func=shutil.rmtree))])
    model_dir = tmp_path / "evil"
    model_dir.mkdir()
    skops.io.dump(evil, model_dir / "model.skops")
    from classifiers.registry import file_sha256, library_versions

    (model_dir / "model_card.json").write_text(json.dumps({
        "version": "evil", "threshold": 0.5, "library_versions": library_versions(),
        "file_sha256": file_sha256(model_dir / "model.skops")}))  # fmt: skip
    with pytest.raises(ModelError, match=r"outside the allow-list: .*rmtree"):
        load_model(model_dir)


def test_missing_card_is_refused(small_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(small_model, copy)
    (copy / "model_card.json").unlink()
    with pytest.raises(ModelError, match="missing model card"):
        load_model(copy)


def test_shipped_default_model_loads_and_separates_the_examples() -> None:
    model = RiskModel.load()
    illegal, domestic = model.score([ILLEGAL, DOMESTIC])
    assert illegal.flagged
    assert not domestic.flagged


def test_labelled_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x", "label": 1}\n{"id": "b", "text": "y", "label": 3}\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: label must be 0 or 1"):
        load_labelled([bad])
    bad.write_text('{"id": "a", "text": "x", "label": 1}\nnot json\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: not valid JSON"):
        load_labelled([bad])


def test_threshold_is_chosen_for_recall() -> None:
    from classifiers.evaluate import threshold_for_recall

    labels = np.array([1] * 20 + [0] * 5)
    risks = np.array([0.99 - i * 0.01 for i in range(20)] + [0.1] * 5)
    threshold = threshold_for_recall(labels, risks, 0.95)
    assert ((risks >= threshold) & (labels == 1)).sum() == 19
