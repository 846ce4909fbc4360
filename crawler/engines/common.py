"""Helpers shared by the engine parsers: decoding, text, URLs, phones, blocks.

Everything here is pure: strings and bytes in, strings out.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import phonenumbers
from selectolax.lexbor import LexborHTMLParser, LexborNode
from w3lib.encoding import html_to_unicode
from w3lib.html import remove_tags, replace_entities

DEFAULT_REGION = "NL"

# A recent desktop Chrome: engines serve their full markup (ads included) to it.
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

_WS = re.compile(r"\s+")


def browser_headers(language: str = "nl", region: str = "NL") -> dict[str, str]:
    """Headers a desktop browser sends with a top-level navigation."""
    lang = f"{language.lower()}-{region.upper()}"
    return {
        "User-Agent": CHROME_UA,
        "Accept": (
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
        ),
        "Accept-Language": f"{lang},{language.lower()};q=0.9,en;q=0.8",
        "Upgrade-Insecure-Requests": "1",
        "Sec-Fetch-Dest": "document",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Site": "none",
        "Sec-Fetch-User": "?1",
    }


def json_headers(language: str = "nl", region: str = "NL") -> dict[str, str]:
    """Headers for a JSON search API."""
    return {
        "User-Agent": CHROME_UA,
        "Accept": "application/json",
        "Accept-Language": f"{language.lower()}-{region.upper()},{language.lower()};q=0.9",
    }


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


def find_phones(text: str, region: str | None = DEFAULT_REGION, tel_links=()) -> list[str]:
    """Phone numbers shown in a piece of result text (and its tel: links), as E.164,
    in order of appearance, without duplicates."""
    found: list[str] = []

    def add(number: phonenumbers.PhoneNumber) -> None:
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in found:
            found.append(e164)

    for link in tel_links:
        raw = unquote(link.split(":", 1)[1] if ":" in link else link).split(";")[0]
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            add(number)
    if text:
        text = text[:MAX_PHONE_TEXT]
        seen: list[tuple[int, int]] = []
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.POSSIBLE
        ):
            seen.append((match.start, match.end))
            for number in _valid_numbers(match.raw_string, region):
                add(number)
        # Runs of digit groups the matcher passed over as too long (two numbers
        # side by side): split them into valid numbers.
        for run in _DIGIT_RUN.finditer(text):
            if not any(s < run.end() and run.start() < e for s, e in seen):
                for number in _valid_numbers(run.group(), region):
                    add(number)
    return found


# Result text is short; a longer one is cut (bounded work on hostile text).
MAX_PHONE_TEXT = 5000
_GROUP = re.compile(r"\+?\(?\d+\)?")
_MAX_GROUPS = 12
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d ()./-]{12,80}\d")


def _is_valid(raw: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    for match in phonenumbers.PhoneNumberMatcher(raw, region, leniency=phonenumbers.Leniency.VALID):
        if match.start == 0 and match.end == len(raw):
            return match.number
    return None


def _valid_numbers(raw: str, region: str | None) -> list[phonenumbers.PhoneNumber]:
    """The numbers in a candidate that libphonenumber's VALID leniency accepts. The
    matcher sometimes swallows neighbours into one candidate ("020 123 4567 24/7",
    two numbers side by side): then the longest valid runs of digit groups count."""
    number = _is_valid(raw, region)
    if number is not None:
        return [number]
    groups = list(_GROUP.finditer(raw))[:_MAX_GROUPS]
    numbers = []
    start = 0
    while start < len(groups):
        for end in range(len(groups), start, -1):
            piece = raw[groups[start].start() : groups[end - 1].end()]
            number = _is_valid(piece, region)
            if number is not None:
                numbers.append(number)
                start = end
                break
        else:
            start += 1
    return numbers


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
        or any(host == d or host.endswith("." + d) for d in _TRACKER_DOMAINS)
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
}


def _unwrap_once(url: str, page_host: str) -> str | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for domain, names in _AD_TRACKERS.items():
        if host == domain or host.endswith("." + domain):
            return _http_param(url, *names)
    if not _is_engine_host(host, page_host):
        return None
    path = parts.path.lower().rstrip("/")
    if path.endswith(("/aclick", "/ck/a")) or (  # Bing (ads: aclick, later aclk)
        path.endswith("/aclk") and (host == "bing.com" or host.endswith(".bing.com"))
    ):
        return decode_base64_url(query_param(url, "u")) or _http_param(url, "url", "r")
    if path == "/cr" and (host == "bing.com" or host.endswith(".bing.com")):  # older Bing
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
