"""The register check: what the licensed-agency register says about one ad, applied after scoring.

It does not retrain or touch the model: the model's risk is moved in log-odds by each finding
(``reasons.FINDINGS``) and the flag is recomputed at the model's own threshold (``risk - margin``),
so it composes with whatever model scored the ad. The register's reasons are added to the ad's
(``register:<finding>|agency=…``), and a text-side "no licence" reason gives way to the register's
fact when the ad names a licensed agency with its official contacts.

A name match alone never lowers risk: scammers print a real agency's name and address with their own
number (practice.md). Only an ad whose every contact (phone, WhatsApp, Telegram handle, e-mail) is one
of the agency's official ones is "licensed with matching contacts"; other contacts under a licensed
name are impersonation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from patroli.agencies.reasons import FINDINGS, register_reason_text
from patroli.storage.roles import AgencyRegister
from patroli.text.agencies import agency_key

REVOKED_WORDS = (
    "cabut",
    "dicabut",
    "revoked",
    "suspend",
    "dibekukan",
    "beku",
    "sanksi",
    "nonaktif",
    "tidak aktif",
    "inactive",
)
TEXT_NO_LICENCE = "indicator:no_licence"


def _safe(value: str) -> str:
    return re.sub(r"[|=]", " ", value)[:80]


def agency_id_of(entry: Mapping[str, Any]) -> str:
    """An agency's id on pages and in ``agency:`` queries: its head office's licence number, or its
    name key when the register gives none."""
    licence = str(entry.get("parent_licence") or entry.get("licence_number") or "")
    return licence or str(entry.get("name_key") or "").replace(" ", "-")


@dataclass(slots=True)
class RegisterSnapshot:
    """The newest import of each register kind, indexed for look-ups."""

    licences: list[dict[str, Any]]
    sanctions: list[dict[str, Any]] = field(default_factory=list)
    job_orders: list[dict[str, Any]] | None = None  # None: no job-order snapshot imported
    import_record: dict[str, Any] = field(default_factory=dict)
    by_licence: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sanctioned: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for entry in self.licences:
            if entry.get("licence_number"):
                self.by_licence[entry["licence_number"]] = entry
            if entry.get("name_key"):
                self.by_key.setdefault(entry["name_key"], []).append(entry)
        for entry in self.sanctions:
            self.sanctioned.update(
                v for v in (entry.get("licence_number"), entry.get("name_key")) if v
            )

    @classmethod
    def from_store(cls, store: AgencyRegister) -> RegisterSnapshot | None:
        imports = store.register_imports(kind="licences")
        if not imports:
            return None
        sanctions = store.register_entries(kind="sanctions")
        has_orders = bool(store.register_imports(kind="job_orders"))
        return cls(
            licences=store.register_entries(import_id=imports[0]["import_id"]),
            sanctions=sanctions,
            job_orders=store.register_entries(kind="job_orders") if has_orders else None,
            import_record=dict(imports[0]),
        )

    def agency(self, agency_id: str) -> list[dict[str, Any]]:
        """The head office and branches of one agency id."""
        return [e for e in self.licences if agency_id_of(e) == agency_id]

    def match_name(self, name: str) -> list[dict[str, Any]]:
        """The register agency whose name the ad's name starts with (longest name wins)."""
        words = agency_key(name).split()
        for size in range(len(words), 0, -1):
            found = self.by_key.get(" ".join(words[:size]))
            if found:
                head = found[0]
                return self.agency(agency_id_of(head)) or found
        return []


@dataclass(slots=True)
class CheckResult:
    agency_id: str = ""
    codes: list[str] = field(default_factory=list)
    log_odds: float = 0.0


def _revoked(entry: Mapping[str, Any], snapshot: RegisterSnapshot) -> bool:
    status = str(entry.get("status") or "")
    return any(w in status for w in REVOKED_WORDS) or bool(
        {entry.get("licence_number"), entry.get("name_key"), entry.get("parent_licence")}
        & snapshot.sanctioned
    )


def _expired(entry: Mapping[str, Any], today: date) -> bool:
    until = str(entry.get("valid_until") or "")
    return bool(until) and until < today.isoformat()


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _official(agency: Sequence[Mapping[str, Any]]) -> tuple[set[str], set[str], set[str]]:
    phones = {p for e in agency for p in e.get("phones") or ()}
    emails = {m.lower() for e in agency for m in e.get("emails") or ()}
    domains = {_domain(m) for m in emails}
    for entry in agency:
        site = re.sub(r"^https?://(www\.)?", "", str(entry.get("website") or "")).split("/")[0]
        if site:
            domains.add(site)
    return phones, emails, domains


def _branch(agency: Sequence[Mapping[str, Any]], text: str) -> Mapping[str, Any] | None:
    lowered = text.lower()
    for entry in agency:
        city = str(entry.get("city") or "").lower()
        if (
            entry.get("office") == "branch"
            and city
            and re.search(rf"\bcabang\s+{re.escape(city)}\b", lowered)
        ):
            return entry
    return None


def check(
    ad: Mapping[str, Any], snapshot: RegisterSnapshot, today: date | None = None
) -> CheckResult:
    """The register's findings for one ad (its extracted names, licences and contacts)."""
    today = today or datetime.now(UTC).date()
    result = CheckResult()
    findings: list[tuple[str, dict[str, str]]] = []
    agency: list[dict[str, Any]] = []
    for name in ad.get("agency_names") or ():
        agency = snapshot.match_name(str(name))
        if agency:
            break
    for licence in ad.get("licence_numbers") or ():
        entry = snapshot.by_licence.get(str(licence))
        if entry is None:
            findings.append(("licence_unknown", {"licence": _safe(str(licence))}))
        elif not agency:
            agency = snapshot.agency(agency_id_of(entry)) or [entry]
    if not agency:
        return _result(result, findings)
    head = next((e for e in agency if e.get("office") != "branch"), agency[0])
    label = _safe(str(head.get("name") or agency_id_of(head)))
    result.agency_id = agency_id_of(head)
    office = _branch(agency, f"{ad.get('title') or ''} {ad.get('text') or ''}") or head
    if _revoked(head, snapshot) or _revoked(office, snapshot):
        findings.append(
            (
                "licence_revoked",
                {"agency": label, "status": _safe(str(office.get("status") or "sanksi"))},
            )
        )
    elif _expired(office, today):
        findings.append(
            ("licence_expired", {"agency": label, "until": str(office.get("valid_until"))})
        )
    phones, emails, domains = _official(agency)
    contacts = [
        *(ad.get("phones") or ()),
        *(ad.get("whatsapp") or ()),
        *(ad.get("telegram") or ()),
        *(ad.get("emails") or ()),
    ]
    if contacts:
        foreign = [
            c
            for c in contacts
            if not (c in phones or c.lower() in emails or ("@" in c[1:] and _domain(c) in domains))
        ]
        if foreign:
            findings.append(("impersonation", {"agency": label}))
        elif not findings:
            findings.append(("licensed_match", {"agency": label}))
            orders = snapshot.job_orders
            if orders is not None:
                mine = [
                    o
                    for o in orders
                    if agency_id_of(o) == result.agency_id
                    or (o.get("name_key") and o.get("name_key") == head.get("name_key"))
                ]
                for country in ad.get("countries") or ():
                    if not any(o.get("country") == country for o in mine):
                        findings.append(
                            (
                                "no_job_order",
                                {
                                    "country": country,
                                    "position": _safe(str(ad.get("job_type") or "-")),
                                },
                            )
                        )
                        break
    return _result(result, findings)


def _result(result: CheckResult, findings: list[tuple[str, dict[str, str]]]) -> CheckResult:
    for name, params in findings:
        suffix = "".join(f"|{k}={v}" for k, v in params.items())
        result.codes.append(f"register:{name}{suffix}")
        result.log_odds += FINDINGS[name].log_odds
    return result


def apply_check(
    ad: dict[str, Any], result: CheckResult, snapshot: RegisterSnapshot, language: str
) -> None:
    """Move the ad's risk by the findings, recompute its flag at the model's threshold, and add the
    register's reasons (raising ones first, lowering ones last); record which import was used."""
    ad["register_import"] = str(snapshot.import_record.get("import_id") or "")
    if result.agency_id:
        ad["agency_id"] = result.agency_id
    if not result.codes:
        return
    codes = list(ad.get("reason_codes") or [])
    reasons = list(ad.get("reasons") or [])
    if (
        any(c.startswith("register:licensed_match") for c in result.codes)
        and TEXT_NO_LICENCE in codes
    ):
        index = codes.index(TEXT_NO_LICENCE)
        codes.pop(index)
        if index < len(reasons):
            reasons.pop(index)
    raising = [c for c in result.codes if FINDINGS[c.split(":")[1].split("|")[0]].log_odds > 0]
    lowering = [c for c in result.codes if c not in raising]
    ad["reason_codes"] = [*raising, *codes, *lowering]
    ad["reasons"] = (
        [register_reason_text(c, language) for c in raising]
        + reasons
        + [register_reason_text(c, language) for c in lowering]
    )
    risk = ad.get("risk")
    if risk is None:
        return
    margin = ad.get("risk_margin")
    threshold = float(risk) - float(margin) if margin is not None else 0.5
    clipped = min(max(float(risk), 1e-6), 1 - 1e-6)
    moved = 1 / (1 + math.exp(-(math.log(clipped / (1 - clipped)) + result.log_odds)))
    ad["risk"] = round(moved, 6)
    ad["risk_margin"] = round(moved - threshold, 6)
    ad["risky"] = moved >= threshold
    # Flagged keeps the model's meaning: risky and an ad (a report naming a fake licence is risky,
    # not an offer to review); an ad scored by a model without genres counts as an ad.
    ad["flagged"] = ad["risky"] and ad.get("genre") in (None, "ad")
