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
            landing, landing_from, click = ad_target(href, page_url, display)
            ads.append(
                (
                    unit,
                    SerpResult(
                        is_ad=True,
                        ad_position=len(ads) + 1,
                        title=text_of(link),
                        url=href,
                        landing_url=landing,
                        landing_from=landing_from,
                        click_url=click,
                        display_url=display,
                        snippet=first_text(unit, (".ad-description", "p", "span"), (display,)),
                        phones=find_phones(text_of(unit), region, tel_links(unit)),
                        **advertiser(unit, page_url, (".ad-advertiser",)),
                    ),
                )
            )
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
    text = decode_body(body)
    lower = text.lower()
    region = region or "NL"
    tree = html_tree(text)
    try:
        page_no = max(int(query_param(url, "page") or 1), 1)
    except ValueError:
        page_no = 1
    rank = rank_offset if rank_offset is not None else (page_no - 1) * PAGE_SIZE
    ads = _ads(tree, url, region)
    results = [ad for _, ad in ads]
    for node in select(tree, _RESULTS):
        if any(n.mem_id != node.mem_id and n.css_first(_TITLE[0]) for n in node.css("div.result")):
            continue  # a wrapper around results
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
                title=text_of(link),
                url=href,
                landing_url=unwrap_url(href, url),
                display_url=display,
                snippet=first_text(node, _SNIPPET, exclude=(display,)),
                phones=find_phones(text_of(node), region, tel_links(node)),
            )
        )
    page = SerpPage(results=results, engine=KIND)
    if any(not r.is_ad for r in results) and tree.css_first(
        "form.pagination__next-prev-button, .pagination__next, a.next"
    ):
        page.next_url = add_or_replace_parameters(url, {"page": str(page_no + 1)})
    for unit, ad in ads:
        found = call_card(unit, ad, len(page.listings) + 1, region)
        if found is not None:
            page.listings.append(found)
    if not results:
        page.blocked = empty_page_block(status, lower, _BLOCK_MARKERS, "captcha page")
    return settle(
        page,
        found_markers=f"{_RESULTS} with {_TITLE[0]} or {_TITLE[1]}; ads in {_AD_BLOCKS}",
        no_results=tree.css_first(".no-results") is not None
        or bool(contains_any(lower, _NO_RESULTS_MARKERS)),
        no_results_markers=".no-results, " + ", ".join(map(repr, _NO_RESULTS_MARKERS)),
    )
