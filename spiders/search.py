"""The search spider: runs the profile's queries on its engines, follows results and ads.

It only builds requests, paginates and yields. Parsing is done by
`crawler.engines`, everything after the fetch by the pipelines, and the rules
by pure modules: crawler/engine_state.py (each engine's queue, delay,
Retry-After pause and block), crawler/paging.py (a query's result pages and
what to follow), crawler/merge.py (landing pages merged across engines per
query) and crawler/landing.py (what a landing request carries).

Reads the spider argument `profile` (a profile TOML or a loaded `Profile`) and
the settings SERPWATCH_ENGINE_DELAY (one delay for every engine),
SERPWATCH_ENGINE_DELAYS (per kind, when the profile gives no `delay`),
SERPWATCH_ENGINE_CONCURRENCY, SERPWATCH_MAX_SERP_PAGES and SERPWATCH_RETRY_AFTER_MAX.

Request meta keys it sets: `serpwatch_trusted` (an engine request, checked
by crawler.net.netguard), `serpwatch_progress` (how far the query got, for the
next page), `serpwatch_backoff` (the Retry-After waited once), on an engine
request `serpwatch_query` (crawler.paging.SerpQuery) and, on a landing
request, `serpwatch_landing` (crawler.landing.LandingContext). Callback
arguments (`cb_kwargs`) are for the spider's own callbacks only.
"""

from __future__ import annotations

from datetime import UTC, datetime

import scrapy
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest

from crawler import stats_keys, testhook
from crawler.config import load_profile
from crawler.engine_state import EngineState, engine_slots, engine_states
from crawler.items import RelatedItem, SerpItem, UnparsedItem
from crawler.landing import LANDING_META, landing_context, landing_headers, page_item
from crawler.merge import Landing, QueryMerges, Showing, merge_key, with_sitelinks
from crawler.net.limits import failed_query, failure_kind, retry_after_seconds
from crawler.net.middlewares import retry_error_answer
from crawler.paging import SERP_QUERY_META, QueryProgress, SerpQuery, host, same_endpoint
from crawler.wait import sleep_unless

__all__ = ["SearchSpider", "merge_key"]

# Engines are paced by their own delay and blocks by the spider: no AutoThrottle,
# no RetryMiddleware hammering a 429. Every answer reaches the parser, which tells
# a block from a page.
ENGINE_META = {
    "serpwatch_trusted": True,
    "autothrottle_dont_adjust_delay": True,
    "dont_retry": True,
    "handle_httpstatus_list": list(range(400, 600)),
}


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
        self.engines: dict[str, EngineState] = engine_states(self.profile.engines, self.queries)
        self.progress: dict[tuple[str, int], QueryProgress] = {}
        self.merges = QueryMerges(list(self.engines), len(self.queries))
        self.lanes = 1

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        """Delays and one download slot per engine (DOWNLOAD_SLOTS), before the crawl starts."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        testhook.point("spider.created")  # inside process.crawl: a start-up signal's test
        settings = crawler.settings
        spider.lanes = max(1, settings.getint("SERPWATCH_ENGINE_CONCURRENCY", 1))
        slots = engine_slots(
            spider.engines,
            spider.profile.engines,
            override=settings.get("SERPWATCH_ENGINE_DELAY"),
            defaults=settings.getdict("SERPWATCH_ENGINE_DELAYS"),
            fallback=settings.getfloat("DOWNLOAD_DELAY"),
            lanes=spider.lanes,
            slots=settings.getdict("DOWNLOAD_SLOTS"),
        )
        priority = max(settings.getpriority("DOWNLOAD_SLOTS") or 0, 30)  # at least "spider"
        settings.set("DOWNLOAD_SLOTS", slots, priority=priority)
        return spider

    # -- engine requests ---------------------------------------------------------

    async def start(self):
        self.crawler.stats.set_value(stats_keys.ENGINES, list(self.engines))
        self.crawler.stats.set_value(stats_keys.QUERIES, len(self.queries))
        for run in self.engines.values():
            line = "%s: %d queries, %.1f s apart, %d at a time"
            self.logger.info(line, run.name, len(run.queue), run.delay, self.lanes)
            for _ in range(self.lanes):
                for request in self._next_query(run):
                    yield request

    def _next_query(self, run: EngineState) -> list[scrapy.Request]:
        qi = run.next_query()
        return [] if qi is None else [self.serp_request(run, qi, page=1)]

    def serp_request(self, run: EngineState, qi: int, page: int, url: str | None = None):
        """The request for result page `page`; `url` is the page's own next link (or the
        URL asked before) when it stays on the configured endpoint."""
        brand, query = self.queries[qi]
        req = run.search_request(query, page, self.profile.language, self.profile.region)
        headers = dict(req.headers)
        before = self.progress.get((run.name, qi))
        if page > 1 and "Referer" in headers and before is not None and before.last_url:
            headers["Referer"] = before.last_url  # the page we were on, not the one built
        return scrapy.Request(
            url if url and same_endpoint(url, run.endpoint) else req.url,
            method=req.method,
            headers=headers,
            body=req.body,
            callback=self.parse_serp,
            errback=self.serp_failed,
            dont_filter=True,
            meta={
                **ENGINE_META,
                "download_slot": run.slot,
                SERP_QUERY_META: SerpQuery(run.name, query, page),
            }
            | ({"serpwatch_progress": before} if before is not None else {}),
            cb_kwargs={"engine": run.name, "brand": brand, "query": query, "qi": qi, "page": page},
        )

    async def parse_serp(self, response, engine, brand, query, qi, page):
        run = self.engines[engine]
        # A later page carries how far its query got: in distributed mode
        # (crawler/distributed.py) another worker may have parsed the page before.
        progress = response.meta.get("serpwatch_progress") or self.progress.get((engine, qi))
        progress = self.progress[(engine, qi)] = progress or QueryProgress()
        result = run.module.parse(
            response.body,
            response.url,
            response.status,
            region=self.profile.region,
            rank_offset=progress.offset,
        )
        if result.blocked:
            for out in await self._blocked(run, qi, page, result.blocked, response):
                yield out
            return
        if response.status >= 400 and not (result.results or result.listings):
            # An error answer, no block page: a 5xx may pass (asked again), a 404 won't.
            again = retry_error_answer(self, response)
            for out in again or self._failed(run, qi, query, f"HTTP {response.status}"):
                yield out
            return
        if result.unrecognised:
            for out in self._unrecognised(run, qi, query, result.unrecognised, response):
                yield out
            return

        stats = self.crawler.stats
        stats.inc_value(stats_keys.SERP_PAGES.total)
        # Related searches and "people also ask" (often none): for `queries suggest`.
        yield RelatedItem(engine, query, response.url, list(result.related))
        stats.inc_value(stats_keys.SERP_PAGES(engine))
        stats.inc_value(stats_keys.RESULTS(engine), len(result.results))
        stats.inc_value(stats_keys.LISTINGS(engine), len(result.listings))
        serp_url = run.public_url(response.url)
        shown = dict(engine=engine, query=query, brand=brand, serp_url=serp_url, page=page)
        # Local and call cards are stored apart (their kind says so).
        for r in (*result.listings, *result.results):
            yield SerpItem.from_result(r, **shown)
        cards = [Showing.from_result(engine, serp_url, r) for r in result.listings]
        showings = [Showing.from_result(engine, serp_url, r) for r in result.results]
        limit = self.profile.results_per_query
        follow, new = progress.take_page(showings, limit, self.profile.follow_ads, cards)
        follow = with_sitelinks(follow, showings, result.results)  # followed as their result
        progress.last_url = response.url
        for showing in follow:  # kept for the merge, or a straggler's request (concurrency > 1)
            for request in self._add_hit(qi, showing):
                yield request

        max_pages = self.crawler.settings.getint("SERPWATCH_MAX_SERP_PAGES", 10)
        if not run.is_blocked() and progress.wants_next(
            result.next_url, new, limit, page, max_pages
        ):
            await self._pause(run)
            yield self.serp_request(run, qi, page + 1, url=result.next_url)
            return
        for out in self._finish(run, qi, "answered"):
            yield out
        await self._pause(run)
        for request in self._next_query(run):
            yield request

    def _finish(self, run: EngineState, qi: int, outcome: str, detail: str = "") -> list:
        """Query `qi` is over on this engine: its outcome (stored with the run, read by
        history), and its landing pages once every engine is done with it."""
        brand, query = self.queries[qi]
        progress = self.progress.get((run.name, qi)) or QueryProgress()
        out: list = [progress.outcome(run.name, brand, query, outcome, detail)]
        stats = self.crawler.stats
        for landing in self.merges.done(run.name, qi):
            stats.inc_value(stats_keys.LANDING_PAGES)
            if landing.merged:
                stats.inc_value(stats_keys.LANDING_PAGES_MERGED)
                stats.inc_value(stats_keys.SHOWINGS_MERGED, landing.merged)
            out.append(self.landing_request(landing))
        return out

    def _unrecognised(self, run: EngineState, qi: int, query: str, reason: str, response):
        """A page the parser does not recognise: kept whole, counted as a warning
        of the run, never read as "no results"; the engine moves on."""
        self.crawler.stats.inc_value(stats_keys.UNRECOGNISED(run.name))
        self.logger.warning("%s: unrecognised result page for %r: %s", run.name, query, reason)
        yield UnparsedItem(
            engine=run.name,
            kind=run.kind,
            query=query,
            url=run.public_url(response.url),
            status=response.status,
            reason=reason,
            body=response.body,
            seen_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        # Not read, so not answered: history takes nothing from this query.
        yield from self._finish(run, qi, "failed", f"result page not recognised: {reason}")
        yield from self._next_query(run)

    def serp_failed(self, failure):
        """An engine request that got no answer: one more try, then the engine moves on."""
        kw = failure.request.cb_kwargs
        run = self.engines[kw["engine"]]
        if failure_kind(failure.value) == "engine_blocked":
            return self._not_asked(run, kw["qi"])
        if not isinstance(failure.value, IgnoreRequest):
            retry = get_retry_request(
                failure.request, spider=self, reason=failure.value, max_retry_times=1
            )
            if retry is not None:
                return [retry]
        outcome, detail = failed_query(failure.value)
        return self._failed(run, kw["qi"], kw["query"], detail, outcome)

    def _failed(self, run: EngineState, qi: int, query: str, detail: str, outcome="failed"):
        """A result page that got no answer, or an error answer: the query is over."""
        stats = self.crawler.stats
        stats.inc_value(stats_keys.SERP_FAILED(run.name))
        stats.set_value(stats_keys.SERP_FAILED_REASON(run.name), detail)
        self.logger.warning("%s: no answer for %r: %s", run.name, query, detail)
        return self._finish(run, qi, outcome, detail) + self._next_query(run)

    # -- blocks and backoff (the rules: crawler/engine_state.py) -----------------

    def _not_asked(self, run: EngineState, qi: int) -> list:
        """A query of an engine another worker found blocked (distributed mode): not asked.

        The same record as a single crawl's dropped queries (`_blocked`).
        """
        self.crawler.stats.inc_value(stats_keys.QUERIES_DROPPED(run.name))
        return self._finish(run, qi, "blocked", f"not asked: {run.blocked}")

    async def _blocked(self, run: EngineState, qi: int, page: int, reason: str, response):
        """A block page: ask once more after a short Retry-After, else block the engine."""
        retry_after = retry_after_seconds(response.headers.get(b"Retry-After"))
        waited = response.meta.get("serpwatch_backoff")
        cap = self.crawler.settings.getfloat("SERPWATCH_RETRY_AFTER_MAX", 30)
        stats = self.crawler.stats
        wait = run.backoff(retry_after, waited, cap)
        if wait is not None:
            stats.inc_value(stats_keys.BACKOFF(run.name))
            stats.inc_value(stats_keys.BACKOFF_SECONDS(run.name), wait)
            line = "%s: HTTP %d, Retry-After %g s: pausing the engine, then asking once more"
            self.logger.warning(line, run.name, response.status, wait)
            await self._pause(run)
            first_url = (response.meta.get("redirect_urls") or [response.url])[0]
            retry = self.serp_request(run, qi, page, url=first_url)
            retry.meta["serpwatch_backoff"] = wait
            return [retry]
        stats.inc_value(stats_keys.BLOCKED_PAGES(run.name))
        out = self._finish(run, qi, "blocked", reason)
        block = run.block(reason, retry_after, waited)
        if block is None:
            return out
        stats.set_value(stats_keys.BLOCKED(run.name), 1)
        stats.set_value(stats_keys.BLOCKED_REASON(run.name), block.reason)
        stats.set_value(stats_keys.QUERIES_DROPPED(run.name), len(block.dropped))
        line = "%s blocked us on %r: %s; its %d remaining queries are dropped"
        self.logger.warning(line, run.name, self.queries[qi][1], block.reason, len(block.dropped))
        for other in block.dropped:
            out.extend(self._finish(run, other, "blocked", f"not asked: {block.reason}"))
        return out

    async def _pause(self, run: EngineState) -> None:
        """Wait while the engine is backing off (Retry-After)."""
        left = run.pause_left()
        if left > 0:
            await self._sleep(left)

    async def _sleep(self, seconds: float) -> None:  # tests, the distributed limit wait here
        await sleep_unless(seconds, lambda: not self.crawler.crawling)  # not once stopping

    # -- landing pages -------------------------------------------------------------

    def _add_hit(self, qi: int, showing: Showing) -> list[scrapy.Request]:
        if showing.click_url and not showing.landing_from and not self.profile.click_ads:
            # The click URL hides its target and the ad names no site: without
            # click_ads nothing is requested (the click would bill the advertiser).
            self.crawler.stats.inc_value(stats_keys.ADS_TARGET_UNKNOWN)
            return []
        return [self.landing_request(landing) for landing in self.merges.add(qi, showing)]

    def landing_request(self, landing: Landing) -> scrapy.Request:
        brand, query = self.queries[landing.qi]
        ctx = landing_context(landing, brand, query, click_ads=self.profile.click_ads)
        meta: dict = {LANDING_META: ctx}
        for run in self.engines.values():
            if host(ctx.entry_url) == host(run.endpoint):
                # An ad click through the engine's own host is paced like the engine.
                meta.update({"download_slot": run.slot, "autothrottle_dont_adjust_delay": True})
        return scrapy.Request(
            ctx.entry_url,
            headers=landing_headers(ctx, self.profile.language, self.profile.region),
            callback=self.parse_page,
            errback=self.page_failed,
            # The same site for another query is fetched again, with that
            # query's result page as Referer.
            dont_filter=True,
            meta=meta,
        )

    def parse_page(self, response):
        if response.status >= 400:
            # Only engines' block pages need HTTPERROR_ALLOWED_CODES; for a
            # landing page an error answer is a failure, not the site's page.
            self.crawler.stats.inc_value(stats_keys.PAGES_FAILED.total)
            self.crawler.stats.inc_value(stats_keys.PAGES_FAILED(f"http_{response.status}"))
            return
        if not isinstance(response, scrapy.http.TextResponse):
            self.crawler.stats.inc_value(stats_keys.PAGES_NOT_HTML)
            return
        yield page_item(response)

    def page_failed(self, failure):
        self.crawler.stats.inc_value(stats_keys.PAGES_FAILED.total)
        self.crawler.stats.inc_value(stats_keys.PAGES_FAILED(failure_kind(failure.value)))
        self.logger.info("page failed: %s", failure.value)
