"""``python -m patroli.demosites --port N``: serve the demo sites until interrupted (used by DemoSitesProcess)."""

from __future__ import annotations

import argparse
import signal
import sys

from patroli.demosites.server import make_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m patroli.demosites", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--bench-ads", type=int, default=0, help="ads of the bench site (/bench/)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every answer waits")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, bench_ads=args.bench_ads, latency=args.latency)
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
