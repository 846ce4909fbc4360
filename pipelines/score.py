"""Score every number on a page against the brand's official contacts."""

from __future__ import annotations

from crawler.items import PageItem
from crawler.scoring import assess_page


def score_page(item: PageItem, profile) -> None:
    """Put a page's domain, title, brand and verdicts (`crawler.scoring.assess_page`)
    on its item: the scorer returns them, the pipeline writes them."""
    found = assess_page(
        item.url,
        item.html,
        item.hits,
        profile,
        brand=item.brand,
        is_ad=item.is_ad,
        appearances=item.appearances,
        urls=[item.entry_url, *(a.get("landing_url") or "" for a in item.appearances)],
    )
    item.domain, item.title, item.verdicts = found.domain, found.title, found.verdicts
    item.brand = found.brand


class ScorePipeline:
    """Fills `PageItem.domain`, `title`, `brand` and `verdicts`."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, PageItem):
            score_page(item, self.crawler.spider.profile)
        return item
