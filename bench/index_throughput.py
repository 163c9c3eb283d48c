"""Index throughput and search latency on OpenSearch at 100k ads, measured side by side in one run.

1. Indexes N fictional ads (default 100,000, each with ~2 KB of HTML evidence) through the store
   pipeline (``pipelines.store.StorePipeline``: batches, spool-aware writer, bulk upserts that keep
   reviews) and, into fresh indices, the same documents (ad + evidence) through a bare
   ``opensearchpy.helpers.bulk``; alternately, ``--rounds`` times each.
2. Runs 20 representative analyst queries (words, phrases, filters, ranges, facets, sorts, deep
   pages) against the pipeline's 100k-ad index and reports p50/p95 latency of ``store.search``.

    .venv/bin/python bench/index_throughput.py [--store opensearch+http://host:port] [--ads 100000]

Without ``--store`` it starts an OpenSearch node itself (as ``make test`` does; ``make engines``
first). Prints ``ratio=`` the median over rounds of pipeline ads/s ÷ bare bulk ads/s (target >= 0.8) and
``search_p50_ms=… search_p95_ms=…`` (target p95 <= 100 ms).

Template clusters and networks (``PATROLI_LINKING_ENABLED``) are off in the pipeline unless
``--linking``: bare bulk writes the same two documents and links nothing, and the linking's own cost
is ``bench/networks_cost.py``'s. ``--keep`` keeps the searched index (its prefix is printed);
``--search-prefix P`` (with ``--store``) only measures the searches on such a kept index, e.g. again
on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.items import JobAd
from patroli.config.table import PATROLI_STORE_BATCH_SIZE
from patroli.storage import open_store
from patroli.storage.engine import EngineStore
from patroli.storage.schema import CONTENT_FIELDS
from pipelines.store import StorePipeline, ad_to_record

QUERIES = [
    "kamboja",
    '"visa ziarah"',
    "phone:0812-5551-2345",
    "handle:@rekrut_kh",
    "country:KH flagged:true",
    "status:new risk>=0.8",
    "admin gaji",
    '"tanpa pengalaman" country:MM',
    "source:demo_telegram kamboja",
    "posted>=2026-11-10 risk>=0.5",
    "-status:dismissed country:SA",
    "operator -malaysia",
    "kind:feed risk>=0.9",
    "tiket gratis",
    "country:MY country:TH",
    "first>=2026-11-01 flagged:true",
    '"gaji besar" -kasir',
    "phnom penh",
    "email:rekrut@example.com",
    "admin",
]
TEMPLATES = [
    (
        "Loker admin {city}",
        "Dicari admin CS di {city}, gaji {pay} USD, tiket gratis, tanpa pengalaman. WA {phone}",
        "KH",
    ),
    (
        "PRT {city}",
        "PRT ke {city} pakai visa ziarah, tanpa biaya, berangkat cepat. Hub {phone}",
        "SA",
    ),
    (
        "Operator pabrik {city}",
        "Operator produksi kilang di {city}, gaji RM {pay}, potong gaji. {phone}",
        "MY",
    ),
    ("Kasir {city}", "Kasir minimarket {city}, gaji UMR, lamaran ke kantor. {phone}", ""),
    (
        "Operator online {city}",
        "Kerja operator online di {city}, gaji besar, paspor diurus. {phone}",
        "MM",
    ),
    (
        "Pelayan restoran {city}",
        "Pelayan restoran di {city}, gaji {pay} ribu baht, visa turis. {phone}",
        "TH",
    ),
]
CITIES = [
    "Phnom Penh",
    "Riyadh",
    "Johor",
    "Bandung",
    "Myawaddy",
    "Bangkok",
    "Sihanoukville",
    "Jeddah",
]
SOURCES = [
    ("demo_telegram", "telegram_channel"),
    ("demo_feed", "feed"),
    ("demo_classifieds", "classifieds"),
]


def make_ads(n: int, seed: int = 42, start: int = 0) -> list[JobAd]:
    """``n`` fictional ads numbered from ``start`` (chunks of a larger set: pass ``seed + start``)."""
    rng = random.Random(seed)  # noqa: S311 - fictional test data, not secrets
    ads = []
    for i in range(start, start + n):
        title, text, country = TEMPLATES[rng.randrange(len(TEMPLATES))]
        city = rng.choice(CITIES)
        phone = rng.choice(
            ["0812-5551-2345", f"0813-555{rng.randrange(10)}-{rng.randrange(10000):04d}"]
        )
        source, kind = rng.choice(SOURCES)
        body = text.format(city=city, pay=rng.randrange(500, 3000), phone=phone)
        risk = round(rng.random(), 3)
        ad = JobAd(
            source=source,
            native_id=f"n{i}",
            url=f"https://example.test/{source}/{i}",
            text=f"{body} (iklan {i})",
            title=title.format(city=city),
            source_kind=kind,
            html=f"<article><h1>{title}</h1><p>{body}</p>" + "<p>" + "x" * 1900 + "</p></article>",
            posted_at=None,
            author=f"agen{rng.randrange(500)}",
        )
        ad.ad_id = f"bench{i:07d}"
        ad.content_hash = uuid.UUID(int=rng.getrandbits(128)).hex
        ad.phones = ["+62" + phone.replace("-", "")[1:]]
        ad.telegram = ["@rekrut_kh"] if rng.random() < 0.05 else []
        ad.emails = ["rekrut@example.com"] if rng.random() < 0.02 else []
        ad.countries = [country] if country else []
        ad.risk, ad.flagged = risk, risk >= 0.5
        ad.risk_margin = round(risk - 0.5, 3)
        ad.reasons = ["Pekerjaan kantor di luar negeri"] if ad.flagged else []
        ad.model_version = "bench"
        ad.crawled_at = ad.crawled_at.replace(day=1 + i % 27, month=11, year=2026)
        ads.append(ad)
    return ads


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.values[key] = self.values.get(key, start) + count

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value


def run_pipeline(
    url: str, ads: list[JobAd], spool_dir: str, batch_size: int
) -> tuple[float, dict[str, Any]]:
    stats = _Stats()
    pipeline = StorePipeline(url, batch_size, stats=stats, spool_dir=spool_dir)  # type: ignore[arg-type]

    async def crawl() -> float:
        await pipeline.open_spider()
        started = time.perf_counter()
        for ad in ads:
            await pipeline.process_item(ad)
        await pipeline.flush()
        seconds = time.perf_counter() - started
        await pipeline.close_spider()
        return seconds

    return asyncio.run(crawl()), stats.values


def run_bare_bulk(engine_url: str, prefix: str, ads: list[JobAd], env: dict[str, str]) -> float:
    from opensearchpy import OpenSearch, helpers

    store = open_store(f"opensearch+{engine_url}?prefix={prefix}", env=env)  # same indices/mappings
    store.close()
    client = OpenSearch([engine_url], timeout=120)
    # The same documents the pipeline writes: the ad and its evidence.
    records = [ad_to_record(ad) for ad in ads]

    def actions() -> Any:
        for r in records:
            doc = {name: r.get(name) for name in CONTENT_FIELDS}  # the store's document
            doc |= {
                "ad_id": r["ad_id"],
                "first_seen": r["crawled_at"],
                "last_seen": r["crawled_at"],
                "gone_at": None,
                "status": "new",
                "version": 1,
                "sort_date": r["crawled_at"],
                "uncertainty": abs(r["risk_margin"]),
            }
            yield {"_index": f"{prefix}-ads", "_id": r["ad_id"], "_source": doc}
            yield {
                "_index": f"{prefix}-evidence",
                "_id": f"{r['ad_id']}:{r['content_hash']}",
                "_source": {
                    "ad_id": r["ad_id"],
                    "content_hash": r["content_hash"],
                    "crawled_at": r["crawled_at"],
                    "url": r["url"],
                    "html": r["html"],
                },
            }

    started = time.perf_counter()
    _, errors = helpers.bulk(
        client, actions(), chunk_size=1000, max_retries=3, raise_on_error=False
    )
    seconds = time.perf_counter() - started
    client.close()
    if errors:
        raise SystemExit(f"bare bulk rejected {len(errors)} documents, e.g. {errors[0]}")
    return seconds


def search_latency(store: EngineStore, repeats: int, verbose: bool = False) -> list[float]:
    timings = []
    for query in QUERIES:
        store.search(query, facets=True)  # warm-up
        own = []
        for _ in range(repeats):
            started = time.perf_counter()
            first = store.search(query, limit=20, facets=True, sort="relevance")
            own.append((time.perf_counter() - started) * 1000)
            if first.next_after:  # an analyst's next page (search_after)
                started = time.perf_counter()
                store.search(query, limit=20, sort="relevance", after=first.next_after)
                own.append((time.perf_counter() - started) * 1000)
        timings += own
        if verbose:
            print(
                f"{query!r:40} {first.total:>8} ads: median {statistics.median(own):6.1f} ms, max {max(own):6.1f} ms",
                flush=True,
            )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", help="an OpenSearch URL, e.g. opensearch+http://127.0.0.1:9200")
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=PATROLI_STORE_BATCH_SIZE.default_value(),
        help="the store pipeline's batch (default: PATROLI_STORE_BATCH_SIZE, what a crawl uses)",
    )
    parser.add_argument("--repeats", type=int, default=10, help="runs of each query")
    parser.add_argument("--per-query", action="store_true", help="print each query's latency")
    parser.add_argument("--linking", action="store_true", help="clusters and networks on")
    parser.add_argument("--keep", action="store_true", help="keep the searched index")
    parser.add_argument("--search-prefix", help="only search this kept index (with --store)")
    args = parser.parse_args()
    os.environ["PATROLI_LINKING_ENABLED"] = "true" if args.linking else "false"
    if args.search_prefix:
        if not args.store:
            parser.error("--search-prefix needs --store")
        search_only(args.store, args.search_prefix, args.repeats, args.per_query)
        return
    engine = None
    env: dict[str, str] = {}
    if args.store:
        engine_url = args.store.split("+", 1)[-1].split("?")[0]
    else:
        from tests.helpers.engines import start_engines

        engine_dir = Path(tempfile.mkdtemp(prefix="patroli-bench-"))
        engine = start_engines(engine_dir, ("opensearch",))["opensearch"]
        engine_url = engine.url
        print(f"started OpenSearch at {engine_url}", flush=True)
    ads = make_ads(args.ads)
    prefixes: list[str] = []
    search_prefix = ""
    pipeline_rates, bare_rates = [], []
    try:
        with tempfile.TemporaryDirectory() as spool_dir:
            # Warm the engine's JIT up on both paths, then drop what that wrote.
            warm = f"bw{uuid.uuid4().hex[:6]}"
            run_pipeline(
                f"opensearch+{engine_url}?prefix={warm}",
                ads[: args.ads // 5],
                spool_dir,
                args.batch_size,
            )
            run_bare_bulk(engine_url, warm + "b", ads[: args.ads // 5], env)
            drop(engine_url, [warm, warm + "b"])
            search_prefix = ""
            for round_no in range(args.rounds):
                rates = {}
                for mode in ("pipeline", "bare") if round_no % 2 == 0 else ("bare", "pipeline"):
                    prefix = f"b{mode[0]}{uuid.uuid4().hex[:6]}"
                    prefixes.append(prefix)
                    if mode == "pipeline":
                        seconds, stats = run_pipeline(
                            f"opensearch+{engine_url}?prefix={prefix}",
                            ads,
                            spool_dir,
                            args.batch_size,
                        )
                        if stats.get("patroli/store/new") != len(ads) or stats.get(
                            "patroli/store/failed"
                        ):
                            raise SystemExit(f"pipeline did not store every ad: {stats}")
                        if (
                            search_prefix
                        ):  # keep one 100k-ad index for the searches, and the heap small
                            drop(engine_url, [search_prefix])
                        search_prefix = prefix
                    else:
                        seconds = run_bare_bulk(engine_url, prefix, ads, env)
                        drop(engine_url, [prefix])
                    rates[mode] = len(ads) / seconds
                    print(
                        f"round {round_no + 1} {mode:8s} {len(ads)} ads in {seconds:6.1f}s = "
                        f"{len(ads) / seconds:7.0f} ads/s",
                        flush=True,
                    )
                pipeline_rates.append(rates["pipeline"])
                bare_rates.append(rates["bare"])
                print(
                    f"round {round_no + 1} ratio {rates['pipeline'] / rates['bare']:.2f}",
                    flush=True,
                )
        store = open_store(f"opensearch+{engine_url}?prefix={search_prefix}", env=env)
        if not isinstance(store, EngineStore):
            raise SystemExit(f"{store.url} is not a search engine")
        store.client.request("POST", f"/{search_prefix}-ads/_refresh")
        total = store.count()
        timings = search_latency(store, args.repeats, args.per_query)
        print(footprint(store, search_prefix, total), flush=True)
        store.close()
        cuts = statistics.quantiles(timings, n=100)
        ratio = statistics.median(p / b for p, b in zip(pipeline_rates, bare_rates, strict=True))
        print(
            f"pipeline_ads_per_s={statistics.median(pipeline_rates):.0f} "
            f"bare_bulk_ads_per_s={statistics.median(bare_rates):.0f} ratio={ratio:.2f} (target >= 0.8)"
        )
        print(
            f"search over {total} ads: {len(timings)} requests, {len(QUERIES)} queries, "
            f"search_p50_ms={cuts[49]:.1f} search_p95_ms={cuts[94]:.1f} (target p95 <= 100)"
        )
    finally:
        if engine is not None:
            engine.remove()
            shutil.rmtree(engine_dir, ignore_errors=True)
        else:
            drop(engine_url, [p for p in prefixes if not (args.keep and p == search_prefix)])
            if args.keep:
                print(f"kept the searched index: --search-prefix {search_prefix}")


def search_only(url: str, prefix: str, repeats: int, verbose: bool) -> None:
    engine_url = url.split("+", 1)[-1].split("?")[0]
    store = open_store(f"opensearch+{engine_url}?prefix={prefix}")
    if not isinstance(store, EngineStore):
        raise SystemExit(f"{store.url} is not a search engine")
    total = store.count()
    timings = search_latency(store, repeats, verbose)
    print(footprint(store, prefix, total), flush=True)
    store.close()
    cuts = statistics.quantiles(timings, n=100)
    print(
        f"search over {total} ads: {len(timings)} requests, {len(QUERIES)} queries, "
        f"search_p50_ms={cuts[49]:.1f} search_p95_ms={cuts[94]:.1f} (target p95 <= 100)"
    )


def footprint(store: EngineStore, prefix: str, total: int) -> str:
    """Disk and heap of the searched indices, per million ads (for sizing; the JVM heap in use
    is the whole node's, after the searches)."""
    indices = store.client.request(
        "GET", f"/_cat/indices/{prefix}-*", params={"format": "json", "bytes": "b"}
    )
    disk = sum(int(row["store.size"]) for row in indices)
    nodes = store.client.request("GET", "/_nodes/stats/jvm,indices")["nodes"].values()
    heap = sum(node["jvm"]["mem"]["heap_used_in_bytes"] for node in nodes)
    heap_max = sum(node["jvm"]["mem"]["heap_max_in_bytes"] for node in nodes)
    per_million = 1_000_000 / max(total, 1)
    return (
        f"indices {disk / 1e6:.0f} MB on disk ({disk * per_million / 1e9:.1f} GB per million ads); "
        f"node heap in use {heap / 1e6:.0f} MB of {heap_max / 1e6:.0f} MB"
    )


def drop(engine_url: str, prefixes: list[str]) -> None:
    from opensearchpy import OpenSearch

    client = OpenSearch([engine_url])
    for prefix in prefixes:
        names = [row["index"] for row in client.cat.indices(index=f"{prefix}-*", format="json")]
        if names:
            client.indices.delete(index=",".join(names))
    client.close()


if __name__ == "__main__":
    main()
