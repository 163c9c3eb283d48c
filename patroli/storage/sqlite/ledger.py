"""What incremental crawls and the patrol keep in SQLite (the ``CrawlLedger`` role): each
source's known ads, their sightings, and the runs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from patroli.storage.base import Record
from patroli.storage.schema import KNOWN_AD_FIELDS, RUN_FIELDS, run_record
from patroli.storage.sqlite.connection import Database

_RUN_JSON = ("notes", "stats")


class SQLiteLedger:
    db: Database

    def known_ads(self, source: str) -> dict[str, Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(KNOWN_AD_FIELDS)}, "
                "json_extract(extra, '$.fingerprint') AS fingerprint, json_extract(extra, '$.etag') AS etag "
                "FROM ads WHERE source = ?",
                (source,),
            ).fetchall()
        return {r["native_id"]: dict(r) for r in rows}

    def touch_ads(self, ad_ids: Sequence[str], seen_at: str) -> int:
        return self._update_by_ids(
            "UPDATE ads SET last_seen = ?, gone_at = NULL WHERE ad_id IN ({marks})", seen_at, ad_ids
        )

    def mark_gone(self, ad_ids: Sequence[str], gone_at: str) -> int:
        return self._update_by_ids(
            "UPDATE ads SET gone_at = ? WHERE gone_at IS NULL AND ad_id IN ({marks})",
            gone_at,
            ad_ids,
        )

    def _update_by_ids(self, sql: str, value: str, ad_ids: Sequence[str]) -> int:
        """Run ``sql`` (with one ``?`` value and ``{marks}`` for the ids) over ids in chunks."""
        changed = 0
        with self.db.write() as conn:
            for start in range(0, len(ad_ids), 500):
                chunk = list(ad_ids[start : start + 500])
                changed += conn.execute(
                    sql.format(marks=",".join("?" * len(chunk))), [value, *chunk]
                ).rowcount
        return changed

    def record_run(self, run: Mapping[str, Any]) -> None:
        record = run_record(run)
        values = [
            json.dumps(record[k], default=str) if k in _RUN_JSON else record[k] for k in RUN_FIELDS
        ]
        with self.db.write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO runs({', '.join(RUN_FIELDS)}) "
                f"VALUES ({','.join('?' * len(RUN_FIELDS))})",
                values,
            )

    def list_runs(self, *, source: str = "", limit: int = 50) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM runs WHERE (? = '' OR source = ?) ORDER BY started_at DESC LIMIT ?",
                (source, source, limit),
            ).fetchall()
        runs = []
        for row in rows:
            run = dict(row)
            for key in _RUN_JSON:
                run[key] = json.loads(run[key] or "null")
            runs.append(run_record(run))
        return runs
