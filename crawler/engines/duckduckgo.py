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

from crawler.engines.base import SearchRequest, SerpPage, SerpResult, settle
from crawler.engines.common import (
    DEFAULT_REGION,
    MARKERS_CAPTCHA,
    absolute,
    ad_target,
    advertiser,
    attr,
    browser_headers,
    call_card,
    contains_any,
    decode_body,
    find_phones,
    first,
    first_text,
    html_tree,
    query_param,
    select,
    sitelinks,
    tel_links,
    text_of,
    unwrap_url,
)

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


def _nested(node) -> bool:
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        classes = set(attr(parent, "class").split())
        if "result" in classes or parent.tag == "article":
            return True
        parent = parent.parent
    return False


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


def _row_of(node):
    parent = node.parent
    while parent is not None and parent.tag not in ("tr", "body", "html"):
        parent = parent.parent
    return parent if parent is not None and parent.tag == "tr" else None


def _lite_rows(link) -> list:
    """The table rows of one Lite result: the title's row and the rows after it,
    up to the next title (snippet, display URL, spacer)."""
    row = _row_of(link)
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


def parse(  # noqa: C901, PLR0912 -- 2026-12-05: two layouts in one parser; issue 12 step 7 shares helpers
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a DuckDuckGo result page. Pure: no network, no Scrapy."""
    text = decode_body(body)
    lower = text.lower()
    if status in (202, 429):
        return SerpPage(results=[], blocked=detect_block(lower, status), engine=KIND)
    region = region or region_of(url)
    tree = html_tree(text)
    try:
        rank = int(query_param(url, "s") or 0)
    except ValueError:
        rank = 0
    if rank_offset is not None:
        rank = rank_offset
    results: list[SerpResult] = []
    calls: list = []
    ad_position = 0
    for node in select(tree, "div.result, div.web-result, article[data-testid]"):
        if _SKIP_CLASSES.intersection(attr(node, "class").split()) or _nested(node):
            continue
        link = first(
            node,
            "a.result__a[href]",
            'a[data-testid="result-title-a"][href]',
            "h2 a[href]",
            "a.result-link[href]",
        )
        if link is None:
            continue
        href = attr(link, "href")
        display = text_of(
            first(node, ".result__url", '[data-testid="result-extras-url-link"]', "cite")
        )
        for date in node.css(".result__date"):
            date.decompose()
        snippet = first_text(
            node,
            (".result__snippet", '[data-result="snippet"]', ".result-snippet", "p"),
            exclude=(display,),
        )
        is_ad = _is_ad(node)
        result = SerpResult(
            is_ad=False,
            title=text_of(link),
            url=href,
            landing_url=unwrap_url(href, url),
            display_url=display,
            snippet=snippet,
            phones=find_phones(text_of(node), region, tel_links(node)),
            sitelinks=sitelinks(node, ".result__sitelinks", url, region, is_ad=is_ad),
        )
        if is_ad:
            ad_position += 1
            result.is_ad, result.ad_position, result.kind = True, ad_position, "ad"
            result.landing_url, result.landing_from, result.click_url = ad_target(
                href, url, display
            )
            for name, value in advertiser(node, url).items():
                setattr(result, name, value)
            calls.append((node, result))
        else:
            rank += 1
            result.rank = rank
        results.append(result)
    if not results:
        for result in _lite_results(tree, url, region):
            if result.is_ad:
                ad_position += 1
                result.ad_position = ad_position
            else:
                rank += 1
                result.rank = rank
            results.append(result)
    page = SerpPage(results=results, next_url=_forms_next(tree, url), engine=KIND)
    for node, ad in calls:  # an ad's call extension
        found = call_card(node, ad, len(page.listings) + 1, region)
        if found is not None:
            page.listings.append(found)
    if not results:
        page.blocked = detect_block(lower, status)
        if not page.blocked and status >= 400:
            page.blocked = f"HTTP {status} without results"
    return settle(
        page,
        found_markers="div.result a.result__a, article[data-testid] h2 a, a.result-link",
        no_results=tree.css_first(".no-results, .result--no-result") is not None
        or bool(contains_any(lower, _NO_RESULTS_MARKERS)),
        no_results_markers=".no-results, .result--no-result, "
        + ", ".join(map(repr, _NO_RESULTS_MARKERS)),
    )
