"""``python -m patroli.demosites --port N``: serve the demo sites until interrupted (used by DemoSitesProcess).

With ``--parent-pid`` the server ends with the process that started it, however that one ended (even
by SIGKILL, which runs no clean-up): a killed ``patroli demo`` or test session leaves no server
holding its port."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from patroli.demosites.server import make_server

PARENT_CHECK_SECONDS = 0.25


def exit_with_parent(parent_pid: int) -> None:
    """Exit this process as soon as ``parent_pid`` is no longer its parent (it has ended)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)  # nobody is left to stop the server; the kernel closes its socket

    threading.Thread(target=watch, name="patroli-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m patroli.demosites", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--hostile", action="store_true", help="also serve the hostile pages (tests only)"
    )
    parser.add_argument(
        "--parent-pid", type=int, help="end when this process (the one starting the server) ends"
    )
    parser.add_argument("--bench-ads", type=int, default=0, help="ads of the bench site (/bench/)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every answer waits")
    args = parser.parse_args(argv)
    if args.parent_pid:
        exit_with_parent(args.parent_pid)
    server = make_server(
        args.host, args.port, hostile=args.hostile, bench_ads=args.bench_ads, latency=args.latency
    )
    host, port = str(server.server_address[0]), server.server_address[1]
    # The parent process reads this line to learn the port (port 0 lets the OS choose one).
    sys.stdout.write(f"serving on http://{host}:{port}\n")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
