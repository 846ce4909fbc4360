"""Bing web search (HTML): organic results (`li.b_algo`) and ads (`li.b_ad`).

Ads link through ``https://www.bing.com/aclick?...&u=<base64>`` and organic
results sometimes through ``https://www.bing.com/ck/a?...&u=a1<base64>``; the
``u`` value is the base64 of the landing URL (percent-encoded or not,
optionally prefixed with ``a1``), which is what `landing_url` carries.
"""

from __future__ import annotations

from w3lib.url import add_or_replace_parameters

from crawler.engines import related
from crawler.engines.base import SearchRequest, SerpPage, SerpResult
from crawler.engines.common import (
    MARKERS_CAPTCHA,
    absolute,
    attr,
    card,
    contains_any,
    first,
    first_text,
    outermost,
    query_param,
    region_from_url,
    select,
    sitelinks,
    text_of,
)
from crawler.engines.parts import (
    add_call_cards,
    ancestor,
    classes,
    finish,
    make_ad,
    number,
    organic,
    read_page,
    status_block,
)
from crawler.net.headers import browser_headers

KIND = "bing"
ENDPOINT = "https://www.bing.com/search"
# The page URL assumed when a saved page comes without one (`serp parse`).
PAGE_SIZE = 10

_BLOCK_MARKERS = (
    "/turing/captcha",
    'id="b_captcha',
    "turingcaptcha",
    "one last step",
    "solve the challenge",
    "verify you are a human",
    "unusual traffic",
    "ongebruikelijk verkeer",
    "nog één stap",
) + MARKERS_CAPTCHA

_NO_RESULTS_MARKERS = (
    "there are no results for",
    "no results found for",
    "er zijn geen resultaten voor",
    "geen resultaten gevonden voor",
    "aucun résultat pour",
    "es gibt keine ergebnisse für",
    "keine ergebnisse für",
    "no hay resultados para",
)


def build_request(
    query: str,
    *,
    language: str = "nl",
    region: str = "NL",
    page: int = 1,
    base_url: str | None = None,
) -> SearchRequest:
    """The search request for one result page (``page`` is 1-based)."""
    params = {"q": query, "setlang": language.lower(), "cc": region.upper()}
    if page > 1:
        params["first"] = str((page - 1) * PAGE_SIZE + 1)
        params["FORM"] = "PERE"
    else:
        params["form"] = "QBLH"
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    headers = browser_headers(language, region)
    if page > 1:
        previous = build_request(
            query, language=language, region=region, page=page - 1, base_url=base_url
        )
        headers["Referer"] = previous.url
        headers["Sec-Fetch-Site"] = "same-origin"
    return SearchRequest(url=url, headers=headers)


def page_offset(url: str) -> int:
    """Organic results before this page, from ``first=`` (1-based; some captures
    use 0-based multiples of ten, so round to the page)."""
    try:
        first_ = int(query_param(url, "first") or 1)
        count = int(query_param(url, "count") or PAGE_SIZE)
    except ValueError:
        return 0
    if first_ <= 1 or count <= 0:
        return 0
    return round((first_ - 1) / count) * count


def detect_block(text_lower: str, status: int, has_results: bool = False) -> str | None:
    """Why the page is a block page, or None. Text markers count only on a page
    without results, so a snippet that mentions a captcha cannot hide a page."""
    if status == 429:
        return "rate limited (HTTP 429)"
    if has_results:
        return None
    marker = contains_any(text_lower, _BLOCK_MARKERS)
    if marker:
        return f"challenge page ({marker!r})"
    return None


# Sitelinks under a result or an ad ("deep links": `h3.deeplink_title a`, `h3.ad_esltitle a`).
_SITELINKS = ".b_deep, .b_sitelinks"


def _ad_units(block):
    units = block.css(".sb_add")
    if units:
        return units
    units = [li for li in block.css("ul > li") if li.css_first("h2 a, h3 a")]
    return units or [block]


def _ad(unit, page_url: str, region: str) -> SerpResult | None:
    link = first(unit, "h2 a[href]", "h3 a[href]", "a[href]")
    if link is None:
        return None
    title = text_of(link)
    display = text_of(first(unit, "cite", ".b_adurl", ".b_attribution"))
    for slug in unit.css(".b_adSlug"):
        slug.decompose()
    snippet = first_text(unit, (".b_caption p", "p", ".b_caption"), exclude=(display,))
    ad = organic(unit, link, page_url, region, title=title, display_url=display, snippet=snippet)
    ad.sitelinks = sitelinks(unit, _SITELINKS, page_url, region, is_ad=True)
    make_ad(ad, unit, page_url, 0, (".tptt",))
    return ad


_SNIPPET_SELECTORS = (
    ".b_caption p",
    "p.b_lineclamp1, p.b_lineclamp2, p.b_lineclamp3, p.b_lineclamp4",
    ".b_algoSlug",
    ".b_snippet",
    "p",
    ".b_caption",
)


def _organic(node, page_url: str, region: str) -> SerpResult | None:
    link = first(node, "h2 a[href]", "h3 a[href]", "a.tilk[href]", "a[href]")
    if link is None or attr(link, "href").startswith(("javascript:", "#")):
        return None
    display = text_of(first(node, "cite", ".b_attribution"))
    return organic(
        node,
        link,
        page_url,
        region,
        display_url=display,
        snippet=first_text(node, _SNIPPET_SELECTORS, exclude=(display,)),
        sitelinks=sitelinks(node, _SITELINKS, page_url, region, is_ad=False),
    )


_CONTAINER_CLASSES = {"b_ans", "b_mop", "b_algo", "b_ad", "b_pag"}
# The local answer (map and places) and the business card on the right.
_LOCAL_SELECTORS = ".b_localAns li, .b_localAns .b_scard, #b_context .b_entityTP"
_RESULT_MARKERS = "li.b_algo, li.b_ad, .b_localAns"
_NO_RESULTS_SELECTOR = "li.b_no"


def _container(node) -> bool:
    """A result or an answer box ("People also ask", video carousels): what it
    holds that looks like a result is not a result of its own."""
    return bool(_CONTAINER_CLASSES.intersection(classes(node)))


def next_url(tree, page_url: str) -> str | None:
    link = first(
        tree,
        "a.sb_pagN[href]",
        'a[title="Next page"][href]',
        'a[aria-label="Next page"][href]',
        'a[title="Volgende pagina"][href]',
        'a[aria-label="Volgende pagina"][href]',
    )
    return absolute(attr(link, "href"), page_url) if link is not None else None


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a Bing result page. Pure: no network, no Scrapy."""
    lower, tree = read_page(body)
    if status == 429:
        return SerpPage(results=[], blocked=detect_block(lower, status), engine=KIND)
    region = region or region_from_url(url, "cc", "setmkt", "mkt")
    results: list[SerpResult] = []
    ads = []
    for node in select(tree, "li.b_ad, li.b_algo"):
        if ancestor(node, _container):
            continue
        if "b_ad" in classes(node):
            found = [(unit, _ad(unit, url, region)) for unit in _ad_units(node)]
            ads += [(unit, ad) for unit, ad in found if ad is not None]
            results += [ad for _, ad in found if ad is not None]
        elif (result := _organic(node, url, region)) is not None:
            results.append(result)
    number(results, rank_offset if rank_offset is not None else page_offset(url))
    page = SerpPage(results=results, next_url=next_url(tree, url), engine=KIND)
    page.related = related.bing(tree)
    page.listings = _listings(tree, ads, url, region)
    return finish(
        page,
        tree,
        lower,
        blocked=lambda: status_block(detect_block(lower, status), status),
        found=_RESULT_MARKERS,
        no_results_css=_NO_RESULTS_SELECTOR,
        no_results_text=_NO_RESULTS_MARKERS,
    )


def _listings(tree, ad_units, page_url: str, region: str) -> list[SerpResult]:
    """Local answer entries and business cards (kind "local"), then the ads'
    call extensions (kind "call")."""
    listings: list[SerpResult] = []
    for node in outermost(select(tree, _LOCAL_SELECTORS)):
        found = card(node, "local", len(listings) + 1, page_url, region)
        if found is not None:
            listings.append(found)
    page = SerpPage(results=[], listings=listings)
    add_call_cards(page, ad_units, region)
    return page.listings
