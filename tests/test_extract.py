"""Entity extraction on ad text: phones (also obfuscated), messengers, places, money."""

from __future__ import annotations

import pytest

from patroli.text.contacts import extract_emails, extract_telegram_handles
from patroli.text.money import classify_money, extract_money
from patroli.text.numbers import digit_view, parse_number
from patroli.text.phones import extract_phones, extract_whatsapp
from patroli.text.places import extract_countries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hub 0812-5551-2345", ["+6281255512345"]),
        ("WA: +62 812 5551 2345", ["+6281255512345"]),
        ("wa 0813 555 70 112 (bu Rina)", ["+6281355570112"]),
        ("japri 081255512345.", ["+6281255512345"]),
        ("hub 08l2 555o 1234", ["+6281255501234"]),
        ("nomor 0812 5 5 5 1 2 3 4 5 ya", ["+6281255512345"]),
        ("0813 lima lima lima 7 0112", ["+6281355570112"]),
        (
            "\uff10\uff18\uff11\uff12\uff15\uff15\uff15\uff11\uff12\uff13\uff14\uff15",
            ["+6281255512345"],
        ),
        ("0️⃣8️⃣1️⃣2️⃣5️⃣5️⃣5️⃣1️⃣2️⃣3️⃣4️⃣5️⃣", ["+6281255512345"]),
        ("0812-5553-1200 / 0813-5552-0000", ["+6281255531200", "+6281355520000"]),
        ("0812-5553-1200 0813-5552-0000", ["+6281255531200", "+6281355520000"]),
        ("hub 0 8 1 3 - 5 5 5 2 - 7 0 4 6 ya", ["+6281355527046"]),
        ("0812 55 56 71 09 (siang)", ["+6281255567109"]),
        ("WA 0812-5551-2345 2 orang lagi", ["+6281255512345"]),
        ("kantor (021) 555-1234", ["+62215551234"]),
        ("klik wa.me/6281255512345", ["+6281255512345"]),
        ("Malaysia: +60 12-555 3456", ["+60125553456"]),
    ],
)
def test_phones_are_found_and_normalized_to_e164(text: str, expected: list[str]) -> None:
    assert extract_phones(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "gaji Rp 15.000.000 per bulan",
        "Pendaftaran: Rp 1.500.000 (tidak dapat dikembalikan)",
        "usia 18-35 thn, tinggi 155 cm",
        "kode pos 40115",
        "NIB 1234567890123",
    ],
)
def test_money_ages_and_ids_are_not_phones(text: str) -> None:
    assert extract_phones(text) == []


def test_digit_view_leaves_words_alone() -> None:
    assert digit_view("lowongan sopir lima hari kerja") == "lowongan sopir lima hari kerja"


def test_whatsapp_links_give_numbers() -> None:
    text = "chat https://api.whatsapp.com/send?phone=6281355570112 atau wa.me/6281255512345"
    assert extract_whatsapp(text) == ["+6281355570112", "+6281255512345"]


def test_telegram_handles_from_links_and_mentions_lowercased() -> None:
    text = "DM @Admin_Loker atau t.me/LokerAsia_Express, email rekrut@mail.test, t.me/joinchat/abc"
    assert extract_telegram_handles(text) == ["@lokerasia_express", "@admin_loker"]


def test_emails() -> None:
    assert extract_emails("kirim CV ke HRD.Nusantara@Mail.Example.") == [
        "hrd.nusantara@mail.example"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kerja di Phnom Penh, Kamboja", ["KH"]),
        ("PRT ke KSA, majikan di Riyadh", ["SA"]),
        ("🇲🇾 kilang sawit Johor", ["MY"]),
        ("loker Jakarta kl minat japri", []),
        ("kerja di KL, gaji RM", ["MY"]),
        ("Dubai / UEA lalu Qatar", ["AE", "QA"]),
        ("pabrik di Cikarang, Indonesia", []),
    ],
)
def test_countries_named_by_name_city_flag_or_capital_abbreviation(
    text: str, expected: list[str]
) -> None:
    assert extract_countries(text) == expected


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("15.000.000", 15e6),
        ("1,200", 1200.0),
        ("4,5", 4.5),
        ("1.5", 1.5),
        ("1.200,50", 1200.5),
        ("800", 800.0),
    ],
)
def test_numbers_in_indonesian_and_english_notation(raw: str, value: float) -> None:
    assert parse_number(raw) == value


def test_money_with_currency_multiplier_and_period() -> None:
    found = [
        (m.amount, m.currency, m.period)
        for m in extract_money(
            "gaji 1.200 USD/bulan, Rp 15jt per bulan, RM 2.300 / bulan, SAR 1.500, biaya 7,5 jt"
        )
    ]
    assert found == [
        (1200.0, "USD", "month"),
        (15e6, "IDR", "month"),
        (2300.0, "MYR", "month"),
        (1500.0, "SAR", ""),
        (7.5e6, "IDR", ""),
    ]


def test_salary_and_fees_are_told_apart() -> None:
    salary, fees = classify_money("Gaji 1.500 USD per bulan. Biaya proses 12 juta, DP 2 jt dulu ya")
    assert salary is not None
    assert (salary.amount, salary.currency) == (1500.0, "USD")
    assert [(f.amount, f.currency) for f in fees] == [(12e6, "IDR"), (2e6, "IDR")]


def test_bare_numbers_are_not_money() -> None:
    assert extract_money("usia 18 - 35 tahun, tinggi 150") == []
