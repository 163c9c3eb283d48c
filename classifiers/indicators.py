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
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    direction: int  # +1: raises risk, -1: points to a procedural placement or a non-ad
    text_id: str
    text_en: str
    source: str  # section of indicators.md
    detect: Callable[[str], bool]


Matcher = Callable[[str], bool]
_last_tokens: tuple[str, frozenset[str]] = ("", frozenset())


def _tokens(text: str) -> frozenset[str]:
    """The words of a normalized text; remembered for the last text, as detectors run in a row."""
    global _last_tokens
    if _last_tokens[0] is not text:
        _last_tokens = (text, frozenset(text.split()))
    return _last_tokens[1]


class Terms:
    """Any of these words or phrases occurs: set look-ups, far cheaper than a regex alternation."""

    def __init__(self, *terms: str) -> None:
        self.words = frozenset(t for t in terms if " " not in t)
        self.phrases = tuple(f" {t} " for t in terms if " " in t)

    def __call__(self, text: str) -> bool:
        if not self.words.isdisjoint(_tokens(text)):
            return True
        if self.phrases:
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


def _rx(pattern: str) -> Matcher:
    compiled = re.compile(pattern)
    return lambda text: compiled.search(text) is not None


def _matcher(spec: str | Matcher) -> Matcher:
    return _rx(spec) if isinstance(spec, str) else spec


def _both(a: str | Matcher, b: str | Matcher) -> Matcher:
    """Both occur anywhere in the text."""
    ma, mb = _matcher(a), _matcher(b)
    return lambda text: ma(text) and mb(text)


def _near(a: str, b: str, window: int) -> Matcher:
    """Both patterns occur within ``window`` characters of each other."""
    ra, rb = re.compile(a), re.compile(b)

    def near(text: str) -> bool:
        starts = [m.start() for m in rb.finditer(text)]
        return any(any(abs(m.start() - s) <= window for s in starts) for m in ra.finditer(text))

    return near


MORATORIUM = Terms(
    "arab_saudi",
    "saudi",
    "riyadh",
    "jeddah",
    "jedah",
    "jeddha",
    "mekah",
    "makkah",
    "madinah",
    "dammam",
    "thaif",
    "taif",
    "uea",
    "dubai",
    "abu dhabi",
    "abudhabi",
    "sharjah",
    "qatar",
    "doha",
    "kuwait",
    "oman",
    "muscat",
    "bahrain",
    "yordania",
    "jordan",
    "amman",
    "mesir",
    "kairo",
    "irak",
    "iraq",
    "erbil",
    "suriah",
    "syria",
    "lebanon",
    "libanon",
    "libya",
    "aljazair",
    "maroko",
    "tunisia",
    "sudan",
    "yaman",
    "yemen",
    "palestina",
    "mauritania",
    "timur_tengah",
    "timteng",
    "negara arab",
    "tanah suci",
    "flag_sa",
    "flag_ae",
    "flag_qa",
    "flag_kw",
    "flag_om",
    "flag_bh",
    "flag_jo",
    "flag_eg",
    "flag_iq",
    "flag_sy",
    "flag_lb",
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
SCAM_HUB = Terms(
    "kamboja",
    "cambodia",
    "phnom penh",
    "sihanoukville",
    "sihanouk",
    "bavet",
    "poipet",
    "myanmar",
    "burma",
    "myawaddy",
    "myawadi",
    "kk park",
    "shwe kokko",
    "laos",
    "bokeo",
    "golden triangle",
    "segitiga emas",
    "filipina",
    "philippines",
    "manila",
    "pasay",
    "pogo",
    "mae sot",
    "thailand",
    "bangkok",
    "chiang rai",
    "flag_kh",
    "flag_mm",
    "flag_la",
    "flag_ph",
    "flag_th",
    "mekong",
    "perbatasan thailand",
)
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
    Terms("luar_negeri", "abroad", "overseas", "malaysia", "singapura", "brunei", "taiwan", "hong_kong",
          "jepang", "japan", "korea", "turki", "jerman", "polandia", "eropa", "europe", "australia", "kapal")
    + MORATORIUM
    + SCAM_HUB
)  # fmt: skip

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "moratorium_domestic", 1,
        "Kerja rumah tangga di negara moratorium Timur Tengah (Kepmenaker 260/2015)",
        "Domestic work in a Middle-East moratorium country (Kepmenaker 260/2015)",
        "2.1", _both(MORATORIUM, DOMESTIC_WORK),
    ),
    Indicator(
        "scam_hub_office_job", 1,
        "Pekerjaan kantor/admin/CS di negara pusat penipuan daring (Kamboja, Myanmar, Laos, Filipina)",
        "Office/admin/CS job in an online-scam hub (Cambodia, Myanmar, Laos, Philippines)",
        "1.8, 2.2", _both(SCAM_HUB, OFFICE_JOB),
    ),
    Indicator(
        "visit_visa_work", 1,
        "Bekerja dengan visa kunjungan/turis/ziarah/umrah, bukan visa kerja",
        "Work on a visit/tourist/pilgrimage visa instead of a work visa",
        "1.1 (7), 1.6, 1.9",
        _rx(r"\bvisa_kunjungan\b|paspor (pelancong|wisata)|visa (nanti|bisa) (di ?rubah|diubah|diganti)|"
            r"(diurus|urus|ganti) (di sana|disana)|lewat (jalur )?(umrah|ziarah)|berangkat (umrah|ziarah)"),
    ),
    Indicator(
        "worker_pays_fees", 1,
        "Calon pekerja diminta membayar biaya penempatan/proses/jaminan (UU 18/2017 Pasal 30)",
        "The worker is asked to pay placement, processing or deposit fees (Law 18/2017 Art. 30)",
        "1.1 (4), 1.4, 3",
        _rx(r"\b(biaya|bayar|dp|down payment|uang jaminan|jaminan|deposit|setor|transfer|tf|admin|"
            r"administrasi|pendaftaran|registrasi|ongkos|pelatihan)\b\W+(?:\w+\W+){0,5}tok_money_"),
    ),
    Indicator(
        "salary_deduction", 1,
        "Utang dibayar lewat potong gaji / dana talangan (jeratan utang)",
        "Debt repaid through salary deductions or a cash advance (debt bondage)",
        "1.8, 2.3, 2.8, 4",
        _rx(r"\b(potong_gaji|dana_talangan|talangan|dipotong (dari )?gaji|bayar (dari|pakai) gaji|"
            r"dicicil (dari|lewat) gaji|ganti (dari|pakai) gaji|utang|hutang|kasbon)\b"),
    ),
    Indicator(
        "free_plus_cash", 1,
        "Semua gratis plus uang saku (dipakai perekrut ilegal)",
        "Everything free plus pocket money (a known lure)",
        "1.8",
        _both(r"\b(gratis|tanpa biaya|ditanggung|0 rupiah|nol rupiah)\b", r"\b(uang_saku|dikasih uang|dapat uang|sangu)\b"),
    ),
    Indicator(
        "speed_promise", 1,
        "Janji berangkat sangat cepat",
        "Promise of a very fast departure",
        "1.8, 1.10",
        _rx(r"\b(cepat|kilat|langsung|segera|express|ekspres) (berangkat|terbang|proses|kerja)\b|"
            r"\bberangkat (cepat|segera|langsung|minggu depan|bulan depan|secepatnya)\b|"
            r"\b(tok_num|\d+|dua|tiga|satu) (hari|minggu) (langsung )?(berangkat|terbang|kerja)\b|"
            r"\bproses (cepat|kilat|singkat)\b"),
    ),
    Indicator(
        "waived_requirements", 1,
        "Syarat sangat ringan (tanpa pengalaman/ijazah/tes, usia bebas, cukup KTP)",
        "Requirements waived (no experience, diploma or test; any age; ID card only)",
        "1.1 (2), 1.10, 2.7",
        _rx(r"\b(tanpa_pengalaman|tanpa_ijazah|tanpa_tes|usia_bebas|syarat (mudah|ringan|gampang)|"
            r"(cukup|hanya|modal) ktp|tidak perlu (ijazah|pengalaman|tes|bahasa|skill)|bisa mengetik|"
            r"tanpa (skill|keahlian|bahasa|syarat|eps|topik))\b"),
    ),
    Indicator(
        "messenger_only", 1,
        "Hanya bisa dihubungi lewat WhatsApp/Telegram/DM, tanpa alamat perusahaan",
        "Contact only through WhatsApp/Telegram/DM, no company address",
        "1.2, 1.4, 1.5",
        lambda t: bool(re.search(r"\b(japri|tok_wa|tok_tme|tok_handle|whatsapp|wa|telegram|inbox)\b", t))
        and not re.search(r"\b(alamat|jl|jalan|kantor (kami|pusat|cabang)|tok_email|website|tok_url)\b", t),
    ),
    Indicator(
        "passport_retention", 1,
        "Paspor ditahan atau diserahkan ke agen",
        "Passport held by, or handed to, the agent",
        "1.7, 4",
        _rx(r"\bpaspor (ditahan|disimpan|dipegang|diamankan|dititipkan|diserahkan|dibawa (agen|pt|sponsor))"
            r"(?! (sendiri|oleh (pekerja|pmi|anda|kamu|pemilik)))|"
            r"\b(tahan|simpan|pegang|serahkan|titipkan) paspor"),
    ),
    Indicator(
        "minors", 1,
        "Menerima anak di bawah umur atau tanpa izin keluarga",
        "Accepts minors or recruits without family consent",
        "3 (Pasal 5)",
        _rx(r"\b(usia|umur|minimal|min) (14|15|16|17)\b|\b(di ?bawah umur|belum 18)\b|"
            r"tanpa (izin|ijin) (ortu|orang tua|suami|keluarga)|(ortu|orang tua) tidak perlu tahu"),
    ),
    Indicator(
        "no_contract", 1,
        "Tanpa kontrak kerja sebelum berangkat",
        "No employment contract before departure",
        "1.1 (8), 1.6",
        _rx(r"\btanpa_kontrak\b|kontrak (di sana|disana|menyusul|belakangan|nanti)|tidak (ada|perlu) kontrak"),
    ),
    Indicator(
        "back_route", 1,
        "Jalur belakang ke Malaysia (Nunukan, Batam, Entikong, jalur tikus, tekong)",
        "Back route into Malaysia (Nunukan, Batam, Entikong, smuggling paths)",
        "2.6",
        _rx(r"\b(nunukan|tawau|entikong|jalur tikus|lewat darat|tekong|permit (menyusul|nyusul)|"
            r"masuk (kerja )?dulu|kerja dulu (baru )?(permit|paspor))\b"),
    ),
    Indicator(
        "impersonation", 1,
        "Mengatasnamakan BP2MI/KP2MI/Kemnaker/KBRI untuk merekrut atau menarik uang",
        "Impersonates BP2MI/KP2MI/Kemnaker/an embassy to recruit or collect money",
        "1.7, 1.8",
        _near(r"\b(bp2mi|kp2mi|bnp2tki|kemnaker|kemenaker|kbri|kjri|disnaker pusat|pengaduan tki|kementerian)\b",
              r"\b(transfer|tf|rekening|bansos|undangan seleksi|biaya pendaftaran|bayar pendaftaran|"
              r"uang pendaftaran|kode unik)\b", window=160),
    ),
    Indicator(
        "personal_data_request", 1,
        "Meminta foto KTP/KK/paspor atau data diri lewat chat",
        "Asks for ID card, family card or passport photos over chat",
        "1.1 (5)",
        _rx(r"\b(kirim|kirimkan|kirimin|send|siapkan foto) (foto |scan )?(ktp|kk|paspor|data diri|biodata)"),
    ),
    Indicator(
        "high_pay_no_skill", 1,
        "Gaji tinggi dalam mata uang asing untuk pekerjaan tanpa syarat",
        "High foreign-currency pay for a job without requirements",
        "1.1 (3), 2.2",
        _both(r"\btok_money_(usd|sar|aed|myr|twd|eur|sgd|hkd|krw|jpy)\b",
              r"\b(tanpa_pengalaman|tanpa_ijazah|tanpa_tes|usia_bebas|syarat (mudah|ringan)|cukup ktp|bisa mengetik)\b"),
    ),
    Indicator(
        "licence_present", -1,
        "Mencantumkan izin P3MI / SIP2MI / job order",
        "States a P3MI licence, SIP2MI recruitment permit or job order",
        "3",
        _rx(r"\b(sip3mi|sip2mi|sippmi|siup p3mi|siup ppmi|siuppak|job_order|p3mi resmi|"
            r"terdaftar (di|pada) (bp2mi|kp2mi|siskop2mi|kemnaker))\b|\b(no|nomor|izin)\W+(?:\w+\W+){0,2}tok_num"),
    ),
    Indicator(
        "official_channel", -1,
        "Proses lewat jalur resmi (LTSA, Disnaker, BP3MI, SISKOP2MI, G to G)",
        "Processed through official channels (LTSA, Disnaker, BP3MI, SISKOP2MI, G-to-G)",
        "3, 2.3, 2.4",
        _rx(r"\b(ltsa|disnaker|disnakertrans|bp3mi|siskop2mi|g2g|eps topik|eps|topik|im japan|ijepa|"
            r"siapkerja|karirhub|bpjs|orientasi pra|opp|blk)\b"),
    ),
    Indicator(
        "work_visa_contract", -1,
        "Menyebut visa kerja dan kontrak/perjanjian kerja",
        "Mentions a work visa and an employment contract",
        "3 (Pasal 13, 15)",
        _rx(r"\bvisa_kerja\b|\b(perjanjian|kontrak) (kerja|penempatan)\b"),
    ),
    Indicator(
        "warning_context", -1,
        "Teks peringatan/berita tentang modus perekrutan ilegal, bukan lowongan",
        "A warning or news text about illegal recruitment, not a vacancy",
        "1",
        _rx(r"\b(waspada|hati hati|modus|hoaks|hoax|ciri ciri|penipuan|jangan (mudah )?tergiur|"
            r"imbau|mengimbau|korban|tppo|perdagangan orang|dipulangkan|repatriasi|ditangkap|"
            r"tersangka|polisi|polda|polres)\b"),
    ),
    Indicator(
        "overseas_job", 1,
        "Lowongan kerja di luar negeri",
        "Job abroad",
        "context",
        OVERSEAS,
    ),
)  # fmt: skip

INDICATOR_BY_CODE = {i.code: i for i in INDICATORS}


def detect(normalized_text: str) -> list[Indicator]:
    """Return the indicators that fire on one normalized text."""
    return [i for i in INDICATORS if i.detect(normalized_text)]
