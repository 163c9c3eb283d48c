"""WARC evidence as sent: the writer rotates and survives a crash, the crawl archives every response
before decompression (a gzip page stays gzip, with its Content-Encoding), each ad version points
at its record, ``patroli evidence verify`` names a tampered file, retention keeps held ads."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from patroli.demosites.process import DemoSitesProcess
from patroli.evidence.archive import ArchiveIndex, check_file, read_record, warc_files
from patroli.evidence.records import Exchange, new_record_id
from patroli.evidence.retention import prune, pruned_files
from patroli.evidence.writer import OPEN_SUFFIX, WarcWriter, recover_open_files
from patroli.storage import open_store
from tests.helpers.cli import ROOT, crawl, run_patroli


def exchange(url: str, body: bytes, **headers: str) -> Exchange:
    response_headers = [("Content-Type", "text/html; charset=utf-8"), *headers.items()]
    return Exchange(
        url=url,
        method="GET",
        request_headers=[("Accept-Encoding", "gzip")],
        request_body=b"",
        status=200,
        protocol="HTTP/1.1",
        response_headers=[("Content-Length", str(len(body))), *response_headers],
        body=body,
        record_id=new_record_id(),
        ip_address="127.0.0.1",
    )


def test_writer_rotates_files_and_each_pointer_reads_back_its_record(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, "patroli-unit", max_bytes=4096, software="tests")
    pages = [os.urandom(1500) for _ in range(8)]  # incompressible: files fill up
    futures = [
        writer.submit(exchange(f"http://demo.test/p{i}", page)) for i, page in enumerate(pages)
    ]
    refs = [f.result(timeout=30) for f in futures]
    writer.close()
    assert len(writer.files) >= 3
    assert len({r.file for r in refs}) == len(writer.files)
    assert not list(tmp_path.rglob("*" + OPEN_SUFFIX)), "closed files are renamed"
    for i, (ref, page) in enumerate(zip(refs, pages, strict=True)):
        record = read_record(tmp_path, ref.file, ref.offset)
        assert (record.uri, record.record_id, record.raw_payload) == (
            f"http://demo.test/p{i}",
            ref.record_id,
            page,
        )
        assert record.digest_ok
        assert ref.digest == record.claimed_digest
    assert all(not check_file(p, p.name).problems for p in warc_files(tmp_path))
    index = ArchiveIndex(tmp_path)
    entry = index.lookup("http://demo.test/p3")
    assert entry is not None
    assert (entry.file, entry.offset) == (refs[3].file, refs[3].offset)


CRASHING_WRITER = """
import gzip, json, sys, time
from pathlib import Path
from tests.test_warc import exchange
from patroli.evidence.writer import WarcWriter
writer = WarcWriter(Path(sys.argv[1]), "patroli-crash", max_bytes=10**9, software="tests")
refs = [writer.submit(exchange(f"http://demo.test/{i}", b"<p>iklan %d</p>" % i)).result(timeout=30)
        for i in range(3)]
# The next record is only half written when the process dies.
writer._file.write(gzip.compress(b"WARC/1.1\\r\\nWARC-Type: response\\r\\nContent-Length: 900\\r\\n\\r\\n")[:40])
writer._file.flush()
print(json.dumps([r.as_dict() for r in refs]), flush=True)
time.sleep(600)
"""


def test_a_writer_killed_mid_record_leaves_no_corrupt_file(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        refs = json.loads(child.stdout.readline())
        opened = list(tmp_path.rglob("*" + OPEN_SUFFIX))
        assert len(opened) == 1
        assert recover_open_files(tmp_path) == []  # a live writer's file is never touched
    finally:
        child.kill()  # SIGKILL: no close, no rename, the lock dies with the process
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    recovered = recover_open_files(tmp_path)
    assert recovered == [refs[0]["file"]]
    final = tmp_path / refs[0]["file"]
    assert final.exists()
    assert not opened[0].exists()
    check = check_file(final, final.name)
    assert check.problems == []
    assert check.records == 1 + 2 * 3  # warcinfo, then a response and a request per exchange
    payloads = [read_record(tmp_path, r["file"], r["offset"]).payload for r in refs]
    assert payloads == [b"<p>iklan %d</p>" % i for i in range(3)]
    index = final.with_name(final.name + ".index.jsonl").read_text().splitlines()
    assert [json.loads(line)["offset"] for line in index] == [r["offset"] for r in refs]


def test_retention_keeps_held_files_and_logs_what_it_deletes(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, "patroli-old", max_bytes=2000, software="tests")
    refs = [
        writer.submit(exchange(f"http://demo.test/{i}", os.urandom(1500))).result(timeout=30)
        for i in range(3)
    ]
    writer.close()
    files = sorted({r.file for r in refs})
    assert len(files) == 3
    old = time.time() - 40 * 86400
    for name in files[:2]:
        os.utime(tmp_path / name, (old, old))
    assert prune(tmp_path, 0, []).deleted == []  # 0 days: keep everything
    report = prune(tmp_path, 30, [files[1]])
    assert report.deleted == [files[0]]
    assert report.kept_held == [files[1]]
    assert not (tmp_path / files[0]).exists()
    assert (tmp_path / files[1]).exists()
    assert (tmp_path / files[2]).exists()
    assert pruned_files(tmp_path) == {files[0]}


@pytest.mark.crawl
def test_the_crawl_archives_every_response_as_sent_and_verify_names_a_tampered_file(
    demo_sites: DemoSitesProcess, tmp_path: Path
) -> None:
    evidence = tmp_path / "evidence"
    store_url = f"sqlite:///{tmp_path / 'p.db'}"
    result, runs = crawl(
        demo_sites.url,
        store_url,
        "demo_kerjanusa",
        "demo_fb_group",
        env={"PATROLI_EVIDENCE_DIR": str(evidence)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    files = warc_files(evidence)
    assert {p.name.split("-2")[0] for p in files} == {
        "patroli-demo_kerjanusa",
        "patroli-demo_fb_group",
    }
    records = []
    for path in files:
        for record in ArchiveIterator(io.BytesIO(path.read_bytes())):
            if record.rec_type == "response":
                records.append(
                    (
                        record.rec_headers.get_header("WARC-Target-URI"),
                        dict(record.http_headers.headers),
                        record.raw_stream.read(),
                    )
                )
    by_url = {url: (headers, body) for url, headers, body in records}
    # robots.txt, listings, sitemaps, the feed and every job page: every response is archived.
    assert f"{demo_sites.url}/robots.txt" in by_url
    assert any("/kerjanusa/lowongan/" in url for url in by_url)
    assert any("/rss-bridge/" in url for url in by_url)
    job_url = next(url for url in by_url if "/kerjanusa/lowongan/j" in url)
    headers, body = by_url[job_url]
    # As sent: gzip-encoded, with the Content-Encoding header and the weak ETag of the server.
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Etag"].startswith('W/"')
    assert body[:2] == b"\x1f\x8b"
    assert b"JobPosting" in gzip.decompress(body)
    with open_store(store_url) as store:
        ads = store.search("source:demo_kerjanusa", limit=500).hits
        assert ads
        for hit in ads[:20]:
            version = store.get_ad(hit["ad_id"], with_evidence=True)["evidence"][-1]
            record = read_record(evidence, version["warc_file"], version["warc_offset"])
            assert (record.record_id, record.claimed_digest) == (
                version["warc_record_id"],
                version["warc_digest"],
            )
            assert record.uri == hit["url"]
            assert record.header("Content-Encoding") == "gzip"
            assert record.digest_ok
            assert hit["title"].split()[0].encode() in record.payload  # decoded for readers
        checked_ad = ads[0]["ad_id"]
    ok = run_patroli(
        "evidence",
        "verify",
        "--evidence-dir",
        str(evidence),
        "--ad",
        checked_ad,
        "--store",
        store_url,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all digests match" in ok.stdout
    # One byte flipped inside a record's compressed data: the file is named, and the ad's pointer.
    target = files[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    bad = run_patroli("evidence", "verify", "--evidence-dir", str(evidence), "--json")
    assert bad.returncode == 4
    problems = json.loads(bad.stdout)["problems"]
    assert problems
    assert all(target.name in p for p in problems)
    assert runs
    assert all(run["status"] == "ok" for run in runs)
    assert datetime.now(UTC).year >= 2026
