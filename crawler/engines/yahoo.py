"""Yahoo search (``search.yahoo.com/search``; ``nl.search.yahoo.com`` for the
Netherlands): Bing's results and Bing's ads behind ``r.search.yahoo.com`` redirects.

Organic results are ``div.algo`` (``.dd.algo.algo-sr``) with the title link in
``h3.title a``/``.compTitle h3 a``, the snippet in ``.compText p`` and the
display URL in ``.compTitle span``/``span.fz-ms``. Ads sit in the
``searchCenterTopAds``/``searchCenterBottomAds`` lists (``li`` units, or
``div.ads``); their links are ``r.search.yahoo.com/.../RU=<target>/RK=...``
whose ``RU`` is often itself a Bing ``aclick``: both are decoded, never
followed. A consent redirect (``consent.yahoo.com``/``guce.yahoo.com``) is a
block; a page without results is "no results" only with Yahoo's own marker
(``.zrp``, "We did not find results for", "Geen resultaten gevonden").
"""

from __future__ import annotations

from w3lib.url import add_or_replace_parameters

from crawler.engines.base import SearchRequest, SerpPage, SerpResult
from crawler.engines.common import (
    MARKERS_CAPTCHA,
    empty_page_block,
    first,
    first_text,
    query_param,
    select,
    text_of,
)
from crawler.engines.parts import (
    add_call_cards,
    ancestor,
    classes,
    finish,
    int_param,
    make_ad,
    next_page,
    number,
    organic,
    read_page,
)
from crawler.net.headers import browser_headers

KIND = "yahoo"
ENDPOINT = "https://search.yahoo.com/search"
PAGE_SIZE = 10

_BLOCK_MARKERS = (
    "consent.yahoo.com",
    "guce.yahoo.com",
    "collectconsent",
    "unusual traffic",
    "ongebruikelijk verkeer",
) + MARKERS_CAPTCHA
_NO_RESULTS_MARKERS = (
    "we did not find results for",
    "geen resultaten gevonden voor",
    "wir haben keine ergebnisse",
    "nous n'avons trouvé aucun résultat",
)
_ADS = (
    "ol.searchCenterTopAds > li, ol.searchCenterBottomAds > li,"
    " ol.searchRightTopAds > li, ol.searchRightMiddleAds > li, ol.searchRightBottomAds > li,"
    " div.searchCenterTopAds li, div.searchCenterBottomAds li, div.ads > ul > li"
)
_ORGANIC = "div.algo, div.algo-sr"
_BLOCKED = "consent or challenge page"
_AD_LISTS = {"searchCenterTopAds", "searchCenterBottomAds"}
_TITLE = ("h3.title a[href]", ".compTitle h3 a[href]", ".compTitle a[href]", "h3 a[href]")
_DISPLAY = (".compTitle span", "span.fz-ms", ".compTitle .d-ib", "cite")
_SNIPPET = (".compText p", ".compText", "p")


def build_request(
    query: str,
    *,
    language: str = "nl",
    region: str = "NL",
    page: int = 1,
    base_url: str | None = None,
) -> SearchRequest:
    """The search request for one result page (``page`` is 1-based; ``b`` is 1-based)."""
    params = {"p": query, "ei": "UTF-8", "vl": f"lang_{language.lower()}", "vc": region.lower()}
    if page > 1:
        params["b"] = str((page - 1) * PAGE_SIZE + 1)
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    return SearchRequest(url=url, headers=browser_headers(language, region))


def _inside_any(node, names: set[str]) -> bool:
    return ancestor(node, lambda p: bool(names.intersection(classes(p)))) is not None


def _ad(node, page_url: str, region: str, position: int) -> SerpResult | None:
    link = first(node, *_TITLE, "a[href]")
    if link is None:
        return None
    display = text_of(first(node, ".compTitle span", "span.fz-ms", ".ad-url", "cite"))
    ad = _result(node, link, page_url, region, display)
    make_ad(ad, node, page_url, position)
    return ad


def _result(node, link, page_url: str, region: str, display: str) -> SerpResult:
    title = text_of(first(node, "h3") or link)
    snippet = first_text(node, _SNIPPET, exclude=(display,))
    return organic(node, link, page_url, region, title=title, display_url=display, snippet=snippet)


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a Yahoo result page. Pure: no network, no Scrapy."""
    lower, tree = read_page(body)
    region = region or (query_param(url, "vc") or "NL").upper()
    first_index = max(int_param(url, "b", 1), 1)
    ads = [(n, ad) for n in select(tree, _ADS) if (ad := _ad(n, url, region, 0)) is not None]
    results = [ad for _, ad in ads]
    for node in select(tree, _ORGANIC):
        if _inside_any(node, {"algo"}) or _inside_any(node, _AD_LISTS):
            continue
        link = first(node, *_TITLE)
        if link is not None:
            results.append(_result(node, link, url, region, text_of(first(node, *_DISPLAY))))
    number(results, rank_offset if rank_offset is not None else first_index - 1)
    more = "a.next[href], .compPagination a.next[href]"
    nxt = next_page(results, tree, url, more, "b", first_index + PAGE_SIZE)
    page = SerpPage(results=results, next_url=nxt, engine=KIND)
    add_call_cards(page, ads, region)
    return finish(
        page,
        tree,
        lower,
        blocked=lambda: empty_page_block(status, lower, _BLOCK_MARKERS, _BLOCKED),
        found=f"{_ORGANIC} with {_TITLE[0]}; ads in ol.searchCenterTopAds",
        no_results_css=".zrp, .zrp-msg, #zrp",
        no_results_text=_NO_RESULTS_MARKERS,
        css_named=".zrp",
    )
