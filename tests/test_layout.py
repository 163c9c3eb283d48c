"""The layout is the architecture: layers point down only, nothing imports in a circle, and the
installed distribution exposes exactly four top-level names.

The table ``MAY_IMPORT`` is the one README.md shows ("Architecture"); change both together.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "pipelines", "classifiers", "patroli")

# Each room of the house and the rooms it may import (besides itself), lowest layer first.
_VOCABULARY = {"patroli.text", "patroli.config", "patroli.logs", "patroli.images"}
_FOUNDATION = _VOCABULARY | {"patroli.storage", "patroli.alerts", "patroli.evidence"}
_CRAWL = _FOUNDATION | {"classifiers", "crawler", "pipelines"}
MAY_IMPORT: dict[str, set[str]] = {
    "patroli.text": set(),
    "patroli.config": {"patroli.text"},
    "patroli.logs": {"patroli.text", "patroli.config"},
    "patroli.images": {"patroli.text", "patroli.config"},
    "patroli.storage": _VOCABULARY,
    "patroli.alerts": _VOCABULARY,
    "patroli.evidence": _VOCABULARY | {"patroli.storage"},
    "classifiers": _VOCABULARY,
    "patroli.agencies": _FOUNDATION,
    "crawler": _FOUNDATION,
    "pipelines": _FOUNDATION | {"classifiers", "crawler", "patroli.agencies"},
    "patroli.demosites": _VOCABULARY,
    "patroli.patrol": _CRAWL,
    "patroli.notebook": _FOUNDATION | {"classifiers"},
    "patroli.cases": _FOUNDATION,
    "patroli.web": _FOUNDATION | {"classifiers", "crawler", "patroli.agencies", "patroli.cases"},
    "patroli.cli": _CRAWL
    | {"patroli.demosites", "patroli.patrol", "patroli.web", "patroli.agencies", "patroli.cases"},
}


def room_of(module: str) -> str | None:
    """The room a dotted module name lives in (the longest matching prefix), or None if outside."""
    if module == "patroli":
        return "patroli"
    for room in sorted(MAY_IMPORT, key=len, reverse=True):
        if module == room or module.startswith(room + "."):
            return room
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported project module, line) for every import in the file, lazy ones inside functions
    included: a lazy import that points up or closes a circle is the same design fault.

    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module, else ``a.b``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append((target, node.lineno))
    return found


MODULES = project_modules()
GRAPH = {name: imports_of(name, path, set(MODULES)) for name, path in MODULES.items()}


def test_every_module_lives_in_a_room() -> None:
    homeless = [n for n in MODULES if room_of(n) is None]
    assert homeless == [], f"add these to MAY_IMPORT and README's architecture table: {homeless}"


def test_layers_point_down_only() -> None:
    upward = []
    for name, imported in GRAPH.items():
        room = room_of(name)
        for target, line in imported:
            target_room = room_of(target)
            if target_room in (room, "patroli") or target_room is None or room == "patroli":
                continue
            if target_room not in MAY_IMPORT[str(room)]:
                upward.append(f"{MODULES[name].relative_to(ROOT)}:{line}: {room} -> {target}")
    assert upward == [], "imports against the layers:\n" + "\n".join(upward)


def test_no_circular_imports() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, imported in GRAPH.items():
        edges[name] |= {target for target, _ in imported}
    # A package imports its own submodules by design (its __init__ re-exports them): not a cycle.
    for name in list(edges):
        edges[name] = {t for t in edges[name] if not t.startswith(name + ".")}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], "circular imports:\n" + "\n".join(cycles)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The check itself can fail: a storage module importing the web app is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from patroli.web.app import create_app\n")
    found = imports_of("patroli.storage.bad", bad, set(MODULES))
    assert [(room_of(t), line) for t, line in found] == [("patroli.web", 1)]
    assert "patroli.web" not in MAY_IMPORT["patroli.storage"]


def test_the_wheel_installs_exactly_four_top_level_names(tmp_path: Path) -> None:
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*build, "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300
    )
    (wheel,) = tmp_path.glob("patroli-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {
            n.split("/")[0]
            for n in archive.namelist()
            if not n.split("/")[0].endswith(".dist-info")
        }
        entry_points = archive.read(
            next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        )
    assert tops == set(PACKAGES)
    assert b"patroli = patroli.cli.main:main" in entry_points


def test_the_editable_install_exposes_nothing_else(tmp_path: Path) -> None:
    probe = (
        "import importlib.util as u, json;"
        "print(json.dumps({n: u.find_spec(n) is not None for n in "
        "['crawler','pipelines','classifiers','patroli','tests','bench','deploy','docs','tools']}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert found.strip() == (
        '{"crawler": true, "pipelines": true, "classifiers": true, "patroli": true, '
        '"tests": false, "bench": false, "deploy": false, "docs": false, "tools": false}'
    )
