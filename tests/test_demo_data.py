"""The demo sites' data: realistic mix, fictional contacts, and no copy of the training corpus."""

from __future__ import annotations

import re
from collections import Counter

from datasketch import MinHash, MinHashLSH

from classifiers.datasets import load_corpus
from patroli.demosites.data import load_demo_data
from patroli.text.phones import extract_phones

SHINGLE = 5


def shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}


def minhash(text: str) -> MinHash:
    m = MinHash(num_perm=128, seed=7)
    for s in shingles(text):
        m.update(s.encode())
    return m


def demo_texts() -> list[tuple[str, str]]:
    data = load_demo_data()
    return [
        (r["id"], f"{r.get('title', '')} {r.get('description') or r.get('text')}")
        for r in data.all_records
    ]


def test_demo_ads_are_not_copies_of_training_ads() -> None:
    """A demo that shows memorized training data proves nothing: no demo ad may be a near-copy."""
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    corpus = {ad.id: f"{ad.title} {ad.text}" for ad in load_corpus()}
    for ad_id, text in corpus.items():
        lsh.insert(ad_id, minhash(text))
    suspects = []
    for demo_id, text in demo_texts():
        for ad_id in lsh.query(minhash(text)):
            a, b = shingles(text), shingles(corpus[ad_id])
            if len(a & b) / len(a | b) >= 0.5:
                suspects.append((demo_id, ad_id))
    assert suspects == []


def test_demo_mix_has_illegal_procedural_domestic_and_non_ads() -> None:
    kinds = Counter(r["kind"] for r in load_demo_data().all_records)
    labels = Counter(r["label"] for r in load_demo_data().all_records)
    assert 300 <= sum(labels.values()) <= 600
    assert 0.25 <= labels[1] / sum(labels.values()) <= 0.45
    assert kinds["domestic_job"] >= 100
    assert kinds["procedural_p3mi"] + kinds["g2g"] + kinds["formal_abroad"] >= 60
    assert kinds["non_ad"] >= 5


def test_demo_phone_numbers_are_from_the_fictional_555_range() -> None:
    for record_id, text in demo_texts():
        for phone in extract_phones(text):
            assert "555" in phone, (record_id, phone)
