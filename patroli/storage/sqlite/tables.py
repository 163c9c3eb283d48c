"""The tables of clusters, networks and the agency register (``links``, ``register``), created or
added in place by ``connection`` when a file is opened."""

from __future__ import annotations

LINK_DDL = [
    """CREATE TABLE IF NOT EXISTS ad_links (
        ad_id TEXT PRIMARY KEY, signature BLOB, identifiers TEXT NOT NULL DEFAULT '[]')""",
    """CREATE TABLE IF NOT EXISTS lsh_bands (
        band INTEGER NOT NULL, ad_id TEXT NOT NULL, PRIMARY KEY (band, ad_id)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS lsh_bands_ad ON lsh_bands(ad_id)",
    # the linker's identifier keys per ad (contacts, accounts and flyer families), as ad_links
    # holds them: "which ads carry this key" without reading JSON
    """CREATE TABLE IF NOT EXISTS link_identifiers (
        key TEXT NOT NULL, ad_id TEXT NOT NULL, PRIMARY KEY (key, ad_id)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS link_identifiers_ad ON link_identifiers(ad_id)",
    # (cluster, network): "which networks hold this cluster's ads" reads the index alone
    "DROP INDEX IF EXISTS ads_cluster",
    "CREATE INDEX IF NOT EXISTS ads_cluster_network ON ads(cluster_id, network_id)",
    "CREATE INDEX IF NOT EXISTS ads_network ON ads(network_id)",
    """CREATE TABLE IF NOT EXISTS clusters (
        cluster_id TEXT PRIMARY KEY, decision TEXT, decided_by TEXT, decided_at TEXT, note TEXT,
        merged_into TEXT)""",
    """CREATE TABLE IF NOT EXISTS generic_identifiers (
        key TEXT PRIMARY KEY, kind TEXT, value TEXT, clusters INTEGER, marked_at TEXT)""",
]


REGISTER_DDL = [
    """CREATE TABLE IF NOT EXISTS register_imports (
        import_id TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT, imported_at TEXT NOT NULL,
        parser_version TEXT, sha256 TEXT, rows INTEGER, published_at TEXT, note TEXT)""",
    """CREATE TABLE IF NOT EXISTS register_entries (
        import_id TEXT NOT NULL, seq INTEGER NOT NULL, entry TEXT NOT NULL,
        PRIMARY KEY (import_id, seq))""",
    """CREATE TRIGGER IF NOT EXISTS register_imports_kept BEFORE UPDATE ON register_imports BEGIN
        SELECT RAISE(ABORT, 'register imports are history: never changed'); END""",
    """CREATE TRIGGER IF NOT EXISTS register_imports_not_deleted BEFORE DELETE ON register_imports
        BEGIN SELECT RAISE(ABORT, 'register imports are history: never deleted'); END""",
    """CREATE TRIGGER IF NOT EXISTS register_entries_kept BEFORE UPDATE ON register_entries BEGIN
        SELECT RAISE(ABORT, 'register entries are history: never changed'); END""",
]

# A file made before link_identifiers (schema 3) gets its rows from ad_links (schema 4).
FILL_LINK_IDENTIFIERS = (
    "INSERT OR IGNORE INTO link_identifiers(key, ad_id) "
    "SELECT j.value, l.ad_id FROM ad_links l, json_each(l.identifiers) j"
)
