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
FRONTIER = Group(
    "Distributed crawling (Redis frontier)",
    "Empty `PATROLI_FRONTIER` (the default) crawls in one process with Scrapy's own scheduler. With a "
    "`redis://` URL, `patroli crawl` and `patroli worker` processes on any number of machines share "
    "one frontier per source run: the request queue, the duplicate filter, the run lock, in-flight "
    "requests, the per-host politeness budget and the run's stats live in Redis "
    "(`crawler/frontier/`, built on scrapy-redis). Sizing: [scale.md](scale.md).",
)
TESTS = Group("Tests")
GROUPS = (STORE, ENGINES, CLASSIFICATION, CRAWLING, FRONTIER, MODELS, DEMO, MONITORS, WEB, TESTS)

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
    "Longer ad texts are cut: crawled content is hostile and must not cost unbounded work.",
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
PATROLI_WEB_EXPORT_MAX_ROWS = _define(
    "PATROLI_WEB_EXPORT_MAX_ROWS",
    Int(minimum=1),
    10_000,
    "Most ads in one CSV or JSON export.",
    group=WEB,
    env=True,
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
