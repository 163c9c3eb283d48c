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

# --- scope: a crawl stays on its source's hosts, over http(s), off private addresses ------------
# (crawler/scope.py, crawler/addresses.py; budgets: crawler/budget.py; docs/sources.md#crawl-scope)
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "data": None, "s3": None}
TWISTED_DNS_RESOLVER = "crawler.addresses.GuardedResolver"
DOWNLOADER_MIDDLEWARES = {
    "crawler.scope.CrawlScopeMiddleware": 50,  # before robots.txt (100) fetches anything
    # Retries that wait longer each time (and honour Retry-After) instead of Scrapy's immediate ones.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.incremental.IncrementalMiddleware": 560,
    # After the incremental skip (only requests that go out count); before retries in the exception
    # chain (a refused address is not retried).
    "crawler.budget.CrawlBudgetMiddleware": 570,
    "crawler.addresses.AddressGuardMiddleware": 575,
}
# Every response as sent, in WARC files; each ad points at its record (crawler/warcarchive.py).
SPIDER_MIDDLEWARES = {
    "crawler.budget.BudgetOutputMiddleware": 50,
    "crawler.warcarchive.WarcArchiveMiddleware": 950,
}
TELNETCONSOLE_ENABLED = False
# Scrapy's remote control runs any code sent to it with its token: off unless PATROLI_REMOTE_CONTROL
# (at the end) asks for it; crawler/extensions/jobfiles.py removes the job files of killed crawls.
REMOTE_CONTROL_ENABLED = False

# --- when each run closes: monitors, run history, alerts (crawler/extensions/runrecorder.py) ----
EXTENSIONS = {
    "crawler.extensions.runrecorder.CrawlRunRecorder": 500,
    # after the recorder, which names the run: redacted logs, JSON lines with PATROLI_LOG_FORMAT=json
    "crawler.extensions.logs.StructuredLogs": 510,
    "crawler.extensions.jobfiles.StaleJobFiles": 0,
}

# --- the flow of an ad: normalize -> images -> extract -> dedupe -> classify -> store ---------
ITEM_PIPELINES = {
    "pipelines.normalize.NormalizeTextPipeline": 100,
    "pipelines.images.FlyerImagesPipeline": 150,
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
    # JSON lines come from patroli's handler (crawler/extensions/logs.py), not Scrapy's text one.
    LOG_ENABLED = table.PATROLI_LOG_FORMAT.from_env() != "json"
    REMOTE_CONTROL_ENABLED = table.PATROLI_REMOTE_CONTROL.from_env()
except config.SettingError as exc:
    # `scrapy crawl` and Scrapyd import this module first: say what is wrong, not a traceback.
    raise SystemExit(f"patroli: {exc}") from None
