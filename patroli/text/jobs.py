"""Kinds of work an ad offers, for the dashboard's trends: the sectors the warnings name
(indicators.md §2: scam-hub office jobs, domestic work, plantations, fishing crews, care, factories).

``job_type`` returns one code per ad, the first kind (in ``JOB_TYPES`` order) whose words occur; the
order puts the kinds the warnings name before the general ones ("admin" in a factory ad is still an
office job only when no factory word occurs).
"""

from __future__ import annotations

import re

JOB_TYPES: dict[str, tuple[str, ...]] = {
    "fishing": (
        "abk",
        "kapal ikan",
        "anak buah kapal",
        "nelayan",
        "fishing",
        "longline",
        "kapal tuna",
    ),
    "domestic": (
        "prt",
        "art",
        "asisten rumah tangga",
        "pembantu",
        "pembantu rumah tangga",
        "pengasuh anak",
        "babysitter",
        "nanny",
        "housemaid",
        "maid",
        "tkw",
    ),
    "care": (
        "caregiver",
        "perawat lansia",
        "pengasuh lansia",
        "jompo",
        "panti",
        "nursing",
        "care worker",
        "kaigo",
        "perawat",
    ),
    "plantation": (
        "sawit",
        "kebun",
        "perkebunan",
        "ladang",
        "plantation",
        "petik buah",
        "pertanian",
        "farm",
    ),
    "factory": (
        "pabrik",
        "operator produksi",
        "manufaktur",
        "factory",
        "produksi",
        "operator mesin",
        "gudang",
        "warehouse",
    ),
    "construction": ("konstruksi", "bangunan", "tukang", "welder", "las", "construction", "proyek"),
    "hospitality": (
        "hotel",
        "restoran",
        "restaurant",
        "kapal pesiar",
        "cruise",
        "waiter",
        "waitress",
        "koki",
        "cook",
        "chef",
        "housekeeping",
        "spa",
        "terapis",
    ),
    "driver": ("sopir", "supir", "driver", "pengemudi"),
    "office_online": (
        "admin",
        "customer service",
        "cs",
        "operator",
        "marketing",
        "telemarketing",
        "data entry",
        "typist",
        "admin chat",
        "live streaming",
        "host live",
        "crypto",
        "call center",
        "it support",
    ),
}
_PATTERNS = {
    code: re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b"
    )
    for code, words in JOB_TYPES.items()
}


def job_type(text: str) -> str:
    """The ad's kind of work, or "" when none of the kinds' words occur."""
    lowered = text.lower()
    for code, pattern in _PATTERNS.items():
        if pattern.search(lowered):
            return code
    return ""
