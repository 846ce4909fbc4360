"""Store results, pages and verdicts in SQLite (reads SERPWATCH_DB)."""

from __future__ import annotations

import logging
from dataclasses import asdict, fields

from crawler import history, storage
from crawler.items import PageItem, RelatedItem, SerpItem, UnparsedItem
from crawler.lock import scrapyd_job

logger = logging.getLogger(__name__)


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
        page = {
            f.name: getattr(item, f.name)
            for f in fields(item)
            # What only the WARC keeps: the bytes, the headers both ways.
            if f.name
            not in ("html", "body", "hits", "verdicts", "headers", "request_headers", "method")
        }
        storage.save_page(db, run_id, page, item.verdicts)
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
