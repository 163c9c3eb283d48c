"""Patrol commands: ``crawl``, ``demo``, ``demo-sites``, ``sources list|check``."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import click
from rich.live import Live
from rich.table import Table
from rich.text import Text

from crawler.extensions.alerting import ALERTS_SENT
from crawler.runs import SourceRun
from crawler.sources import Registry, RegistryError, SourceConfig, load_registry
from patroli.cli.main import (
    EXIT_DEGRADED,
    EXIT_FAILED,
    EXIT_OK,
    cli,
    console,
    err_console,
    fail,
    open_store_or_fail,
    safe,
    setting_option,
    store_option,
    styled,
)
from patroli.config import SettingError
from patroli.config.table import (
    PATROLI_FRONTIER,
    PATROLI_FRONTIER_MAX_OUTAGE,
    PATROLI_FRONTIER_PREFIX,
    PATROLI_JOBS_DIR,
    PATROLI_SOURCES,
)
from patroli.patrol.locks import SourceLock

DEMO_PREFIX = "demo_"


def _registry(path: str | None) -> Registry:
    try:
        return load_registry(path)
    except RegistryError as exc:
        fail(str(exc), "fix the file, or point --sources / PATROLI_SOURCES at another registry")
        raise  # unreachable: fail() exits


def _report_problems(registry: Registry) -> None:
    for problem in registry.problems:
        err_console.print(Text.assemble(styled("yellow", "skipped"), " ", safe(problem)))


class Progress:
    """Live per-source counters while a patrol runs."""

    def __init__(self, sources: Sequence[SourceConfig]) -> None:
        self.counts: dict[str, dict[str, int]] = {s.name: defaultdict(int) for s in sources}
        self.started = time.monotonic()

    def on_event(self, source: str, event: str) -> None:
        self.counts[source][event] += 1

    def __rich__(self) -> Table:
        table = Table(
            title=f"patrolling… {time.monotonic() - self.started:.0f}s", title_justify="left"
        )
        table.add_column("source")
        table.add_column("pages", justify="right")
        table.add_column("ads", justify="right")
        table.add_column("errors", justify="right")
        for name, counts in self.counts.items():
            table.add_row(name, str(counts["page"]), str(counts["item"]), str(counts["error"]))
        return table


def _patrol(
    sources: list[SourceConfig],
    store_url: str,
    keywords: Sequence[str],
    verbose: bool,
    overrides: dict[str, object] | None = None,
    jobs_dir: Path | None = None,
    resume: bool = False,
    frontier: str = "",
    join_only: bool = False,
) -> list[SourceRun]:
    """Crawl ``sources``; each crawl runs its monitors, records its run and sends its alerts as it
    closes (crawler/extensions/runrecorder.py). Returns the recorded outcomes."""
    from patroli.patrol.runner import capture_after_patrol, project_settings, run_patrol

    settings = project_settings(
        {
            "PATROLI_STORE_URL": store_url,
            "LOG_LEVEL": "INFO" if verbose else "WARNING",
            **(overrides or {}),
        }
    )
    progress = Progress(sources)
    live = (
        Live(
            progress,
            console=err_console,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        if err_console.is_terminal
        else contextlib.nullcontext()
    )
    with live:
        runs = run_patrol(
            sources,
            settings=settings,
            keywords=keywords,
            on_event=progress.on_event,
            jobs_dir=jobs_dir,
            resume=resume,
            frontier=frontier,
            join_only=join_only,
        )
    for run in runs:
        sent = int(run.stats.get(ALERTS_SENT) or 0)
        if sent:
            err_console.print(f"{run.source}: {sent} alert(s) sent", highlight=False)
    captured = capture_after_patrol(settings)
    if captured is not None and (captured.captured or captured.failed or captured.unavailable):
        err_console.print(
            f"capture records: {captured.captured} made, {captured.failed} failed "
            f"({captured.pages_rendered} pages rendered offline in {captured.seconds:.1f} s)"
            + (f"; {captured.unavailable}" if captured.unavailable else ""),
            highlight=False,
        )
    return runs


def print_summary(runs: Sequence[SourceRun]) -> int:
    """Print the per-source summary; return the exit code the runs deserve."""
    table = Table(title="Patrol summary / Ringkasan patroli", title_justify="left")
    for column in ("source", "pages", "ads seen", "unchanged", "new", "flagged", "status"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right")
    for run in runs:
        colour = {"ok": "green", "degraded": "yellow", "failed": "red"}[run.status]
        table.add_row(
            safe(run.source),
            str(run.pages),
            str(run.items),
            str(run.unchanged),
            str(run.new),
            str(run.flagged),
            styled(colour, run.status),
        )
    table.add_row(
        styled("bold", "total"),
        *(
            str(sum(getattr(r, k) for r in runs))
            for k in ("pages", "items", "unchanged", "new", "flagged")
        ),
        "",
    )
    console.print(table)
    for run in runs:
        for note in run.notes:
            console.print(Text.assemble(styled("yellow", safe(run.source)), ": ", safe(note)))
        for url in run.degraded_urls[:5]:
            console.print(Text.assemble("  ", styled("dim", "degraded page:"), " ", safe(url)))
    if any(r.status == "failed" for r in runs):
        return EXIT_FAILED
    if any(r.status == "degraded" for r in runs):
        return EXIT_DEGRADED
    return EXIT_OK


@cli.command()
@click.argument("source_names", nargs=-1, metavar="[SOURCE]...")
@store_option
@setting_option(
    "--sources",
    "sources_path",
    setting=PATROLI_SOURCES,
    help="Source registry file (default: crawler/sources.yaml).",
)
@click.option(
    "--keyword",
    "keywords",
    multiple=True,
    help="Search keyword for sources with search URLs (repeatable).",
)
@click.option(
    "--summary-json",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the run summary as JSON here.",
)
@click.option(
    "--no-classify", is_flag=True, help="Store ads unscored (faster; for testing sources)."
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted crawl from its saved queue (see --jobs-dir).",
)
@setting_option(
    "--jobs-dir",
    setting=PATROLI_JOBS_DIR,
    type=click.Path(file_okay=False),
    help="Where each source keeps its crawl queue (Scrapy JOBDIR).",
)
@setting_option(
    "--frontier",
    setting=PATROLI_FRONTIER,
    help="Crawl on a shared Redis frontier (redis://host:port/db) with any number of `patroli "
    "worker` processes: opens each source's run, or joins the one already open.",
)
@click.option(
    "--join",
    "join_only",
    is_flag=True,
    hidden=True,
    help="With --frontier: only join runs already open (patroli worker).",
)
@click.option(
    "-s",
    "--set",
    "scrapy_settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a setting for this crawl, e.g. -s DOWNLOAD_DELAY=2 (repeatable).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log.")
def crawl(
    source_names: tuple[str, ...],
    store_url: str,
    sources_path: str | None,
    keywords: tuple[str, ...],
    summary_json: str | None,
    no_classify: bool,
    resume: bool,
    jobs_dir: str,
    frontier: str,
    join_only: bool,
    scrapy_settings: tuple[str, ...],
    verbose: bool,
) -> None:
    """Crawl SOURCEs from the registry (default: every enabled source) into the store.

    With --frontier the crawl is one worker of each source's shared run (docs/scale.md); --resume
    then continues the source's last run if its lock lapsed. Exit status: 0 all sources ok, 3 a
    source degraded (layout change, unscored ads, invalid registry entries), 4 a source failed.
    """
    registry = _registry(sources_path)
    _report_problems(registry)
    if source_names:
        sources = []
        for name in source_names:
            try:
                sources.append(registry.get(name))
            except KeyError as exc:
                fail(str(exc.args[0]), "`patroli sources list` shows the registry")
    else:
        sources = registry.enabled
    if not sources:
        fail("no sources to crawl", "enable a source in the registry or name one")
    overrides: dict[str, object] = {"PATROLI_CLASSIFY_ENABLED": False} if no_classify else {}
    for item in scrapy_settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"-s {item!r}: write NAME=VALUE", "e.g. -s DOWNLOAD_DELAY=2")
        overrides[name.strip()] = value
    if frontier:
        _check_frontier(frontier)
        # One run per source at a time across machines: the run lock lives in Redis
        # (crawler/frontier/runs.py); a second crawl of a running source joins its run.
        runs = _patrol(
            sources,
            store_url,
            keywords,
            verbose,
            overrides,
            resume=resume,
            frontier=frontier,
            join_only=join_only,
        )
        _finish(runs, registry, summary_json)
    # One crawl per source at a time, whoever starts it (scheduler, cron, systemd, a person).
    locks = [SourceLock(s.name) for s in sources]
    free = [s for s, lock in zip(sources, locks, strict=True) if lock.acquire()]
    for source, lock in zip(sources, locks, strict=True):
        if lock.fd is None:
            err_console.print(
                Text.assemble(
                    styled("yellow", "skipped"),
                    f" {source.name}: already running (pid {lock.holder()})",
                )
            )
    if not free:
        sys.exit(EXIT_OK)
    sources = free
    runs = _patrol(sources, store_url, keywords, verbose, overrides, Path(jobs_dir), resume)
    _finish(runs, registry, summary_json)


def _finish(runs: list[SourceRun], registry: Registry, summary_json: str | None) -> None:
    code = print_summary(runs)
    if summary_json:
        Path(summary_json).write_text(
            json.dumps([dataclasses.asdict(r) for r in runs], default=str, indent=2)
        )
    if registry.problems and code == EXIT_OK:
        code = EXIT_DEGRADED
    sys.exit(code)


@cli.command()
@store_option
@setting_option("--sources", "sources_path", setting=PATROLI_SOURCES, help="Source registry file.")
@setting_option("--frontier", setting=PATROLI_FRONTIER, help="The shared Redis frontier.")
@click.option("--only", multiple=True, help="Work only on runs of these sources (repeatable).")
@click.option(
    "--poll",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds between looks for open runs.",
)
@click.option(
    "--max-parallel",
    default=4,
    show_default=True,
    type=click.IntRange(1),
    help="Most runs worked on at once.",
)
@click.option("--once", is_flag=True, help="Exit when no run is open and none is being worked on.")
@click.option(
    "--crawl-arg",
    "crawl_args",
    multiple=True,
    help="Extra argument for each crawl, e.g. --crawl-arg=--no-classify (repeatable).",
)
def worker(
    store_url: str,
    sources_path: str | None,
    frontier: str,
    only: tuple[str, ...],
    poll: float,
    max_parallel: int,
    once: bool,
    crawl_args: tuple[str, ...],
) -> None:
    """Work on the runs open on the frontier (opened by `patroli crawl --frontier` or `patroli
    schedule --frontier`) until stopped: one crawl per open run, ending when its frontier is
    drained. Run any number of workers, on any number of machines (deploy/patroli-worker@.service).
    """
    import logging

    from crawler.frontier.connection import Link
    from patroli.patrol.worker import WorkerLoop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not frontier:
        fail("no frontier", "pass --frontier redis://host:port/0 or set PATROLI_FRONTIER")
    _check_frontier(frontier)
    registry = _registry(sources_path)
    _report_problems(registry)
    names = [s.name for s in registry.sources if not only or s.name in only]
    executable = _patroli_executable()

    def command(source: str) -> list[str]:
        args = [executable, "crawl", source, "--frontier", frontier, "--join", "--store", store_url]
        if sources_path:
            args += ["--sources", sources_path]
        return [*args, *crawl_args]

    link = Link(frontier, PATROLI_FRONTIER_MAX_OUTAGE.from_env())
    loop = WorkerLoop(
        link,
        PATROLI_FRONTIER_PREFIX.from_env(),
        names,
        command,
        poll=poll,
        max_parallel=max_parallel,
        once=once,
    )
    loop.install_signal_handlers()
    loop.run()
    sys.exit(EXIT_FAILED if any(code not in (0, 3) for _, code in loop.finished) else EXIT_OK)


def _check_frontier(frontier: str) -> None:
    """A --frontier value that is no Redis URL is a one-line error, not a traceback."""
    try:
        PATROLI_FRONTIER.parse(frontier, "--frontier")
    except SettingError as exc:
        fail(str(exc), "pass --frontier redis://host:port/0 or set PATROLI_FRONTIER")


def _frontier_enqueue(frontier: str) -> Callable[[SourceConfig], bool]:
    """Open a due source's run on the frontier; False (busy) when its last run is still open."""
    _check_frontier(frontier)
    from crawler.frontier.connection import FrontierDown, Link
    from crawler.frontier.runs import announce_run
    from patroli.config.table import PATROLI_FRONTIER_LOCK_TTL, PATROLI_FRONTIER_TTL

    link = Link(frontier, PATROLI_FRONTIER_MAX_OUTAGE.from_env())

    def enqueue(source: SourceConfig) -> bool:
        try:
            return announce_run(
                link,
                PATROLI_FRONTIER_PREFIX.from_env(),
                source.name,
                lock_ttl=PATROLI_FRONTIER_LOCK_TTL.from_env(),
                ttl=PATROLI_FRONTIER_TTL.from_env(),
            )
        except FrontierDown as exc:
            err_console.print(f"frontier unreachable: {source.name} not opened ({safe(exc)})")
            return False

    return enqueue


def _patroli_executable() -> str:
    """This ``patroli`` (children run the same installation)."""
    return str(Path(sys.argv[0]).resolve()) if Path(sys.argv[0]).name == "patroli" else "patroli"


@cli.command("demo-sites")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
def demo_sites(host: str, port: int) -> None:
    """Serve the bundled demo sites (classifieds, Telegram previews, job board, feed)."""
    from patroli.demosites.server import make_server

    try:
        server = make_server(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", "choose another port with --port")
    url = f"http://{server.server_address[0]!s}:{server.server_address[1]}"
    console.print(f"serving on {url}  (Ctrl-C stops)", highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.command()
@store_option
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port for the demo sites (0: any free port).",
)
@click.option(
    "--serve/--no-serve", default=True, show_default=True, help="Keep serving after the patrol."
)
@click.option(
    "--web-port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port of the web app on 127.0.0.1 (with --serve).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log.")
def demo(store_url: str, port: int, serve: bool, web_port: int, verbose: bool) -> None:
    """Start the demo sites, patrol them into the store, print a summary, then serve the web app.

    With --serve (the default) a demo admin is created or reset with a generated password that is
    printed once, and the review web app runs on 127.0.0.1 until Ctrl-C. --no-serve patrols and exits.
    """
    from patroli.demosites.process import DemoSitesProcess

    sites = DemoSitesProcess(port=port)
    try:
        sites.start()
    except RuntimeError as exc:
        fail(str(exc), "another program may use the port: try `patroli demo --port 0`")
    try:
        os.environ["PATROLI_DEMO_URL"] = sites.url
        registry = load_registry(None)
        sources = [s for s in registry.enabled if s.name.startswith(DEMO_PREFIX)]
        console.print(
            f"demo sites at {sites.url}; patrolling {len(sources)} sources into {store_url}",
            highlight=False,
        )
        _import_demo_register(store_url)
        runs = _patrol(sources, store_url, (), verbose)
        code = print_summary(runs)
        console.print(
            Text.assemble(
                "\nTry: ",
                styled("bold", f'patroli search "kamboja" --store {safe(store_url)}'),
                ", ",
                styled(
                    "bold", f"patroli search 'flagged:true risk>=0.9' --store {safe(store_url)}"
                ),
                ", then ",
                styled("bold", "patroli show ID"),
                " and ",
                styled("bold", "patroli review ID --decision confirmed"),
                ".",
            )
        )
        if serve:
            _serve_demo_web_app(store_url, web_port, sites.url)
        sys.exit(code)
    finally:
        sites.stop()


DEMO_ADMIN = "admin"


def _import_demo_register(store_url: str) -> None:
    """The fictional agency register, imported before the patrol so that its check applies."""
    from patroli.agencies.importer import read_register
    from patroli.demosites.data import DEMO_REGISTER
    from patroli.storage import AgencyRegister

    store: AgencyRegister = open_store_or_fail(store_url, create=True)
    with store:
        for kind, path in DEMO_REGISTER:
            result = read_register(path, kind, source=f"demo register ({path.name})")
            store.record_register_import(result.meta, result.entries)


def _serve_demo_web_app(store_url: str, web_port: int, sites_url: str) -> None:
    """Create or reset the demo admin (password printed once) and serve the web app on 127.0.0.1."""
    from patroli.cli.web import run_server
    from patroli.storage import AccountStore
    from patroli.web.accounts import create_user
    from patroli.web.security import generate_password
    from patroli.web.settings import WebSettings

    password = generate_password()
    accounts: AccountStore = open_store_or_fail(store_url, create=True)
    with accounts:
        create_user(accounts, DEMO_ADMIN, "admin", password, actor="demo", replace=True)
    console.print(
        Text.assemble(
            "\nWeb app: ",
            styled("bold", f"http://127.0.0.1:{web_port}/"),
            "  user ",
            styled("bold", DEMO_ADMIN),
            ", password ",
            styled("bold", password),
            " (shown only now; a new one each run).\n"
            f"Demo sites still serving at {sites_url} — Ctrl-C stops both.",
        ),
        soft_wrap=True,
    )
    run_server(store_url, WebSettings.for_demo(), "127.0.0.1", web_port)


@cli.group()
def sources() -> None:
    """Inspect and check the source registry."""


@sources.command("list")
@setting_option("--sources", "sources_path", setting=PATROLI_SOURCES, help="Registry file.")
@click.option("--json", "as_json", is_flag=True)
def sources_list(sources_path: str | None, as_json: bool) -> None:
    """List the sources of the registry."""
    registry = _registry(sources_path)
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "kind": s.kind,
                        "enabled": s.enabled,
                        "schedule": s.schedule,
                        "template": s.template,
                        "start_urls": list(s.start_urls),
                        "channels": list(s.channels),
                    }
                    for s in registry.sources
                ]
            )
        )
    else:
        table = Table(title=str(registry.path), title_justify="left")
        for column in ("name", "kind", "enabled", "schedule", "where"):
            table.add_column(column)
        for s in registry.sources:
            where = ", ".join(s.channels) if s.channels else ", ".join(s.start_urls)
            enabled = "yes" if s.enabled else ("no (template)" if s.template else "no")
            where = where or s.api.get("url", "") or s.api.get("search_url", "")
            table.add_row(s.name, s.kind, enabled, s.schedule, where)
        console.print(table)
    _report_problems(registry)


@sources.command("check")
@setting_option("--sources", "sources_path", setting=PATROLI_SOURCES, help="Registry file.")
def sources_check(sources_path: str | None) -> None:
    """Validate the registry; print file:line and the reason for each bad entry (exit 1 if any)."""
    registry = _registry(sources_path)
    for problem in registry.problems:
        console.print(str(problem), highlight=False)
    console.print(
        f"{len(registry.sources)} valid source(s), {len(registry.problems)} problem(s) in {registry.path}",
        highlight=False,
    )
    sys.exit(1 if registry.problems else 0)


@cli.command()
@store_option
@click.option("--source", default="", help="Only this source.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
def runs(store_url: str, source: str, limit: int, as_json: bool) -> None:
    """Crawl run history: when each source ran, what it found, and whether it was healthy."""
    from patroli.storage import CrawlLedger

    ledger: CrawlLedger = open_store_or_fail(store_url)
    with ledger:
        history = ledger.list_runs(source=source, limit=limit)
    if as_json:
        console.print_json(json.dumps(history, default=str))
        return
    table = Table(title="Crawl runs / Riwayat patroli", title_justify="left")
    for column in ("started", "source", "status", "pages", "ads", "new", "flagged", "notes"):
        table.add_column(column)
    for run in history:
        colour = {"ok": "green", "degraded": "yellow", "failed": "red"}.get(run["status"], "white")
        table.add_row(
            str(run["started_at"])[:19],
            safe(run["source"]),
            styled(colour, safe(run["status"])),
            str(run["pages"]),
            str(run["items"]),
            str(run["new"]),
            str(run["flagged"]),
            safe("; ".join(run["notes"]))[:80],
        )
    console.print(table)


@cli.command()
@store_option
@setting_option("--sources", "sources_path", setting=PATROLI_SOURCES, help="Source registry file.")
@click.option("--only", "only", multiple=True, help="Schedule only these sources (repeatable).")
@click.option(
    "--jitter",
    default=300.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Random delay (s) added to each start.",
)
@click.option(
    "--crawl-arg",
    "crawl_args",
    multiple=True,
    help="Extra argument for each `patroli crawl` (repeatable).",
)
@setting_option(
    "--frontier",
    setting=PATROLI_FRONTIER,
    help="Open each due source's run on this Redis frontier for `patroli worker` processes to crawl, "
    "instead of starting `patroli crawl` here.",
)
@click.option(
    "--clock-speed",
    default=1.0,
    type=click.FloatRange(min=1.0),
    hidden=True,
    help="Simulated time (tests).",
)
def schedule(
    store_url: str,
    sources_path: str | None,
    only: tuple[str, ...],
    jitter: float,
    crawl_args: tuple[str, ...],
    frontier: str,
    clock_speed: float,
) -> None:
    """Run every enabled source on its cron schedule (registry `schedule`, default nightly) until stopped.

    Runs never overlap for one source (also with cron or systemd timers: each crawl takes the
    source's lock). SIGTERM or Ctrl-C stops starting runs and lets running ones finish gracefully.
    Scheduled times missed while no scheduler ran are counted, alerted (`missed_run`) and recorded.
    """
    import logging

    from patroli import logs
    from patroli.patrol.missed import MissedReporter, last_started
    from patroli.patrol.scheduler import Clock, FastClock, Scheduler

    logs.configure("scheduler", logging.INFO)  # PATROLI_LOG_FORMAT: text or JSON lines, redacted
    registry = _registry(sources_path)
    _report_problems(registry)
    sources = [s for s in registry.enabled if not only or s.name in only]
    if not sources:
        fail("no sources to schedule", "enable sources in the registry, or check --only")
    executable = (
        str(Path(sys.argv[0]).resolve()) if Path(sys.argv[0]).name == "patroli" else "patroli"
    )

    def command(source: SourceConfig) -> list[str]:
        args = [executable, "crawl", source.name, "--store", store_url]
        if sources_path:
            args += ["--sources", sources_path]
        return [*args, *crawl_args]

    clock: Clock = FastClock(clock_speed) if clock_speed > 1 else Clock()
    scheduler = Scheduler(
        sources,
        command,
        clock=clock,
        jitter=jitter,
        enqueue=_frontier_enqueue(frontier) if frontier else None,
        last_started=last_started(store_url),
        on_missed=MissedReporter(store_url),
    )
    scheduler.install_signal_handlers()
    for slot in scheduler.slots:
        console.print(
            f"{slot.source.name}: '{slot.source.schedule}', first run {slot.next_at:%Y-%m-%d %H:%M:%S %Z}",
            highlight=False,
        )
    scheduler.run()
