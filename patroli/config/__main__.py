"""``python -m patroli.config --markdown``: print docs/settings.md; ``--check``: validate the environment."""

from __future__ import annotations

import argparse
import sys

from patroli.config import SettingError, check_environment
from patroli.config.markdown import render


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m patroli.config", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--markdown", action="store_true", help="print docs/settings.md")
    action.add_argument("--check", action="store_true", help="check the PATROLI_* variables set")
    args = parser.parse_args()
    if args.markdown:
        sys.stdout.write(render())
        return 0
    try:
        check_environment()
    except SettingError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
