"""The search spider: runs the profile's queries on its engines, follows results and ads.

It only crawls. Parsing is done by `crawler.engines`, everything after the
fetch by the pipelines. Reads the spider argument `profile` (a profile TOML or
a loaded `Profile`) and the settings SERPWATCH_ENGINE_DELAY,
SERPWATCH_ENGINE_DELAYS, SERPWATCH_ENGINE_CONCURRENCY, SERPWATCH_MAX_SERP_PAGES
and SERPWATCH_RETRY_AFTER_MAX.

Per engine (named by its kind; a second engine of the same kind is `kind-2`):

- Politeness: its requests share the download slot `engine:<name>`, one at a
  time (SERPWATCH_ENGINE_CONCURRENCY), `delay` seconds apart (the profile's
  `delay`, else SERPWATCH_ENGINE_DELAYS[kind]; SERPWATCH_ENGINE_DELAY
  overrides both). AutoThrottle leaves engine slots alone and paces the
  landing pages. Queries run one after the other, each paginated until
  `results_per_query` organic results, a page without a next page, or a page
  without new results; ranks continue across pages (`rank_offset`).
- Blocks: engine requests are never retried by RetryMiddleware (`dont_retry`)
  and every status reaches the parser. A block page that carries a
  Retry-After of at most SERPWATCH_RETRY_AFTER_MAX seconds is asked once more
  after that wait, with the whole engine paused; any other block page, or a
  second one in a row, marks the engine blocked for the run: its remaining
  queries are dropped, `serpwatch/blocked/<name>` and
  `serpwatch/blocked_reason/<name>` go into the run's stats. A blocked page
  yields no results, so it is never stored as "no results".

Merging: the landing pages of a query are requested once every engine is done
with that query (or blocked). A landing URL shown by several engines, or as
both an ad and a result, is fetched once; the PageItem keeps every showing in
`appearances` and `engines`, and its `engine`, `is_ad`, `rank` come from the
strongest one. The rule and its state live in crawler/merge.py (pure); the
spider only turns its landings into requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.config import load_profile
from crawler.engine_state import EngineState
from crawler.engines.common import browser_headers
from crawler.items import PageItem, QueryOutcome, RelatedItem, SerpItem, UnparsedItem
from crawler.limits import failure_kind, retry_after_seconds
from crawler.merge import Landing, QueryMerges, Showing, merge_key

__all__ = ["SearchSpider", "merge_key"]

# Every answer of an engine reaches its parser, which tells a block from a page.
ENGINE_STATUSES = list(range(400, 600))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _same_endpoint(url: str, endpoint: str) -> bool:
    """Same scheme, host, port and path: a URL the operator's engine setting covers."""
    a, b = urlsplit(url), urlsplit(endpoint)
    return _origin(url) == _origin(endpoint) and a.path.rstrip("/") == b.path.rstrip("/")


@dataclass
class QueryProgress:
    """How far one engine got with one query."""

    offset: int = 0  # organic results on the pages before (the next rank_offset)
    found: int = 0  # distinct organic results so far
    seen: set[str] = field(default_factory=set)
    last_url: str | None = None  # the page before, Referer of the next one
    pages: int = 0  # result pages answered
    results: int = 0  # results on them (organic and ads)


class SearchSpider(scrapy.Spider):
    """Queries = brands × templates × engines; follow top results and ads, merged per query."""

    name = "search"
    # Block and rate-limit answers must reach the parser, which names them.
    custom_settings = {"HTTPERROR_ALLOWED_CODES": [202, 403, 429, 503]}

    def __init__(self, profile: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if profile is None:
            raise ValueError("the search spider needs -a profile=PROFILE.toml")
        self.profile = profile if not isinstance(profile, str) else load_profile(profile)
        self.queries = self.profile.queries()
        self.engines: dict[str, EngineState] = {}
        for order, engine in enumerate(self.profile.engines):
            name, n = engine.kind, 1
            while name in self.engines:
                n += 1
                name = f"{engine.kind}-{n}"
            self.engines[name] = EngineState(
                name=name,
                kind=engine.kind,
                url=engine.url,
                delay=0.0,
                order=order,
                queue=list(range(len(self.queries))),
            )
        self.progress: dict[tuple[str, int], QueryProgress] = {}
        self.merges = QueryMerges(list(self.engines), len(self.queries))
        self.lanes = 1

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._configure(crawler.settings)
        return spider

    def _configure(self, settings) -> None:
        """Delays and one download slot per engine (DOWNLOAD_SLOTS), before the crawl starts."""
        override = settings.get("SERPWATCH_ENGINE_DELAY")
        defaults = settings.getdict("SERPWATCH_ENGINE_DELAYS")
        self.lanes = max(1, settings.getint("SERPWATCH_ENGINE_CONCURRENCY", 1))
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        for engine, run in zip(self.profile.engines, self.engines.values(), strict=True):
            if override not in (None, ""):
                delay = float(override)
            elif getattr(engine, "delay", None) is not None:
                delay = float(engine.delay)
            else:
                delay = float(defaults.get(run.kind, settings.getfloat("DOWNLOAD_DELAY")))
            run.delay = delay
            # An operator's own DOWNLOAD_SLOTS entry for the slot wins.
            slots[run.slot] = {"concurrency": self.lanes, "delay": delay, **slots.get(run.slot, {})}
        if settings.frozen:  # Scrapy < 2.11 freezes settings before the spider exists
            self.logger.warning("settings frozen: engines use DOWNLOAD_DELAY, not their own")
            return
        priority = max(settings.getpriority("DOWNLOAD_SLOTS") or 0, 30)  # at least "spider"
        settings.set("DOWNLOAD_SLOTS", slots, priority=priority)

    # -- engine requests ---------------------------------------------------------

    async def start(self):
        self.crawler.stats.set_value("serpwatch/engines", list(self.engines))
        self.crawler.stats.set_value("serpwatch/queries", len(self.queries))
        for run in self.engines.values():
            self.logger.info(
                "%s: %d queries, %.1f s apart, %d at a time",
                run.name,
                len(run.queue),
                run.delay,
                self.lanes,
            )
            for _ in range(self.lanes):
                request = self._next_query(run)
                if request is not None:
                    yield request

    def _next_query(self, run: EngineState) -> scrapy.Request | None:
        qi = run.next_query()
        return None if qi is None else self.serp_request(run, qi, page=1)

    def serp_request(self, run: EngineState, qi: int, page: int, url: str | None = None):
        brand, query = self.queries[qi]
        req = run.module.build_request(
            query,
            language=self.profile.language,
            region=self.profile.region,
            page=page,
            base_url=run.url,
        )
        headers = dict(req.headers)
        before = self.progress.get((run.name, qi))
        if page > 1 and "Referer" in headers and before is not None and before.last_url:
            headers["Referer"] = before.last_url  # the page we were on
        meta = {"serpwatch_progress": before} if before is not None else {}
        return scrapy.Request(
            url or req.url,
            method=req.method,
            headers=headers,
            body=req.body,
            callback=self.parse_serp,
            errback=self.serp_failed,
            dont_filter=True,
            meta={
                "serpwatch_trusted": True,
                "download_slot": run.slot,
                # Engines are paced by their own delay and blocks by the spider:
                # no AutoThrottle, no RetryMiddleware hammering a 429.
                "autothrottle_dont_adjust_delay": True,
                "dont_retry": True,
                "handle_httpstatus_list": ENGINE_STATUSES,
                **meta,
            },
            cb_kwargs={"engine": run.name, "brand": brand, "query": query, "qi": qi, "page": page},
        )

    def _next_page_url(self, run: EngineState, qi: int, page: int, next_url: str) -> str:
        """The page's own next link when it stays on the configured endpoint, else a built one."""
        if _same_endpoint(next_url, run.endpoint):
            return next_url
        brand, query = self.queries[qi]
        return run.module.build_request(
            query,
            language=self.profile.language,
            region=self.profile.region,
            page=page,
            base_url=run.url,
        ).url

    async def parse_serp(self, response, engine, brand, query, qi, page):
        run = self.engines[engine]
        stats = self.crawler.stats
        # A later page carries how far its query got: in distributed mode
        # (crawler/distributed.py) another worker may have parsed the page before.
        progress = response.meta.get("serpwatch_progress") or self.progress.setdefault(
            (engine, qi), QueryProgress()
        )
        self.progress[(engine, qi)] = progress
        result = run.module.parse(
            response.body,
            response.url,
            response.status,
            region=self.profile.region,
            rank_offset=progress.offset,
        )
        if result.blocked:
            wait = self._backoff(run, response)
            if wait is not None:
                await self._pause(run)
                first_url = (response.meta.get("redirect_urls") or [response.url])[0]
                retry = self.serp_request(run, qi, page, url=first_url)
                retry.meta["serpwatch_backoff"] = wait
                yield retry
                return
            for request in self._block(run, qi, result.blocked, response):
                yield request
            return

        if result.unrecognised:
            for out in self._unrecognised(run, qi, query, result.unrecognised, response):
                yield out
            return

        stats.inc_value("serpwatch/serp_pages")
        # Related searches and "people also ask" (often none): for `queries suggest`.
        yield RelatedItem(engine, query, response.url, list(result.related))
        stats.inc_value(f"serpwatch/serp_pages/{engine}")
        stats.inc_value(f"serpwatch/results/{engine}", len(result.results))
        progress.pages += 1
        progress.results += len(result.results)
        stats.inc_value(f"serpwatch/listings/{engine}", len(result.listings))
        serp_url = self._public_url(run, response.url)
        limit = self.profile.results_per_query
        late: list[scrapy.Request] = []
        new = 0
        for out in self._cards(qi, engine, query, brand, serp_url, result.listings, page):
            yield out
        for r in result.results:
            yield _serp_item(engine, query, brand, serp_url, r, page)
            if r.is_ad:
                follow = self.profile.follow_ads
            else:
                progress.offset = max(progress.offset, r.rank or 0)
                key = merge_key(r.landing_url)
                if key in progress.seen:
                    continue
                progress.seen.add(key)
                new += 1
                progress.found += 1
                follow = progress.found <= limit
            if follow:
                late.extend(self._follow(qi, engine, r, serp_url))
        progress.last_url = response.url
        for request in late:  # a straggler after the query was released (concurrency > 1)
            yield request

        max_pages = self.crawler.settings.getint("SERPWATCH_MAX_SERP_PAGES", 10)
        if (
            result.next_url
            and new
            and progress.found < limit
            and page < max_pages
            and not run.blocked
        ):
            await self._pause(run)
            url = self._next_page_url(run, qi, page + 1, result.next_url)
            yield self.serp_request(run, qi, page + 1, url=url)
            return
        yield self._outcome(run.name, qi, "answered")
        for request in self._query_done(engine, qi):
            yield request
        await self._pause(run)
        request = self._next_query(run)
        if request is not None:
            yield request

    def _cards(self, qi, engine, query, brand, serp_url, listings, page):
        """Local and call cards: stored apart, their sites followed like ads."""
        for r in listings:
            yield _serp_item(engine, query, brand, serp_url, r, page)
            if self.profile.follow_ads and r.landing_url.startswith(("http://", "https://")):
                yield from self._add_hit(qi, engine, r, serp_url)

    def _unrecognised(self, run: EngineState, qi: int, query: str, reason: str, response):
        """A page the parser does not recognise: kept whole, counted as a warning
        of the run, never read as "no results"; the engine moves on."""
        stats = self.crawler.stats
        stats.inc_value(f"serpwatch/unrecognised/{run.name}")
        self.logger.warning("%s: unrecognised result page for %r: %s", run.name, query, reason)
        yield UnparsedItem(
            engine=run.name,
            kind=run.kind,
            query=query,
            url=self._public_url(run, response.url),
            status=response.status,
            reason=reason,
            body=response.body,
            seen_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        # Not read, so not answered: history takes nothing from this query.
        yield self._outcome(run.name, qi, "failed", f"result page not recognised: {reason}")
        yield from self._query_done(run.name, qi)
        request = self._next_query(run)
        if request is not None:
            yield request

    @staticmethod
    def _public_url(run: EngineState, url: str) -> str:
        """The URL as stored: an engine that carries a key in it (SerpApi) drops the key."""
        public = getattr(run.module, "public_url", None)
        return public(url) if public else url

    def serp_failed(self, failure):
        """An engine request that got no answer: one more try, then the engine moves on."""
        request = failure.request
        kw = request.cb_kwargs
        run = self.engines[kw["engine"]]
        if not isinstance(failure.value, IgnoreRequest):
            retry = get_retry_request(request, spider=self, reason=failure.value, max_retry_times=1)
            if retry is not None:
                return [retry]
        stats = self.crawler.stats
        stats.inc_value(f"serpwatch/serp_failed/{run.name}")
        stats.set_value(
            f"serpwatch/serp_failed_reason/{run.name}",
            f"{failure_kind(failure.value)}: {failure.value}"[:300],
        )
        self.logger.warning("%s: no answer for %r: %s", run.name, kw["query"], failure.value)
        kind = failure_kind(failure.value)
        detail = f"{kind}: {failure.value}"[:300]
        # A query refused by the run's own budget (SERPWATCH_MAX_QUERIES) was never
        # asked: the engine did not fail, and the query covered nothing.
        outcome = "skipped" if kind == "query_budget" else "failed"
        out: list = [self._outcome(run.name, kw["qi"], outcome, detail)]
        out.extend(self._query_done(run.name, kw["qi"]))
        request = self._next_query(run)
        if request is not None:
            out.append(request)
        return out

    # -- blocks and backoff ------------------------------------------------------

    def _backoff(self, run: EngineState, response) -> float | None:
        """Seconds to wait before asking once more, when the engine said so; else None."""
        wait = run.backoff(
            retry_after_seconds(response.headers.get(b"Retry-After")),
            response.meta.get("serpwatch_backoff"),
            self.crawler.settings.getfloat("SERPWATCH_RETRY_AFTER_MAX", 30),
        )
        if wait is not None:
            self.crawler.stats.inc_value(f"serpwatch/backoff/{run.name}")
            self.crawler.stats.inc_value(f"serpwatch/backoff_seconds/{run.name}", wait)
            self.logger.warning(
                "%s: HTTP %d, Retry-After %g s: pausing the engine, then asking once more",
                run.name,
                response.status,
                wait,
            )
        return wait

    async def _pause(self, run: EngineState) -> None:
        """Wait while the engine is backing off (Retry-After)."""
        left = run.pause_left()
        if left > 0:
            await self._sleep(left)

    @staticmethod
    async def _sleep(seconds: float) -> None:
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        await maybe_deferred_to_future(deferLater(reactor, seconds))

    def _block(self, run: EngineState, qi: int, reason: str, response) -> list[scrapy.Request]:
        """Mark the engine blocked for the run; drop its queries; release what waited on it."""
        stats = self.crawler.stats
        stats.inc_value(f"serpwatch/blocked_pages/{run.name}")
        out: list = [self._outcome(run.name, qi, "blocked", reason)]
        out.extend(self._query_done(run.name, qi))
        block = run.block(
            reason,
            retry_after_seconds(response.headers.get(b"Retry-After")),
            response.meta.get("serpwatch_backoff"),
        )
        if block is None:
            return out
        stats.set_value(f"serpwatch/blocked/{run.name}", 1)
        stats.set_value(f"serpwatch/blocked_reason/{run.name}", block.reason)
        stats.set_value(f"serpwatch/queries_dropped/{run.name}", len(block.dropped))
        self.logger.warning(
            "%s blocked us on %r: %s; its %d remaining queries are dropped",
            run.name,
            self.queries[qi][1],
            block.reason,
            len(block.dropped),
        )
        for other in block.dropped:
            out.append(self._outcome(run.name, other, "blocked", f"not asked: {block.reason}"))
            out.extend(self._query_done(run.name, other))
        return out

    def _outcome(self, engine: str, qi: int, outcome: str, detail: str = "") -> QueryOutcome:
        """How query `qi` went on `engine`: stored with the run, read by history."""
        brand, query = self.queries[qi]
        progress = self.progress.get((engine, qi)) or QueryProgress()
        return QueryOutcome(
            engine=engine,
            query=query,
            brand=brand,
            outcome=outcome,
            serp_pages=progress.pages,
            results=progress.results,
            detail=detail,
        )

    # -- merging and landing pages -----------------------------------------------

    def _follow(self, qi: int, engine: str, r, serp_url: str) -> list[scrapy.Request]:
        """A result and its first sitelinks, each followed as the result (issue 16)."""
        out = []
        for target in r.followed():
            if target.landing_url.startswith(("http://", "https://")):
                out.extend(self._add_hit(qi, engine, target, serp_url))
        return out

    def _add_hit(self, qi: int, engine: str, r, serp_url: str) -> list[scrapy.Request]:
        if r.click_url and not r.landing_from and not self.profile.click_ads:
            # The click URL hides its target and the ad names no site: without
            # click_ads nothing is requested (the click would bill the advertiser).
            self.crawler.stats.inc_value("serpwatch/ads_target_unknown")
            return []
        showing = Showing(
            engine=engine,
            is_ad=r.is_ad,
            rank=r.rank,
            ad_position=r.ad_position,
            serp_url=serp_url,
            url=r.url,
            landing_url=r.landing_url,
            title=r.title,
            snippet=r.snippet,
            phones=tuple(r.phones),
            kind=r.kind,
            click_url=r.click_url,
            landing_from=r.landing_from,
            advertiser_name=r.advertiser_name,
            advertiser_location=r.advertiser_location,
        )
        return [self.landing_request(landing) for landing in self.merges.add(qi, showing)]

    def _query_done(self, engine: str, qi: int):
        """This engine is done with query `qi`; when all are, request its landing pages."""
        stats = self.crawler.stats
        for landing in self.merges.done(engine, qi):
            stats.inc_value("serpwatch/landing_pages")
            if landing.merged:
                stats.inc_value("serpwatch/landing_pages_merged")
                stats.inc_value("serpwatch/showings_merged", landing.merged)
            yield self.landing_request(landing)

    def landing_request(self, landing: Landing) -> scrapy.Request:
        brand, query = self.queries[landing.qi]
        best = landing.best
        # A cross-site navigation from the result page, as a browser makes it.
        headers = browser_headers(self.profile.language, self.profile.region)
        headers["Sec-Fetch-Site"] = "cross-site"
        headers["Referer"] = best.serp_url
        # The ad (or card) behind the page: its click string and advertiser.
        ad = next((s for s in landing.showings if s.click_url), None)
        if self.profile.click_ads and ad is not None:
            # click_ads = true: the engine's real click chain, for sites that
            # cloak unless the visit comes from a click. Redirects are recorded.
            url, via = ad.click_url, "click"
        else:
            url, via = best.landing_url, best.landing_from or "link"
        meta = {}
        for run in self.engines.values():
            if _origin(url)[1] == _origin(run.endpoint)[1]:
                # An ad click through the engine's own host is paced like the engine.
                meta = {"download_slot": run.slot, "autothrottle_dont_adjust_delay": True}
        return scrapy.Request(
            url,
            headers=headers,
            callback=self.parse_page,
            errback=self.page_failed,
            # The same site for another query is fetched again, with that
            # query's result page as Referer (cloaking sites check it).
            dont_filter=True,
            meta=meta,
            cb_kwargs={
                "ctx": {
                    "engine": best.engine,
                    "engines": list(landing.engines),
                    "appearances": [s.as_dict() for s in landing.showings],
                    "query": query,
                    "brand": brand,
                    "is_ad": best.is_ad,
                    "rank": best.rank,
                    "ad_position": best.ad_position,
                    "serp_url": best.serp_url,
                    "entry_url": url,
                    "reached_via": via,
                    "click_url": ad.click_url if ad else "",
                    "advertiser_name": ad.advertiser_name if ad else "",
                    "advertiser_location": ad.advertiser_location if ad else "",
                }
            },
        )

    def parse_page(self, response, ctx):
        if response.status >= 400:
            # Only engines' block pages need HTTPERROR_ALLOWED_CODES; for a
            # landing page an error answer is a failure, not the site's page.
            self.crawler.stats.inc_value("serpwatch/pages_failed")
            self.crawler.stats.inc_value(f"serpwatch/pages_failed/http_{response.status}")
            return
        if not isinstance(response, scrapy.http.TextResponse):
            self.crawler.stats.inc_value("serpwatch/pages_not_html")
            return
        yield PageItem(
            url=response.url,
            status=response.status,
            html=response.text,
            body=response.body,
            redirects=list(response.meta.get("redirect_urls", [])),
            headers={
                k.decode("latin-1"): b", ".join(v).decode("latin-1")
                for k, v in response.headers.items()
            },
            request_headers={
                k.decode("latin-1"): b", ".join(v).decode("latin-1")
                for k, v in response.request.headers.items()
            },
            method=response.request.method,
            ip=str(response.ip_address) if response.ip_address else None,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            **ctx,
        )

    def page_failed(self, failure):
        self.crawler.stats.inc_value("serpwatch/pages_failed")
        self.crawler.stats.inc_value(f"serpwatch/pages_failed/{failure_kind(failure.value)}")
        self.logger.info("page failed: %s", failure.value)


def _serp_item(engine: str, query: str, brand, serp_url: str, r, page: int) -> SerpItem:
    """The stored form of one result, ad or card of a result page."""
    return SerpItem(
        engine=engine,
        query=query,
        brand=brand,
        serp_url=serp_url,
        is_ad=r.is_ad,
        title=r.title,
        url=r.url,
        landing_url=r.landing_url,
        rank=r.rank,
        ad_position=r.ad_position,
        display_url=r.display_url,
        snippet=r.snippet,
        phones=list(r.phones),
        page=page,
        kind=r.kind,
        position=r.position,
        click_url=r.click_url,
        landing_from=r.landing_from,
        advertiser_name=r.advertiser_name,
        advertiser_location=r.advertiser_location,
        advertiser_url=r.advertiser_url,
        address=r.address,
    )
