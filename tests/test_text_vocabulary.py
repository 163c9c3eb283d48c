"""One vocabulary: what extraction counts as money, a place or a digit, the model and the web
highlighter count too (they drifted apart when each kept its own list)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from classifiers.datasets import load_corpus
from classifiers.indicators import (
    DESTINATION_COUNTRIES,
    INDICATOR_BY_CODE,
    MONEY_FOREIGN,
    MORATORIUM,
    MORATORIUM_COUNTRIES,
    OVERSEAS,
    SCAM_HUB,
    SCAM_HUB_COUNTRIES,
    detect,
)
from classifiers.scoring import RiskModel
from classifiers.textnorm import normalize_text
from patroli.text.contacts import BARE_LINK_HOSTS, FREE_MAIL_PROVIDERS
from patroli.text.money import CURRENCIES, RUPIAH_MULTIPLIERS, extract_money, is_foreign
from patroli.text.numbers import NUMBER_WORDS, digit_view
from patroli.text.phones import extract_phones
from patroli.text.places import CAPITAL_ABBREVIATIONS, PLACES, extract_countries, flag_of
from patroli.text.stopwords import STOPWORDS
from patroli.web.highlight import INDICATOR_CUES, cue_for

TEXT_PACKAGE = Path(__file__).resolve().parent.parent / "patroli" / "text"
SPELLINGS = sorted(CURRENCIES)


def _words(normalized: str) -> frozenset[str]:
    return frozenset(normalized.split())


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_currency_extraction_accepts_is_money_for_the_model_and_the_highlighter(
    spelling: str,
) -> None:
    code = CURRENCIES[spelling]
    token = f"tok_money_{code.lower()}"
    amount_cue = cue_for(f"term:{token}")
    assert amount_cue is not None
    for raw in (f"gaji {spelling} 1.500.000", f"gaji 1.500.000 {spelling}"):
        money = extract_money(raw)
        assert [(m.amount, m.currency) for m in money] == [(1_500_000.0, code)], raw
        assert token in _words(normalize_text(raw)), raw
        assert amount_cue.pattern.search(raw), raw
    # Glued to the number, and for abbreviations with a dot ("Rp.15.000"), it is the same money.
    dotted = [f"gaji {spelling}.1.500.000"] if spelling.isalpha() else []
    for glued in (f"gaji {spelling}1.500.000", *dotted):
        assert [m.currency for m in extract_money(glued)] == [code], glued
        assert token in _words(normalize_text(glued)), glued
    # A phone-shaped number after a currency is a price, not a contact.
    assert extract_phones(f"harga {spelling} 081255512345") == []


@pytest.mark.parametrize("spelling", [s for s in SPELLINGS if is_foreign(CURRENCIES[s])])
def test_foreign_pay_without_requirements_fires_and_is_marked_in_every_foreign_currency(
    spelling: str,
) -> None:
    raw = f"Kerja admin, gaji {spelling} 1.500 per bulan, tanpa pengalaman"
    assert f"tok_money_{CURRENCIES[spelling].lower()}" in MONEY_FOREIGN.words
    assert INDICATOR_BY_CODE["high_pay_no_skill"] in detect(normalize_text(raw))
    cue = cue_for("indicator:high_pay_no_skill")
    assert cue is not None
    assert cue.pattern.search(raw)


@pytest.mark.parametrize("word", sorted(RUPIAH_MULTIPLIERS))
def test_rupiah_multipliers_are_rupiah_everywhere(word: str) -> None:
    raw = f"biaya proses 5 {word}"
    assert [m.currency for m in extract_money(raw)] == ["IDR"]
    assert "tok_money_idr" in _words(normalize_text(raw))
    cue = cue_for("term:tok_money_idr")
    assert cue is not None
    assert cue.pattern.search(raw)


def test_short_currency_spellings_are_whole_words_only() -> None:
    assert extract_money("isi form 2 lembar, butuh 4 wong, Denpasar 6 Desember") == []
    assert extract_phones("isi form 081255512345") == ["+6281255512345"]
    assert extract_money("gaji 2.000 usdt") == []


@pytest.mark.parametrize(("code", "name"), [(c, n) for c, names in PLACES.items() for n in names])
def test_every_place_name_is_its_country_for_extraction_and_the_indicators(
    code: str, name: str
) -> None:
    raw = f"Lowongan kerja di {name.title()} segera"
    assert extract_countries(raw) == [code]
    normalized = normalize_text(raw)
    words = _words(normalized)
    for codes, terms in (
        (MORATORIUM_COUNTRIES, MORATORIUM),
        (SCAM_HUB_COUNTRIES, SCAM_HUB),
        ((*MORATORIUM_COUNTRIES, *SCAM_HUB_COUNTRIES, *DESTINATION_COUNTRIES), OVERSEAS),
    ):
        assert terms(normalized, words) == (code in codes), (name, codes)


@pytest.mark.parametrize(
    ("indicator", "codes"),
    [("moratorium_domestic", MORATORIUM_COUNTRIES), ("scam_hub_office_job", SCAM_HUB_COUNTRIES)],
)
def test_the_highlighter_marks_every_name_and_flag_of_an_indicators_countries(
    indicator: str, codes: tuple[str, ...]
) -> None:
    cue = cue_for(f"indicator:{indicator}")
    assert cue is not None
    assert INDICATOR_CUES[indicator]
    for code in codes:
        for spelled in (*PLACES[code], flag_of(code)):
            match = cue.pattern.search(f"kerja di {spelled.title()} ya")
            assert match is not None, spelled
            assert match.group(0).lower() == spelled


@pytest.mark.parametrize(("abbreviation", "name"), sorted(CAPITAL_ABBREVIATIONS.items()))
def test_capital_abbreviations_mean_the_same_place_everywhere(abbreviation: str, name: str) -> None:
    assert extract_countries(f"kerja di {abbreviation}") == extract_countries(f"kerja di {name}")
    assert normalize_text(f"kerja di {abbreviation}") == normalize_text(f"kerja di {name}")
    assert extract_countries(f"kerja di {abbreviation.lower()}") == []  # "kl" is "kalau"


def test_pp_is_a_return_ticket_not_phnom_penh() -> None:
    raw = "Tiket PP ditanggung, kerja di Bekasi"
    assert extract_countries(raw) == []
    assert "phnom" not in normalize_text(raw)


@pytest.mark.parametrize("word", sorted(NUMBER_WORDS))
def test_every_digit_word_is_a_digit_for_extraction_and_the_model(word: str) -> None:
    raw = f"wa 0812 {word} {word} {word} 12345"
    digit = NUMBER_WORDS[word]
    assert digit_view(raw) == f"wa 0812 {digit} {digit} {digit} 12345"
    assert extract_phones(raw) == [f"+62812{digit * 3}12345"]
    assert "tok_phone" in _words(normalize_text(raw))
    assert word in _words(normalize_text(f"sopir {word} hari"))  # no digit near: just a word


@pytest.mark.parametrize("provider", FREE_MAIL_PROVIDERS)
def test_free_mail_providers_are_free_mail_for_the_model_and_the_highlighter(provider: str) -> None:
    raw = f"kirim CV ke rekrut.asia@{provider}.com"
    assert "tok_email_free" in _words(normalize_text(raw))
    cue = cue_for("term:tok_email_free")
    assert cue is not None
    assert cue.pattern.search(raw)


@pytest.mark.parametrize("host", BARE_LINK_HOSTS)
def test_bare_links_become_link_placeholders(host: str) -> None:
    words = _words(normalize_text(f"daftar di {host}/loker2026 sekarang"))
    assert words & {"tok_url", "tok_wa", "tok_tme"}
    assert not any(host.split(".")[0] == w for w in words)


def test_stopwords_are_never_shown_as_reasons() -> None:
    # Without the list, the shipped model would show hundreds of them here («kita», «yang mau»).
    texts = [ad.model_text for ad in load_corpus()]
    terms = [
        part.split(" ")
        for score in RiskModel.load().score(texts)
        for code in score.reason_codes
        if code.startswith("term:")
        for part in code.removeprefix("term:").split("|")
    ]
    assert len(terms) > 1000
    assert [t for t in terms if set(t) <= STOPWORDS] == []


def test_the_text_package_imports_nothing_else_of_patroli_or_the_scrapy_project() -> None:
    forbidden = ("crawler", "pipelines", "classifiers", "patroli")
    for path in TEXT_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] in forbidden:
                    assert name.startswith("patroli.text"), f"{path.name} imports {name}"
