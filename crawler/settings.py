"""Scrapy's settings module (``scrapy.cfg``): Scrapy's own settings here, patroli's from the table.

Every ``PATROLI_*`` setting is defined once, with its type, default, help and environment variable,
in ``patroli/config/table.py`` (documented in docs/settings.md); the ones marked ``scrapy`` are
added at the end, each from its environment variable or its default. ``patroli`` command-line options
and ``-s NAME=VALUE`` override them at the "cmdline" priority.
"""

from __future__ import annotations

from patroli import config
from patroli.config import table

BOT_NAME = "patroli"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"

# --- politeness: an honest crawler that identifies itself and backs off ---------------------
# USER_AGENT comes from PATROLI_USER_AGENT (at the end), an honest agent naming the project.
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
# Every response as sent, in WARC files; each ad points at its record (crawler/warcarchive.py).
SPIDER_MIDDLEWARES = {"crawler.warcarchive.WarcArchiveMiddleware": 950}
TELNETCONSOLE_ENABLED = False

# --- when each run closes: monitors, run history, alerts (crawler/extensions/runrecorder.py) ----
EXTENSIONS = {"crawler.extensions.runrecorder.CrawlRunRecorder": 500}

# --- the flow of an ad: normalize -> extract -> dedupe -> classify -> store -------------------
ITEM_PIPELINES = {
    "pipelines.normalize.NormalizeTextPipeline": 100,
    "pipelines.extract.ExtractEntitiesPipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.classify.ClassifyPipeline": 400,
    "pipelines.register.RegisterCheckPipeline": 450,
    "pipelines.store.StorePipeline": 900,
}
CONCURRENT_ITEMS = 100


# --- patroli's own settings (patroli/config/table.py), and the two it feeds into Scrapy's ----------
try:
    globals().update(config.scrapy_settings())
    USER_AGENT = table.PATROLI_USER_AGENT.from_env()
    LOG_LEVEL = table.PATROLI_LOG_LEVEL.from_env()
except config.SettingError as exc:
    # `scrapy crawl` and Scrapyd import this module first: say what is wrong, not a traceback.
    raise SystemExit(f"patroli: {exc}") from None
