"""SearXNG (JSON API, ``format=json``): a metasearch instance the operator runs.

SearXNG has no ads. When every upstream engine failed (CAPTCHA, access denied,
too many requests), SearXNG answers with an empty result list and names them
in ``unresponsive_engines``: that page is blocked, not "no results". JSON must
be enabled in the instance's ``settings.yml`` (``search.formats``); otherwise
it answers 403.
"""

from __future__ import annotations

from w3lib.url import add_or_replace_parameters

from crawler.engines import related
from crawler.engines.base import SearchRequest, SerpPage, SerpResult, settle
from crawler.engines.common import BLOCK_STATUSES, find_phones, is_http_url, query_param, strip_html
from crawler.engines.parts import json_answer
from crawler.net.headers import json_headers

KIND = "searxng"
ENDPOINT = "http://127.0.0.1:8888/search"
# The page URL assumed when a saved page comes without one (`serp parse`).
# SearXNG pages have no fixed size; ranks assume this many per page unless the
# caller passes `rank_offset`.
PAGE_SIZE = 10


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
        "format": "json",
        "language": f"{language.lower()}-{region.upper()}",
        "categories": "general",
        "safesearch": "0",
        "pageno": str(page),
    }
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    return SearchRequest(url=url, headers=json_headers(language, region))


def _region(url: str, default: str | None) -> str:
    language = query_param(url, "language") or ""
    parts = language.replace("_", "-").split("-")
    if len(parts) > 1 and len(parts[-1]) == 2 and parts[-1].isalpha():
        return parts[-1].upper()
    return default or "NL"


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a SearXNG JSON answer. Pure: no network, no Scrapy."""
    hint = " (is format=json enabled in settings.yml?)" if status == 403 else ""
    data, refused = json_answer(body, status, KIND, hint)
    if refused:
        return refused
    if status >= 400:  # a JSON error: a block only for a block status
        why = f"HTTP {status}"
        if status in BLOCK_STATUSES:
            return SerpPage(results=[], blocked=why, engine=KIND)
        return SerpPage(results=[], unrecognised=why, engine=KIND)
    region = region if region else _region(url, None)
    try:
        pageno = max(int(query_param(url, "pageno") or 1), 1)
    except ValueError:
        pageno = 1
    rank = rank_offset if rank_offset is not None else (pageno - 1) * PAGE_SIZE
    results = []
    for item in data.get("results") or []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or ""
        if not is_http_url(link):
            continue
        title = strip_html(item.get("title"))
        snippet = strip_html(item.get("content"))
        parsed = item.get("parsed_url")
        display = parsed[1] if isinstance(parsed, list) and len(parsed) > 1 else ""
        rank += 1
        results.append(
            SerpResult(
                is_ad=False,
                rank=rank,
                title=title,
                url=link,
                landing_url=link,
                display_url=display if isinstance(display, str) else "",
                snippet=snippet,
                phones=find_phones(f"{title}\n{snippet}", region),
            )
        )
    page = SerpPage(results=results, engine=KIND, related=related.searxng(data))
    if results:
        page.next_url = add_or_replace_parameters(url, {"pageno": str(pageno + 1)})
        return page
    failed = [
        f"{entry[0]} ({entry[1]})" if isinstance(entry, list) and len(entry) > 1 else str(entry)
        for entry in data.get("unresponsive_engines") or []
    ]
    if failed:
        page.blocked = "upstream engines unresponsive: " + ", ".join(failed)
    return settle(
        page,
        found_markers='"results": [{"url": ...}]',
        no_results=isinstance(data.get("results"), list) and "query" in data,
        no_results_markers='"results": [] with a "query"',
    )
