"""SerpApi (``serpapi.com/search.json``), for organisations that cannot crawl the
engines themselves: Google's organic results, ads and local results as JSON,
over plain HTTP (the crawl's own downloader, pacing and proxy; the official
``serpapi`` client would bypass them).

The key comes from the environment variable ``SERPAPI_API_KEY`` and travels as
the ``api_key`` parameter, as SerpApi requires; `public_url` drops it from
every URL that is stored or shown. ``organic_results`` are organic results;
``ads`` are ads, their ``tracking_link`` the raw click string and ``link`` the
landing page (a ``link`` that is itself a click URL is decoded, or replaced by
the display URL); ``local_results`` (``places`` or a list) and ads with a
``phone`` are cards of kind "local" and "call". An ``error`` is a block,
except SerpApi's own "hasn't returned any results", which is "no results".
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import add_or_replace_parameters

from crawler.engines.base import SearchRequest, SerpPage, SerpResult, settle
from crawler.engines.common import (
    BLOCK_STATUSES,
    ad_target,
    find_phones,
    is_http_url,
    query_param,
    strip_html,
)
from crawler.engines.parts import json_answer
from crawler.net.headers import json_headers

KIND = "serpapi"
ENDPOINT = "https://serpapi.com/search.json"
API_KEY_ENV = "SERPAPI_API_KEY"
PAGE_SIZE = 10
_NO_RESULTS_ERRORS = ("hasn't returned any results", "has not returned any results")


def build_request(
    query: str,
    *,
    language: str = "nl",
    region: str = "NL",
    page: int = 1,
    base_url: str | None = None,
) -> SearchRequest:
    """The search request for one result page (``page`` is 1-based)."""
    params = {
        "engine": "google",
        "q": query,
        "hl": language.lower(),
        "gl": region.lower(),
        "google_domain": f"google.{region.lower()}" if region.upper() != "US" else "google.com",
        "num": str(PAGE_SIZE),
    }
    if page > 1:
        params["start"] = str((page - 1) * PAGE_SIZE)
    key = os.environ.get(API_KEY_ENV, "")
    if key:
        params["api_key"] = key
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    return SearchRequest(url=url, headers=json_headers(language, region))


def public_url(url: str) -> str:
    """The URL without the API key, for storage, logs and exports."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api_key"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str:
    return strip_html(value) if isinstance(value, str) else ""


def _organic(item: dict, rank: int, region: str) -> SerpResult | None:
    link = item.get("link")
    if not is_http_url(link):
        return None
    title, snippet = _text(item.get("title")), _text(item.get("snippet"))
    return SerpResult(
        is_ad=False,
        rank=rank,
        title=title,
        url=link,
        landing_url=link,
        display_url=_text(item.get("displayed_link")),
        snippet=snippet,
        phones=find_phones([title, snippet], region),
    )


def _ad(item: dict, position: int, page_url: str, region: str) -> SerpResult | None:
    link = item.get("link") if is_http_url(item.get("link")) else ""
    tracking = item.get("tracking_link") if is_http_url(item.get("tracking_link")) else ""
    display = _text(item.get("displayed_link")) or _text(item.get("domain"))
    if not (link or tracking):
        return None
    landing, landing_from, click = ad_target(link or tracking, page_url, display)
    if landing_from == "link":
        landing_from = "decoded" if tracking else "link"  # SerpApi decoded it for us
    title = _text(item.get("title"))
    snippet = _text(item.get("description") or item.get("snippet"))
    phone = _text(item.get("phone"))
    return SerpResult(
        is_ad=True,
        ad_position=position,
        title=title,
        url=link or tracking,
        landing_url=landing,
        landing_from=landing_from,
        click_url=tracking or click,
        display_url=display,
        snippet=snippet,
        phones=find_phones([title, snippet, phone], region),
        advertiser_name=_text(item.get("advertiser")),
    )


def _places(data: dict) -> list[dict]:
    local = data.get("local_results")
    if isinstance(local, dict):
        local = local.get("places")
    return [p for p in local or [] if isinstance(p, dict)]


def _local(place: dict, position: int, region: str) -> SerpResult | None:
    phones = find_phones([_text(place.get("phone"))], region)
    if not phones:
        return None
    links = place.get("links") if isinstance(place.get("links"), dict) else {}
    website = place.get("website") or links.get("website") or ""
    website = website if is_http_url(website) else ""
    return SerpResult(
        is_ad=False,
        kind="local",
        position=position,
        title=_text(place.get("title")),
        url=website,
        landing_url=website,
        landing_from="link" if website else "",
        display_url=urlsplit(website).hostname or "" if website else "",
        snippet=_text(place.get("type")),
        phones=phones,
        address=_text(place.get("address")),
    )


def _results(data: dict, rank: int, url: str, region: str) -> list[SerpResult]:
    """Top ads, organic results, bottom ads: the order the page showed them."""
    results: list[SerpResult] = []
    ads = [a for a in data.get("ads") or [] if isinstance(a, dict)]
    top = [a for a in ads if a.get("block_position") != "bottom"]
    bottom = [a for a in ads if a.get("block_position") == "bottom"]
    organic = [o for o in data.get("organic_results") or [] if isinstance(o, dict)]
    for item in top:
        ad = _ad(item, sum(r.is_ad for r in results) + 1, url, region)
        if ad is not None:
            results.append(ad)
    for item in organic:
        result = _organic(item, rank + 1, region)
        if result is not None:
            rank += 1
            results.append(result)
    for item in bottom:
        ad = _ad(item, sum(r.is_ad for r in results) + 1, url, region)
        if ad is not None:
            results.append(ad)
    return results


def _listings(data: dict, results: list[SerpResult], region: str) -> list[SerpResult]:
    """Local results (kind "local"), then ads that show a phone number (kind "call")."""
    listings: list[SerpResult] = []
    for place in _places(data):
        found = _local(place, len(listings) + 1, region)
        if found is not None:
            listings.append(found)
    for ad in (r for r in results if r.is_ad and r.phones):
        listings.append(
            SerpResult(
                is_ad=False,
                kind="call",
                position=len(listings) + 1,
                title=ad.title,
                url=ad.url,
                landing_url=ad.landing_url,
                landing_from=ad.landing_from,
                click_url=ad.click_url,
                display_url=ad.display_url,
                snippet=ad.snippet,
                phones=list(ad.phones),
                advertiser_name=ad.advertiser_name,
            )
        )
    return listings


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a SerpApi Google answer. Pure: no network, no Scrapy."""
    data, refused = json_answer(body, status, KIND)
    if refused:
        return refused
    error = _text(data.get("error"))
    if error and any(m in error.lower() for m in _NO_RESULTS_ERRORS):
        return SerpPage(results=[], no_results=True, engine=KIND)
    if error or status in BLOCK_STATUSES:  # other error statuses: a failed request
        return SerpPage(results=[], blocked=f"HTTP {status}: {error or 'error'}", engine=KIND)
    region = region or (query_param(url, "gl") or "NL").upper()
    try:
        start = int(query_param(url, "start") or 0)
    except ValueError:
        start = 0
    rank = rank_offset if rank_offset is not None else start
    results = _results(data, rank, url, region)
    rank += sum(1 for r in results if not r.is_ad)
    page = SerpPage(results=results, engine=KIND, listings=_listings(data, results, region))
    pagination = data.get("serpapi_pagination") or data.get("pagination") or {}
    if isinstance(pagination, dict) and pagination.get("next") and rank > start:
        page.next_url = add_or_replace_parameters(url, {"start": str(start + PAGE_SIZE)})
    metadata = _dict(data.get("search_metadata"))
    info = _dict(data.get("search_information"))
    return settle(
        page,
        found_markers='"organic_results", "ads" or "local_results"',
        no_results=metadata.get("status") == "Success"
        and info.get("organic_results_state") == "Fully empty",
        no_results_markers='"organic_results_state": "Fully empty", '
        'or the error "Google hasn\'t returned any results"',
    )
