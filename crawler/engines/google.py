"""Google web search (desktop HTML and the no-JavaScript page): organic results and ads.

Google's class names are obfuscated and change often, so the parser anchors on
structure: an organic result is a link holding an ``h3`` (or an ``h3`` holding a
link) that leads off Google's search pages; on the mobile page, which has no
``h3``, a link holding an ARIA heading (``role="heading"``, level 3) outside
carousels. Its unit is the largest enclosing element that holds no other result
title. Ads are the units inside ``[data-text-ad]``, ``.uEierd``,
``#tads``/``#tadsb``/``#bottomads``, or marked by an ad label ("Sponsored", "Ad",
"Gesponsord", "Advertentie", ...), or linking through ``/aclk``.
Links are unwrapped from ``/url?q=`` and ``aclk?...&adurl=``; an ad link that
hides its target (an empty ``adurl``) stays as it is, and following it leads to
the landing page.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from w3lib.url import add_or_replace_parameters

from crawler.engines import related
from crawler.engines.base import SearchRequest, SerpPage, SerpResult
from crawler.engines.common import (
    MARKERS_CAPTCHA,
    absolute,
    ad_target,
    advertiser,
    attr,
    card,
    clean,
    contains_any,
    find_phones,
    first,
    is_http_url,
    query_param,
    region_from_url,
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
    inside,
    int_param,
    number,
    read_page,
    status_block,
)
from crawler.net.headers import browser_headers

KIND = "google"
ENDPOINT = "https://www.google.com/search"
# The page URL assumed when a saved page comes without one (`serp parse`).
PAGE_SIZE = 10

AD_LABELS = frozenset(
    {
        "ad",
        "ads",
        "sponsored",
        "sponsored result",
        "sponsored results",
        "gesponsord",
        "advertentie",
        "advertenties",
        "anzeige",
        "anzeigen",
        "annonce",
        "annonces",
        "sponsorisé",
        "patrocinado",
        "patrocinados",
        "anuncio",
        "sponsorizzato",
        "annuncio",
    }
)
_AD_CONTAINERS = "[data-text-ad], div.uEierd, #tads, #tadsb, #bottomads, #tvcap"
_TITLES = '[role="heading"], h3'
_STOP_IDS = {"rso", "search", "main", "center_col", "rcnt", "res", "botstuff", "tads", "tadsb"}
_URLISH = re.compile(r"^(https?://)?[\w-]+(\.[\w-]+)+(/\S*)?(\s*›.*)?$", re.IGNORECASE)

# Strong signs: never part of a real result page.
_BLOCK_MARKERS = (
    "/sorry/index",
    'id="captcha-form"',
    "our systems have detected unusual traffic",
    "/httpservice/retry/enablejs",
) + MARKERS_CAPTCHA
# Weak signs: count only when the page has no results.
_SOFT_BLOCK_MARKERS = (
    "unusual traffic",
    "not a robot",
    "consent.google.com",
    "before you continue to google",
    "voordat je verdergaat naar google",
)
_NO_RESULTS_MARKERS = (
    "did not match any documents",
    "heeft geen overeenkomende documenten opgeleverd",
    "no results found for",
    "geen resultaten gevonden voor",
    "ergab keine treffer",
    'id="topstuff"><div><div class="card-section"',
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
    params = {"q": query, "hl": language.lower(), "gl": region.lower(), "ie": "UTF-8"}
    if page > 1:
        params["start"] = str((page - 1) * PAGE_SIZE)
    url = add_or_replace_parameters(base_url or ENDPOINT, params)
    headers = browser_headers(language, region)
    if page > 1:
        headers["Referer"] = build_request(
            query, language=language, region=region, page=page - 1, base_url=base_url
        ).url
        headers["Sec-Fetch-Site"] = "same-origin"
    return SearchRequest(url=url, headers=headers)


def detect_block(text_lower: str, url: str, status: int, has_results: bool = False) -> str | None:
    """Why the page is a block page, or None. Text markers count only on a page
    without results, so a snippet that mentions a captcha cannot hide a page."""
    if status == 429:
        return "rate limited (HTTP 429)"
    if "/sorry/" in urlsplit(url).path:
        return "captcha page (/sorry/)"
    if has_results:
        return None
    marker = contains_any(text_lower, _BLOCK_MARKERS)
    if marker:
        if "enablejs" in marker:
            return "JavaScript challenge page (enablejs)"
        return f"captcha page ({marker!r})"
    marker = contains_any(text_lower, _SOFT_BLOCK_MARKERS)
    if marker and not contains_any(text_lower, _NO_RESULTS_MARKERS):
        return f"block or consent page ({marker!r})"
    return None


_GOOGLE_SEARCH_HOST = re.compile(r"^(www\.)?google\.[a-z]{2,3}(\.[a-z]{2})?$")
_GOOGLE_SERVICE_HOST = re.compile(r"^(maps|images|news|books)\.google\.[a-z]{2,3}(\.[a-z]{2})?$")
# Paths of Google's own search machinery on www.google.*: other searches, maps,
# hotels and flights, images, redirects, settings. Other paths there
# (www.google.com/drive/, /account/about/) are pages that can be results.
_INTERNAL_PATHS = (
    "/search",
    "/url",
    "/imgres",
    "/aclk",
    "/maps",
    "/webhp",
    "/setprefs",
    "/preferences",
    "/advanced_search",
    "/sorry",
    "/travel",
    "/shopping",
    "/localservices",
    "/interstitial",
    "/httpservice",
    "/gen_204",
    "/complete",
    "/finance",
    "/flights",
)


def _is_google_internal(url: str) -> bool:
    """Google's own search pages (other searches, maps, images), not a result.
    Other Google pages (support.google.com, play.google.com, www.google.com/drive/)
    can be results."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _GOOGLE_SERVICE_HOST.match(host):
        return True
    if _GOOGLE_SEARCH_HOST.match(host):
        path = parts.path.lower().rstrip("/")
        if not path:
            return bool(parts.query)  # the home page is a result, "/?sa=X" a logo link
        return any(path == p or path.startswith(p + "/") for p in _INTERNAL_PATHS)
    return host.endswith((".googleusercontent.com", ".gstatic.com", "googleadservices.com"))


def _same_site(url: str, page_url: str) -> bool:
    """A link back into the engine itself (other searches, maps, "More results").
    On Google's own hosts `_is_google_internal` decides by path instead."""
    host = (urlsplit(url).hostname or "").lower()
    if _GOOGLE_SEARCH_HOST.match(host):
        return False
    return urlsplit(url).netloc.lower() == urlsplit(page_url).netloc.lower()


def _is_ad_link(href: str) -> bool:
    return "/aclk?" in href or "googleadservices.com" in href


def _title_anchor(node):
    """The link of a title: the ``a`` around an ``h3`` / heading, or inside an ``h3``."""
    around = ancestor(node, lambda p: p.tag == "a" and bool(attr(p, "href")), self_too=True)
    return around if around is not None else node.css_first("a[href]")


def _label_text(node) -> str:
    return clean(node.text(deep=False)).strip("·• ").lower()


def _ad_container(node) -> bool:
    return (
        "data-text-ad" in node.attributes
        or "uEierd" in classes(node)
        or attr(node, "id") in ("tads", "tadsb", "bottomads", "tvcap")
    )


def _answer_box(node) -> bool:
    """Sources quoted inside "People also ask" answers are not results of their own."""
    return (
        "related-question-pair" in classes(node)
        or "data-initq" in node.attributes
        or "data-q" in node.attributes
    )


def _carousel(node) -> bool:
    """Cards of a carousel or a boxed feature (top stories, videos, tweets): not
    results of their own when their title is only an ARIA heading."""
    return node.tag in ("g-scrolling-carousel", "g-inner-card", "g-section-with-header") or attr(
        node, "role"
    ) in ("list", "listitem")


def _organic_link(anchor, href: str, page_url: str, ad_units) -> bool:
    """Whether a title link can be an organic result: not an ad, not inside an
    answer box, leading off Google's own search pages."""
    if any(inside(anchor, unit) for unit in ad_units):
        return False
    if (
        _is_ad_link(href)
        or ancestor(anchor, _ad_container, self_too=True)
        or ancestor(anchor, _answer_box)
    ):
        return False
    landing = unwrap_url(href, page_url)
    return (
        is_http_url(landing)
        and not _is_google_internal(landing)
        and not _same_site(landing, page_url)
    )


def _units(anchors, blockers=()):
    """For each title anchor, the nodes of its result: the largest ancestor that holds
    no other title, plus the following siblings up to the next one with a title
    (the snippet of a result sometimes sits beside the title's block)."""
    counts: dict[int, int] = {}
    chains = []
    for blocker in blockers:
        parent = blocker
        while parent is not None and parent.tag not in ("body", "html"):
            counts[parent.mem_id] = counts.get(parent.mem_id, 0) + 1
            parent = parent.parent
    for anchor in anchors:
        chain = []
        parent = anchor
        while parent is not None and parent.tag not in ("body", "html"):
            chain.append(parent)
            counts[parent.mem_id] = counts.get(parent.mem_id, 0) + 1
            if attr(parent, "id") in _STOP_IDS:
                break
            parent = parent.parent
        chains.append(chain)
    units = []
    for chain in chains:
        unit = chain[0]
        for parent in chain[1:]:
            if counts[parent.mem_id] > 1 or attr(parent, "id") in _STOP_IDS:
                break
            unit = parent
        nodes = [unit]
        sibling = unit.next
        while sibling is not None and sibling.mem_id not in counts:
            if sibling.tag not in ("-text", "-comment"):
                if sibling.css_first('h1, h2, h3, [role="heading"]') is not None:
                    break  # another block (local results, a carousel)
                nodes.append(sibling)
            sibling = sibling.next
        units.append(nodes)
    return units


def _leaf(node) -> bool:
    """True when no div sits inside the node (css_first would match the node itself)."""
    return not any(d.tag == "div" and d.mem_id != node.mem_id for d in node.traverse())


def _display(nodes) -> str:
    for unit in nodes:
        node = first(unit, "cite", "[data-dtld]", 'span[role="text"]')
        if node is not None:
            return text_of(node)
    for unit in nodes:
        for node in unit.css("div, span"):
            text = text_of(node)
            if text and _leaf(node) and _URLISH.match(text):
                return text
    return ""


# Sitelink rows: an ad's (".bOeY0b", links joined by "·", a call extension among
# them), an organic result's inline (".HiHjCd") and block ones.
_SITELINKS = ".bOeY0b, .HiHjCd, table.jmjoTe, .usJj9c"

_SNIPPET_SELECTORS = (
    ".VwiC3b",
    '[data-sncf="1"]',
    '[data-content-feature="1"]',
    ".s3v9rd",
    ".yDYNvb",
    '[style*="line-clamp"]',
)


def _snippet(nodes, anchor, title: str, display: str) -> str:
    excluded = [anchor, *(n for unit in nodes for n in unit.css("cite, [data-dtld]"))]

    def usable(node) -> str:
        if any(inside(node, e) or inside(e, node) for e in excluded):
            return ""
        text = text_of(node)
        if not text or text in (title, display) or _label_text(node) in AD_LABELS:
            return ""
        return text

    for selector in _SNIPPET_SELECTORS:
        for unit in nodes:
            for node in unit.css(selector):
                text = usable(node)
                if text:
                    return text
    best = ""
    for unit in nodes:
        for node in unit.css("div, span"):
            if not _leaf(node):
                continue
            text = usable(node)
            if len(text) > len(best) and not _URLISH.match(text):
                best = text
    return best


def _result(nodes, anchor, page_url: str, region: str, title: str, is_ad=False) -> SerpResult:
    href = attr(anchor, "href")
    display = _display(nodes)
    if is_ad:
        landing, landing_from, click = ad_target(href, page_url, display)
        # The desktop page links ads straight to the site and swaps in the click
        # URL (`data-rw`) only when clicked: that is the ad's click string.
        click = click or absolute(attr(anchor, "data-rw"), page_url)
        about = advertiser(nodes[0], page_url, (".VuuXrf",))
    else:
        landing, landing_from, click, about = unwrap_url(href, page_url), "", "", {}
    links = [s for n in nodes for s in sitelinks(n, _SITELINKS, page_url, region, is_ad=is_ad)]
    return SerpResult(
        sitelinks=links,
        is_ad=is_ad,
        landing_from=landing_from,
        click_url=click,
        **about,
        title=title,
        url=href,
        landing_url=landing,
        display_url=display,
        snippet=_snippet(nodes, anchor, title, display),
        phones=find_phones(
            "\n".join(text_of(n) for n in nodes),
            region,
            [link for n in nodes for link in tel_links(n)],
        ),
    )


def _ad_anchor(unit):
    heading = first(unit, '[role="heading"]', "h3", "h2")
    if heading is not None:
        anchor = _title_anchor(heading)
        if anchor is not None and inside(anchor, unit):
            return anchor, text_of(heading)
    for anchor in unit.css("a[href]"):
        href = attr(anchor, "href")
        if href.startswith(("#", "javascript:")) or not text_of(anchor):
            continue
        return anchor, text_of(anchor)
    return None, ""


def _ad_units(tree):
    """Ad units: marked containers, then units found through an ad label."""
    marked = select(tree, "[data-text-ad], div.uEierd")
    # The innermost marked elements are the ads (a marked block may hold several).
    units = [n for n in marked if not any(o is not n and inside(o, n) for o in marked)]
    if not units:
        for block in select(tree, "#tads, #tadsb, #bottomads"):
            headings = block.css('[role="heading"], h3')
            anchors = [a for a in (_title_anchor(h) for h in headings) if a is not None]
            units.extend(nodes[0] for nodes in _units(anchors))
    for node in tree.css("span, div"):
        if _label_text(node) not in AD_LABELS or any(inside(node, u) for u in units):
            continue
        # The ad: the nearest block around the label with a title, below the results' root.
        unit = ancestor(node, lambda p: attr(p, "id") in _STOP_IDS or p.css_first(_TITLES))
        if unit is not None and attr(unit, "id") not in _STOP_IDS and len(unit.css(_TITLES)) == 1:
            units.append(unit)
    return units


def next_url(tree, page_url: str) -> str | None:
    link = first(
        tree,
        "a#pnnext[href]",
        'a[aria-label="Next page"][href]',
        'a[aria-label="Volgende pagina"][href]',
        'a[aria-label="Nächste Seite"][href]',
    )
    if link is not None:
        return absolute(attr(link, "href"), page_url)
    try:
        current = int(query_param(page_url, "start") or 0)
    except ValueError:
        current = 0
    best = None
    for link in tree.css('a[href*="start="]'):
        href = absolute(attr(link, "href"), page_url)
        if urlsplit(href).path != "/search" or query_param(href, "tbm"):
            continue
        try:
            start = int(query_param(href, "start") or 0)
        except ValueError:
            continue
        if start > current and (best is None or start < best[0]):
            best = (start, href)
    return best[1] if best else None


def parse(
    body: bytes,
    url: str,
    status: int = 200,
    *,
    region: str | None = None,
    rank_offset: int | None = None,
) -> SerpPage:
    """Parse a Google result page (desktop or no-JS). Pure: no network, no Scrapy."""
    lower, tree = read_page(body)
    if status == 429 or "/sorry/" in urlsplit(url).path:
        return SerpPage(results=[], blocked=detect_block(lower, url, status), engine=KIND)
    region = region or region_from_url(url, "gl", "cr")
    for hidden in select(tree, '[style*="display:none"], [style*="display: none"]'):
        hidden.decompose()
    order = {n.mem_id: i for i, n in enumerate(tree.root.traverse())}
    ad_units = _ad_units(tree)
    ads = [(u, a, t) for u in ad_units for a, t in [_ad_anchor(u)] if a is not None]
    ad_results = [(u, _result([u], a, url, region, t, is_ad=True)) for u, a, t in ads]
    titles = _organic_titles(tree, url, ad_units, order)
    units = _units([a for a, _ in titles], [a for _, a, _ in ads])
    shown = [(n[0], _result(n, a, url, region, t)) for n, (a, t) in zip(units, titles, strict=True)]
    # Document order decides positions: ads top to bottom, organic ranks across pages.
    shown = sorted(ad_results + shown, key=lambda pair: order.get(pair[0].mem_id, 0))
    results = [r for _, r in shown]
    number(results, int_param(url, "start") if rank_offset is None else rank_offset)
    page = SerpPage(results=results, next_url=next_url(tree, url), engine=KIND)
    page.related = related.google(tree)
    page.listings = _listings(tree, ad_results, url, region)
    return finish(
        page,
        tree,
        lower,
        blocked=lambda: status_block(detect_block(lower, url, status), status),
        found="a h3, h3 a, a [role=heading], [data-text-ad], #tads",
        no_results_text=_NO_RESULTS_MARKERS,
    )


def _organic_titles(tree, page_url: str, ad_units, order) -> list[tuple[object, str]]:
    """(anchor, title) of every organic result in document order: a link holding
    an ``h3`` (or an ``h3`` holding a link); on mobile pages, which give titles
    no ``h3``, a link holding an ARIA heading (level 3) outside carousels."""
    found: dict[int, tuple[object, str]] = {}
    for h3 in select(tree, "a[href] h3, h3 a[href]"):
        heading = h3 if h3.tag == "h3" else ancestor(h3, lambda p: p.tag == "h3")
        anchor = _title_anchor(h3)
        if anchor is not None and anchor.mem_id not in found:
            if _organic_link(anchor, absolute(attr(anchor, "href"), page_url), page_url, ad_units):
                found[anchor.mem_id] = (anchor, text_of(heading if heading is not None else h3))
    for heading in select(tree, 'a[href] [role="heading"]'):
        anchor = _title_anchor(heading)
        if attr(heading, "aria-level") not in ("", "3", "4") or anchor is None:
            continue
        if (
            anchor.mem_id in found
            or attr(anchor, "role") == "button"
            or ancestor(anchor, _carousel)
        ):
            continue
        title, href = text_of(heading), absolute(attr(anchor, "href"), page_url)
        if title and _organic_link(anchor, href, page_url, ad_units):
            found[anchor.mem_id] = (anchor, title)
    return sorted(found.values(), key=lambda pair: order.get(pair[0].mem_id, 0))


# Local pack entries (desktop and no-JS) and the business profile on the right.
_LOCAL_SELECTORS = "div.VkpGBb, div.cXedhc, div[data-local-card], #rhs div.kp-wholepage"


def _listings(tree, ads, page_url: str, region: str) -> list[SerpResult]:
    """Local pack entries and business profiles (kind "local"), then the ads'
    call extensions (kind "call")."""
    listings: list[SerpResult] = []
    seen: list = []
    for node in select(tree, _LOCAL_SELECTORS):
        if any(inside(node, other) for other in seen):
            continue
        found = card(
            node,
            "local",
            len(listings) + 1,
            page_url,
            region,
            title_selectors=(".dbg0pd", '[role="heading"]', "h2", "h3", ".OSrXXb", "span"),
        )
        if found is not None:
            seen.append(node)
            listings.append(found)
    page = SerpPage(results=[], listings=listings)
    add_call_cards(page, ads, region)
    return page.listings
