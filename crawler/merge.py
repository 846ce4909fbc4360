"""The per-query merge of result showings across engines (pure: no Scrapy, no I/O).

A query is asked of every engine of the profile. Its landing pages are fetched
once every engine is done with the query (or blocked, or failed): a landing URL
shown by several engines, or as both an ad and a result, is fetched once.
Two landing URLs are the same page when they differ only in click-tracking
parameters (utm_*, gclid, msclkid, ...), parameter order or fragment
(`merge_key`).

The ordering rule: of the showings of one page the strongest leads, and the
fetched page's `engine`, `is_ad` and `rank` come from it. Ads first (an ad is
paid placement: the strongest evidence against the advertiser), then the best
position (rank for results, ad position for ads), then the engine's order in
the profile. `engines` lists every engine that showed the page, in profile
order.

A showing that arrives after its query was released (a straggler: with more
than one request per engine at a time an engine's late page can finish after
the query was released) is fetched on its own when its page is new, and
dropped when the page was already requested.

`QueryMerges` keeps this state in memory for one process; the distributed
mode keeps the same state in Redis (crawler/distributed.py) and uses
`landing()` for the ordering, so both give the same landings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Query parameters that only identify a click; two URLs that differ only in
# these are the same landing page.
CLICK_PARAMS = re.compile(
    r"^(utm_[a-z_]+|gclid|gclsrc|dclid|gbraid|wbraid|gad_source|msclkid|fbclid|yclid|"
    r"mc_cid|mc_eid|_ga|_gl)$",
    re.IGNORECASE,
)


def merge_key(url: str) -> str:
    """The URL that decides whether two results are the same landing page."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not CLICK_PARAMS.match(k)
    ]
    return canonicalize_url(
        urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    )


@dataclass(frozen=True)
class Showing:
    """One result or ad of one engine that leads to a landing page."""

    engine: str
    is_ad: bool
    rank: int | None
    ad_position: int | None
    serp_url: str
    url: str
    landing_url: str
    # What the result itself says: an ad's text and call extension are
    # evidence too (crawler.scoring, pipelines/extract.py).
    title: str = ""
    snippet: str = ""
    phones: tuple[str, ...] = ()
    # Issue 16: "organic" | "ad" | "local" | "call" (cards are scored like ads),
    # the raw click string and how `landing_url` was found (crawler.engines.base).
    kind: str = ""
    click_url: str = ""
    landing_from: str = ""
    advertiser_name: str = ""
    advertiser_location: str = ""

    @cached_property
    def key(self) -> str:
        """`merge_key(landing_url)`, worked out once: paging and the merge both ask it."""
        return merge_key(self.landing_url)

    @classmethod
    def from_result(cls, engine: str, serp_url: str, result) -> Showing:
        """The showing of one result, ad or card (crawler.engines.base.SerpResult)."""
        return cls(
            engine=engine,
            is_ad=result.is_ad,
            rank=result.rank,
            ad_position=result.ad_position,
            serp_url=serp_url,
            url=result.url,
            landing_url=result.landing_url,
            title=result.title,
            snippet=result.snippet,
            phones=tuple(result.phones),
            kind=result.kind,
            click_url=result.click_url,
            landing_from=result.landing_from,
            advertiser_name=result.advertiser_name,
            advertiser_location=result.advertiser_location,
        )

    def as_dict(self) -> dict:
        """The form kept in `PageItem.appearances` and stored with the page."""
        out = asdict(self)
        out["phones"] = list(self.phones)
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> Showing:
        fields = {k: data.get(k) for k in cls.__dataclass_fields__}
        fields["phones"] = tuple(data.get("phones") or ())
        fields["title"] = data.get("title") or ""
        fields["snippet"] = data.get("snippet") or ""
        for name in ("kind", "click_url", "landing_from", "advertiser_name", "advertiser_location"):
            fields[name] = data.get(name) or ""
        return cls(**fields)


def with_sitelinks(follow: Sequence[Showing], showings: Sequence[Showing], results) -> list:
    """The showings to follow, each followed result's first sitelinks after it
    (issue 16): a sitelink is its result's, of the same kind and position, with
    its own URL. `results` are the parser's results behind `showings`."""
    behind = {id(s): r for s, r in zip(showings, results, strict=True)}
    out: list[Showing] = []
    for shown in follow:
        out.append(shown)
        result = behind.get(id(shown))
        for link in result.followed()[1:] if result is not None else ():
            if link.landing_url.startswith(("http://", "https://")):
                out.append(Showing.from_result(shown.engine, shown.serp_url, link))
    return out


def strength(showing: Showing, order: Mapping[str, int]) -> tuple:
    """Sort key: ads first, then the best position, then the engine's profile order."""
    position = showing.ad_position if showing.is_ad else showing.rank
    return (not showing.is_ad, position or 0, order.get(showing.engine, len(order)))


@dataclass(frozen=True)
class Landing:
    """One landing page to fetch for a query, and every showing that led to it."""

    qi: int
    showings: tuple[Showing, ...]  # strongest first
    engines: tuple[str, ...]  # every engine that showed it, in profile order

    @property
    def best(self) -> Showing:
        return self.showings[0]

    @property
    def merged(self) -> int:
        """Showings beyond the first: how many fetches the merge saved."""
        return len(self.showings) - 1


def landing(qi: int, showings: Iterable[Showing], order: Mapping[str, int]) -> Landing:
    """The landing of query `qi` for the showings of one page, strongest first."""
    ranked = tuple(sorted(showings, key=lambda s: strength(s, order)))
    if not ranked:
        raise ValueError("a landing needs at least one showing")
    engines = tuple(sorted({s.engine for s in ranked}, key=lambda n: order.get(n, len(order))))
    return Landing(qi=qi, showings=ranked, engines=engines)


@dataclass(eq=False)
class QueryMerge:
    """The showings of one query over all engines, until every engine is done with it."""

    qi: int
    waiting: set[str]
    hits: dict[str, list[Showing]] = field(default_factory=dict)  # merge key → showings
    released: bool = False


class QueryMerges:
    """The merge state of every query of a crawl, in this process's memory."""

    def __init__(self, engines: Sequence[str], queries: int):
        self.order = {name: i for i, name in enumerate(engines)}
        self._merges = [QueryMerge(qi, set(engines)) for qi in range(queries)]

    def __getitem__(self, qi: int) -> QueryMerge:
        return self._merges[qi]

    def __len__(self) -> int:
        return len(self._merges)

    def add(self, qi: int, showing: Showing) -> list[Landing]:
        """Keep a showing; a landing to fetch now only for a straggler with a new page."""
        merge = self._merges[qi]
        key = showing.key
        if merge.released:
            if key in merge.hits:
                return []  # already requested; this showing came too late to be kept
            merge.hits[key] = [showing]
            return [landing(qi, [showing], self.order)]
        merge.hits.setdefault(key, []).append(showing)
        return []

    def done(self, engine: str, qi: int) -> list[Landing]:
        """`engine` is done with query `qi`; when all are, its landings, first seen first."""
        merge = self._merges[qi]
        merge.waiting.discard(engine)
        if merge.waiting or merge.released:
            return []
        merge.released = True
        return [landing(qi, showings, self.order) for showings in merge.hits.values()]
