"""Store results, pages and verdicts in SQLite (reads SERPWATCH_DB)."""

from __future__ import annotations

import logging
from dataclasses import asdict, fields

from crawler import history, storage
from crawler.items import PageItem, RelatedItem, SerpItem, SerpShotItem, UnparsedItem
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

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        self.db = storage.open_db(self.crawler.settings.get("SERPWATCH_DB"))
        spider = self.crawler.spider
        self.run_id = storage.start_run(self.db, spider.profile.name, job=scrapyd_job(spider))
        self.crawler.stats.set_value("serpwatch/run_id", self.run_id)

    def close_spider(self):
        stats = close_run(self.db, self.run_id, self.crawler.stats.get_stats())
        for name, value in stats.items():
            if name.startswith("serpwatch/history/"):
                self.crawler.stats.set_value(name, value)
        self.db.close()

    def process_item(self, item):
        save_item(self.db, self.run_id, item)
        return item


def save_item(db, run_id: int, item) -> None:
    """Store one finished item (also the distributed store's, crawler/scale_store.py)."""
    if isinstance(item, SerpItem) and item.kind in ("local", "call"):
        storage.save_serp_listing(db, run_id, asdict(item))
    elif isinstance(item, SerpItem):
        storage.save_serp_result(db, run_id, asdict(item))
    elif isinstance(item, UnparsedItem):
        storage.save_unparsed_page(db, run_id, asdict(item))
    elif isinstance(item, PageItem):
        page = {f.name: getattr(item, f.name) for f in fields(item) if f.name not in _NOT_STORED}
        storage.save_page(db, run_id, page, item.verdicts)
        if item.render is not None:
            storage.save_render(db, run_id, "page", render_row(item), item.screenshots)
    elif isinstance(item, SerpShotItem) and item.render is not None:
        storage.save_render(db, run_id, "serp", render_row(item), item.screenshots)
    elif isinstance(item, RelatedItem):
        storage.save_related(db, run_id, asdict(item))


def close_run(db, run_id: int, stats: dict) -> dict:
    """Score the run again with its history, then close it; the stats as recorded."""
    stats = dict(stats)
    # History and triage first (crawler.history): their counts go into the run's stats.
    try:
        changes = history.close_run(db, run_id, stats)
    except Exception:  # noqa: BLE001 - the run must still be closed and recorded
        logger.exception("scoring the run again with its history failed")
        changes = {"failed": 1}
    for name, value in changes.items():
        stats[f"serpwatch/history/{name}"] = value
    storage.finish_crawl(db, run_id, stats)
    return stats
