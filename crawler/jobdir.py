"""A JOBDIR left by a killed crawl is started over, not resumed.

Scrapy appends to its request queue and its seen-requests file as the crawl
goes, and writes the queue's state only when the crawl closes. A crawl killed
(SIGKILL, a crash, a power cut) leaves a queue cut mid-record and a seen file
naming requests the queue lost. Resumed from that, a crawl either hangs on the
broken queue or skips the lost pages as already seen and ends "finished"
without them. A marker written when a crawl opens the JOBDIR, and removed only
when it closes, tells a clean pause (SIGINT, SIGTERM) from a kill: after a
kill, Scrapy's state in the JOBDIR is set aside and every query is asked again,
so the crawl still ends with every page.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

MARKER = "serpwatch-open"
# What Scrapy keeps in a JOBDIR: the scheduler's queue and seen requests, the
# spider's state.
SCRAPY_STATE = ("requests.queue", "requests.seen", "spider.state")


class JobdirGuard:
    """The Scrapy extension: `open` when the crawler is made (before the scheduler
    reads the JOBDIR), `close` when the engine has stopped cleanly."""

    def __init__(self, jobdir: str | Path):
        self.dir = Path(jobdir)

    @classmethod
    def from_crawler(cls, crawler):
        jobdir = crawler.settings.get("JOBDIR")
        if not jobdir:
            raise NotConfigured
        guard = cls(jobdir)
        guard.open()
        crawler.signals.connect(guard.close, signal=signals.engine_stopped)
        return guard

    def open(self) -> bool:
        """Mark the JOBDIR in use; start it over if a killed crawl left it. True if so."""
        self.dir.mkdir(parents=True, exist_ok=True)
        marker = self.dir / MARKER
        killed = marker.exists()
        if killed:
            for name in SCRAPY_STATE:
                path = self.dir / name
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            logger.warning(
                "jobdir %s: the crawl that used it last was killed before it closed, so"
                " its request queue cannot be trusted; this crawl starts over and asks"
                " every query again",
                self.dir,
            )
        marker.write_text("a crawl has this JOBDIR open; it is removed when the crawl closes\n")
        return killed

    def close(self) -> None:
        (self.dir / MARKER).unlink(missing_ok=True)
