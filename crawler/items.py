"""Items that flow from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class SerpItem:
    """One result (organic or ad) as a search engine showed it."""

    engine: str
    query: str
    brand: str | None
    serp_url: str
    is_ad: bool
    title: str
    url: str
    landing_url: str
    rank: int | None = None
    ad_position: int | None = None
    display_url: str = ""
    snippet: str = ""
    phones: list[str] = field(default_factory=list)
    page: int = 1  # the result page it was on (ad positions restart on each page)
    # Issue 16: "organic" | "ad" | "local" | "call" (local and call cards are
    # stored apart, numbered by `position`), the raw click string, how the
    # landing URL was found, and what the page says of the advertiser.
    kind: str = ""
    position: int | None = None
    click_url: str = ""
    landing_from: str = ""
    advertiser_name: str = ""
    advertiser_location: str = ""
    advertiser_url: str = ""
    address: str = ""
    # A local or call card without a website (no landing_url) is judged on its
    # own (pipelines/score.py): its numbers' verdict records. Not a column.
    verdicts: list[Any] = field(default_factory=list)  # crawler.scoring.SightingVerdict

    @property
    def siteless_card(self) -> bool:
        return self.kind in ("local", "call") and not self.landing_url

    @property
    def listing_url(self) -> str:
        """Where a card is on the engine: its own listing link (a maps place page),
        else its place on the result page (``#local-2``)."""
        return self.url or f"{self.serp_url.split('#')[0]}#{self.kind}-{self.position}"

    @classmethod
    def from_result(
        cls, result, *, engine: str, query: str, brand: str | None, serp_url: str, page: int
    ) -> SerpItem:
        """The stored form of one result, ad or card (crawler.engines.base.SerpResult)."""
        shown = {f.name: getattr(result, f.name) for f in fields(result) if f.name in _SHOWN}
        shown["phones"] = list(result.phones)
        return cls(engine=engine, query=query, brand=brand, serp_url=serp_url, page=page, **shown)


# SerpItem's fields that come from the result itself (the rest is its context).
_SHOWN = {f.name for f in fields(SerpItem)} - {"engine", "query", "brand", "serp_url", "page"}


@dataclass
class UnparsedItem:
    """A result page that no parser recognised: kept whole for the maintainers."""

    engine: str
    kind: str
    query: str
    url: str
    status: int
    reason: str
    body: bytes
    seen_at: str = ""


@dataclass
class RelatedItem:
    """What a result page proposed besides results: (kind, text) pairs (engines/related.py)."""

    engine: str
    query: str
    serp_url: str
    texts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class PageItem:
    """A landing page fetched from a result, with the result that led to it."""

    url: str
    entry_url: str
    status: int
    html: str
    engine: str
    query: str
    brand: str | None
    is_ad: bool
    serp_url: str
    rank: int | None = None
    ad_position: int | None = None
    redirects: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    ip: str | None = None
    fetched_at: str = ""
    # The request as sent (the last one, after redirects), kept as evidence.
    request_headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    # The bytes as received (decompressed), kept as evidence: `html` is the
    # decoded text, which differs when a page lies about its charset.
    body: bytes = b""
    # Every engine that showed this landing page for the query, and each showing
    # (engine, is_ad, rank, ad_position, serp_url, url, landing_url, and the
    # result's title, snippet and phones); the fields above come from the
    # strongest one (spiders/search.py merges them).
    engines: list[str] = field(default_factory=list)
    appearances: list[dict] = field(default_factory=list)
    # Filled by the pipelines.
    domain: str = ""
    title: str = ""
    hits: list[Any] = field(default_factory=list)
    verdicts: list[Any] = field(default_factory=list)  # crawler.scoring.SightingVerdict
    # Filled by pipelines/evidence.py: where the page is kept as a WARC record.
    warc_file: str | None = None
    warc_record_id: str | None = None
    payload_sha256: str | None = None
    # How the page was reached: "click" (the engine's click chain, click_ads =
    # true), "decoded" (the target taken from the click URL), "display-url" (the
    # ad hid its target: its display URL's site), "link" (a direct link).
    reached_via: str = "link"
    click_url: str = ""
    advertiser_name: str = ""
    advertiser_location: str = ""
    # Filled by pipelines/render.py when the page was rendered in the browser
    # (crawler.render): the findings, and the browser's work (DOM, screenshots);
    # then by pipelines/evidence.py: the viewport screenshot's WARC record and file.
    render: Any = None  # crawler.render.facts.RenderFacts
    render_work: Any = None  # crawler.render.page.RenderWork
    screenshot: str | None = None  # JSON: warc_record_id, warc_file, path of the PNG
    screenshot_sha256: str | None = None
    screenshots: list[dict] = field(default_factory=list)  # crawler.render.shots


@dataclass
class SerpShotItem:
    """A result page that showed ads, to be pictured as the engine showed it.

    Made by `crawler.render.serp.SerpShotMiddleware` from the response the
    engine parser read; pictured from these bytes (no second query).
    """

    serp_url: str
    engine: str
    query: str
    brand: str | None
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    has_ads: bool = True
    ip: str | None = None
    fetched_at: str = ""
    render: Any = None
    render_work: Any = None
    warc_file: str | None = None
    warc_record_id: str | None = None
    payload_sha256: str | None = None
    screenshot: str | None = None
    screenshot_sha256: str | None = None
    screenshots: list[dict] = field(default_factory=list)


@dataclass
class QueryOutcome:
    """How one query went on one engine in a run: what history may trust.

    `outcome`: answered (every result page came back), blocked (the engine
    blocked it, or dropped it after blocking), failed (a result page got no
    answer), skipped (refused by the run's own query budget, never asked). A
    query with no outcome did not finish (the run was interrupted).
    """

    engine: str
    query: str
    brand: str | None
    outcome: str
    serp_pages: int = 0
    results: int = 0
    detail: str = ""
