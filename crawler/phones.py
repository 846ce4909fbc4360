"""Find the phone numbers a page shows, and nothing else.

``extract_phones(html, region, url, language)`` returns one :class:`PhoneHit`
per distinct number, in page order, with every place it was seen: the visible
text (title and meta descriptions included), ``tel:``/``callto:``/``sms:`` and
WhatsApp links, JSON-LD and microdata/RDFa ``telephone`` values and
``alt``/``title``/``aria-label`` attributes. ``normalize_phone`` gives E.164.

How it works, and why it is fast (bench/extract.py measures it):

- the page is parsed once with selectolax's lexbor backend (4-5x faster than
  lxml.html, 60x and more than BeautifulSoup); before that a hard separator
  goes in front of every block-level tag, and lexbor joins text nodes with a
  soft one, so digits split across ``<span>``s join up while cells do not;
- the text becomes a skeleton, one class byte per character (digit,
  separator, letter...), and a regular expression that starts with a literal
  finds runs of five digits or more on it at C speed, dropping runs glued to
  codes (``NL91ABNA0417...``, ``SKU-1234...``) there and then;
- only those runs go to phonenumbers, which stays the judge of what a number
  is (VALID leniency: valid, trunk prefix present in national format); long
  runs are split into windows of digit groups;
- a run that holds a number has its context read: the nearest label in front
  ("KvK", "IBAN", "ordernummer", "€", "Fax", "F:") and dates, years, BTW
  suffixes and IBAN prefixes around it.

Hostile input is bounded: the page, every candidate and every ``tel:`` value
are capped in length before phonenumbers parses them (it has a slow path on
long ``phone-context`` values, which are dropped), the parse calls and
candidates per page are capped, and a page nested deeper than HTML tree
building can take in linear time is read as tag soup.
"""

from __future__ import annotations

import codecs
import collections
import functools
import html as html_lib
import itertools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, carrier
from selectolax.lexbor import LexborHTMLParser

from crawler.net.limits import too_deep
from crawler.plain import plain_dict

__all__ = [
    "PhoneHit",
    "extract_phones",
    "hits_from_text",
    "nl_category",
    "normalize_phone",
    "region_hints",
    "result_hits",
]

# ---------------------------------------------------------------------------
# Limits (hostile input)

MAX_HTML_CHARS = 8_000_000  # a longer page is cut here before parsing
MAX_CANDIDATE_CHARS = 48  # a candidate longer than this is never a phone number
MAX_NUMBER_DIGITS = 17  # "00" + country code + the longest national number
MIN_NUMBER_DIGITS = 5  # shorter numbers exist (112, 14 020) but are not helpdesks
MAX_TEL_CHARS = 64  # tel:/callto: values and attribute values handed on
MAX_PARSES_PER_PAGE = 4000  # distinct phonenumbers.parse calls per page
MAX_SIGHTINGS_PER_NUMBER = 50  # label and context reads per number and source
MAX_TRIES_PER_PAGE = 40_000  # candidates looked at per page (cached or not)
MAX_GROUPS_PER_RUN = 400  # digit groups of one run looked at (lists of numbers)
MAX_JSON_LD_CHARS = 1_000_000
CONTEXT_CHARS = 100  # either side of a sighting: ~200 chars of context

# ---------------------------------------------------------------------------
# The public record


@dataclass
class PhoneHit:
    """One distinct phone number seen on a page."""

    phone: str  # E.164
    raw: str  # as shown on the page
    # primary source (first sighting): "text" | "title" | "meta" | "tel-link" |
    # "callto-link" | "sms-link" | "whatsapp-link" | "json-ld" | "microdata" | "attr"
    source: str
    sources: list[str] = field(default_factory=list)
    number_type: str = "unknown"
    country: str = ""
    nl_category: str | None = None
    carrier: str | None = None
    is_fax: bool = False
    context: str = ""

    def to_dict(self) -> dict:
        return plain_dict(self)


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
_MAX_MARKS = 0xFFFF
_SEP = _INVISIBLE + _SPACES + _PUNCT + _SOFT + _MARKS
_SEPARATOR_CHARS = " \t\r\n\x1f\u00a0.-/()[]\u200b"  # stripped off the end of a piece
_PLUS = "+\uff0b"


def _char_class(ch: str) -> str:
    """One byte per character for the run finder: digit, plus, separator, letter, other."""
    if unicodedata.decimal(ch, None) is not None:
        return "0"
    if ch in _PLUS:
        return "+"
    if ch in "-/":  # separators that also glue codes: SKU-1234, 2024/0612
        return "-"
    if ch in "_#":  # glue, never separators: ORD_1234, #1234
        return "#"
    if ch == "@":  # 0612345678@example.com, @0612345678
        return "@"
    if _SEP_RE.match(ch):
        return " "
    return "a" if ch.isalnum() else "!"


_SEP_RE = re.compile(f"[{_SEP}]")
_CLASS_TABLE = bytes(ord(_char_class(chr(i))) for i in range(256))
_class_cache: dict[str, str] = {}


def _class_errors(exc: UnicodeEncodeError) -> tuple[str, int]:
    run = exc.object[exc.start : exc.end]
    classes = _class_cache.get(run)
    if classes is None:
        classes = "".join(map(_char_class, run))
        if len(run) <= 4 and len(_class_cache) < 50_000:
            _class_cache[run] = classes
    return classes, exc.end


codecs.register_error("serpwatch.phones.classes", _class_errors)


def _skeleton(text: str) -> bytes:
    """``text`` as one class byte per character ("Bel 020-12" -> "aaa 000 00").

    Latin-1 covers most characters of European pages, so encoding plus a byte
    translation is fast; the few others (€, zero-width spaces, fullwidth
    digits) go through the error handler. The classes are fixed points of the
    table, so the handler's output survives the translation.
    """
    return text.encode("latin-1", "serpwatch.phones.classes").translate(_CLASS_TABLE)


# A run: five digits or more with at most four separators between two digits,
# not glued to a code (NL91ABNA0417..., SKU-1234..., 0201234567B01). On the
# skeleton this regex starts with a literal, which ``re`` finds at C speed:
# 2x faster than a character class with \d on the text itself.
_SKELETON_RUN_RE = re.compile(
    rb"0(?<![a0@].)(?<!a[-#].)(?:[ -]{0,4}0){%d,}(?![a0@])" % (MIN_NUMBER_DIGITS - 1)
)
_OPEN = "([\uff08"


def _runs(text: str):
    """(start, end) of each run of digits and separators in ``text``."""
    for match in _SKELETON_RUN_RE.finditer(_skeleton(text)):
        start, end = match.span()
        # a plus or bracket in front, also past invisible characters: "+\u200b31"
        j = start
        while j and start - j < 4:
            ch = text[j - 1]
            if ch in _PLUS or ch in _OPEN:
                start = j - 1
            elif not _JUNK_RE.match(ch):
                break
            j -= 1
        yield start, end


_DIGIT_RE = re.compile(r"\d")
_GROUP_RE = re.compile(rf"[{_PLUS}]?\d+")
_JUNK_RE = re.compile(f"[{_INVISIBLE}{_SOFT}{_MARKS}]+")
_WS_RE = re.compile(rf"[{_SPACES}{_HARD}]+")

_BLOCK_TAGS = (
    "address article aside blockquote br button caption dd details dialog div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr img input label "
    "legend li main nav ol option p pre section select summary table tbody td textarea "
    "tfoot th thead tr ul"
).split()


def _alternation(words: list[str]) -> str:
    """A regex alternation factored on first letters: far faster in ``re`` than a flat one."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(re.escape(word[1:]))
    return "|".join(
        first + "(?:" + "|".join(sorted(rest, key=len, reverse=True)) + ")"
        for first, rest in sorted(by_first.items())
    )


# A hard separator goes in front of every block tag, opening or closing. In
# front of a closing tag it lands inside the element, so cells and paragraphs
# never run into each other even where the parser moves stray text.
# (Lower and upper case spelled out: re.IGNORECASE makes this 2x slower.)
_BLOCK_NAMES = _alternation(_BLOCK_TAGS) + "|" + _alternation([w.upper() for w in _BLOCK_TAGS])
_BLOCK_TAG_RE = re.compile(f"<(?=/?(?:{_BLOCK_NAMES})[\\s/>])")

# ---------------------------------------------------------------------------
# Context rules: what the text just before or after a run says it is

_NUMBER_SUFFIX = r"(?:s?[-\s]?(?:nummers?|nrs?|numbers?|num|no|id))?"
_PHONE_WORDS = (
    "tel telefoon telephone telefon tél téléphone teléfono phone ph bel bellen belt call "
    "mobiel mobile mob gsm whatsapp helpdesk klantenservice support hotline servicedesk "
    "contact t m nummer number service storing storingen spoed nood alarm informatie info "
    "hulp centrale receptie hoofd algemeen direct sms meld fraude vast doorkies toestel"
)
_NOT_WORDS = (
    # registers, tax and bank
    "kvk k.v.k coc koophandel handelsregister btw vat tva ust rsin bsn "
    "iban bic swift rekening account bank giro "
    # products and shops
    "ean gtin isbn issn upc sku art artikel artikelnummer product model type serial "
    "serienummer barcode order bestelling bestelnummer factuur invoice klantnummer klantnr "
    "customer referentie reference ref kenmerk dossier zaaknummer ticket case pin code "
    "license licentie licence kenteken "
    # parcels, versions, dates, money, pages
    "track tracking trace zending pakket verzending shipment versie version build "
    "release postcode zip postbus datum date prijs price eur euro usd aantal pagina page"
)


def _words(words: str) -> str:
    return "|".join(re.escape(w) for w in sorted(words.split(), key=len, reverse=True))


# The nearest label in front of a run says what it is. A label may carry a
# "number" suffix (KvK-nummer, telefoonnr, order no).
_LABEL_RE = re.compile(
    rf"(?P<fax>\b(?:tele)?fax{_NUMBER_SUFFIX}\b|\bf(?:\s*[:.]|(?=\s*$)))"
    rf"|(?P<phone>\b(?:{_words(_PHONE_WORDS)}){_NUMBER_SUFFIX}(?!\w)"
    r"|[\u260e\u260f\u2706\U0001f4de\U0001f4f1])"
    rf"|(?P<not>\b(?:{_words(_NOT_WORDS)}){_NUMBER_SUFFIX}(?!\w)|[#\u20ac$\u00a3\u00a5\u2116]"
    # any other "...nummer": polis-, lid-, pas-, registratie-, vestigingsnummer
    r"|\b\w{2,30}(?:nummer|nr)\b)",
    re.IGNORECASE,
)
# How far before a run a label still counts, and what may stand between.
_LABEL_WINDOW = 32
# Between a label and its number: no digits, no end of a question or sentence
# ("Vragen over uw order? Bel 020..."), and a block boundary only after a bare
# label cell ("<th>Fax</th><td>020...").
_LABEL_GAP_RE = re.compile(r"^(?:[^\d?!\x1e]{0,24}|[\s:]*\x1e[\s:\x1e]*)$")
# A "not a phone" label must stand right in front: "KvK-nummer: ", "uw klantnummer
# is ", "order #"; "elk type probleem: 020..." is a phone number.
# (\x1e, the block separator, is whitespace to Python's \s: _PUNCT_GAP leaves it out.)
_PUNCT_GAP = r"(?:[^\S\x1c-\x1f]|[:.#=\-\u2013])*"
_NOT_GAP_RE = re.compile(
    rf"^(?:{_PUNCT_GAP}(?:(?:is|nr|no|nummer|number)\b{_PUNCT_GAP})?|[\s:]*\x1e[\s:\x1e]*)$",
    re.IGNORECASE,
)
_IBAN_BEFORE_RE = re.compile(r"\b[A-Z]{2}\d{2}[\s.]?(?:[A-Z]{4}[\s.]?)?$")
_BTW_AFTER_RE = re.compile(r"^[\s.]?B\d\d\b")
# Dates and times inside a run are cut out before phonenumbers looks at it:
# "09.00 - 17.00" would otherwise be 0900 1700, a valid premium number.
_TIME = r"(?<![\d.:])(?:[01]?\d|2[0-3])[.:][0-5]\d(?![\d.:])"
_TRAP_RE = re.compile(
    r"(?<![\d.])(?:"
    r"[0-3]?\d([-./])[01]?\d\1(?:19|20)\d\d"  # 01-02-2023, 1.2.2023
    r"|(?:19|20)\d\d([-./])[01]?\d\2[0-3]?\d"  # 2023-02-01
    r"|(?:19|20)\d\d\s?[-/\u2013]\s?(?:19|20)\d\d"  # 2019 - 2024
    r")(?![\d.])"
    rf"|{_TIME}(?:\s*[-\u2013]\s*{_TIME})?"  # 09.00 - 17.00, 10:30
)

# ---------------------------------------------------------------------------
# Regions

_TLD_REGION = {"uk": "GB"}
# Country-code TLDs used as generic names: no hint about the country at all.
_GENERIC_TLDS = frozenset(
    "ac ag ai am as bz cc cd cf cm co fm ga gg gl gq gs im io la ly me ml ms mu nu "
    "pw sc sh so st su tk tm to tv vc vg ws".split()
)
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
        if len(tld) == 2 and tld.isalpha() and tld not in _GENERIC_TLDS:
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


_ASCII_CLEAN = str.maketrans({**{ch: " " for ch in ".-/\\\t\r\n\x1e" + _SOFT}, "[": "(", "]": ")"})


def _clean(raw: str) -> str:
    """Digits in ASCII, separators as spaces, invisible characters dropped."""
    if raw.isascii():
        return " ".join(raw.translate(_ASCII_CLEAN).split())
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
        self.tries = MAX_TRIES_PER_PAGE

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
        self.tries -= 1
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


_BOTH_RE = re.compile(r"^[\s/&+,|]*(?:en|of|and|or|und|et)?[\s/&+,|]*$", re.IGNORECASE)


def _label(before: str) -> str | None:
    """The nearest label in front of a run: "fax", "phone", "not" or None.

    "Tel/Fax", "telefoon en fax": a number that is both is a contact number."""
    window = _dejunk(before)[-_LABEL_WINDOW:]
    matches = list(_LABEL_RE.finditer(window))
    if not matches:
        return None
    last = matches[-1]
    gap = _NOT_GAP_RE if last.lastgroup == "not" else _LABEL_GAP_RE
    if not gap.match(window[last.end() :]):
        return None
    if last.lastgroup == "fax" and len(matches) > 1:
        prev = matches[-2]
        if prev.lastgroup == "phone" and _BOTH_RE.match(window[prev.end() : last.start()]):
            return "phone"
    return last.lastgroup


def _shown(raw: str) -> str:
    """A run as shown: visible characters, without a bracket that opens nothing."""
    shown = _visible(raw)
    if shown[:1] in "([\uff08" and not any(ch in shown for ch in ")]\uff09"):
        shown = shown[1:].lstrip()
    return shown


def _visible(text: str) -> str:
    return " ".join(_WS_RE.sub(" ", _dejunk(text)).split())


def _dejunk(text: str) -> str:
    """`_JUNK_RE.sub("", text)`: the only junk in ASCII is _SOFT, which `replace`
    drops faster than the pattern's large class does."""
    text = text.replace(_SOFT, "")
    return text if text.isascii() else _JUNK_RE.sub("", text)


def _context(text: str, start: int, end: int) -> str:
    """About CONTEXT_CHARS of visible text either side of text[start:end]; a block
    boundary (a new paragraph, cell, heading) shows as a line break."""
    left = _collapse(text[max(0, start - CONTEXT_CHARS * 3) : start])[-CONTEXT_CHARS:]
    right = _collapse(text[end : end + CONTEXT_CHARS * 3])[:CONTEXT_CHARS]
    return _BREAKS_RE.sub("\n", left + _collapse(text[start:end]) + right).strip()


_BREAKS_RE = re.compile(r"[ ]*\n[ \n]*")
_HARD_RUN_RE = re.compile(rf"[{_SPACES}{_HARD}]*{_HARD}[{_SPACES}{_HARD}]*")
# White space to make one space of: a run, or one character that is not a space
# (a run of one space stays as it is, without a replacement).
_SPACE_RUN_RE = re.compile(rf"[{_SPACES}]{{2,}}|[{_SPACES.removeprefix(' ')}]")


def _collapse(part: str) -> str:
    """Junk out; a run of white space that holds a block boundary becomes a line
    break, any other a space. (Without a Python call per run, as
    `_WS_RE.sub(_break_or_space, ...)` did: a tenth of extracting a page.)"""
    part = _dejunk(part)
    if _HARD not in part:
        return _SPACE_RUN_RE.sub(" ", part)
    part = _SPACE_RUN_RE.sub(" ", _HARD_RUN_RE.sub(_HARD, part))
    return part.replace(_HARD, "\n")


def _num_key(num: phonenumbers.PhoneNumber) -> tuple:
    return (num.country_code, num.national_number, num.number_of_leading_zeros)


def _scan(
    text: str, judge: _Judge, source: str, pos_base: int = 0, labelled: bool = False
) -> list[_Sighting]:
    """All numbers in a piece of text. ``labelled``: the text is known to be a
    phone value (a tel: link, a telephone property), so context rules are off."""
    found: list[_Sighting] = []
    contact_seen: set[tuple] = set()
    times: collections.Counter = collections.Counter()
    any_start = not _zero_trunk_only(tuple(judge.regions))
    for start, end in _runs(text):
        # Glued to letters or digits: NL91ABNA0417..., 0201234567B01, v10.0.19045
        if not labelled and (
            (start and text[start - 1].isalnum())
            or text[end : end + 1].isalnum()
            or (start > 1 and text[start - 1] in "-_/#" and text[start - 2].isalnum())
        ):
            continue
        raw = text[start:end]
        # "24/7 020 123 4567": a run whose first digit cannot start a number
        # may still hold one further on.
        whole = (
            any_start
            or raw[0] in _STARTS
            or unicodedata.decimal(raw[0], None) in (0, 1)
            or (len(raw) <= 24 and _NANP_RE.match(_clean(raw)) is not None)
        )
        numbers = list(_numbers_in_run(raw, judge, whole))
        if not numbers:
            continue
        # A number already seen here as a contact number gains nothing from
        # another sighting; skipping its label and context keeps a page that
        # repeats one number 200,000 times linear and fast.
        # A number seen MAX_SIGHTINGS_PER_NUMBER times already (as fax, say)
        # has told us all it will.
        keys = [_num_key(n) for *_, n in numbers]
        if all(k in contact_seen or times[k] >= MAX_SIGHTINGS_PER_NUMBER for k in keys):
            continue
        for k in keys:
            times[k] += 1
        # Only runs that hold a valid number get their context read.
        is_fax = False
        if not labelled:
            before = text[max(0, start - 64) : start]
            if _BTW_AFTER_RE.match(text[end : end + 8]):
                continue
            if _IBAN_BEFORE_RE.search(_visible(before[-24:])):
                continue
            label = _label(before)
            if label == "not":
                continue
            is_fax = label == "fax"
        for sub_start, sub_end, num in numbers:
            if not is_fax:
                contact_seen.add(_num_key(num))
            found.append(
                _Sighting(
                    num=num,
                    raw=_shown(raw[sub_start:sub_end]),
                    source=source,
                    pos=pos_base + start + sub_start,
                    is_fax=is_fax,
                    context=_context(text, start + sub_start, start + sub_end),
                )
            )
    return found


def _numbers_in_run(raw: str, judge: _Judge, whole: bool = True):
    """(start, end, number) for the valid numbers in a run, dates and times cut out."""
    pieces, last = [], 0
    for trap in itertools.islice(_TRAP_RE.finditer(raw), MAX_GROUPS_PER_RUN):
        pieces.append((last, trap.start()))
        last = trap.end()
    pieces.append((last, len(raw)))
    for n, (lo, hi) in enumerate(pieces):
        if n:  # after a date or time: the piece starts at its first digit
            first = _FIRST_DIGIT_RE.search(raw, lo, hi)
            if first is None:
                continue
            lo = first.start()
            whole = _may_start_number(raw[lo], judge.regions)
        yield from _numbers_in_piece(raw, lo, hi, judge, whole)


_FIRST_DIGIT_RE = re.compile(rf"[{_PLUS}(\[\uff08\d]")


def _numbers_in_piece(raw: str, lo: int, hi: int, judge: _Judge, whole: bool):
    """Valid numbers in raw[lo:hi]: the whole piece, else windows of digit groups."""
    piece = raw[lo:hi].rstrip(_SEPARATOR_CHARS)
    if sum(ch.isdigit() for ch in piece) < MIN_NUMBER_DIGITS:
        return
    if whole and len(piece) <= MAX_CANDIDATE_CHARS:
        num = judge.number(_clean(piece))
        if num is not None:
            yield lo, lo + len(piece), num
            return
    groups = [
        (m.start(), m.end(), len(m.group().lstrip(_PLUS)))
        for m in itertools.islice(_GROUP_RE.finditer(piece), MAX_GROUPS_PER_RUN)
    ]
    i = 0
    while i < len(groups) and judge.budget > 0 and judge.tries > 0:
        start = groups[i][0]
        if not _may_start_number(piece[start], judge.regions):
            i += 1
            continue
        # grow the window to the longest that can still be a number, then shrink
        j, total = i, 0
        while j < len(groups) and total + groups[j][2] <= MAX_NUMBER_DIGITS:
            total += groups[j][2]
            j += 1
        hit = None
        for k in range(j - 1, i - 1, -1):
            cleaned = _clean(piece[start : groups[k][1]])
            if sum(ch.isdigit() for ch in cleaned) < MIN_NUMBER_DIGITS:
                break
            num = judge.number(cleaned)
            if num is not None:
                hit = (k, num)
                break
        if hit is None:
            i += 1
            continue
        yield lo + start, lo + groups[hit[0]][1], hit[1]
        i = hit[0] + 1


_STARTS = frozenset(_PLUS + "([\uff08" + "01")


def _may_start_number(ch: str, regions: list[str]) -> bool:
    """A number starts at +, a bracket, a trunk prefix 0, or 1 (NANP) where every
    hinted region writes national numbers with a trunk 0 (NL, BE, DE, GB, FR...)."""
    if ch in _STARTS:
        return True
    digit = unicodedata.decimal(ch, None)
    if digit in (0, 1):
        return True
    return not _zero_trunk_only(tuple(regions))


@functools.cache
def _zero_trunk_only(regions: tuple[str, ...]) -> bool:
    for region in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
        if meta is None or meta.national_prefix != "0":
            return False
    return True


_WHATSAPP_RE = re.compile(
    r"^(?:https?:)?//(?:www\.)?(?:wa\.me/(?:c/)?|(?:api|web)\.whatsapp\.com/send/?\?(?:.*&)?phone=)"
    r"\+?(\d{6,16})\b",
    re.IGNORECASE,
)


def _link_phone(href: str) -> tuple[str, str] | None:
    """(source, value) when a link dials, texts or chats with a number."""
    scheme = href[:8].lower()
    if scheme.startswith("tel:"):
        return "tel-link", href
    if scheme.startswith(("callto:", "skype:")):
        return "callto-link", href
    if scheme.startswith("sms:"):
        return "sms-link", href
    if "whatsapp" in scheme or "wa.me" in href[:20].lower() or "whatsapp.com" in href[:32]:
        match = _WHATSAPP_RE.match(href[:200])
        if match:
            return "whatsapp-link", "+" + match.group(1)  # always international
    return None


def _scan_value(value: str, judge: _Judge, source: str, pos: int, is_fax: bool = False):
    """A value that is a phone number by its markup (tel: link, telephone property)."""
    value = value[: MAX_TEL_CHARS * 4]
    if value.lower().startswith(("tel:", "callto:", "sms:", "skype:")):
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


def _iter_json_telephones(data, depth: int = 0, owner: str = ""):
    """(value, is_fax, owner) for every telephone/faxNumber in a JSON-LD document;
    `owner` is whose number the document says it is: the `name` (and `contactType`)
    of the object that holds it or of the nearest object above it."""
    if depth > 20:
        return
    if isinstance(data, dict):
        name = data.get("name")
        if isinstance(name, str) and name.strip():
            owner = name.strip()[:100]
        kind = data.get("contactType")
        label = f"{owner} {kind.strip()[:50]}".strip() if isinstance(kind, str) else owner
        for key, value in data.items():
            lowered = str(key).lower()
            if lowered in ("telephone", "faxnumber", "phone"):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str | int):
                        yield str(item), lowered == "faxnumber", label
            elif isinstance(value, dict | list):
                yield from _iter_json_telephones(value, depth + 1, owner)
    elif isinstance(data, list):
        for item in data[:1000]:
            yield from _iter_json_telephones(item, depth + 1, owner)


_JSON_TEL_RE = re.compile(r'"(telephone|faxNumber)"\s*:\s*"([^"]{1,64})"', re.IGNORECASE)


def _json_ld_values(text: str):
    text = text[:MAX_JSON_LD_CHARS]
    try:
        yield from _iter_json_telephones(json.loads(text))
    except (ValueError, RecursionError):
        # broken JSON-LD is common; the telephone values are still there
        for match in _JSON_TEL_RE.finditer(text):
            yield match.group(2), match.group(1).lower() == "faxnumber", ""


def _hidden_decoy(node) -> bool:
    """A tiny hidden element inside a number: 020<span style=display:none>9</span>123."""
    style = (node.attributes.get("style") or "").replace(" ", "").lower()
    hidden = (
        "hidden" in node.attributes
        or "display:none" in style
        or "visibility:hidden" in style
        or "font-size:0" in style
        or "opacity:0" in style
    )
    if not hidden:
        return False
    text = node.text(deep=True)
    return len(text.strip()) <= 4


_TAG_RE = re.compile(r"<(?:!--.*?--|[!?/]?[a-zA-Z][^>]*)>", re.DOTALL)
_INVISIBLE_ELEMENT_RE = re.compile(
    r"<(script|style|noscript|template)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE
)
_TEL_HREF_RE = re.compile(r"""href\s*=\s*["']?\s*((?:tel|callto):[^"'\s>]{0,200})""", re.I)


def _extract_tag_soup(
    text: str, region: str, url: str | None, language: str | None
) -> list[PhoneHit]:
    """Degraded mode for pages built to choke an HTML parser: strip tags by regex."""
    judge = _Judge(region_hints(region, url, language))
    sightings = []
    for match in _TEL_HREF_RE.finditer(text):
        kind = "callto-link" if match.group(1).lower().startswith("callto") else "tel-link"
        sightings += _scan_value(html_lib.unescape(match.group(1)), judge, kind, match.start())
    stripped = _INVISIBLE_ELEMENT_RE.sub(" ", text)
    stripped = html_lib.unescape(_TAG_RE.sub(_SOFT, stripped))
    for s in _scan(stripped, judge, "text"):
        sightings.append(s)
    return _merge(sightings)


def extract_phones(  # noqa: C901, PLR0912, PLR0915 -- 2026-12-05: one pass over all sources for speed (bench/extract.py); to be split per source
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
    body_at = min((i for i in (text.find("<body"), text.find("<BODY")) if i >= 0), default=0)
    body, blocks = _BLOCK_TAG_RE.subn(_HARD + "<", text[body_at:])
    text = text[:body_at] + body
    if blocks > 10_000 and too_deep(text):
        # HTML5 tree building is quadratic in the depth of unclosed <div>s
        return _extract_tag_soup(text, region, url, language)
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
        if len(marks) >= _MAX_MARKS:
            sightings.extend(found)  # page order is lost past this many, not the numbers
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
            for value, is_fax, owner in _json_ld_values(node.text()):
                values = _scan_value(value, judge, "json-ld", 0, is_fax=is_fax)
                for s in values:  # the number's "sentence" is whose it is said to be
                    s.context = f"{owner}: {s.raw}" if owner else s.raw
                found += values
            mark(node, found)
        node.decompose()
    for node in tree.css("[style], [hidden]"):
        if _hidden_decoy(node):
            node.decompose()

    # Elements whose markup says "phone number".
    for node in tree.css(
        'a[href], area[href], [itemprop="telephone"], [itemprop="faxNumber"], '
        '[property$="telephone"], [property$="faxNumber"]'
    ):
        attrs = node.attributes
        href = (attrs.get("href") or "").strip()
        found = []
        link = _link_phone(href)
        if link is not None:
            found += _scan_value(link[1], judge, link[0], 0)
        itemprop = (attrs.get("itemprop") or attrs.get("property") or "").lower()
        itemprop = itemprop.rsplit(":", 1)[-1].rsplit("/", 1)[-1]  # schema:telephone (RDFa)
        if itemprop == "faxnumber" and node.tag != "meta":
            node.insert_before(_HARD + "Fax: ")  # its text is a fax number too
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
    for key in list(marks):
        at = body_text.find(key)
        if at < 0:
            continue  # outside the body (JSON-LD in the head)
        around = _context(body_text, at, at + 1)
        for s in marks.pop(key):
            s.pos = at
            # Alt text and JSON-LD say something of their own about the number
            # ("Bel PostNL klantenservice: 085 ..."): it comes first, the text around after.
            own = s.context if s.source in ("attr", "json-ld") else ""
            s.context = f"{own}\n{around}" if own and own != s.raw else around
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


MAX_RESULT_TEXT = 5_000  # a search result's text is short; a longer one is cut


def hits_from_text(
    parts: str | list[str],
    region: str = "NL",
    *,
    links: list[str] | tuple[str, ...] = (),
    url: str | None = None,
) -> list[PhoneHit]:
    """The page extractor on plain text: a search result's title, snippet and
    display URL (``parts``, read as separate blocks: a number never runs from
    one into the next) and the ``tel:``/``callto:`` links beside them.

    The same judge, context rules (KvK, IBAN, dates, "Fax") and limits as
    `extract_phones`, without building HTML: the engines' parsers and
    `result_hits` find numbers in results this way, so a snippet and a page
    are read alike.
    """
    if isinstance(parts, str):
        parts = [parts]
    text = _HARD.join(p for p in parts if p)[:MAX_RESULT_TEXT]
    judge = _Judge(region_hints(region, url))
    sightings = _scan(text, judge, "text")
    for i, href in enumerate(links):
        link = _link_phone((href or "").strip())
        if link is not None:
            # After the text: a number shown in words keeps that sentence as its context.
            sightings += _scan_value(link[1], judge, link[0], len(text) + i)
    return _merge(sightings)


def result_hits(appearances: list[dict], known: set[str], region: str = "NL") -> list[PhoneHit]:
    """Numbers a search result showed (an ad's text and call extension, a
    snippet, a local or call card) that its landing page does not.

    A scam ad may carry the number while its landing page shows none or
    another, and a cloaking page may hide it from us; the number is recorded
    on the landing page with source `ad` (or `local`, `call`, or `result` for
    an organic result), read with the result's title and text around it, so
    the scorer sees whose the result says it is.
    """
    found: list[PhoneHit] = []
    for showing in appearances:
        missing = [p for p in showing.get("phones") or [] if p not in known]
        if not missing:
            continue
        kind = showing.get("kind") or ("ad" if showing.get("is_ad") else "organic")
        source = "result" if kind == "organic" else kind
        # The result's words, then its numbers as its call button shows them:
        # a number only on the button is read in the sentence of the result.
        parts = [showing.get("snippet") or "", showing.get("title") or ""]
        parts += [f"Bel {p}" for p in missing]
        for hit in hits_from_text(parts, region):
            if hit.phone in missing and hit.phone not in known:
                hit.source, hit.sources = source, [source]
                known.add(hit.phone)
                found.append(hit)
    return found
