"""What only the search-engine stores do, against real OpenSearch and Elasticsearch nodes: engine
detection and credentials, the index design, rejected documents, retries through a write block,
migration by copy + alias swap while analysts keep reviewing, and an outage in the middle of bulk
indexing that the spool rides out. Plus: the same data gives the same answers on all three backends.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from patroli.storage import Store, StoreUnavailable, open_store
from patroli.storage.engine import EngineStore
from patroli.storage.spool import Spool, SpoolingWriter
from tests.helpers.cli import run_patroli
from tests.helpers.engines import open_engine_store
from tests.helpers.records import record

ENGINES = ["opensearch", "elasticsearch"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, engines: dict[str, Any]) -> Any:
    return engines[request.param]


@pytest.fixture
def engine_store(engine: Any) -> Iterator[EngineStore]:
    store = open_engine_store(engine)
    yield store
    store.close()
    engine.drop_prefix(store.names.prefix)


def ads(n: int, prefix: str = "b", **overrides: Any) -> list[dict[str, Any]]:
    return [
        record(
            f"{prefix}{i:05d}",
            native_id=f"{prefix}{i:05d}",
            text=f"iklan kerja nomor {i}",
            risk=round((i % 10) / 10, 2),
            content_hash=f"h{i}",
            **overrides,
        )
        for i in range(n)
    ]


# --- connecting ----------------------------------------------------------------------------


def test_engine_is_detected_from_a_plain_http_url(engine: Any) -> None:
    url = f"{engine.url}?prefix=tdetect{engine.family[:2]}"
    with open_store(url, env=engine.client_env) as store:
        assert isinstance(store, EngineStore)
        assert store.family == engine.family
        assert store.client.info.major == (2 if engine.family == "opensearch" else 9)
    engine.drop_prefix(f"tdetect{engine.family[:2]}")


def test_naming_the_wrong_engine_is_refused(engine: Any) -> None:
    other = "elasticsearch" if engine.family == "opensearch" else "opensearch"
    with pytest.raises(StoreUnavailable, match=f"is {engine.family}"):
        open_store(f"{other}+{engine.url}?prefix=twrong", env=engine.client_env)


def test_credentials_come_from_the_environment_and_are_never_shown(
    engines: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    es = engines["elasticsearch"]
    with pytest.raises(StoreUnavailable, match="credentials in the store URL are refused"):
        open_store(f"http://patroli:{es.password}@127.0.0.1:{es.port}")
    wrong = {**es.client_env, "PATROLI_ENGINE_PASSWORD": "not-the-password-123"}
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreUnavailable, match="refused the credentials") as failure:
        open_store(es.url, env=wrong)
    assert "not-the-password-123" not in str(failure.value)
    assert "not-the-password-123" not in caplog.text
    no_credentials = {k: v for k, v in es.client_env.items() if not k.startswith("PATROLI_ENGINE")}
    with pytest.raises(StoreUnavailable):
        open_store(es.url, env=no_credentials)


def test_unreachable_engine_is_unavailable_not_a_crash() -> None:
    from tests.helpers.engines import free_port

    with pytest.raises(StoreUnavailable, match="unreachable"):
        open_store(f"http://127.0.0.1:{free_port()}")


# --- index design --------------------------------------------------------------------------


def test_versioned_index_behind_alias_with_template_and_analyzer(engine_store: EngineStore) -> None:
    prefix = engine_store.names.prefix
    client = engine_store.client
    assert client.request("GET", f"/_alias/{prefix}-ads") == {
        f"{prefix}-ads-v1": {"aliases": {f"{prefix}-ads": {}}}
    }
    template = client.request("GET", f"/_index_template/{prefix}-ads")["index_templates"][0]
    assert template["index_template"]["index_patterns"] == [f"{prefix}-ads-v*"]
    mapping = client.request("GET", f"/{prefix}-ads-v1/_mapping")[f"{prefix}-ads-v1"]["mappings"]
    props = mapping["properties"]
    for name in ("phones", "telegram", "countries", "source", "status", "model_version"):
        assert props[name]["type"] == "keyword", name
    assert props["risk"]["type"] == "float"
    assert props["first_seen"]["type"] == "date"
    assert props["text"]["analyzer"] == "patroli_text"
    status = {row["kind"]: row for row in engine_store.index_status()}
    # OpenSearch has the Indonesian analyzer; the stripped Elasticsearch build has no
    # analysis-common module, so the documented fallback applies there.
    expected = "indonesian" if engine_store.family == "opensearch" else "standard"
    assert status["ads"]["analyzer"] == expected
    assert status["ads"]["up_to_date"] is True
    # Raw evidence is stored but not indexed.
    evidence = client.request("GET", f"/{prefix}-evidence-v1/_mapping")[f"{prefix}-evidence-v1"]
    assert evidence["mappings"]["properties"]["html"] == {"type": "object", "enabled": False}


def test_indonesian_stemming_where_the_engine_has_it(engine_store: EngineStore) -> None:
    engine_store.upsert_ads([record("a1", text="Dibutuhkan pekerja pabrik di Taiwan")])
    found = {h["ad_id"] for h in engine_store.search("kerja").hits}
    assert found == ({"a1"} if engine_store.family == "opensearch" else set())


# --- writes --------------------------------------------------------------------------------


def test_rejected_documents_are_counted_and_logged_by_id(
    engine_store: EngineStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="patroli.storage.engine")
    result = engine_store.upsert_ads(
        [record("good1"), record("bad1", risk="sangat tinggi"), record("good2")]
    )
    assert (result.new, result.failed, result.failed_ids) == (2, 1, ["bad1"])
    assert "ad bad1 rejected" in caplog.text
    assert engine_store.count() == 2


def test_large_batches_are_split_into_bounded_requests(engine: Any) -> None:
    store = open_engine_store(engine)
    try:
        store.conn.max_bytes = 64 * 1024  # a few ads per request
        big = [
            record(f"c{i:03d}", html="<p>" + "x" * 20_000 + "</p>", content_hash=f"h{i}")
            for i in range(30)
        ]
        result = store.upsert_ads(big)
        assert (result.new, result.failed) == (30, 0)
        assert len(store.get_ad("c007", with_evidence=True)["evidence"][0]["html"]) == 20_007
    finally:
        store.close()
        engine.drop_prefix(store.names.prefix)


def test_writes_wait_out_a_write_block_and_retry(engine_store: EngineStore) -> None:
    engine_store.upsert_ads([record("a1")])
    index = f"{engine_store.names.prefix}-ads-v1"
    engine_store.client.request("PUT", f"/{index}/_settings", body={"index.blocks.write": True})
    unblock = threading.Timer(
        2.0,
        engine_store.client.request,
        ("PUT", f"/{index}/_settings"),
        {"body": {"index.blocks.write": None}},
    )
    unblock.start()
    started = time.monotonic()
    result = engine_store.upsert_ads([record("a2"), record("a1", text="teks baru")])
    unblock.join()
    assert time.monotonic() - started >= 1.5
    assert (result.new, result.updated, result.failed) == (1, 1, 0)
    assert engine_store.get_ad("a1")["text"] == "teks baru"


# --- migration -----------------------------------------------------------------------------


def test_migration_swaps_the_alias_without_losing_a_review(engine_store: EngineStore) -> None:
    store = engine_store
    prefix = store.names.prefix
    store.upsert_ads(ads(3000))
    store.review("b00000", "escalated", reviewer="analis0", note="sebelum migrasi")
    reports: list[Any] = []
    migration = threading.Thread(
        target=lambda: reports.append(
            store.migrate(force=True, page_size=200, kinds=("ads", "reviews"))
        )
    )
    migration.start()
    reviewed_during: list[str] = []
    i = 1
    while migration.is_alive() or i < 5:
        ad_id = f"b{i:05d}"
        store.review(ad_id, "confirmed", reviewer="analis1", note=f"saat migrasi {i}")
        if migration.is_alive():
            reviewed_during.append(ad_id)
        i += 1
    migration.join()
    assert reviewed_during, "no review happened while the migration ran"
    assert [r["action"] for r in reports[0]] == ["migrated", "migrated"]
    assert store.client.request("GET", f"/_alias/{prefix}-ads") == {
        f"{prefix}-ads-v2": {"aliases": {f"{prefix}-ads": {}}}
    }
    assert store.count() == 3000
    assert store.get_ad("b00000")["status"] == "escalated"
    for n in range(1, i):
        ad = store.get_ad(f"b{n:05d}")
        assert (ad["status"], ad["version"], ad["review_note"]) == (
            "confirmed",
            2,
            f"saat migrasi {n}",
        )
        assert [r["decision"] for r in store.review_history(f"b{n:05d}")] == ["confirmed"]
    assert store.count("status:confirmed") == i - 1
    # The old version stays, read-only, as a fallback.
    old = store.client.request("GET", f"/{prefix}-ads-v1/_settings")[f"{prefix}-ads-v1"]
    assert old["settings"]["index"]["blocks"]["write"] == "true"
    # A later migration with nothing changed leaves everything where it is.
    again = store.migrate()
    assert {r["action"] for r in again} == {"up to date", "created"}


def test_index_commands(engines: dict[str, Any]) -> None:
    engine = engines["opensearch"]
    store = open_engine_store(engine)
    url = store.url
    store.upsert_ads([record("a1"), record("a2")])
    store.close()
    try:
        status = run_patroli("index", "status", "--store", url, "--json")
        assert status.returncode == 0, status.stderr
        assert '"patroli_text"' not in status.stdout
        assert '"analyzer": "indonesian"' in status.stdout
        migrated = run_patroli("index", "migrate", "--force", "--delete-old", "--store", url)
        assert migrated.returncode == 0, migrated.stderr
        assert "ads: migrated" in migrated.stdout
        assert "old index deleted" in migrated.stdout
        found = run_patroli("search", "kamboja", "--store", url, "--json")
        assert found.returncode == 0, found.stderr
        assert '"total": 2' in found.stdout
        sqlite = run_patroli("index", "status", "--store", "sqlite:////tmp/none-such.db")
        assert sqlite.returncode != 0
        assert "not a search engine" in sqlite.stderr
    finally:
        engine.drop_prefix(url.split("prefix=")[1])


# --- outage --------------------------------------------------------------------------------


def test_outage_mid_bulk_spools_and_every_ad_arrives_once(engine: Any, tmp_path: Path) -> None:
    store = open_engine_store(engine)
    prefix = store.names.prefix
    spool = Spool(tmp_path / "spool", store.url)
    writer = SpoolingWriter(store, spool, retry_seconds=1.0)
    batches = [ads(100, prefix=f"o{b:02d}-") for b in range(30)]
    # The same ads again with newer content while the engine is down: the spool keeps the order.
    batches.append(ads(100, prefix="o05-", title="versi baru"))
    written_before = 0
    spooled = 0
    killed = threading.Event()

    def kill_after(n_ads: int) -> None:
        while written_before < n_ads:
            time.sleep(0.01)
        engine.kill()  # SIGKILL while bulk requests are in flight
        killed.set()

    killer = threading.Thread(target=kill_after, args=(800,))
    killer.start()
    try:
        for batch in batches:
            outcome = writer.write(batch)
            written_before += outcome.written.new + outcome.written.updated
            spooled += outcome.spooled
        killer.join()
        assert killed.is_set()
        assert spooled > 0, "the engine went down but nothing was spooled"
        assert written_before >= 800
        assert spool.pending_ads() == spooled
        engine.start()  # the engine comes back, with its data
        time.sleep(1.0)  # past retry_seconds
        final = writer.write(ads(10, prefix="z"))  # replays the spool first, then this batch
        assert final.replayed == spooled
        assert spool.batches() == []
        assert store.count() == 30 * 100 + 10
        for b in range(30):
            assert store.count(f"id:o{b:02d}-00042") == 1
        assert store.get_ad("o05-00001")["title"] == "versi baru"
        assert {h["title"] for h in store.search("source:demo_telegram", limit=3000).hits} == {
            "Loker admin Kamboja",
            "versi baru",
        }
    finally:
        if engine.process.poll() is not None:
            engine.start()
        store.close()
        engine.drop_prefix(prefix)


def test_spooled_batches_are_replayed_at_the_next_start(engine: Any, tmp_path: Path) -> None:
    prefix = f"tspool{engine.family[:2]}"
    url = f"{engine.family}+{engine.url}?prefix={prefix}"
    spool = Spool(tmp_path / "spool", url)
    spool.append(ads(50, prefix="s1-"))  # left behind by a crawl that ended during an outage
    spool.append(ads(50, prefix="s1-", title="versi kedua"))
    store = open_store(url, env=engine.client_env)
    try:
        drained = SpoolingWriter(store, spool).drain()
        assert (drained.replayed, drained.written.new, drained.written.updated) == (100, 50, 50)
        assert store.count() == 50
        assert store.get_ad("s1-00049")["title"] == "versi kedua"
        assert spool.batches() == []
    finally:
        store.close()
        engine.drop_prefix(prefix)


# --- one syntax, one answer ----------------------------------------------------------------

QUERIES = [
    "",
    "kamboja",
    '"visa ziarah"',
    "admin -kamboja",
    "phone:0812-5551-2345",
    "phone:+6281355570112",
    "handle:@rekrut_kh",
    "country:SA",
    "country:KH country:MY",
    "-country:KH",
    "source:demo_feed",
    "status:confirmed",
    "status:new flagged:true",
    "risk>=0.8",
    "risk<0.3",
    "posted>=2026-11-10",
    "posted<2026-11-05 risk>0.5",
    "kind:feed",
    "flagged:false -status:dismissed",
    "gaji country:MY",
]


def _corpus() -> list[dict[str, Any]]:
    texts = [
        (
            "Loker admin Kamboja",
            "Dicari admin CS di Phnom Penh, gaji 1.500 USD, tiket gratis",
            ["KH"],
        ),
        ("PRT Arab", "PRT ke Riyadh pakai visa ziarah, tanpa biaya", ["SA"]),
        ("Operator Malaysia", "Operator produksi kilang di Johor, gaji RM 1.800", ["MY"]),
        ("Kasir Bandung", "Kasir minimarket Bandung, gaji UMR", []),
        ("Admin online", "Admin toko online kerja dari rumah", []),
    ]
    corpus = []
    for i in range(60):
        title, text, countries = texts[i % 5]
        corpus.append(
            record(
                f"q{i:03d}",
                title=title,
                text=f"{text} (no {i})",
                countries=countries,
                source=("demo_telegram", "demo_feed", "demo_classifieds")[i % 3],
                source_kind=("telegram_channel", "feed", "classifieds")[i % 3],
                phones=["+6281255512345"] if i % 4 == 0 else ["+6281355570112"],
                telegram=["@rekrut_kh"] if i % 6 == 0 else [],
                risk=round((i * 37 % 100) / 100, 2),
                flagged=(i * 37 % 100) >= 50,
                posted_at=f"2026-11-{1 + i % 20:02d}T08:00:00+00:00",
                content_hash=f"h{i}",
            )
        )
    return corpus


def test_the_same_data_gives_the_same_answers_on_every_backend(
    engines: dict[str, Any], store_url: str
) -> None:
    stores: dict[str, Store] = {"sqlite": open_store(store_url)}
    stores |= {family: open_engine_store(engines[family]) for family in ENGINES}
    try:
        for store in stores.values():
            store.upsert_ads(_corpus())
            store.review("q003", "confirmed", reviewer="x")
            store.review("q008", "dismissed", reviewer="x")
        answers: dict[str, dict[str, Any]] = {}
        for name, store in stores.items():
            answers[name] = {}
            for query in QUERIES:
                result = store.search(query, limit=100, facets=True)
                answers[name][query] = (
                    result.total,
                    sorted(h["ad_id"] for h in result.hits),
                    result.facets,
                )
            answers[name]["risk order"] = [
                h["ad_id"] for h in store.search("", sort="risk", limit=100).hits
            ]
            answers[name]["date order"] = [
                h["ad_id"] for h in store.search("", sort="date", limit=100).hits
            ]
            answers[name]["uncertain"] = [
                h["ad_id"] for h in store.search("", sort="uncertainty", limit=100).hits
            ]
            stats = store.stats(days=3650)
            stats["backlog"].pop("median_age_days")
            answers[name]["stats"] = stats
            answers[name]["related"] = [
                (r["ad_id"], r["via"])
                for r in store.related("q000", limit=10)
                if r["via"] != ["text"]
            ]
        for query in QUERIES:
            assert answers["sqlite"][query][0] > 0 or query in ("posted<2026-11-05 risk>0.5",), (
                query
            )
        assert answers["opensearch"] == answers["sqlite"]
        assert answers["elasticsearch"] == answers["sqlite"]
    finally:
        for name, store in stores.items():
            store.close()
            if name != "sqlite":
                engines[name].drop_prefix(store.names.prefix)  # type: ignore[attr-defined]


def test_related_command_names_what_is_shared(engines: dict[str, Any]) -> None:
    engine = engines["opensearch"]
    store = open_engine_store(engine)
    store.upsert_ads(
        [
            record("a1"),
            record("a2", telegram=[], text="operator Myawaddy"),
            record("a3", phones=[], telegram=[], title="Kasir", text="kasir Bandung"),
        ]
    )
    store.close()
    try:
        result = run_patroli("related", "a1", "--json", "--store", store.url)
        assert result.returncode == 0, result.stderr
        assert '"id": "a2", "via": ["phone:+6281255512345"]' in result.stdout
        assert '"a3"' not in result.stdout
        missing = run_patroli("related", "nope", "--store", store.url)
        assert missing.returncode == 1
        assert "no ad with id nope" in missing.stderr
    finally:
        engine.drop_prefix(store.names.prefix)


@pytest.mark.crawl
def test_a_patrol_into_each_engine_stores_every_ad_once(
    engine: Any, demo_sites: Any, tmp_path: Path
) -> None:
    from collections import Counter

    from tests.helpers.cli import crawl
    from tests.helpers.demotruth import truth

    url = f"{engine.family}+{engine.url}?prefix=tcrawl{engine.family[:2]}"
    try:
        result, runs = crawl(
            demo_sites.url,
            url,
            "demo_pasarloka",
            "demo_telegram",
            env=engine.client_env,
            summary=tmp_path / "summary.json",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        expected = Counter(
            r["source"]
            for r in truth().values()
            if r["source"] in ("demo_pasarloka", "demo_telegram")
        )
        assert {run["source"]: run["new"] for run in runs} == dict(expected)
        with open_store(url, env=engine.client_env) as store:
            assert store.count() == sum(expected.values())
            hit = store.search("kamboja", limit=1).hits[0]
            assert store.get_ad(hit["ad_id"], with_evidence=True)["evidence"][0]["html"]
        again, runs = crawl(
            demo_sites.url,
            url,
            "demo_pasarloka",
            "demo_telegram",
            env=engine.client_env,
            summary=tmp_path / "summary2.json",
        )
        assert again.returncode == 0, again.stderr[-3000:]
        with open_store(url, env=engine.client_env) as store:
            assert store.count() == sum(expected.values())
    finally:
        engine.drop_prefix(f"tcrawl{engine.family[:2]}")


def test_an_index_from_before_the_language_gate_is_migrated(engine: Any) -> None:
    """An ads index made before ``risky``, ``genre`` and ``lang`` existed is seen as out of date;
    ``migrate`` moves it to the next version with the new mapping and keeps its ads."""
    from patroli.storage.engine.indices import detect_analyzer, index_body, put_template

    store = open_engine_store(engine)
    prefix = store.names.prefix
    try:
        client, names = store.client, store.names
        body = index_body("ads", detect_analyzer(client))
        for name in ("risky", "genre", "lang"):
            del body["mappings"]["properties"][name]
        body["mappings"]["_meta"]["patroli"]["schema"] = "before-the-language-gate"
        client.request("DELETE", f"/{names.index('ads', 1)}")
        put_template(client, names, "ads", body)
        client.request(
            "PUT", f"/{names.index('ads', 1)}", body={"aliases": {names.alias("ads"): {}}}
        )
        # An ad as the previous version wrote it: none of the three fields.
        old = {k: v for k, v in record("old1").items() if k in body["mappings"]["properties"]}
        old.update(
            first_seen=old["crawled_at"], last_seen=old["crawled_at"], status="new", version=1
        )
        client.request(
            "PUT", f"/{names.alias('ads')}/_doc/old1", body=old, params={"refresh": "true"}
        )
        assert not {row["kind"]: row for row in store.index_status()}["ads"]["up_to_date"]
        report = {row["kind"]: row for row in store.migrate(kinds=("ads",))}
        assert report["ads"]["action"] == "migrated"
        assert report["ads"]["index"] == names.index("ads", 2)
        store.upsert_ads([record("new1", genre="report", risky=True, flagged=False, lang="ms")])
        assert {h["ad_id"] for h in store.search("lang:ms genre:report risky:true").hits} == {
            "new1"
        }
        assert store.get_ad("old1")["lang"] is None
        assert store.count() == 2
    finally:
        store.close()
        engine.drop_prefix(prefix)


def test_an_ads_index_from_before_images_migrates_to_the_image_fields(engine: Any) -> None:
    """An index made before ads had images (no image fields in its strict mapping) is reported out
    of date and moved to a new version by ``migrate``, keeping its ads; then image text is stored
    and searched."""
    from patroli.storage.engine.indices import detect_analyzer, index_body

    prefix = f"t{uuid.uuid4().hex[:10]}"
    store = open_engine_store(engine, prefix)
    try:
        client = store.client
        client.request("DELETE", f"/{prefix}-ads-v1")  # replace the fresh index by an old one
        body = index_body("ads", detect_analyzer(client))
        for name in ("images", "image_text", "image_keys"):
            del body["mappings"]["properties"][name]
        body["mappings"]["_meta"]["patroli"]["schema"] = "before-images"
        client.request("PUT", f"/{prefix}-ads-v1", body={**body, "aliases": {f"{prefix}-ads": {}}})
        old = {k: v for k, v in record("old1").items() if k != "html"}
        client.request(
            "PUT",
            f"/{prefix}-ads/_doc/old1",
            body={**old, "status": "confirmed", "version": 2},
            params={"refresh": "true"},
        )
        assert {r["kind"]: r.get("up_to_date") for r in store.index_status()}["ads"] is False
        report = {r["kind"]: r for r in store.migrate(kinds=("ads",))}
        assert report["ads"]["action"] == "migrated"
        assert report["ads"]["index"] == f"{prefix}-ads-v2"
        assert store.get_ad("old1")["status"] == "confirmed"
        written = store.upsert_ads(
            [record("new1", text="Info di gambar", image_text="Berangkat pakai visa turis")]
        )
        assert written.failed == 0
        assert [h["ad_id"] for h in store.search("ocr:turis").hits] == ["new1"]
    finally:
        store.close()
        engine.drop_prefix(prefix)
