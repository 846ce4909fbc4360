"""Find the phone numbers a page shows, and nothing else.

``extract_phones(html, region)`` returns one :class:`PhoneHit` per distinct
number, in page order. It looks in the visible text (title and meta
description included), ``tel:``/``callto:`` links, JSON-LD and microdata
``telephone`` values and ``alt``/``title``/``aria-label`` attributes.

How it works, and why it is fast: the page is parsed once with selectolax's
lexbor backend; block-level tags get a hard separator and inline tags a soft
one, so digits split across ``<span>``s join up while table cells do not; a
cheap regular expression finds runs of digits and separators; only those
candidates go to phonenumbers, which stays the judge of what a number is.
Context rules (labels such as "KvK", "IBAN", "Fax", dates, prices, codes glued
to letters) throw out the look-alikes before phonenumbers sees them.

Hostile input is bounded: the page, every candidate and every ``tel:`` value
are capped in length before phonenumbers parses them (it has a slow path on
long ``phone-context`` values), and the number of parse attempts per page is
capped too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from urllib.parse import unquote, urlsplit

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, carrier
from selectolax.lexbor import LexborHTMLParser

__all__ = ["PhoneHit", "extract_phones", "normalize_phone", "nl_category"]

# ---------------------------------------------------------------------------
# Limits (hostile input)

MAX_HTML_CHARS = 8_000_000  # a longer page is cut here before parsing
MAX_CANDIDATE_CHARS = 48  # a candidate longer than this is never a phone number
MAX_NUMBER_DIGITS = 17  # "00" + country code + the longest national number
MIN_NUMBER_DIGITS = 5  # shorter numbers exist (112, 14 020) but are not helpdesks
MAX_TEL_CHARS = 64  # tel:/callto: values and attribute values handed on
MAX_PARSES_PER_PAGE = 4000  # distinct phonenumbers.parse calls per page
MAX_JSON_LD_CHARS = 1_000_000
CONTEXT_CHARS = 100  # either side of a sighting: ~200 chars of context

# ---------------------------------------------------------------------------
# The public record


@dataclass
class PhoneHit:
    """One distinct phone number seen on a page."""

    phone: str  # E.164
    raw: str  # as shown on the page
    source: str  # primary source (first sighting)
    sources: list[str] = field(default_factory=list)
    number_type: str = "unknown"
    country: str = ""
    nl_category: str | None = None
    carrier: str | None = None
    is_fax: bool = False
    context: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------
# Characters

# Separators a number may be written with: spaces of every kind, dots, dashes,
# slashes, brackets, and the invisible characters scammers put between digits.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u206a-\u206f\ufeff"
)
_SPACES = " \t\r\n\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PUNCT = ".\\-\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d\uff0e/\uff0f()\\[\\]\uff08\uff09\u00b7"
_SOFT = "\x1f"  # between inline text nodes
_HARD = "\x1e"  # at block boundaries: never inside a number
_MARK_BASE = 0xF0000  # supplementary private use: markers for element sightings
_MARKS = "\U000f0000-\U000fffff"
_SEP = _INVISIBLE + _SPACES + _PUNCT + _SOFT + _MARKS
_PLUS = "+\uff0b"

# A run: optional plus, optional opening bracket, then digits (any script)
# with at most four separator characters between two digits.
_RUN_RE = re.compile(rf"[{_PLUS}]?[(\[\uff08]?\d(?:[{_SEP}]{{0,4}}\d)*")
_DIGIT_RE = re.compile(r"\d")
_GROUP_RE = re.compile(rf"[{_PLUS}]?\d+")
_MARK_RE = re.compile(f"[{_MARKS}]")
_JUNK_RE = re.compile(f"[{_INVISIBLE}{_SOFT}{_MARKS}]+")
_WS_RE = re.compile(rf"[{_SPACES}{_HARD}]+")

_BLOCK_TAGS = (
    "address|article|aside|blockquote|br|button|caption|dd|details|dialog|div|dl|dt|"
    "fieldset|figcaption|figure|footer|form|h[1-6]|header|hr|input|label|legend|li|main|"
    "nav|ol|option|p|pre|section|select|summary|table|tbody|td|textarea|tfoot|th|thead|"
    "tr|ul|img"
)
# A hard separator goes in front of every block tag, opening or closing. In
# front of a closing tag it lands inside the element, so cells and paragraphs
# never run into each other even where the parser moves stray text.
_BLOCK_TAG_RE = re.compile(rf"<(?=/?(?:{_BLOCK_TAGS})[\s/>])", re.IGNORECASE)

# ---------------------------------------------------------------------------
# Context rules: what the text just before or after a run says it is

_LABEL_RE = re.compile(
    r"(?P<fax>\b(?:tele)?fax(?:nummer|nr|number|no)?\b|\bf\s*[:.])"
    r"|(?P<phone>\b(?:tel(?:efoon|ephone|efon|[eé]fono)?(?:nummer|nr|no)?|phone|bel|bellen|"
    r"belt|call|mobiel|mobile|gsm|whatsapp|helpdesk|klantenservice|support|hotline|"
    r"servicedesk|contact|nummer|number|t|m|ph)\b|[\u260e\u260f\u2706\U0001f4de\U0001f4f1])"
    r"|(?P<not>\b(?:kvk|k\.v\.k|coc|kamer van koophandel|handelsregister|btw|vat|tva|ust|"
    r"iban|bic|swift|rekening|rekeningnummer|account|bank|giro|ean|gtin|isbn|issn|upc|sku|"
    r"art(?:ikel)?(?:\.|nr|nummer)?|order|ordernummer|ordernr|bestelling|bestelnummer|"
    r"factuur|factuurnummer|invoice|klantnummer|customer|referentie|reference|ref|"
    r"kenmerk|dossier|zaaknummer|ticket|case|track|tracking|trace|zending|pakket|"
    r"verzending|shipment|barcode|serie|serial|serienummer|versie|version|build|"
    r"release|postcode|zip|postbus|datum|date|kenteken|id|pin|code|rsin|bsn|"
    r"licen[ct]ie|license|model|type|product|prijs|price|eur|euro|usd|aantal|"
    r"pagina|page)\b|[#\u20ac$\u00a3\u00a5\u2116])",
    re.IGNORECASE,
)
# How far before a run a label still counts, and what may stand between.
_LABEL_WINDOW = 32
_LABEL_GAP_RE = re.compile(r"^[^\d]{0,24}$")
_IBAN_BEFORE_RE = re.compile(r"\b[A-Z]{2}\d{2}[\s.]?(?:[A-Z]{4}[\s.]?)?$")
_BTW_AFTER_RE = re.compile(r"^[\s.]?B\d\d\b")
_CODE_BEFORE_RE = re.compile(r"[A-Za-z0-9][-_/#]$")
_DATE_RE = re.compile(
    r"(?<!\d)(?:"
    r"[0-3]?\d[-./ ][01]?\d[-./ ](?:19|20)\d\d"  # 01-02-2023
    r"|(?:19|20)\d\d[-./][01]\d[-./][0-3]\d"  # 2023-02-01
    r"|[0-3]?\d[-./][01]?\d[-./]\d\d"  # 01.02.23
    r")(?!\d)"
)
_YEAR_RANGE_RE = re.compile(r"^(?:19|20)\d\d\s?[-/\u2013]\s?(?:19|20)\d\d$")

# ---------------------------------------------------------------------------
# Regions

_TLD_REGION = {"uk": "GB"}
_LANGUAGE_REGION = {
    "nl": "NL",
    "de": "DE",
    "fr": "FR",
    "es": "ES",
    "it": "IT",
    "pt": "PT",
    "pl": "PL",
    "da": "DK",
    "sv": "SE",
    "nb": "NO",
    "no": "NO",
    "fi": "FI",
    "cs": "CZ",
    "el": "GR",
    "hu": "HU",
    "ro": "RO",
    "en": "GB",
}
_NANP_RE = re.compile(r"^(?:\+?1[\s.\-]?)?\(?[2-9]\d\d\)?[\s.\-]?\d{3}[\s.\-]?\d{4}$")

_TYPE_NAMES = {
    value: name.lower()
    for name, value in vars(PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}


def region_hints(
    region: str = "NL", url: str | None = None, language: str | None = None
) -> list[str]:
    """The regions to try for a national-format number, most likely first."""
    hints = [region.upper()] if region else []
    if url:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
        tld = host.rsplit(".", 1)[-1].lower() if "." in host else ""
        if len(tld) == 2 and tld.isalpha():
            hints.append(_TLD_REGION.get(tld, tld.upper()))
    if language:
        parts = re.split(r"[-_]", language.strip())
        if len(parts) > 1 and len(parts[1]) == 2:
            hints.append(parts[1].upper())
        if parts[0].lower() in _LANGUAGE_REGION:
            hints.append(_LANGUAGE_REGION[parts[0].lower()])
    out: list[str] = []
    for hint in hints:
        if hint in phonenumbers.SUPPORTED_REGIONS and hint not in out:
            out.append(hint)
    return out or ["NL"]


def nl_category(e164: str) -> str | None:
    """What a +31 number is in the Dutch numbering plan; None for other countries."""
    if not e164.startswith("+31"):
        return None
    nsn = e164[3:]
    if nsn.startswith("800"):
        return "free"
    if nsn.startswith(("900", "906", "909")):
        return "premium"
    if nsn.startswith(("84", "85", "87", "88")):
        return "non-geographic"
    if nsn.startswith("6"):
        return "mobile"
    if nsn.startswith("97"):
        return "m2m"
    if nsn[:1] in "123457":
        return "geographic"
    return "other"


# ---------------------------------------------------------------------------
# Judging a candidate with phonenumbers


def _clean(raw: str) -> str:
    """Digits in ASCII, separators as spaces, invisible characters dropped."""
    out = []
    for ch in raw:
        if "0" <= ch <= "9" or ch in "+()":
            out.append(ch)
        elif ch in _PLUS:
            out.append("+")
        elif ch in "\uff08[":
            out.append("(")
        elif ch in "\uff09]":
            out.append(")")
        else:
            digit = unicodedata.decimal(ch, None)
            if digit is not None:
                out.append(str(digit))
            elif ch in ".-/" or unicodedata.category(ch) in ("Zs", "Pd", "Po"):
                out.append(" ")
            # everything else (invisible, format, markers) is dropped
    return " ".join("".join(out).split())


def _national_prefix_ok(num: phonenumbers.PhoneNumber) -> bool:
    """phonenumbers' own VALID-leniency rule: a national number needs its trunk 0."""
    check = getattr(
        phonenumbers.phonenumbermatcher, "_is_national_prefix_present_if_required", None
    )
    return True if check is None else check(num)


class _Judge:
    """phonenumbers with a per-page budget and a cache of verdicts."""

    def __init__(self, regions: list[str]):
        self.regions = regions
        self.cache: dict[str, phonenumbers.PhoneNumber | None] = {}
        self.budget = MAX_PARSES_PER_PAGE

    def _parse(self, text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
        self.budget -= 1
        try:
            num = phonenumbers.parse(text, region, keep_raw_input=True)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(num) or not _national_prefix_ok(num):
            return None
        return num

    def number(self, cleaned: str) -> phonenumbers.PhoneNumber | None:
        if cleaned in self.cache:
            return self.cache[cleaned]
        if self.budget <= 0 or len(cleaned) > MAX_CANDIDATE_CHARS:
            return None
        digits = sum(ch.isdigit() for ch in cleaned)
        if not MIN_NUMBER_DIGITS <= digits <= MAX_NUMBER_DIGITS:
            self.cache[cleaned] = None
            return None
        num = None
        if cleaned.startswith("+"):
            num = self._parse(cleaned, None)
        else:
            for region in self.regions:
                num = self._parse(cleaned, region)
                if num is not None:
                    break
            if num is None and _NANP_RE.match(cleaned):
                # "1-844-555-0123" or "(844) 555-0123" on a European page: a
                # North American number; without the 1 only a toll-free one.
                only = "".join(ch for ch in cleaned if ch.isdigit())
                if len(only) == 11:
                    num = self._parse("+" + only, None)
                elif len(only) == 10:
                    num = self._parse(cleaned, "US")
                    if num is not None and phonenumbers.number_type(num) not in (
                        PhoneNumberType.TOLL_FREE,
                    ):
                        num = None
        self.cache[cleaned] = num
        return num


# ---------------------------------------------------------------------------
# Finding candidates in a piece of text


@dataclass
class _Sighting:
    num: phonenumbers.PhoneNumber
    raw: str
    source: str
    pos: int  # offset in the body text (or negative for the head)
    is_fax: bool = False
    context: str = ""


def _label(before: str) -> str | None:
    """The nearest label in front of a run: "fax", "phone", "not" or None."""
    window = before[-_LABEL_WINDOW:]
    found = None
    for match in _LABEL_RE.finditer(window):
        found = match
    if found is None or not _LABEL_GAP_RE.match(window[found.end() :]):
        return None
    return found.lastgroup


def _visible(text: str) -> str:
    return " ".join(_WS_RE.sub(" ", _JUNK_RE.sub("", text)).split())


def _context(text: str, start: int, end: int) -> str:
    left = text[max(0, start - CONTEXT_CHARS * 2) : start]
    right = text[end : end + CONTEXT_CHARS * 2]
    left = _visible(left)[-CONTEXT_CHARS:]
    right = _visible(right)[:CONTEXT_CHARS]
    return f"{left} {_visible(text[start:end])} {right}".strip()


def _scan(
    text: str, judge: _Judge, source: str, pos_base: int = 0, labelled: bool = False
) -> list[_Sighting]:
    """All numbers in a piece of text. ``labelled``: the text is known to be a
    phone value (a tel: link, a telephone property), so context rules are off."""
    found: list[_Sighting] = []
    for run in _RUN_RE.finditer(text):
        start, end = run.span()
        raw = run.group()
        ndigits = len(_DIGIT_RE.findall(raw))
        if ndigits < MIN_NUMBER_DIGITS:
            continue
        before = text[max(0, start - 64) : start]
        after = text[end : end + 16]
        is_fax = False
        if not labelled:
            # Glued to a code: NL91ABNA0417..., INV-2024..., v10.0.19045
            if before[-1:].isalnum() or _CODE_BEFORE_RE.search(before):
                continue
            if after[:1].isalnum():
                continue
            if _BTW_AFTER_RE.match(after) or _IBAN_BEFORE_RE.search(_visible(before[-16:])):
                continue
            label = _label(_visible(before))
            if label == "not":
                continue
            is_fax = label == "fax"
        for sub_start, sub_end, num in _numbers_in_run(raw, ndigits, judge, labelled):
            found.append(
                _Sighting(
                    num=num,
                    raw=_visible(raw[sub_start:sub_end]),
                    source=source,
                    pos=pos_base + start + sub_start,
                    is_fax=is_fax,
                    context=_context(text, start + sub_start, start + sub_end),
                )
            )
    return found


def _numbers_in_run(raw: str, ndigits: int, judge: _Judge, labelled: bool):
    """Valid numbers in one run: the whole run, else windows of digit groups."""
    if ndigits <= MAX_NUMBER_DIGITS and len(raw) <= MAX_CANDIDATE_CHARS * 2:
        cleaned = _clean(raw)
        if not labelled and _trap(cleaned):
            pass
        else:
            num = judge.number(cleaned)
            if num is not None:
                yield 0, len(raw), num
                return
    groups = [(m.start(), m.end(), len(m.group().lstrip(_PLUS))) for m in _GROUP_RE.finditer(raw)]
    if len(groups) < 2:
        return
    i = 0
    while i < len(groups) and judge.budget > 0:
        start = groups[i][0]
        if not _may_start_number(raw[start], judge.regions):
            i += 1
            continue
        # grow the window to the longest that can still be a number, then shrink
        j, total = i, 0
        while j < len(groups) and total + groups[j][2] <= MAX_NUMBER_DIGITS:
            total += groups[j][2]
            j += 1
        hit = None
        for k in range(j - 1, i - 1, -1):
            piece = raw[start : groups[k][1]]
            cleaned = _clean(piece)
            if sum(ch.isdigit() for ch in cleaned) < MIN_NUMBER_DIGITS:
                break
            if not labelled and _trap(cleaned):
                continue
            num = judge.number(cleaned)
            if num is not None:
                hit = (k, num)
                break
        if hit is None:
            i += 1
            continue
        yield start, groups[hit[0]][1], hit[1]
        i = hit[0] + 1


def _may_start_number(ch: str, regions: list[str]) -> bool:
    """Inside a long run a number starts at +, at a trunk prefix, or at 1 (NANP)."""
    if ch in _PLUS or ch in "(":
        return True
    digit = unicodedata.decimal(ch, None)
    if digit is None:
        return False
    if digit in (0, 1):
        return True
    for region in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
        if meta is not None and not meta.national_prefix:
            return True
    return False


def _trap(cleaned: str) -> bool:
    """Dates and year ranges written like numbers: 01-02-2023 10, 2019 - 2024."""
    return bool(_DATE_RE.search(cleaned) or _YEAR_RANGE_RE.match(cleaned))


def _scan_value(value: str, judge: _Judge, source: str, pos: int, is_fax: bool = False):
    """A value that is a phone number by its markup (tel: link, telephone property)."""
    value = value[: MAX_TEL_CHARS * 4]
    if value.lower().startswith(("tel:", "callto:", "sms:")):
        value = value.split(":", 1)[1]
    value = unquote(value[: MAX_TEL_CHARS * 2])
    # RFC 3966 parameters (;phone-context=, ;ext=) are dropped: phonenumbers
    # has a catastrophic slow path on long phone-context values.
    value = value.split(";", 1)[0].split("?", 1)[0].strip()[:MAX_TEL_CHARS]
    sightings = _scan(value, judge, source, labelled=True)
    for s in sightings:
        s.pos = pos
        s.is_fax = s.is_fax or is_fax
    return sightings


# ---------------------------------------------------------------------------
# The page


def _decode(html: str | bytes) -> str:
    if isinstance(html, str):
        return html[:MAX_HTML_CHARS]
    from w3lib.encoding import html_to_unicode

    _, text = html_to_unicode(None, html[: MAX_HTML_CHARS * 2])
    return text[:MAX_HTML_CHARS]


def _iter_json_telephones(data, depth: int = 0):
    """(value, is_fax) for every telephone/faxNumber in a JSON-LD document."""
    if depth > 20:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            lowered = str(key).lower()
            if lowered in ("telephone", "faxnumber", "phone"):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str | int):
                        yield str(item), lowered == "faxnumber"
            elif isinstance(value, dict | list):
                yield from _iter_json_telephones(value, depth + 1)
    elif isinstance(data, list):
        for item in data[:1000]:
            yield from _iter_json_telephones(item, depth + 1)


_JSON_TEL_RE = re.compile(r'"(telephone|faxNumber)"\s*:\s*"([^"]{1,64})"', re.IGNORECASE)


def _json_ld_values(text: str):
    text = text[:MAX_JSON_LD_CHARS]
    try:
        yield from _iter_json_telephones(json.loads(text))
    except (ValueError, RecursionError):
        # broken JSON-LD is common; the telephone values are still there
        for match in _JSON_TEL_RE.finditer(text):
            yield match.group(2), match.group(1).lower() == "faxnumber"


def _hidden_decoy(node) -> bool:
    """A tiny hidden element inside a number: 020<span style=display:none>9</span>123."""
    style = (node.attributes.get("style") or "").replace(" ", "").lower()
    hidden = (
        "hidden" in node.attributes
        or "display:none" in style
        or "visibility:hidden" in style
        or "font-size:0" in style
    )
    if not hidden:
        return False
    text = node.text(deep=True)
    return len(text.strip()) <= 4


def extract_phones(
    html: str | bytes,
    region: str = "NL",
    url: str | None = None,
    language: str | None = None,
) -> list[PhoneHit]:
    """Every distinct phone number on a page, in page order.

    ``region`` reads national-format numbers; the ``url``'s country-code TLD
    and the page ``language`` (or ``<html lang>``) are tried after it.
    """
    text = _decode(html)
    text = _BLOCK_TAG_RE.sub(_HARD + "<", text)
    tree = LexborHTMLParser(text)
    root = tree.root
    if root is None:
        return []
    if language is None:
        html_node = tree.css_first("html")
        language = html_node.attributes.get("lang") if html_node is not None else None
    judge = _Judge(region_hints(region, url, language))
    sightings: list[_Sighting] = []
    marks: dict[str, list[_Sighting]] = {}

    def mark(node, found: list[_Sighting]) -> None:
        if not found:
            return
        key = chr(_MARK_BASE + len(marks))
        marks[key] = found
        node.insert_after(key)

    # The head: title and meta descriptions come first in page order.
    for node in tree.css("title"):
        sightings += _scan(node.text(), judge, "title", pos_base=-2_000_000)
        break
    for node in tree.css("meta[content]"):
        name = (node.attributes.get("name") or node.attributes.get("property") or "").lower()
        itemprop = (node.attributes.get("itemprop") or "").lower()
        content = node.attributes.get("content") or ""
        if itemprop in ("telephone", "faxnumber"):
            sightings += _scan_value(
                content, judge, "microdata", -1_000_000, is_fax=itemprop == "faxnumber"
            )
        elif name.endswith("description") or name.endswith(":title"):
            sightings += _scan(content[:10_000], judge, "meta", pos_base=-1_500_000)

    # Scripts and styles are not visible; JSON-LD is read first.
    for node in tree.css("script, style, noscript, template"):
        if (node.attributes.get("type") or "").lower() == "application/ld+json":
            found = []
            for value, is_fax in _json_ld_values(node.text()):
                found += _scan_value(value, judge, "json-ld", 0, is_fax=is_fax)
            mark(node, found)
        node.decompose()
    for node in tree.css("[style], [hidden]"):
        if _hidden_decoy(node):
            node.decompose()

    # Elements whose markup says "phone number".
    for node in tree.css('a[href], area[href], [itemprop="telephone"], [itemprop="faxNumber"]'):
        attrs = node.attributes
        href = (attrs.get("href") or "").strip()
        found = []
        lowered = href[:8].lower()
        if lowered.startswith("tel:"):
            found += _scan_value(href, judge, "tel-link", 0)
        elif lowered.startswith("callto:"):
            found += _scan_value(href, judge, "callto-link", 0)
        itemprop = (attrs.get("itemprop") or "").lower()
        if itemprop in ("telephone", "faxnumber") and node.tag != "meta":
            value = attrs.get("content") or node.text(deep=True)
            found += _scan_value(value or "", judge, "microdata", 0, is_fax=itemprop == "faxnumber")
        mark(node, found)
    for node in tree.css("[alt], [title], [aria-label]"):
        attrs = node.attributes
        found = []
        for name in ("alt", "title", "aria-label"):
            value = attrs.get(name)
            if value and len(_DIGIT_RE.findall(value[:500])) >= MIN_NUMBER_DIGITS:
                found += _scan(value[:500], judge, "attr")
        mark(node, found)

    # The visible text of the body.
    body = tree.body or root
    body_text = body.text(deep=True, separator=_SOFT)
    sightings += _scan(body_text, judge, "text")
    for match in _MARK_RE.finditer(body_text):
        for s in marks.pop(match.group(), []):
            s.pos = match.start()
            if not s.context:
                s.context = _context(body_text, match.start(), match.end())
            sightings.append(s)
    for found in marks.values():  # markers outside the body (JSON-LD in the head)
        for s in found:
            s.pos = -500_000
            sightings.append(s)

    return _merge(sightings)


def _merge(sightings: list[_Sighting]) -> list[PhoneHit]:
    sightings.sort(key=lambda s: s.pos)
    hits: dict[str, PhoneHit] = {}
    contact: dict[str, bool] = {}
    for s in sightings:
        e164 = phonenumbers.format_number(s.num, PhoneNumberFormat.E164)
        hit = hits.get(e164)
        if hit is None:
            hits[e164] = _hit(s, e164)
            contact[e164] = not s.is_fax
            continue
        if s.source not in hit.sources:
            hit.sources.append(s.source)
        if not s.is_fax:
            contact[e164] = True
    for e164, hit in hits.items():
        # Fax only when every sighting says fax; a number also shown as a
        # contact number is a contact number.
        hit.is_fax = not contact[e164]
    return list(hits.values())


def _hit(s: _Sighting, e164: str) -> PhoneHit:
    num = s.num
    name = carrier.name_for_number(num, "en") or None
    return PhoneHit(
        phone=e164,
        raw=s.raw,
        source=s.source,
        sources=[s.source],
        number_type=_TYPE_NAMES.get(phonenumbers.number_type(num), "unknown"),
        country=phonenumbers.region_code_for_number(num) or "",
        nl_category=nl_category(e164),
        carrier=name,
        is_fax=s.is_fax,
        context=s.context,
    )


def normalize_phone(value: str, region: str = "NL") -> str | None:
    """E.164 for a phone number in any format, or None if it is not a valid number.

    >>> normalize_phone("020 - 123 45 67")
    '+31201234567'
    """
    if not value:
        return None
    judge = _Judge(region_hints(region))
    found = _scan_value(str(value), judge, "text", 0)
    if len(found) != 1:
        return None
    return phonenumbers.format_number(found[0].num, PhoneNumberFormat.E164)
