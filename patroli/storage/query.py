"""The investigators' query syntax, parsed once and executed by every store backend.

``kamboja "visa ziarah" phone:0812-5551-2345 handle:@rekrut country:KH source:demo_telegram
status:new flagged:true risk>=0.8 posted>=2026-11-01 -judi``; leads and links: ``bank:BRI:0021…``,
``licence:KEP.555/P3MI/2025``, ``cluster:c-…``, ``network:n-…``, ``agency:ID``, ``province:ID-NB``,
``job:domestic``, ``like:confirmed`` (the cluster's decision), ``attention:true`` (flagged, or in a
cluster confirmed as illegal).

- bare words and ``"quoted phrases"`` search the title and text (all must match);
- ``field:value`` filters on an exact value (repeat a field to accept any of several values);
- ``risk``, ``posted``, ``seen`` (last seen) and ``first`` (first seen) take ``>= > <= <``;
- a leading ``-`` excludes a word, phrase or filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import phonenumbers

from patroli.text.agencies import normalize_licence
from patroli.text.banks import normalize_bank_account
from patroli.text.phones import DEFAULT_REGION

# Filter name -> stored field (entity filters look up the entity table / keyword arrays).
FILTER_FIELDS = {
    "phone": "phone",
    "handle": "handle",
    "email": "email",
    "country": "country",
    "source": "source",
    "kind": "source_kind",
    "status": "status",
    "flagged": "flagged",
    "id": "ad_id",
    "model": "model_version",
    "author": "author",
    "bank": "bank",
    "licence": "licence",
    "cluster": "cluster_id",
    "network": "network_id",
    "agency": "agency_id",
    "province": "province",
    "job": "job_type",
    "like": "cluster_status",
    "attention": "attention",
}
ENTITY_FILTERS = {"phone", "handle", "email", "country", "bank", "licence"}
# ``attention:true``: what the review queue shows, flagged by the model or in a cluster confirmed
# as illegal ("like a confirmed cluster").
ATTENTION = "attention"
RANGE_FIELDS = {"risk": "risk", "posted": "posted_at", "seen": "last_seen", "first": "first_seen"}
_OPS = (">=", "<=", ">", "<")
_TOKEN_RE = re.compile(r'(-?)(?:(\w+)(:|>=|<=|>|<))?(?:"([^"]*)"?|(\S+))')


class QuerySyntaxError(ValueError):
    """The query cannot be understood; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class Filter:
    field: str
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Range:
    field: str
    op: str
    value: float | str  # float for risk, ISO 8601 UTC string for dates


@dataclass(slots=True)
class Query:
    terms: list[str] = field(default_factory=list)  # words and phrases, all required
    excluded: list[str] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    ranges: list[Range] = field(default_factory=list)


def normalize_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise QuerySyntaxError(f"phone:{value} is not a phone number") from exc
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_filter_value(name: str, value: str) -> str:
    if name == "phone":
        return normalize_phone(value)
    if name == "handle":
        return "@" + value.lstrip("@").lower()
    if name == "country":
        if not re.fullmatch(r"[A-Za-z]{2}", value):
            raise QuerySyntaxError(
                f"country:{value} must be a two-letter ISO code such as KH or SA"
            )
        return value.upper()
    if name == "email":
        return value.lower()
    if name == "bank":
        try:
            return normalize_bank_account(value)
        except ValueError as exc:
            raise QuerySyntaxError(str(exc)) from exc
    if name == "licence":
        return normalize_licence(value)
    if name == "province":
        return value.upper()
    if name in ("flagged", "attention"):
        if value.lower() not in {"true", "false", "yes", "no", "1", "0"}:
            raise QuerySyntaxError(f"{name}:{value} must be true or false")
        return "1" if value.lower() in {"true", "yes", "1"} else "0"
    return value


def _parse_date(value: str, token: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise QuerySyntaxError(f"{token}: {value!r} is not a date like 2026-11-01") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def parse_query(text: str) -> Query:
    query = Query()
    grouped: dict[tuple[str, bool], list[str]] = {}
    for match in _TOKEN_RE.finditer(text.strip()):
        negate, name, op, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        token = match.group(0)
        if name is None:
            if value and value.upper() not in {"AND"}:
                (query.excluded if negate else query.terms).append(value)
            continue
        name = name.lower()
        if op == ":":
            if name not in FILTER_FIELDS:
                known = ", ".join(sorted(FILTER_FIELDS))
                raise QuerySyntaxError(f"unknown filter {name}: in {token!r} (known: {known})")
            if not value:
                raise QuerySyntaxError(f"filter {name}: needs a value")
            grouped.setdefault((name, bool(negate)), []).append(normalize_filter_value(name, value))
            continue
        if name not in RANGE_FIELDS:
            raise QuerySyntaxError(f"{token!r}: only risk, posted, seen and first take {op}")
        if name == "risk":
            try:
                number = float(value)
            except ValueError as exc:
                raise QuerySyntaxError(f"{token!r}: risk needs a number between 0 and 1") from exc
            query.ranges.append(Range(RANGE_FIELDS[name], op, number))
        else:
            query.ranges.append(Range(RANGE_FIELDS[name], op, _parse_date(value, token)))
    for (name, negate), values in grouped.items():
        query.filters.append(Filter(FILTER_FIELDS[name], tuple(values), negate))
    return query


def restrict_to_source(text: str, source: str) -> str | None:
    """``text`` narrowed to the ads of one ``source`` (a crawl's own new ads, for its alerts), or
    ``None`` when ``text`` asks for other sources only. Its own ``source:`` filters are replaced:
    repeated, they would widen the search to other sources instead of narrowing it."""
    kept: list[str] = []
    wanted: set[str] = set()
    for match in _TOKEN_RE.finditer(text.strip()):
        negate, name, op, quoted, bare = match.groups()
        if not negate and op == ":" and (name or "").lower() == "source":
            wanted.add(quoted if quoted is not None else bare)
        else:
            kept.append(match.group(0))
    if wanted and source not in wanted:
        return None
    return " ".join([*kept, f"source:{source}"])
