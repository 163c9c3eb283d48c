"""The store's roles: they split the whole interface, every backend plays each of them (same
methods, same signatures, at runtime too), and mypy refuses a caller that steps outside its role."""

from __future__ import annotations

import inspect
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api

from patroli.storage import Store, StoreHandle, open_store
from patroli.storage.engine import EngineStore
from patroli.storage.roles import ROLES
from patroli.storage.sqlite import SQLiteStore
from tests.helpers.engines import open_engine_store

BACKEND_CLASSES = [SQLiteStore, EngineStore]
# The store interface before it was split into roles, less ``url`` and ``close`` (``StoreHandle``),
# plus what came later: decision counts (metrics), API tokens, clusters, networks and the register.
ROLE_METHODS = {
    "upsert_ads",
    "get_ad",
    "search",
    "count",
    "related",
    "same_flyer",
    "stats",
    "review",
    "review_history",
    "labelled_ads",
    "decision_counts",
    "known_ads",
    "touch_ads",
    "mark_gone",
    "record_run",
    "list_runs",
    "put_user",
    "get_user",
    "list_users",
    "count_login_failure",
    "append_audit",
    "audit_log",
    "save_search",
    "list_saved_searches",
    "delete_saved_search",
    "put_token",
    "get_token",
    "list_tokens",
    "revoke_token",
    "touch_token",
    "create_case",
    "get_case",
    "list_cases",
    "update_case",
    "add_case_item",
    "remove_case_item",
    "add_case_note",
    "cases_holding",
    "add_takedown",
    "update_takedown",
    "list_takedowns",
    "set_hold",
    "record_capture",
    "ads_to_capture",
    "held_evidence",
    # issue 15: leads, clusters and networks, the agency register
    "trends",
    "get_cluster",
    "get_network",
    "largest_networks",
    "review_cluster",
    "generic_identifiers",
    "relink",
    "unlink_ads",
    "record_register_import",
    "register_imports",
    "register_entries",
}


def members(protocol: type) -> set[str]:
    """The names a protocol itself declares (methods and attributes), without inherited ones."""
    declared = set(vars(protocol).get("__annotations__", {}))
    declared |= {name for name, value in vars(protocol).items() if inspect.isfunction(value)}
    return {
        name for name in declared if not name.startswith("_") or name in ("__enter__", "__exit__")
    }


def test_the_roles_split_the_store_without_overlap() -> None:
    by_role = {role.__name__: members(role) for role in ROLES}
    everything = [name for names in by_role.values() for name in names]
    assert len(everything) == len(set(everything)), f"a method is in two roles: {by_role}"
    assert set(everything) == ROLE_METHODS
    assert members(StoreHandle) == {"url", "close", "__enter__", "__exit__"}
    assert members(Store) == set(), "Store adds nothing of its own: it is the roles together"
    assert all(role in Store.__mro__ for role in ROLES)


@pytest.mark.parametrize("backend", BACKEND_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("role", [StoreHandle, *ROLES], ids=lambda r: r.__name__)
def test_each_backend_has_each_role_method_with_the_same_signature(
    backend: type, role: type
) -> None:
    """Names, kinds and defaults of the parameters (mypy compares the types)."""
    for name in members(role) - {"url"}:
        expected = inspect.signature(getattr(role, name))
        actual = inspect.signature(getattr(backend, name))
        assert _shape(actual) == _shape(expected), (
            f"{backend.__name__}.{name}{actual} differs from {role.__name__}.{name}{expected}"
        )


def _shape(signature: inspect.Signature) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize("backend", ["sqlite", "opensearch", "elasticsearch"])
def test_an_open_store_is_every_role_at_runtime(
    request: pytest.FixtureRequest, backend: str, store_url: str
) -> None:
    engine: Any = None
    if backend == "sqlite":
        store = open_store(store_url)
    else:
        engine = request.getfixturevalue("engines")[backend]
        prefix = f"t{uuid.uuid4().hex[:10]}"
        store = open_engine_store(engine, prefix)
    try:
        assert isinstance(store, Store)
        for role in ROLES:
            assert isinstance(store, role), f"{type(store).__name__} does not play {role.__name__}"
    finally:
        store.close()
        if engine is not None:
            engine.drop_prefix(prefix)


def test_mypy_refuses_a_method_outside_the_callers_role(tmp_path: Path) -> None:
    caller = tmp_path / "caller.py"
    caller.write_text(
        textwrap.dedent(
            """
            from patroli.storage import CrawlLedger, ReviewStore, open_store

            def sightings(url: str) -> int:
                ledger: CrawlLedger = open_store(url)
                with ledger:
                    ledger.review("a1", "confirmed", reviewer="x")
                    return ledger.touch_ads(["a1"], "2026-11-01")

            def decide(reviews: ReviewStore) -> None:
                reviews.review("a1", "confirmed", reviewer="x")
                reviews.upsert_ads([])
            """
        )
    )
    out, _err, status = mypy_api.run(
        [
            str(caller),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--follow-imports",
            "silent",
            "--ignore-missing-imports",
            "--no-error-summary",
        ]
    )
    assert status == 1
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 2, out
    assert '"CrawlLedger" has no attribute "review"' in errors[0]
    assert '"ReviewStore" has no attribute "upsert_ads"' in errors[1]
