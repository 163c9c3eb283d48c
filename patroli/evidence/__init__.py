"""Evidence as sent and as seen: WARC records of every response the crawl fetched (``records``,
``writer``, ``archive``), pages rendered offline from them (``render``), the capture record made
when an ad is first flagged (``capture``), and what retention may delete (``retention``).

Settings: ``PATROLI_EVIDENCE_DIR``, ``PATROLI_WARC_MAX_BYTES``, ``PATROLI_EVIDENCE_RETENTION_DAYS``,
``PATROLI_CAPTURE_ENABLED``, ``PATROLI_CHROMIUM``. What a capture record is, and what it is not
(forensic acquisition), is in docs/evidence.md.
"""
