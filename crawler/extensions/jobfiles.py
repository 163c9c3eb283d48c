"""StaleJobFiles: remove the remote-control job files that killed crawls left behind.

Scrapy's remote-control extension (on only with ``PATROLI_REMOTE_CONTROL``) serves an HTTP endpoint
that runs any code sent with its token, and writes the port and the token to a job file when a crawl
starts; it removes the file when the crawl stops. A crawl killed with SIGKILL leaves its file behind:
a live token for a port another program may take next. When remote control is on, this extension
removes, before the crawl starts its own, the job files of patroli crawls whose process is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils._remote_control import job_files_dir

logger = logging.getLogger(__name__)

STALE_REMOVED = "patroli/remote_control/stale_job_files_removed"
_JOB_FILE_RE = re.compile(r"\.?(?P<pid>\d+)-[0-9a-f]{32}\.json(\.tmp)?")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_job_files(directory: Path, project: str) -> list[Path]:
    """Remove the job files of ``project`` in ``directory`` whose process has ended; return them."""
    removed = []
    for path in sorted(directory.glob("*.json*")) if directory.is_dir() else []:
        match = _JOB_FILE_RE.fullmatch(path.name)
        if match is None or process_alive(int(match["pid"])):
            continue
        try:
            owner = json.loads(path.read_text(encoding="utf-8")).get("project")
        except (OSError, ValueError, AttributeError):
            continue  # not a job file we can read: not ours to remove
        if owner == project:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path)
    return removed


class StaleJobFiles:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("REMOTE_CONTROL_ENABLED"):
            raise NotConfigured  # remote control is off: no job files (no warning per crawl)
        removed = remove_stale_job_files(job_files_dir(settings), settings.get("BOT_NAME"))
        if removed:
            logger.info(
                "removed %d remote-control job file(s) of crawls that were killed", len(removed)
            )
            assert crawler.stats is not None  # noqa: S101 - set before extensions
            crawler.stats.set_value(STALE_REMOVED, len(removed))
        return cls()
