"""The language gate (issue 11 item 4): Indonesian, Malay and English (and their mixes) are scored;
any other language gets no risk, a reason naming it, is never flagged, and is still written out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.datasets import REAL_DIR, load_corpus, load_real_corpus
from classifiers.scoring import RiskModel
from patroli.text.language import SUPPORTED, detect_language
from tests.helpers.cli import run_patroli

OTHER = [a for a in load_real_corpus(all_languages=True) if a.lang not in SUPPORTED]
REAL_SUPPORTED = [a for a in load_real_corpus() if a.lang in SUPPORTED]
SEED = load_corpus()


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return RiskModel.load()


def test_the_real_corpus_holds_other_languages_and_mixed_posts() -> None:
    assert {a.lang for a in OTHER} >= {"ru", "zh", "th", "vi", "tl", "ar", "kk"}
    assert sum(a.lang == "mixed" for a in SEED) >= 200


def test_every_real_text_in_another_language_is_unsupported() -> None:
    wrong = [(a.id, detect_language(a.text)) for a in OTHER if detect_language(a.text).supported]
    assert wrong == []


def test_every_indonesian_malay_english_and_mixed_text_is_scored() -> None:
    texts = [a.model_text for a in REAL_SUPPORTED] + [a.model_text for a in SEED]
    unsupported = [t[:60] for t in texts if not detect_language(t).supported]
    assert unsupported == []
    assert len(texts) > 2000


@pytest.mark.parametrize("chars", [30, 60, 120])
def test_short_snippets_of_supported_texts_stay_scored(chars: int) -> None:
    """When in doubt, score: a Telegram one-liner in slangy Indonesian is never hidden."""
    texts = [a.model_text[:chars] for a in REAL_SUPPORTED] + [a.model_text[:chars] for a in SEED]
    unsupported = [t for t in texts if not detect_language(t).supported]
    assert len(unsupported) <= (2 if chars == 30 else 0), unsupported


def test_languages_are_named() -> None:
    assert detect_language("Сводка новостей за день: мошенники вербуют работников").code == "ru"
    chinese = detect_language("柬埔寨KK园区诈骗集团招募中国工人，月薪一万")
    assert chinese.code in ("zh", "wuu", "yue")
    assert not chinese.supported
    assert detect_language("Dicari admin CS di Phnom Penh, gaji 1.200 USD, japri").code == "id"
    assert (
        detect_language("Customer service officers wanted, salary USD 1,500, apply now").code
        == "en"
    )
    assert detect_language("ok").code == "und"
    assert detect_language("ok").supported


def test_unsupported_texts_get_no_risk_and_are_never_flagged(model: RiskModel) -> None:
    texts = [a.model_text for a in OTHER]
    for language, words in (("id", "tidak didukung"), ("en", "not supported")):
        for ad, score in zip(OTHER, model.score(texts, language), strict=True):
            assert score.risk is None
            assert score.margin is None
            assert not score.flagged
            assert not score.risky
            assert score.lang == detect_language(ad.model_text).code
            assert score.reason_codes == [f"language:{score.lang}"]
            assert words in score.reasons[0]
            assert score.lang in score.reasons[0]


def test_a_batch_mixing_languages_keeps_each_texts_own_answer(model: RiskModel) -> None:
    supported = [a.model_text for a in REAL_SUPPORTED[:20]]
    others = [a.model_text for a in OTHER[:5]]
    mixed = [t for pair in zip(supported, others, strict=False) for t in pair] + supported[5:]
    alone = dict(zip(supported, model.score(supported), strict=True))
    for text, score in zip(mixed, model.score(mixed), strict=True):
        if text in alone:
            assert score.risk == pytest.approx(alone[text].risk)
            assert score.reasons == alone[text].reasons
        else:
            assert score.risk is None


def test_classify_writes_lang_genre_and_risky_and_null_risk_for_other_languages(
    tmp_path: Path,
) -> None:
    rows = [
        json.loads(line) for line in (REAL_DIR / "other_languages.jsonl").read_text().splitlines()
    ][:6]
    lines = [{"id": r["id"], "text": r["text"]} for r in rows] + [
        {
            "id": "mixed",
            "text": "URGENT hiring CS Cambodia 🇰🇭 gaji 1.500 USD, no experience, japri WA "
            "0812-5551-2345, berangkat minggu depan",
        },
        {
            "id": "domestic",
            "text": "Dicari kasir toko bangunan di Sleman, gaji UMR, lamaran ke Jl. Kaliurang 9",
        },
    ]
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n")
    result = run_patroli("classify", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    scored = {s["id"]: s for s in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert len(scored) == len(lines)
    for row in rows:
        s = scored[row["id"]]
        assert s["risk"] is None
        assert s["risky"] is False
        assert s["flagged"] is False
        assert s["genre"] is None
        assert s["lang"] not in SUPPORTED
    assert scored["mixed"]["lang"] in ("id", "en")
    assert scored["mixed"]["genre"] == "ad"
    assert scored["mixed"]["risky"]
    assert scored["mixed"]["flagged"]
    assert scored["mixed"]["risk"] > 0
    assert scored["domestic"]["lang"] == "id"
    assert not scored["domestic"]["risky"]
