"""DuckDuckGo's HTML endpoint (``html.duckduckgo.com/html/``): organic results and ads.

Organic links are direct or wrapped as ``//duckduckgo.com/l/?uddg=<URL>``; ads
go through ``duckduckgo.com/y.js?...&u3=<URL>``, where the URL is often itself a
Bing ``aclick`` or Yahoo ``RU=`` redirect; `landing_url` peels all of them.
DuckDuckGo answers a bot check with HTTP 202 (or 403) and an "anomaly" page.
The same parser reads the JavaScript site's rendered page (``div.result`` or
``article[data-testid]``) and DuckDuckGo Lite (``lite.duckduckgo.com/lite/``),
a table with a few rows per result: the ``a.result-link`` title, the
``td.result-snippet`` snippet, the ``span.link-text`` display URL; its ads are the
rows of class ``result-sponsored``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from w3lib.url import add_or_replace_parameters

from crawler.engines.base import SearchRequest, SerpPage, SerpResult
from crawler.engines.common import (
    DEFAULT_REGION,
    MARKERS_CAPTCHA,
    absolute,
    ad_target,
    attr,
    contains_any,
    find_phones,
    first,
    first_text,
    query_param,
    select,
    sitelinks,
    tel_links,
    text_of,
    unwrap_url,
)
from crawler.engines.parts import (
    add_call_cards,
    ancestor,
    classes,
    finish,
    int_param,
    make_ad,
    number,
    organic,
    read_page,
    status_block,
)
from crawler.net.headers import browser_headers

KIND = "duckduckgo"
ENDPOINT = "https://html.duckduckgo.com/html/"
# The page URL assumed when a saved page comes without one (`serp parse`).
# The HTML endpoint's own page offsets: 0, then about 30 per page.
PAGE_SIZE = 30

_BLOCK_MARKERS = (
    "anomaly-modal",
    "anomaly.js",
    "challenge-form",
    "bots use duckduckgo too",
    "confirm this search was made by a human",
    "select all squares containing a duck",
) + MARKERS_CAPTCHA

_NO_RESULTS_MARKERS = ("no results.", "no  results.", "geen resultaten")

_TITLES = (
    "a.result__a[href]",
    'a[data-testid="result-title-a"][href]',
    "h2 a[href]",
    "a.result-link[href]",
)
_DISPLAY = (".result__url", '[data-testid="result-extras-url-link"]', "cite")
_SNIPPETS = (".result__snippet", '[data-result="snippet"]', ".result-snippet", "p")
_SKIP_CLASSES = {"result--sep", "result--more", "result--no-result", "result--ads--empty"}


def market(language: str = "nl", region: str = "NL") -> str:
    """DuckDuckGo's ``kl`` market code: region first, e.g. ``nl-nl``, ``us-en``."""
    return f"{region.lower()}-{language.lower()}"


def build_request(
    query: str,
    *,
    language: str = "nl",
    region: str = "NL",
    page: int = 1,
    base_url: str | None = None,
) -> SearchRequest:
    """The search request for one result page (``page`` is 1-based)."""
    params = {"q": query, "kl": market(language, region)}
    if page > 1:
        offset = (page - 1) * PAGE_SIZE
        params.update({"s": str(offset), "dc": str(offset + 1), "v": "l", "o": "json"})
        params["api"] = "d.js"
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    headers = browser_headers(language, region)
    headers["Referer"] = "https://html.duckduckgo.com/" if base_url is None else base_url
    headers["Sec-Fetch-Site"] = "same-origin"
    return SearchRequest(url=url, headers=headers)


def region_of(url: str) -> str:
    """The region from ``kl=nl-nl`` (region first); the default for ``wt-wt``."""
    kl = (query_param(url, "kl") or "").lower()
    code = kl.split("-")[0]
    if len(code) == 2 and code.isalpha() and code not in ("wt", "xa"):
        return code.upper()
    return DEFAULT_REGION


def detect_block(text_lower: str, status: int, has_results: bool = False) -> str | None:
    """Why the page is a block page, or None. Text markers count only on a page
    without results, so a snippet that mentions a captcha cannot hide a page."""
    if status == 429:
        return "rate limited (HTTP 429)"
    if status == 202:
        return "rate limited (HTTP 202 challenge)"
    if has_results:
        return None
    marker = contains_any(text_lower, _BLOCK_MARKERS)
    if marker:
        return f"challenge page ({marker!r})"
    return None


def _is_ad(node) -> bool:
    classes = set(attr(node, "class").split())
    return bool(
        classes & {"result--ad", "sponsored", "result--ad--small"}
        or "data-adn" in node.attributes
        or attr(node, "data-testid") == "ad"
        or node.css_first(".badge--ad, .result__ad-badge") is not None
    )


def _result_box(node) -> bool:
    return "result" in classes(node) or node.tag == "article"


def _forms_next(tree, page_url: str) -> str | None:
    """The next page as a GET URL, from the "Next" form (the one with the highest ``s``;
    the HTML endpoint's ``.nav-link`` forms, Lite's forms with a ``navbutton``)."""
    best: tuple[int, str] | None = None
    for form in select(tree, ".nav-link form, form.nav-link, form"):
        if form.css_first('input[name="s"]') is None:
            continue
        fields = {}
        for field in form.css("input[name]"):
            if attr(field, "type").lower() in ("submit", "button"):
                continue
            value = attr(field, "value")
            if value:
                fields[attr(field, "name")] = value
        try:
            offset = int(fields.get("s", ""))
        except ValueError:
            continue
        if best is None or offset > best[0]:
            action = absolute(attr(form, "action") or page_url, page_url)
            best = (offset, f"{action.split('?')[0]}?{urlencode(fields)}")
    return best[1] if best else None


def _lite_rows(link) -> list:
    """The table rows of one Lite result: the title's row and the rows after it,
    up to the next title (snippet, display URL, spacer)."""
    row = ancestor(link, lambda p: p.tag == "tr")
    if row is None:
        return []
    rows = [row]
    sibling = row.next
    while sibling is not None and len(rows) < 4:
        if sibling.tag == "tr":
            if sibling.css_first("a.result-link") is not None:
                break
            rows.append(sibling)
        sibling = sibling.next
    return rows


def _lite_results(tree, page_url: str, region: str) -> list[SerpResult]:
    results = []
    for link in tree.css("a.result-link[href]"):
        rows = _lite_rows(link) or [link]
        href = attr(link, "href")
        display = ""
        snippet = ""
        for row in rows:
            display = display or text_of(row.css_first(".link-text"))
            snippet = snippet or text_of(row.css_first(".result-snippet"))
        sponsored = any("result-sponsored" in attr(row, "class").split() for row in rows)
        text = "\n".join(text_of(row) for row in rows)
        is_ad = sponsored or "/y.js" in href
        landing, landing_from, click = (
            ad_target(href, page_url, display) if is_ad else (unwrap_url(href, page_url), "", "")
        )
        results.append(
            SerpResult(
                is_ad=is_ad,
                title=text_of(link),
                url=href,
                landing_url=landing,
                landing_from=landing_from,
                click_url=click,
                display_url=display,
                snippet=snippet,
                phones=find_phones(text, region, [t for row in rows for t in tel_links(row)]),
            )
        )
    return results


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a DuckDuckGo result page. Pure: no network, no Scrapy."""
    lower, tree = read_page(body)
    if status in (202, 429):
        return SerpPage(results=[], blocked=detect_block(lower, status), engine=KIND)
    region = region or region_of(url)
    results, ads = _html_results(tree, url, region)
    results = results or _lite_results(tree, url, region)
    number(results, int_param(url, "s") if rank_offset is None else rank_offset)
    page = SerpPage(results=results, next_url=_forms_next(tree, url), engine=KIND)
    add_call_cards(page, ads, region)
    return finish(
        page,
        tree,
        lower,
        blocked=lambda: status_block(detect_block(lower, status), status),
        found="div.result a.result__a, article[data-testid] h2 a, a.result-link",
        no_results_css=".no-results, .result--no-result",
        no_results_text=_NO_RESULTS_MARKERS,
    )


def _html_results(tree, page_url: str, region: str) -> tuple[list[SerpResult], list]:
    """The HTML endpoint's and the JavaScript site's results, and the ads with their nodes."""
    results, ads = [], []
    for node in select(tree, "div.result, div.web-result, article[data-testid]"):
        if _SKIP_CLASSES.intersection(classes(node)) or ancestor(node, _result_box):
            continue
        link = first(node, *_TITLES)
        if link is None:
            continue
        display = text_of(first(node, *_DISPLAY))
        for date in node.css(".result__date"):
            date.decompose()
        is_ad = _is_ad(node)
        result = organic(
            node,
            link,
            page_url,
            region,
            display_url=display,
            snippet=first_text(node, _SNIPPETS, exclude=(display,)),
            sitelinks=sitelinks(node, ".result__sitelinks", page_url, region, is_ad=is_ad),
        )
        if is_ad:
            make_ad(result, node, page_url, len(ads) + 1)
            ads.append((node, result))
        results.append(result)
    return results, ads
