"""Every ``patroli`` command, found by walking the click tree, run with hostile arguments: Rich
markup, terminal control characters, huge values, bad store URLs, missing, binary and directory
paths. No traceback and no "unexpected error" may reach the user, the exit status is one the
commands document, and nothing is created where a read-only command pointed. Plus the classify
and store-URL findings of issue 13, each with its own test."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from patroli.cli import cli
from patroli.cli.main import UNEXPECTED
from patroli.storage import open_store
from tests.helpers.cli import run_patroli
from tests.helpers.webkit import seed_store

MARKUP = ["[/]", "[bold]x[/bold", "[link=file:///etc/passwd]x", ":warning:"]
CONTROL = ["\x1b[31mmerah\x1b[0m\x07", "\x9b2J", "a\x00b"]
HUGE = ["9" * 40, "-1", "x" * 20_000]
TEXTS = MARKUP + CONTROL + HUGE
# Never started for real: each gets arguments that make it stop before it crawls or serves.
GUARDS: dict[str, list[str]] = {
    "crawl": ["[/]"],  # an unknown source: nothing is crawled
    "schedule": ["--only", "[/]"],  # nothing to schedule
    "train": ["--data", "/no/such/corpus"],
}
EXIT_CODES = {0, 1, 2, 3, 4}


def commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


ALL = list(commands(cli))


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with ads and users, made once (password hashing is slow) and copied per test."""
    path = tmp_path_factory.mktemp("cli") / "good.db"
    store = seed_store(f"sqlite:///{path}")
    store.close()
    return path


@pytest.fixture
def place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeded_file: Path
) -> Iterator[dict[str, str]]:
    """A working directory of its own, a store with ads, a binary file, a port that is taken."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(seeded_file, tmp_path / "good.db")
    monkeypatch.setenv("PATROLI_STORE", f"sqlite:///{tmp_path / 'good.db'}")
    monkeypatch.setenv("PATROLI_ENGINE_RETRIES", "0")
    monkeypatch.setenv("PATROLI_ENGINE_TIMEOUT", "2")
    monkeypatch.delenv("PATROLI_SECRET_KEY", raising=False)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(bytes(range(256)) * 64 + b"\n\xff\xfe{\x00}\n")
    busy = socket.socket()  # a port that is taken: the demo commands never serve
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    yield {
        "dir": str(tmp_path),
        "binary": str(binary),
        "missing": str(tmp_path / "missing.jsonl"),
        "busy_port": str(busy.getsockname()[1]),
    }
    busy.close()


def invocations(
    path: tuple[str, ...], command: click.Command, place: dict[str, str]
) -> Iterator[list[str]]:
    """Argument lists, each making one parameter hostile; required arguments get hostile values
    too, and the guard of a command that would crawl or serve comes last."""
    stores = [
        "sqlite:///absent/x.db?mode=ro",
        "sqlite:///x.db?mode=wat",
        "sqlite://x.db",
        "ftp://127.0.0.1/x",
        "[/]",
        "http://127.0.0.1:9",
        "sqlite:///binary.jsonl",
    ]
    paths = [place["missing"], place["binary"], place["dir"], "[/]"]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]

    def filler(argument: click.Argument) -> str:
        return place["binary"] if isinstance(argument.type, click.Path) else "[/]"

    guard = GUARDS.get(path[-1], [])
    if path[-1] in ("demo", "demo-sites"):
        guard = ["--port", place["busy_port"], *(["--no-serve"] if path[-1] == "demo" else [])]
    for argument in arguments:
        for value in paths if isinstance(argument.type, click.Path) else TEXTS:
            positional = [
                value if a is argument else filler(a)
                for a in arguments
                if a.required or a is argument
            ]
            yield [*path, *positional, *guard]
    required = [filler(a) for a in arguments if a.required]
    for option in options:
        flag = next((o for o in option.opts if o.startswith("--")), option.opts[0])
        if option.is_flag or option.count:
            yield [*path, *required, *guard, flag]
            continue
        if flag == "--store":
            values = stores
        elif isinstance(option.type, click.Path):
            values = paths
        else:
            values = TEXTS[:4] + HUGE
        for value in values:
            # the hostile value last, so that it wins over a guard of the same option
            yield [*path, *required, *guard, flag, value]


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_every_command_survives_hostile_arguments(
    path: tuple[str, ...], command: click.Command, place: dict[str, str]
) -> None:
    runner = CliRunner()
    tried = 0
    for args in invocations(path, command, place):
        result = runner.invoke(cli, args, catch_exceptions=True)
        tried += 1
        output = result.output
        where = (
            f"patroli {' '.join(repr(a)[:60] for a in args)} -> {result.exit_code}: {output[-600:]}"
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            where + f" raised {result.exception!r}"
        )
        assert "Traceback" not in output, where
        assert UNEXPECTED not in output, where
        assert result.exit_code in EXIT_CODES, where
    assert tried >= 1
    assert not (Path(place["dir"]) / "absent").exists()  # a read-only store URL created nothing


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p, _ in ALL}
    assert {
        "classify",
        "review",
        "search",
        "show",
        "queue",
        "related",
        "runs",
        "crawl",
        "serve",
        "users add",
        "users list",
        "index status",
        "model use",
        "searches remove",
    } <= names


def test_rich_markup_in_a_user_value_is_printed_as_is(place: dict[str, str]) -> None:
    """``patroli review '[/]'`` used to crash inside Rich (MarkupError) with a traceback."""
    result = run_patroli("review", "[/]", "--decision", "dismissed", cwd=Path(place["dir"]))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "no ad with id [/]" in result.stderr
    result = run_patroli("show", "[bold]\x1b[2Jx", cwd=Path(place["dir"]))
    assert "no ad with id [bold] [2Jx" in result.stderr
    assert "\x1b" not in result.stderr


def test_read_only_commands_create_no_store_and_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--store 'sqlite:///x.db?mode=ro'`` used to create a new, empty file named
    ``x.db?mode=ro``, and reading commands created missing directories."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in (
        ["search", "kamboja"],
        ["show", "x"],
        ["queue"],
        ["related", "x"],
        ["runs"],
        ["users", "list"],
        ["searches", "list"],
        ["review", "x", "--decision", "dismissed"],
        ["users", "disable", "ana"],
        ["train", "--with-reviews"],
    ):
        for url in ("sqlite:///x.db?mode=ro", "sqlite:///new/dir/x.db", "sqlite:///y.db"):
            result = runner.invoke(cli, [*args, "--store", url])
            assert result.exit_code in (1, 4), (args, url, result.output)
            assert "no store at" in result.output, (args, url, result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    result = run_patroli("search", "--store", "sqlite:///x.db?cache=shared", cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown parameter cache=shared" in result.stderr


def test_mode_ro_opens_an_existing_store_read_only(tmp_path: Path) -> None:
    store = seed_store(f"sqlite:///{tmp_path / 'web.db'}")
    store.close()
    url = f"sqlite:///{tmp_path / 'web.db'}?mode=ro"
    found = run_patroli("search", "country:KH", "--json", "--store", url)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["total"] == 3
    refused = run_patroli(
        "review", "kh0000000000000000000001", "--decision", "confirmed", "--store", url
    )
    assert refused.returncode == 4
    assert "readonly" in refused.stderr.replace(" ", "").replace("-", "")
    assert "Traceback" not in refused.stderr
    assert (
        open_store(f"sqlite:///{tmp_path / 'web.db'}").get_ad("kh0000000000000000000001")["status"]
        == "new"
    )


def test_classify_reports_each_bad_line_and_scores_the_rest(tmp_path: Path) -> None:
    """Binary data, a lone surrogate and deep nesting used to stop classify with a traceback; a
    huge line was read and scored whole."""
    good = {
        "id": "ok",
        "text": "Dicari admin CS di Phnom Penh, gaji 1.200 USD, japri WA 0812-5551-2345",
    }
    lines = [
        json.dumps(good).encode(),
        b"\x00\x01\x02binary\xff",
        b'{"text": "caf\xe9 latin-1"}',
        b'{"text": "\\ud800 lone"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"text": ' + b'{"a": ' * 40 + b"1" + b"}" * 41,
        b'{"text": "' + b"x" * 3_000_000 + b'"}',
        b'"just a string"',
        b'{"title": "no text"}',
        b"",
        json.dumps({**good, "id": "long", "text": "kerja Kamboja " * 4000}).encode(),
        json.dumps({**good, "id": "last"}).encode(),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    result = run_patroli("classify", str(source), "-o", str(out), "--max-chars", "20000")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    expected = {
        2: "binary data",
        3: "not UTF-8 text",
        4: "a lone surrogate",
        5: "nested too deeply",
        6: "nested too deeply",
        7: "longer than",
        8: "expected a JSON object",
        9: 'missing "text"',
    }
    for number, reason in expected.items():
        assert f"{source}:{number}: {reason}" in result.stderr, (number, result.stderr)
    assert "8 line(s) failed" in result.stderr
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["id"] for s in scored] == ["ok", "long", "last"]
    assert scored[1]["scored_chars"] == 20_000
    assert "scored_chars" not in scored[0]
