"""Flyers on the command line: ``patroli search --image FILE`` and ``patroli related`` find the
same flyer as the store does, and images that cannot be looked up say why."""

from __future__ import annotations

import json
from pathlib import Path

from patroli.storage import open_store
from tests.helpers.cli import run_patroli
from tests.helpers.flyerkit import blank_png, flyer_facts, flyer_jpeg, image_facts, with_images
from tests.helpers.records import record

NO_CONTACT = {"phones": [], "telegram": []}  # linked by their images alone


def _store_with_reposts(store_url: str) -> None:
    blank = image_facts(blank_png(), "https://img.example/placeholder.png")
    with open_store(store_url) as store:
        store.upsert_ads(
            [
                record("orig", **NO_CONTACT, **with_images([flyer_facts("p01")])),
                record(
                    "resized",
                    source="demo_pasarloka",
                    **NO_CONTACT,
                    **with_images([flyer_facts("p01", "resized")]),
                ),
                record(
                    "mirrored",
                    source="demo_fb_group",
                    **NO_CONTACT,
                    **with_images([flyer_facts("p01", "mirrored")]),
                ),
                record("other", **NO_CONTACT, **with_images([flyer_facts("p02"), blank])),
                record("blank_only", **NO_CONTACT, **with_images([blank])),
            ]
        )


def test_search_by_image_and_related_find_the_reposts(store_url: str, tmp_path: Path) -> None:
    _store_with_reposts(store_url)
    probe = tmp_path / "forwarded.jpg"
    probe.write_bytes(flyer_jpeg("p01", "recompressed"))
    result = run_patroli("search", "--image", str(probe), "--json", "--store", store_url)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert sorted(h["id"] for h in found["hits"]) == ["mirrored", "orig", "resized"]
    assert found["total"] == 3
    assert all(len(h["flyer_distance"]) == 2 for h in found["hits"])

    result = run_patroli("related", "orig", "--json", "--store", store_url)
    assert result.returncode == 0, result.stderr
    via = {row["id"]: row["via"] for row in json.loads(result.stdout)}
    assert via["resized"] == ["flyer"]
    assert via["mirrored"] == ["flyer"]
    assert "flyer" not in via.get("other", [])
    assert "flyer" not in via.get("blank_only", [])

    result = run_patroli("search", "--image", str(probe), "--store", store_url)  # the table
    assert result.returncode == 0, result.stderr
    assert "3 ad(s) with this flyer" in result.stdout


def test_images_that_cannot_be_looked_up_say_why(store_url: str, tmp_path: Path) -> None:
    _store_with_reposts(store_url)
    blank = tmp_path / "blank.png"
    blank.write_bytes(blank_png())
    svg = tmp_path / "flyer.jpg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    for path, reason in ((blank, "low_information"), (svg, "svg")):
        result = run_patroli("search", "--image", str(path), "--store", store_url)
        assert result.returncode == 1, (path, result.stdout)
        assert f"{path}: cannot look this image up" in result.stderr
        assert reason in result.stderr
    result = run_patroli("search", "loker", "--image", str(blank), "--store", store_url)
    assert result.returncode == 1
    assert "give QUERY or --image, not both" in result.stderr
