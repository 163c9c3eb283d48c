"""A small, realistic internet on 127.0.0.1: classifieds, Telegram previews, a job board, a feed.

``patroli demo-sites --port N`` serves it; ``make run``, the tests and the benchmarks crawl it.
Markup follows the real platforms (see ``patroli/demosites/FIXTURES.md`` for where each structure comes
from). Faults can be switched on per site while it runs, to rehearse what a crawl must survive::

    POST /__demo__/faults  site=pasarloka&mode=layout     # ok | error | layout | empty

``error`` answers 500 everywhere, ``layout`` renames the markup the spiders rely on (a redesign),
``empty`` shows listings without ads, ``broken`` makes some pages in the middle of a listing answer
404 and 500, ``encoding`` serves legacy 8-bit pages (windows-1252 HTML, ISO-8859-1 XML) with
characters outside them as numeric references, ``removed`` takes the first three ads of each listing
down (gone from the listing, their pages 404), as moderators or recruiters do, and ``edited`` changes
the first ad of each listing (a new salary in its title), as recruiters do when they repost. ``hostile`` (classifieds) makes the
first ads of the jobs listing show hostile "images": a decompression bomb, an SVG with a script, a
50 MB image and an HTML page served as ``image/jpeg`` (``patroli.demosites.flyers.HOSTILE``).

Images: flyers (``data/flyers.jsonl``, rendered by ``patroli.demosites.flyers``) and their reposted
variations under each site's media path, stock photos for Telegram photo posts, the classifieds
site's grey placeholder.

Like most real servers it compresses text for clients that accept gzip (``Content-Encoding: gzip``,
``Vary: Accept-Encoding``, the ETag made weak as nginx does), so the crawl's evidence keeps the
bytes as sent, not a decompressed copy.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from patroli.demosites import flyers
from patroli.demosites.bench import bench_ad, bench_listing
from patroli.demosites.data import PRIVATE_CHANNEL, DemoData, load_demo_data
from patroli.demosites.hostile import HostileSites

logger = logging.getLogger(__name__)

SITES = ("pasarloka", "tg", "kerjanusa", "rss-bridge", "agensi")
FAULT_MODES = (
    "ok",
    "error",
    "layout",
    "empty",
    "broken",
    "encoding",
    "removed",
    "edited",
    "hostile",
)
PAGE_SIZE = 20
TELEGRAM_PAGE_SIZE = 20
GZIP_MIN_BYTES = 256  # smaller bodies are sent as they are (nginx's gzip_min_length, roughly)
_COMPRESSIBLE = (
    "text/",
    "application/xml",
    "application/rss",
    "application/atom",
    "application/json",
)
CATEGORIES = {
    "lowongan-kerja_c4": ("lowongan-kerja", "Lowongan Kerja"),
    "jasa_c5": ("jasa", "Jasa"),
    "jual-beli_c6": ("jual-beli", "Jual Beli"),
}
# What a redesign renames: the hooks each spider relies on.
_LAYOUT_CHANGES: dict[str, list[tuple[str, str]]] = {
    "pasarloka": [
        ('data-aut-id="itemBox"', 'data-testid="listing-card"'),
        ('data-aut-id="itemTitle"', 'data-testid="ad-title"'),
        ('data-aut-id="itemDescriptionContent"', 'data-testid="ad-body"'),
    ],
    "tg": [
        ("tgme_widget_message_wrap", "tgme_post_wrap"),
        ("tgme_widget_message ", "tgme_post "),
        ("tgme_widget_message_text", "tgme_post_text"),
    ],
    "kerjanusa": [('type="application/ld+json"', 'type="application/x-hydration+json"')],
    "agensi": [
        ('itemtype="https://schema.org/JobPosting"', 'data-type="lowongan"'),
        ("<urlset", "<urls"),
        ("</urlset>", "</urls>"),
        ("<sitemapindex", "<maps"),
        ("</sitemapindex>", "</maps>"),
        ('class="post ', 'class="card '),
    ],
}
_EMOJI_RE = re.compile(
    "([\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2705\u274c\u203c\u2049][\ufe0f\u200d"
    "\U0001f3fb-\U0001f3ff]*|[\U0001f1e6-\U0001f1ff]{2})"
)
_URL_RE = re.compile(r"https?://[^\s<]+[^\s<.,;:!?)\]]")
_MENTION_RE = re.compile(r"(?<![\w/])@([A-Za-z]\w{3,31})")
_TAG_RE = re.compile(r"(?<![\w&])#(\w{2,})")


def telegram_html(text: str) -> Markup:
    """Render post text the way t.me does: escaped, <br/>, links, mentions, hashtags, emoji images."""
    out = str(escape(text))
    out = _URL_RE.sub(
        lambda m: (
            f'<a href="{m.group(0)}" target="_blank" rel="noopener" '
            f"onclick=\"return confirm('Open this link?\\n\\n'+this.href);\">{m.group(0)}</a>"
        ),
        out,
    )
    out = _MENTION_RE.sub(lambda m: f'<a href="https://t.me/{m.group(1)}">@{m.group(1)}</a>', out)
    out = _TAG_RE.sub(lambda m: f'<a href="?q=%23{m.group(1)}">#{m.group(1)}</a>', out)

    def emoji(match: re.Match[str]) -> str:
        code = match.group(0).encode("utf-8").hex().upper()
        return (
            f'<i class="emoji" style="background-image:url(\'//telegram.org/img/emoji/40/{code}.png\')">'
            f"<b>{match.group(0)}</b></i>"
        )

    out = _EMOJI_RE.sub(emoji, out)
    return Markup(out.replace("\n", "<br/>"))  # noqa: S704 - built from escaped text above


def nl2br(text: str) -> Markup:
    return Markup("<br/>".join(str(escape(line)) for line in text.split("\n")))  # noqa: S704


@dataclass(slots=True)
class Page:
    status: int = 200
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    charset: str = "utf-8"
    data: bytes | None = None  # a binary body (images)

    def encoded(self) -> bytes:
        if self.data is not None:
            return self.data
        return self.body.encode(self.charset, errors="xmlcharrefreplace")

    def as_legacy_encoding(self) -> Page:
        """The same page as an old server would send it: 8-bit charset, numeric references."""
        if self.content_type.startswith(("application/xml", "application/rss", "application/atom")):
            charset, body = (
                "iso-8859-1",
                self.body.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1),
            )
        elif self.content_type.startswith("text/html"):
            charset, body = (
                "windows-1252",
                re.sub(
                    r'<meta charset="(utf-8|UTF-8)">', '<meta charset="windows-1252">', self.body
                ),
            )
        else:
            return self
        content_type = self.content_type.split(";")[0] + f"; charset={charset}"
        return Page(self.status, body, content_type, self.headers, charset)


class DemoSites:
    """Renders every page from the loaded data; thread-safe, faults switchable at run time."""

    def __init__(
        self, data: DemoData | None = None, *, bench_ads: int = 0, latency: float = 0.0
    ) -> None:
        self.data = data or load_demo_data()
        self.bench_ads = bench_ads  # ads of the bench site (patroli/demosites/bench.py)
        self.latency = latency  # seconds every answer waits (handled per request, in its thread)
        self.faults: dict[str, str] = dict.fromkeys(SITES, "ok")
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self.env = Environment(
            loader=PackageLoader("patroli.demosites", "templates"),
            autoescape=select_autoescape(["html", "xml"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["telegram_html"] = telegram_html
        self.env.filters["nl2br"] = nl2br
        # HTML carried inside XML (RSS <description>, Atom content type="html") is escaped once more.
        self.env.filters["html_in_xml"] = lambda value: Markup(html.escape(str(value), quote=False))  # noqa: S704
        self.env.filters["rfc2822"] = format_datetime
        self.env.filters["urlquote"] = lambda s: quote(str(s), safe="")
        self.flyers_key = flyers.register(self.data.flyers)
        self.routes: list[tuple[re.Pattern[str], Callable[..., Page]]] = [
            (re.compile(r"/"), self.index),
            (
                re.compile(
                    r"/(?P<site>pasarloka|tg|rss-bridge|kerjanusa)/(?:media|file)/"
                    r"(?P<name>[a-z0-9_\-]+)\.jpg"
                ),
                self.image,
            ),
            (re.compile(r"/pasarloka/static/placeholder\.png"), self.placeholder),
            (re.compile(r"/pasarloka/static/hostile/(?P<name>[a-z]+\.[a-z]+)"), self.hostile_image),
            (re.compile(r"/robots\.txt"), self.robots),
            (re.compile(r"/pasarloka/?"), self.pasarloka_home),
            (re.compile(r"/pasarloka/(?P<category>[a-z\-]+_c\d+)"), self.pasarloka_category),
            (re.compile(r"/pasarloka/items/q-(?P<query>[^/]+)"), self.pasarloka_search),
            (
                re.compile(r"/pasarloka/item/(?P<slug>[a-z0-9\-]+)-iid-(?P<iid>\d+)"),
                self.pasarloka_item,
            ),
            (re.compile(r"/tg/s/(?P<channel>\w+)"), self.telegram_channel),
            (re.compile(r"/tg/(?P<channel>\w+)"), self.telegram_landing),
            (re.compile(r"/kerjanusa/?"), self.jobs_home),
            (re.compile(r"/kerjanusa/lowongan"), self.jobs_list),
            (
                re.compile(r"/kerjanusa/lowongan/(?P<job_id>j\d+)-(?P<slug>[a-z0-9\-]+)"),
                self.job_page,
            ),
            (re.compile(r"/kerjanusa/sitemap\.xml"), self.jobs_sitemap),
            (re.compile(r"/rss-bridge/"), self.feed),
            (re.compile(r"/agensi/?"), self.agency_home),
            (re.compile(r"/agensi/page/(?P<page>\d+)/?"), self.agency_home),
            (re.compile(r"/agensi/sitemap_index\.xml"), self.agency_sitemap_index),
            (re.compile(r"/agensi/post-sitemap\.xml"), self.agency_sitemap),
            (re.compile(r"/agensi/(?P<slug>lowongan-[a-z0-9\-]+)/?"), self.agency_post),
            (re.compile(r"/bench/c(?P<category>\d+)"), self.bench_category),
            (re.compile(r"/bench/item/(?P<slug>[a-z0-9\-]+)-iid-(?P<iid>\d+)"), self.bench_item),
        ]

    # --- plumbing -------------------------------------------------------------------------

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(now=self.data.now, **context)

    def set_fault(self, site: str, mode: str) -> None:
        if site not in SITES:
            raise ValueError(f"unknown site {site!r}; sites: {', '.join(SITES)}")
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(FAULT_MODES)}")
        with self._lock:
            self.faults[site] = mode

    def handle(self, method: str, target: str, body: bytes = b"", host: str = "127.0.0.1") -> Page:
        parts = urlsplit(target)
        path = parts.path
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if path == "/__demo__/faults":
            return self.control(method, body)
        site = path.strip("/").split("/", 1)[0]
        with self._lock:
            self.hits[site] = self.hits.get(site, 0) + 1
            mode = self.faults.get(site, "ok")
        if mode == "error":
            return Page(500, "<html><body><h1>500 Internal Server Error</h1></body></html>")
        for pattern, view in self.routes:
            if match := pattern.fullmatch(path):
                # base: scheme and host as the client asked for them (sitemaps need absolute URLs)
                page = view(
                    params=params,
                    empty=(mode == "empty"),
                    removed=(mode == "removed"),
                    edited=(mode == "edited"),
                    hostile=(mode == "hostile"),
                    base=f"http://{host}",
                    **match.groupdict(),
                )
                if mode == "broken" and self.is_broken(path, params):
                    return Page(
                        404 if self.is_broken(path, params) == 404 else 500,
                        self.render("not_found.html", path=path),
                    )
                if mode == "encoding" and page.status == 200 and page.data is None:
                    page = page.as_legacy_encoding()
                if mode == "layout" and page.status == 200 and page.data is None:
                    for old, new in _LAYOUT_CHANGES.get(site, []):
                        page.body = page.body.replace(old, new)
                    if site == "rss-bridge":
                        # What RSS-Bridge serves when Facebook changed its markup: an HTML error page.
                        page = Page(body=self.render("feed/bridge_error.html"))
                return page
        return Page(404, self.render("not_found.html", path=path))

    def removed_ids(self) -> set[str]:
        jobs = [a for a in self.data.classifieds if a["category"] == "lowongan-kerja"]
        return (
            {a["id"] for a in jobs[:3]}
            | {j["id"] for j in self.data.jobs[:3]}
            | {p["agency_slug"] for p in self.data.agency_posts[:3]}
        )

    def visible(
        self, records: list[dict[str, Any]], removed: bool, edited: bool = False
    ) -> list[dict[str, Any]]:
        if edited and records:
            first = {
                **records[0],
                "title": records[0]["title"] + " — GAJI NAIK",
                "price": "Rp 25.000.000",
            }
            return [first, *records[1:]]
        if not removed:
            return records
        gone = self.removed_ids()
        return [r for r in records if r["id"] not in gone and r.get("agency_slug") not in gone]

    def is_broken(self, path: str, params: dict[str, str]) -> int:
        """In ``broken`` mode: 404 or 500 for a few pages in the middle of each listing, else 0."""
        jobs = [a for a in self.data.classifieds if a["category"] == "lowongan-kerja"]
        broken = {
            jobs[1]["path"]: 404,
            jobs[2]["path"]: 500,
            self.data.jobs[1]["path"]: 404,
            self.data.jobs[2]["path"]: 500,
            f"/agensi/{self.data.agency_posts[1]['agency_slug']}/": 404,
            f"/agensi/{self.data.agency_posts[2]['agency_slug']}/": 500,
        }
        if path.startswith("/tg/s/lokerasia_express") and params.get("before"):
            posts = self.data.telegram["lokerasia_express"]
            if params["before"] == str(posts[-TELEGRAM_PAGE_SIZE]["post_id"]):
                return 500  # the second page of the channel
        return broken.get(path, broken.get(path.rstrip("/") + "/", 0))

    def control(self, method: str, body: bytes) -> Page:
        if method == "POST":
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            try:
                if form.get("site") == "all":
                    for site in SITES:
                        self.set_fault(site, form.get("mode", "ok"))
                else:
                    self.set_fault(form.get("site", ""), form.get("mode", ""))
            except ValueError as exc:
                return Page(400, json.dumps({"error": str(exc)}), "application/json")
        return Page(200, json.dumps({"faults": self.faults, "hits": self.hits}), "application/json")

    # --- shared pages ---------------------------------------------------------------------

    def index(self, **_: Any) -> Page:
        return Page(body=self.render("index.html", channels=sorted(self.data.telegram)))

    def robots(self, **_: Any) -> Page:
        return Page(
            body="User-agent: *\nDisallow: /pasarloka/akun/\nAllow: /\n", content_type="text/plain"
        )

    # --- images ---------------------------------------------------------------------------

    def image(self, site: str, name: str, **_: Any) -> Page:
        flyer_id, _sep, variant = name.partition("-")
        if name.startswith("photo-"):
            return Page(data=flyers.stock_photo(name), content_type="image/jpeg")
        if variant in flyers.VARIANTS and any(f["id"] == flyer_id for f in self.data.flyers):
            data = flyers.flyer_bytes(flyer_id, variant, self.flyers_key)
            return Page(data=data, content_type="image/jpeg")
        return Page(404, self.render("not_found.html", path=name))

    def placeholder(self, **_: Any) -> Page:
        return Page(data=flyers.placeholder(), content_type="image/png")

    def hostile_image(self, name: str, **_: Any) -> Page:
        if name not in flyers.HOSTILE:
            return Page(404, self.render("not_found.html", path=name))
        make, content_type = flyers.HOSTILE[name]
        return Page(data=make(), content_type=content_type)

    def hostile_images(self, ad: dict[str, Any]) -> list[str]:
        """In ``hostile`` mode, the first four job ads each show one hostile file."""
        jobs = [a["id"] for a in self.data.classifieds if a["category"] == "lowongan-kerja"][:4]
        if ad["id"] not in jobs:
            return []
        return [f"/pasarloka/static/hostile/{sorted(flyers.HOSTILE)[jobs.index(ad['id'])]}"]

    # --- classifieds ----------------------------------------------------------------------

    def _listing(
        self, ads: list[dict[str, Any]], params: dict[str, str], empty: bool, **context: Any
    ) -> Page:
        if empty:
            ads = []
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        pages = max(1, math.ceil(len(ads) / PAGE_SIZE))
        if page > pages:
            return Page(404, self.render("not_found.html", path=f"page {page}"))
        shown = ads[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        body = self.render(
            "pasarloka/listing.html", ads=shown, page=page, pages=pages, total=len(ads), **context
        )
        return Page(body=body)

    def pasarloka_home(self, **_: Any) -> Page:
        counts = {
            slug: sum(1 for a in self.data.classifieds if a["category"] == cat)
            for slug, (cat, _label) in CATEGORIES.items()
        }
        return Page(body=self.render("pasarloka/home.html", categories=CATEGORIES, counts=counts))

    def pasarloka_category(
        self, category: str, params: dict[str, str], empty: bool, **_: Any
    ) -> Page:
        if category not in CATEGORIES:
            return Page(404, self.render("not_found.html", path=category))
        key, label = CATEGORIES[category]
        ads = self.visible(
            [a for a in self.data.classifieds if a["category"] == key],
            _.get("removed", False),
            _.get("edited", False),
        )
        return self._listing(ads, params, empty, heading=label, base=f"/pasarloka/{category}")

    def pasarloka_search(self, query: str, params: dict[str, str], empty: bool, **_: Any) -> Page:
        from urllib.parse import unquote_plus

        words = [w for w in re.split(r"[\s\-]+", unquote_plus(query).lower()) if w]
        ads = [
            a
            for a in self.data.classifieds
            if all(w in (a["title"] + " " + a["description"]).lower() for w in words)
        ]
        heading = f'Hasil pencarian "{unquote_plus(query)}"'
        return self._listing(
            ads, params, empty, heading=heading, base=f"/pasarloka/items/q-{query}"
        )

    def pasarloka_item(self, slug: str, iid: str, **_: Any) -> Page:
        for ad in self.visible(
            self.data.classifieds, _.get("removed", False), _.get("edited", False)
        ):
            if ad["id"].lstrip("c") == iid:
                images = [
                    *ad.get("images", []),
                    *(self.hostile_images(ad) if _.get("hostile") else []),
                ]
                return Page(body=self.render("pasarloka/item.html", ad=ad, images=images))
        return Page(404, self.render("not_found.html", path=f"iid-{iid}"))

    # --- telegram -------------------------------------------------------------------------

    def telegram_channel(self, channel: str, params: dict[str, str], empty: bool, **_: Any) -> Page:
        if channel == PRIVATE_CHANNEL or channel not in self.data.telegram:
            # t.me answers a channel without a public preview with a redirect to its landing page.
            return Page(302, "", headers={"Location": f"/tg/{channel}"})
        posts = [] if empty else self.data.telegram[channel]
        before = params.get("before")
        if before and before.isdigit():
            posts = [p for p in posts if p["post_id"] < int(before)]
        shown = posts[-TELEGRAM_PAGE_SIZE:]
        older = shown[0]["post_id"] if shown and len(posts) > len(shown) else None
        info = {"title": channel.replace("_", " ").title(), "subscribers": 1200 + 37 * len(channel)}
        body = self.render(
            "telegram/channel.html", channel=channel, posts=shown, older=older, info=info
        )
        return Page(body=body)

    def telegram_landing(self, channel: str, **_: Any) -> Page:
        return Page(body=self.render("telegram/landing.html", channel=channel))

    # --- job board ------------------------------------------------------------------------

    def jobs_home(self, **_: Any) -> Page:
        return Page(302, "", headers={"Location": "/kerjanusa/lowongan"})

    def jobs_list(self, params: dict[str, str], empty: bool, **_: Any) -> Page:
        jobs = (
            []
            if empty
            else self.visible(self.data.jobs, _.get("removed", False), _.get("edited", False))
        )
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        pages = max(1, math.ceil(len(jobs) / PAGE_SIZE))
        if page > pages:
            return Page(404, self.render("not_found.html", path=f"page {page}"))
        shown = jobs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return Page(
            body=self.render(
                "kerjanusa/list.html", jobs=shown, page=page, pages=pages, total=len(jobs)
            )
        )

    def job_page(self, job_id: str, **_: Any) -> Page:
        for job in self.visible(self.data.jobs, _.get("removed", False), _.get("edited", False)):
            if job["id"] == job_id:
                return Page(
                    body=self.render("kerjanusa/job.html", job=job, jsonld=self.jobposting(job))
                )
        return Page(404, self.render("not_found.html", path=job_id))

    def jobposting(self, job: dict[str, Any]) -> Markup:
        """schema.org JobPosting as Google's job search documents it."""
        posting: dict[str, Any] = {
            "@context": "https://schema.org/",
            "@type": "JobPosting",
            "title": job["title"],
            "description": "".join(
                f"<p>{html.escape(p)}</p>" for p in job["description"].split("\n") if p.strip()
            ),
            "identifier": {"@type": "PropertyValue", "name": job["company"], "value": job["id"]},
            "datePosted": job["date_posted"],
            "validThrough": job["valid_through"],
            "employmentType": job["employment_type"],
            "hiringOrganization": {"@type": "Organization", "name": job["company"]},
            "jobLocation": {
                "@type": "Place",
                "address": {
                    "@type": "PostalAddress",
                    "addressLocality": job["city"],
                    "addressRegion": job["region"],
                    "addressCountry": job["country"],
                },
            },
        }
        if job.get("images"):
            posting["image"] = job["images"][0]
        if job.get("salary_min") or job.get("salary_max"):
            value: dict[str, Any] = {
                "@type": "QuantitativeValue",
                "unitText": job.get("unit") or "MONTH",
            }
            if job.get("salary_min") and job.get("salary_max"):
                value.update(minValue=job["salary_min"], maxValue=job["salary_max"])
            else:
                value["value"] = job.get("salary_min") or job.get("salary_max")
            posting["baseSalary"] = {
                "@type": "MonetaryAmount",
                "currency": job.get("currency") or "IDR",
                "value": value,
            }
        # "</" inside a script block would end it early: escape the slash as JSON allows.
        return Markup(json.dumps(posting, ensure_ascii=True, indent=2).replace("</", "<\\/"))  # noqa: S704

    def jobs_sitemap(self, empty: bool, **_: Any) -> Page:
        jobs = [] if empty else self.data.jobs
        return Page(
            body=self.render("kerjanusa/sitemap.xml", jobs=jobs),
            content_type="application/xml; charset=utf-8",
        )

    # --- a recruiter's own WordPress site: posts with microdata, sitemap, search -------------

    def agency_home(self, params: dict[str, str], empty: bool, page: str = "1", **_: Any) -> Page:
        posts = (
            []
            if empty
            else self.visible(
                self.data.agency_posts, _.get("removed", False), _.get("edited", False)
            )
        )
        query = params.get("s")
        if query is not None:
            words = [w for w in query.lower().split() if w]
            posts = [
                p
                for p in posts
                if all(w in (p["title"] + " " + p["description"]).lower() for w in words)
            ]
        number = max(1, int(params.get("paged", page)))
        pages = max(1, math.ceil(len(posts) / 10))
        if number > pages:
            return Page(404, self.render("not_found.html", path=f"page {number}"))
        shown = posts[(number - 1) * 10 : number * 10]
        body = self.render("agensi/index.html", posts=shown, page=number, pages=pages, query=query)
        return Page(body=body)

    def agency_post(self, slug: str, **_: Any) -> Page:
        for post in self.visible(
            self.data.agency_posts, _.get("removed", False), _.get("edited", False)
        ):
            if post["agency_slug"] == slug:
                return Page(body=self.render("agensi/post.html", post=post))
        return Page(404, self.render("not_found.html", path=slug))

    def agency_sitemap_index(self, base: str, **_: Any) -> Page:
        body = self.render("agensi/sitemap_index.xml", base=base)
        return Page(body=body, content_type="application/xml; charset=utf-8")

    def agency_sitemap(self, empty: bool, base: str, **_: Any) -> Page:
        posts = (
            []
            if empty
            else self.visible(
                self.data.agency_posts, _.get("removed", False), _.get("edited", False)
            )
        )
        body = self.render("agensi/post-sitemap.xml", posts=posts, base=base)
        return Page(body=body, content_type="application/xml; charset=utf-8")

    # --- the bench site (N generated ads: patroli/demosites/bench.py) ------------------------

    def bench_category(self, category: str, params: dict[str, str], **_: Any) -> Page:
        page = int(params["page"]) if params.get("page", "").isdigit() else 1
        ads, pages = bench_listing(self.bench_ads, int(category), max(1, page))
        if not ads or page > pages:
            return Page(404, self.render("not_found.html", path=f"bench c{category} page {page}"))
        body = self.render(
            "pasarloka/listing.html",
            ads=ads,
            page=page,
            pages=pages,
            total=len(ads),
            heading=f"Bench {category}",
            base=f"/bench/c{category}",
        )
        return Page(body=body)

    def bench_item(self, slug: str, iid: str, **_: Any) -> Page:
        number = int(iid)
        if number >= self.bench_ads:
            return Page(404, self.render("not_found.html", path=f"iid-{iid}"))
        return Page(body=self.render("pasarloka/item.html", ad=bench_ad(number), images=[]))

    # --- feed (RSS-Bridge, FacebookBridge group) --------------------------------------------

    def feed(self, params: dict[str, str], empty: bool, **_: Any) -> Page:
        if params.get("action") != "display" or params.get("bridge") != "FacebookBridge":
            return Page(400, self.render("not_found.html", path="unknown bridge"))
        posts = [] if empty else self.data.feed
        group = params.get("g", "infolokerln")
        fmt = params.get("format", "Mrss")
        base = _.get("base", "")
        if fmt == "Atom":
            body = self.render("feed/atom.xml", posts=posts, group=group, base=base)
            return Page(body=body, content_type="application/atom+xml; charset=utf-8")
        body = self.render("feed/rss.xml", posts=posts, group=group, base=base)
        return Page(body=body, content_type="application/rss+xml; charset=utf-8")


def _make_handler(
    sites: DemoSites, hostile: HostileSites | None = None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "patroli-demo/1.0"
        protocol_version = "HTTP/1.1"

        def _respond(self, method: str) -> None:
            if sites.latency and not self.path.startswith("/__demo__"):
                time.sleep(sites.latency)  # a real site's round trip and render time
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1 << 16)) if length else b""
            if hostile is not None:  # tests only (patroli/demosites/hostile.py)
                hostile.note_host(self.headers.get("Host") or "")
                if hostile.claims(self.path):
                    hostile.serve(self, method, body)
                    return
            page = sites.handle(method, self.path, body, self.headers.get("Host") or "127.0.0.1")
            payload = page.encoded()
            etag = '"' + hashlib.sha1(payload, usedforsecurity=False).hexdigest()[:20] + '"'
            status = page.status
            asked = (self.headers.get("If-None-Match") or "").removeprefix("W/")
            if status == 200 and asked == etag:
                status, payload = HTTPStatus.NOT_MODIFIED, b""
            compressed = (
                len(payload) >= GZIP_MIN_BYTES
                and page.content_type.startswith(_COMPRESSIBLE)
                and "gzip" in (self.headers.get("Accept-Encoding") or "").lower()
            )
            if compressed:
                payload, etag = gzip.compress(payload, mtime=0), "W/" + etag
            self.send_response(status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(payload)))
            if compressed:
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
            if page.status == 200:
                self.send_header("ETag", etag)
            for key, value in page.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(payload)

        def do_GET(self) -> None:
            self._respond("GET")

        def do_HEAD(self) -> None:
            self._respond("HEAD")

        def do_POST(self) -> None:
            self._respond("POST")

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s - %s", self.address_string(), format % args)

    return Handler


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many workers at once: do not refuse connections
    allow_reuse_address = True


def make_server(
    host: str = "127.0.0.1",
    port: int = 0,
    sites: DemoSites | None = None,
    hostile: bool = False,
    *,
    bench_ads: int = 0,
    latency: float = 0.0,
) -> DemoServer:
    """The demo sites; with ``hostile`` also the hostile pages of ``patroli/demosites/hostile.py``;
    ``bench_ads`` generated ads on the bench site, every answer ``latency`` seconds late."""
    sites = sites or DemoSites(bench_ads=bench_ads, latency=latency)
    server = DemoServer((host, port), _make_handler(sites, HostileSites() if hostile else None))
    server.sites = sites  # type: ignore[attr-defined]
    return server
