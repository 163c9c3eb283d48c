"""The web app in a real browser (Debian's chromium driven by Playwright; no browser download).

Log in, review from the queue with a keyboard shortcut and find the decision in the audit log,
search with a filter and export, be refused as the wrong role, and open an ad whose text and
evidence carry script payloads that must never run. Screenshots go to reports/screenshots/.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from patroli.storage import Store
from tests.helpers.webkit import PASSWORDS, XSS_AD, Canary, LiveServer, seed_store, web_settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "reports" / "screenshots"


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    with Canary() as server:
        yield server


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, canary: Canary) -> Iterator[Store]:
    store = seed_store(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'web.db'}", canary.url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def server(seeded: Store) -> Iterator[LiveServer]:
    with LiveServer(seeded, web_settings()) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # A missing browser fails the suite (never a skip): `make test` installs Debian's chromium.
    assert shutil.which(CHROMIUM), (
        f"{CHROMIUM} is missing: apt-get install chromium (make test does)"
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def login(page: Page, base: str, name: str, password: str | None = None) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password or PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_load_state()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_login_refuses_a_wrong_password_then_lets_the_user_in(
    page: Page, server: LiveServer
) -> None:
    login(page, server.url, "ana", "salah-sekali-123")
    assert page.url.startswith(f"{server.url}/login")
    assert page.locator("p.error").is_visible()
    login(page, server.url, "ana")
    assert page.url == f"{server.url}/queue"
    assert page.locator("h1").inner_text().startswith("Antrean tinjauan")


def test_review_from_the_queue_with_a_keyboard_shortcut_shows_in_the_audit_log(
    browser: Browser, page: Page, server: LiveServer, seeded: Store
) -> None:
    login(page, server.url, "ana")
    page.goto(f"{server.url}/queue?sort=risk")
    rows = page.locator("#queue tbody tr")
    before = rows.count()
    assert before >= 5
    shot(page, "queue")
    page.keyboard.press("j")  # move to the second row
    second = rows.nth(1)
    assert "selected" in (second.get_attribute("class") or "")
    target = second.get_attribute("data-ad")
    assert target
    page.keyboard.press("c")  # confirmed illegal
    page.wait_for_url("**/queue?*done=confirmed*")
    assert page.locator("p.ok").is_visible()
    assert page.locator(f'#queue tbody tr[data-ad="{target}"]').count() == 0
    assert seeded.get_ad(target)["status"] == "confirmed"
    assert seeded.get_ad(target)["reviewed_by"] == "ana"

    admin = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    login(admin, server.url, "adi")
    admin.goto(f"{server.url}/admin/audit?actor=ana")
    row = admin.locator("#audit tbody tr[data-action=review]").first
    text = row.inner_text()
    assert target in text
    assert "ana" in text
    assert "new → confirmed" in text  # before → after
    admin.context.close()


def test_ad_page_and_dashboard(page: Page, server: LiveServer) -> None:
    login(page, server.url, "adi")
    page.goto(f"{server.url}/ads/sa0000000000000000000001")
    marks = page.locator("#ad-text mark.cue")
    assert marks.count() >= 2
    assert any("ziarah" in m.lower() for m in marks.all_inner_texts())
    assert page.locator("ol.reasons li.found").count() >= 2
    page.keyboard.press("e")  # escalate with the shortcut on the ad page
    page.wait_for_url("**done=escalated")
    assert "dieskalasi" in page.locator(".meta").inner_text()
    shot(page, "ad")
    page.goto(f"{server.url}/")
    assert page.locator("svg.chart rect").count() > 0
    shot(page, "dashboard")


def test_search_with_a_filter_and_export(page: Page, server: LiveServer) -> None:
    login(page, server.url, "ivan")
    assert page.url == f"{server.url}/search"
    page.fill("input[name=q]", "kamboja country:KH")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=kamboja*")
    hits = page.locator("article.hit")
    assert hits.count() >= 2
    assert page.locator("article.hit .snippet mark").count() >= 1
    shot(page, "search")
    with page.expect_download() as info:
        page.click("#export-csv")
    path = info.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    assert len(rows) == hits.count()
    assert all("KH" in row["countries"] for row in rows)
    # An entity page from a phone chip lists every ad carrying it, across sources.
    page.locator("article.hit a.chip", has_text="+6281255512345").first.click()
    page.wait_for_url("**/entities/phone/**")
    assert page.locator("main table tbody tr").count() == 4
    assert {"demo_telegram", "demo_pasarloka", "demo_kerjanusa"} <= set(
        page.locator("main table tbody td:nth-child(3)").all_inner_texts()
    )


def test_the_wrong_role_is_refused(page: Page, server: LiveServer, seeded: Store) -> None:
    login(page, server.url, "ivan")
    response = page.goto(f"{server.url}/queue")
    assert response is not None
    assert response.status == 403
    assert "Peran Anda tidak mengizinkan" in page.content()
    assert page.locator("nav a[href='/queue']").count() == 0  # not even offered
    page.goto(f"{server.url}/ads/kh0000000000000000000002")
    assert page.locator("#decide").count() == 0  # investigators read ads but do not decide
    page.keyboard.press("c")
    assert seeded.get_ad("kh0000000000000000000002")["status"] == "new"


def test_script_payloads_in_an_ad_never_run(page: Page, server: LiveServer, canary: Canary) -> None:
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    blocked: list[str] = []
    page.context.on("request", lambda request: requests.append(request.url))
    page.context.on(
        "requestfailed",
        lambda request: blocked.append(request.url) if request.failure == "csp" else None,
    )
    login(page, server.url, "adi")
    for path in (f"/ads/{XSS_AD}", "/queue", "/search?q=kamboja", "/entities/handle/@rekrut_kh"):
        page.goto(f"{server.url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{server.url}/ads/{XSS_AD}")
    page.wait_for_load_state("networkidle")
    assert "<script>" in page.locator("#ad-text").inner_text()  # shown as text
    assert page.locator("h1").inner_text().startswith("<script>")
    page.get_by_text("klik di sini").click()  # the javascript: "link" is just text
    page.wait_for_timeout(300)
    frame = page.frame_locator("iframe.evidence").first
    assert (
        frame.locator("p").inner_text() == "bukti iklan"
    )  # the evidence renders, without its scripts
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert canary.hits == []
    # The app's own pages never even try; the sandboxed evidence tries an <img> and the
    # frame's CSP stops it inside the browser: nothing reaches the network.
    attempts = [url for url in requests if url.startswith(canary.url)]
    assert all(url.startswith(f"{canary.url}/evidence-") for url in attempts), attempts
    assert sorted(attempts) == sorted(blocked)
    assert page.locator("a[href^='javascript:']").count() == 0
