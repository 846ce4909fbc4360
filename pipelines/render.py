"""Render the pages the policy picks in a real browser (crawler.render).

Runs after scoring and before evidence: the screenshots go into the WARC with
the page, and the numbers the browser found are scored and stored with it.
"""

from __future__ import annotations

from crawler.items import PageItem, SerpShotItem


class RenderPipeline:
    """Calls `crawler.render.renderer.Renderer` for each page and pictured result page."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.renderer = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        from crawler.render.renderer import Renderer

        self.renderer = Renderer(self.crawler)

    async def process_item(self, item):
        if isinstance(item, PageItem):
            await self.renderer.page(item)
        elif isinstance(item, SerpShotItem):
            await self.renderer.serp(item)
        return item
