"""Reading the ministry's P3MI lists into register entries: CSV, XLSX, or the published HTML list
with its detail pages; licences, sanctions and job orders.

No official file format or field list was found (practice.md): the list is published in SISKOP2MI
as an HTML list with a detail page per agency, plus a separate sanctions list. Columns are therefore
found by a field mapping: each register field has the header names it may appear under (Indonesian
and English, ``DEFAULT_MAPPING``), and a YAML or JSON file (``--mapping``) can name others. A row
that cannot be read is reported with its file and row number; the rest is imported.

Every import is kept as history by the store (source, time, parser version, SHA-256, rows).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from patroli.storage.schema import REGISTER_KINDS
from patroli.text.agencies import agency_key, normalize_licence
from patroli.text.contacts import extract_emails
from patroli.text.phones import extract_phones
from patroli.text.places import COUNTRY_OF_NAME

PARSER_VERSION = "1"
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000

# Register field -> header names it may have (compared case- and punctuation-insensitively).
DEFAULT_MAPPING: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "nama",
        "nama perusahaan",
        "nama p3mi",
        "perusahaan",
        "company",
        "agency",
        "nama agensi",
    ),
    "licence_number": (
        "licence number",
        "license number",
        "licence",
        "license",
        "no izin",
        "nomor izin",
        "no sip3mi",
        "nomor sip3mi",
        "sip3mi",
        "izin",
        "no sk",
        "nomor sk",
    ),
    "valid_from": (
        "valid from",
        "berlaku dari",
        "berlaku mulai",
        "tanggal izin",
        "tgl izin",
        "tanggal terbit",
    ),
    "valid_until": (
        "valid until",
        "berlaku sampai",
        "berlaku hingga",
        "masa berlaku",
        "tanggal berakhir",
        "expiry",
        "expires",
    ),
    "status": ("status", "status izin", "keterangan status"),
    "office": ("office", "kantor", "jenis kantor", "tipe kantor", "pusat cabang"),
    "parent_licence": ("parent licence", "izin induk", "izin pusat", "no izin pusat"),
    "city": ("city", "kota", "kabupaten kota", "kab kota", "lokasi"),
    "address": ("address", "alamat", "alamat kantor"),
    "phones": (
        "phone",
        "phones",
        "telepon",
        "telp",
        "no telp",
        "nomor telepon",
        "hp",
        "whatsapp",
        "wa",
    ),
    "emails": ("email", "e mail", "surel", "emails"),
    "website": ("website", "situs", "web"),
    "sanction": ("sanction", "sanksi", "jenis sanksi"),
    "reason": ("reason", "alasan", "pelanggaran"),
    "country": ("country", "negara", "negara tujuan", "negara penempatan"),
    "position": ("position", "jabatan", "posisi", "pekerjaan"),
    "quota": ("quota", "kuota", "jumlah"),
    "job_order": ("job order", "nomor job order", "no job order", "jo"),
}
_HEADER_RE = re.compile(r"[^a-z0-9]+")


class RegisterFileError(ValueError):
    """The file cannot be imported at all; the message names the file and why."""


@dataclass(slots=True)
class ImportResult:
    meta: dict[str, Any]
    entries: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)  # "file:row: reason" for skipped rows


def _header(name: str) -> str:
    return _HEADER_RE.sub(" ", name.lower()).strip()


def load_mapping(path: Path | None) -> dict[str, tuple[str, ...]]:
    """The default mapping, with a file's entries (``field: [header, …]``) in front."""
    mapping = {k: tuple(_header(h) for h in v) for k, v in DEFAULT_MAPPING.items()}
    if path is None:
        return mapping
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise RegisterFileError(f"{path}: not UTF-8 text (byte {exc.start + 1})") from exc
    except (ValueError, yaml.YAMLError) as exc:  # JSON or YAML that does not parse
        raise RegisterFileError(f"{path}: not a readable mapping ({exc})") from exc
    except RecursionError as exc:
        raise RegisterFileError(f"{path}: nested too deeply") from exc
    if not isinstance(raw, dict):
        raise RegisterFileError(f"{path}: a mapping is `field: header` or `field: [headers]`")
    for key, value in raw.items():
        if key not in DEFAULT_MAPPING:
            raise RegisterFileError(
                f"{path}: unknown register field {key!r} (known: {', '.join(DEFAULT_MAPPING)})"
            )
        headers = [value] if isinstance(value, str) else list(value or [])
        mapping[key] = tuple(_header(str(h)) for h in headers) + mapping[key]
    return mapping


def _columns(headers: list[str], mapping: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    """Register field -> column: exact header names first, then headers that contain a name as
    whole words ("No. Izin (SIP3MI)" holds "no izin"), longer names before shorter ones."""
    normalized = [_header(h) for h in headers]
    columns: dict[str, int] = {}
    for field_name, names in mapping.items():
        for name in names:
            if name in normalized and normalized.index(name) not in columns.values():
                columns[field_name] = normalized.index(name)
                break
    candidates = sorted(
        ((len(name), field_name, name) for field_name, names in mapping.items() for name in names),
        reverse=True,
    )
    for _, field_name, name in candidates:
        if field_name in columns:
            continue
        for index, header in enumerate(normalized):
            if index not in columns.values() and f" {name} " in f" {header} ":
                columns[field_name] = index
                break
    return columns


def parse_date(value: Any) -> str:
    """A register date as ISO ``YYYY-MM-DD`` ("" when empty or unreadable)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value or "").strip()
    if not text:
        return ""
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text[:10], pattern).date().isoformat()
        except ValueError:
            continue
    import dateparser

    parsed = dateparser.parse(text, languages=["id", "en"], settings={"DATE_ORDER": "DMY"})
    return parsed.date().isoformat() if parsed else ""


def _country(value: str) -> str:
    text = value.strip()
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    return COUNTRY_OF_NAME.get(text.lower(), "")


def entry_from_row(kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """One register entry from a row's mapped values; raise ``ValueError`` naming what is missing."""
    name = str(row.get("name") or "").strip()
    licence = normalize_licence(str(row.get("licence_number") or ""))
    if kind in ("licences", "sanctions") and not (name or licence):
        raise ValueError("no agency name and no licence number")
    if kind == "job_orders" and not (name or licence):
        raise ValueError("no agency name and no licence number")
    office = str(row.get("office") or "").strip().lower()
    contacts = f"{row.get('phones') or ''}"
    entry: dict[str, Any] = {
        "name": name,
        "name_key": agency_key(name) if name else "",
        "licence_number": licence,
        "valid_from": parse_date(row.get("valid_from")),
        "valid_until": parse_date(row.get("valid_until")),
        "status": str(row.get("status") or "").strip().lower(),
        "office": "branch" if office.startswith(("cabang", "branch")) else "head",
        "parent_licence": normalize_licence(str(row.get("parent_licence") or "")),
        "city": str(row.get("city") or "").strip(),
        "address": str(row.get("address") or "").strip(),
        "phones": extract_phones(contacts),
        "emails": extract_emails(str(row.get("emails") or "")),
        "website": str(row.get("website") or "").strip().lower(),
    }
    if kind == "sanctions":
        entry["sanction"] = str(row.get("sanction") or row.get("status") or "").strip()
        entry["reason"] = str(row.get("reason") or "").strip()
    if kind == "job_orders":
        entry["country"] = _country(str(row.get("country") or ""))
        entry["position"] = str(row.get("position") or "").strip()
        entry["quota"] = str(row.get("quota") or "").strip()
        entry["job_order"] = str(row.get("job_order") or "").strip()
    return entry


def _table_rows(data: bytes, suffix: str, source: str) -> Iterable[list[Any]]:
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise RegisterFileError(f"{source}: not a readable XLSX workbook ({exc})") from exc
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield ["" if v is None else v for v in values]
        book.close()
        return
    text = data.decode("utf-8-sig", errors="replace")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def _html_rows(path: Path, data: bytes) -> Iterable[list[Any]]:
    """The list page's table (header row first), each row extended by its detail page's fields."""
    from parsel import Selector

    page = Selector(text=data.decode("utf-8", errors="replace"))
    table = page.css("table")
    if not table:
        raise RegisterFileError(f"{path}: no table in the HTML list")
    headers = [
        " ".join(th.css("::text").getall()).strip()
        for th in table[0].css("thead th, tr:first-child th")
    ]
    detail_headers: list[str] = []
    rows: list[tuple[list[str], dict[str, str]]] = []
    for tr in table[0].css("tbody tr") or table[0].css("tr")[1:]:
        cells = [" ".join(td.css("::text").getall()).strip() for td in tr.css("td")]
        details: dict[str, str] = {}
        link = tr.css("a::attr(href)").get()
        if link and not re.match(r"^[a-z]+:", link) and not link.startswith("/"):
            detail = (path.parent / link).resolve()
            if detail.is_file() and detail.is_relative_to(path.parent.resolve()):
                details = _detail_fields(detail.read_bytes())
        for label in details:
            if label not in detail_headers:
                detail_headers.append(label)
        rows.append((cells, details))
    yield headers + detail_headers
    for cells, details in rows:
        yield (
            cells
            + [""] * (len(headers) - len(cells))
            + [details.get(h, "") for h in detail_headers]
        )


def _detail_fields(data: bytes) -> dict[str, str]:
    """Label -> value pairs of a detail page (``dl`` or a two-column table)."""
    from parsel import Selector

    page = Selector(text=data.decode("utf-8", errors="replace"))
    found: dict[str, str] = {}
    for dt in page.css("dl dt"):
        label = " ".join(dt.css("::text").getall()).strip().rstrip(":")
        value = " ".join(dt.xpath("following-sibling::dd[1]//text()").getall()).strip()
        found[label] = value
    for tr in page.css("table tr"):
        cells = tr.css("th, td")
        if len(cells) == 2:
            label = " ".join(cells[0].css("::text").getall()).strip().rstrip(":")
            found.setdefault(label, " ".join(cells[1].css("::text").getall()).strip())
    return found


def read_register(
    path: Path,
    kind: str = "licences",
    *,
    mapping: Mapping[str, tuple[str, ...]] | None = None,
    source: str = "",
    published_at: str = "",
    note: str = "",
) -> ImportResult:
    """Read one register file (CSV, XLSX, or an HTML list with its detail pages beside it)."""
    if kind not in REGISTER_KINDS:
        raise RegisterFileError(f"kind must be one of {', '.join(REGISTER_KINDS)}, not {kind!r}")
    if not path.is_file():
        raise RegisterFileError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise RegisterFileError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        rows = iter(_html_rows(path, data))
    elif suffix in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm"):
        rows = iter(_table_rows(data, suffix, str(path)))
    else:
        raise RegisterFileError(f"{path}: import CSV, XLSX or an HTML list (.csv, .xlsx, .html)")
    headers = [str(h) for h in next(rows, [])]
    columns = _columns(headers, mapping or load_mapping(None))
    if "name" not in columns and "licence_number" not in columns:
        raise RegisterFileError(
            f"{path}: no column for the agency's name or licence number among {headers}; "
            "name them with --mapping"
        )
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, values in enumerate(rows, start=2):
        if number - 1 > MAX_ROWS:
            problems.append(f"{path}:{number}: more than {MAX_ROWS} rows; the rest is not read")
            break
        if not any(str(v).strip() for v in values):
            continue
        row = {f: values[i] for f, i in columns.items() if i < len(values)}
        try:
            entries.append(entry_from_row(kind, row))
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
    meta = {
        "kind": kind,
        "source": source or path.name,
        "imported_at": datetime.now(UTC).isoformat(),
        "parser_version": PARSER_VERSION,
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows": len(entries),
        "published_at": published_at,
        "note": note,
    }
    return ImportResult(meta, entries, problems)
