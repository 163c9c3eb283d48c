"""`patroli demo` (what `make run` does) ends by serving the web app with a demo admin."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.helpers.cli import PATROLI, ROOT
from tests.helpers.webkit import Client


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_serves_the_web_app_with_a_generated_admin_password(tmp_path: Path) -> None:
    port = _free_port()
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "PATROLI_LOG_LEVEL": "WARNING", "COLUMNS": "200"}
    env.pop("PATROLI_SECRET_KEY", None)  # the demo needs none: it generates its own
    # stderr to a file: a full, unread pipe would block the demo (Scrapy logs there).
    with (
        (tmp_path / "stderr.txt").open("w") as stderr,
        subprocess.Popen(
            [str(PATROLI), "demo", "--port", "0", "--web-port", str(port), "--store", store],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
            env=env,
        ) as process,
    ):
        _check_demo(process, port)
    assert process.returncode == 0


def _check_demo(process: subprocess.Popen[str], port: int) -> None:
    try:
        output = ""
        deadline = time.monotonic() + 240
        assert process.stdout is not None
        while "shown only now" not in output:
            line = process.stdout.readline()
            assert line or process.poll() is None, output + (
                process.stderr.read() if process.stderr else ""
            )
            output += line
            assert time.monotonic() < deadline, output
        match = re.search(r"user admin, password (\S+) \(shown only now", output)
        assert match, output
        assert f"http://127.0.0.1:{port}/" in output
        client = Client(f"http://127.0.0.1:{port}")
        for _ in range(100):
            try:
                client.get("/login")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        response = client.login("admin", match.group(1))
        assert response.status_code == 303
        queue = client.get("/queue")
        assert queue.status_code == 200
        assert int(re.search(r'class="count">(\d+)<', queue.text).group(1)) > 100  # type: ignore[union-attr]
        client.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
