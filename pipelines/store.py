"""Store results, pages and verdicts in SQLite (reads SERPWATCH_DB).

When the database cannot take more (disk full, I/O error, read-only), the
crawl stops at once: what was committed stays, every item that could not be
stored is counted (`serpwatch/storage_lost`), the run is closed `failed`
and history records nothing as gone for it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, fields

from scrapy.utils.defer import deferred_from_coro

from crawler import history, storage
from crawler.items import (
    PageItem,
    QueryOutcome,
    RelatedItem,
    SerpItem,
    SerpShotItem,
    UnparsedItem,
)
from crawler.lock import scrapyd_job
from crawler.render.record import render_row

logger = logging.getLogger(__name__)


# Kept elsewhere, not as page columns: the WARC (the bytes, the headers both ways),
# the sightings, the renders and screenshots tables.
_NOT_STORED = (
    "html",
    "body",
    "hits",
    "verdicts",
    "headers",
    "request_headers",
    "method",
    "render",
    "render_work",
    "screenshots",
)


class StorePipeline:
    """Saves items through `crawler.storage`; opens and closes the run."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.db = None
        self.run_id = None
        self.failed: str | None = None  # why storage failed, once it has

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        self.db = storage.open_db(self.crawler.settings.get("SERPWATCH_DB"))
        cap = self.crawler.settings.getint("SERPWATCH_DB_MAX_BYTES", 0)
        if cap:
            storage.cap_size(self.db, cap)
        spider = self.crawler.spider
        self.run_id = storage.start_run(self.db, spider.profile.name, job=scrapyd_job(spider))
        self.crawler.stats.set_value("serpwatch/run_id", self.run_id)

    def close_spider(self):
        """Close the run here, before the extensions' spider_closed (alerts, progress)
        read it. Scrapy's finish_reason is not set yet: a crawl stopped by SIGINT /
        SIGTERM is one whose crawler stopped crawling before the spider closed."""
        if self.db is None:
            return
        stats = self.crawler.stats
        reason = "finished" if self.crawler.crawling else "shutdown"
        if self.failed:
            reason = "storage_failed"
        try:
            recorded = close_run(
                self.db, self.run_id, {**stats.get_stats(), "finish_reason": reason}
            )
            for name, value in recorded.items():
                if name.startswith(("serpwatch/history/", "serpwatch/storage_")):
                    stats.set_value(name, value)
        except Exception as exc:
            failure = storage.storage_failure(exc)
            if failure is None:
                raise
            # The full record does not fit: the status alone may (a row updated in place).
            logger.error("could not record the run's end (%s)", failure)
            storage.mark_run_failed(self.db, self.run_id, failure)
        finally:
            self.db.close()
            self.db = None

    def process_item(self, item):
        if self.failed:
            self._lost(item)
            return item
        try:
            save_item(self.db, self.run_id, item)
        except Exception as exc:
            if not self._storage_failed(exc):
                raise
            self._lost(item)
        return item

    def _storage_failed(self, exc: Exception) -> bool:
        """A database that takes no more writes stops the crawl; False for other errors."""
        reason = storage.storage_failure(exc)
        if reason is None:
            return False
        if not self.failed:
            self.failed = reason
            self.crawler.stats.set_value("serpwatch/storage_failed", reason)
            logger.error(
                "storage failed (%s): stopping the crawl; what was stored before stays", reason
            )
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_failed"))
        return True

    def _lost(self, item) -> None:
        kind = {SerpItem: "results", PageItem: "pages", QueryOutcome: "outcomes"}.get(
            type(item), "other"
        )
        self.crawler.stats.inc_value("serpwatch/storage_lost")
        self.crawler.stats.inc_value(f"serpwatch/storage_lost/{kind}")
        if isinstance(item, PageItem):
            self.crawler.stats.inc_value("serpwatch/storage_lost/numbers", len(item.verdicts))


def save_item(db, run_id: int, item) -> None:
    """Store one finished item (also the distributed store's, crawler/scale_store.py)."""
    if isinstance(item, SerpItem) and item.kind in ("local", "call"):
        row = asdict(item)
        verdicts = row.pop("verdicts")
        if verdicts:  # a card without a website: its numbers' pairs have no site
            storage.save_card(db, run_id, {**row, "listing_url": item.listing_url}, verdicts)
        else:
            storage.save_serp_listing(db, run_id, row)
    elif isinstance(item, SerpItem):
        row = asdict(item)
        row.pop("verdicts")
        storage.save_serp_result(db, run_id, row)
    elif isinstance(item, UnparsedItem):
        storage.save_unparsed_page(db, run_id, asdict(item))
    elif isinstance(item, PageItem):
        page = {f.name: getattr(item, f.name) for f in fields(item) if f.name not in _NOT_STORED}
        storage.save_page(db, run_id, page, item.verdicts)
        if item.render is not None:
            storage.save_render(db, run_id, "page", render_row(item), item.screenshots)
    elif isinstance(item, SerpShotItem) and item.render is not None:
        storage.save_render(db, run_id, "serp", render_row(item), item.screenshots)
    elif isinstance(item, QueryOutcome):
        storage.save_query_outcome(db, run_id, asdict(item))
    elif isinstance(item, RelatedItem):
        storage.save_related(db, run_id, asdict(item))


def close_run(db, run_id: int, stats: dict) -> dict:
    """Score the run again with its history, then close it; the stats as recorded.

    A run whose storage failed gets no history step: it records nothing as gone.
    """
    stats = dict(stats)
    if not stats.get("serpwatch/storage_failed"):
        # History and triage first (crawler.history): their counts go into the run's stats.
        try:
            changes = history.close_run(db, run_id, stats)
        except Exception as exc:  # noqa: BLE001 - the run must still be closed and recorded
            failure = storage.storage_failure(exc)
            if failure:
                stats["serpwatch/storage_failed"] = failure
            else:
                logger.exception("scoring the run again with its history failed")
            changes = {"failed": 1}
        for name, value in changes.items():
            stats[f"serpwatch/history/{name}"] = value
    storage.finish_crawl(db, run_id, stats)
    return stats
