"""One HTTP exchange as WARC records (ISO 28500, WARC/1.1), built with warcio.

``Exchange`` is what the crawl saw on the wire: the request as the downloader sent it and the
response as the server sent it, body still in its ``Content-Encoding`` (gzip stays gzip). Scrapy
hands both over with header names in its canonical capitalisation and the body already de-chunked,
so a ``Transfer-Encoding: chunked`` header is recorded as ``X-Patroli-Transfer-Encoding`` (the
payload is not chunked any more; a reader must not de-chunk it). Nothing else is changed.

Each record carries ``WARC-Payload-Digest`` and ``WARC-Block-Digest`` as ``sha256:<hex>`` (the hex
form ``sha256sum`` prints; warcio's checker and ours both verify it), and each is its own gzip
member, so a record can be read from its offset alone.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus

from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WARC_VERSION = "1.1"
Headers = Sequence[tuple[str, str]]


@dataclass(slots=True)
class Exchange:
    """A request and its response as exchanged; ``record_id`` is the response record's id."""

    url: str
    method: str
    request_headers: Headers
    request_body: bytes
    status: int
    protocol: str
    response_headers: Headers
    body: bytes
    record_id: str
    ip_address: str = ""
    date: datetime = field(default_factory=lambda: datetime.now(UTC))
    truncated: bool = False


def sha256_label(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def warc_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _request_target(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _as_sent(headers: Headers) -> list[tuple[str, str]]:
    return [
        ("X-Patroli-Transfer-Encoding", v) if k.lower() == "transfer-encoding" else (k, v)
        for k, v in headers
    ]


def _http_block(status_line: str, protocol: str, headers: Headers) -> StatusAndHeaders:
    http = StatusAndHeaders(status_line, list(headers), protocol=protocol)
    http.compute_headers_buffer()
    return http


def _bytes_of(record: object) -> bytes:
    """One record, gzipped on its own (warcio's BufferWARCWriter would leave a temp file open)."""
    buffer = io.BytesIO()
    WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION).write_record(record)
    return buffer.getvalue()


def _record(
    builder: RecordBuilder,
    uri: str,
    record_type: str,
    http: StatusAndHeaders,
    payload: bytes,
    warc_headers: dict[str, str],
) -> bytes:
    """One gzipped record with both SHA-256 digests set before warcio would compute SHA-1 ones."""
    assert http.headers_buff is not None  # noqa: S101 - compute_headers_buffer above
    warc_headers = {
        **warc_headers,
        "WARC-Payload-Digest": sha256_label(payload),
        "WARC-Block-Digest": sha256_label(http.headers_buff + payload),
    }
    record = builder.create_warc_record(
        uri,
        record_type,
        payload=io.BytesIO(payload),
        length=len(payload),
        warc_headers_dict=warc_headers,
        http_headers=http,
    )
    return _bytes_of(record)


@dataclass(frozen=True, slots=True)
class ExchangeRecords:
    response: bytes
    request: bytes
    payload_digest: str


def exchange_records(exchange: Exchange) -> ExchangeRecords:
    """The response record and the request record (``WARC-Concurrent-To`` the response)."""
    builder = RecordBuilder(warc_version=WARC_VERSION)
    date = warc_date(exchange.date)
    try:
        reason = HTTPStatus(exchange.status).phrase
    except ValueError:
        reason = ""
    response_headers = {"WARC-Record-ID": exchange.record_id, "WARC-Date": date}
    if exchange.ip_address:
        response_headers["WARC-IP-Address"] = exchange.ip_address
    if exchange.truncated:
        response_headers["WARC-Truncated"] = "unspecified"
    response = _record(
        builder,
        exchange.url,
        "response",
        _http_block(
            f"{exchange.status} {reason}".strip(),
            exchange.protocol or "HTTP/1.1",
            _as_sent(exchange.response_headers),
        ),
        exchange.body,
        response_headers,
    )
    request = _record(
        builder,
        exchange.url,
        "request",
        _http_block(
            f"{exchange.method} {_request_target(exchange.url)} {exchange.protocol or 'HTTP/1.1'}",
            "",
            exchange.request_headers,
        ),
        exchange.request_body,
        {
            "WARC-Record-ID": RecordBuilder._make_warc_id(),
            "WARC-Date": date,
            "WARC-Concurrent-To": exchange.record_id,
        },
    )
    return ExchangeRecords(response, request, sha256_label(exchange.body))


def warcinfo_record(filename: str, software: str) -> bytes:
    """The first record of every file: what wrote it and in which format."""
    builder = RecordBuilder(warc_version=WARC_VERSION)
    record = builder.create_warcinfo_record(
        filename,
        {
            "software": software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
            "warc-format/warc-1.1/",
            "description": "patroli crawl: every response as sent, SHA-256 payload digests",
        },
    )
    return _bytes_of(record)


def new_record_id() -> str:
    return str(RecordBuilder._make_warc_id())
