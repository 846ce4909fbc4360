"""Store results, pages and verdicts in SQLite, in the run crawler.run_recorder opened.

When the database cannot take more (disk full, I/O error, read-only), the
crawl stops at once: what was committed stays, every item that could not be
stored is counted (`serpwatch/storage_lost`), the run is closed `failed`
and history records nothing as gone for it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, fields

from scrapy.utils.defer import deferred_from_coro

from crawler import stats_keys, storage
from crawler.items import (
    PageItem,
    QueryOutcome,
    RelatedItem,
    SerpItem,
    SerpShotItem,
    UnparsedItem,
)
from crawler.render.record import render_row
from crawler.run_recorder import RunRecorder, close_run

logger = logging.getLogger(__name__)

# close_run: also the distributed writer's (crawler/scale_store.py).
__all__ = ["StorePipeline", "close_run", "save_item"]


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
    """Saves items through `crawler.storage` into the run `RunRecorder` opened."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.run = RunRecorder.of(crawler)
        if self.run is None:
            raise RuntimeError(
                "pipelines.store.StorePipeline needs the extension"
                " crawler.run_recorder.RunRecorder (EXTENSIONS in crawler/settings.py)"
            )
        self.failed: str | None = None  # why storage failed, once it has

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if self.failed or self.run.db is None:  # storage failed, or the run never opened
            self._lost(item)
            return item
        try:
            save_item(self.run.db, self.run.run_id, item)
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
            self.failed = self.run.failed = reason
            self.crawler.stats.set_value(stats_keys.STORAGE_FAILED, reason)
            logger.error(
                "storage failed (%s): stopping the crawl; what was stored before stays", reason
            )
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_failed"))
        return True

    def _lost(self, item) -> None:
        kind = {SerpItem: "results", PageItem: "pages", QueryOutcome: "outcomes"}.get(
            type(item), "other"
        )
        self.crawler.stats.inc_value(stats_keys.STORAGE_LOST.total)
        self.crawler.stats.inc_value(stats_keys.STORAGE_LOST(kind))
        if isinstance(item, PageItem):
            self.crawler.stats.inc_value(stats_keys.STORAGE_LOST("numbers"), len(item.verdicts))


def save_item(db, run_id: int, item) -> None:
    """Store one finished item (also the distributed store's, crawler/scale_store.py)."""
    if isinstance(item, SerpItem) and item.kind in ("local", "call"):
        row = asdict(item)
        row.pop("verdicts")
        verdicts = [v.as_dict() for v in item.verdicts]  # crawler.scoring.SightingVerdict
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
        storage.save_page(db, run_id, page, [v.as_dict() for v in item.verdicts])
        if item.render is not None:
            storage.save_render(db, run_id, "page", render_row(item), item.screenshots)
    elif isinstance(item, SerpShotItem) and item.render is not None:
        storage.save_render(db, run_id, "serp", render_row(item), item.screenshots)
    elif isinstance(item, QueryOutcome):
        storage.save_query_outcome(db, run_id, asdict(item))
    elif isinstance(item, RelatedItem):
        storage.save_related(db, run_id, asdict(item))
