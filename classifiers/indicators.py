"""The official red flags of illegal placement, as detectors over normalized ad text.

Each indicator cites the section of ``../shared/domain/indicators.md`` it comes from and carries a
short explanation in Indonesian and English that analysts see as a reason. Detectors run on the
output of :func:`classifiers.textnorm.normalize_text` (lower case, slang mapped, placeholders such as
``tok_money_usd`` and multi-word tokens such as ``visa_kunjungan``).

A single red flag separates nothing (almost every overseas ad carries one); the model weighs them
together with the words around them. Some indicators therefore combine two facts (a moratorium
country *and* domestic work) and some point the other way (a licence number, a warning article).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from classifiers.textnorm import normalize_text
from patroli.text.money import CURRENCIES, is_foreign
from patroli.text.places import names_of

Matcher = Callable[[str, frozenset[str]], bool]  # (normalized text, its set of words) -> fires?


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    direction: int  # +1: raises risk, -1: points to a procedural placement or a non-ad
    text_id: str
    text_en: str
    source: str  # section of indicators.md
    match: Matcher
    # Words of which at least one must occur for ``match`` to fire (None: always evaluated). The
    # combined pass (``detect_codes``) only evaluates indicators whose trigger words occur.
    triggers: frozenset[str] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.triggers is None and isinstance(self.match, Terms | Pattern):
            object.__setattr__(self, "triggers", self.match.triggers)

    def detect(self, normalized_text: str) -> bool:
        return self.match(normalized_text, frozenset(normalized_text.split()))


class Terms:
    """Any of these words or phrases occurs: set look-ups, far cheaper than a regex alternation."""

    def __init__(self, *terms: str) -> None:
        self.words = frozenset(t for t in terms if " " not in t)
        self.phrases = tuple(f" {t} " for t in terms if " " in t)
        # A phrase can only occur if its first word does.
        self.triggers = self.words | {p.split()[0] for p in self.phrases}

    def __call__(self, text: str, words: frozenset[str]) -> bool:
        if not self.words.isdisjoint(words):
            return True
        if self.phrases and not self.triggers.isdisjoint(words):
            padded = f" {text} "
            return any(p in padded for p in self.phrases)
        return False

    def __add__(self, other: Terms) -> Terms:
        return Terms(
            *self.words,
            *(p.strip() for p in self.phrases),
            *other.words,
            *(p.strip() for p in other.phrases),
        )


class Pattern:
    """A regular expression whose every alternative begins, at a word boundary, with a known word.

    Those first words are the ``triggers``. Instead of scanning the whole text, the pattern is
    tried only where a trigger word starts: the same answer (``reference`` scans the whole text;
    ``tests/test_indicators.py`` checks both agree on the corpus), at a fraction of the cost.
    """

    def __init__(self, pattern: str, triggers: Iterable[str]) -> None:
        self.regex = re.compile(pattern)
        self.triggers = frozenset(triggers)

    def reference(self, text: str) -> bool:
        return self.regex.search(text) is not None

    def __call__(self, text: str, words: frozenset[str]) -> bool:
        match = self.regex.match
        size = len(text)
        for word in self.triggers.intersection(words):
            width = len(word)
            start = 0 if text.startswith(word) else text.find(" " + word) + 1
            while start > 0 or (start == 0 and text.startswith(word)):
                end = start + width
                if (end == size or text[end] == " ") and match(text, start):
                    return True
                start = text.find(" " + word, end) + 1
                if start == 0:
                    break
        return False


def _both(a: Terms | Pattern, b: Terms | Pattern) -> Matcher:
    """Both occur anywhere in the text."""
    return lambda text, words: a(text, words) and b(text, words)


def _near(a: Pattern, b: Pattern, window: int) -> Matcher:
    """Both patterns occur within ``window`` characters of each other (``a``'s triggers go first)."""

    def near(text: str, words: frozenset[str]) -> bool:
        if b.triggers.isdisjoint(words) or not (a(text, words) and b(text, words)):
            return False
        starts = [m.start() for m in b.regex.finditer(text)]
        return any(
            any(abs(m.start() - s) <= window for s in starts) for m in a.regex.finditer(text)
        )

    return near


# Fixed-width look-behinds: the word before is none of the negations.
NOT_NEGATED = "".join(f"(?<!{word} )" for word in ("bukan", "tanpa", "tidak", "belum", "tak", "no"))

# Countries are named by ISO code; their names (and flags) are ``patroli.text.places``', the same
# names extraction turns into an ad's countries, spelled the way the normalizer writes them.
# Kepmenaker 260/2015 (indicators.md §2.1): the 21 countries of the announcement minus Iran and
# Pakistan, i.e. the 19 Kemnaker cites.
MORATORIUM_COUNTRIES = (
    "SA",
    "AE",
    "QA",
    "KW",
    "OM",
    "BH",
    "JO",
    "EG",
    "IQ",
    "SY",
    "LB",
    "LY",
    "DZ",
    "MA",
    "TN",
    "SD",
    "PS",
    "MR",
    "YE",
)
# The scam-compound corridor (indicators.md §2.2), with Thailand as its entry and transit country.
SCAM_HUB_COUNTRIES = ("KH", "MM", "LA", "PH", "TH")
# Where the seed corpus sends workers, beyond the two above.
DESTINATION_COUNTRIES = ("MY", "SG", "BN", "TW", "HK", "JP", "KR", "TR", "DE", "PL", "AU")


def place_terms(codes: Iterable[str]) -> list[str]:
    """The normalized names and flags of the countries ``codes`` ("arab saudi" -> "arab_saudi")."""
    names = {normalize_text(name) for name in names_of(codes)}
    return sorted(names | {f"flag_{code.lower()}" for code in codes})


MORATORIUM = Terms(
    *place_terms(MORATORIUM_COUNTRIES), "timur_tengah", "timteng", "negara arab", "tanah suci"
)
DOMESTIC_WORK = Terms(
    "prt",
    "pengasuh",
    "perawat_lansia",
    "rumah tangga",
    "majikan",
    "bibi",
    "jaga anak",
    "jaga bayi",
    "jaga lansia",
    "jaga orang tua",
    "jaga nenek",
    "jaga kakek",
    "sopir pribadi",
    "supir pribadi",
    "driver pribadi",
    "sopir keluarga",
    "supir keluarga",
    "driver keluarga",
    "keluarga arab",
    "keluarga saudi",
    "keluarga kaya",
    "keluarga baik",
    "housekeeper",
    "house keeper",
    "domestic",
)
SCAM_HUB = Terms(*place_terms(SCAM_HUB_COUNTRIES), "mekong", "perbatasan thailand")
OFFICE_JOB = Terms(
    "admin",
    "customer_service",
    "cs",
    "operator",
    "marketing",
    "telemarketing",
    "it",
    "programmer",
    "typing",
    "mengetik",
    "ketik",
    "data entry",
    "input data",
    "crypto",
    "kripto",
    "game",
    "gaming",
    "judi",
    "judol",
    "casino",
    "kasino",
    "slot",
    "chatting",
    "closing",
    "scammer",
    "translator",
    "penerjemah",
    "editor",
    "konten",
    "content",
    "host",
    "online",
    "olshop",
    "digital",
)
OVERSEAS = (
    Terms(
        *place_terms(DESTINATION_COUNTRIES),
        "luar_negeri",
        "abroad",
        "overseas",
        "eropa",
        "europe",
        "kapal",
    )
    + MORATORIUM
    + SCAM_HUB
)

MESSENGER = frozenset(
    {"japri", "tok_wa", "tok_tme", "tok_handle", "whatsapp", "wa", "telegram", "inbox"}
)
ADDRESS = frozenset({"alamat", "jl", "jalan", "tok_email", "website", "tok_url"})
OFFICE_ADDRESS = re.compile(r"\bkantor (kami|pusat|cabang)\b")
# An amount in any currency but the rupiah (the normalizer's ``tok_money_<iso>``).
MONEY_FOREIGN = Terms(
    *sorted({f"tok_money_{c.lower()}" for c in CURRENCIES.values() if is_foreign(c)})
)
WAIVED = Pattern(
    r"\b(tanpa_pengalaman|tanpa_ijazah|tanpa_tes|usia_bebas|syarat (mudah|ringan|gampang)|"
    r"(cukup|hanya|modal) ktp|tidak perlu (ijazah|pengalaman|tes|bahasa|skill)|bisa mengetik|"
    r"tanpa (skill|keahlian|bahasa|syarat|eps|topik))\b",
    [
        "tanpa_pengalaman",
        "tanpa_ijazah",
        "tanpa_tes",
        "usia_bebas",
        "syarat",
        "cukup",
        "hanya",
        "modal",
        "tidak",
        "bisa",
        "tanpa",
    ],
)
JOB_OFFER = Terms(
    "lowongan",
    "dicari",
    "dibutuhkan",
    "butuh",
    "gaji",
    "kerja",
    "bekerja",
    "rekrut",
    "rekrutmen",
    "hiring",
    "berangkat",
    "posisi",
    "job",
    "vacancy",
)
# Words that make a text about work. A visit visa or a fee is a red flag of a *job* offer, not of a
# tour package or a course ("Jasa urus visa turis Korea", "Paket umroh 35 jt"): the risk model's
# scorecard counts the risk-raising indicators only where this context fires (classifiers.stacked).
JOB_CONTEXT = Terms(
    "lowongan",
    "loker",
    "dicari",
    "dibutuhkan",
    "gaji",
    "kerja",
    "bekerja",
    "pekerja",
    "pekerjaan",
    "rekrut",
    "rekrutmen",
    "hiring",
    "vacancy",
    "job",
    "jobs",
    "salary",
    "work",
    "tkw",
    "tki",
    "pmi",
    "cpmi",
    "majikan",
    "upah",
    "potong_gaji",
    "dana_talangan",
    "kontrak",
    "visa_kerja",
    "penempatan",
    "magang",
    "perekrutan",
    "direkrut",
    "dipekerjakan",
    "tawaran",
    "employment",
    "employer",
    "abk",
    "buruh",
    "karyawan",
    "tenaga",
    "operator",
    "admin",
    "crew",
    "kru",
)
# Indicators that are context for the model, never a reason shown to an analyst.
CONTEXT_CODES = frozenset({"overseas_job", "job_context"})


COMPANY = Pattern(
    r"\b(pt|cv|p3mi|ppmi|pptkis|perusahaan penempatan|agency|agensi|kantor (kami|pusat|cabang)|"
    r"alamat|jl|jalan)\b",
    [
        "pt",
        "cv",
        "p3mi",
        "ppmi",
        "pptkis",
        "perusahaan",
        "agency",
        "agensi",
        "kantor",
        "alamat",
        "jl",
        "jalan",
    ],
)
LICENCE = Pattern(
    r"\b(sip3mi|sip2mi|sippmi|siup p3mi|siup ppmi|siuppak|job_order|p3mi resmi|"
    r"terdaftar (di|pada) (bp2mi|kp2mi|siskop2mi|kemnaker))\b|\b(no|nomor|izin)\W+(?:\w+\W+){0,2}tok_num",
    [
        "sip3mi",
        "sip2mi",
        "sippmi",
        "siup",
        "siuppak",
        "job_order",
        "p3mi",
        "terdaftar",
        "no",
        "nomor",
        "izin",
    ],
)


class FeeClause:
    """A fee the worker pays (``worker_pays_fees``), except the personal costs the law allows.

    Pasal 30 UU 18/2017 forbids charging placement costs; the worker's own documents and checks
    (passport, visa, police certificate, medical and psychological tests, language exams such as
    EPS-TOPIK, social security) may be paid by the worker (Perban BP2MI 9/2020, indicators.md §3),
    and so may training paid to an official body. A fee clause about one of those ("biaya visa SSW
    Rp 330.000", "biaya ujian EPS-TOPIK 28 USD", "pelatihan di BLK Rp 2 juta") does not fire; one
    that names a placement cost as well ("biaya proses dan paspor 25 juta") still does.
    """

    def __init__(self) -> None:
        # "admin" is left out: in these ads it is mostly the job ("admin chat, gaji 1.200 USD");
        # the amount must come before any word for pay ("pelatihan gratis, gaji 5 jt" is no fee).
        self.pattern = Pattern(
            r"\b(biaya|bayar|dp|down payment|uang jaminan|jaminan|deposit|setor|transfer|tf|"
            r"administrasi|pendaftaran|registrasi|ongkos|pelatihan)\b\W+"
            r"(?:(?!gaji\b|upah\b|salary\b|bonus\b)\w+\W+){0,5}tok_money_",
            [
                "biaya",
                "bayar",
                "dp",
                "down",
                "uang",
                "jaminan",
                "deposit",
                "setor",
                "transfer",
                "tf",
                "administrasi",
                "pendaftaran",
                "registrasi",
                "ongkos",
                "pelatihan",
            ],
        )
        self.triggers = self.pattern.triggers

    def __call__(self, text: str, words: frozenset[str]) -> bool:
        if not self.pattern(text, words):
            return False
        if LEGAL_COSTS.isdisjoint(words) and OFFICIAL_PAYEES.isdisjoint(words):
            return True
        payee = not OFFICIAL_PAYEES.isdisjoint(words)
        return any(not _allowed_cost(m.group(0), payee) for m in self.pattern.regex.finditer(text))


# The worker's own documents and checks, which the law lets the worker pay (indicators.md §3).
LEGAL_COSTS = frozenset(
    [
        "paspor",
        "passport",
        "visa",
        "skck",
        "medical",
        "medis",
        "mcu",
        "kesehatan",
        "psikologi",
        "psikotes",
        "ujian",
        "exam",
        "tes",
        "test",
        "eps",
        "topik",
        "jft",
        "bpjs",
    ]
)
# Official bodies a legal cost is paid to (a training fee paid to a BLK is no placement fee).
OFFICIAL_PAYEES = frozenset(
    ["blk", "blkln", "bp3mi", "disnaker", "disnakertrans", "ltsa", "pnbp", "negara", "imigrasi"]
)
# Words that make a fee a placement cost whatever else it pays for.
PLACEMENT_COSTS = frozenset(
    [
        "proses",
        "penempatan",
        "pendaftaran",
        "registrasi",
        "administrasi",
        "jaminan",
        "deposit",
        "dp",
        "talangan",
        "agen",
        "sponsor",
        "calo",
        "berangkat",
        "keberangkatan",
    ]
)


def _allowed_cost(clause: str, official_payee: bool) -> bool:
    """A fee clause about a cost the worker may pay: a legal personal cost, or training paid to an
    official body the text names (``official_payee``)."""
    words = set(clause.split())
    legal = (
        not words.isdisjoint(LEGAL_COSTS)
        or not words.isdisjoint(OFFICIAL_PAYEES)
        or (official_payee and "pelatihan" in words)
    )
    first = clause.split(maxsplit=1)[0]
    return legal and (words - {first}).isdisjoint(PLACEMENT_COSTS)


FEES = FeeClause()


def _no_licence(text: str, words: frozenset[str]) -> bool:
    return (
        OVERSEAS(text, words)
        and JOB_OFFER(text, words)
        and not (COMPANY.triggers & words and COMPANY(text, words))
        and not (LICENCE.triggers & words and LICENCE(text, words))
    )


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "moratorium_domestic",
        1,
        "Kerja rumah tangga di negara moratorium Timur Tengah (Kepmenaker 260/2015)",
        "Domestic work in a Middle-East moratorium country (Kepmenaker 260/2015)",
        "2.1",
        _both(MORATORIUM, DOMESTIC_WORK),
        MORATORIUM.triggers,
    ),
    Indicator(
        "scam_hub_office_job",
        1,
        "Pekerjaan kantor/admin/CS di negara pusat penipuan daring (Kamboja, Myanmar, Laos, Filipina)",
        "Office/admin/CS job in an online-scam hub (Cambodia, Myanmar, Laos, Philippines)",
        "1.8, 2.2",
        _both(SCAM_HUB, OFFICE_JOB),
        SCAM_HUB.triggers,
    ),
    Indicator(
        "visit_visa_work",
        1,
        "Bekerja dengan visa kunjungan/turis/ziarah/umrah, bukan visa kerja",
        "Work on a visit/tourist/pilgrimage visa instead of a work visa",
        "1.1 (7), 1.6, 1.9",
        Pattern(
            r"\bvisa_kunjungan\b|\bpaspor (pelancong|wisata)\b|\bvisa (nanti|bisa) (di ?rubah|diubah|diganti)\b|"
            r"\b(diurus|urus|mengurus|ganti) (di sana|disana)\b|\blewat (jalur )?(umrah|ziarah)\b|"
            r"\bberangkat (umrah|ziarah)\b|\b(bukan|tanpa|tidak pakai|tidak menggunakan|tak pakai) visa_kerja\b",
            [
                "visa_kunjungan",
                "paspor",
                "visa",
                "diurus",
                "urus",
                "mengurus",
                "ganti",
                "lewat",
                "berangkat",
                "bukan",
                "tanpa",
                "tidak",
                "tak",
            ],
        ),
    ),
    Indicator(
        "worker_pays_fees",
        1,
        "Calon pekerja diminta membayar biaya penempatan/proses/jaminan (UU 18/2017 Pasal 30)",
        "The worker is asked to pay placement, processing or deposit fees (Law 18/2017 Art. 30)",
        "1.1 (4), 1.4, 3",
        FEES,
    ),
    Indicator(
        "salary_deduction",
        1,
        "Utang dibayar lewat potong gaji / dana talangan (jeratan utang)",
        "Debt repaid through salary deductions or a cash advance (debt bondage)",
        "1.8, 2.3, 2.8, 4",
        Pattern(
            r"\b(potong_gaji|dana_talangan|talangan|ditalangi|dipotong (dari )?gaji|bayar (dari|pakai) gaji|"
            r"dicicil (dari|lewat) gaji|ganti (dari|pakai) gaji|utang|hutang|kasbon)\b",
            [
                "potong_gaji",
                "dana_talangan",
                "talangan",
                "ditalangi",
                "dipotong",
                "bayar",
                "dicicil",
                "ganti",
                "utang",
                "hutang",
                "kasbon",
            ],
        ),
    ),
    Indicator(
        "free_plus_cash",
        1,
        "Semua gratis plus uang saku (dipakai perekrut ilegal)",
        "Everything free plus pocket money (a known lure)",
        "1.8",
        _both(
            Terms("gratis", "tanpa biaya", "ditanggung", "0 rupiah", "nol rupiah"),
            Terms("uang_saku", "dikasih uang", "dapat uang", "sangu"),
        ),
        frozenset({"gratis", "tanpa", "ditanggung", "0", "nol"}),
    ),
    Indicator(
        "speed_promise",
        1,
        "Janji berangkat sangat cepat",
        "Promise of a very fast departure",
        "1.8, 1.10",
        Pattern(
            r"\b(cepat|kilat|langsung|segera|express|ekspres) (berangkat|terbang|proses|kerja)\b|"
            r"\bberangkat (cepat|segera|langsung|minggu depan|bulan depan|secepatnya)\b|"
            r"\b(hari|minggu) (langsung )?(berangkat|terbang)\b|"
            r"\bproses (cepat|kilat|singkat)\b",
            [
                "cepat",
                "kilat",
                "langsung",
                "segera",
                "express",
                "ekspres",
                "berangkat",
                "hari",
                "minggu",
                "proses",
            ],
        ),
    ),
    Indicator(
        "waived_requirements",
        1,
        "Syarat sangat ringan (tanpa pengalaman/ijazah/tes, usia bebas, cukup KTP)",
        "Requirements waived (no experience, diploma or test; any age; ID card only)",
        "1.1 (2), 1.10, 2.7",
        WAIVED,
    ),
    Indicator(
        "messenger_only",
        1,
        "Hanya bisa dihubungi lewat WhatsApp/Telegram/DM, tanpa alamat perusahaan",
        "Contact only through WhatsApp/Telegram/DM, no company address",
        "1.2, 1.4, 1.5",
        lambda text, words: (
            not MESSENGER.isdisjoint(words)
            and ADDRESS.isdisjoint(words)
            and not ("kantor" in words and OFFICE_ADDRESS.search(text))
        ),
        MESSENGER,
    ),
    Indicator(
        "passport_retention",
        1,
        "Paspor ditahan atau diserahkan ke agen",
        "Passport held by, or handed to, the agent",
        "1.7, 4",
        Pattern(
            r"\bpaspor (ditahan|disimpan|dipegang|diamankan|dititipkan|diserahkan|dibawa (agen|pt|sponsor))"
            r"(?! (sendiri|oleh (pekerja|pmi|anda|kamu|pemilik)))|"
            r"\b(tahan|simpan|pegang|serahkan|titipkan) paspor",
            ["paspor", "tahan", "simpan", "pegang", "serahkan", "titipkan"],
        ),
    ),
    Indicator(
        "minors",
        1,
        "Menerima anak di bawah umur atau tanpa izin keluarga",
        "Accepts minors or recruits without family consent",
        "3 (Pasal 5)",
        Pattern(
            r"\b(usia|umur|minimal) (14|15|16|17)\b|\b(dibawah_umur|belum 18)\b|"
            r"\btanpa (izin|ijin) (ortu|suami|keluarga)\b|\bortu tidak perlu tahu\b",
            ["usia", "umur", "minimal", "dibawah_umur", "belum", "tanpa", "ortu"],
        ),
    ),
    Indicator(
        "no_contract",
        1,
        "Tanpa kontrak kerja sebelum berangkat",
        "No employment contract before departure",
        "1.1 (8), 1.6",
        Pattern(
            r"\btanpa_kontrak\b|\bkontrak (di sana|disana|menyusul|belakangan|nanti)\b|\btidak (ada|perlu) kontrak\b",
            ["tanpa_kontrak", "kontrak", "tidak"],
        ),
    ),
    Indicator(
        "back_route",
        1,
        "Jalur belakang ke Malaysia (Nunukan, Batam, Entikong, jalur tikus, tekong)",
        "Back route into Malaysia (Nunukan, Batam, Entikong, smuggling paths)",
        "2.6",
        Pattern(
            r"\b(nunukan|tawau|entikong|jalur tikus|lewat darat|tekong|permit (menyusul|nyusul)|"
            r"masuk (kerja )?dulu|kerja dulu (baru )?(permit|paspor))\b",
            [
                "nunukan",
                "tawau",
                "entikong",
                "jalur",
                "lewat",
                "tekong",
                "permit",
                "masuk",
                "kerja",
            ],
        ),
    ),
    Indicator(
        "impersonation",
        1,
        "Mengatasnamakan BP2MI/KP2MI/Kemnaker/KBRI untuk merekrut atau menarik uang",
        "Impersonates BP2MI/KP2MI/Kemnaker/an embassy to recruit or collect money",
        "1.7, 1.8",
        _near(
            Pattern(
                r"\b(bp2mi|kp2mi|bnp2tki|kemnaker|kemenaker|kbri|kjri|disnaker pusat|pengaduan tki|"
                r"kementerian)\b",
                [
                    "bp2mi",
                    "kp2mi",
                    "bnp2tki",
                    "kemnaker",
                    "kemenaker",
                    "kbri",
                    "kjri",
                    "disnaker",
                    "pengaduan",
                    "kementerian",
                ],
            ),
            Pattern(
                r"\b(transfer|tf|rekening|bansos|undangan seleksi|biaya pendaftaran|bayar pendaftaran|"
                r"uang pendaftaran|kode unik)\b",
                [
                    "transfer",
                    "tf",
                    "rekening",
                    "bansos",
                    "undangan",
                    "biaya",
                    "bayar",
                    "uang",
                    "kode",
                ],
            ),
            window=160,
        ),
        frozenset(
            {
                "bp2mi",
                "kp2mi",
                "bnp2tki",
                "kemnaker",
                "kemenaker",
                "kbri",
                "kjri",
                "disnaker",
                "pengaduan",
                "kementerian",
            }
        ),
    ),
    Indicator(
        "personal_data_request",
        1,
        "Meminta foto KTP/KK/paspor atau data diri lewat chat",
        "Asks for ID card, family card or passport photos over chat",
        "1.1 (5)",
        Pattern(
            r"\b(kirim|kirimkan|kirimin|send|siapkan foto) (foto |scan )?(ktp|kk|paspor|data diri|biodata)\b",
            ["kirim", "kirimkan", "kirimin", "send", "siapkan"],
        ),
    ),
    Indicator(
        "high_pay_no_skill",
        1,
        "Gaji tinggi dalam mata uang asing untuk pekerjaan tanpa syarat",
        "High foreign-currency pay for a job without requirements",
        "1.1 (3), 2.2",
        _both(MONEY_FOREIGN, WAIVED),
        MONEY_FOREIGN.triggers,
    ),
    Indicator(
        "no_licence",
        1,
        "Lowongan luar negeri tanpa nama perusahaan, izin P3MI atau alamat",
        "Overseas vacancy naming no company, P3MI licence or address",
        "1.1 (1), 1.2, 1.10",
        _no_licence,
        OVERSEAS.triggers,
    ),
    Indicator(
        "licence_present",
        -1,
        "Mencantumkan izin P3MI / SIP2MI / job order",
        "States a P3MI licence, SIP2MI recruitment permit or job order",
        "3",
        LICENCE,
    ),
    Indicator(
        "official_channel",
        -1,
        "Proses lewat jalur resmi (LTSA, Disnaker, BP3MI, SISKOP2MI, G to G)",
        "Processed through official channels (LTSA, Disnaker, BP3MI, SISKOP2MI, G-to-G)",
        "3, 2.3, 2.4",
        Pattern(
            r"\b(ltsa|disnaker|disnakertrans|bp3mi|siskop2mi|g2g|eps topik|eps|topik|im japan|ijepa|"
            r"siapkerja|karirhub|bpjs|orientasi pra|opp|blk)\b",
            [
                "ltsa",
                "disnaker",
                "disnakertrans",
                "bp3mi",
                "siskop2mi",
                "g2g",
                "eps",
                "topik",
                "im",
                "ijepa",
                "siapkerja",
                "karirhub",
                "bpjs",
                "orientasi",
                "opp",
                "blk",
            ],
        ),
    ),
    Indicator(
        "work_visa_contract",
        -1,
        "Menyebut visa kerja dan kontrak/perjanjian kerja",
        "Mentions a work visa and an employment contract",
        "3 (Pasal 13, 15)",
        Pattern(
            # A negated mention ("bukan visa kerja", "tanpa perjanjian kerja") is the opposite cue.
            NOT_NEGATED + r"(?:\bvisa_kerja\b|\b(perjanjian|kontrak) (kerja|penempatan)\b)",
            ["visa_kerja", "perjanjian", "kontrak"],
        ),
    ),
    Indicator(
        "warning_context",
        -1,
        "Teks peringatan/berita tentang modus perekrutan ilegal, bukan lowongan",
        "A warning or news text about illegal recruitment, not a vacancy",
        "1",
        Pattern(
            r"\b(waspada|hati hati|modus|hoaks|hoax|ciri ciri|penipuan|jangan (mudah )?tergiur|"
            r"imbau|mengimbau|korban|tppo|perdagangan orang|dipulangkan|repatriasi|ditangkap|"
            r"tersangka|polisi|polda|polres)\b",
            [
                "waspada",
                "hati",
                "modus",
                "hoaks",
                "hoax",
                "ciri",
                "penipuan",
                "jangan",
                "imbau",
                "mengimbau",
                "korban",
                "tppo",
                "perdagangan",
                "dipulangkan",
                "repatriasi",
                "ditangkap",
                "tersangka",
                "polisi",
                "polda",
                "polres",
            ],
        ),
    ),
    Indicator(
        "overseas_job",
        1,
        "Lowongan kerja di luar negeri",
        "Job abroad",
        "context",
        OVERSEAS,
    ),
    Indicator(
        "job_context",
        1,
        "Teks tentang pekerjaan",
        "A text about work",
        "context",
        JOB_CONTEXT,
    ),
)

INDICATOR_BY_CODE = {i.code: i for i in INDICATORS}
# word -> bit mask of the indicators it may trigger (bit i = INDICATORS[i]); indicators without
# trigger words are always evaluated.
_MASK: dict[str, int] = {}
for _index, _indicator in enumerate(INDICATORS):
    for _word in _indicator.triggers or ():
        _MASK[_word] = _MASK.get(_word, 0) | (1 << _index)
_TRIGGER_WORDS = frozenset(_MASK)
_ALWAYS = sum(1 << i for i, ind in enumerate(INDICATORS) if ind.triggers is None)


def detect_indices(normalized_text: str, words: Iterable[str] | None = None) -> list[int]:
    """Indices (into ``INDICATORS``, ascending) of the indicators that fire, in one pass.

    Only indicators one of whose trigger words occurs are evaluated; each evaluation sees the
    text's word set, built once (``words``: the text's words, if the caller split it already).
    """
    found = frozenset(normalized_text.split() if words is None else words)
    mask = _ALWAYS
    for word in _TRIGGER_WORDS.intersection(found):
        mask |= _MASK[word]
    fired = []
    while mask:
        lowest = mask & -mask
        index = lowest.bit_length() - 1
        mask ^= lowest
        if INDICATORS[index].match(normalized_text, found):
            fired.append(index)
    return fired


def detect(normalized_text: str) -> list[Indicator]:
    """Return the indicators that fire on one normalized text."""
    return [INDICATORS[i] for i in detect_indices(normalized_text)]
