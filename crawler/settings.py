"""Scrapy and patroli settings, grouped, each with its default. Documented in docs/settings.md.

Deployment values come from the environment here and nowhere else; ``patroli`` command-line
options override them at the "cmdline" priority.
"""

from __future__ import annotations

import os

BOT_NAME = "patroli"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = os.environ.get("PATROLI_LOG_LEVEL", "INFO")
FEED_EXPORT_ENCODING = "utf-8"

# --- politeness: an honest crawler that identifies itself and backs off ---------------------
USER_AGENT = os.environ.get(
    "PATROLI_USER_AGENT",
    "patroli/0.1 (cyber-patrol for migrant-worker protection; +https://github.com/patroli/patroli)",
)
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.25
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024  # a job ad page is far smaller; anything bigger is not one
DOWNLOAD_WARNSIZE = 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3  # the first request plus three retries
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
COOKIES_ENABLED = False
DOWNLOADER_MIDDLEWARES = {
    # Retries that wait longer each time (and honour Retry-After) instead of Scrapy's immediate ones.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.incremental.IncrementalMiddleware": 560,
}
PATROLI_RETRY_BACKOFF_BASE = 1.0  # seconds before the first retry; doubles each time
PATROLI_RETRY_BACKOFF_MAX = 60.0
PATROLI_INCREMENTAL_ENABLED = True

# --- when each run closes: monitors, run history, alerts (crawler/extensions/runrecorder.py) ----
EXTENSIONS = {"crawler.extensions.runrecorder.CrawlRunRecorder": 500}
PATROLI_MONITORS_ENABLED = True
PATROLI_MONITOR_DROP_RATIO = 0.5  # ads seen, or their coverage, down this much against recent runs
PATROLI_MONITOR_MAX_ERROR_RATE = 0.2  # share of pages that may fail
PATROLI_MONITOR_HISTORY = 7  # recent healthy runs to compare with
PATROLI_ALERT_BACKOFF = 1.0  # seconds before the first retry of an alert; doubles
TELNETCONSOLE_ENABLED = False

# --- the flow of an ad: normalize -> extract -> dedupe -> classify -> store -------------------
ITEM_PIPELINES = {
    "pipelines.normalize.NormalizeTextPipeline": 100,
    "pipelines.extract.ExtractEntitiesPipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.classify.ClassifyPipeline": 400,
    "pipelines.store.StorePipeline": 900,
}
CONCURRENT_ITEMS = 100

# --- patroli ------------------------------------------------------------------------------
PATROLI_STORE_URL = os.environ.get("PATROLI_STORE", "sqlite:///var/patroli.db")
PATROLI_STORE_BATCH_SIZE = 500  # one bulk request of ~500 ads: what the engines handle best
PATROLI_MODEL_PATH = os.environ.get("PATROLI_MODEL_PATH", "")  # empty: the registry's active model
PATROLI_CLASSIFY_BATCH_SIZE = 64
PATROLI_EXTRACT_BATCH_SIZE = 64
PATROLI_WORKERS = int(os.environ.get("PATROLI_WORKERS", max(1, (os.cpu_count() or 2) - 1)))
PATROLI_CLASSIFY_ENABLED = True
PATROLI_LANGUAGE = os.environ.get("PATROLI_LANGUAGE", "id")
PATROLI_TEXT_MAX_CHARS = 20_000  # longer texts are cut: hostile input must not cost unbounded CPU
PATROLI_SNAPSHOT_MAX_BYTES = 256 * 1024
PATROLI_SOURCES = os.environ.get("PATROLI_SOURCES", "")  # empty: crawler/sources.yaml
PATROLI_SPOOL_DIR = os.environ.get("PATROLI_SPOOL_DIR", "")  # empty: var/spool
PATROLI_SPOOL_RETRY_SECONDS = 30.0  # while the store is down, ask it again this often
