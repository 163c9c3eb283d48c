"""The Elasticsearch 8/9 adapter: the official ``elasticsearch`` client behind ``EngineClient``.

Requests carry the REST-compatibility media type of the server's major version, so the 9.x client
also speaks to Elasticsearch 8. Settings: see ``storage.engine.client``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, Elasticsearch

from patroli.storage.engine.client import (
    EngineClient,
    EngineInfo,
    EngineSettings,
    EngineUnavailable,
    error_from_body,
)


class ElasticsearchClient(EngineClient):
    family = "elasticsearch"

    def __init__(self, settings: EngineSettings, info: EngineInfo) -> None:
        super().__init__(settings, info)
        kwargs: dict[str, Any] = {
            "request_timeout": settings.timeout,
            "max_retries": 0,  # EngineClient.request retries, with backoff
            "retry_on_timeout": False,
        }
        if settings.api_key:
            kwargs["api_key"] = settings.api_key
        elif settings.username:
            kwargs["basic_auth"] = (settings.username, settings.password)
        if settings.base_url.startswith("https"):
            kwargs["verify_certs"] = settings.verify_certs
            if settings.ca_certs:
                kwargs["ca_certs"] = settings.ca_certs
        self.client = Elasticsearch(settings.base_url, **kwargs)
        major = info.major if info.major in (7, 8, 9) else 9
        json_type = f"application/vnd.elasticsearch+json; compatible-with={major}"
        self._json_headers = {"accept": json_type, "content-type": json_type}
        self._ndjson_headers = {
            "accept": json_type,
            "content-type": f"application/vnd.elasticsearch+x-ndjson; compatible-with={major}",
        }

    def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any, ndjson: bool
    ) -> Any:
        try:
            response = self.client.perform_request(
                method,
                path,
                params=params,
                headers=self._ndjson_headers if ndjson else self._json_headers,
                body=body,
            )
        except ApiError as exc:
            raise error_from_body(exc.meta.status, exc.body) from None
        except (TransportConnectionError, ConnectionTimeout, TransportError) as exc:
            raise EngineUnavailable(
                f"Elasticsearch at {self.settings.base_url} is unreachable: {type(exc).__name__}"
            ) from None
        return response.body

    def close(self) -> None:
        self.client.close()
