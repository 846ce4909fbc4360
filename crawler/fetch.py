"""Fetch a list of operator-configured URLs through Scrapy, for the maintainers' commands.

`fetch_all(jobs)` runs `spiders/fetch.py` in this process with the project's
settings, so brand pages and autocomplete endpoints are fetched by the same
downloader as everything else: the guarded download handlers and resolver,
size and time bounds, decompression limits, the offered-download stop and the
standard proxy variables (docs/SECURITY.md). The URLs come from the
operator's own files (a brands file's `source`, a profile's `[suggest]`), so
their endpoints are trusted like engine URLs (SERPWATCH_TRUSTED_HOSTS); where
they redirect to another host, the SSRF guard judges the new one.

Scrapy's reactor runs once per process: call `fetch_all` once per command.
Item pipelines are off (the spider yields no items and opens no run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class FetchJob:
    """One URL to fetch, and what it is for (`key`: the caller's own label)."""

    url: str
    key: tuple = ()
    headers: dict = field(default_factory=dict, hash=False, compare=False)
    slot: str | None = None  # a download slot shared by jobs paced together
    dont_retry: bool = False


@dataclass
class FetchResult:
    """The answer to a job: status, headers and body as received, or the error."""

    job: FetchJob
    url: str  # the final URL, after redirects
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    redirects: list[str] = field(default_factory=list)  # the URLs before `url`
    ip: str | None = None
    error: str | None = None
    fetched_at: str = ""

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")


def _trusted(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def fetch_all(
    jobs: list[FetchJob],
    *,
    slots: dict[str, float] | None = None,
    overrides: dict | None = None,
) -> list[FetchResult]:
    """Fetch every job once; one FetchResult per job, in the order they finished.

    `slots` gives a delay in seconds per download slot (one request at a time
    in each); jobs without a slot are paced per host by AutoThrottle.
    """
    from scrapy.crawler import CrawlerProcess

    from crawler.crawl import build_settings
    from spiders.fetch import FetchSpider

    if not jobs:
        return []
    settings = {
        "ITEM_PIPELINES": {},
        "LOG_LEVEL": "WARNING",
        "SERPWATCH_TRUSTED_HOSTS": sorted({_trusted(j.url) for j in jobs}),
        "DOWNLOAD_SLOTS": {
            name: {"concurrency": 1, "delay": delay} for name, delay in (slots or {}).items()
        },
        # A few pages per site, from the operator's own list: no head start needed.
        "AUTOTHROTTLE_START_DELAY": 0,
    }
    settings.update(overrides or {})
    sink: list[FetchResult] = []
    process = CrawlerProcess(build_settings(":memory:", settings))
    process.crawl(FetchSpider, jobs=jobs, sink=sink)
    process.start()
    return sink
