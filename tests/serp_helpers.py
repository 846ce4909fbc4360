"""Views of a parsed result page that only the tests need."""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler.domains import domain_matches
from crawler.engines.base import SerpPage, SerpResult
from crawler.engines.common import _unwrap_once, host_of


def organic(page: SerpPage) -> list[SerpResult]:
    return [r for r in page.results if not r.is_ad]


def ads(page: SerpPage) -> list[SerpResult]:
    return [r for r in page.results if r.is_ad]


def is_tracking_url(url: str) -> bool:
    """True when the URL is still an engine's click-tracking or redirect URL.

    An oracle for the conformance tests, written apart from the parsers' own
    unwrapping so that a parser that stops unwrapping is caught.
    """
    return _unwrap_once(url, "") is not None or (
        domain_matches(host_of(url), ["bing.com", "duckduckgo.com", "googleadservices.com"])
        and urlsplit(url)
        .path.lower()
        .rstrip("/")
        .endswith(("/aclick", "/aclk", "/ck/a", "/l", "/y.js"))
    )
