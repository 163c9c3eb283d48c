"""The Python API (patroli.notebook): its docs page and module docstring run as doctests on a small
fictional store; DataFrames without pandas fail with a clear message."""

from __future__ import annotations

import dataclasses
import doctest
import sys
from pathlib import Path
from typing import Any

import pytest

from patroli import notebook
from patroli.storage import open_store
from patroli.storage.schema import FIELDS
from tests.helpers.cli import ROOT
from tests.helpers.records import record


def seeded(directory: Path) -> str:
    url = f"sqlite:///{directory / 'notebook.db'}"
    with open_store(url) as store:
        store.upsert_ads(
            [
                record(
                    "contoh-kh-1",
                    title="LOKER ADMIN KAMBOJA",
                    risk=0.97,
                    posted_at="2026-11-19T10:00:00+00:00",
                ),
                record(
                    "contoh-kh-2",
                    source="demo_pasarloka",
                    title="Admin online shop Sihanoukville",
                    risk=0.91,
                    telegram=[],
                    text="Admin online shop di Sihanoukville, tiket gratis. WA 0812-5551-2345",
                ),
                record(
                    "contoh-sa-1",
                    source="demo_fb_group",
                    title="PRT keluarga Arab Saudi, visa ziarah",
                    text="Dicari PRT untuk keluarga di Riyadh, berangkat pakai visa ziarah. WA 0813-5557-0112",
                    countries=["SA"],
                    phones=["+6281355570112"],
                    telegram=[],
                    risk=0.88,
                ),
                record(
                    "contoh-my-1",
                    source="demo_kerjanusa",
                    title="Operator pabrik Penang resmi",
                    risk=0.12,
                    flagged=False,
                    countries=["MY"],
                    phones=["+6281755590001"],
                    telegram=[],
                    text="PT resmi berizin SIP2MI, proses lewat Disnaker dan BP3MI.",
                ),
            ]
        )
        store.record_run(
            {
                "run_id": "r1",
                "source": "demo_telegram",
                "started_at": "2026-11-20T08:00:00+00:00",
                "finished_at": "2026-11-20T08:01:00+00:00",
                "status": "ok",
                "pages": 3,
                "items": 2,
                "new": 2,
                "flagged": 2,
                "errors": 0,
                "degraded_pages": 0,
            }
        )
    return url


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seeded(tmp_path_factory.mktemp("notebook"))


def _run(result: doctest.TestResults) -> None:
    assert result.attempted > 5
    assert result.failed == 0


def test_the_docs_page_examples_run(store_url: str) -> None:
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    _run(
        doctest.testfile(
            str(ROOT / "docs" / "python-api.md"),
            module_relative=False,
            globs={"store_url": store_url},
            optionflags=flags,
            verbose=False,
        )
    )


def test_the_module_docstring_examples_run(store_url: str) -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(notebook, globs={"store_url": store_url})
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert sum(t.examples.__len__() for t in tests) >= 3


def test_an_ad_has_every_field_of_the_schema() -> None:
    names = [f.name for f in dataclasses.fields(notebook.Ad)]
    assert names[: len(FIELDS)] == [f.name for f in FIELDS]
    assert names[len(FIELDS) :] == ["highlight"]


def test_frames_without_pandas_say_what_to_install(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with notebook.connect(store_url) as patrol:
        ads: list[Any] = list(patrol.search("flagged:true"))
        assert len(ads) == 3  # searching needs no pandas
        with pytest.raises(ImportError, match="pip install pandas"):
            patrol.frame("flagged:true")
