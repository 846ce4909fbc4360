"""Store results, pages and verdicts in SQLite (reads SERPWATCH_DB)."""

from __future__ import annotations

from dataclasses import asdict, fields

from crawler import storage
from crawler.items import PageItem, SerpItem


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
        self.run_id = storage.start_run(self.db, self.crawler.spider.profile.name)
        self.crawler.stats.set_value("serpwatch/run_id", self.run_id)

    def close_spider(self):
        stats = self.crawler.stats.get_stats()
        storage.finish_crawl(self.db, self.run_id, stats)
        self.db.close()

    def process_item(self, item):
        if isinstance(item, SerpItem):
            storage.save_serp_result(self.db, self.run_id, asdict(item))
        elif isinstance(item, PageItem):
            page = {
                f.name: getattr(item, f.name)
                for f in fields(item)
                if f.name not in ("html", "hits", "verdicts", "headers")
            }
            storage.save_page(self.db, self.run_id, page, item.verdicts)
        return item
