"""Run the demo sites in a child process, so that serving pages never competes with the crawl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode


class DemoSitesProcess:
    """``with DemoSitesProcess(port=0) as demo: demo.url`` — started on enter, stopped on exit.
    ``hostile=True`` also serves the hostile pages (``patroli/demosites/hostile.py``)."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        hostile: bool = False,
        *,
        bench_ads: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.bench_ads = bench_ads
        self.latency = latency
        self.port = port
        self.host = host
        self.hostile = hostile
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()  # a pipe could fill up and block the child

    def start(self) -> Self:
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [
                sys.executable,
                "-m",
                "patroli.demosites",
                "--host",
                self.host,
                "--port",
                str(self.port),
                *(["--hostile"] if self.hostile else []),
                "--parent-pid",  # the server ends with this process, even when it is killed
                str(os.getpid()),
                "--bench-ads",
                str(self.bench_ads),
                "--latency",
                str(self.latency),
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.process.stdout is not None  # noqa: S101 - PIPE above
        line = self.process.stdout.readline().strip()
        if not line.startswith("serving on "):
            self.process.wait(timeout=10)
            self._stderr.seek(0)
            error = self._stderr.read()
            self.stop()
            raise RuntimeError(
                f"demo sites did not start on {self.host}:{self.port}: {error.strip()[-500:]}"
            )
        self.url = line.removeprefix("serving on ")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdout:
            self.process.stdout.close()
        self._stderr.close()

    def set_fault(self, site: str, mode: str) -> dict[str, object]:
        """Switch a fault on the running sites (see demosites.server)."""
        data = urlencode({"site": site, "mode": mode}).encode()
        url = f"{self.url}/__demo__/faults"  # http on loopback: the URL this object started
        with urllib.request.urlopen(url, data=data, timeout=10) as response:  # noqa: S310
            state: dict[str, object] = json.loads(response.read())
        return state

    def configure_hostile(self, **fields: str | int) -> dict[str, Any]:
        """Switch the hostile pages (``mode``, ``listener_port``, ``canary``, ``reset_hosts``); their state."""
        data = urlencode({k: str(v) for k, v in fields.items()}).encode()
        url = f"{self.url}/__hostile__"  # http on loopback: the URL this object started
        with urllib.request.urlopen(url, data=data, timeout=10) as response:  # noqa: S310
            state: dict[str, Any] = json.loads(response.read())
        return state

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
