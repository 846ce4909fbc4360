"""What every engine module provides: a request builder and a pure parser.

An engine module satisfies `Engine`: its `KIND`, default `ENDPOINT` and
`PAGE_SIZE`, ``build_request(query, *, language, region, page, base_url)
-> SearchRequest`` and ``parse(body, url, status=200, *, region,
rank_offset) -> SerpPage``. Parsers know nothing of Scrapy, settings or the
network, so they are tested on saved pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class SerpResult:
    # Organic results carry `rank` (1-based, across pages); ads carry
    # `ad_position` (1-based, top to bottom); the two are never mixed.
    is_ad: bool
    title: str
    url: str
    landing_url: str
    rank: int | None = None
    ad_position: int | None = None
    display_url: str = ""
    snippet: str = ""
    phones: list[str] = field(default_factory=list)

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
        }


@dataclass
class SerpPage:
    results: list[SerpResult]
    next_url: str | None = None
    # Set when the page is a block/captcha/rate-limit page, never silently empty.
    blocked: str | None = None
    # The engine kind that produced the page ("bing", "google", ...).
    engine: str = ""

    def to_dict(self) -> dict:
        """The whole page as plain data (golden fixtures, debugging)."""
        return {
            "engine": self.engine,
            "blocked": self.blocked,
            "next_url": self.next_url,
            "results": [r.to_dict() for r in self.results],
        }
