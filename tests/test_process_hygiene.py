"""Process hygiene: a crawl killed with SIGKILL leaves no worker process or multiprocessing resource
tracker behind, Scrapy's remote control is off unless asked for, the job files of killed crawls are
removed by the next crawl that uses remote control, and the demo sites end with whoever started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.extensions.remote_control import RemoteControl
from scrapy.utils.test import get_crawler

from crawler.extensions.jobfiles import remove_stale_job_files
from patroli.demosites.process import DemoSitesProcess
from patroli.patrol.runner import project_settings
from tests.helpers.cli import PATROLI, ROOT, run_patroli


def children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent (now gone) would reap it


def test_remote_control_is_off_unless_asked_for() -> None:
    settings = project_settings()
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    with pytest.raises(NotConfigured):
        RemoteControl(
            get_crawler(
                settings_dict={"REMOTE_CONTROL_ENABLED": settings["REMOTE_CONTROL_ENABLED"]}
            )
        )


def test_only_job_files_of_ended_patroli_crawls_are_removed(tmp_path: Path) -> None:
    ended = 2**22 + 12345  # above Linux's default pid_max: no such process
    while Path(f"/proc/{ended}").exists():
        ended += 1
    files = {
        "ended": tmp_path / f"{ended}-{'a' * 32}.json",
        "running": tmp_path / f"{os.getpid()}-{'b' * 32}.json",
        "other_project": tmp_path / f"{ended}-{'c' * 32}.json",
        "not_a_job_file": tmp_path / "notes.json",
    }
    for name, path in files.items():
        project = "someone-else" if name == "other_project" else "patroli"
        path.write_text(f'{{"project": "{project}", "port": 1, "token": "t"}}', encoding="utf-8")
    assert remove_stale_job_files(tmp_path, "patroli") == [files["ended"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        files[n].name for n in ("running", "other_project", "not_a_job_file")
    )


@pytest.mark.crawl
def test_a_crawl_killed_with_sigkill_leaves_no_process_and_no_job_file_behind(
    demo_sites: DemoSitesProcess, tmp_path: Path
) -> None:
    jobs = tmp_path / "remote-control"
    store = f"sqlite:///{tmp_path / 'patroli.db'}"
    env = {
        **os.environ,
        "PATROLI_DEMO_URL": demo_sites.url,
        "PATROLI_LOG_LEVEL": "WARNING",
        "PATROLI_WORKERS": "1",
        "PATROLI_REMOTE_CONTROL": "true",
    }
    options = (
        "--no-classify",
        "-s",
        f"REMOTE_CONTROL_JOBS_DIR={jobs}",
        "-s",
        "PATROLI_MONITORS_ENABLED=False",
    )
    slow = ("-s", "DOWNLOAD_DELAY=0.3", "-s", "AUTOTHROTTLE_ENABLED=False")
    crawl = subprocess.Popen(
        [str(PATROLI), "crawl", "demo_pasarloka", "--store", store, *options, *slow],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    left: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        # The worker and the resource tracker start with the first ads; the job file at the start.
        while time.monotonic() < deadline and not (
            len(descendants(crawl.pid)) >= 2 and any(jobs.glob("*.json"))
        ):
            assert crawl.poll() is None, "the crawl ended before it could be killed"
            time.sleep(0.2)
        left = descendants(crawl.pid)
        assert len(left) >= 2, left
        (job_file,) = jobs.glob("*.json")
        crawl.send_signal(signal.SIGKILL)  # the crawl alone, as the kernel's OOM killer would
        crawl.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in left):
            time.sleep(0.1)
        assert not [pid for pid in left if alive(pid)], "worker or tracker outlived the crawl"
        assert job_file.exists()  # nothing runs on SIGKILL: the next crawl cleans it up
        again = run_patroli(
            "crawl",
            "demo_fb_group",
            "--store",
            store,
            *options,
            env={"PATROLI_DEMO_URL": demo_sites.url, "PATROLI_REMOTE_CONTROL": "true"},
        )
        assert again.returncode == 0, again.stderr[-2000:]
        assert list(jobs.iterdir()) == []  # the stale file removed, its own removed at the end
    finally:
        for pid in left | {crawl.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)  # only processes this test started


STARTS_DEMO_SITES = (
    "import time\n"
    "from patroli.demosites.process import DemoSitesProcess\n"
    "sites = DemoSitesProcess(port=0).start()\n"
    "assert sites.process is not None\n"
    "print(sites.process.pid, sites.url, flush=True)\n"
    "time.sleep(300)\n"
)


def test_demo_sites_end_with_the_process_that_started_them_even_on_sigkill() -> None:
    """A killed ``patroli demo`` (or test session) leaves no demo-sites server holding its port."""
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTS_DEMO_SITES], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    server = 0
    try:
        assert starter.stdout is not None
        pid, url = starter.stdout.readline().split()
        server = int(pid)
        with urllib.request.urlopen(f"{url}/pasarloka/lowongan-kerja_c4", timeout=10) as page:
            assert page.status == 200
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive(server):
            time.sleep(0.1)
        assert not alive(server), "the demo sites outlived the process that started them"
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=5)
    finally:
        for pid_ in (server, starter.pid):
            if pid_ and alive(pid_):
                os.kill(pid_, signal.SIGKILL)  # only processes this test started
        if starter.stdout:
            starter.stdout.close()
