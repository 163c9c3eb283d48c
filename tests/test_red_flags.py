"""Red flags that count (issue 12): a firing official red flag never lowers the risk, no writing
style cancels it, two strong ones together are enough, and the law's allowed costs, official
accounts and a negated work visa are not read as red flags."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from classifiers.ablation import STYLES
from classifiers.datasets import REAL_DIR, load_corpus, load_real_corpus
from classifiers.indicators import INDICATOR_BY_CODE, detect
from classifiers.scoring import RiskModel
from classifiers.stacked import GENRE_ONLY_FLAGS, STRONG_FLAGS, MonotoneScorecard
from classifiers.textnorm import normalize_text
from classifiers.train import strong_flag_counts


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return RiskModel.load()


def codes(text: str) -> set[str]:
    return {i.code for i in detect(normalize_text(text))}


def _real_text(row_id: str) -> str:
    for path in REAL_DIR.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["id"] == row_id:
                return str(row["text"])
    raise KeyError(row_id)


# --- the mechanism --------------------------------------------------------------------------


def test_the_scorecard_weights_follow_each_indicators_direction(model: RiskModel) -> None:
    """Risk-raising indicators weigh >= 0, legitimacy cues <= 0, the warning/news cue 0."""
    classifier = model.stored.pipeline[-1]
    weights = dict(zip(classifier.flag_codes, classifier.card_.coef_.tolist(), strict=True))
    assert set(weights) >= set(STRONG_FLAGS)
    for code, weight in weights.items():
        if code in GENRE_ONLY_FLAGS:
            assert weight == 0.0, code
        elif INDICATOR_BY_CODE[code].direction > 0:
            assert weight >= 0.0, code
        else:
            assert weight <= 0.0, code
    assert sum(weights[c] > 0 for c in STRONG_FLAGS) >= 6  # they do count, not just exist


def test_the_scorecard_keeps_a_sign_the_data_would_flip() -> None:
    """A raising indicator that happens to co-occur with legal texts gets weight 0, not < 0 (an
    unconstrained logistic regression gives it a negative weight on the same data)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    strong = rng.integers(0, 2, 400)
    misleading = 1 - strong  # fires exactly on the legal rows of this sample
    x = np.column_stack([strong, misleading]).astype(float)
    y = strong
    free = LogisticRegression().fit(x, y).coef_.ravel()
    bound = MonotoneScorecard(signs=[1, 1]).fit(x, y).coef_
    assert free[1] < -0.5
    assert bound[1] == 0.0
    assert bound[0] > 0.5


def test_a_red_flag_that_fires_never_lowers_the_risk(model: RiskModel) -> None:
    """Same words, one more risk-raising indicator column firing: the risk is never lower."""
    texts = [a.model_text for a in load_real_corpus() if a.split == "test"][:120]
    texts += [a.model_text for a in load_corpus() if a.split == "test"][::3]
    features = model.features(texts).tolil()
    start = model._spans[-1][0]
    names = model._names[start:].tolist()
    base = model.risks(features.tocsr())
    for j, name in enumerate(names):
        code = name.removeprefix("red_flags__flag_")
        if INDICATOR_BY_CODE[code].direction <= 0:
            continue
        raised = features.copy()
        raised[:, start + j] = 1.0
        assert (model.risks(sp.csr_matrix(raised)) >= base - 1e-12).all(), code


@pytest.mark.parametrize("style", sorted(STYLES))
def test_no_writing_style_cancels_a_red_flag(model: RiskModel, style: str) -> None:
    """Whatever is appended in a style (a reporter's warning words, a job board's register, chat
    emoji), the risk never falls below what the red flags alone say, and a text with two strong red
    flags stays risky."""
    ads = [
        a for a in [*load_real_corpus(), *load_corpus()] if a.split == "test" and a.risk_label == 1
    ]
    texts = [a.model_text for a in ads]
    strong = strong_flag_counts(texts)
    texts = [t for t, n in zip(texts, strong, strict=True) if n >= 1]
    styled = [f"{t}\n{STYLES[style]}" for t in texts]
    before = [model.explain(t) for t in texts]
    after = model.score(styled)
    two = 0
    for explanation, scored, original in zip(before, after, texts, strict=True):
        floor = model.explain(f"{original}\n{STYLES[style]}")["scorecard"]["risk"]
        assert scored.risk is not None
        assert scored.risk >= floor - 1e-9
        if len(explanation["strong_flags"]) >= 2:
            two += 1
            assert scored.risky, original[:80]
    assert two >= 20


def test_two_strong_red_flags_are_enough_whatever_the_wording(model: RiskModel) -> None:
    plain = [
        "Admin CS di Kamboja, perusahaan investasi. Tanpa kontrak, berangkat minggu depan.",
        "Kerja ART di Arab Saudi, berangkat pakai visa ziarah, nanti di sana diurus.",
        "Lowongan kerja Korea tanpa tes. Biaya proses 45 juta, bisa potong gaji.",
    ]
    for text in plain:
        assert len(codes(text) & set(STRONG_FLAGS)) >= 2, codes(text)
        for words in STYLES.values():
            for styled in (f"{text}\n{words}", f"{words}\n{text}"):
                assert model.score([styled])[0].risky, styled


def test_the_mechanism_helps_on_real_reports(model: RiskModel) -> None:
    """On the real test split, illegal offers the words alone leave below the threshold that the
    red flags lift above it (the scorecard or the floor)."""
    ads = [a for a in load_real_corpus() if a.split == "test" and a.risk_label == 1]
    lifted = 0
    for ad in ads:
        x = model.explain(ad.model_text)
        if x["risky"] and x["text_model"]["risk"] < x["threshold"]:
            lifted += 1
    assert lifted >= 1


# --- what is not a red flag -----------------------------------------------------------------


LEGAL_COSTS = [
    _real_text(
        "leg-a692e07ea7"
    ),  # "Biaya visa SSW Jepang sebesar Rp 330.000 ..." (official visa fee)
    _real_text("leg-5e482bd20d"),  # EPS-TOPIK exam fee, 28 USD, paid through BNI
    "Biaya pembuatan paspor Rp 350.000 dan medical check up Rp 1,5 juta ditanggung calon pekerja.",
    "Pelatihan di BLK Disnaker selama 3 bulan, biaya pelatihan Rp 2 juta dibayar ke BLK.",
    "Biaya SKCK dan tes psikologi Rp 400 ribu, selebihnya ditanggung majikan.",
]
PLACEMENT_FEES = [
    "Lowongan kerja Taiwan, biaya proses 35 juta, DP 5 juta dulu.",
    "Kerja di Jepang tanpa tes, bayar pendaftaran Rp 10 juta ke sponsor.",
    "biaya proses dan paspor Rp 25 juta, berangkat bulan depan",
    "Uang jaminan 15 jt, potong gaji 6 bulan",
]


@pytest.mark.parametrize("text", LEGAL_COSTS)
def test_legal_costs_do_not_fire_the_fee_indicator(text: str) -> None:
    assert "worker_pays_fees" not in codes(text), normalize_text(text)


@pytest.mark.parametrize("text", PLACEMENT_FEES)
def test_placement_fees_still_fire_it(text: str) -> None:
    assert "worker_pays_fees" in codes(text), normalize_text(text)


def test_the_official_ssw_visa_fee_is_no_longer_flagged_for_its_fee(model: RiskModel) -> None:
    score = model.score([LEGAL_COSTS[0]])[0]
    assert "indicator:worker_pays_fees" not in score.reason_codes


@pytest.mark.parametrize(
    "text",
    [
        "Info resmi lowongan G to G Jepang hanya di @kemnaker dan @BP2MI_RI",
        "Cek lowongan kerja luar negeri resmi di akun @kp2mi",
    ],
)
def test_an_official_account_is_not_contact_only_by_dm(text: str) -> None:
    assert "messenger_only" not in codes(text)
    assert "messenger_only" in codes(
        text.replace("@kemnaker", "@rekrut_cepat").replace("@kp2mi", "@agen_jp")
    )


def test_a_negated_work_visa_is_a_red_flag_not_a_legitimacy_cue() -> None:
    negated = "para korban umumnya hanya dibekali paspor dan visa kunjungan, bukan visa kerja."
    found = codes(negated)
    assert "visit_visa_work" in found
    assert "work_visa_contract" not in found
    assert "work_visa_contract" not in codes(
        "Berangkat tanpa visa kerja dan tanpa perjanjian kerja"
    )
    assert "work_visa_contract" in codes("Berangkat dengan visa kerja dan perjanjian kerja resmi")


def test_the_real_rows_the_issue_names_are_read_right(model: RiskModel) -> None:
    """The issue's examples: a Kemlu quote of a scam-hub offer was cancelled by "warning" words
    (risk 0.04); it is now risky, read as a report, and not flagged as an ad."""
    score = model.score([_real_text("ill-e7203a4339")])[0]  # "Mereka ditawarkan ... admin crypto"
    assert score.risky
    assert score.genre == "report"
    assert not score.flagged


def test_reports_are_extracted_like_ads(model: RiskModel) -> None:
    """A report's entities (phones, handles, countries) are extracted as an ad's: intelligence."""
    from pipelines.extract import entities_for  # the extraction every crawled item goes through

    report = (
        "Polda: korban direkrut lewat WA 0812-5551-2345 dan akun @rekrut_kh untuk kerja di Kamboja."
    )
    assert model.score([report])[0].genre == "report"
    fields = entities_for(
        {
            "title": "",
            "text": report,
            "salary_text": "",
            "location": "",
            "links": [],
            "channel": "",
            "site_country": "",
        }
    )
    assert "+6281255512345" in fields["phones"]
    assert "@rekrut_kh" in fields["telegram"]
    assert "KH" in fields["countries"]
