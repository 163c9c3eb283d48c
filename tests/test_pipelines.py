"""Each pipeline step on its own, built by ``from_crawler`` on a test crawler with the project's
settings: what it does to an item, what it counts, and how it fails. The whole chain over real HTTP
is tested in test_crawl_end_to_end.py."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured

from classifiers.datasets import model_text
from classifiers.registry import active_version, find_model
from classifiers.scoring import score_with
from crawler.items import JobAd, make_ad_id
from patroli.storage import open_store
from pipelines.classify import ClassifyPipeline
from pipelines.dedupe import DedupePipeline
from pipelines.extract import ExtractEntitiesPipeline, entities_for, entity_payload
from pipelines.normalize import TITLE_MAX_CHARS, NormalizeTextPipeline
from pipelines.offload import WorkerPool
from pipelines.store import StorePipeline
from tests.helpers.components import build, crawler_with, job_ad, stats

ILLEGAL = (
    "Loker admin Kamboja",
    (
        "Dicari admin CS di Phnom Penh, gaji 1.500 USD, tiket dan visa ditanggung, berangkat cepat "
        "tanpa pelatihan, paspor ditahan agensi. WA 0812-5551-2345"
    ),
)
DOMESTIC = (
    "Lowongan kasir minimarket Bandung",
    "Dibutuhkan kasir minimarket di Bandung, pendidikan SMA, gaji UMR, BPJS. Lamaran ke HRD.",
)


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _run(pipeline: Any, items: list[JobAd], *, together: bool = False) -> list[Any]:
    """open_spider, every item (one after the other, or all at once), close_spider; an item the
    step drops comes back as its exception."""
    if hasattr(pipeline, "open_spider"):
        await _maybe(pipeline.open_spider())
    try:

        async def one(item: JobAd) -> Any:
            try:
                return await _maybe(pipeline.process_item(item))
            except DropItem as exc:
                return exc

        if together:
            return list(await asyncio.gather(*(one(item) for item in items)))
        return [await one(item) for item in items]
    finally:
        if hasattr(pipeline, "close_spider"):
            await _maybe(pipeline.close_spider())


def run(pipeline: Any, items: list[JobAd], *, together: bool = False) -> list[Any]:
    return asyncio.run(_run(pipeline, items, together=together))


@pytest.fixture(autouse=True)
def pool_released() -> Any:
    """Every test leaves the shared worker pool as it found it: closed, with no users."""
    yield
    assert WorkerPool._executor is None
    assert WorkerPool._users == 0


# --- normalize ---------------------------------------------------------------------------------


def test_normalize_turns_html_into_text_and_keeps_line_breaks() -> None:
    crawler = crawler_with()
    ad = job_ad(
        text="<p>Loker&nbsp;<b>Taiwan</b></p><script>alert(1)</script><p>Gaji\u200b 25 jt</p>",
        title="  <h1>Pabrik   elektronik</h1> ",
    )
    (out,) = run(build(NormalizeTextPipeline, crawler), [ad])
    assert out.text == "Loker Taiwan\n\nGaji 25 jt"
    assert out.title == "Pabrik elektronik"
    assert "alert" not in out.text


def test_normalize_bounds_the_text_by_the_setting() -> None:
    crawler = crawler_with(PATROLI_TEXT_MAX_CHARS=50)
    (out,) = run(build(NormalizeTextPipeline, crawler), [job_ad(text="Dicari " + "operator " * 30)])
    assert out.text == ("Dicari " + "operator " * 30)[:50]


def test_normalize_derives_a_missing_title_from_the_first_line() -> None:
    long_line = "Dicari " + "operator " * 30
    (short, long) = run(
        build(NormalizeTextPipeline, crawler_with()),
        [job_ad(title="", text="\n\nLoker Taiwan\nGaji 25 jt"), job_ad(title="", text=long_line)],
    )
    assert short.title == "Loker Taiwan"
    assert len(long.title) == TITLE_MAX_CHARS
    assert long.title == long_line[: TITLE_MAX_CHARS - 1].rstrip() + "…"


def test_normalize_content_hash_changes_with_the_content_not_with_the_markup() -> None:
    pipeline = build(NormalizeTextPipeline, crawler_with())
    plain, marked, edited = run(
        pipeline,
        [
            job_ad(text="Loker Taiwan gaji 25 jt"),
            job_ad(text="<div>Loker  Taiwan <i>gaji</i> 25 jt</div>"),
            job_ad(text="Loker Taiwan gaji 30 jt"),
        ],
    )
    assert plain.content_hash == marked.content_hash
    assert plain.content_hash != edited.content_hash
    assert len(plain.content_hash) == 32


# --- extract ----------------------------------------------------------------------------------


def channel_ad() -> JobAd:
    return job_ad(
        text="Admin CS Phnom Penh gaji 1.200 USD, biaya 5 jt, WA 0812-5551-2345. "
        "Hubungi @rekrut_kh atau @lokerasia_express, email hrd.kh@example.test",
        extra={
            "links": ["https://wa.me/6281255512345"],
            "channel": "lokerasia_express",
            "country": "my",
        },
    )


def test_extract_fills_contacts_places_and_money_and_counts_coverage() -> None:
    crawler = crawler_with(PATROLI_WORKERS=0)
    (out,) = run(build(ExtractEntitiesPipeline, crawler), [channel_ad()])
    assert out.phones == ["+6281255512345"]
    assert out.whatsapp == ["+6281255512345"]
    assert out.telegram == ["@rekrut_kh"]  # the channel the ad was seen in is not a contact
    assert out.emails == ["hrd.kh@example.test"]
    assert out.countries == ["MY", "KH"]  # the site's country first, then the places named
    assert (out.salary_amount, out.salary_currency) == (1200.0, "USD")
    assert out.fees == [{"amount": 5_000_000.0, "currency": "IDR"}]
    counted = stats(crawler)
    assert counted["patroli/extract/with_contact"] == 1
    assert counted["patroli/extract/with_country"] == 1
    assert "patroli/extract/with_date" not in counted


def test_extract_in_a_worker_process_gives_what_the_crawl_process_gives() -> None:
    ads = [channel_ad(), job_ad("2"), job_ad("3", text="Kerja di Osaka, Jepang, gaji 200.000 yen")]
    expected = [entities_for(entity_payload(ad)) for ad in ads]
    crawler = crawler_with(PATROLI_WORKERS=1, PATROLI_EXTRACT_BATCH_SIZE=2)
    out = run(build(ExtractEntitiesPipeline, crawler), ads, together=True)
    assert [{key: getattr(ad, key) for key in expected[0]} for ad in out] == expected
    assert "patroli/extract/worker_failed" not in stats(crawler)


def test_extract_falls_back_to_the_crawl_process_when_the_worker_dies() -> None:
    crawler = crawler_with(PATROLI_WORKERS=1)
    pipeline = build(ExtractEntitiesPipeline, crawler)
    ad = channel_ad()

    async def scenario() -> JobAd:
        await pipeline.open_spider()
        try:
            for process in list(pipeline.executor._processes.values()):  # type: ignore[union-attr]
                process.kill()
                process.join()
            return await pipeline.process_item(ad)
        finally:
            await pipeline.close_spider()

    out = asyncio.run(scenario())
    assert stats(crawler)["patroli/extract/worker_failed"] == 1
    assert out.phones == ["+6281255512345"]
    assert out.countries == ["MY", "KH"]


# --- dedupe -----------------------------------------------------------------------------------


def test_dedupe_gives_the_stable_id_and_drops_a_repeat_within_the_crawl() -> None:
    crawler = crawler_with()
    first, repeat, other = run(
        build(DedupePipeline, crawler), [job_ad("7"), job_ad("7", text="lagi"), job_ad("8")]
    )
    assert first.ad_id == make_ad_id("demo_unit", "7")
    assert other.ad_id == make_ad_id("demo_unit", "8")
    assert isinstance(repeat, DropItem)
    assert "demo_unit 7" in str(repeat)
    assert stats(crawler)["patroli/dedupe/dropped"] == 1


def test_dedupe_forgets_between_crawls() -> None:
    """A re-crawl is the store's business (an upsert), not a drop."""
    (first,) = run(build(DedupePipeline, crawler_with()), [job_ad("7")])
    (again,) = run(build(DedupePipeline, crawler_with()), [job_ad("7")])
    assert first.ad_id == again.ad_id


# --- classify ---------------------------------------------------------------------------------


def test_classify_scores_like_the_model_and_counts() -> None:
    crawler = crawler_with(PATROLI_WORKERS=0, PATROLI_CLASSIFY_BATCH_SIZE=2)
    ads = [
        job_ad("1", title=ILLEGAL[0], text=ILLEGAL[1]),
        job_ad("2", title=DOMESTIC[0], text=DOMESTIC[1]),
        job_ad("3", title=ILLEGAL[0], text=ILLEGAL[1] + " Segera!"),
    ]
    model = str(find_model(active_version()))
    expected = score_with(model, [model_text(ad.title, ad.text) for ad in ads], "id")
    out = run(build(ClassifyPipeline, crawler), ads, together=True)
    for ad, score in zip(out, expected, strict=True):
        assert ad.risk == round(score.risk, 6)
        assert ad.flagged == score.flagged
        assert ad.reasons == score.reasons
        assert ad.reason_codes == score.reason_codes
        assert ad.model_version == active_version()
    assert [ad.flagged for ad in out] == [True, False, True]
    counted = stats(crawler)
    assert counted["patroli/classify/scored"] == 3
    assert counted["patroli/classify/flagged"] == 2
    assert counted["patroli/classify/model_version"] == active_version()


def test_extract_scores_in_the_same_worker_call_when_classify_is_on() -> None:
    """One round trip per batch: the extract step brings the scores back with the entities, and
    the classify step, finding the ads scored by its model, sends nothing to the workers."""
    crawler = crawler_with(PATROLI_WORKERS=0)
    extract, classify = build(ExtractEntitiesPipeline, crawler), build(ClassifyPipeline, crawler)
    ads = [
        job_ad("1", title=ILLEGAL[0], text=ILLEGAL[1]),
        job_ad("2", title=DOMESTIC[0], text=DOMESTIC[1]),
    ]
    model = str(find_model(active_version()))
    expected = score_with(model, [model_text(ad.title, ad.text) for ad in ads], "id")

    async def flow() -> list[JobAd]:
        await extract.open_spider()
        await classify.open_spider()
        try:
            extracted = await asyncio.gather(*(extract.process_item(ad) for ad in ads))
            assert [ad.risk for ad in extracted] == [round(s.risk, 6) for s in expected]
            assert classify.batcher is not None
            return [await classify.process_item(ad) for ad in extracted]
        finally:
            assert classify.batcher is not None
            assert not classify.batcher.pending  # nothing was sent to be scored a second time
            assert not classify.batcher.running
            await classify.close_spider()
            await extract.close_spider()

    out = asyncio.run(flow())
    assert [ad.flagged for ad in out] == [True, False]
    assert out[0].phones
    assert out[0].model_version == active_version()
    assert out[0].reasons == expected[0].reasons
    assert stats(crawler)["patroli/classify/scored"] == 2


def test_classify_gives_reasons_in_the_language_asked() -> None:
    ads = [job_ad(title=ILLEGAL[0], text=ILLEGAL[1])]
    (indonesian,) = run(build(ClassifyPipeline, crawler_with(PATROLI_WORKERS=0)), ads)
    reasons_id = list(indonesian.reasons)
    (english,) = run(
        build(ClassifyPipeline, crawler_with(PATROLI_WORKERS=0, PATROLI_LANGUAGE="en")),
        [job_ad(title=ILLEGAL[0], text=ILLEGAL[1])],
    )
    assert english.reason_codes == indonesian.reason_codes
    assert english.reasons != reasons_id
    assert any("Cambodia" in reason for reason in english.reasons)


def test_classify_without_a_model_stores_the_ad_unscored(tmp_path: Path) -> None:
    crawler = crawler_with(PATROLI_WORKERS=0, PATROLI_MODEL_PATH=str(tmp_path / "no-such-model"))
    (out,) = run(build(ClassifyPipeline, crawler), [job_ad(title=ILLEGAL[0], text=ILLEGAL[1])])
    assert (out.risk, out.flagged, out.reasons, out.model_version) == (None, False, [], "")
    counted = stats(crawler)
    assert "no-such-model" in counted["patroli/classify/model_unavailable"]
    assert counted["patroli/classify/unscored"] == 1


def test_classify_can_be_switched_off() -> None:
    with pytest.raises(NotConfigured, match="PATROLI_CLASSIFY_ENABLED"):
        build(ClassifyPipeline, crawler_with(PATROLI_CLASSIFY_ENABLED=False))


# --- store ------------------------------------------------------------------------------------


def stored(ad: JobAd) -> JobAd:
    """An ad as it reaches the store step: normalized, with its id."""
    ad.ad_id = make_ad_id(ad.source, ad.native_id)
    ad.content_hash = f"h-{ad.native_id}-{len(ad.text)}"
    ad.html = f"<div>{ad.text}</div>"
    return ad


def test_store_writes_in_batches_and_at_close(store_url: str) -> None:
    crawler = crawler_with(PATROLI_STORE_URL=store_url, PATROLI_STORE_BATCH_SIZE=2)
    pipeline = build(StorePipeline, crawler)
    written_before_close: list[int] = []

    async def scenario() -> None:
        await pipeline.open_spider()
        try:
            for n in range(5):
                await pipeline.process_item(stored(job_ad(str(n))))
                with open_store(store_url) as store:
                    written_before_close.append(store.count())
        finally:
            await pipeline.close_spider()

    asyncio.run(scenario())
    assert written_before_close == [0, 2, 2, 4, 4]
    with open_store(store_url) as store:
        assert store.count() == 5
        ad = store.get_ad(make_ad_id("demo_unit", "3"), with_evidence=True)
    assert ad["title"] == "Loker admin Kamboja"
    assert ad["evidence"][0]["html"].startswith("<div>Dicari admin")
    assert stats(crawler)["patroli/store/new"] == 5


def test_store_updates_on_a_recrawl_and_keeps_the_review(store_url: str) -> None:
    run(build(StorePipeline, crawler_with(PATROLI_STORE_URL=store_url)), [stored(job_ad("1"))])
    ad_id = make_ad_id("demo_unit", "1")
    with open_store(store_url) as store:
        store.review(ad_id, "confirmed", reviewer="analis1", note="modus Kamboja")
    crawler = crawler_with(PATROLI_STORE_URL=store_url)
    run(build(StorePipeline, crawler), [stored(job_ad("1", text="Teks baru, gaji 2.000 USD"))])
    counted = stats(crawler)
    assert (counted.get("patroli/store/new", 0), counted["patroli/store/updated"]) == (0, 1)
    with open_store(store_url) as store:
        ad = store.get_ad(ad_id)
    assert ad["text"] == "Teks baru, gaji 2.000 USD"
    assert (ad["status"], ad["reviewed_by"]) == ("confirmed", "analis1")


def test_store_unreachable_at_start_stops_the_crawl_before_any_request() -> None:
    from tests.helpers.engines import free_port

    pipeline = build(
        StorePipeline, crawler_with(PATROLI_STORE_URL=f"http://127.0.0.1:{free_port()}")
    )
    with pytest.raises(CloseSpider) as stopped:
        asyncio.run(pipeline.open_spider())
    assert stopped.value.reason.startswith("store unavailable: ")
    assert "unreachable" in stopped.value.reason
    asyncio.run(pipeline.close_spider())  # closing after a failed open is harmless
