"""Helpers shared by the engine parsers: decoding, text, URLs, phones, blocks.

Everything here is pure: strings and bytes in, strings out.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode
from w3lib.encoding import html_to_unicode
from w3lib.html import remove_tags, replace_entities

from crawler.domains import domain_matches, within
from crawler.engines.base import SerpResult, Sitelink
from crawler.phones import hits_from_text

DEFAULT_REGION = "NL"

_WS = re.compile(r"\s+")


def decode_body(body: bytes | str) -> str:
    """Bytes to text, trusting a BOM or a meta charset, falling back to UTF-8."""
    if isinstance(body, str):
        return body
    _, text = html_to_unicode(None, body)
    return text


# Block-level tags: text on either side of them reads as separate words.
_BLOCK_TAG = re.compile(
    r"<(?=/?(?:div|p|li|ul|ol|h[1-6]|br|hr|tr|td|th|table|tbody|section|article|header"
    r"|footer|nav|aside|dd|dt|dl|blockquote|main|form|button|label|cite|address)\b)",
    re.IGNORECASE,
)


def html_tree(text: str) -> LexborHTMLParser:
    """Parse HTML and drop script, style and template elements (never result text).

    A space goes before every block-level tag first, so that text extracted with
    `text_of` keeps "Call us<br>0800..." apart and "<b>hello</b>!" together."""
    tree = LexborHTMLParser(_BLOCK_TAG.sub(" <", text))
    tree.strip_tags(["script", "style", "template", "noscript"])
    return tree


def clean(text: str | None) -> str:
    """Collapse whitespace (including no-break spaces) and strip."""
    if not text:
        return ""
    return _WS.sub(" ", text.replace("\u200b", "").replace("\xa0", " ")).strip()


def text_of(node: LexborNode | None) -> str:
    """The visible text of a node, words separated by single spaces."""
    if node is None:
        return ""
    return clean(node.text(deep=True, separator="", strip=False))


def attr(node: LexborNode | None, name: str) -> str:
    if node is None:
        return ""
    return node.attributes.get(name) or ""


def select(node, selector: str) -> list[LexborNode]:
    """All matches of a selector group in document order, each element once
    (lexbor returns an element once per selector of the group it matches)."""
    seen: set[int] = set()
    found = []
    for match in node.css(selector):
        if match.mem_id not in seen:
            seen.add(match.mem_id)
            found.append(match)
    return found


def first(node: LexborNode | LexborHTMLParser, *selectors: str) -> LexborNode | None:
    """The first match of the first selector that matches anything."""
    for selector in selectors:
        found = node.css_first(selector)
        if found is not None:
            return found
    return None


def first_text(node, selectors, exclude=()) -> str:
    """The text of the first element, over the selectors in order, whose text is
    non-empty and not one of `exclude` (e.g. the display URL)."""
    for selector in selectors:
        for found in node.css(selector):
            text = text_of(found)
            for part in exclude:
                if part and text.startswith(part):
                    text = clean(text[len(part) :])
            if text and text not in exclude:
                return text
    return ""


def query_param(url: str, name: str) -> str | None:
    """The first value of a query parameter, percent-decoded; None when absent."""
    values = parse_qs(urlsplit(url).query, keep_blank_values=True).get(name)
    return values[0] if values else None


def is_http_url(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def absolute(url: str, base: str) -> str:
    """Resolve a link found on the page against the page's URL."""
    url = (url or "").strip()
    if not url:
        return ""
    return urljoin(base, url)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _b64decode(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    padded = value + "=" * (-len(value) % 4)
    for decoder in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            return decoder(padded).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
    return None


def decode_base64_url(value: str | None) -> str | None:
    """Decode a base64 landing URL as Bing puts in ``u=``: optionally ``a1``-prefixed,
    standard or URL-safe alphabet, the URL itself possibly percent-encoded."""
    if not value:
        return None
    candidates = [value[2:], value] if value.startswith("a1") else [value]
    for candidate in candidates:
        decoded = _b64decode(candidate)
        if not decoded:
            continue
        for url in (decoded, unquote(decoded)):
            if is_http_url(url):
                return url
    return None


def find_phones(
    text: str | list[str], region: str | None = DEFAULT_REGION, tel_links=()
) -> list[str]:
    """Phone numbers shown in a piece of result text (and its tel: links), as E.164,
    in order of appearance, without duplicates: the page extractor's own rules
    (`crawler.phones.hits_from_text`), so a snippet and a page are read alike."""
    return [h.phone for h in hits_from_text(text, region or DEFAULT_REGION, links=list(tel_links))]


def tel_links(node: LexborNode) -> list[str]:
    return [attr(a, "href") for a in node.css('a[href^="tel:"], a[href^="TEL:"]')]


def region_from_url(url: str, *names: str, default: str = DEFAULT_REGION) -> str:
    """A two-letter region from the request URL's market parameters
    (``cc=NL``, ``gl=nl``, ``mkt=nl-NL``, ``kl=nl-nl``), else the default."""
    for name in names:
        value = query_param(url, name)
        if not value:
            continue
        value = value.replace("_", "-")
        part = value.split("-")
        # "nl-NL" / "nl-nl" → region last; "NL" → itself; "wt-wt" (no region) → skip
        code = part[-1] if len(part) > 1 else part[0]
        if len(code) == 2 and code.isalpha() and code.lower() not in ("wt", "xa"):
            return code.upper()
    return default


MARKERS_CAPTCHA = (
    "g-recaptcha",
    "recaptcha/api",
    "hcaptcha.com",
    "cf-challenge",
    "challenge-platform",
    "cf-chl-",
)


# The error statuses that by themselves say the engine refused us. Any other
# (a wrong URL's 404, a server's 500) is a request that failed, not a block:
# the spider records it as a failed query with its status.
BLOCK_STATUSES = frozenset({403, 429})


def empty_page_block(status: int, text_lower: str, markers, what: str) -> str | None:
    """Why a result page without results is a block page, or None: HTTP 429, one of
    the engine's challenge `markers` (named `what`), or HTTP 403."""
    if status == 429:
        return "rate limited (HTTP 429)"
    marker = contains_any(text_lower, markers)
    if marker:
        return f"{what} ({marker!r})"
    return f"HTTP {status} without results" if status in BLOCK_STATUSES else None


def contains_any(haystack: str, needles) -> str | None:
    """The first needle found in the (lower-cased) haystack, else None."""
    for needle in needles:
        if needle.lower() in haystack:
            return needle
    return None


# Hosts whose redirect endpoints wrap result links; a wrapper on the page's own
# host (a local test engine) is recognised too.
_TRACKER_DOMAINS = (
    "bing.com",
    "duckduckgo.com",
    "googleadservices.com",
    "doubleclick.net",
    "search.yahoo.com",
    "search.brave.com",
)
_GOOGLE_HOST = re.compile(r"(^|\.)google\.[a-z]{2,3}(\.[a-z]{2})?$")
_YAHOO_RU = re.compile(r"/RU=([^/]+)/")


def _is_engine_host(host: str, page_host: str) -> bool:
    return (
        host == page_host
        or domain_matches(host, _TRACKER_DOMAINS)
        or bool(_GOOGLE_HOST.search(host))
    )


def _http_param(url: str, *names: str) -> str | None:
    for name in names:
        value = query_param(url, name)
        if value:
            value = value.strip()
            if value.startswith("//"):
                value = "https:" + value
            if is_http_url(value):
                return value
    return None


# Advertisers' own click trackers between an engine's ad link and the landing
# page, each with its target in a query parameter: Adobe Advertising
# (``pixel.everesttech.net/.../cq?...&url=``) and Search Ads 360
# (``clickserve.dartsearch.net/link/click?...&ds_dest_url=``).
_AD_TRACKERS = {
    "everesttech.net": ("url",),
    "dartsearch.net": ("ds_dest_url", "url"),
    # DoubleClick Search / Campaign Manager (``ad.doubleclick.net/searchads/link/click``)
    "ad.doubleclick.net": ("ds_dest_url", "adurl", "url"),
    # Adform (``track.adform.net/C/?...;cpdir=``), Kenshoo / Skai, Marin, Sizmek
    "adform.net": ("cpdir", "url"),
    "xg4ken.com": ("url", "url[]"),
    "marinsm.com": ("lp", "url"),
    "serving-sys.com": ("rtu", "url"),
}


def _after_semicolons(url: str, *names: str) -> str | None:
    """Adform and DoubleClick put parameters after ``;`` in the path (``;cpdir=URL``)."""
    for part in re.split(r"[;&?]", url)[1:]:
        name, _, value = part.partition("=")
        if name in names:
            value = unquote(value)
            if is_http_url(value):
                return value
    return None


def _unwrap_once(url: str, page_host: str) -> str | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for domain, names in _AD_TRACKERS.items():
        if within(host, domain):
            return _http_param(url, *names) or _after_semicolons(url, *names)
    if not _is_engine_host(host, page_host):
        return None
    path = parts.path.lower().rstrip("/")
    if path.endswith(("/aclick", "/ck/a")) or (  # Bing (ads: aclick, later aclk)
        path.endswith("/aclk") and within(host, "bing.com")
    ):
        return decode_base64_url(query_param(url, "u")) or _http_param(url, "url", "r")
    if path == "/cr" and within(host, "bing.com"):  # older Bing
        return _http_param(url, "r")
    if path.endswith("/l") or path.endswith("/y.js"):  # DuckDuckGo
        return _http_param(url, "uddg", "u3", "u")
    if path in ("/url", "/interstitial", "/imgres", "/local_url"):  # Google
        return _http_param(url, "q", "url", "imgrefurl", "adurl")
    if path.endswith("/aclk") or path.endswith("/pagead/aclk"):  # Google ads
        return _http_param(url, "adurl", "url", "dest")
    if host.endswith("search.yahoo.com"):
        match = _YAHOO_RU.search(parts.path + "/")
        if match:
            target = unquote(match.group(1))
            return target if is_http_url(target) else None
    if path.endswith("/redirect") or path.endswith("/click"):  # generic ?url=
        return _http_param(url, "url", "u", "dest")
    return None


def unwrap_url(href: str, page_url: str, max_depth: int = 6) -> str:
    """The real destination of a result link, absolute: click-tracking wrappers of
    the engines (Bing ``aclick``/``aclk``/``ck/a``, DuckDuckGo ``l/?uddg=`` and
    ``y.js``, Google ``/url?q=`` and ``aclk?adurl=``, Yahoo ``RU=``) and the
    advertisers' click trackers behind them (Adobe ``everesttech``, Search Ads 360
    ``dartsearch``) are peeled one by one; a wrapper that hides its target is left
    as it is."""
    url = absolute(href, page_url)
    if url.startswith("//"):
        url = "https:" + url
    page_host = host_of(page_url)
    for _ in range(max_depth):
        target = _unwrap_once(url, page_host)
        if not target or target == url:
            break
        url = target
    return url


_CLICK_PATHS = ("/aclk", "/pagead/aclk", "/aclick", "/ck/a", "/y.js", "/l", "/cr", "/url")


def is_click_url(url: str, page_url: str = "") -> bool:
    """True when the URL is an engine's or an ad tracker's click URL (requesting it
    registers a click), whether or not it shows its target."""
    if _unwrap_once(url, host_of(page_url)) is not None:
        return True
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if domain_matches(host, _AD_TRACKERS):
        return True
    if host.endswith("googleadservices.com") or host == "r.search.yahoo.com":
        return True
    if not _is_engine_host(host, host_of(page_url)):
        return False
    path = parts.path.lower().rstrip("/")
    return path.endswith(_CLICK_PATHS) or "/rurl/" in path or "/ck/" in path


_DISPLAY_HOST = re.compile(
    r"(?:https?://)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})(?=$|[/\s›>:·])",
    re.IGNORECASE,
)


def url_from_display(display: str) -> str:
    """The site an ad's display URL names ("www.example.nl › helpdesk",
    "https://example.nl/support"): its root, since the breadcrumb after the host
    is not a path. Empty when the display URL names no host."""
    for match in _DISPLAY_HOST.finditer(clean(display).lower()):
        host = match.group(1).strip(".")
        if "." in host and not host.replace(".", "").isdigit():
            return f"https://{host}/"
    return ""


def ad_target(href: str, page_url: str, display: str = "") -> tuple[str, str, str]:
    """(landing_url, landing_from, click_url) of an ad link, without requesting it.

    The target is decoded from the click URL (Google ``adurl``, DoubleClick
    ``ds_dest_url``, Bing ``u``, Yahoo ``RU``, DuckDuckGo ``u3``, the trackers'
    own parameters); when the click URL hides it, the ad's display URL names
    the site. ``click_url`` is the raw click string ("" for a direct link)."""
    url = absolute(href, page_url)
    if url.startswith("//"):
        url = "https:" + url
    if not is_click_url(url, page_url):
        return url, "link", ""
    landing = unwrap_url(href, page_url)
    if landing != url and not is_click_url(landing, page_url):
        return landing, "decoded", url
    shown = url_from_display(display)
    if shown:
        return shown, "display-url", url
    return landing, "", url


def strip_html(value: object) -> str:
    """Plain text from an API field that may carry markup (``<strong>``) or entities."""
    if not isinstance(value, str):
        return ""
    return clean(remove_tags(replace_entities(remove_tags(value))))


def load_json(text: str):
    """Parsed JSON, or None when the body is not JSON (an HTML error or challenge)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


_PHONE_HINT = re.compile(r"\d[\d\s().-]{6,}\d")


def outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """The nodes not inside another of them (a selector group can match a card
    and its inner box)."""
    ids = {n.mem_id for n in nodes}
    out = []
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in ids:
            parent = parent.parent
        if parent is None:
            out.append(node)
    return out


def _card_links(node: LexborNode, page_url: str) -> tuple[str, str]:
    """(website, listing) of a card: its first link off the engine, and its first
    link to the engine's own listing of the business (a maps place page)."""
    website = listing = ""
    page_host = host_of(page_url)
    for link in node.css("a[href]"):
        href = attr(link, "href")
        if href.startswith(("#", "javascript:", "tel:", "TEL:")):
            continue
        target = absolute(href, page_url)
        if not is_http_url(target):
            continue
        on_engine = _is_engine_host(host_of(target), page_host)
        if on_engine and not is_click_url(target, page_url):
            listing = listing or target
        elif host_of(target) != page_host and not website:
            website = href
    return website, listing


def card(
    node: LexborNode,
    kind: str,
    position: int,
    page_url: str,
    region: str | None,
    *,
    title: str = "",
    title_selectors: tuple[str, ...] = ("h2", "h3", '[role="heading"]', "strong", "b"),
    address_selectors: tuple[str, ...] = ('[class*="address"]', "address", "[data-address]"),
) -> SerpResult | None:
    """A local or call card (local pack entry, business profile, call extension):
    its name, number(s), address and website. None when it shows no number."""
    phones = find_phones(text_of(node), region, tel_links(node))
    if not phones:
        return None
    title = title or first_text(node, title_selectors)
    website, listing = _card_links(node, page_url)
    landing, landing_from, click = ad_target(website, page_url) if website else ("", "", "")
    return SerpResult(
        is_ad=False,
        kind=kind,
        position=position,
        title=title,
        # A card without a website keeps its listing on the engine (a maps
        # place link) as its url, with nothing to follow (landing_url "").
        url=website or listing,
        landing_url=landing,
        landing_from=landing_from,
        click_url=click,
        display_url=host_of(landing) if landing else "",
        snippet=text_of(node)[:500],
        phones=phones,
        address=first_text(node, address_selectors),
    )


_ABOUT_ADVERTISER = re.compile(
    r"about this advertiser|about this ad\b|over deze adverteerder|over deze advertentie"
    r"|über diesen werbetreibenden|über diese anzeige|my ad center|mijn advertentiecentrum",
    re.IGNORECASE,
)
_ADVERTISER_LABEL = re.compile(
    r"^(?:advertiser|adverteerder|werbetreibender|annonceur|paid for by|betaald door)\s*:?\s*(.+)$",
    re.IGNORECASE,
)
_LOCATION_LABEL = re.compile(
    r"^(?:location|locatie|standort|emplacement|based in|gevestigd in)\s*:?\s*(.+)$",
    re.IGNORECASE,
)


def advertiser(unit: LexborNode, page_url: str, name_selectors: tuple[str, ...] = ()) -> dict:
    """What an ad says of its advertiser where the page shows it: the name
    (a labelled "Advertiser: ..." line, else the ad's site name), the location
    ("Location: ...") and the engine's "about this advertiser" link."""
    out = {"advertiser_name": "", "advertiser_location": "", "advertiser_url": ""}
    for link in unit.css("a[href]"):
        href = attr(link, "href")
        label = " ".join((attr(link, "aria-label"), attr(link, "title"), text_of(link)))
        if (
            "adstransparency" in href
            or "/ads/transparency" in href
            or _ABOUT_ADVERTISER.search(label)
        ):
            out["advertiser_url"] = absolute(href, page_url)
            break
    for node in unit.css("[data-advertiser-name], [data-advertiser-location]"):
        out["advertiser_name"] = out["advertiser_name"] or attr(node, "data-advertiser-name")
        out["advertiser_location"] = out["advertiser_location"] or attr(
            node, "data-advertiser-location"
        )
    for node in unit.css("div, span, p, li"):
        if any(d.mem_id != node.mem_id for d in node.css("div, span, p, li")):
            continue  # leaves only: one line each
        text = text_of(node)
        if not out["advertiser_name"]:
            match = _ADVERTISER_LABEL.match(text)
            if match:
                out["advertiser_name"] = clean(match.group(1))[:200]
        if not out["advertiser_location"]:
            match = _LOCATION_LABEL.match(text)
            if match:
                out["advertiser_location"] = clean(match.group(1))[:200]
    if not out["advertiser_name"] and name_selectors:
        out["advertiser_name"] = first_text(unit, name_selectors)[:200]
    return out


def sitelinks(
    unit: LexborNode, selector: str, page_url: str, region: str | None, *, is_ad: bool
) -> list[Sitelink]:
    """The sitelinks of a result or an ad: the links in its sitelink rows
    (`selector`), each with the numbers of its own item, decoded without
    clicking like the parent's link; then the numbers the rows show outside
    any link (a call extension, "Bel 085 ..."), as a sitelink without a URL."""
    out: list[Sitelink] = []
    for row in outermost(select(unit, selector)):
        shown, rest_text = set(), text_of(row)
        for link in row.css("a[href]"):
            rest_text = rest_text.replace(text_of(link), " ")
            href, title = attr(link, "href"), text_of(link)
            if not title or href.startswith(("#", "javascript:", "tel:", "TEL:")):
                continue
            if is_ad:
                landing, landing_from, click = ad_target(href, page_url)
                click = click or absolute(attr(link, "data-rw"), page_url)
            else:
                landing, landing_from, click = unwrap_url(href, page_url), "", ""
            item = link.parent if link.parent is not None and link.parent.tag == "h3" else link
            item = item.parent if item.parent is not None and item.parent.tag == "li" else item
            phones = find_phones(text_of(item), region, tel_links(item))
            shown.update(phones)
            # A row shown twice (collapsed and expanded, each with its own click ids).
            if not any(s.title == title for s in out):
                out.append(Sitelink(title, href, landing, landing_from, click, phones))
        rest = [p for p in find_phones(text_of(row), region, tel_links(row)) if p not in shown]
        if rest:
            out.append(Sitelink(clean(rest_text).strip(" ·,|")[:200], "", "", phones=rest))
    return out


def call_card(unit: LexborNode, ad: SerpResult, position: int, region: str | None):
    """An ad's call extension (a ``tel:`` link, a call button, or a number in its
    sitelink row) as a result of kind "call", tied to the ad's landing page and
    advertiser; None without one."""
    links = tel_links(unit)
    buttons = [
        n for n in unit.css('[class*="call" i], [aria-label*="call" i], [aria-label*="bel " i]')
    ]
    phones = find_phones([text_of(b) for b in buttons], region, links)
    phones += [p for s in ad.sitelinks if not s.url for p in s.phones if p not in phones]
    if not phones:
        return None
    return SerpResult(
        is_ad=False,
        kind="call",
        position=position,
        title=ad.title,
        url=ad.url,
        landing_url=ad.landing_url,
        landing_from=ad.landing_from,
        click_url=ad.click_url,
        display_url=ad.display_url,
        snippet=ad.snippet,
        phones=phones,
        advertiser_name=ad.advertiser_name,
        advertiser_location=ad.advertiser_location,
        advertiser_url=ad.advertiser_url,
    )
