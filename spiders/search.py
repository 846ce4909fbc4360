"""The search spider: runs the profile's queries and follows results and ads.

It only crawls. Parsing is done by `crawler.engines`, everything after the
fetch by the pipelines. Reads the spider argument `profile` (a profile TOML).
"""

from __future__ import annotations

from datetime import UTC, datetime

import scrapy

from crawler.config import load_profile
from crawler.engines import ENGINES
from crawler.items import PageItem, SerpItem


class SearchSpider(scrapy.Spider):
    """Queries = brands × templates × engines; follow top results and ads."""

    name = "search"
    # Block and rate-limit answers must reach the parser, which names them.
    custom_settings = {"HTTPERROR_ALLOWED_CODES": [202, 403, 429, 503]}

    def __init__(self, profile: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if profile is None:
            raise ValueError("the search spider needs -a profile=PROFILE.toml")
        self.profile = profile if not isinstance(profile, str) else load_profile(profile)

    async def start(self):
        self.crawler.stats.set_value("serpwatch/engines", [e.kind for e in self.profile.engines])
        for engine in self.profile.engines:
            for brand, query in self.profile.queries():
                yield self.serp_request(engine, brand, query, page=1)

    def serp_request(self, engine, brand, query, page, url=None):
        module = ENGINES[engine.kind]
        req = module.build_request(
            query,
            language=self.profile.language,
            region=self.profile.region,
            page=page,
            base_url=engine.url,
        )
        return scrapy.Request(
            url or req.url,
            method=req.method,
            headers=req.headers,
            body=req.body,
            callback=self.parse_serp,
            dont_filter=True,
            meta={"serpwatch_trusted": True},
            cb_kwargs={"engine": engine, "brand": brand, "query": query, "page": page},
        )

    def parse_serp(self, response, engine, brand, query, page):
        stats = self.crawler.stats
        result = ENGINES[engine.kind].parse(response.body, response.url, response.status)
        if result.blocked:
            stats.inc_value(f"serpwatch/blocked/{engine.kind}")
            stats.set_value(f"serpwatch/blocked_reason/{engine.kind}", result.blocked)
            self.logger.warning("%s blocked us on %r: %s", engine.kind, query, result.blocked)
            return
        stats.inc_value("serpwatch/serp_pages")
        stats.inc_value(f"serpwatch/results/{engine.kind}", len(result.results))
        limit = self.profile.results_per_query
        organic = 0
        for r in result.results:
            yield SerpItem(
                engine=engine.kind,
                query=query,
                brand=brand,
                serp_url=response.url,
                is_ad=r.is_ad,
                title=r.title,
                url=r.url,
                landing_url=r.landing_url,
                rank=r.rank,
                ad_position=r.ad_position,
                display_url=r.display_url,
                snippet=r.snippet,
                phones=list(r.phones),
            )
            if r.is_ad and not self.profile.follow_ads:
                continue
            if not r.is_ad:
                organic = max(organic, r.rank or 0)
                if (r.rank or 0) > limit:
                    continue
            if not r.landing_url.startswith(("http://", "https://")):
                continue
            yield scrapy.Request(
                r.landing_url,
                headers={"Referer": response.url},
                callback=self.parse_page,
                errback=self.page_failed,
                # The same site can be both an ad and a result: fetch each
                # appearance so each keeps its own evidence.
                dont_filter=True,
                cb_kwargs={
                    "ctx": {
                        "engine": engine.kind,
                        "query": query,
                        "brand": brand,
                        "is_ad": r.is_ad,
                        "rank": r.rank,
                        "ad_position": r.ad_position,
                        "serp_url": response.url,
                        "entry_url": r.landing_url,
                    }
                },
            )
        if result.next_url and organic and organic < limit:
            yield self.serp_request(engine, brand, query, page + 1, url=result.next_url)

    def parse_page(self, response, ctx):
        if not isinstance(response, scrapy.http.TextResponse):
            self.crawler.stats.inc_value("serpwatch/pages_not_html")
            return
        yield PageItem(
            url=response.url,
            status=response.status,
            html=response.text,
            redirects=list(response.meta.get("redirect_urls", [])),
            headers={
                k.decode("latin-1"): b", ".join(v).decode("latin-1")
                for k, v in response.headers.items()
            },
            ip=str(response.ip_address) if response.ip_address else None,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            **ctx,
        )

    def page_failed(self, failure):
        self.crawler.stats.inc_value("serpwatch/pages_failed")
        self.logger.info("page failed: %s", failure.value)
