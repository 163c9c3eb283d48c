"""The OpenSearch 2/3 adapter: ``opensearch-py`` behind ``EngineClient`` (the Elasticsearch client
refuses to talk to OpenSearch by design). Settings: see ``storage.engine.client``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

from patroli.storage.engine.client import (
    EngineClient,
    EngineInfo,
    EngineSettings,
    EngineUnavailable,
    error_from_body,
)

# opensearch-py logs every non-2xx answer as a warning, expected ones too (a 404 for an unknown ad,
# a 409 for a stale review); the store reports what matters itself.
logging.getLogger("opensearch").setLevel(logging.ERROR)

_JSON = {"accept": "application/json", "content-type": "application/json"}
_NDJSON = {"accept": "application/json", "content-type": "application/x-ndjson"}


class OpenSearchClient(EngineClient):
    family = "opensearch"

    def __init__(self, settings: EngineSettings, info: EngineInfo) -> None:
        super().__init__(settings, info)
        kwargs: dict[str, Any] = {
            "timeout": settings.timeout,
            "max_retries": 0,  # EngineClient.request retries, with backoff
            "retry_on_timeout": False,
            "pool_maxsize": 16,  # the crawl, the web app and migrations share one client
        }
        if settings.api_key:
            kwargs["headers"] = settings.auth_headers
        elif settings.username:
            kwargs["http_auth"] = (settings.username, settings.password)
        if settings.base_url.startswith("https"):
            kwargs["use_ssl"] = True
            kwargs["verify_certs"] = settings.verify_certs
            kwargs["ssl_show_warn"] = settings.verify_certs
            if settings.ca_certs:
                kwargs["ca_certs"] = settings.ca_certs
        self.client = OpenSearch([settings.base_url], **kwargs)

    def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any, ndjson: bool
    ) -> Any:
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        try:
            return self.client.transport.perform_request(
                method,
                path,
                params=dict(params or {}),
                body=body,
                headers=_NDJSON if ndjson else _JSON,
            )
        except OpenSearchConnectionError as exc:
            raise EngineUnavailable(
                f"OpenSearch at {self.settings.base_url} is unreachable: {type(exc).__name__}"
            ) from None
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 503
            raise error_from_body(status, exc.info) from None

    def close(self) -> None:
        self.client.close()
