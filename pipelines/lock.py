"""Take the database's lock for the run (crawler.lock) before any other pipeline opens."""

from __future__ import annotations

from crawler.lock import RunGuard


class RunLockPipeline:
    """First to open: a second crawl on the same database stops here, before the
    store pipeline records a run (exit 75 under `scrapy crawl` and Scrapyd)."""

    def __init__(self, crawler):
        self.guard = RunGuard(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        self.guard.acquire()

    def process_item(self, item):
        return item
