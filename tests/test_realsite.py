"""The replay server for saved real pages: serves by exact target, 404 otherwise, rewrites only the copy.

These tests use small team-written files in a temporary folder (no real page is needed to prove the
server); the real corpus itself is checked against its manifest by ``corpus_problems``.
"""

from __future__ import annotations

import hashlib
import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers.realsite import Route, corpus_problems, read_manifest, rewrite, serve

PAGE = (
    b'<html><body><a href="https://t.me/s/loker_demo?before=10">more</a>'
    b"<img src=\"//t.me/i/userpic.jpg\"> <a href='https://t.me/loker_demo/9'>post</a>"
    b'<a href="https://example.org/x">elsewhere</a> https://t.me.example.org/ stays</body></html>'
)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """One plain GET that does not follow redirects (so a test sees the 3xx itself)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "channel.html"
    path.write_bytes(PAGE)
    return path


def test_serves_saved_file_by_exact_target_with_origins_rewritten(saved: Path) -> None:
    routes = [Route("/s/loker_demo", saved)]
    with serve(routes, origins=["https://t.me"]) as site:
        status, headers, body = get(site.url("/s/loker_demo"))
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert f'href="{site.base_url}/s/loker_demo?before=10"'.encode() in body
    assert f'src="{site.base_url}/i/userpic.jpg"'.encode() in body
    assert f"href='{site.base_url}/loker_demo/9'".encode() in body
    assert b'href="https://example.org/x"' in body  # other hosts are left alone
    assert b"https://t.me.example.org/ stays" in body  # only the origin, not a look-alike host
    assert b"https://t.me/" not in body.replace(b"https://t.me.example.org", b"")
    assert saved.read_bytes() == PAGE  # the saved page itself is never changed


def test_unknown_targets_and_other_queries_are_404(saved: Path) -> None:
    with serve([Route("/s/loker_demo", saved)]) as site:
        assert get(site.url("/s/other"))[0] == 404
        assert get(site.url("/s/loker_demo?before=5"))[0] == 404
        assert site.requests == ["/s/other", "/s/loker_demo?before=5"]


def test_query_routes_redirects_and_error_statuses(saved: Path, tmp_path: Path) -> None:
    error_page = tmp_path / "busy.html"
    error_page.write_bytes(b"<html><body>Too many requests</body></html>")
    routes = [
        Route("/s/loker_demo?before=10", saved),
        Route("/s/private_group", status=302, location="/private_group"),
        Route("/busy", error_page, status=429, headers=(("Retry-After", "30"),)),
    ]
    with serve(routes, origins=["https://t.me"]) as site:
        assert get(site.url("/s/loker_demo?before=10"))[0] == 200
        status, headers, _ = get(site.url("/s/private_group"))
        assert (status, headers["Location"]) == (302, site.url("/private_group"))
        status, headers, body = get(site.url("/busy"))
        assert (status, headers["Retry-After"], body) == (429, "30", error_page.read_bytes())


def test_binary_and_unlisted_types_are_served_untouched(tmp_path: Path) -> None:
    blob = tmp_path / "photo.jpg"
    blob.write_bytes(b"\xff\xd8https://t.me/\x00")
    with serve([Route("/photo.jpg", blob, content_type="image/jpeg")], ["https://t.me"]) as site:
        assert get(site.url("/photo.jpg"))[2] == blob.read_bytes()


def test_rewrite_handles_every_listed_origin() -> None:
    body = b'<a href="https://www.olx.co.id/item/x">a</a><a href="https://t.me/y">b</a>'
    out = rewrite(body, ["https://www.olx.co.id", "https://t.me/"], "http://127.0.0.1:9")
    assert out == b'<a href="http://127.0.0.1:9/item/x">a</a><a href="http://127.0.0.1:9/y">b</a>'


def test_manifest_check_reports_missing_and_changed_files(tmp_path: Path) -> None:
    good, changed = b"<rss/>", b"<html/>"
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "good.xml").write_bytes(good)
    (tmp_path / "feeds" / "changed.html").write_bytes(changed + b" ")
    header = "file\tplatform\tkind\trepo\tsha256\tsize"
    rows = [
        f"feeds/good.xml\tfeeds\tRSS\tx/y\t{hashlib.sha256(good).hexdigest()}\t{len(good)}",
        f"feeds/changed.html\tfeeds\tpage\tx/y\t{hashlib.sha256(changed).hexdigest()}\t{len(changed)}",
        f"feeds/gone.xml\tfeeds\tRSS\tx/y\t{hashlib.sha256(good).hexdigest()}\t{len(good)}",
    ]
    (tmp_path / "MANIFEST.tsv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert [row.file for row in read_manifest(tmp_path)] == [
        "feeds/good.xml",
        "feeds/changed.html",
        "feeds/gone.xml",
    ]
    assert corpus_problems(tmp_path) == [
        "feeds/changed.html: differs from the manifest (size or sha256)",
        "feeds/gone.xml: missing",
    ]
