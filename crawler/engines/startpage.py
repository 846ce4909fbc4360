"""Startpage (``www.startpage.com/sp/search``), a Dutch company: Google's results
and Google's ads without the Google cookies.

Organic results are ``div.w-gl__result`` (older pages) or ``div.result`` holding
``a.result-title``/``a.w-gl__result-title``, the snippet in ``p.description``
or ``p.w-gl__description`` and the display URL in ``.w-gl__result-url`` or
``.wgl-display-url``. Google's ads are rendered into the ad block (``#adBlock``,
``#gcsa-top``, ``.sp-ads``); an ad is a block there whose link goes through
Google's ``/aclk`` (googleadservices.com or syndicatedsearch.goog), its
landing decoded from ``adurl`` or, when hidden, the ad's display URL. A page
without results is "no results" only with Startpage's own marker
(``.no-results``, "did not match any"/"geen resultaten").
"""

from __future__ import annotations

from w3lib.url import add_or_replace_parameters

from crawler.engines.base import SearchRequest, SerpPage, SerpResult
from crawler.engines.common import (
    MARKERS_CAPTCHA,
    attr,
    empty_page_block,
    first,
    first_text,
    select,
    text_of,
)
from crawler.engines.parts import (
    add_call_cards,
    finish,
    int_param,
    make_ad,
    next_page,
    number,
    organic,
    read_page,
)
from crawler.net.headers import browser_headers

KIND = "startpage"
ENDPOINT = "https://www.startpage.com/sp/search"
PAGE_SIZE = 10

_LANGUAGES = {"nl": "dutch", "de": "deutsch", "fr": "francais", "en": "english"}
_BLOCK_MARKERS = (
    "/sp/captcha",
    "captcha-form",
    "verify you are a human",
    "automated queries",
    "geautomatiseerde zoekopdrachten",
) + MARKERS_CAPTCHA
_NO_RESULTS_MARKERS = (
    "did not match any",
    "no results found",
    "geen resultaten",
    "heeft geen resultaten opgeleverd",
    "keine ergebnisse",
)
_RESULTS = "div.w-gl__result, div.result"
_AD_BLOCKS = "#adBlock, #gcsa-top, #gcsa-bottom, .sp-ads, [data-testid='ads']"
_TITLE = ("a.w-gl__result-title[href]", "a.result-title[href]", "a.result-link[href]", "h3 a")
_DISPLAY = (".w-gl__result-url", ".wgl-display-url", ".result-url", "cite")
_SNIPPET = ("p.w-gl__description", "p.description", ".description", "p")


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
        "query": query,
        "cat": "web",
        "language": _LANGUAGES.get(language.lower(), "english"),
        "lui": _LANGUAGES.get(language.lower(), "english"),
        "qadf": "none",
    }
    if page > 1:
        params["page"] = str(page)
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    return SearchRequest(url=url, headers=browser_headers(language, region))


def _ads(tree, page_url: str, region: str) -> list[tuple[object, SerpResult]]:
    ads = []
    for block in select(tree, _AD_BLOCKS):
        for link in block.css("a[href]"):
            href = attr(link, "href")
            if "/aclk" not in href or not text_of(link):
                continue
            unit = link.parent
            # The ad: the largest element around the link that holds no other ad link.
            while unit.parent is not None and unit.parent.mem_id != block.mem_id:
                if len([a for a in unit.parent.css("a[href]") if "/aclk" in attr(a, "href")]) > 1:
                    break
                unit = unit.parent
            if any(u.mem_id == unit.mem_id for u, _ in ads):
                continue
            display = text_of(first(unit, ".ad-display-url", "cite", ".display-url"))
            snippet = first_text(unit, (".ad-description", "p", "span"), (display,))
            ad = organic(unit, link, page_url, region, display_url=display, snippet=snippet)
            make_ad(ad, unit, page_url, len(ads) + 1, (".ad-advertiser",))
            ads.append((unit, ad))
    return ads


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a Startpage result page. Pure: no network, no Scrapy."""
    lower, tree = read_page(body)
    region = region or "NL"
    page_no = max(int_param(url, "page", 1), 1)
    ads = _ads(tree, url, region)
    results = [ad for _, ad in ads] + _organic_results(tree, url, region)
    number(results, rank_offset if rank_offset is not None else (page_no - 1) * PAGE_SIZE)
    more = "form.pagination__next-prev-button, .pagination__next, a.next"
    page = SerpPage(results, next_page(results, tree, url, more, "page", page_no + 1), engine=KIND)
    add_call_cards(page, ads, region)
    return finish(
        page,
        tree,
        lower,
        blocked=lambda: empty_page_block(status, lower, _BLOCK_MARKERS, "captcha page"),
        found=f"{_RESULTS} with {_TITLE[0]} or {_TITLE[1]}; ads in {_AD_BLOCKS}",
        no_results_css=".no-results",
        no_results_text=_NO_RESULTS_MARKERS,
    )


def _organic_results(tree, page_url: str, region: str) -> list[SerpResult]:
    results = []
    for node in select(tree, _RESULTS):
        if any(n.mem_id != node.mem_id and n.css_first(_TITLE[0]) for n in node.css("div.result")):
            continue  # a wrapper around results
        link = first(node, *_TITLE)
        if link is None:
            continue
        display = text_of(first(node, *_DISPLAY))
        snippet = first_text(node, _SNIPPET, exclude=(display,))
        results.append(organic(node, link, page_url, region, display_url=display, snippet=snippet))
    return results
