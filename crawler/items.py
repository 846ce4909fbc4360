"""Items that flow from the spider through the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    verdicts: list[dict] = field(default_factory=list)
    # Filled by pipelines/evidence.py: where the page is kept as a WARC record.
    warc_file: str | None = None
    warc_record_id: str | None = None
    payload_sha256: str | None = None


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
