"""Spider middleware: a result page that showed ads becomes a `SerpShotItem`.

The engine parser has read the page into `SerpItem`s; when one of them is an
ad, the page's bytes follow as a `SerpShotItem`, which `pipelines/render.py`
pictures (`crawler.render.renderer.Renderer.serp`) and the evidence pipeline
keeps. Nothing is made when rendering is off (`render = "never"`, or no
browser): a crawl without rendering pays nothing here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.items import SerpItem, SerpShotItem
from crawler.render.browser import find_browser


class SerpShotMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler
        self._on: bool | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _enabled(self) -> bool:
        if self._on is None:
            from crawler.render.renderer import render_mode

            settings = self.crawler.settings
            try:
                mode = render_mode(settings, getattr(self.crawler.spider, "profile", None))
            except ValueError:
                mode = "never"
            self._on = (
                mode != "never" and find_browser(settings.get("SERPWATCH_BROWSER")) is not None
            )
        return self._on

    def _shot(self, response, ads: SerpItem) -> SerpShotItem:
        return SerpShotItem(
            serp_url=response.url,
            engine=ads.engine,
            query=ads.query,
            brand=ads.brand,
            status=response.status,
            body=response.body,
            headers={
                k.decode("latin-1"): b", ".join(v).decode("latin-1")
                for k, v in response.headers.items()
            },
            ip=str(response.ip_address) if response.ip_address else None,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def process_spider_output(self, response, result):
        ad = None
        for out in result:
            if ad is None and isinstance(out, SerpItem) and out.is_ad:
                ad = out
            yield out
        if ad is not None and self._enabled():
            yield self._shot(response, ad)

    async def process_spider_output_async(self, response, result):
        ad = None
        async for out in result:
            if ad is None and isinstance(out, SerpItem) and out.is_ad:
                ad = out
            yield out
        if ad is not None and self._enabled():
            yield self._shot(response, ad)
