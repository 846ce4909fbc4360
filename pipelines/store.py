"""Store results, pages and verdicts in SQLite, in the run crawler.run_recorder opened.

Pages and results are stored in batches (SERPWATCH_STORE_BATCH items, or
SERPWATCH_STORE_BATCH_SECONDS after the first, whichever comes first; one
commit each, see `crawler.storage.save_many`); any other item stores the batch
before it, and closing the spider (before the recorder closes the run) stores
what is left. A crawl killed with SIGKILL loses at most the batch it had not
stored yet; nothing committed, and no duplicates: the next crawl is a new run.

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
from crawler.plain import plain_dict
from crawler.render.record import render_row
from crawler.run_recorder import RunRecorder, close_run, open_run

logger = logging.getLogger(__name__)

# open_run, close_run: also the distributed writer's (crawler/scale_store.py).
__all__ = ["StorePipeline", "close_run", "open_run", "save_item"]


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
        settings = crawler.settings
        self.batch_size = max(1, settings.getint("SERPWATCH_STORE_BATCH", 50))
        self.batch_seconds = settings.getfloat("SERPWATCH_STORE_BATCH_SECONDS", 0.05)
        # (item type, its numbers, (save function, args)): rows, not the pages' bytes.
        self.batch: list[tuple[type, int, tuple]] = []
        self.timer = None  # the delayed call that stores the batch

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def close_spider(self):
        """Store the last batch: pipelines close before the recorder closes the run."""
        self.flush()

    def process_item(self, item):
        if self.failed or self.run.db is None:  # storage failed, or the run never opened
            self._lost(item)
            return item
        call = batched_save(self.run.run_id, item) if self.batch_size > 1 else None
        if call is not None:
            if not self.batch:
                # Stored this long after its first item at the latest: a slow crawl's
                # pages appear as they come, a fast one's in batches.
                from twisted.internet import reactor

                self.timer = reactor.callLater(self.batch_seconds, self.flush)
            numbers = len(item.verdicts) if isinstance(item, PageItem) else 0
            self.batch.append((type(item), numbers, call))
            if len(self.batch) >= self.batch_size:
                self.flush()
            return item
        self.flush()  # what came before is stored before this
        if self.failed:
            self._lost(item)
            return item
        try:
            save_item(self.run.db, self.run.run_id, item)
        except Exception as exc:
            if not self._storage_failed(exc):
                raise
            self._lost(item)
        return item

    def flush(self) -> None:
        """Store the batch in one transaction; on a storage failure, item by item
        until the database takes no more (the rest is counted lost)."""
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        batch, self.batch = self.batch, []
        if not batch:
            return
        if self.failed or self.run.db is None:
            for kind, numbers, _ in batch:
                self._lost_kind(kind, numbers)
            return
        try:
            errors = storage.save_many(self.run.db, [call for *_, call in batch])
        except Exception as exc:
            if not self._storage_failed(exc):
                raise
            self._one_by_one(batch)
            return
        for i, exc in errors:
            # As Scrapy reports an item a pipeline failed on; the others are stored.
            logger.error("could not store %s", batch[i][0].__name__, exc_info=exc)
            self.crawler.stats.inc_value(stats_keys.STORAGE_ERRORS)

    def _one_by_one(self, batch) -> None:
        """After the batch's transaction failed: what still fits, each in its own."""
        for n, (kind, _, (save, args)) in enumerate(batch):
            try:
                save(self.run.db, *args)
            except Exception as exc:  # noqa: BLE001 - storage failure or not, it is lost
                if storage.storage_failure(exc) is None:
                    logger.error("could not store %s", kind.__name__, exc_info=exc)
                    self.crawler.stats.inc_value(stats_keys.STORAGE_ERRORS)
                    continue
                for lost, numbers, _ in batch[n:]:
                    self._lost_kind(lost, numbers)
                return

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
        self._lost_kind(type(item), len(item.verdicts) if isinstance(item, PageItem) else 0)

    def _lost_kind(self, item_type: type, numbers: int) -> None:
        kind = {SerpItem: "results", PageItem: "pages", QueryOutcome: "outcomes"}.get(
            item_type, "other"
        )
        self.crawler.stats.inc_value(stats_keys.STORAGE_LOST.total)
        self.crawler.stats.inc_value(stats_keys.STORAGE_LOST(kind))
        if item_type is PageItem:
            self.crawler.stats.inc_value(stats_keys.STORAGE_LOST("numbers"), numbers)


_PAGE_COLUMNS = tuple(f.name for f in fields(PageItem) if f.name not in _NOT_STORED)


def _page_row(item: PageItem) -> dict:
    return {name: getattr(item, name) for name in _PAGE_COLUMNS}


def _serp_row(item: SerpItem) -> dict:
    """A result's row: its verdicts (a siteless card's) are stored as sightings."""
    row = plain_dict(item)  # asdict's dict, without its deep copies
    row.pop("verdicts")
    return row


def batched_save(run_id: int, item) -> tuple | None:
    """(save function, its arguments after db) for an item that may wait in a batch
    (a result, a page without a render); None for one to store at once. The
    arguments are taken now: the batch holds rows, not pages' bytes."""
    if isinstance(item, SerpItem) and item.kind not in ("local", "call"):
        return storage.save_serp_result, (run_id, _serp_row(item))
    if isinstance(item, PageItem) and item.render is None:
        return storage.save_page, (run_id, _page_row(item), [v.as_dict() for v in item.verdicts])
    return None


def save_item(db, run_id: int, item) -> None:
    """Store one finished item (also the distributed store's, crawler/scale_store.py)."""
    if isinstance(item, SerpItem) and item.kind in ("local", "call"):
        row = _serp_row(item)
        verdicts = [v.as_dict() for v in item.verdicts]  # crawler.scoring.SightingVerdict
        if verdicts:  # a card without a website: its numbers' pairs have no site
            storage.save_card(db, run_id, {**row, "listing_url": item.listing_url}, verdicts)
        else:
            storage.save_serp_listing(db, run_id, row)
    elif isinstance(item, SerpItem):
        storage.save_serp_result(db, run_id, _serp_row(item))
    elif isinstance(item, UnparsedItem):
        storage.save_unparsed_page(db, run_id, asdict(item))
    elif isinstance(item, PageItem):
        storage.save_page(db, run_id, _page_row(item), [v.as_dict() for v in item.verdicts])
        if item.render is not None:
            storage.save_render(db, run_id, "page", render_row(item), item.screenshots)
    elif isinstance(item, SerpShotItem) and item.render is not None:
        storage.save_render(db, run_id, "serp", render_row(item), item.screenshots)
    elif isinstance(item, QueryOutcome):
        storage.save_query_outcome(db, run_id, asdict(item))
    elif isinstance(item, RelatedItem):
        storage.save_related(db, run_id, asdict(item))
