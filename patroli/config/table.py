"""Every ``PATROLI_*`` setting, once: name, type, default, help, environment variable and group.

``crawler/settings.py`` is built from this table (the settings marked ``scrapy``), every component
reads its values through it, and ``docs/settings.md`` is generated from it
(``python -m patroli.config --markdown > docs/settings.md``). To add a setting, add it here, read
it with ``PATROLI_<NAME>.from_settings(crawler.settings)`` or ``PATROLI_<NAME>.from_env()``, and
regenerate the docs; ``tests/test_docs.py`` fails until the docs match.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

from patroli.config.setting import (
    Bool,
    Choice,
    Computed,
    Float,
    Int,
    Kind,
    Setting,
    Text,
    Url,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Group:
    title: str
    intro: str = ""


STORE = Group("Store")
ENGINES = Group(
    "Search engines (Elasticsearch, OpenSearch)",
    "Read from the environment when a store URL names an engine; credentials are never logged or "
    "shown in an error message.",
)
CLASSIFICATION = Group("Classification")
CRAWLING = Group("Crawling")
MODELS = Group("Models")
DEMO = Group("Demo")
MONITORS = Group(
    "Monitors and alerts (when each run closes)",
    "Read by the `CrawlRunRecorder` extension (`crawler/extensions/runrecorder.py`), which monitors, "
    "records and alerts on every crawl when it closes: `patroli crawl`, `scrapy crawl` and Scrapyd "
    "alike.",
)
WEB = Group(
    "Web app",
    "Read by `patroli serve` from the environment when it starts (`patroli/web/settings.py`); a "
    "bad value stops it with a message naming the variable. `patroli demo` uses the defaults with "
    "a generated secret.",
)
EVIDENCE = Group(
    "Evidence, cases and takedowns",
    "What the crawl archives as sent (WARC), the capture record made when an ad is first flagged, "
    "how long evidence is kept, and the takedown requests (docs/evidence.md).",
)
NETWORKS = Group(
    "Clusters, networks and the agency register",
    "Read when a store is opened (clusters and networks are maintained as ads are stored, on every "
    "backend) and by the register check of the crawl (`pipelines/register.py`). See "
    "[networks.md](networks.md).",
)
OBSERVABILITY = Group(
    "Metrics and logs",
    "How operators watch patroli: Prometheus metrics (the web app's `/metrics`, and each crawl's "
    "numbers pushed to a Pushgateway) and structured logs. See [operations.md](operations.md).",
)
IMAGES = Group(
    "Images and flyers",
    "Read by the images pipeline (`pipelines/images.py`): the images ads show are fetched through "
    "Scrapy's media pipeline, checked, kept by content, fingerprinted and read with Tesseract in the "
    "worker pool. Every refused image is counted by reason (`patroli/images/refused/<reason>`) and "
    "named in the run's notes; the crawl goes on.",
)
FRONTIER = Group(
    "Distributed crawling (Redis frontier)",
    "Empty `PATROLI_FRONTIER` (the default) crawls in one process with Scrapy's own scheduler. With a "
    "`redis://` URL, `patroli crawl` and `patroli worker` processes on any number of machines share "
    "one frontier per source run: the request queue, the duplicate filter, the run lock, in-flight "
    "requests, the per-host politeness budget and the run's stats live in Redis "
    "(`crawler/frontier/`, built on scrapy-redis). Sizing: [scale.md](scale.md).",
)
TESTS = Group("Tests")
GROUPS = (
    STORE,
    ENGINES,
    CLASSIFICATION,
    CRAWLING,
    FRONTIER,
    MODELS,
    DEMO,
    MONITORS,
    IMAGES,
    WEB,
    OBSERVABILITY,
    NETWORKS,
    EVIDENCE,
    TESTS,
)

SETTINGS: list[Setting[Any]] = []

PATH = Text("a file system path")
DIRECTORY = Text("a directory path")
LANGUAGES = ("id", "en")
STORE_SCHEMES = (
    "sqlite",
    "http",
    "https",
    "elasticsearch+http",
    "elasticsearch+https",
    "opensearch+http",
    "opensearch+https",
)


def _define(
    name: str,
    kind: Kind[T],
    default: T | Computed[T],
    help: str,
    *,
    group: Group,
    env: bool | str = False,
    scrapy: bool = False,
    secret: bool = False,
    default_doc: str = "",
) -> Setting[T]:
    setting = Setting(
        name=name,
        kind=kind,
        default=default,
        help=help,
        group=group.title,
        env=name if env is True else (env or ""),
        scrapy=scrapy,
        secret=secret,
        default_doc=default_doc,
    )
    SETTINGS.append(setting)
    return setting


def _cpus_but_one() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


# --- store ------------------------------------------------------------------------------------

PATROLI_STORE_URL = _define(
    "PATROLI_STORE_URL",
    Url(
        STORE_SCHEMES,
        "a store URL: sqlite:///path.db, http(s)://host:port, elasticsearch+https://host:port or "
        "opensearch+https://host:port",
        (".db", ".sqlite", ".sqlite3"),
    ),
    "sqlite:///var/patroli.db",
    "Where ads are written and read. `sqlite:///relative/path.db` or `sqlite:////absolute/path.db`; "
    "a search engine is `http(s)://host:port` (Elasticsearch 8/9 or OpenSearch 2/3, detected from "
    "the engine) or, explicitly, `elasticsearch+https://host:port` / `opensearch+https://host:port`, "
    "optionally with `?prefix=NAME` (see [index.md](index.md)). Credentials never go in the URL (it "
    "is refused): see `PATROLI_ENGINE_*`. Every command that uses ads also takes `--store`.",
    group=STORE,
    env="PATROLI_STORE",
    scrapy=True,
)
PATROLI_STORE_BATCH_SIZE = _define(
    "PATROLI_STORE_BATCH_SIZE",
    Int(minimum=1),
    500,
    "How many ads the store pipeline writes in one transaction (SQLite) or one bulk request (search "
    "engines; split further by `PATROLI_BULK_MAX_BYTES`). Below ~500 the engines spend a noticeable "
    "share of their time per request (`bench/index_throughput.py --batch-size`).",
    group=STORE,
    scrapy=True,
)
PATROLI_SPOOL_DIR = _define(
    "PATROLI_SPOOL_DIR",
    DIRECTORY,
    "var/spool",
    "Where the store pipeline keeps the batches a store could not take (a search engine unreachable "
    "mid-crawl): one sub-directory per store, one fsynced file per batch, replayed oldest first when "
    "the store is back and at the next crawl start. A run that ends with ads still spooled is "
    "reported as degraded.",
    group=STORE,
    env=True,
    scrapy=True,
)
PATROLI_SPOOL_RETRY_SECONDS = _define(
    "PATROLI_SPOOL_RETRY_SECONDS",
    Float(minimum=0),
    30.0,
    "While the store is unreachable, batches go straight to the spool and the store is asked again "
    "at most this often (seconds).",
    group=STORE,
    scrapy=True,
)

# --- search engines ---------------------------------------------------------------------------

PATROLI_ENGINE_USERNAME = _define(
    "PATROLI_ENGINE_USERNAME",
    Text(),
    "",
    "Basic authentication: the user (with the privileges listed in [index.md](index.md)).",
    group=ENGINES,
    env=True,
    secret=True,
)
PATROLI_ENGINE_PASSWORD = _define(
    "PATROLI_ENGINE_PASSWORD",
    Text(),
    "",
    "Basic authentication: the password of `PATROLI_ENGINE_USERNAME`.",
    group=ENGINES,
    env=True,
    secret=True,
)
PATROLI_ENGINE_API_KEY = _define(
    "PATROLI_ENGINE_API_KEY",
    Text(),
    "",
    "An API key (the base64 `id:api_key` form the engine returns as `encoded`); used instead of "
    "basic authentication when set.",
    group=ENGINES,
    env=True,
    secret=True,
)
PATROLI_ENGINE_CA_CERTS = _define(
    "PATROLI_ENGINE_CA_CERTS",
    PATH,
    "",
    "A PEM file of the certificate authorities to trust for `https://` engines (empty: the "
    "system's).",
    group=ENGINES,
    env=True,
)
PATROLI_ENGINE_VERIFY_CERTS = _define(
    "PATROLI_ENGINE_VERIFY_CERTS",
    Bool(),
    True,
    "`false` switches certificate verification off (test clusters only).",
    group=ENGINES,
    env=True,
)
PATROLI_ENGINE_TIMEOUT = _define(
    "PATROLI_ENGINE_TIMEOUT",
    Float(minimum=0.001),
    30.0,
    "Timeout of one request to the engine, in seconds.",
    group=ENGINES,
    env=True,
)
PATROLI_ENGINE_RETRIES = _define(
    "PATROLI_ENGINE_RETRIES",
    Int(minimum=0),
    3,
    "Retries of a request that met a connection error, 429 or 502/503/504, with exponential backoff "
    "(0.5 s, 1 s, 2 s, … at most 8 s). After the last one the engine counts as unavailable and the "
    "crawl spools.",
    group=ENGINES,
    env=True,
)
PATROLI_INDEX_PREFIX = _define(
    "PATROLI_INDEX_PREFIX",
    Text("lower-case letters, digits, '-' or '_'"),
    "patroli",
    "Prefix of the aliases, indices and templates (`patroli-ads` → `patroli-ads-v1`); a store URL's "
    "`?prefix=` wins.",
    group=ENGINES,
    env=True,
)
PATROLI_BULK_MAX_ACTIONS = _define(
    "PATROLI_BULK_MAX_ACTIONS",
    Int(minimum=1),
    1000,
    "Most actions in one bulk request.",
    group=ENGINES,
    env=True,
)
PATROLI_BULK_MAX_BYTES = _define(
    "PATROLI_BULK_MAX_BYTES",
    Int(minimum=1024),
    5 * 1024 * 1024,
    "Largest bulk request body (bytes); a batch with large HTML evidence is split.",
    group=ENGINES,
    env=True,
    default_doc="`5242880` (5 MiB)",
)

# --- classification ---------------------------------------------------------------------------

PATROLI_CLASSIFY_ENABLED = _define(
    "PATROLI_CLASSIFY_ENABLED",
    Bool(),
    True,
    "Switch the classify pipeline off (`patroli crawl --no-classify`); ads are then stored unscored.",
    group=CLASSIFICATION,
    scrapy=True,
)
PATROLI_MODEL_PATH = _define(
    "PATROLI_MODEL_PATH",
    DIRECTORY,
    "",
    "A model directory to use instead of the registry's active model (empty: the active model). "
    "Also the default of `--model` of `patroli classify` and `patroli evaluate`.",
    group=CLASSIFICATION,
    env=True,
    scrapy=True,
)
PATROLI_CLASSIFY_BATCH_SIZE = _define(
    "PATROLI_CLASSIFY_BATCH_SIZE",
    Int(minimum=1),
    64,
    "Most ads scored together in one call (see `PATROLI_BATCH_DELAY`).",
    group=CLASSIFICATION,
    scrapy=True,
)
PATROLI_LANGUAGE = _define(
    "PATROLI_LANGUAGE",
    Choice(LANGUAGES),
    "id",
    "Language of the reasons stored with each ad.",
    group=CLASSIFICATION,
    env=True,
    scrapy=True,
)
PATROLI_EXPECTED_PREVALENCE = _define(
    "PATROLI_EXPECTED_PREVALENCE",
    Float(minimum=0.0001, maximum=0.5),
    0.03,
    "Share of crawled ads expected to be illegal offers; `risk` is calibrated to it (Bayes' rule "
    "on the model's odds), so that a risk of 0.3 means about 3 in 10 such ads are illegal on a "
    "crawl stream. It changes the probabilities shown, never which ads are `risky`. The default "
    '3 % and its reasoning: docs/classifier.md, "Why 3 %".',
    group=CLASSIFICATION,
    env=True,
    scrapy=True,
)

# --- crawling ---------------------------------------------------------------------------------

PATROLI_WORKERS = _define(
    "PATROLI_WORKERS",
    Int(minimum=0),
    Computed(_cpus_but_one, "one fewer than the CPUs, at least 1"),
    "Worker processes for extraction and scoring (pure-Python work that would otherwise stall the "
    "crawl); `0` runs them in a thread of the crawl process.",
    group=CRAWLING,
    env=True,
    scrapy=True,
)
PATROLI_EXTRACT_BATCH_SIZE = _define(
    "PATROLI_EXTRACT_BATCH_SIZE",
    Int(minimum=1),
    64,
    "Most ads whose entities are extracted together in one worker call.",
    group=CRAWLING,
    scrapy=True,
)
# Why 0: the ads of one page reach the pipelines in the same turn of the event loop, so batches are
# already page-sized; waiting only holds every ad back. Measured with bench/crawl_overhead.py.
PATROLI_BATCH_DELAY = _define(
    "PATROLI_BATCH_DELAY",
    Float(minimum=0, maximum=10),
    0.0,
    "Seconds the extract and classify pipelines wait for more ads before handing a partial batch "
    "to the workers. `0`: a batch is what arrived in the same turn of the event loop; the ads of "
    "one page arrive together, so batches are already page-sized. Waiting made the crawl slower, "
    "not faster: over the demo sites, 5 ms, 50 ms and 100 ms gave 0.69, 0.64 and 0.83 times the "
    "pages per second of `0` (`bench/crawl_overhead.py --batch-delays 0,0.005,0.05,0.1`, medians "
    "of 3 alternating rounds on 2 shared cores; `0` was fastest in every round). A wait may pay off "
    "only where ads trickle in one at a time.",
    group=CRAWLING,
    scrapy=True,
)
PATROLI_INCREMENTAL_ENABLED = _define(
    "PATROLI_INCREMENTAL_ENABLED",
    Bool(),
    True,
    "Skip stored, unchanged ads (listing fingerprint or ETag), stop paging Telegram channels at "
    "known posts, mark ads that left a fully crawled listing as gone.",
    group=CRAWLING,
    scrapy=True,
)
PATROLI_RETRY_BACKOFF_BASE = _define(
    "PATROLI_RETRY_BACKOFF_BASE",
    Float(minimum=0),
    1.0,
    "Seconds before the first retry of a failed request (429, 5xx, timeouts); doubles with each "
    "retry and honours `Retry-After`.",
    group=CRAWLING,
    scrapy=True,
)
PATROLI_RETRY_BACKOFF_MAX = _define(
    "PATROLI_RETRY_BACKOFF_MAX",
    Float(minimum=0),
    60.0,
    "The longest wait before a retry, in seconds.",
    group=CRAWLING,
    scrapy=True,
)
PATROLI_JOBS_DIR = _define(
    "PATROLI_JOBS_DIR",
    DIRECTORY,
    "var/jobs",
    "Where each source keeps its crawl queue (Scrapy's `JOBDIR`), so that `patroli crawl --resume` "
    "continues an interrupted crawl. The default of `patroli crawl --jobs-dir`.",
    group=CRAWLING,
    env=True,
)
PATROLI_KEYWORDS = _define(
    "PATROLI_KEYWORDS",
    PATH,
    "",
    "The patrol keyword list that search-capable sources (`search_urls`) search for.",
    group=CRAWLING,
    env=True,
    default_doc="empty: `crawler/keywords.yaml`",
)
PATROLI_TEXT_MAX_CHARS = _define(
    "PATROLI_TEXT_MAX_CHARS",
    Int(minimum=1),
    20_000,
    "Longer ad texts are cut: crawled content is hostile and must not cost unbounded work. "
    "`patroli classify` scores at most this many characters of a text too.",
    group=CRAWLING,
    env=True,
    scrapy=True,
)
PATROLI_TELEGRAM_MAX_PAGES = _define(
    "PATROLI_TELEGRAM_MAX_PAGES",
    Int(minimum=1),
    30,
    "Pages of a Telegram channel preview read per crawl (about 20 posts each) when its source sets "
    "no `max_pages`: paging back is bounded per channel even on a first crawl.",
    group=CRAWLING,
    scrapy=True,
)
PATROLI_TELEGRAM_MAX_AGE_DAYS = _define(
    "PATROLI_TELEGRAM_MAX_AGE_DAYS",
    Int(minimum=1),
    365,
    "Telegram posts older than this many days are not read when the source sets no "
    "`max_age_days`: paging back stops at them.",
    group=CRAWLING,
    scrapy=True,
)
PATROLI_SNAPSHOT_MAX_BYTES = _define(
    "PATROLI_SNAPSHOT_MAX_BYTES",
    Int(minimum=1),
    256 * 1024,
    "Largest raw HTML snapshot kept as evidence per ad version.",
    group=CRAWLING,
    scrapy=True,
    default_doc="`262144` (256 KiB)",
)
PATROLI_BUDGET_REQUESTS = _define(
    "PATROLI_BUDGET_REQUESTS",
    Int(minimum=1),
    5000,
    "Most requests one run of a source makes (retries, redirects and robots.txt count); then the "
    "crawl stops, counted and reported (`budget_requests`, a degraded run). A source's "
    "`budget.requests` in the registry wins ([sources.md](sources.md#budgets)).",
    group=CRAWLING,
    scrapy=True,
)
PATROLI_BUDGET_DEPTH = _define(
    "PATROLI_BUDGET_DEPTH",
    Int(minimum=1),
    100,
    "Deepest request one run of a source follows (each next page or link is one level); deeper ones "
    "are refused and counted, and the listing walk counts as incomplete. A source's `budget.depth` "
    "wins.",
    group=CRAWLING,
    scrapy=True,
)
PATROLI_BUDGET_BYTES = _define(
    "PATROLI_BUDGET_BYTES",
    Int(minimum=1024),
    256 * 1024 * 1024,
    "Most response bytes (after decompression) one run of a source reads; then the crawl stops "
    "(`budget_bytes`). A single response is capped by Scrapy's `DOWNLOAD_MAXSIZE` (5 MiB), also "
    "when decompressed. A source's `budget.bytes` wins.",
    group=CRAWLING,
    scrapy=True,
    default_doc="`268435456` (256 MiB)",
)
PATROLI_BUDGET_SECONDS = _define(
    "PATROLI_BUDGET_SECONDS",
    Float(minimum=1),
    4 * 3600.0,
    "Longest wall time of one run of a source, in seconds; then the crawl stops "
    "(`budget_seconds`). A source's `budget.seconds` wins.",
    group=CRAWLING,
    scrapy=True,
    default_doc="`14400.0` (4 hours)",
)
PATROLI_REMOTE_CONTROL = _define(
    "PATROLI_REMOTE_CONTROL",
    Bool(),
    False,
    "Switch on Scrapy's remote-control extension (an HTTP server on 127.0.0.1 that runs any Python "
    "code sent with its token; the port and token are in a job file under the user's state "
    "directory). Off unless asked for; when on, job files that crawls killed earlier left behind "
    "are removed at the next crawl's start.",
    group=CRAWLING,
    env=True,
)
PATROLI_SOURCES = _define(
    "PATROLI_SOURCES",
    PATH,
    "",
    "The source registry file (`docs/sources.md`); also the default of `--sources`.",
    group=CRAWLING,
    env=True,
    scrapy=True,
    default_doc="empty: `crawler/sources.yaml`",
)
PATROLI_USER_AGENT = _define(
    "PATROLI_USER_AGENT",
    Text(),
    "patroli/0.1 (cyber-patrol for migrant-worker protection; +https://github.com/patroli/patroli)",
    "Sets Scrapy's `USER_AGENT`: an honest agent that names patroli and its project URL.",
    group=CRAWLING,
    env=True,
)
PATROLI_LOG_LEVEL = _define(
    "PATROLI_LOG_LEVEL",
    Choice(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    "INFO",
    "Sets Scrapy's `LOG_LEVEL` (the CLI shows warnings only unless `-v`).",
    group=CRAWLING,
    env=True,
)

# --- distributed crawling ---------------------------------------------------------------------

PATROLI_FRONTIER = _define(
    "PATROLI_FRONTIER",
    Url(
        ("redis", "rediss", "unix"),
        "a Redis URL: redis://host:port/db, rediss://… (TLS) or unix:///path",
    ),
    "",
    "The shared frontier of distributed crawls; empty crawls in one process (the embedded default). "
    "Also the default of `patroli crawl --frontier` and `patroli worker --frontier`. A password goes "
    "in the URL (`redis://:password@host:6379/0`) and is never logged.",
    group=FRONTIER,
    env=True,
    scrapy=True,
    secret=True,
)
PATROLI_FRONTIER_PREFIX = _define(
    "PATROLI_FRONTIER_PREFIX",
    Text("letters, digits, '-', '_' or ':'"),
    "patroli",
    "Prefix of every Redis key of the frontier, so that several patroli deployments (or tests) can "
    "share one Redis.",
    group=FRONTIER,
    env=True,
    scrapy=True,
)
PATROLI_FRONTIER_LEASE = _define(
    "PATROLI_FRONTIER_LEASE",
    Float(minimum=1),
    60.0,
    "Seconds a worker's heartbeat lives. A worker renews it every few seconds; when it lapses (the "
    "worker was killed, or its machine went down) another worker of the run puts the requests the "
    "lost worker had taken back into the queue. Longer than a Redis outage you want to ride out "
    "without refetching pages.",
    group=FRONTIER,
    env=True,
    scrapy=True,
)
PATROLI_FRONTIER_LOCK_TTL = _define(
    "PATROLI_FRONTIER_LOCK_TTL",
    Float(minimum=1),
    300.0,
    "Seconds the per-source run lock lives in Redis without a live worker renewing it: one run per "
    "source at a time across machines (it replaces the lock file of `PATROLI_LOCK_DIR`). After it "
    "lapses a new run may start; `patroli crawl --resume` continues the lapsed one instead.",
    group=FRONTIER,
    env=True,
    scrapy=True,
)
PATROLI_FRONTIER_TTL = _define(
    "PATROLI_FRONTIER_TTL",
    Float(minimum=60),
    7 * 24 * 3600.0,
    "Seconds a run's frontier keys (queue, seen set, stats) are kept after their last use; then "
    "Redis drops them, so an abandoned run never fills it. The seen set is per run: a URL seen in "
    "one run is fetched again in the next, and a URL whose fetch failed leaves it at once.",
    group=FRONTIER,
    env=True,
    scrapy=True,
    default_doc="`604800` (7 days)",
)
PATROLI_FRONTIER_MAX_OUTAGE = _define(
    "PATROLI_FRONTIER_MAX_OUTAGE",
    Float(minimum=0),
    3600.0,
    "How long a worker waits for an unreachable Redis (retrying with backoff from 1 s to 30 s, "
    "keeping new requests and acknowledgements in memory meanwhile) before it gives up and closes "
    "with reason `frontier_unreachable`; what it had taken is then re-queued by the other workers.",
    group=FRONTIER,
    env=True,
    scrapy=True,
)
PATROLI_FRONTIER_POLITENESS = _define(
    "PATROLI_FRONTIER_POLITENESS",
    Bool(),
    True,
    "Share each host's politeness budget among all workers through Redis: at most "
    "`CONCURRENT_REQUESTS_PER_DOMAIN` requests at once and one request per `DOWNLOAD_DELAY` seconds "
    "per host across every worker (each source's `politeness` overrides both), instead of per worker.",
    group=FRONTIER,
    scrapy=True,
)

# --- models -----------------------------------------------------------------------------------

PATROLI_MODEL_DIR = _define(
    "PATROLI_MODEL_DIR",
    DIRECTORY,
    "var/models",
    "Where `patroli train` writes models and where `ACTIVE` names the model in use; the shipped "
    "default model in `classifiers/models/` is used when it has none. Also the default of "
    "`--models-dir`.",
    group=MODELS,
    env=True,
)

# --- demo -------------------------------------------------------------------------------------

PATROLI_DEMO_URL = _define(
    "PATROLI_DEMO_URL",
    Url(("http", "https"), "an http(s)://host:port URL"),
    "http://127.0.0.1:8765",
    "Where the demo sites are served; `patroli demo` sets it, and the demo entries of the registry "
    "use it (`${PATROLI_DEMO_URL:-http://127.0.0.1:8765}`).",
    group=DEMO,
    env=True,
)

# --- monitors and alerts ----------------------------------------------------------------------

PATROLI_MONITORS_ENABLED = _define(
    "PATROLI_MONITORS_ENABLED",
    Bool(),
    True,
    "Run the checks of `crawler/monitors.py` when each crawl closes; a failed check marks the run "
    "failed, with the reason, and sends a `monitor_failed` alert. Off, runs are still recorded and "
    "alerted on.",
    group=MONITORS,
    scrapy=True,
)
PATROLI_MONITOR_DROP_RATIO = _define(
    "PATROLI_MONITOR_DROP_RATIO",
    Float(minimum=0, maximum=1),
    0.5,
    "A run whose ads seen (or whose share of ads with a date or a contact) fall this much against "
    "the median of recent healthy runs fails the `volume` (or `coverage`) check.",
    group=MONITORS,
    scrapy=True,
)
PATROLI_MONITOR_MAX_ERROR_RATE = _define(
    "PATROLI_MONITOR_MAX_ERROR_RATE",
    Float(minimum=0, maximum=1),
    0.2,
    "The share of a run's pages that may fail before the `errors` check fails.",
    group=MONITORS,
    scrapy=True,
)
PATROLI_MONITOR_HISTORY = _define(
    "PATROLI_MONITOR_HISTORY",
    Int(minimum=1),
    7,
    "How many recent healthy runs of a source make its baseline.",
    group=MONITORS,
    scrapy=True,
)
PATROLI_ALERT_BACKOFF = _define(
    "PATROLI_ALERT_BACKOFF",
    Float(minimum=0),
    1.0,
    "Seconds before the first retry of a failed alert delivery (three attempts, doubling).",
    group=MONITORS,
    scrapy=True,
)
PATROLI_ALERTS = _define(
    "PATROLI_ALERTS",
    PATH,
    "",
    "The alert configuration file (channels: webhook, e-mail, Telegram; events; the risk threshold; "
    "the web app's URL for links). No file, no alerts. Format: `patroli/alerts/config.py`, example: "
    "`deploy/alerts.example.yaml`; the channels' secrets come from environment variables the file "
    "names (`password_env`, `token_env`).",
    group=MONITORS,
    env=True,
)
PATROLI_LOCK_DIR = _define(
    "PATROLI_LOCK_DIR",
    DIRECTORY,
    "var/locks",
    "Where the per-source lock files live (one crawl per source at a time, whoever starts it).",
    group=MONITORS,
    env=True,
)

# --- images and flyers -------------------------------------------------------------------------

PATROLI_IMAGES_ENABLED = _define(
    "PATROLI_IMAGES_ENABLED",
    Bool(),
    True,
    "Fetch, fingerprint and read the images ads show (Telegram photos, galleries, feed media, "
    "JSON-LD `image`, `og:image`). Off: ads keep only their image URLs.",
    group=IMAGES,
    env=True,
    scrapy=True,
)
PATROLI_IMAGES_DIR = _define(
    "PATROLI_IMAGES_DIR",
    DIRECTORY,
    "var/images",
    "Where images are kept, beside the HTML evidence: content-addressed by SHA-256 "
    "(`ab/cd/<sha256>.<ext>` with a `.json` of its fingerprints and text), so an image many ads show "
    "is kept, hashed and read once. The web app serves ad images from here.",
    group=IMAGES,
    env=True,
    scrapy=True,
)
PATROLI_IMAGES_MAX_BYTES = _define(
    "PATROLI_IMAGES_MAX_BYTES",
    Int(minimum=1024),
    8 * 1024 * 1024,
    "Largest image downloaded; a bigger one is cancelled as soon as its size is known "
    "(`too_large`). Also bounds the image an investigator looks up (web upload, `patroli search "
    "--image`).",
    group=IMAGES,
    env=True,
    scrapy=True,
    default_doc="`8388608` (8 MiB)",
)
PATROLI_IMAGES_MAX_PIXELS = _define(
    "PATROLI_IMAGES_MAX_PIXELS",
    Int(minimum=10_000),
    25_000_000,
    "Largest image decoded, in pixels (Pillow's decompression-bomb guard is set to it): more is "
    "refused before decoding (`decompression_bomb` when it is tiny on the wire, else "
    "`too_many_pixels`).",
    group=IMAGES,
    env=True,
    scrapy=True,
)
PATROLI_IMAGES_PER_AD = _define(
    "PATROLI_IMAGES_PER_AD",
    Int(minimum=0),
    4,
    "Most images fetched per ad (in page order); the rest are counted "
    "(`patroli/images/skipped/per_ad_cap`).",
    group=IMAGES,
    scrapy=True,
)
PATROLI_OCR_ENABLED = _define(
    "PATROLI_OCR_ENABLED",
    Bool(),
    True,
    "Read the text in images with Tesseract (Debian: `tesseract-ocr`, `tesseract-ocr-ind`, "
    "`tesseract-ocr-eng`). Without Tesseract the crawl says so once and goes on without image text.",
    group=IMAGES,
    env=True,
    scrapy=True,
)
PATROLI_OCR_LANGUAGES = _define(
    "PATROLI_OCR_LANGUAGES",
    Text("Tesseract language codes joined by +"),
    "ind+eng",
    "Tesseract languages (the installed ones of these are used).",
    group=IMAGES,
    env=True,
    scrapy=True,
)
PATROLI_OCR_PREPROCESS = _define(
    "PATROLI_OCR_PREPROCESS",
    Choice(("none", "gray", "gray_upscale", "gray_upscale_threshold")),
    "gray_upscale",
    "Preprocessing before OCR, chosen by measurement (`bench/ocr_quality.py`; docs/flyers.md): "
    "`gray_upscale` = grayscale, images under 800 px enlarged twice.",
    group=IMAGES,
    scrapy=True,
)
PATROLI_OCR_TIMEOUT = _define(
    "PATROLI_OCR_TIMEOUT",
    Float(minimum=1),
    30.0,
    "Seconds Tesseract may spend on one image; then it is stopped and the image kept unread.",
    group=IMAGES,
    scrapy=True,
)

# --- web app ----------------------------------------------------------------------------------

PATROLI_SECRET_KEY = _define(
    "PATROLI_SECRET_KEY",
    Text(),
    "",
    "Signs the session cookies; no default. At least 32 random characters, e.g. "
    '`python -c "import secrets; print(secrets.token_urlsafe(48))"`. A missing, short or '
    "placeholder value (`changethis`, `secret`, …) is refused at start-up. Changing it ends every "
    "session.",
    group=WEB,
    env=True,
    secret=True,
)
PATROLI_WEB_COOKIE_SECURE = _define(
    "PATROLI_WEB_COOKIE_SECURE",
    Bool(),
    True,
    "Send the session cookie only over HTTPS (browsers also accept it on `http://127.0.0.1` and "
    "`localhost`). Set `false` only behind a TLS-terminating proxy that forwards plain HTTP from "
    "another host name.",
    group=WEB,
    env=True,
)
PATROLI_WEB_SESSION_MINUTES = _define(
    "PATROLI_WEB_SESSION_MINUTES",
    Int(minimum=1),
    8 * 60,
    "How long a session lasts after logging in; logging out, a password change or disabling the "
    "account ends it earlier, everywhere.",
    group=WEB,
    env=True,
)
PATROLI_WEB_LANGUAGE = _define(
    "PATROLI_WEB_LANGUAGE",
    Choice(LANGUAGES),
    "id",
    "The interface language before a user chooses one.",
    group=WEB,
    env=True,
)
PATROLI_WEB_LOGIN_MAX_FAILURES = _define(
    "PATROLI_WEB_LOGIN_MAX_FAILURES",
    Int(minimum=1),
    5,
    "Failed logins in a row after which an account is locked.",
    group=WEB,
    env=True,
)
PATROLI_WEB_LOCKOUT_MINUTES = _define(
    "PATROLI_WEB_LOCKOUT_MINUTES",
    Int(minimum=1),
    15,
    "How long a locked account stays locked (an admin can unlock it earlier).",
    group=WEB,
    env=True,
)
PATROLI_WEB_LOGIN_RATE = _define(
    "PATROLI_WEB_LOGIN_RATE",
    Int(minimum=1),
    20,
    "Login attempts allowed per client address per 5 minutes (per server process); more get HTTP "
    "429.",
    group=WEB,
    env=True,
)
PATROLI_WEB_ALLOWED_HOSTS = _define(
    "PATROLI_WEB_ALLOWED_HOSTS",
    Text("host names separated by commas"),
    "localhost,127.0.0.1,[::1]",
    "The host names the web app answers to (the `Host` header); any other gets HTTP 400, so that no "
    "redirect ever names a foreign host. `*.example.org` allows the subdomains, `*` any host (only "
    "behind a proxy that checks the host itself). `patroli serve --host ADDRESS` adds the address "
    "it listens on.",
    group=WEB,
    env=True,
)
PATROLI_WEB_EXPORT_MAX_ROWS = _define(
    "PATROLI_WEB_EXPORT_MAX_ROWS",
    Int(minimum=1),
    10_000,
    "Most ads in one CSV or JSON export.",
    group=WEB,
    env=True,
)

PATROLI_API_RATE = _define(
    "PATROLI_API_RATE",
    Int(minimum=1),
    120,
    "HTTP API requests allowed per token per minute (per server process); more get HTTP 429 with "
    "`Retry-After`.",
    group=WEB,
    env=True,
)
PATROLI_API_TOKEN_DAYS = _define(
    "PATROLI_API_TOKEN_DAYS",
    Int(minimum=0),
    365,
    "Days a new API token stays valid (`0`: until revoked); the default of `patroli users token "
    "create --days` and of the account page.",
    group=WEB,
    env=True,
)

# --- metrics and logs -------------------------------------------------------------------------

PATROLI_LOG_FORMAT = _define(
    "PATROLI_LOG_FORMAT",
    Choice(("text", "json")),
    "text",
    "`json`: crawls, the scheduler and the web app log one JSON object per line (`time`, `level`, "
    "`component`, `run_id`, `source`, `message`) for a log shipper. Either way phone numbers, "
    "e-mail addresses, passwords, tokens and cookies are redacted from log lines.",
    group=OBSERVABILITY,
    env=True,
)
PATROLI_METRICS_PUSHGATEWAY = _define(
    "PATROLI_METRICS_PUSHGATEWAY",
    Url(("http", "https"), "an http(s)://host:port URL"),
    "",
    "A Prometheus Pushgateway: when set, every crawl pushes its run's numbers there as it closes "
    "(job `patroli_crawl`, grouped by `source`). Empty: nothing is pushed (the web app's `/metrics` "
    "still shows each source's latest run from the store).",
    group=OBSERVABILITY,
    env=True,
    scrapy=True,
)

# --- evidence, cases and takedowns -------------------------------------------------------------

PATROLI_EVIDENCE_DIR = _define(
    "PATROLI_EVIDENCE_DIR",
    DIRECTORY,
    "var/evidence",
    "Where the evidence lives: the crawl's WARC files (`warc/YYYY/MM/`, each with a JSON-lines "
    "index beside it), the capture records' screenshots (`captures/`) and the retention log. Every "
    "command that reads evidence (`patroli evidence`, `patroli case export`, the web app) uses it.",
    group=EVIDENCE,
    env=True,
    scrapy=True,
)
PATROLI_WARC_ENABLED = _define(
    "PATROLI_WARC_ENABLED",
    Bool(),
    True,
    "Write every response the crawl fetches (pages, feeds, robots.txt, images) as WARC request and "
    "response records, as sent, with SHA-256 digests; each stored ad version points at its record.",
    group=EVIDENCE,
    env=True,
    scrapy=True,
)
PATROLI_WARC_MAX_BYTES = _define(
    "PATROLI_WARC_MAX_BYTES",
    Int(minimum=1024),
    100 * 1024 * 1024,
    "A WARC file is closed and a new one started once it is this large (bytes, compressed); a "
    "crawl's files are also closed when it ends.",
    group=EVIDENCE,
    scrapy=True,
    default_doc="`104857600` (100 MiB)",
)
PATROLI_EVIDENCE_RETENTION_DAYS = _define(
    "PATROLI_EVIDENCE_RETENTION_DAYS",
    Int(minimum=0),
    0,
    "`patroli evidence prune` deletes WARC files and capture screenshots older than this many days, "
    "except those of ads held for investigation or added to a case. `0` keeps everything.",
    group=EVIDENCE,
    env=True,
)
PATROLI_CAPTURE_ENABLED = _define(
    "PATROLI_CAPTURE_ENABLED",
    Bool(),
    True,
    "After a patrol's crawls end, render each newly flagged ad's page from the archive (headless "
    "chromium, no network) into a capture record: screenshot, SHA-256, time in WIB and UTC, tool. "
    "Without chromium the step says so once and the patrol goes on; `patroli evidence capture` "
    "catches up.",
    group=EVIDENCE,
    env=True,
)
PATROLI_CHROMIUM = _define(
    "PATROLI_CHROMIUM",
    PATH,
    "/usr/bin/chromium",
    "The chromium that renders archived pages (captures, case bundles, the PDF report); Playwright "
    "drives it and never downloads a browser.",
    group=EVIDENCE,
    env=True,
)
PATROLI_TAKEDOWN_AGENCY = _define(
    "PATROLI_TAKEDOWN_AGENCY",
    Text(),
    "Kementerian Pelindungan Pekerja Migran Indonesia (KP2MI)",
    "The requesting agency named on SAMAN batches and aduankonten reports.",
    group=EVIDENCE,
    env=True,
)
PATROLI_RECHECK_TIMEOUT = _define(
    "PATROLI_RECHECK_TIMEOUT",
    Float(minimum=0.1),
    20.0,
    "Seconds `patroli takedown recheck` waits for a reported URL to answer.",
    group=EVIDENCE,
    env=True,
)

# --- clusters, networks and the agency register ----------------------------------------------

PATROLI_LINKING_ENABLED = _define(
    "PATROLI_LINKING_ENABLED",
    Bool(),
    True,
    "Place every stored ad in its template cluster and recruiter network as it is stored (in the "
    "store call, off the crawl's event loop). `false` skips it; `patroli networks rebuild` links "
    "the ads later.",
    group=NETWORKS,
    env=True,
)
PATROLI_CLUSTER_THRESHOLD = _define(
    "PATROLI_CLUSTER_THRESHOLD",
    Float(minimum=0.05, maximum=1.0),
    0.4,
    "Estimated Jaccard similarity (of word 3-gram shingles, MinHash with 64 permutations) at which "
    "two ads are versions of one template. Chosen by measurement against the demo data's truth "
    "(`bench/cluster_shingles.py`, [networks.md](networks.md)).",
    group=NETWORKS,
    env=True,
)
PATROLI_NETWORK_GENERIC_CLUSTERS = _define(
    "PATROLI_NETWORK_GENERIC_CLUSTERS",
    Int(minimum=1),
    6,
    "An identifier (phone, handle, e-mail, bank account) carried by ads of more than this many "
    "distinct template clusters is marked generic (a hotline, a platform's own number) and no "
    "longer links ads into networks.",
    group=NETWORKS,
    env=True,
)
PATROLI_NETWORK_ACTIVE_DAYS = _define(
    "PATROLI_NETWORK_ACTIVE_DAYS",
    Int(minimum=1),
    30,
    "A network is active when one of its ads was seen within this many days (the dashboard's "
    '"largest active networks").',
    group=NETWORKS,
    env=True,
)
PATROLI_REGISTER_CHECK_ENABLED = _define(
    "PATROLI_REGISTER_CHECK_ENABLED",
    Bool(),
    True,
    "Check each scored ad against the licensed-agency register (`patroli agencies import`) and "
    "adjust its risk with the register's reasons. Without an imported register nothing changes.",
    group=NETWORKS,
    scrapy=True,
)

# --- tests ------------------------------------------------------------------------------------

PATROLI_TEST_ENGINES_DIR = _define(
    "PATROLI_TEST_ENGINES_DIR",
    DIRECTORY,
    "var/engines",
    "Where `make engines` puts the OpenSearch class path and the Elasticsearch distribution that "
    "the tests and `bench/index_throughput.py` start (relative to the repository).",
    group=TESTS,
    env=True,
)
PATROLI_TEST_ENGINE_HEAP = _define(
    "PATROLI_TEST_ENGINE_HEAP",
    Text("a Java heap size such as 512m or 1g"),
    "512m",
    "The Java heap of each test engine.",
    group=TESTS,
    env=True,
)

BY_NAME: dict[str, Setting[Any]] = {setting.name: setting for setting in SETTINGS}
BY_ENV: dict[str, Setting[Any]] = {s.env: s for s in SETTINGS if s.env}
