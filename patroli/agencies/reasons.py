"""The register's reasons: codes stored with an ad (``register:<finding>``), texts in Indonesian and
English, and how far each finding moves the risk (added to the model's log-odds)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    log_odds: float  # > 0 raises the risk, < 0 lowers it
    text_id: str
    text_en: str


FINDINGS: dict[str, Finding] = {
    f.code: f
    for f in (
        Finding(
            "licensed_match",
            -2.0,
            "Menurunkan risiko: menyebut P3MI berizin (%(agency)s) dengan kontak resmi agensi itu",
            "Lowers risk: names a licensed P3MI (%(agency)s) with that agency's official contacts",
        ),
        Finding(
            "licence_unknown",
            2.0,
            "Nomor izin %(licence)s tidak ada di daftar P3MI berizin",
            "Licence number %(licence)s is not in the register of licensed P3MI",
        ),
        Finding(
            "licence_expired",
            1.5,
            "Izin P3MI %(agency)s sudah habis masa berlakunya (%(until)s)",
            "The P3MI licence of %(agency)s has expired (%(until)s)",
        ),
        Finding(
            "licence_revoked",
            2.5,
            "Izin P3MI %(agency)s dicabut atau dikenai sanksi (%(status)s)",
            "The P3MI licence of %(agency)s is revoked or sanctioned (%(status)s)",
        ),
        Finding(
            "impersonation",
            2.5,
            "Memakai nama P3MI berizin (%(agency)s) dengan kontak yang bukan milik agensi itu",
            "Uses a licensed P3MI's name (%(agency)s) with contacts that are not the agency's",
        ),
        Finding(
            "no_job_order",
            0.7,
            "P3MI berizin, tetapi tidak ada job order untuk %(country)s / %(position)s",
            "Licensed P3MI, but no job order for %(country)s / %(position)s",
        ),
    )
}


def register_reason_text(code: str, language: str = "id") -> str:
    """``register:impersonation|agency=PT X`` -> the reason in ``language`` (the code itself when
    it is not one of the register's)."""
    kind, _, rest = code.partition(":")
    name, _, params = rest.partition("|")
    finding = FINDINGS.get(name)
    if kind != "register" or finding is None:
        return code
    values = {
        "agency": "?",
        "licence": "?",
        "until": "?",
        "status": "?",
        "country": "?",
        "position": "?",
    }
    for pair in params.split("|") if params else ():
        key, _, value = pair.partition("=")
        if key in values:
            values[key] = value
    return (finding.text_id if language == "id" else finding.text_en) % values
