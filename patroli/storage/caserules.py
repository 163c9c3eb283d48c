"""What a case, a case item, a note and a takedown request may hold: checked once here, so that
every backend stores the same values and refuses the same mistakes (``ValueError`` naming them).

Crawled values are hostile and forms are typed by people: every text is bounded, identifiers are
normalized the way the query syntax normalizes them (a phone in any format becomes E.164).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from patroli.storage.base import Record
from patroli.storage.query import QuerySyntaxError, normalize_filter_value
from patroli.storage.schema import (
    CASE_ITEM_KINDS,
    CASE_STATUSES,
    ROUTING_KINDS,
    TAKEDOWN_CHANNELS,
    TAKEDOWN_STATUSES,
    new_id,
    now,
)
from patroli.text.provinces import PROVINCES

IDENTIFIER_KINDS = ("phone", "handle", "email", "bank")
MAX_TITLE, MAX_TEXT, MAX_VALUE = 200, 10_000, 300
_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")
CASE_EDITABLE = ("title", "description", "status", "assignee", "province", "routing")


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def normalize_identifier(value: str) -> str:
    """``phone:0812-5551-2345`` → ``phone:+6281255512345``; ``handle:@X`` → ``handle:@x``."""
    kind, _, raw = value.strip().partition(":")
    kind = kind.strip().lower()
    raw = raw.strip()
    if kind not in IDENTIFIER_KINDS or not raw:
        raise ValueError(
            f"an identifier is {', '.join(k + ':VALUE' for k in IDENTIFIER_KINDS)}, not {value!r}"
        )
    try:
        return f"{kind}:{normalize_filter_value(kind, raw)}"
    except QuerySyntaxError as exc:
        raise ValueError(str(exc)) from exc


def checked_item(kind: str, value: str) -> tuple[str, str]:
    if kind not in CASE_ITEM_KINDS:
        raise ValueError(f"a case item is one of {', '.join(CASE_ITEM_KINDS)}, not {kind!r}")
    value = _text(value, MAX_VALUE)
    if kind == "identifier":
        return kind, normalize_identifier(value)
    if not _ID_RE.fullmatch(value):
        raise ValueError(f"{kind} id {value!r}: letters, digits and . _ : - only")
    return kind, value


def checked_status(status: str) -> str:
    if status not in CASE_STATUSES:
        raise ValueError(f"a case status is one of {', '.join(CASE_STATUSES)}, not {status!r}")
    return status


def checked_province(province: str) -> str:
    province = _text(province, 60)
    if province and province not in PROVINCES:
        raise ValueError(f"unknown province {province!r} (see patroli.text.provinces)")
    return province


def checked_routing(routing: Any) -> list[Record]:
    """Where a case was sent: [{kind: takedown|police|bp3mi, to, reference, at, by}]."""
    checked = []
    for entry in routing or []:
        kind = str(entry.get("kind", ""))
        if kind not in ROUTING_KINDS:
            raise ValueError(f"a case is sent to one of {', '.join(ROUTING_KINDS)}, not {kind!r}")
        checked.append(
            {
                "kind": kind,
                "to": _text(entry.get("to"), MAX_TITLE),
                "reference": _text(entry.get("reference"), MAX_TITLE),
                "at": str(entry.get("at") or now()),
                "by": _text(entry.get("by"), 64),
            }
        )
    return checked


def new_case(case: Mapping[str, Any], actor: str) -> Record:
    title = _text(case.get("title"), MAX_TITLE)
    if not title:
        raise ValueError("a case needs a title")
    at = now()
    return {
        "id": new_id(),
        "title": title,
        "description": _text(case.get("description"), MAX_TEXT),
        "status": checked_status(str(case.get("status") or "open")),
        "assignee": _text(case.get("assignee"), 64),
        "province": checked_province(str(case.get("province") or "")),
        "routing": checked_routing(case.get("routing")),
        "created_by": actor,
        "created_at": at,
        "updated_at": at,
    }


def case_changes(current: Mapping[str, Any], changes: Mapping[str, Any]) -> tuple[Record, Record]:
    """(before, after) of the fields that really change; refuses unknown or invalid ones."""
    unknown = set(changes) - set(CASE_EDITABLE)
    if unknown:
        raise ValueError(f"a case's {', '.join(sorted(unknown))} cannot be changed")
    checked: Record = {}
    for name, value in changes.items():
        if name == "title":
            checked[name] = _text(value, MAX_TITLE)
            if not checked[name]:
                raise ValueError("a case needs a title")
        elif name == "description":
            checked[name] = _text(value, MAX_TEXT)
        elif name == "status":
            checked[name] = checked_status(str(value))
        elif name == "assignee":
            checked[name] = _text(value, 64)
        elif name == "province":
            checked[name] = checked_province(str(value or ""))
        else:
            checked[name] = checked_routing(value)
    after = {k: v for k, v in checked.items() if current.get(k) != v}
    return {k: current.get(k) for k in after}, after


def new_item(case_id: str, kind: str, value: str, note: str, actor: str) -> Record:
    return {
        "id": new_id(),
        "case_id": case_id,
        "kind": kind,
        "value": value,
        "note": _text(note, MAX_TITLE * 5),
        "added_by": actor,
        "added_at": now(),
    }


def new_note(case_id: str, text: str, actor: str) -> Record:
    text = _text(text, MAX_TEXT)
    if not text:
        raise ValueError("a note needs text")
    return {"id": new_id(), "case_id": case_id, "author": actor, "at": now(), "text": text}


def checked_takedown(request: Mapping[str, Any], actor: str) -> Record:
    channel = str(request.get("channel", ""))
    if channel not in TAKEDOWN_CHANNELS:
        raise ValueError(
            f"a takedown goes through one of {', '.join(TAKEDOWN_CHANNELS)}, not {channel!r}"
        )
    if not request.get("ad_id") or not request.get("url"):
        raise ValueError("a takedown request names an ad and its URL")
    at = str(request.get("submitted_at") or now())
    return {
        "id": new_id(),
        "ad_id": _text(request["ad_id"], 100),
        "case_id": _text(request.get("case_id"), 100),
        "channel": channel,
        "platform": _text(request.get("platform"), 64),
        "url": _text(request["url"], 2000),
        "batch_id": _text(request.get("batch_id"), 100),
        "letter_number": _text(request.get("letter_number"), MAX_TITLE),
        "agency": _text(request.get("agency"), MAX_TITLE),
        "urgent": bool(request.get("urgent")),
        "status": "submitted",
        "reason": "",
        "submitted_by": actor,
        "submitted_at": at,
        "updated_at": at,
        "removed_at": None,
        "checks": [],
    }


def checked_takedown_changes(
    current: Mapping[str, Any], changes: Mapping[str, Any], check: Mapping[str, Any] | None
) -> tuple[Record, Record]:
    """(before, after) for a status change and/or one more re-check of the URL."""
    unknown = set(changes) - {"status", "reason"}
    if unknown:
        raise ValueError(f"a takedown request's {', '.join(sorted(unknown))} cannot be changed")
    after: Record = {}
    before: Record = {}
    status = changes.get("status")
    if status is not None and status != current.get("status"):
        if status not in TAKEDOWN_STATUSES:
            raise ValueError(f"a takedown status is one of {', '.join(TAKEDOWN_STATUSES)}")
        before = {"status": current.get("status"), "reason": current.get("reason")}
        after["status"] = status
        after["reason"] = _text(changes.get("reason"), MAX_TITLE)
        after["removed_at"] = now() if status == "removed" else None
    elif "reason" in changes and _text(changes["reason"], MAX_TITLE) != current.get("reason"):
        before = {"status": current.get("status"), "reason": current.get("reason")}
        after["reason"] = _text(changes["reason"], MAX_TITLE)
    if check is not None:
        entry = {
            "at": str(check.get("at") or now()),
            "http_status": check.get("http_status"),
            "outcome": _text(check.get("outcome"), MAX_TITLE),
        }
        after["checks"] = [*(current.get("checks") or []), entry][-100:]
    if after:
        after["updated_at"] = now()
    return before, after
