"""The analysts' decisions in SQLite (the ``ReviewStore`` role): a decision updates the ad under
optimistic concurrency, and is kept in ``reviews`` and the audit log in the same transaction."""

from __future__ import annotations

from patroli.storage.base import AdNotFound, Record, ReviewConflict
from patroli.storage.schema import DECISIONS, LABELLED_FIELDS, REVIEW_ENTRY_FIELDS, now
from patroli.storage.sqlite.accounts import insert_audit
from patroli.storage.sqlite.ads import read_ad
from patroli.storage.sqlite.connection import Database
from patroli.storage.sqlite.rows import decode_row


class SQLiteReviews:
    db: Database

    def review(
        self,
        ad_id: str,
        decision: str,
        *,
        reviewer: str,
        note: str = "",
        expected_version: int | None = None,
    ) -> Record:
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT status, version FROM ads WHERE ad_id = ?", (ad_id,)
            ).fetchone()
            if row is None:
                raise AdNotFound(ad_id)
            if expected_version is not None and row["version"] != expected_version:
                raise ReviewConflict(ad_id, expected_version, row["version"])
            at = now()
            cursor = conn.execute(
                "UPDATE ads SET status = ?, reviewed_by = ?, reviewed_at = ?, review_note = ?, "
                "version = version + 1 WHERE ad_id = ? AND version = ?",
                (decision, reviewer, at, note, ad_id, row["version"]),
            )
            if cursor.rowcount != 1:  # changed between our read and write (another process)
                current = conn.execute(
                    "SELECT version FROM ads WHERE ad_id = ?", (ad_id,)
                ).fetchone()
                raise ReviewConflict(ad_id, row["version"], current["version"])
            conn.execute(
                "INSERT INTO reviews(ad_id, decision, note, reviewer, at, previous_status, version) "
                "VALUES (?,?,?,?,?,?,?)",
                (ad_id, decision, note, reviewer, at, row["status"], row["version"] + 1),
            )
            insert_audit(conn, reviewer, "review", ad_id, row["status"], decision, note, at)
        return read_ad(self.db, ad_id)

    def review_history(self, ad_id: str) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(REVIEW_ENTRY_FIELDS)} FROM reviews WHERE ad_id = ? ORDER BY id",
                (ad_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    def labelled_ads(self) -> list[Record]:
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(LABELLED_FIELDS)} FROM ads "
                "WHERE status IN ('confirmed', 'dismissed') ORDER BY reviewed_at"
            ).fetchall()
        return [decode_row(r) for r in rows]

    def decision_counts(self, *, since: str = "") -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT decision, count(*) FROM reviews WHERE at >= ? GROUP BY decision", (since,)
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}
