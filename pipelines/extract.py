"""Pull the phone numbers off each fetched page."""

from __future__ import annotations

from crawler.items import PageItem
from crawler.phones import extract_phones


class ExtractPhonesPipeline:
    """Fills `PageItem.hits` with `crawler.phones.extract_phones`."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, PageItem):
            region = self.crawler.spider.profile.region
            item.hits = extract_phones(item.html, region=region, url=item.url)
        return item
