"""Score every number on a page against the brand's official contacts."""

from __future__ import annotations

from crawler.items import PageItem
from crawler.scoring import score_page


class ScorePipeline:
    """Fills `PageItem.domain`, `title` and `verdicts` with `crawler.scoring.score_page`."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, PageItem):
            score_page(item, self.crawler.spider.profile)
        return item
