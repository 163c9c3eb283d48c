"""Indonesian provinces and the towns workers leave from: where an ad recruits, and the route it
names (origin province → transit → destination).

Provinces are ISO 3166-2:ID codes (``ID-NB`` is Nusa Tenggara Barat), found by the province's names
or by a regency or city in it (the districts the migrant-worker offices name most, and the places
the demo and real ads print). Transit points are the exit towns of non-procedural routes
(``Nunukan``, ``Batam``, ``Entikong``… — indicators.md §2.6) and foreign gateways named after a
"lewat", "via" or "transit" ("transit Bangkok", indicators.md §2.2).
"""

from __future__ import annotations

import re

from patroli.text.places import COUNTRY_OF_NAME, HOME_COUNTRY

PROVINCES: dict[str, tuple[str, tuple[str, ...]]] = {
    # code: (name, other names, regencies and cities; lower case, matched as whole words)
    "ID-AC": ("Aceh", ("aceh", "nad", "banda aceh", "lhokseumawe")),
    "ID-SU": (
        "Sumatera Utara",
        (
            "sumatera utara",
            "sumut",
            "medan",
            "deli serdang",
            "asahan",
            "tanjung balai",
            "pematang siantar",
        ),
    ),
    "ID-SB": ("Sumatera Barat", ("sumatera barat", "sumbar", "padang", "bukittinggi")),
    "ID-RI": ("Riau", ("riau", "pekanbaru", "dumai", "bengkalis")),
    "ID-KR": (
        "Kepulauan Riau",
        (
            "kepulauan riau",
            "kepri",
            "batam",
            "tanjung pinang",
            "tanjungpinang",
            "bintan",
            "karimun",
            "tanjung balai karimun",
        ),
    ),
    "ID-JA": ("Jambi", ("jambi",)),
    "ID-SS": ("Sumatera Selatan", ("sumatera selatan", "sumsel", "palembang", "ogan komering")),
    "ID-BB": ("Kepulauan Bangka Belitung", ("bangka belitung", "babel", "pangkalpinang")),
    "ID-BE": ("Bengkulu", ("bengkulu",)),
    "ID-LA": ("Lampung", ("lampung", "bandar lampung", "lampung timur", "lampung tengah", "metro")),
    "ID-JK": (
        "DKI Jakarta",
        (
            "dki jakarta",
            "jakarta",
            "jakarta selatan",
            "jakarta timur",
            "jakarta barat",
            "jakarta utara",
            "jakarta pusat",
        ),
    ),
    "ID-BT": (
        "Banten",
        ("banten", "tangerang", "serang", "cilegon", "cikupa", "pandeglang", "lebak"),
    ),
    "ID-JB": (
        "Jawa Barat",
        (
            "jawa barat",
            "jabar",
            "bandung",
            "bekasi",
            "cikarang",
            "bogor",
            "depok",
            "karawang",
            "indramayu",
            "cirebon",
            "cianjur",
            "sukabumi",
            "garut",
            "subang",
            "tasikmalaya",
            "majalengka",
            "purwakarta",
        ),
    ),
    "ID-JT": (
        "Jawa Tengah",
        (
            "jawa tengah",
            "jateng",
            "semarang",
            "cilacap",
            "brebes",
            "tegal",
            "kendal",
            "banyumas",
            "purwokerto",
            "solo",
            "surakarta",
            "pati",
            "grobogan",
            "wonosobo",
            "kebumen",
            "banjarnegara",
        ),
    ),
    "ID-YO": (
        "DI Yogyakarta",
        ("yogyakarta", "jogja", "jogjakarta", "diy", "sleman", "bantul", "kulon progo"),
    ),
    "ID-JI": (
        "Jawa Timur",
        (
            "jawa timur",
            "jatim",
            "surabaya",
            "malang",
            "blitar",
            "tulungagung",
            "ponorogo",
            "banyuwangi",
            "jember",
            "madiun",
            "kediri",
            "sidoarjo",
            "trenggalek",
        ),
    ),
    "ID-BA": ("Bali", ("bali", "denpasar", "buleleng", "karangasem")),
    "ID-NB": (
        "Nusa Tenggara Barat",
        (
            "nusa tenggara barat",
            "ntb",
            "lombok",
            "lombok timur",
            "lombok tengah",
            "mataram",
            "sumbawa",
            "bima",
            "dompu",
        ),
    ),
    "ID-NT": (
        "Nusa Tenggara Timur",
        (
            "nusa tenggara timur",
            "ntt",
            "kupang",
            "flores",
            "sumba",
            "timor tengah selatan",
            "belu",
            "atambua",
            "ende",
            "maumere",
        ),
    ),
    "ID-KB": (
        "Kalimantan Barat",
        ("kalimantan barat", "kalbar", "pontianak", "entikong", "sambas", "sanggau"),
    ),
    "ID-KT": (
        "Kalimantan Tengah",
        ("kalimantan tengah", "kalteng", "palangka raya", "palangkaraya"),
    ),
    "ID-KS": ("Kalimantan Selatan", ("kalimantan selatan", "kalsel", "banjarmasin")),
    "ID-KI": ("Kalimantan Timur", ("kalimantan timur", "kaltim", "balikpapan", "samarinda")),
    "ID-KU": (
        "Kalimantan Utara",
        ("kalimantan utara", "kaltara", "nunukan", "tarakan", "tawau perbatasan"),
    ),
    "ID-SA": ("Sulawesi Utara", ("sulawesi utara", "sulut", "manado", "bitung")),
    "ID-GO": ("Gorontalo", ("gorontalo",)),
    "ID-ST": ("Sulawesi Tengah", ("sulawesi tengah", "sulteng", "palu")),
    "ID-SR": ("Sulawesi Barat", ("sulawesi barat", "sulbar", "mamuju")),
    "ID-SN": ("Sulawesi Selatan", ("sulawesi selatan", "sulsel", "makassar", "parepare", "bone")),
    "ID-SG": ("Sulawesi Tenggara", ("sulawesi tenggara", "sultra", "kendari")),
    "ID-MA": ("Maluku", ("maluku", "ambon")),
    "ID-MU": ("Maluku Utara", ("maluku utara", "ternate")),
    "ID-PA": ("Papua", ("papua", "jayapura")),
    "ID-PB": ("Papua Barat", ("papua barat", "manokwari", "sorong")),
}
PROVINCE_NAME = {code: name for code, (name, _) in PROVINCES.items()}
PROVINCE_OF_PLACE = {place: code for code, (_, places) in PROVINCES.items() for place in places}

# Exit towns of non-procedural routes (name as shown -> its lower-case spellings).
TRANSIT_TOWNS: dict[str, tuple[str, ...]] = {
    "Nunukan": ("nunukan",),
    "Batam": ("batam",),
    "Entikong": ("entikong",),
    "Dumai": ("dumai",),
    "Tanjung Pinang": ("tanjung pinang", "tanjungpinang"),
    "Tanjung Balai Karimun": ("tanjung balai karimun", "karimun"),
    "Bintan": ("bintan",),
    "Tarakan": ("tarakan",),
    "Atambua": ("atambua",),
}
_TRANSIT_OF = {s: name for name, spellings in TRANSIT_TOWNS.items() for s in spellings}
_PLACE_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, PROVINCE_OF_PLACE), key=len, reverse=True)) + r")\b"
)
_TRANSIT_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _TRANSIT_OF), key=len, reverse=True)) + r")\b"
)
_GATEWAY_RE = re.compile(
    r"\b(?:transit|via|lewat|melalui|jalur|singgah(?: di)?|masuk lewat|nyebrang(?: dari| lewat)?)\s+"
    r"(?:di\s+)?(?=([a-z]+(?: [a-z]+){0,2}))"  # a look-ahead: "lewat X lalu transit Y" finds both
)
# Words after which a place is where workers come from, not where they go.
_ORIGIN_CUE_RE = re.compile(
    r"\b(?:domisili|warga|asal|khusus|area|wilayah|daerah|penduduk|dari|berangkat dari|kantor|cabang)\s+"
    r"(?:kab\.?\s+|kabupaten\s+|kota\s+|prov\.?\s+|provinsi\s+)?([a-z][a-z ]{2,30})"
)


def _first_place(text: str) -> str | None:
    match = _PLACE_RE.search(text)
    return PROVINCE_OF_PLACE[match.group(1)] if match else None


def extract_province(location: str, text: str = "") -> str | None:
    """The ISO 3166-2:ID code of the province an ad recruits in: from the location the site prints,
    else from a place after an origin cue in the text ("domisili Lombok", "khusus warga NTB")."""
    where = _first_place(location.lower()) if location else None
    if where:
        return where
    lowered = text.lower()
    for match in _ORIGIN_CUE_RE.finditer(lowered):
        found = _first_place(match.group(1))
        if found:
            return found
    return None


def extract_transit(text: str) -> list[str]:
    """Exit towns and foreign gateways the ad routes workers through, in order of appearance."""
    lowered = text.lower()
    hits: list[tuple[int, str]] = [
        (m.start(), _TRANSIT_OF[m.group(1)]) for m in _TRANSIT_RE.finditer(lowered)
    ]
    for match in _GATEWAY_RE.finditer(lowered):
        words = match.group(1).split()
        for size in (3, 2, 1):
            name = " ".join(words[:size])
            code = COUNTRY_OF_NAME.get(name)
            if code and code != HOME_COUNTRY:
                hits.append((match.start(1), code))
                break
    return list(dict.fromkeys(name for _, name in sorted(hits)))
