"""Per-run budgets of a source (crawler/budget.py): requests, depth, bytes and wall time, each with a
counted, reported stop; the registry's ``budget`` wins over the ``PATROLI_BUDGET_*`` settings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from crawler.budget import Budget, BudgetOutputMiddleware, CrawlBudgetMiddleware, OverBudget
from crawler.runs import summarize
from crawler.sources import SourceConfig
from tests.helpers.components import build, crawler_with, stats


def budget_middleware(**settings: Any) -> CrawlBudgetMiddleware:
    """The middleware of a crawl that has not started: a stop is counted, nothing to close."""
    return build(CrawlBudgetMiddleware, crawler_with(**settings))


def test_the_registry_budget_wins_over_the_settings() -> None:
    settings = {"PATROLI_BUDGET_REQUESTS": "70", "PATROLI_BUDGET_DEPTH": 9}
    source = SourceConfig(name="s", kind="feed", budget={"requests": 5, "seconds": 30})
    assert Budget.of(source, settings) == Budget(
        requests=5, depth=9, bytes=256 * 1024 * 1024, seconds=30.0
    )
    assert Budget.of(None, {}).requests == 5000


def test_requests_past_the_budget_stop_the_crawl_and_are_counted() -> None:
    middleware = budget_middleware(PATROLI_BUDGET_REQUESTS=3)
    for n in range(3):
        assert middleware.process_request(Request(f"http://demo.test/{n}")) is None
    with pytest.raises(OverBudget, match="request budget"):
        middleware.process_request(Request("http://demo.test/3"))
    with pytest.raises(OverBudget, match="requests budget"):
        middleware.process_request(Request("http://demo.test/4"))  # everything after it too
    assert middleware.spent == "requests"
    assert stats(middleware.crawler)["patroli/budget/stopped"] == "requests"


def test_a_request_deeper_than_the_budget_is_refused_but_the_crawl_goes_on() -> None:
    middleware = budget_middleware(PATROLI_BUDGET_DEPTH=2)
    assert middleware.process_request(Request("http://demo.test/a", meta={"depth": 2})) is None
    with pytest.raises(OverBudget, match="depth budget"):
        middleware.process_request(Request("http://demo.test/b", meta={"depth": 3}))
    assert middleware.process_request(Request("http://demo.test/c", meta={"depth": 1})) is None
    assert middleware.spent == ""
    assert stats(middleware.crawler)["patroli/budget/depth_refused"] == 1


def test_bytes_past_the_budget_stop_the_crawl() -> None:
    middleware = budget_middleware(PATROLI_BUDGET_BYTES=2048)
    request = Request("http://demo.test/big")
    for _ in range(2):
        answer = HtmlResponse(request.url, body=b"x" * 1500, request=request)
        assert middleware.process_response(request, answer) is answer
    assert middleware.spent == "bytes"


def test_wall_time_past_the_budget_stops_the_crawl() -> None:
    middleware = budget_middleware(PATROLI_BUDGET_SECONDS=1)

    async def run() -> None:
        middleware.spider_opened()
        await asyncio.sleep(1.3)

    asyncio.run(run())
    assert middleware.spent == "seconds"
    middleware.spider_closed()


def test_once_spent_the_rest_of_a_page_is_not_read() -> None:
    middleware = budget_middleware(PATROLI_BUDGET_REQUESTS=1)
    output = build(BudgetOutputMiddleware, middleware.crawler)
    middleware.crawler.get_downloader_middleware = lambda cls: middleware  # type: ignore[method-assign]
    produced: list[int] = []

    async def page() -> Any:
        for n in range(20_000):
            produced.append(n)
            if n == 5:
                middleware.stop("requests")
            yield Request(f"http://demo.test/{n}")

    async def read() -> list[Any]:
        return [r async for r in output.process_spider_output(None, page())]  # type: ignore[arg-type]

    assert len(asyncio.run(read())) == 5  # the ones before the budget was spent
    assert len(produced) == 6  # the page was left at its first request after that
    assert stats(middleware.crawler)["patroli/budget/dropped"] == 1


def test_a_budget_stop_is_a_degraded_run_with_a_note() -> None:
    crawler = crawler_with()
    assert crawler.stats is not None
    for key, value in {
        "start_time": "2026-11-28T02:00:00+00:00",
        "finish_reason": "budget_requests",
        "patroli/budget/stopped": "requests",
        "item_scraped_count": 140,
        "response_received_count": 150,
    }.items():
        crawler.stats.set_value(key, value)
    run = summarize(SourceConfig(name="flood", kind="classifieds"), crawler)
    assert run.status == "degraded"
    assert any("requests budget of this run was spent" in note for note in run.notes)
