"""Template clusters and recruiter networks in SQLite (the ``LinkBackend`` of ``storage.linking``).

The ads' own ``cluster_id``/``network_id`` columns say who belongs where; ``ad_links`` keeps each
ad's MinHash signature and identifier keys, ``lsh_bands`` the LSH index (band key -> ad), and the
identifiers' ads are the ``ad_entities`` rows the upsert writes anyway. A link run is one
transaction on the caller's connection: it is never seen half done.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from patroli.storage.base import Record, chunks
from patroli.storage.flyers import FLYER_KIND
from patroli.storage.linking.backend import AdLinks, split_key
from patroli.storage.schema import CLUSTER_FIELDS, GENERIC_FIELDS

_CHUNK = 400


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SQLiteLinks:
    """A ``LinkBackend`` on one open connection (inside the caller's transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _members(self, where: str, params: Sequence[Any]) -> list[AdLinks]:
        rows = self.conn.execute(
            "SELECT ads.ad_id, ads.cluster_id, ads.network_id, l.signature, l.identifiers "
            f"FROM ads LEFT JOIN ad_links l ON l.ad_id = ads.ad_id WHERE {where}",
            params,
        ).fetchall()
        return self._with_bands([self._links(r) for r in rows])

    @staticmethod
    def _links(row: sqlite3.Row) -> AdLinks:
        return AdLinks(
            ad_id=row["ad_id"],
            signature=row["signature"],
            identifiers=json.loads(row["identifiers"] or "[]"),
            cluster_id=row["cluster_id"] or "",
            network_id=row["network_id"] or "",
        )

    def _with_bands(self, links: list[AdLinks]) -> list[AdLinks]:
        by_id = {link.ad_id: link for link in links}
        for chunk in chunks(by_id, _CHUNK):
            for ad_id, band in self.conn.execute(
                f"SELECT ad_id, band FROM lsh_bands WHERE ad_id IN ({_marks(len(chunk))})", chunk
            ):
                by_id[ad_id].bands.append(band)
        return links

    def links_of(self, ad_ids: Sequence[str]) -> dict[str, AdLinks]:
        found: list[AdLinks] = []
        for chunk in chunks(ad_ids, _CHUNK):
            rows = self.conn.execute(
                "SELECT l.ad_id, ads.cluster_id, ads.network_id, l.signature, l.identifiers "
                f"FROM ad_links l JOIN ads ON ads.ad_id = l.ad_id WHERE l.ad_id IN ({_marks(len(chunk))})",
                chunk,
            ).fetchall()
            found += [self._links(r) for r in rows]
        return {link.ad_id: link for link in self._with_bands(found)}

    def band_candidates(self, keys: Iterable[int]) -> dict[str, AdLinks]:
        ad_ids: set[str] = set()
        for chunk in chunks(keys, _CHUNK):
            ad_ids.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT DISTINCT ad_id FROM lsh_bands WHERE band IN ({_marks(len(chunk))})",
                    chunk,
                )
            )
        return self.links_of(sorted(ad_ids))

    def save_links(self, links: Sequence[AdLinks]) -> None:
        ids = [link.ad_id for link in links]
        for chunk in chunks(ids, _CHUNK):
            self.conn.execute(f"DELETE FROM lsh_bands WHERE ad_id IN ({_marks(len(chunk))})", chunk)
            self.conn.execute(
                f"DELETE FROM link_identifiers WHERE ad_id IN ({_marks(len(chunk))})", chunk
            )
        self.conn.executemany(
            "INSERT OR IGNORE INTO link_identifiers(key, ad_id) VALUES (?,?)",
            [(key, l.ad_id) for l in links for key in l.identifiers],
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO ad_links(ad_id, signature, identifiers) VALUES (?,?,?)",
            [(l.ad_id, l.signature, json.dumps(l.identifiers, ensure_ascii=False)) for l in links],
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO lsh_bands(band, ad_id) VALUES (?,?)",
            [(band, l.ad_id) for l in links for band in l.bands],
        )
        self.conn.executemany(
            "UPDATE ads SET cluster_id = ?, network_id = ? WHERE ad_id = ?",
            [(l.cluster_id, l.network_id, l.ad_id) for l in links],
        )

    def set_clusters(self, assignments: Mapping[str, str]) -> None:
        self.conn.executemany(
            "UPDATE ads SET cluster_id = ? WHERE ad_id = ?",
            [(c, a) for a, c in assignments.items()],
        )

    def set_networks(self, assignments: Mapping[str, str]) -> None:
        self.conn.executemany(
            "UPDATE ads SET network_id = ? WHERE ad_id = ?",
            [(n, a) for a, n in assignments.items()],
        )

    def set_cluster_status(self, assignments: Mapping[str, str]) -> None:
        self.conn.executemany(
            "UPDATE ads SET cluster_status = ? WHERE ad_id = ?",
            [(s, a) for a, s in assignments.items()],
        )

    def delete_links(self, ad_ids: Sequence[str]) -> None:
        for chunk in chunks(ad_ids, _CHUNK):
            marks = _marks(len(chunk))
            self.conn.execute(f"DELETE FROM lsh_bands WHERE ad_id IN ({marks})", chunk)
            self.conn.execute(f"DELETE FROM link_identifiers WHERE ad_id IN ({marks})", chunk)
            self.conn.execute(f"DELETE FROM ad_links WHERE ad_id IN ({marks})", chunk)
            self.conn.execute(
                "UPDATE ads SET cluster_id = '', network_id = '', cluster_status = '' "
                f"WHERE ad_id IN ({marks})",
                chunk,
            )

    def cluster_members(self, cluster_id: str) -> list[AdLinks]:
        return self._members("ads.cluster_id = ?", (cluster_id,))

    def network_members(self, network_id: str) -> list[AdLinks]:
        return self._members("ads.network_id = ?", (network_id,))

    def _sizes(self, column: str, ids: Iterable[str]) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for chunk in chunks(ids, _CHUNK):
            for key, n in self.conn.execute(
                f"SELECT {column}, COUNT(*) FROM ads WHERE {column} IN ({_marks(len(chunk))}) "
                f"GROUP BY {column}",
                chunk,
            ):
                sizes[key] = n
        return sizes

    def cluster_sizes(self, cluster_ids: Iterable[str]) -> dict[str, int]:
        return self._sizes("cluster_id", cluster_ids)

    def network_sizes(self, network_ids: Iterable[str]) -> dict[str, int]:
        return self._sizes("network_id", network_ids)

    def networks_of_clusters(self, cluster_ids: Iterable[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for chunk in chunks(cluster_ids, _CHUNK):
            for cluster_id, network_id in self.conn.execute(
                "SELECT DISTINCT cluster_id, network_id FROM ads "
                f"WHERE cluster_id IN ({_marks(len(chunk))}) AND network_id != ''",
                chunk,
            ):
                found[cluster_id].add(network_id)
        return found

    def _identifier_rows(self, keys: Iterable[str], select: str, group: str = "") -> Iterator[Any]:
        for chunk in chunks(keys, _CHUNK):
            yield from self.conn.execute(
                f"SELECT i.key AS key, {select} FROM link_identifiers i "
                f"JOIN ads ON ads.ad_id = i.ad_id WHERE i.key IN ({_marks(len(chunk))}) {group}",
                chunk,
            )

    def networks_of_identifiers(self, keys: Iterable[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for row in self._identifier_rows(
            keys, "ads.network_id AS n", "GROUP BY i.key, ads.network_id"
        ):
            if row["n"]:
                found[row["key"]].add(row["n"])
        return found

    def identifier_cluster_counts(self, keys: Iterable[str]) -> dict[str, int]:
        return {
            row["key"]: row["n"]
            for row in self._identifier_rows(
                keys, "COUNT(DISTINCT ads.cluster_id) AS n", "GROUP BY i.key"
            )
        }

    def flyer_candidates(
        self, key_sets: Sequence[tuple[list[str], list[str]]], limit: int
    ) -> dict[str, list[Record]]:
        ids: set[str] = set()
        for phash_keys, dhash_keys in key_sets:
            # Both look-ups use the (kind, value) primary key of ad_entities.
            sub = "SELECT ad_id FROM ad_entities WHERE kind = ? AND value IN ({})"
            sql = (
                f"{sub.format(_marks(len(phash_keys)))} INTERSECT "
                f"{sub.format(_marks(len(dhash_keys)))} LIMIT ?"
            )
            rows = self.conn.execute(sql, [FLYER_KIND, *phash_keys, FLYER_KIND, *dhash_keys, limit])
            ids.update(row[0] for row in rows)
        found: dict[str, list[Record]] = {}
        for chunk in chunks(sorted(ids), _CHUNK):
            for ad_id, images in self.conn.execute(
                f"SELECT ad_id, images FROM ads WHERE ad_id IN ({_marks(len(chunk))})", chunk
            ):
                found[ad_id] = json.loads(images or "[]")
        return found

    def generic_identifiers(self, keys: Iterable[str] | None = None) -> dict[str, Record]:
        if keys is None:
            rows = self.conn.execute("SELECT * FROM generic_identifiers ORDER BY key").fetchall()
        else:
            rows = []
            for chunk in chunks(keys, _CHUNK):
                rows += self.conn.execute(
                    f"SELECT * FROM generic_identifiers WHERE key IN ({_marks(len(chunk))})", chunk
                ).fetchall()
        return {r["key"]: {k: r[k] for k in GENERIC_FIELDS} for r in rows}

    def mark_generic(self, counts: Mapping[str, int], at: str) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO generic_identifiers(key, kind, value, clusters, marked_at) "
            "VALUES (?,?,?,?,?)",
            [(key, *split_key(key), n, at) for key, n in counts.items()],
        )

    def cluster_records(self, cluster_ids: Iterable[str]) -> dict[str, Record]:
        found: dict[str, Record] = {}
        for chunk in chunks(cluster_ids, _CHUNK):
            for row in self.conn.execute(
                f"SELECT * FROM clusters WHERE cluster_id IN ({_marks(len(chunk))})", chunk
            ):
                found[row["cluster_id"]] = {k: row[k] for k in CLUSTER_FIELDS}
        return found

    def put_cluster_records(self, records: Sequence[Record]) -> None:
        self.conn.executemany(
            f"INSERT OR REPLACE INTO clusters({', '.join(CLUSTER_FIELDS)}) "
            f"VALUES ({_marks(len(CLUSTER_FIELDS))})",
            [[r.get(k) for k in CLUSTER_FIELDS] for r in records],
        )

    def all_ad_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT ad_id FROM ads ORDER BY seq")]

    def link_inputs(self, ad_ids: Sequence[str]) -> list[Record]:
        fields = "ad_id, title, text, phones, whatsapp, telegram, emails, bank_accounts, images"
        records: list[Record] = []
        for chunk in chunks(ad_ids, _CHUNK):
            for row in self.conn.execute(
                f"SELECT {fields} FROM ads WHERE ad_id IN ({_marks(len(chunk))})", chunk
            ):
                record = dict(row)
                for name in ("phones", "whatsapp", "telegram", "emails", "bank_accounts", "images"):
                    record[name] = json.loads(record[name] or "[]")
                records.append(record)
        return records
