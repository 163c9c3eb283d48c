"""Querying ads in SQLite (the searching half of the ``AdStore`` role): the query syntax of
``storage.query`` as SQL over FTS5 and ``ad_entities``, related ads, and the dashboard's figures."""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from patroli.storage.base import MARK_END, MARK_START, Record, SearchResult, SortOrder
from patroli.storage.flyers import FLYER_KIND, flyer_probes, merge_flyer_matches, verify_flyers
from patroli.storage.query import ATTENTION, ENTITY_FILTERS, FILTER_FIELDS, Query, parse_query
from patroli.storage.sqlite.ads import read_ad
from patroli.storage.sqlite.connection import Database
from patroli.storage.sqlite.rows import decode_row
from patroli.storage.trends import trend_rows
from patroli.text.stopwords import STOPWORDS

_ENTITY_KIND_BY_FILTER = {
    "phone": "phone",
    "handle": "handle",
    "email": "email",
    "country": "country",
    "bank": "bank",
    "licence": "licence",
}
_FILTER_BY_FIELD = {v: k for k, v in FILTER_FIELDS.items()}
SIMILAR_WINDOW = 2000  # related ads by text: ranked among this many latest ads sharing a word
# Sort keys for keyset ("search after") pagination: (SQL expression, descending?).
_SORT_KEYS: dict[str, tuple[str, bool]] = {
    "risk": ("COALESCE(ads.risk, -1)", True),
    "relevance": ("COALESCE(ads.risk, -1)", True),
    "date": ("COALESCE(ads.posted_at, ads.first_seen)", True),
    "uncertainty": ("ABS(COALESCE(ads.risk_margin, 1))", False),
}


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _where(query: Query) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.terms:
        clauses.append("ads.seq IN (SELECT rowid FROM ads_fts WHERE ads_fts MATCH ?)")
        params.append(" ".join(_fts_phrase(t) for t in query.terms))
    for term in query.excluded:
        clauses.append("ads.seq NOT IN (SELECT rowid FROM ads_fts WHERE ads_fts MATCH ?)")
        params.append(_fts_phrase(term))
    for term in query.image_terms:
        clauses.append("ads.seq IN (SELECT rowid FROM ads_fts WHERE ads_fts MATCH ?)")
        params.append("image_text : " + _fts_phrase(term))
    for term in query.image_excluded:
        clauses.append("ads.seq NOT IN (SELECT rowid FROM ads_fts WHERE ads_fts MATCH ?)")
        params.append("image_text : " + _fts_phrase(term))
    for flt in query.filters:
        marks = ",".join("?" * len(flt.values))
        name = _FILTER_BY_FIELD.get(flt.field, flt.field)
        if flt.field == ATTENTION:
            wanted = {v == "1" for v in flt.values}
            clause = " OR ".join(
                "(ads.flagged = 1 OR ads.cluster_status = 'confirmed')"
                if v
                else "(COALESCE(ads.flagged, 0) = 0 AND COALESCE(ads.cluster_status, '') != 'confirmed')"
                for v in sorted(wanted)
            )
            clauses.append(f"NOT ({clause})" if flt.negate else f"({clause})")
        elif name in ENTITY_FILTERS:
            sub = f"SELECT ad_id FROM ad_entities WHERE kind = ? AND value IN ({marks})"
            # With words too, the words' matches lead and each is checked against the entity's ads
            # ("+" keeps ad_id out of the index): SQLite otherwise probed every pair of the two
            # lists ("pelayan country:TH" over 100k ads: five minutes).
            column = "+ads.ad_id" if query.terms else "ads.ad_id"
            clauses.append(f"{column} {'NOT IN' if flt.negate else 'IN'} ({sub})")
            params += [_ENTITY_KIND_BY_FILTER[name], *flt.values]
        else:
            values: list[Any] = (
                [int(v) for v in flt.values]
                if flt.field in ("flagged", "risky")
                else list(flt.values)
            )
            clause = f"ads.{flt.field} IN ({marks})"
            clauses.append(f"NOT ({clause})" if flt.negate else clause)
            params += values
    for rng in query.ranges:
        clauses.append(f"ads.{rng.field} {rng.op} ?")
        params.append(rng.value)
    return (" AND ".join(clauses) or "1"), params


class SQLiteSearch:
    db: Database

    def search(
        self,
        query: str = "",
        *,
        limit: int = 20,
        offset: int = 0,
        sort: SortOrder = "relevance",
        facets: bool = False,
        after: list[Any] | None = None,
    ) -> SearchResult:
        parsed = parse_query(query)
        where, params = _where(parsed)
        key, descending = _SORT_KEYS[sort]
        order = f"{key} {'DESC' if descending else 'ASC'}, ads.ad_id"
        select = f"SELECT ads.*, {key} AS sort_key"
        join = ""
        select_params: list[Any] = []
        by_relevance = bool(parsed.terms) and sort == "relevance"
        match = " ".join(_fts_phrase(t) for t in parsed.terms)
        if by_relevance:
            # bm25 orders by relevance; the snippets are made for the page's hits only (below):
            # made in this query, they were made for every match before sorting.
            join = "JOIN ads_fts ON ads_fts.rowid = ads.seq AND ads_fts MATCH ?"
            select_params.append(match)
            order = "bm25(ads_fts), ads.ad_id"
        page_where, page_params = where, list(params)
        if after:
            if by_relevance or after[0] == "offset":
                offset = int(after[-1])  # BM25 scores are not stable keys: continue by position
            else:
                value, last_id = after
                comparison = "<" if descending else ">"
                page_where += f" AND ({key} {comparison} ? OR ({key} = ? AND ads.ad_id > ?))"
                page_params += [value, value, last_id]
                offset = 0
        sql = f"{select} FROM ads {join} WHERE {page_where} ORDER BY {order} LIMIT ? OFFSET ?"
        with self.db.read() as conn:
            try:
                rows = conn.execute(sql, [*select_params, *page_params, limit, offset]).fetchall()
                snippets = _snippets(conn, match, [r["seq"] for r in rows]) if match else {}
                total = conn.execute(f"SELECT COUNT(*) FROM ads WHERE {where}", params).fetchone()[
                    0
                ]
                facet_counts = _facets(conn, where, params) if facets else {}
            except sqlite3.OperationalError as exc:
                raise ValueError(f"cannot run query {query!r}: {exc}") from exc
        hits = [decode_row(r) for r in rows]
        if match:
            for hit, row in zip(hits, rows, strict=True):
                hit["highlight"] = snippets.get(row["seq"])
        next_after: list[Any] | None = None
        if len(rows) == limit:
            if by_relevance:
                next_after = ["offset", offset + limit]
            else:
                next_after = [rows[-1]["sort_key"], rows[-1]["ad_id"]]
        for hit in hits:
            hit.pop("sort_key", None)
        return SearchResult(total=total, hits=hits, facets=facet_counts, next_after=next_after)

    def count(self, query: str = "") -> int:
        where, params = _where(parse_query(query))
        with self.db.read() as conn:
            return int(
                conn.execute(f"SELECT COUNT(*) FROM ads WHERE {where}", params).fetchone()[0]
            )

    def related(self, ad_id: str, *, limit: int = 20) -> list[Record]:
        ad = read_ad(self.db, ad_id)
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT other.ad_id, group_concat(DISTINCT other.kind || ':' || other.value) AS via "
                "FROM ad_entities mine JOIN ad_entities other ON other.kind = mine.kind AND other.value = mine.value "
                "WHERE mine.ad_id = ? AND other.ad_id != ? AND mine.kind IN ('phone', 'handle', 'email') "
                "GROUP BY other.ad_id ORDER BY COUNT(*) DESC, other.ad_id LIMIT ?",
                (ad_id, ad_id, limit),
            ).fetchall()
            related = []
            for row in rows:
                record = decode_row(
                    conn.execute("SELECT * FROM ads WHERE ad_id = ?", (row[0],)).fetchone()
                )
                record["via"] = sorted(row[1].split(","))
                related.append(record)
        merge_flyer_matches(
            related, self.same_flyer(ad.get("images") or [], limit=limit, exclude=ad_id)
        )
        with self.db.read() as conn:
            if len(related) < limit:
                seen = {ad_id, *(r["ad_id"] for r in related)}
                for record in _similar_text(conn, ad, limit - len(related) + len(seen)):
                    if record["ad_id"] not in seen:
                        record["via"] = ["text"]
                        related.append(record)
                        seen.add(record["ad_id"])
        return related[:limit]

    def same_flyer(
        self, images: Sequence[Mapping[str, Any]], *, limit: int = 50, exclude: str = ""
    ) -> list[Record]:
        probes, key_sets = flyer_probes(images)
        if not key_sets:
            return []
        candidates: set[str] = set()
        with self.db.read() as conn:
            for phash_keys, dhash_keys in key_sets:
                # Both look-ups use the (kind, value) primary key; only ads in both are candidates.
                sub = "SELECT ad_id FROM ad_entities WHERE kind = ? AND value IN ({})"
                sql = f"{sub.format(_marks(phash_keys))} INTERSECT {sub.format(_marks(dhash_keys))}"
                rows = conn.execute(sql, [FLYER_KIND, *phash_keys, FLYER_KIND, *dhash_keys])
                candidates.update(row[0] for row in rows)
            candidates.discard(exclude)
            ids = sorted(candidates)
            records = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                records += [
                    decode_row(r)
                    for r in conn.execute(
                        f"SELECT * FROM ads WHERE ad_id IN ({_marks(chunk)})", chunk
                    )
                ]
        return verify_flyers(probes, records, limit)

    def stats(self, *, days: int = 30) -> dict[str, Any]:
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        with self.db.read() as conn:
            per_day: dict[str, dict[str, Any]] = {}
            for day, crawled, flagged in conn.execute(
                "SELECT substr(first_seen, 1, 10), COUNT(*), SUM(flagged) FROM ads WHERE first_seen >= ? GROUP BY 1",
                (since,),
            ):
                per_day[day] = {
                    "day": day,
                    "crawled": crawled,
                    "flagged": flagged or 0,
                    "confirmed": 0,
                }
            for day, confirmed in conn.execute(
                "SELECT substr(reviewed_at, 1, 10), COUNT(*) FROM ads WHERE status = 'confirmed' AND reviewed_at >= ? "
                "GROUP BY 1",
                (since,),
            ):
                per_day.setdefault(day, {"day": day, "crawled": 0, "flagged": 0, "confirmed": 0})[
                    "confirmed"
                ] = confirmed
            per_source = {
                row[0]: {"ads": row[1], "flagged": row[2] or 0, "confirmed": row[3] or 0}
                for row in conn.execute(
                    "SELECT source, COUNT(*), SUM(flagged), SUM(status = 'confirmed') FROM ads GROUP BY 1 ORDER BY 2 DESC"
                )
            }
            per_country = {
                row[0]: {"ads": row[1], "flagged": row[2] or 0, "confirmed": row[3] or 0}
                for row in conn.execute(
                    "SELECT e.value, COUNT(*), SUM(ads.flagged), SUM(ads.status = 'confirmed') FROM ad_entities e "
                    "JOIN ads ON ads.ad_id = e.ad_id WHERE e.kind = 'country' GROUP BY 1 ORDER BY 2 DESC"
                )
            }
            waiting = [
                r[0]
                for r in conn.execute(
                    "SELECT first_seen FROM ads WHERE flagged = 1 AND status = 'new' ORDER BY first_seen"
                )
            ]
        now = datetime.now(UTC)
        ages = [
            (now - datetime.fromisoformat(first)).total_seconds() / 86400
            for first in waiting
            if first
        ]
        return {
            "per_day": [per_day[d] for d in sorted(per_day)],
            "per_source": per_source,
            "per_country": per_country,
            "backlog": {
                "count": len(waiting),
                "oldest": waiting[0] if waiting else None,
                "median_age_days": round(statistics.median(ages), 2) if ages else 0.0,
            },
        }


class SQLiteTrends:
    db: Database

    def trends(self, *, days: int = 30) -> dict[str, Any]:
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT province, transit, countries, agency_id, job_type, flagged, status FROM ads "
                "WHERE first_seen >= ?",
                (since,),
            ).fetchall()
        return trend_rows(
            (
                r["province"],
                json.loads(r["transit"] or "[]"),
                json.loads(r["countries"] or "[]"),
                r["agency_id"],
                r["job_type"],
                bool(r["flagged"]),
                r["status"],
            )
            for r in rows
        )


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def _snippets(conn: sqlite3.Connection, match: str, seqs: list[int]) -> dict[int, str]:
    """The highlighted snippet of each of these ads (by ``seq``) for the words of ``match``."""
    if not seqs:
        return {}
    marks = ",".join("?" * len(seqs))
    rows = conn.execute(
        f"SELECT rowid, snippet(ads_fts, 1, '{MARK_START}', '{MARK_END}', '…', 24) FROM ads_fts "
        f"WHERE ads_fts MATCH ? AND rowid IN ({marks})",
        [match, *seqs],
    ).fetchall()
    return {int(rowid): str(text) for rowid, text in rows}


def _facets(conn: sqlite3.Connection, where: str, params: list[Any]) -> dict[str, dict[str, int]]:
    def grouped(sql: str) -> dict[str, int]:
        return {str(k): n for k, n in conn.execute(sql, params).fetchall() if k is not None}

    return {
        "source": grouped(
            f"SELECT source, COUNT(*) FROM ads WHERE {where} GROUP BY 1 ORDER BY 2 DESC"
        ),
        "status": grouped(
            f"SELECT status, COUNT(*) FROM ads WHERE {where} GROUP BY 1 ORDER BY 2 DESC"
        ),
        # The matching ads' ids once, then their countries: as a join, SQLite probed the words'
        # match list once per country row of the store (a common word hung the page: n x m).
        "country": grouped(
            "SELECT e.value, COUNT(*) FROM ad_entities e WHERE e.kind = 'country' "
            f"AND e.ad_id IN (SELECT ads.ad_id FROM ads WHERE {where}) GROUP BY 1 ORDER BY 2 DESC"
        ),
        "day": grouped(
            "SELECT substr(COALESCE(ads.posted_at, ads.first_seen), 1, 10), COUNT(*) FROM ads "
            f"WHERE {where} GROUP BY 1 ORDER BY 1 DESC"
        ),
    }


def _similar_text(conn: sqlite3.Connection, ad: Record, limit: int) -> list[Record]:
    """More-like-this: the ad's most distinctive words, OR-ed, ranked by BM25."""
    words = re.findall(r"[^\W\d_]{4,}", f"{ad.get('title') or ''} {ad.get('text') or ''}".lower())
    counts: dict[str, int] = {}
    for word in words:
        if word not in STOPWORDS:
            counts[word] = counts.get(word, 0) + 1
    terms = sorted(counts, key=lambda w: (-counts[w], -len(w)))[:12]
    if not terms:
        return []
    match = " OR ".join(_fts_phrase(t) for t in terms)
    # Ranked among the latest SIMILAR_WINDOW ads that share a word, not all of them: common words
    # match most of a large store, and ranking it all made every ad page slow (bench/web_load.py:
    # 100k ads, 280 -> 25 ms).
    floor = conn.execute(
        "SELECT rowid FROM ads_fts WHERE ads_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
        (match, SIMILAR_WINDOW - 1),
    ).fetchone()
    rows = conn.execute(
        "SELECT ads.* FROM ads JOIN ads_fts ON ads_fts.rowid = ads.seq AND ads_fts MATCH ? "
        "WHERE ads_fts.rowid >= ? ORDER BY bm25(ads_fts) LIMIT ?",
        (match, floor[0] if floor else 0, limit),
    ).fetchall()
    return [decode_row(r) for r in rows]
