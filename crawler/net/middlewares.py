"""Downloader middlewares that keep a crawl of hostile pages safe and bounded.

Enabled in `crawler.settings.DOWNLOADER_MIDDLEWARES`; docs/SECURITY.md has the
threat model. Each refusal raises `crawler.net.netguard.RefusedRequest` (an
IgnoreRequest: never retried) and counts `serpwatch/refused/<why>` in the
run's stats.

- `NetGuardMiddleware` (SERPWATCH_ALLOW_PRIVATE, SERPWATCH_TRUSTED_HOSTS):
  the SSRF guard before any connection: only http and https; no literal
  non-public address in any form, no internal names, for every request that
  is not an engine request to a configured engine endpoint (results,
  redirects and meta refreshes all pass through here).
- `DownloadOfferMiddleware`: executables and archives (by name, type,
  attachment, first bytes) are stopped before their body is read, counted
  as `serpwatch/offered_downloads` and sent as the signal
  `crawler.run_recorder.OFFERED_DOWNLOAD`, which records them with the run
  (SERPWATCH_MAX_OFFERS_LISTED per run).
- `CrawlBudgetMiddleware` (SERPWATCH_MAX_PAGES_PER_SITE, SERPWATCH_MAX_QUERIES):
  requests per registrable domain and distinct queries per run.
- `HostilePageMiddleware` (SERPWATCH_MAX_NESTING): pages nested so deep
  that HTML parsing would take minutes, or with more than
  `crawler.net.limits.MAX_TAGS` tags, are refused.
- `RetryAfterMiddleware` (RETRY_*, SERPWATCH_RETRY_AFTER_MAX): Scrapy's
  retry, honouring Retry-After on 429 and 503 up to a cap. Engine requests
  skip it (`dont_retry`): their parser tells a block page first, and the
  search spider asks `retry_error_answer` for an error answer that is none.
- `DecompressionMiddleware`: Scrapy's HttpCompressionMiddleware, which
  enforces DOWNLOAD_MAXSIZE after decompression (gzip, deflate, br, zstd),
  with the refusal counted.
- `OfflineCookiesMiddleware`: Scrapy's cookies middleware with tldextract
  on its bundled suffix list (Scrapy's own instance would fetch it).
"""

from __future__ import annotations

import logging
from collections import Counter

import tldextract
from scrapy import signals
from scrapy.downloadermiddlewares import cookies as scrapy_cookies
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import TextResponse
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message

from crawler import stats_keys
from crawler.domains import registrable_domain
from crawler.landing import LANDING_META, LandingContext
from crawler.net.limits import (
    MAX_TAGS,
    download_kind,
    heals,
    nesting_depth,
    retry_after_seconds,
    url_download_kind,
)
from crawler.net.netguard import NetGuard, RefusedRequest
from crawler.paging import SERP_QUERY_META, SerpQuery
from crawler.run_recorder import OFFERED_DOWNLOAD, OfferedDownload
from crawler.wait import sleep

logger = logging.getLogger(__name__)

# Scrapy's cookies middleware splits cookie domains with a TLDExtract that
# fetches the Public Suffix List on first use; ours never fetches.
scrapy_cookies._split_domain = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


def _refuse(crawler, request, reason: str, stat: str) -> RefusedRequest:
    crawler.stats.inc_value(stats_keys.REFUSED.total)
    crawler.stats.inc_value(stats_keys.REFUSED(stat))
    logger.info("refused %s: %s", request.url, reason)
    return RefusedRequest(request.url, reason, stat=stat)


def _is_first_attempt(request) -> bool:
    return not request.meta.get("retry_times")


class NetGuardMiddleware:
    """Refuses URLs from pages that point inside our network or use other schemes."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        guard = NetGuard.for_crawler(self.crawler)
        problem = guard.check_request(request)
        if problem:
            stat = "scheme" if problem.startswith("scheme") else "address"
            raise _refuse(self.crawler, request, problem, stat)
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, RefusedRequest) and exception.stat == "connection":
            # Refused by the resolver or the pool's peer check (crawler.net.resolver).
            self.crawler.stats.inc_value(stats_keys.REFUSED.total)
            self.crawler.stats.inc_value(stats_keys.REFUSED("connection"))
            logger.info("refused %s: %s", request.url, exception.reason)
        return None


class DownloadOfferMiddleware:
    """Executables and archives are recorded as offered downloads, never fetched whole."""

    def __init__(self, crawler):
        self.crawler = crawler
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _watched(self, request) -> bool:
        return not NetGuard.for_crawler(self.crawler).is_trusted(request)

    def process_request(self, request):
        if not self._watched(request):
            return None
        found = url_download_kind(request.url)
        if found:
            raise self._record(request, None, *found)
        return None

    def headers_received(self, headers, body_length, request, spider=None):
        if not self._watched(request):
            return
        request.meta["_serpwatch_encoded"] = bool(headers.get(b"Content-Encoding"))
        found = download_kind(request.url, headers)
        if found:
            request.meta["_serpwatch_offer"] = found
            raise StopDownload(fail=False)

    def bytes_received(self, data, request, spider=None):
        if request.meta.get("_serpwatch_sniffed") or not self._watched(request):
            return
        request.meta["_serpwatch_sniffed"] = True
        # The first chunk only: enough for every magic number we know.
        encoded = {"Content-Encoding": "yes"} if request.meta.get("_serpwatch_encoded") else {}
        found = download_kind(request.url, encoded, data[:64])
        if found:
            request.meta["_serpwatch_offer"] = found
            raise StopDownload(fail=False)

    @staticmethod
    def _forget(request):
        for key in ("_serpwatch_sniffed", "_serpwatch_encoded"):
            request.meta.pop(key, None)
        return request.meta.pop("_serpwatch_offer", None)

    def process_exception(self, request, exception):
        self._forget(request)
        return None

    def process_response(self, request, response):
        offer = self._forget(request)
        if offer is None:
            return response
        if 300 <= response.status < 400:
            return response  # a redirect: where it leads is checked on its own
        raise self._record(request, response, *offer)

    def _record(self, request, response, kind: str, reason: str) -> RefusedRequest:
        stats = self.crawler.stats
        stats.inc_value(stats_keys.OFFERED_DOWNLOADS.total)
        stats.inc_value(stats_keys.OFFERED_DOWNLOADS(kind))
        # The result behind the request, when it is a landing page (crawler.landing).
        ctx: LandingContext | None = request.meta.get(LANDING_META)
        ctype = response.headers.get(b"Content-Type") if response is not None else None
        offer = OfferedDownload(
            url=request.url,
            entry_url=ctx.entry_url if ctx else request.url,
            domain=registrable_domain(request.url),
            kind=kind,
            reason=reason,
            content_type=ctype.decode("latin-1") if ctype else "",
            status=response.status if response is not None else None,
            engine=ctx.engine if ctx else None,
            query=ctx.query if ctx else None,
            brand=ctx.brand if ctx else None,
            is_ad=ctx.is_ad if ctx else None,
            serp_url=ctx.serp_url if ctx else None,
        )
        # Recorded with the run by crawler.run_recorder.RunRecorder.
        self.crawler.signals.send_catch_log(OFFERED_DOWNLOAD, offer=offer)
        logger.info("offered a download at %s: %s (%s); not stored", request.url, kind, reason)
        return RefusedRequest(request.url, f"offered a download: {reason}", stat="download")


class CrawlBudgetMiddleware:
    """Caps requests per registrable domain and distinct queries per run."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.max_per_site = settings.getint("SERPWATCH_MAX_PAGES_PER_SITE")
        self.max_queries = settings.getint("SERPWATCH_MAX_QUERIES")
        self.per_site: Counter[str] = Counter()
        self.queries: set = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        if not _is_first_attempt(request) or request.meta.get("playwright"):
            return None  # a render revisits a page: bounded by the render budget
        if NetGuard.for_crawler(self.crawler).is_trusted(request):
            return self._count_query(request)
        if not self.max_per_site:
            return None
        site = registrable_domain(urlparse_cached(request).hostname or "")
        if self.per_site[site] >= self.max_per_site:
            raise _refuse(
                self.crawler,
                request,
                f"{site} already had {self.max_per_site} requests this run"
                " (SERPWATCH_MAX_PAGES_PER_SITE)",
                "site_budget",
            )
        self.per_site[site] += 1
        return None

    def _count_query(self, request):
        if not self.max_queries:
            return None
        # The query the engine request asks (crawler.paging), not the spider's callback
        # arguments; a trusted request without one (a render) is no query.
        asked: SerpQuery | None = request.meta.get(SERP_QUERY_META)
        if asked is None or asked.key in self.queries:
            return None
        query = asked.key
        if len(self.queries) >= self.max_queries:
            raise _refuse(
                self.crawler,
                request,
                f"already {self.max_queries} queries this run (SERPWATCH_MAX_QUERIES)",
                "query_budget",
            )
        self.queries.add(query)
        return None


class HostilePageMiddleware:
    """Refuses pages nested deeper than SERPWATCH_MAX_NESTING (parser time bomb)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.limit = crawler.settings.getint("SERPWATCH_MAX_NESTING")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if not self.limit or not isinstance(response, TextResponse):
            return response
        if NetGuard.for_crawler(self.crawler).is_trusted(request):
            return response
        if response.body.count(b"<") > MAX_TAGS:
            raise _refuse(
                self.crawler, request, f"more than {MAX_TAGS} tags (parser bomb)", "too_many_tags"
            )
        depth = nesting_depth(response.body, self.limit)
        if depth > self.limit:
            raise _refuse(
                self.crawler,
                request,
                f"elements nested more than {self.limit} deep (SERPWATCH_MAX_NESTING)",
                "too_deep",
            )
        return response


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware that waits as long as a 429/503 Retry-After asks.

    A wait longer than SERPWATCH_RETRY_AFTER_MAX seconds is not retried: the
    response goes on (an engine's parser marks it blocked).
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("SERPWATCH_RETRY_AFTER_MAX")

    async def process_response(self, request, response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = None
        if response.status in (429, 503):
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is None:
            return super().process_response(request, response)
        stats = self.crawler.stats
        if wait > self.retry_after_max:
            stats.inc_value(stats_keys.RETRY_AFTER("too_long"))
            logger.warning(
                "%s asks to retry after %.0f s (cap SERPWATCH_RETRY_AFTER_MAX=%.0f); giving up",
                request.url,
                wait,
                self.retry_after_max,
            )
            return response
        retry = self._retry(request, f"{response.status} with Retry-After {wait:g}s")
        if retry is None:
            return response
        stats.inc_value(stats_keys.RETRY_AFTER("waits"))
        stats.inc_value(stats_keys.RETRY_AFTER("seconds"), wait)
        if wait > 0:
            await sleep(wait)
        return retry


def retry_error_answer(spider, response) -> list:
    """Scrapy's retry (RETRY_TIMES) of an engine's error answer that is no block
    page and may pass (`crawler.net.limits.heals`: a 503, not a 404), else nothing."""
    if not heals(response.status, spider.crawler.settings.getlist("RETRY_HTTP_CODES")):
        return []
    reason = response_status_message(response.status)
    retry = get_retry_request(response.request, spider=spider, reason=reason)
    return [] if retry is None else [retry]


class DecompressionMiddleware(HttpCompressionMiddleware):
    """HttpCompressionMiddleware whose decompression-bomb refusals are counted."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if isinstance(exc, RefusedRequest):
                raise
            raise _refuse(
                self.crawler,
                request,
                "larger than DOWNLOAD_MAXSIZE once decompressed",
                "decompressed_too_large",
            ) from exc

    @classmethod
    def from_crawler(cls, crawler):
        mw = super().from_crawler(crawler)
        mw.crawler = crawler
        return mw


class OfflineCookiesMiddleware(CookiesMiddleware):
    """Scrapy's CookiesMiddleware; importing this module makes its tldextract offline."""
