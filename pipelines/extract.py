"""Pull the phone numbers off each fetched page, and off the results that led to it."""

from __future__ import annotations

from crawler.items import PageItem
from crawler.phones import extract_phones, result_hits


class ExtractPhonesPipeline:
    """Fills `PageItem.hits` with `crawler.phones.extract_phones`, plus `result_hits`."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, PageItem):
            region = self.crawler.spider.profile.region
            item.hits = extract_phones(item.html, region=region, url=item.url)
            known = {h.phone for h in item.hits}
            item.hits += result_hits(item.appearances, known, region)
        return item
