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

from crawler.engines.base import SearchRequest, SerpPage, SerpResult, settle
from crawler.engines.common import (
    MARKERS_CAPTCHA,
    ad_target,
    advertiser,
    attr,
    browser_headers,
    call_card,
    contains_any,
    decode_body,
    empty_page_block,
    find_phones,
    first,
    first_text,
    html_tree,
    query_param,
    select,
    tel_links,
    text_of,
    unwrap_url,
)

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


def _nested(node, container: str) -> bool:
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        if container in attr(parent, "class").split():
            return True
        parent = parent.parent
    return False


def _ad(node, page_url: str, region: str, position: int) -> SerpResult | None:
    link = first(node, *_TITLE, "a[href]")
    if link is None:
        return None
    href = attr(link, "href")
    display = text_of(first(node, ".compTitle span", "span.fz-ms", ".ad-url", "cite"))
    landing, landing_from, click = ad_target(href, page_url, display)
    return SerpResult(
        is_ad=True,
        ad_position=position,
        title=text_of(first(node, "h3") or link),
        url=href,
        landing_url=landing,
        landing_from=landing_from,
        click_url=click,
        display_url=display,
        snippet=first_text(node, _SNIPPET, exclude=(display,)),
        phones=find_phones(text_of(node), region, tel_links(node)),
        **advertiser(node, page_url),
    )


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a Yahoo result page. Pure: no network, no Scrapy."""
    text = decode_body(body)
    lower = text.lower()
    region = region or (query_param(url, "vc") or "NL").upper()
    tree = html_tree(text)
    try:
        first_index = max(int(query_param(url, "b") or 1), 1)
    except ValueError:
        first_index = 1
    rank = rank_offset if rank_offset is not None else first_index - 1
    results: list[SerpResult] = []
    ads = []
    for node in select(tree, _ADS):
        ad = _ad(node, url, region, len(ads) + 1)
        if ad is not None:
            ads.append((node, ad))
            results.append(ad)
    for node in select(tree, _ORGANIC):
        if _nested(node, "algo") or any(
            _nested(node, c) for c in ("searchCenterTopAds", "searchCenterBottomAds")
        ):
            continue
        link = first(node, *_TITLE)
        if link is None:
            continue
        href = attr(link, "href")
        display = text_of(first(node, *_DISPLAY))
        rank += 1
        results.append(
            SerpResult(
                is_ad=False,
                rank=rank,
                title=text_of(first(node, "h3") or link),
                url=href,
                landing_url=unwrap_url(href, url),
                display_url=display,
                snippet=first_text(node, _SNIPPET, exclude=(display,)),
                phones=find_phones(text_of(node), region, tel_links(node)),
            )
        )
    page = SerpPage(results=results, engine=KIND)
    nxt = first(tree, "a.next[href]", ".compPagination a.next[href]")
    if nxt is not None and any(not r.is_ad for r in results):
        page.next_url = add_or_replace_parameters(url, {"b": str(first_index + PAGE_SIZE)})
    for node, ad in ads:
        found = call_card(node, ad, len(page.listings) + 1, region)
        if found is not None:
            page.listings.append(found)
    if not results:
        page.blocked = empty_page_block(status, lower, _BLOCK_MARKERS, "consent or challenge page")
    return settle(
        page,
        found_markers=f"{_ORGANIC} with {_TITLE[0]}; ads in ol.searchCenterTopAds",
        no_results=tree.css_first(".zrp, .zrp-msg, #zrp") is not None
        or bool(contains_any(lower, _NO_RESULTS_MARKERS)),
        no_results_markers=".zrp, " + ", ".join(map(repr, _NO_RESULTS_MARKERS)),
    )
