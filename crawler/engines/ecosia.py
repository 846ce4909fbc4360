"""Ecosia (``www.ecosia.org/search``), popular in the Netherlands and Germany:
Bing's results, and Bing's and Google's ads labelled "Advertentie"/"Anzeige"/"Ad".

Results are ``[data-test-id="mainline-result-web"]`` (older pages:
``div.result``/``article.result``) with the title link
``a[data-test-id="result-link"]`` (``a.result-title``, ``a.result__link``), the
snippet ``[data-test-id="result-description"]`` (``p.result-snippet``) and the
display URL ``[data-test-id="result-url"]`` (``.result-url``). Ads are
``[data-test-id="mainline-result-ad"]`` or a result carrying an ad label; their
links go through Bing's ``aclick`` or Google's ``/aclk`` and are decoded, never
followed. Market: the ``ECFG`` cookie (``mc=nl-nl``).
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
    clean,
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

KIND = "ecosia"
ENDPOINT = "https://www.ecosia.org/search"
PAGE_SIZE = 10

AD_LABELS = {"ad", "ads", "advertentie", "anzeige", "annonce", "gesponsord", "sponsored"}
_BLOCK_MARKERS = (
    "are you a robot",
    "ben je een robot",
    "bist du ein roboter",
    "/captcha",
) + MARKERS_CAPTCHA
_NO_RESULTS_MARKERS = (
    "no results found for",
    "geen resultaten gevonden voor",
    "keine ergebnisse für",
    "aucun résultat pour",
)
_NO_RESULTS_SELECTOR = '[data-test-id="web-no-results"], [data-test-id="no-results"], .no-results'
_RESULTS = (
    '[data-test-id="mainline-result-web"], [data-test-id="mainline-result-ad"],'
    " article.result, div.result"
)
_TITLE = (
    'a[data-test-id="result-link"][href]',
    "a.result-title[href]",
    "a.result__link[href]",
    "h2 a[href]",
)
_DISPLAY = ('[data-test-id="result-url"]', ".result-url", ".result__url", "cite")
_SNIPPET = ('[data-test-id="result-description"]', "p.result-snippet", ".result__snippet", "p")


def build_request(
    query: str,
    *,
    language: str = "nl",
    region: str = "NL",
    page: int = 1,
    base_url: str | None = None,
) -> SearchRequest:
    """The search request for one result page (``page`` is 1-based; Ecosia's ``p`` is 0-based)."""
    params = {"method": "index", "q": query}
    if page > 1:
        params["p"] = str(page - 1)
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    headers = browser_headers(language, region)
    headers["Cookie"] = f"ECFG=mc={language.lower()}-{region.lower()}"
    return SearchRequest(url=url, headers=headers)


def _is_ad(node) -> bool:
    if attr(node, "data-test-id") == "mainline-result-ad" or "result--ad" in attr(node, "class"):
        return True
    for label in node.css('[data-test-id="ad-label"], .result__ad-label, .ad-label, span, small'):
        if clean(label.text(deep=False)).strip("·• ").lower() in AD_LABELS:
            return True
    return False


def _nested(node) -> bool:
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        if attr(parent, "data-test-id").startswith("mainline-result") or parent.tag == "article":
            return True
        if "result" in attr(parent, "class").split():
            return True
        parent = parent.parent
    return False


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse an Ecosia result page. Pure: no network, no Scrapy."""
    text = decode_body(body)
    lower = text.lower()
    region = region or "NL"
    tree = html_tree(text)
    try:
        page_no = max(int(query_param(url, "p") or 0), 0)
    except ValueError:
        page_no = 0
    rank = rank_offset if rank_offset is not None else page_no * PAGE_SIZE
    results: list[SerpResult] = []
    ads = []
    for node in select(tree, _RESULTS):
        if _nested(node):
            continue
        link = first(node, *_TITLE)
        if link is None:
            continue
        href = attr(link, "href")
        display = text_of(first(node, *_DISPLAY))
        for label in node.css('[data-test-id="ad-label"], .result__ad-label, .ad-label'):
            label.decompose()
        result = SerpResult(
            is_ad=False,
            title=text_of(link),
            url=href,
            landing_url=unwrap_url(href, url),
            display_url=display,
            snippet=first_text(node, _SNIPPET, exclude=(display,)),
            phones=find_phones(text_of(node), region, tel_links(node)),
        )
        if _is_ad(node):
            result.is_ad, result.kind, result.ad_position = True, "ad", len(ads) + 1
            result.landing_url, result.landing_from, result.click_url = ad_target(
                href, url, display
            )
            for name, value in advertiser(node, url).items():
                setattr(result, name, value)
            ads.append((node, result))
        else:
            rank += 1
            result.rank = rank
        results.append(result)
    page = SerpPage(results=results, engine=KIND)
    if any(not r.is_ad for r in results) and tree.css_first(
        '[data-test-id="next-page"], a.pagination__next, a[aria-label="Next page"]'
    ):
        page.next_url = add_or_replace_parameters(url, {"p": str(page_no + 1)})
    for node, ad in ads:
        found = call_card(node, ad, len(page.listings) + 1, region)
        if found is not None:
            page.listings.append(found)
    if not results:
        page.blocked = empty_page_block(status, lower, _BLOCK_MARKERS, "challenge page")
    return settle(
        page,
        found_markers=f"{_RESULTS} with {_TITLE[0]}",
        no_results=tree.css_first(_NO_RESULTS_SELECTOR) is not None
        or bool(contains_any(lower, _NO_RESULTS_MARKERS)),
        no_results_markers=f"{_NO_RESULTS_SELECTOR}, " + ", ".join(map(repr, _NO_RESULTS_MARKERS)),
    )
