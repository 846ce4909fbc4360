"""One query on one engine, page by page: what to follow, whether to ask the next page (pure).

The search spider (spiders/search.py) asks a query's result pages one after
the other. Per (engine, query) a `QueryProgress` keeps how far it got:

- `take_page(showings, limit, follow_ads, cards)`: counts a result page and
  picks the showings whose landing pages are followed. An organic result
  counts once per landing page (`Showing.key`, crawler/merge.py), however many
  pages show it; the first `limit` (the profile's `results_per_query`) are
  followed. Ads, and local and call cards, are followed when the profile says
  `follow_ads`. Only http(s) landing pages are followed. Ranks continue
  across pages: the next page's `rank_offset` is `offset`.
- `wants_next(...)`: the next page is asked while the page had a next page
  and new results, fewer than `limit` were found, and SERPWATCH_MAX_SERP_PAGES
  is not reached.
- `outcome(...)`: how the query went (crawler.items.QueryOutcome), with the
  pages and results read so far.

An engine request carries the query it asks as a `SerpQuery` under the
`request.meta` key `SERP_QUERY_META` ("serpwatch_query"), read by
`crawler.middlewares.CrawlBudgetMiddleware` (SERPWATCH_MAX_QUERIES): stages
other than the spider's own callback read typed meta, never its `cb_kwargs`.

`same_endpoint` tells whether a page's own next link stays on the engine
endpoint the operator configured (else the spider builds the next URL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.items import QueryOutcome
from crawler.merge import Showing


def host(url: str) -> str:
    """The URL's host and port, lower-cased."""
    return urlsplit(url).netloc.lower()


def same_endpoint(url: str, endpoint: str) -> bool:
    """Same scheme, host, port and path: a URL the operator's engine setting covers."""
    a, b = urlsplit(url), urlsplit(endpoint)
    return (
        a.scheme.lower() == b.scheme.lower()
        and a.netloc.lower() == b.netloc.lower()
        and a.path.rstrip("/") == b.path.rstrip("/")
    )


# The request.meta key that holds an engine request's SerpQuery.
SERP_QUERY_META = "serpwatch_query"


@dataclass(frozen=True)
class SerpQuery:
    """What an engine request asks: a query on an engine, one result page of it."""

    engine: str
    query: str
    page: int

    @property
    def key(self) -> tuple[str, str]:
        """The query as SERPWATCH_MAX_QUERIES counts it: once per (engine, query)."""
        return (self.engine, self.query)


def _web(shown: Showing) -> bool:
    return shown.landing_url.startswith(("http://", "https://"))


@dataclass
class QueryProgress:
    """How far one engine got with one query."""

    offset: int = 0  # organic results on the pages before (the next rank_offset)
    found: int = 0  # distinct organic results so far
    seen: set[str] = field(default_factory=set)
    last_url: str | None = None  # the page before, Referer of the next one
    pages: int = 0  # result pages answered
    results: int = 0  # results on them (organic and ads)

    def take_page(
        self,
        showings: Sequence[Showing],
        limit: int,
        follow_ads: bool,
        cards: Sequence[Showing] = (),
    ) -> tuple[list[Showing], int]:
        """Count this page of results; the showings to follow, its local and call cards
        first (followed like ads), and how many organic results were new."""
        self.pages += 1
        self.results += len(showings)
        chosen = [c for c in cards if follow_ads and _web(c)]
        new = 0
        for shown in showings:
            if shown.is_ad:
                wanted = follow_ads
            else:
                self.offset = max(self.offset, shown.rank or 0)
                if shown.key in self.seen:
                    continue
                self.seen.add(shown.key)
                new += 1
                self.found += 1
                wanted = self.found <= limit
            if wanted and _web(shown):
                chosen.append(shown)
        return chosen, new

    def wants_next(self, next_url: str | None, new: int, limit: int, page: int, max_pages: int):
        """Whether to ask the query's next result page (the engine not blocked)."""
        return bool(next_url and new and self.found < limit and page < max_pages)

    def outcome(
        self, engine: str, brand: str | None, query: str, outcome: str, detail: str = ""
    ) -> QueryOutcome:
        return QueryOutcome(
            engine=engine,
            query=query,
            brand=brand,
            outcome=outcome,
            serp_pages=self.pages,
            results=self.results,
            detail=detail,
        )
