"""Each red-flag indicator fires on its cue and stays quiet without it (on normalized text)."""

from __future__ import annotations

import pytest

from classifiers.datasets import load_corpus
from classifiers.indicators import (
    CONTEXT_CODES,
    INDICATOR_BY_CODE,
    INDICATORS,
    FeeClause,
    Pattern,
    detect_indices,
)
from classifiers.textnorm import normalize_text

CASES: dict[str, tuple[list[str], list[str]]] = {
    "moratorium_domestic": (
        ["Dicari ART utk keluarga di Riyadh, gaji 1800 riyal", "lowongan PRT ke KSA brgkt cpt"],
        [
            "Dicari ART utk keluarga di Jakarta Selatan",
            "perawat RS di Riyadh, visa kerja, kontrak 2 thn",
        ],
    ),
    "scam_hub_office_job": (
        ["Admin CS di Phnom Penh gaji 1.200 USD", "operator data entry Myawaddy, tiket gratis"],
        ["admin olshop WFH Bandung", "tour Angkor Wat Kamboja 4 hari 3 malam"],
    ),
    "visit_visa_work": (
        [
            "berangkat pakai visa ziarah nanti di sana diurus",
            "kerja Jepang pakai visa waiver langsung kerja",
        ],
        ["visa kerja diurus PT sesuai prosedur", "paket umroh Desember 2026 30 jt"],
    ),
    "worker_pays_fees": (
        ["biaya proses 7,5 jt bisa dicicil", "DP 2 juta dulu utk booking kursi"],
        [
            "tanpa biaya apapun, semua ditanggung majikan",
            "gaji 7 jt per bulan",
            "dicari admin chat, gaji 1.200 USD",
            "pelatihan gratis di BLK, gaji 5 jt",
        ],
    ),
    "salary_deduction": (
        ["biaya nanti potong gaji 3 bulan", "ada dana talangan 30 juta dibayar dari gaji"],
        ["gaji utuh tanpa potongan", "gaji dibayar tiap tgl 25"],
    ),
    "free_plus_cash": (
        ["semua GRATIS + dapat uang saku 2 juta", "free tiket, dikasih uang fit 3 jt"],
        ["gratis pelatihan BLK", "uang saku selama magang di Bekasi"],
    ),
    "speed_promise": (
        ["2 minggu langsung terbang", "proses cepat berangkat bulan depan"],
        ["proses seleksi sekitar 3 bulan", "berangkat setelah lulus pelatihan"],
    ),
    "waived_requirements": (
        ["tanpa pengalaman, tanpa ijazah, usia bebas", "cukup KTP dan KK saja"],
        ["min. pengalaman 2 tahun, ijazah SMA", "lulus tes bahasa Korea (EPS-TOPIK)"],
    ),
    "messenger_only": (
        ["minat japri WA 0812-5551-2345", "info lengkap DM @rekrut_asia"],
        [
            "lamaran dikirim ke alamat kantor Jl. Merdeka 5 atau email hrd@pt-contoh.co.id",
            "datang langsung ke kantor kami",
        ],
    ),
    "passport_retention": (
        ["paspor ditahan agen selama kontrak", "serahkan paspor ke sponsor setiba di sana"],
        ["paspor dipegang sendiri oleh pekerja", "buat paspor di kantor imigrasi"],
    ),
    "minors": (
        ["usia 16 boleh, ortu tidak perlu tahu", "umur 17 bisa ikut"],
        ["usia 21-40 tahun", "minimal 18 tahun"],
    ),
    "no_contract": (
        ["kontrak di sana aja", "tanpa kontrak, langsung kerja"],
        ["kontrak kerja ditandatangani sebelum berangkat", "perjanjian kerja 2 tahun"],
    ),
    "back_route": (
        ["berangkat lewat Nunukan, ada tekong jemput", "masuk dulu, permit nyusul"],
        ["kerja di pelabuhan Tanjung Priok", "tiket kapal Batam - Tanjung Pinang"],
    ),
    "impersonation": (
        [
            "Undangan seleksi BP2MI, transfer biaya pendaftaran ke rekening 123",
            "KBRI buka lowongan, tf dulu kode unik",
        ],
        [
            "BP2MI membuka pendaftaran G to G Jepang di situs resmi",
            "rekening gaji dibuka setelah kontrak",
        ],
    ),
    "personal_data_request": (
        ["kirim foto KTP dan KK ke WA dulu", "kirimkan scan paspor untuk dicek"],
        ["bawa KTP asli saat interview", "fotokopi ijazah dibawa ke kantor"],
    ),
    "licence_present": (
        [
            "PT Contoh Jaya, SIP3MI No. 555/2025, job order terverifikasi",
            "terdaftar di SISKOP2MI, SIP2MI tersedia",
        ],
        ["perusahaan terpercaya", "lowongan resmi dan aman"],
    ),
    "official_channel": (
        ["daftar lewat LTSA Disnaker setempat", "program G to G EPS-TOPIK Korea"],
        ["daftar lewat admin di WA", "proses dibantu sponsor"],
    ),
    "work_visa_contract": (
        [
            "visa kerja dan kontrak kerja diurus resmi",
            "perjanjian penempatan ditandatangani di Disnaker",
        ],
        ["visa turis dulu", "tanpa kontrak"],
    ),
    "no_licence": (
        [
            "Dicari admin di Kamboja, gaji 1.200 USD, minat japri",
            "lowongan kerja ke Jepang, hub WA",
        ],
        [
            "PT Contoh Jaya (SIP3MI No. 555/2025) membuka lowongan kerja ke Jepang",
            "Dicari kasir di Bandung, gaji UMR",
        ],
    ),
    "high_pay_no_skill": (
        ["gaji 1.500 USD, tanpa pengalaman", "RM 3.000 sebulan, cukup KTP"],
        ["gaji 1.500 USD, pengalaman min. 3 tahun", "tanpa pengalaman, gaji UMR Bekasi"],
    ),
    "warning_context": (
        ["Waspada modus penipuan loker luar negeri!", "Polda tangkap tersangka TPPO"],
        ["Loker admin gaji besar", "dicari operator produksi"],
    ),
    "job_context": (
        ["Dicari pekerja kebun sawit", "lowongan admin, gaji 5 jt", "hiring crew, good salary"],
        ["Paket umroh 12 hari, 35 jt", "Jasa urus visa turis Korea", "Tiket speedboat Nunukan"],
    ),
}


def test_every_indicator_has_cases() -> None:
    assert set(CASES) == {i.code for i in INDICATORS} - {"overseas_job"}
    assert {"overseas_job", "job_context"} == CONTEXT_CODES


@pytest.mark.parametrize(("code", "text"), [(c, t) for c, (pos, _) in CASES.items() for t in pos])
def test_indicator_fires_on_its_cue(code: str, text: str) -> None:
    assert INDICATOR_BY_CODE[code].detect(normalize_text(text)), normalize_text(text)


@pytest.mark.parametrize(("code", "text"), [(c, t) for c, (_, neg) in CASES.items() for t in neg])
def test_indicator_stays_quiet_without_it(code: str, text: str) -> None:
    assert not INDICATOR_BY_CODE[code].detect(normalize_text(text)), normalize_text(text)


def test_every_indicator_cites_a_source_and_speaks_both_languages() -> None:
    for indicator in INDICATORS:
        assert indicator.source
        assert indicator.text_id
        assert indicator.text_en
        assert indicator.direction in (1, -1)


def corpus_texts() -> list[str]:
    texts = [normalize_text(ad.model_text) for ad in load_corpus()]
    texts += [normalize_text(t) for pos, neg in CASES.values() for t in pos + neg]
    return texts


def test_trigger_words_never_hide_a_match() -> None:
    """The one-pass detection skips an indicator when none of its trigger words occurs and tries a
    pattern only where a trigger word starts; on the whole corpus that must change nothing."""
    mismatches = []
    for text in corpus_texts():
        words = frozenset(text.split())
        fired = [i for i, ind in enumerate(INDICATORS) if ind.match(text, words)]
        if detect_indices(text) != fired:
            mismatches.append(("detect_indices", text[:80]))
        for indicator in INDICATORS:
            pattern = indicator.match
            if isinstance(pattern, FeeClause):  # the fee clause's own pattern, before exemptions
                pattern = pattern.pattern
            if isinstance(pattern, Pattern) and pattern(text, words) != pattern.reference(text):
                mismatches.append((indicator.code, text[:80]))
            triggers = indicator.triggers
            if triggers is not None and triggers.isdisjoint(words) and indicator.match(text, words):
                mismatches.append((f"{indicator.code} without trigger", text[:80]))
    assert mismatches == []


def test_indicators_fire_on_real_positives_more_than_on_negatives() -> None:
    """Sanity on the corpus: each risk-raising indicator is more frequent among illegal ads than
    among legal ones (warnings and news are left out: they name every red flag on purpose)."""
    ads = [a for a in load_corpus() if a.category not in ("warning_article", "news")]
    rates: dict[str, list[float]] = {}
    for label in (0, 1):
        texts = [normalize_text(a.model_text) for a in ads if a.label == label]
        fired = [set(detect_indices(t)) for t in texts]
        for i, indicator in enumerate(INDICATORS):
            rates.setdefault(indicator.code, []).append(sum(i in f for f in fired) / len(texts))
    for indicator in INDICATORS:
        negative, positive = rates[indicator.code]
        if indicator.direction > 0:
            assert positive > negative, (indicator.code, rates[indicator.code])
        else:
            assert negative > positive, (indicator.code, rates[indicator.code])
