"""Reaching a search engine: store URLs, credentials from the environment, engine detection, and
the small request interface that the Elasticsearch and OpenSearch adapters both implement
(``storage.engine.elastic``, ``storage.engine.opensearch``; ``storage.open_store`` picks one).

Store URLs: ``http(s)://host:port`` (the engine is detected from the root endpoint), or explicitly
``elasticsearch+https://host:port`` / ``opensearch+https://host:port``; ``?prefix=NAME`` chooses
the index prefix (default ``PATROLI_INDEX_PREFIX`` or ``patroli``). Credentials never go in the URL;
they come from ``PATROLI_ENGINE_USERNAME`` / ``PATROLI_ENGINE_PASSWORD`` or
``PATROLI_ENGINE_API_KEY``, TLS options from ``PATROLI_ENGINE_CA_CERTS`` and
``PATROLI_ENGINE_VERIFY_CERTS``; request timeouts and retries from ``PATROLI_ENGINE_TIMEOUT`` and
``PATROLI_ENGINE_RETRIES``; bulk request limits from ``PATROLI_BULK_MAX_ACTIONS`` and
``PATROLI_BULK_MAX_BYTES`` (all defined in ``patroli.config.table``). No credential is ever logged
or put in an error message.
"""

from __future__ import annotations

import json
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import urllib3

from patroli.config import SettingError
from patroli.config.table import (
    PATROLI_BULK_MAX_ACTIONS,
    PATROLI_BULK_MAX_BYTES,
    PATROLI_ENGINE_API_KEY,
    PATROLI_ENGINE_CA_CERTS,
    PATROLI_ENGINE_PASSWORD,
    PATROLI_ENGINE_RETRIES,
    PATROLI_ENGINE_TIMEOUT,
    PATROLI_ENGINE_USERNAME,
    PATROLI_ENGINE_VERIFY_CERTS,
    PATROLI_INDEX_PREFIX,
)
from patroli.storage.base import StoreError, StoreUnavailable

logger = logging.getLogger(__name__)

Family = Literal["elasticsearch", "opensearch"]
_SCHEMES = {
    "http": None,
    "https": None,
    "elasticsearch+http": "elasticsearch",
    "elasticsearch+https": "elasticsearch",
    "opensearch+http": "opensearch",
    "opensearch+https": "opensearch",
}
_PREFIX_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,40}")
# Statuses worth retrying: the engine is overloaded (429) or a proxy/node is briefly away.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def is_engine_url(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() in _SCHEMES


class EngineError(StoreError):
    """The engine answered with an error; ``status`` and ``type`` say which."""

    def __init__(self, status: int, error_type: str, reason: str) -> None:
        super().__init__(f"search engine error {status} {error_type}: {reason}")
        self.status, self.type, self.reason = status, error_type, reason


class EngineUnavailable(StoreUnavailable):
    """The engine cannot be reached, or stayed overloaded through every retry."""


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Where and how to reach one engine; secrets are kept out of ``repr``."""

    base_url: str
    family: Family | None  # None: detect from the root endpoint
    prefix: str
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)
    ca_certs: str = ""
    verify_certs: bool = PATROLI_ENGINE_VERIFY_CERTS.default_value()
    timeout: float = PATROLI_ENGINE_TIMEOUT.default_value()
    retries: int = PATROLI_ENGINE_RETRIES.default_value()
    bulk_max_actions: int = PATROLI_BULK_MAX_ACTIONS.default_value()
    bulk_max_bytes: int = PATROLI_BULK_MAX_BYTES.default_value()

    @property
    def auth_headers(self) -> dict[str, str]:
        if self.api_key:
            return {"authorization": f"ApiKey {self.api_key}"}
        if self.username:
            return urllib3.make_headers(basic_auth=f"{self.username}:{self.password}")
        return {}


def parse_engine_url(url: str, env: Mapping[str, str] | None = None) -> EngineSettings:
    """Read a store URL and the engine settings of the environment; refuse credentials in URLs.

    A bad setting is ``StoreUnavailable`` too (naming the variable): the store cannot be opened."""
    try:
        return _parse_engine_url(url, env)
    except SettingError as exc:
        raise StoreUnavailable(str(exc)) from exc


def _parse_engine_url(url: str, env: Mapping[str, str] | None) -> EngineSettings:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise StoreUnavailable(
            f"unknown engine URL scheme {parts.scheme!r}: use http(s)://host:port, "
            "elasticsearch+https://host:port or opensearch+https://host:port"
        )
    if parts.username or parts.password:
        raise StoreUnavailable(
            "credentials in the store URL are refused (URLs end up in logs and process lists): "
            "set PATROLI_ENGINE_USERNAME and PATROLI_ENGINE_PASSWORD, or PATROLI_ENGINE_API_KEY"
        )
    if not parts.hostname:
        raise StoreUnavailable(f"engine URL {url!r} names no host")
    query = parse_qs(parts.query)
    prefix = (query.get("prefix") or [PATROLI_INDEX_PREFIX.from_env(env)])[0]
    if not _PREFIX_RE.fullmatch(prefix):
        raise StoreUnavailable(
            f"index prefix {prefix!r} must be lower-case letters, digits, '-' or '_' "
            "(at most 41 characters, not starting with '-' or '_')"
        )
    transport = scheme.split("+")[-1]
    port = f":{parts.port}" if parts.port else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return EngineSettings(
        base_url=f"{transport}://{host}{port}{parts.path.rstrip('/')}",
        family=_SCHEMES[scheme],  # type: ignore[arg-type]
        prefix=prefix,
        username=PATROLI_ENGINE_USERNAME.from_env(env),
        password=PATROLI_ENGINE_PASSWORD.from_env(env),
        api_key=PATROLI_ENGINE_API_KEY.from_env(env),
        ca_certs=PATROLI_ENGINE_CA_CERTS.from_env(env),
        verify_certs=PATROLI_ENGINE_VERIFY_CERTS.from_env(env),
        timeout=PATROLI_ENGINE_TIMEOUT.from_env(env),
        retries=PATROLI_ENGINE_RETRIES.from_env(env),
        bulk_max_actions=PATROLI_BULK_MAX_ACTIONS.from_env(env),
        bulk_max_bytes=PATROLI_BULK_MAX_BYTES.from_env(env),
    )


@dataclass(frozen=True, slots=True)
class EngineInfo:
    family: Family
    version: str

    @property
    def major(self) -> int:
        try:
            return int(self.version.split(".")[0])
        except ValueError:
            return 0


def detect_engine(settings: EngineSettings) -> EngineInfo:
    """Ask the engine what it is: the root endpoint, or the ``X-Elastic-Product`` header that
    Elasticsearch sends on every response (stripped Elasticsearch builds have no root endpoint)."""
    pool_kwargs: dict[str, Any] = {
        "timeout": urllib3.Timeout(total=settings.timeout),
        "retries": False,
    }
    if settings.base_url.startswith("https"):
        pool_kwargs["cert_reqs"] = "CERT_REQUIRED" if settings.verify_certs else "CERT_NONE"
        if settings.ca_certs:
            pool_kwargs["ca_certs"] = settings.ca_certs
    headers = {"accept": "application/json", **settings.auth_headers}
    with urllib3.PoolManager(**pool_kwargs) as http:
        try:
            root = http.request("GET", settings.base_url + "/", headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise EngineUnavailable(
                f"search engine at {settings.base_url} is unreachable: {type(exc).__name__}"
            ) from exc
        if root.status == 401:
            raise EngineUnavailable(
                f"search engine at {settings.base_url} refused the credentials (401): check "
                "PATROLI_ENGINE_USERNAME / PATROLI_ENGINE_PASSWORD or PATROLI_ENGINE_API_KEY"
            )
        body = _json_or_empty(root.data)
        product = root.headers.get("x-elastic-product", "")
        version: dict[str, Any] = body["version"] if isinstance(body.get("version"), dict) else {}
        if version.get("distribution") == "opensearch":
            detected: Family = "opensearch"
        elif product == "Elasticsearch":
            detected = "elasticsearch"
        else:
            raise EngineUnavailable(
                f"{settings.base_url} does not look like Elasticsearch or OpenSearch "
                f"(GET / answered {root.status}); name the engine with elasticsearch+http(s):// "
                "or opensearch+http(s)://"
            )
        number = str(version.get("number") or "")
        if not number:  # no root endpoint: ask the local node
            nodes = http.request(
                "GET",
                settings.base_url + "/_nodes/_local?filter_path=nodes.*.version",
                headers=headers,
            )
            number = next(
                (
                    n.get("version", "")
                    for n in _json_or_empty(nodes.data).get("nodes", {}).values()
                ),
                "",
            )
    if settings.family and settings.family != detected:
        raise EngineUnavailable(
            f"{settings.base_url} is {detected} {number}, but the store URL says {settings.family}"
        )
    return EngineInfo(detected, number or "0")


def _json_or_empty(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class EngineClient(ABC):
    """The few things the engine store asks of a client: one REST request, retried with backoff
    on 429/5xx and connection errors; errors come back as ``EngineError`` / ``EngineUnavailable``."""

    family: Family

    def __init__(self, settings: EngineSettings, info: EngineInfo) -> None:
        self.settings = settings
        self.info = info

    @abstractmethod
    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        ndjson: bool,
    ) -> Any:
        """One attempt; raise ``EngineError`` (with the HTTP status) or ``EngineUnavailable``."""

    @abstractmethod
    def close(self) -> None: ...

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        ndjson: bool = False,
        retries: int | None = None,
    ) -> Any:
        attempts = (self.settings.retries if retries is None else retries) + 1
        for attempt in range(attempts):
            try:
                return self._send(method, path, params, body, ndjson)
            except EngineUnavailable:
                if attempt == attempts - 1:
                    raise
            except EngineError as exc:
                if exc.status not in RETRY_STATUSES:
                    raise
                if attempt == attempts - 1:
                    raise EngineUnavailable(
                        f"search engine at {self.settings.base_url} stayed busy ({exc.status} "
                        f"{exc.type}) through {attempts} attempts"
                    ) from exc
            delay = min(0.5 * 2**attempt, 8.0)
            logger.warning(
                "search engine request %s %s failed, retrying in %.1fs",
                method,
                path.split("?")[0],
                delay,
            )
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def error_from_body(status: int, body: Any) -> EngineError:
    """Turn an engine's error body into an ``EngineError`` with its type and reason."""
    error_type, reason = "error", str(body)[:300]
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            error_type = str(error.get("type", error_type))
            reason = str(error.get("reason", reason))[:300]
        elif isinstance(error, str):
            reason = error[:300]
    return EngineError(status, error_type, reason)
