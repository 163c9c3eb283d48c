"""Holds, capture records and what retention must keep, in SQLite (the ``EvidenceStore`` role)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from patroli.storage.base import AdNotFound, Record
from patroli.storage.sqlite.accounts import insert_audit
from patroli.storage.sqlite.ads import read_ad
from patroli.storage.sqlite.connection import Database
from patroli.storage.sqlite.rows import decode_row


class SQLiteEvidence:
    db: Database

    def set_hold(self, ad_id: str, hold: bool, *, actor: str, reason: str = "") -> Record:
        with self.db.write() as conn:
            row = conn.execute("SELECT hold FROM ads WHERE ad_id = ?", (ad_id,)).fetchone()
            if row is None:
                raise AdNotFound(ad_id)
            if bool(row["hold"]) != hold:
                conn.execute("UPDATE ads SET hold = ? WHERE ad_id = ?", (int(hold), ad_id))
                insert_audit(
                    conn,
                    actor,
                    "ad.hold" if hold else "ad.release",
                    ad_id,
                    bool(row["hold"]),
                    hold,
                    reason[:500],
                )
        return read_ad(self.db, ad_id)

    def record_capture(self, ad_id: str, capture: Mapping[str, Any]) -> None:
        with self.db.write() as conn:
            cursor = conn.execute(
                "UPDATE ads SET capture = ?, captured_at = ? WHERE ad_id = ? AND captured_at IS NULL",
                (
                    json.dumps(dict(capture), ensure_ascii=False, default=str),
                    capture["captured_at"],
                    ad_id,
                ),
            )
            if cursor.rowcount == 1:
                insert_audit(
                    conn,
                    str(capture.get("tool") or "patroli"),
                    "ad.capture",
                    ad_id,
                    None,
                    {"sha256": capture.get("sha256"), "file": capture.get("file")},
                    "",
                )

    def ads_to_capture(self, *, limit: int = 100) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM ads WHERE flagged = 1 AND captured_at IS NULL "
                "ORDER BY first_seen DESC, ad_id LIMIT ?",
                (limit,),
            ).fetchall()
        return [decode_row(r) for r in rows]

    def held_evidence(self) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT evidence.ad_id, evidence.warc_file FROM evidence "
                "JOIN ads ON ads.ad_id = evidence.ad_id "
                "WHERE evidence.warc_file IS NOT NULL AND (ads.hold = 1 OR ads.ad_id IN "
                "(SELECT value FROM case_items WHERE kind = 'ad') OR ads.cluster_id IN "
                "(SELECT value FROM case_items WHERE kind = 'cluster') OR ads.network_id IN "
                "(SELECT value FROM case_items WHERE kind = 'network') OR ads.ad_id IN "
                # an identifier item ("phone:+62…") holds every ad carrying it
                "(SELECT ad_id FROM ad_entities WHERE (kind, value) IN (SELECT "
                "substr(value, 1, instr(value, ':') - 1), substr(value, instr(value, ':') + 1) "
                "FROM case_items WHERE kind = 'identifier'))) ORDER BY 1, 2"
            ).fetchall()
        return [dict(r) for r in rows]
