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

from crawler.engines.base import SearchRequest, SerpPage, SerpResult
from crawler.engines.common import (
    MARKERS_CAPTCHA,
    attr,
    clean,
    empty_page_block,
    first,
    first_text,
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


def _result_box(node) -> bool:
    return (
        attr(node, "data-test-id").startswith("mainline-result")
        or node.tag == "article"
        or "result" in classes(node)
    )


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse an Ecosia result page. Pure: no network, no Scrapy."""
    lower, tree = read_page(body)
    region = region or "NL"
    page_no = max(int_param(url, "p", 0), 0)
    results, ads = _results(tree, url, region)
    number(results, rank_offset if rank_offset is not None else page_no * PAGE_SIZE)
    more = '[data-test-id="next-page"], a.pagination__next, a[aria-label="Next page"]'
    page = SerpPage(results, next_page(results, tree, url, more, "p", page_no + 1), engine=KIND)
    add_call_cards(page, ads, region)
    return finish(
        page,
        tree,
        lower,
        blocked=lambda: empty_page_block(status, lower, _BLOCK_MARKERS, "challenge page"),
        found=f"{_RESULTS} with {_TITLE[0]}",
        no_results_css=_NO_RESULTS_SELECTOR,
        no_results_text=_NO_RESULTS_MARKERS,
    )


def _results(tree, page_url: str, region: str) -> tuple[list[SerpResult], list]:
    """Results and ads in page order, and the ads with their nodes."""
    results, ads = [], []
    for node in select(tree, _RESULTS):
        link = None if ancestor(node, _result_box) else first(node, *_TITLE)
        if link is None:
            continue
        display = text_of(first(node, *_DISPLAY))
        for label in node.css('[data-test-id="ad-label"], .result__ad-label, .ad-label'):
            label.decompose()
        snippet = first_text(node, _SNIPPET, exclude=(display,))
        result = organic(node, link, page_url, region, display_url=display, snippet=snippet)
        if _is_ad(node):
            make_ad(result, node, page_url, len(ads) + 1)
            ads.append((node, result))
        results.append(result)
    return results, ads
