"""patroli from Python (a notebook, a script): open a store, search, iterate ads as dataclasses or
DataFrame rows, score texts. Documented in docs/python-api.md, whose examples run as doctests.

>>> from patroli import notebook
>>> with notebook.connect(store_url) as patrol:
...     hits = list(patrol.search("country:KH flagged:true", sort="risk"))
>>> [ad.ad_id for ad in hits]
['contoh-kh-1', 'contoh-kh-2']
>>> hits[0].risk, hits[0].countries
(0.97, ['KH'])

Read-only but for nothing: it uses the store's roles (``patroli.storage``) and the risk model
(``classifiers``) directly, the same code the crawl and the web app use. ``pandas`` is optional:
``frame()`` and ``to_frame()`` need it, nothing else does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from patroli.config.table import PATROLI_STORE_URL
from patroli.storage import AdStore, CrawlLedger, Record, Store, open_store
from patroli.storage.base import SortOrder

if TYPE_CHECKING:
    import pandas

PAGE = 500


@dataclass(frozen=True, slots=True)
class Ad:
    """One stored ad (the fields of ``patroli.storage.schema``; lists as lists, times as ISO
    8601 UTC strings); ``highlight`` is set on search hits for word queries."""

    ad_id: str
    source: str | None = None
    source_kind: str | None = None
    native_id: str | None = None
    url: str | None = None
    title: str | None = None
    text: str | None = None
    author: str | None = None
    location: str | None = None
    salary_text: str | None = None
    posted_at: str | None = None
    crawled_at: str | None = None
    content_hash: str | None = None
    phones: list[str] = dataclasses.field(default_factory=list)
    whatsapp: list[str] = dataclasses.field(default_factory=list)
    telegram: list[str] = dataclasses.field(default_factory=list)
    emails: list[str] = dataclasses.field(default_factory=list)
    links: list[str] = dataclasses.field(default_factory=list)
    countries: list[str] = dataclasses.field(default_factory=list)
    salary_amount: float | None = None
    salary_currency: str | None = None
    salary_period: str | None = None
    fees: Any = None
    extra: Any = None
    images: Any = None  # [{sha256, url, phash, dhash, ...}] of the images the ad shows
    image_text: str | None = None  # read in those images (OCR)
    image_keys: list[str] = dataclasses.field(default_factory=list)
    risk: float | None = None  # None: a language the model does not score
    risk_margin: float | None = None
    flagged: bool | None = None  # risky and an ad
    risky: bool | None = None  # at or over the threshold, whatever the genre
    genre: str | None = None  # ad, report or other
    lang: str | None = None
    reasons: list[str] = dataclasses.field(default_factory=list)
    reason_codes: list[str] = dataclasses.field(default_factory=list)
    model_version: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    gone_at: str | None = None
    status: str = "new"
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    review_note: str | None = None
    version: int = 1
    hold: bool | None = None  # held for investigation: its evidence outlives retention
    captured_at: str | None = None
    capture: Any = None  # the capture record made when it was first flagged
    bank_accounts: list[str] = dataclasses.field(default_factory=list)
    agency_names: list[str] = dataclasses.field(default_factory=list)
    licence_numbers: list[str] = dataclasses.field(default_factory=list)
    province: str | None = None
    transit: list[str] = dataclasses.field(default_factory=list)
    job_type: str | None = None
    agency_id: str | None = None
    register_import: str | None = None
    cluster_id: str | None = None
    network_id: str | None = None
    cluster_status: str | None = None
    highlight: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Ad:
        """An ad from a store record; fields the record lacks keep their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in names and v is not None}
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True, slots=True)
class Score:
    """The risk model's view of one text: risk (0..1), whether it is flagged, the reasons."""

    risk: float | None  # None: a language the model does not score
    flagged: bool  # risky and an ad
    reasons: list[str]
    reason_codes: list[str]
    model_version: str
    risky: bool = False  # at or over the threshold, whatever the genre (a report can be risky)
    genre: str | None = None
    lang: str = ""


class Patrol:
    """A store opened for reading, with the operations a notebook needs."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def ads(self) -> AdStore:
        return self.store

    @property
    def ledger(self) -> CrawlLedger:
        return self.store

    def search(
        self, query: str = "", *, sort: SortOrder = "relevance", limit: int | None = None
    ) -> Iterator[Ad]:
        """Every ad matching ``query`` (the query syntax of README, 'Query syntax'), page by
        page, up to ``limit``; raises ``QuerySyntaxError`` (a ``ValueError``) for a bad query."""
        after: list[Any] | None = None
        given = 0
        while limit is None or given < limit:
            size = PAGE if limit is None else min(PAGE, limit - given)
            result = self.ads.search(query, limit=size, sort=sort, after=after)
            for hit in result.hits:
                yield Ad.from_record(hit)
            given += len(result.hits)
            after = result.next_after
            if not after or not result.hits:
                return

    def count(self, query: str = "") -> int:
        return self.ads.count(query)

    def ad(self, ad_id: str) -> Ad:
        """One ad; raises ``AdNotFound`` (a ``KeyError``)."""
        return Ad.from_record(self.ads.get_ad(ad_id))

    def related(self, ad_id: str, limit: int = 20) -> list[tuple[Ad, list[str]]]:
        """Ads sharing a contact with ``ad_id`` (then similar text), each with what it shares."""
        return [
            (Ad.from_record(r), list(r.get("via") or []))
            for r in self.ads.related(ad_id, limit=limit)
        ]

    def runs(self, source: str = "", limit: int = 50) -> list[Record]:
        """Crawl runs, newest first."""
        return self.ledger.list_runs(source=source, limit=limit)

    def frame(
        self,
        query: str = "",
        *,
        sort: SortOrder = "relevance",
        limit: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> pandas.DataFrame:
        """The hits of ``query`` as a DataFrame, one row per ad (needs pandas)."""
        return to_frame(self.search(query, sort=sort, limit=limit), columns=columns)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def connect(store_url: str | None = None) -> Patrol:
    """Open the store at ``store_url`` (default: ``PATROLI_STORE``, else ``sqlite:///var/patroli.db``)."""
    return Patrol(open_store(store_url or PATROLI_STORE_URL.from_env()))


def to_frame(ads: Iterable[Ad], columns: Sequence[str] | None = None) -> pandas.DataFrame:
    """Ads as a pandas DataFrame indexed by ``ad_id`` (``columns`` picks some)."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_frame needs pandas: pip install pandas") from exc
    rows = [ad.as_dict() for ad in ads]
    names = [f.name for f in dataclasses.fields(Ad)]
    frame = pandas.DataFrame(rows, columns=names)
    if columns is not None:
        frame = frame[["ad_id", *[c for c in columns if c != "ad_id"]]]
    return frame.set_index("ad_id")


def score(
    texts: Sequence[str], *, language: str = "id", model_dir: str | Path | None = None
) -> list[Score]:
    """Score ``texts`` with the active risk model (or the one in ``model_dir``), as the crawl does;
    reasons in ``language`` ("id" or "en")."""
    from classifiers.registry import active_version, find_model
    from classifiers.scoring import describe_model, score_with

    directory = str(model_dir or find_model(active_version()))
    version, _ = describe_model(directory)
    return [
        Score(
            s.risk,
            s.flagged,
            list(s.reasons),
            list(s.reason_codes),
            version,
            s.risky,
            s.genre,
            s.lang,
        )
        for s in score_with(directory, list(texts), language)
    ]
