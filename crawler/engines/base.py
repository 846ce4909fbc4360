"""What every engine module provides: a request builder and a pure parser.

An engine module satisfies `Engine`: its `KIND`, default `ENDPOINT` and
`PAGE_SIZE`, ``build_request(query, *, language, region, page, base_url)
-> SearchRequest`` and ``parse(body, url, status=200, *, region,
rank_offset) -> SerpPage``. Parsers know nothing of Scrapy, settings or the
network, so they are tested on saved pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable


@runtime_checkable
class Engine(Protocol):
    """The interface of an engine module (tests/test_engines.py checks every one)."""

    KIND: str
    ENDPOINT: str
    PAGE_SIZE: int

    def build_request(
        self,
        query: str,
        *,
        language: str = "nl",
        region: str = "NL",
        page: int = 1,
        base_url: str | None = None,
    ) -> SearchRequest: ...

    def parse(
        self,
        body: bytes,
        url: str,
        status: int = 200,
        *,
        region: str | None = None,
        rank_offset: int | None = None,
    ) -> SerpPage: ...


@dataclass
class SearchRequest:
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


# Kinds of result: organic results and ads, and the cards of a result page that
# carry a business's number (local pack, business profile, call extension),
# which are kept apart from both and scored like ads.
KINDS = ("organic", "ad", "local", "call")


@dataclass
class Sitelink:
    """A link under a result or an ad to another page of its site ("Contact",
    "Tarieven"), or a number shown in that row (a call extension, `url` "").
    It belongs to its parent result: followed and scored as the parent's."""

    title: str
    url: str
    landing_url: str
    landing_from: str = ""
    click_url: str = ""
    phones: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "url": self.url,
            "landing_url": self.landing_url,
            "landing_from": self.landing_from,
            "click_url": self.click_url,
            "phones": list(self.phones),
        }


# Sitelinks followed per result (an ad shows up to four, a brand's organic result
# up to eight pages of the brand's own site).
SITELINKS_FOLLOWED = 4


@dataclass
class SerpResult:
    # Organic results carry `rank` (1-based, across pages); ads carry
    # `ad_position` (1-based, top to bottom); local and call cards carry
    # `position` (1-based, top to bottom); the numberings are never mixed.
    is_ad: bool
    title: str
    url: str
    landing_url: str
    rank: int | None = None
    ad_position: int | None = None
    display_url: str = ""
    snippet: str = ""
    phones: list[str] = field(default_factory=list)
    kind: str = ""  # "organic" | "ad" | "local" | "call"; empty: from is_ad
    position: int | None = None
    # The engine's click string as on the page (an ad's tracking URL), kept
    # so a search engine can act on it without anyone clicking it.
    click_url: str = ""
    # How landing_url was found: "link" (the link is direct), "decoded" (taken
    # out of a click URL), "display-url" (the click URL hides its target: the
    # ad's display URL), "" (unknown: the click URL alone leads there).
    landing_from: str = ""
    advertiser_name: str = ""
    advertiser_location: str = ""
    advertiser_url: str = ""  # the engine's "about this advertiser" page
    address: str = ""  # local cards
    sitelinks: list[Sitelink] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = "ad" if self.is_ad else "organic"

    def followed(self) -> list[SerpResult]:
        """The result, then its first sitelinks that lead to a page, each as a
        result of the same kind and position: a sitelink is its parent's."""
        out = [self]
        for link in self.sitelinks:
            if len(out) > SITELINKS_FOLLOWED or not link.landing_url:
                continue
            out.append(
                replace(
                    self,
                    title=f"{self.title} › {link.title}",
                    url=link.url,
                    landing_url=link.landing_url,
                    landing_from=link.landing_from,
                    click_url=link.click_url,
                    sitelinks=[],
                )
            )
        return out

    def to_dict(self) -> dict:
        """The result as printed by `serpwatch serp parse` (one JSON object a line)."""
        return {
            "rank": self.rank,
            "ad_position": self.ad_position,
            "is_ad": self.is_ad,
            "title": self.title,
            "url": self.url,
            "landing_url": self.landing_url,
            "display_url": self.display_url,
            "snippet": self.snippet,
            "phones": list(self.phones),
            "kind": self.kind,
            "position": self.position,
            "click_url": self.click_url,
            "landing_from": self.landing_from,
            "advertiser_name": self.advertiser_name,
            "advertiser_location": self.advertiser_location,
            "advertiser_url": self.advertiser_url,
            "address": self.address,
            # Only when there are any: the golden fixtures of results without
            # sitelinks stay as they were.
            **({"sitelinks": [s.to_dict() for s in self.sitelinks]} if self.sitelinks else {}),
        }


@dataclass
class SerpPage:
    results: list[SerpResult]
    next_url: str | None = None
    # Set when the page is a block/captcha/rate-limit page, never silently empty.
    blocked: str | None = None
    # The engine kind that produced the page ("bing", "google", ...).
    engine: str = ""
    # What the page proposes besides results: (kind, text) pairs, kind "related",
    # "people_also_ask" or "suggestion" (crawler/engines/related.py). Not in
    # to_dict: the golden fixtures hold results.
    related: list[tuple[str, str]] = field(default_factory=list)
    # Set when the parser does not recognise the page (a changed layout): which
    # markers it looked for and missed. Never read as "no results".
    unrecognised: str | None = None
    # True only when the page says so itself (its own "no results" marker).
    no_results: bool = False
    # Local pack, business-profile and call cards: results of kind "local"
    # or "call", kept apart from the organic results and the ads.
    listings: list[SerpResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The whole page as plain data (golden fixtures, debugging)."""
        return {
            "engine": self.engine,
            "blocked": self.blocked,
            "unrecognised": self.unrecognised,
            "no_results": self.no_results,
            "next_url": self.next_url,
            "results": [r.to_dict() for r in self.results],
            "listings": [r.to_dict() for r in self.listings],
        }


def settle(
    page: SerpPage,
    *,
    found_markers: str,
    no_results: bool,
    no_results_markers: str,
) -> SerpPage:
    """The end of every parser, for a page without results or listings: it is
    "no results" only when the page says so with its own marker; otherwise the
    page is unrecognised, and the message names the markers that were missing.
    A block reason already set wins."""
    if page.results or page.listings or page.blocked:
        return page
    if no_results:
        page.no_results = True
        return page
    page.unrecognised = (
        f"no {page.engine or 'engine'} result markers ({found_markers})"
        f" and no 'no results' marker ({no_results_markers}): a changed layout?"
    )
    return page
