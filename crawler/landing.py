"""What a landing-page request carries: the typed record `LandingContext` (pure).

The search spider (spiders/search.py) requests each landing page of a query
once (crawler/merge.py) and puts a `LandingContext` on the request under the
`request.meta` key `LANDING_META` ("serpwatch_landing"). Scrapy keeps meta
across redirects and retries, and scrapy-redis pickles it with the request in
distributed mode, so every stage that handles the request reads the same
record:

- the spider's `parse_page` makes the `PageItem` of the response with it
  (`page_item`, the context fields from `LandingContext.page_fields()`);
- `crawler.middlewares.DownloadOfferMiddleware` names the result behind an
  offered download with it;
- `crawler.distributed.RunScheduler` fetches a (query, page) once with it.

A request without the key is not a landing page (an engine request, a render).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from crawler.items import PageItem
from crawler.merge import Landing, Showing
from crawler.net.headers import browser_headers

# The request.meta key that holds a landing request's LandingContext.
LANDING_META = "serpwatch_landing"


@dataclass(frozen=True)
class LandingContext:
    """The query and the showings behind one landing-page request.

    `engine`, `is_ad`, `rank`, `ad_position` and `serp_url` come from the
    strongest showing (crawler/merge.py); `click_url` and the advertiser from
    the ad (or card) among them, if any.
    """

    engine: str
    engines: tuple[str, ...]
    appearances: tuple[Showing, ...]
    query: str
    brand: str | None
    is_ad: bool
    rank: int | None
    ad_position: int | None
    serp_url: str
    entry_url: str  # the URL requested first (a redirect may lead elsewhere)
    reached_via: str = "link"  # click | decoded | display-url | link (crawler.items.PageItem)
    click_url: str = ""
    advertiser_name: str = ""
    advertiser_location: str = ""

    def page_fields(self) -> dict:
        """The context fields of the `PageItem` fetched for this request."""
        return {
            "engine": self.engine,
            "engines": list(self.engines),
            "appearances": [s.as_dict() for s in self.appearances],
            "query": self.query,
            "brand": self.brand,
            "is_ad": self.is_ad,
            "rank": self.rank,
            "ad_position": self.ad_position,
            "serp_url": self.serp_url,
            "entry_url": self.entry_url,
            "reached_via": self.reached_via,
            "click_url": self.click_url,
            "advertiser_name": self.advertiser_name,
            "advertiser_location": self.advertiser_location,
        }


def landing_context(
    landing: Landing, brand: str | None, query: str, *, click_ads: bool
) -> LandingContext:
    """The context of a landing's request, and so the URL to request (`entry_url`).

    click_ads = true: an ad is visited through the engine's real click chain,
    for sites that cloak unless the visit comes from a click (redirects are
    recorded). Otherwise the strongest showing's landing URL, found as its
    parser says (`landing_from`), or a direct link.
    """
    best = landing.best
    ad = next((s for s in landing.showings if s.click_url), None)
    if click_ads and ad is not None:
        url, via = ad.click_url, "click"
    else:
        url, via = best.landing_url, best.landing_from or "link"
    return LandingContext(
        engine=best.engine,
        engines=landing.engines,
        appearances=landing.showings,
        query=query,
        brand=brand,
        is_ad=best.is_ad,
        rank=best.rank,
        ad_position=best.ad_position,
        serp_url=best.serp_url,
        entry_url=url,
        reached_via=via,
        click_url=ad.click_url if ad else "",
        advertiser_name=ad.advertiser_name if ad else "",
        advertiser_location=ad.advertiser_location if ad else "",
    )


def landing_headers(ctx: LandingContext, language: str, region: str) -> dict[str, str]:
    """A cross-site navigation from the result page, as a browser makes it: the
    result page as Referer (cloaking sites check it)."""
    headers = browser_headers(language, region)
    headers["Sec-Fetch-Site"] = "cross-site"
    headers["Referer"] = ctx.serp_url
    return headers


def header_text(headers: Iterable[tuple[bytes, list[bytes]]]) -> dict[str, str]:
    """Scrapy's raw header pairs as text, repeated values joined (kept as evidence)."""
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in headers}


def page_item(response) -> PageItem:
    """The `PageItem` of a landing page's response (Scrapy's, duck-typed): what
    was fetched, and the fields of the request's `LandingContext`."""
    return PageItem(
        url=response.url,
        status=response.status,
        html=response.text,
        body=response.body,
        redirects=list(response.meta.get("redirect_urls", [])),
        headers=header_text(response.headers.items()),
        request_headers=header_text(response.request.headers.items()),
        method=response.request.method,
        ip=str(response.ip_address) if response.ip_address else None,
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        **response.meta[LANDING_META].page_fields(),
    )
