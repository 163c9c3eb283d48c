"""Learning from analysts: decisions become labels, a worse model is never activated, and the
review queue puts the most informative ads first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from classifiers.datasets import LabelledAd, load_corpus
from classifiers.registry import SHIPPED_DIR, active_version
from classifiers.train import not_worse, reviews_as_labelled, usable_reviews
from patroli.storage import open_store
from tests.helpers.cli import run_patroli


def ad_record(ad_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "ad_id": ad_id,
        "source": "demo_fb_group",
        "source_kind": "feed",
        "native_id": ad_id,
        "url": f"https://example.test/{ad_id}",
        "title": "",
        "text": text,
        "crawled_at": "2026-11-01T00:00:00+00:00",
        "content_hash": ad_id,
        "countries": [],
        "html": "<p></p>",
        **extra,
    }


def test_decisions_become_labels_and_held_out_texts_are_left_out() -> None:
    records = [
        {
            "ad_id": "a1",
            "title": "",
            "text": "admin Kamboja",
            "status": "confirmed",
            "countries": ["KH"],
        },
        {
            "ad_id": "a2",
            "title": "T",
            "text": "kasir Bandung",
            "status": "dismissed",
            "countries": [],
        },
        {"ad_id": "a3", "title": "", "text": "   ", "status": "confirmed", "countries": []},
        {"ad_id": "a4", "title": "", "text": "x", "status": "escalated", "countries": []},
    ]
    ads = reviews_as_labelled(records)
    assert [(a.id, a.label, a.split, a.destination) for a in ads] == [
        ("review:a1", 1, "train", "KH"),
        ("review:a2", 0, "train", ""),
    ]
    held_out = [LabelledAd(id="t1", text="Admin  KAMBOJA!!", label=1, split="test")]
    repeated = LabelledAd(id="review:a5", text="kasir bandung.", title="T", label=0)
    # Same normalized text as a held-out ad, or as an earlier review: left out.
    assert [a.id for a in usable_reviews(held_out, [*ads, repeated])] == ["review:a2"]


def test_activation_rule() -> None:
    before = {"pr_auc": 0.990, "recall": 0.97}
    assert not_worse(before, {"pr_auc": 0.991, "recall": 0.96})[0]
    assert not_worse(before, {"pr_auc": 0.990, "recall": 0.95})[0]
    ok, why = not_worse(before, {"pr_auc": 0.985, "recall": 0.99})
    assert not ok
    assert "PR-AUC fell" in why
    ok, why = not_worse(before, {"pr_auc": 0.995, "recall": 0.94})
    assert not ok
    assert "recall" in why


def test_retraining_on_poisoned_reviews_is_not_activated(tmp_path: Path, store_url: str) -> None:
    """Analysts' decisions that contradict the corpus make a worse model: it is saved, never used."""
    train = [a for a in load_corpus() if a.split == "train"][:500]
    with open_store(store_url) as store:
        store.upsert_ads([ad_record(f"p{i}", a.model_text) for i, a in enumerate(train)])
        for i, ad in enumerate(train):  # every decision is the opposite of the truth
            store.review(f"p{i}", "dismissed" if ad.label else "confirmed", reviewer="test")
    models = tmp_path / "models"
    result = run_patroli(
        "train",
        "--with-reviews",
        "--store",
        store_url,
        "--models-dir",
        str(models),
        "--version",
        "poisoned",
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "held-out test split" in result.stdout
    assert "not activated" in result.stdout
    assert "500 analyst decision(s) used" in result.stdout
    card = json.loads((models / "poisoned" / "model_card.json").read_text())
    assert card["training_data"]["n_reviews"] == 500
    assert not (models / "ACTIVE").exists()
    assert active_version(models) == (SHIPPED_DIR / "ACTIVE").read_text().strip()


def test_with_reviews_needs_decisions(tmp_path: Path, store_url: str) -> None:
    with open_store(store_url) as store:
        store.upsert_ads([ad_record("a1", "admin Kamboja gaji USD")])
    result = run_patroli(
        "train", "--with-reviews", "--store", store_url, "--models-dir", str(tmp_path)
    )
    assert result.returncode == 1
    assert "no reviewed ads" in result.stderr


@pytest.fixture
def scored_store(store_url: str) -> str:
    margins = {
        "far_high": 0.45,
        "near_above": 0.03,
        "near_below": -0.01,
        "far_low": -0.5,
        "mid": 0.2,
    }
    with open_store(store_url) as store:
        store.upsert_ads(
            [
                ad_record(ad_id, f"iklan {ad_id}", risk=0.5 + m, risk_margin=m, flagged=m >= 0)
                for ad_id, m in margins.items()
            ]
            + [ad_record("unscored", "iklan tanpa skor")]
            + [
                ad_record(
                    "reviewed", "iklan sudah ditinjau", risk=0.5, risk_margin=0.0, flagged=True
                )
            ]
        )
        store.review("reviewed", "confirmed", reviewer="test")
    return store_url


def test_queue_lists_unreviewed_ads_most_informative_first(scored_store: str) -> None:
    result = run_patroli("queue", "--json", "--store", scored_store)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert [h["id"] for h in hits] == [
        "near_below",
        "near_above",
        "mid",
        "far_high",
        "far_low",
        "unscored",
    ]
    by_risk = json.loads(
        run_patroli("queue", "--order", "risk", "--json", "--store", scored_store).stdout
    )["hits"]
    assert [h["id"] for h in by_risk][:3] == ["far_high", "mid", "near_above"]
    store_order = open_store(scored_store).search("status:new", sort="uncertainty", limit=3).hits
    assert [h["ad_id"] for h in store_order] == ["near_below", "near_above", "mid"]
    table = run_patroli("queue", "--store", scored_store)
    assert "most informative first" in table.stdout
    assert "reviewed" not in table.stdout.split("first", 1)[1]
