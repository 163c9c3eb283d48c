"""patroli's own Scrapy signals (sent with ``crawler.signals.send_catch_log``).

``ads_stored``: the store pipeline wrote (or spooled to disk) a batch of ads; keyword ``began`` is
the ``time.monotonic()`` at which it took the batch: every ad that reached the end of the pipelines
before then is stored. The frontier acknowledges leased requests on it (``crawler.frontier``).
"""

from __future__ import annotations

ads_stored = object()
