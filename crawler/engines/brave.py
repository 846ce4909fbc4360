"""Brave Search API (``api.search.brave.com/res/v1/web/search``), JSON.

The key comes from the environment variable ``BRAVE_API_KEY`` and travels in
the ``X-Subscription-Token`` header. The API returns no ads. Errors come as
``{"type": "ErrorResponse", "error": {...}}``; rate limits as HTTP 429; both
are reported as blocked, never as an empty result page.
"""

from __future__ import annotations

import os

from w3lib.url import add_or_replace_parameters

from crawler.engines.base import SearchRequest, SerpPage, SerpResult, settle
from crawler.engines.common import (
    BLOCK_STATUSES,
    DEFAULT_REGION,
    clean,
    find_phones,
    is_http_url,
    query_param,
    strip_html,
)
from crawler.engines.parts import json_answer
from crawler.net.headers import json_headers

KIND = "brave"
ENDPOINT = "https://api.search.brave.com/res/v1/web/search"
# The page URL assumed when a saved page comes without one (`serp parse`).
API_KEY_ENV = "BRAVE_API_KEY"
PAGE_SIZE = 20  # the API's maximum `count`
MAX_OFFSET = 9  # the API's maximum `offset` (in pages)


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
        "q": query,
        "country": region.upper(),
        "search_lang": language.lower(),
        "count": str(PAGE_SIZE),
        "offset": str(min(page - 1, MAX_OFFSET)),
        "safesearch": "off",
        "extra_snippets": "true",
    }
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    headers = json_headers(language, region)
    headers["Accept-Encoding"] = "gzip"
    key = os.environ.get(API_KEY_ENV, "")
    if key:
        headers["X-Subscription-Token"] = key
    return SearchRequest(url=url, headers=headers)


def _error(data: dict, status: int) -> str:
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    code = error.get("code") or data.get("type") or "error"
    detail = error.get("detail") or ""
    return clean(f"HTTP {status} {code}: {detail}")


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a Brave Search API answer. Pure: no network, no Scrapy."""
    data, refused = json_answer(body, status, KIND)
    if refused:
        return refused
    # The API's own error answer (a bad token, a quota) refuses us; a bare error
    # status only when it is a block status (else the request failed: the spider).
    if status in BLOCK_STATUSES or data.get("type") == "ErrorResponse":
        return SerpPage(results=[], blocked=_error(data, status), engine=KIND)
    region = region or (query_param(url, "country") or DEFAULT_REGION).upper()
    if region == "ALL":
        region = DEFAULT_REGION
    try:
        offset = int(query_param(url, "offset") or 0)
        count = int(query_param(url, "count") or PAGE_SIZE)
    except ValueError:
        offset, count = 0, PAGE_SIZE
    rank = rank_offset if rank_offset is not None else offset * count
    web = data.get("web") if isinstance(data.get("web"), dict) else {}
    results = []
    for item in web.get("results") or []:
        if not isinstance(item, dict) or not is_http_url(item.get("url")):
            continue
        title = strip_html(item.get("title"))
        snippet = strip_html(item.get("description"))
        extra = " ".join(strip_html(s) for s in item.get("extra_snippets") or [])
        meta = item.get("meta_url") if isinstance(item.get("meta_url"), dict) else {}
        display = clean(
            f"{meta.get('hostname') or meta.get('netloc') or ''} {meta.get('path') or ''}"
        )
        rank += 1
        results.append(
            SerpResult(
                is_ad=False,
                rank=rank,
                title=title,
                url=item["url"],
                landing_url=item["url"],
                display_url=display,
                snippet=snippet,
                phones=find_phones(f"{title}\n{snippet}\n{extra}", region),
            )
        )
    page = SerpPage(results=results, engine=KIND)
    query = data.get("query") if isinstance(data.get("query"), dict) else {}
    if results and query.get("more_results_available") and offset < MAX_OFFSET:
        page.next_url = add_or_replace_parameters(url, {"offset": str(offset + 1)})
    # An answer without web results is "no results" only when it is a search answer.
    return settle(
        page,
        found_markers='"web": {"results": [...]}',
        no_results=data.get("type") == "search" and bool(query),
        no_results_markers='"type": "search" with a "query"',
    )
