"""FlyerImagesPipeline: the images an ad shows, fetched through Scrapy's media pipeline, checked,
kept by content, fingerprinted and read (OCR) in the worker pool.

Settings: ``PATROLI_IMAGES_ENABLED``, ``PATROLI_IMAGES_DIR``, ``PATROLI_IMAGES_MAX_BYTES``,
``PATROLI_IMAGES_MAX_PIXELS``, ``PATROLI_IMAGES_PER_AD``, ``PATROLI_OCR_ENABLED``,
``PATROLI_OCR_LANGUAGES``, ``PATROLI_OCR_PREPROCESS``, ``PATROLI_OCR_TIMEOUT``, ``PATROLI_WORKERS``
and Scrapy's ``FILES_EXPIRES`` (days before a URL's image is fetched again).

Downloads go through the crawl's own downloader (robots.txt, AutoThrottle, the user agent) with a
byte cap, no redirects and one retry. Images are hostile: the type is sniffed from the bytes
(never SVG, whatever the server claims), the pixel count is checked before decoding, and decoding,
hashing and OCR run in a worker process. Each refusal is counted
(``patroli/images/refused/<reason>``) and the ad goes on without that image. An image kept once
(same SHA-256) is never decoded or read again, whichever ad shows it.

The item gets ``images`` (one record per image, refused ones with their reason), ``image_text``
(what was read, in image order: extraction and the classifier read it with the caption) and
``image_keys`` (the flyer look-up keys of its linkable images, ``patroli.images.bands``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from concurrent.futures import Executor
from typing import Any, ClassVar, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotConfigured,
)
from scrapy.http import Request, Response
from scrapy.pipelines.files import FilesPipeline
from scrapy.pipelines.media import FileException, FileInfo, FileInfoOrError, MediaPipeline
from twisted.python.failure import Failure

from crawler.items import JobAd
from patroli.config.table import (
    PATROLI_IMAGES_DIR,
    PATROLI_IMAGES_ENABLED,
    PATROLI_IMAGES_MAX_BYTES,
    PATROLI_IMAGES_MAX_PIXELS,
    PATROLI_IMAGES_PER_AD,
    PATROLI_OCR_ENABLED,
    PATROLI_OCR_LANGUAGES,
    PATROLI_OCR_PREPROCESS,
    PATROLI_OCR_TIMEOUT,
    PATROLI_WORKERS,
)
from patroli.images.bands import image_keys
from patroli.images.files import ImageFiles, sha256_of
from patroli.images.inspect import inspect_image
from patroli.images.ocr import tesseract_status
from patroli.images.sniff import ALLOWED, sniff
from pipelines.offload import WorkerPool, run_in

logger = logging.getLogger(__name__)

STAT = "patroli/images"
# What each image record keeps of the inspection (the rest stays in the image's sidecar file).
RECORD_KEYS = (
    "sha256",
    "kind",
    "width",
    "height",
    "bytes",
    "phash",
    "dhash",
    "phash_mirror",
    "dhash_mirror",
    "linkable",
    "low_information",
    "ocr",
    "ocr_text",
)


class ImageRefused(FileException):
    """Raised for a refused image; ``reason`` is its stats key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def failure_reason(failure: Failure) -> str:
    """The stats key of a failed image download."""
    error = failure.value
    if isinstance(error, ImageRefused):
        return error.reason
    if isinstance(error, DownloadCancelledError | asyncio.CancelledError) and "max size" in str(
        error
    ):
        return "too_large"
    if isinstance(error, DownloadTimeoutError | TimeoutError):
        return "timeout"
    if isinstance(error, IgnoreRequest):
        return "not_allowed"  # robots.txt, or another middleware's refusal
    return "download_failed"


class FlyerImagesPipeline(FilesPipeline):
    LOG_FAILED_RESULTS = False  # each refusal is logged once, as one line, below
    _ocr_said: ClassVar[bool] = False  # "Tesseract is missing" is said once per process

    def __init__(self, store_uri: str, *, crawler: Crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        settings = crawler.settings
        assert crawler.stats is not None  # noqa: S101 - Scrapy sets it before components
        self.stats = crawler.stats
        self.files = ImageFiles(store_uri)
        self.max_bytes = PATROLI_IMAGES_MAX_BYTES.from_settings(settings)
        self.max_pixels = PATROLI_IMAGES_MAX_PIXELS.from_settings(settings)
        self.per_ad = PATROLI_IMAGES_PER_AD.from_settings(settings)
        self.ocr_wanted = PATROLI_OCR_ENABLED.from_settings(settings)
        self.ocr_languages_wanted = PATROLI_OCR_LANGUAGES.from_settings(settings)
        self.ocr_mode = PATROLI_OCR_PREPROCESS.from_settings(settings)
        self.ocr_timeout = PATROLI_OCR_TIMEOUT.from_settings(settings)
        self.workers = PATROLI_WORKERS.from_settings(settings)
        self.ocr_languages = ""  # the usable languages, once checked
        self.executor: Executor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not PATROLI_IMAGES_ENABLED.from_settings(settings):
            raise NotConfigured("PATROLI_IMAGES_ENABLED is off")
        return cls(PATROLI_IMAGES_DIR.from_settings(settings), crawler=crawler)

    async def open_spider(self) -> None:  # type: ignore[override]
        MediaPipeline.open_spider(self)
        self.executor = WorkerPool.acquire(self.workers)
        if self.ocr_wanted:
            status = await run_in(self.executor, tesseract_status, self.ocr_languages_wanted)
            self.ocr_languages = status.languages if status.available else ""
            if not status.available and not FlyerImagesPipeline._ocr_said:
                FlyerImagesPipeline._ocr_said = True
                logger.warning("%s", status.message)
            self.stats.set_value(f"{STAT}/ocr", status.message)

    async def close_spider(self) -> None:
        if self.executor is not None:
            self.executor = None
            await asyncio.to_thread(WorkerPool.release)

    # --- which images, and how they are asked for -----------------------------------------

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        urls = list(dict.fromkeys(getattr(item, "image_urls", None) or []))
        if len(urls) > self.per_ad:
            self.stats.inc_value(f"{STAT}/skipped/per_ad_cap", len(urls) - self.per_ad)
            urls = urls[: self.per_ad]
        meta = {
            "download_maxsize": self.max_bytes,
            "download_warnsize": 0,
            "max_retry_times": 1,
            "dont_redirect": True,
            "patroli_image": True,
        }
        return [
            Request(url, meta=dict(meta)) for url in urls if url.startswith(("http://", "https://"))
        ]

    def media_to_download(  # type: ignore[override]
        self, request: Request, info: MediaPipeline.SpiderInfo, *, item: Any = None
    ) -> FileInfo | None:
        """An image this URL gave recently (``FILES_EXPIRES`` days) is not fetched again."""
        sha256 = self.files.known_url(request.url, self.expires * 86400)
        if sha256 is None or self._unread(self.files.facts(sha256)):
            return None
        self.stats.inc_value(f"{STAT}/uptodate")
        return self._info(request.url, sha256, self.files.facts(sha256) or {}, "uptodate")

    # --- what came back ---------------------------------------------------------------------

    async def media_downloaded(
        self,
        response: Response,
        request: Request,
        info: MediaPipeline.SpiderInfo,
        *,
        item: Any = None,
    ) -> FileInfo:
        self.stats.inc_value(f"{STAT}/responses")
        if response.status != 200:
            raise ImageRefused("http_error", str(response.status))
        body = response.body
        if len(body) > self.max_bytes:
            raise ImageRefused("too_large", f"{len(body)} bytes")
        kind = sniff(body)
        if kind not in ALLOWED:
            raise ImageRefused(
                kind, (response.headers.get("Content-Type") or b"").decode("latin-1")[:60]
            )
        sha256 = sha256_of(body)
        facts = self.files.facts(sha256)
        if facts is not None and not self._unread(facts):
            self.stats.inc_value(f"{STAT}/deduplicated")  # kept already: another ad, another URL
        else:
            assert self.executor is not None  # noqa: S101 - open_spider ran
            facts = await run_in(
                self.executor,
                _inspect,
                body,
                self.max_pixels,
                self.ocr_languages,
                self.ocr_mode,
                self.ocr_timeout,
            )
            if not facts.pop("ok"):
                raise ImageRefused(facts["reason"], facts.get("detail", ""))
            if self.ocr_wanted and not self.ocr_languages:
                facts["ocr"] = "unavailable"  # read it when Tesseract is there
            await asyncio.to_thread(self.files.put, sha256, facts["kind"], body, facts)
            self.stats.inc_value(f"{STAT}/stored")
            if facts.get("ocr") == "done":
                self.stats.inc_value(f"{STAT}/ocr_read")
        await asyncio.to_thread(self.files.remember_url, request.url, sha256)
        return self._info(request.url, sha256, facts, "downloaded")

    def _unread(self, facts: dict[str, Any] | None) -> bool:
        """A kept image that was not read because OCR was off or missing then, and can be now."""
        return bool(facts and self.ocr_languages and facts.get("ocr") in ("off", "unavailable"))

    def _info(self, url: str, sha256: str, facts: dict[str, Any], status: str) -> FileInfo:
        record = {key: facts.get(key) for key in RECORD_KEYS}
        record["sha256"] = sha256
        path = (
            str(self.files.path(sha256, facts["kind"]).relative_to(self.files.directory))
            if facts.get("kind")
            else ""
        )
        return {"url": url, "path": path, "checksum": sha256, "status": status, "image": record}  # type: ignore[typeddict-unknown-key]

    def media_failed(  # type: ignore[override]
        self, failure: Failure, request: Request, info: MediaPipeline.SpiderInfo
    ) -> None:
        reason = failure_reason(failure)
        self.stats.inc_value(f"{STAT}/refused")
        self.stats.inc_value(f"{STAT}/refused/{reason}")
        logger.warning("image refused (%s): %s", reason, request.url[:200])
        raise ImageRefused(reason, str(failure.value)[:200])

    def item_completed(
        self, results: list[FileInfoOrError], item: Any, info: MediaPipeline.SpiderInfo
    ) -> Any:
        if not isinstance(item, JobAd):
            return item
        requested = self.get_requested_urls(item)
        images: list[dict[str, Any]] = []
        for url, (_ok, value) in zip(requested, results, strict=False):
            if not isinstance(value, Failure):
                images.append({"url": url, **value["image"]})  # type: ignore[typeddict-item]
            else:
                error = value.value
                reason = error.reason if isinstance(error, ImageRefused) else "download_failed"
                images.append({"url": url, "refused": reason})
        item.images = images
        item.image_text = "\n\n".join(i["ocr_text"] for i in images if i.get("ocr_text")).strip()
        keys: list[str] = []
        for image in images:
            if image.get("linkable") and image.get("phash"):
                keys += [k for k in image_keys(image["phash"], image["dhash"]) if k not in keys]
        item.image_keys = keys
        shas = [i["sha256"] for i in images if i.get("sha256")]
        if shas:  # a new flyer under the same caption is a new version of the ad
            item.content_hash = hashlib.sha256(
                "\x1f".join([item.content_hash, *shas]).encode()
            ).hexdigest()[:32]
        if images:
            self.stats.inc_value(f"{STAT}/ads_with_images")
        if item.image_text:
            self.stats.inc_value(f"{STAT}/ads_with_image_text")
        return item

    def get_requested_urls(self, item: JobAd) -> list[str]:
        urls = list(dict.fromkeys(item.image_urls or []))[: self.per_ad]
        return [u for u in urls if u.startswith(("http://", "https://"))]

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: MediaPipeline.SpiderInfo | None = None,
        *,
        item: Any = None,
    ) -> str:
        # Not used for storage (files are kept by content, ``patroli.images.files``); a stable name.
        return hashlib.sha256(request.url.encode()).hexdigest()


def _inspect(
    data: bytes, max_pixels: int, languages: str, mode: str, timeout: float
) -> dict[str, Any]:
    return inspect_image(
        data, max_pixels=max_pixels, ocr_languages=languages, ocr_mode=mode, ocr_timeout=timeout
    )
