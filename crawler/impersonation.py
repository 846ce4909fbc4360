"""Does a domain or a page title pose as a brand? Pure functions over strings.

`domain_match(host, brands)` finds a brand's name in a host (`kpn-storingsdienst.nl`)
or an imitation of it: look-alike characters (`rnicrosoft`, `micros0ft`,
Cyrillic letters behind punycode `xn--...`) and one-typo variants
(`microsfot`, `mircosoft`). `title_match(title, brands)` finds a brand's name in
a page title, with or without helpdesk words. Both take `brands` as
`[(brand name, [keywords])]`, the queried brand first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from crawler.domains import host_parts
from crawler.plain import plain_dict

# Words that make a brand name in a domain or title read as "the brand's helpdesk".
STRONG_HELPDESK = (
    "helpdesk",
    "klantenservice",
    "klantendienst",
    "servicedesk",
    "support",
    "storing",
    "bellen",
    "hotline",
    "helpline",
    "ondersteuning",
    "telefoonnummer",
    "customerservice",
    "customercare",
)
WEAK_HELPDESK = (
    "help",
    "hulp",
    "service",
    "contact",
    "desk",
    "care",
    "nummer",
    "telefoon",
    "phone",
    "call",
    "tech",
    "assist",
    "beveiliging",
    "security",
    "account",
    "recovery",
    "herstel",
    "inlog",
    "login",
)
# Words of an independent trade: a repair shop or a store that names the brand.
TRADE = (
    "reparatie",
    "reparateur",
    "repair",
    "winkel",
    "webshop",
    "shop",
    "store",
    "reseller",
    "tweedehands",
    "refurbished",
    "outlet",
    "occasion",
    "onderdelen",
    "accessoires",
    "hoesjes",
)
# Words of Dutch, English, German and French that lie one typo from a brand's
# name or hold a short one ("appel" is Dutch for apple, "boeking" for booking,
# "helping" ends in "ing"). A domain made of them is a word, not a look-alike,
# unless it adds strong helpdesk words ("appel-klantenservice.nl"). One a line.
DICTIONARY = frozenset(
    """
    appel
    appels
    appeltje
    appell
    appeler
    appelez
    appelle
    appellent
    apply
    ample
    boeking
    boekingen
    postal
    goggle
    goggles
    canoe
    avant
    amazone
    helping
    hosting
    shopping
    parking
    training
    consulting
    """.split()
)
# Calling words alone are not a helpdesk: "onbeperkt bellen" sells a phone plan.
# "Bel ons direct", "Call now", "Bel 085 ..." and "<brand> bellen" (title_match) are.
_TITLE_HELPDESK = re.compile(
    r"\b(helpdesk|help desk|klantenservice|klantendienst|servicedesk|service desk|support|"
    r"ondersteuning|storingsdienst|storingslijn|storingsnummer|storing melden|hotline|helpline|"
    r"customer (service|care)|tech support|technische dienst|hulpdienst|hulplijn|"
    r"telefoonnummer|contact|(bel|bellen|call) (ons|nu|direct|gratis|meteen|now|us|today))\b|"
    r"\b(bel|call) \+?\d",
    re.I,
)
_TRADE_RE = re.compile(r"(" + "|".join(TRADE) + r")", re.I)  # inside compound domain labels
_TRADE_WORD_RE = re.compile(r"\b(" + "|".join(TRADE) + r")", re.I)  # at a word start in titles

# Look-alike characters, folded to one representative: Cyrillic and Greek
# letters that render like Latin ones, digits that pass for letters, and l/1/i.
_CONFUSABLE = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ԁ": "d",
        "ѕ": "s",
        "һ": "h",
        "ӏ": "i",
        "ԛ": "q",
        "ԝ": "w",
        "ɡ": "g",
        "ο": "o",
        "α": "a",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ı": "i",
        "0": "o",
        "1": "i",
        "l": "i",
        "|": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
    }
)
_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))


@dataclass(frozen=True)
class Match:
    """A brand found in a host or title; `kind` says how."""

    brand: str
    keyword: str
    kind: str  # helpdesk | name | trade | homoglyph | typo
    detail: str = ""

    def to_dict(self) -> dict:
        return plain_dict(self)


def skeleton(text: str) -> str:
    """Fold look-alike characters: `rnicrosоft` (Cyrillic о) → `microsoft`."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    for seq, repl in _SEQUENCES:
        plain = plain.replace(seq, repl)
    return plain.translate(_CONFUSABLE)


def osa_distance(a: str, b: str, limit: int = 2) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment), capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def _unicode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna")
        except UnicodeError:
            return label
    return label


def _has(words, text: str) -> bool:
    return any(w in text for w in words)


def _short_in(keyword: str, tokens: list[str]) -> bool:
    """A short name (kpn, hp, ing) only as a whole token or glued to a helpdesk/trade word."""
    words = STRONG_HELPDESK + WEAK_HELPDESK + TRADE
    for t in tokens:
        if t in DICTIONARY:
            continue
        if t == keyword:
            return True
        if t.startswith(keyword):
            rest = t[len(keyword) :]
            if rest.isdigit() or rest.startswith(words):
                return True
        if t.endswith(keyword) and t[: -len(keyword)].endswith(words):
            return True
    return False


def dictionary_part(token: str) -> str | None:
    """The dictionary word a domain token is, starts or ends with (`appelreparatie` → appel)."""
    token = token.lower()
    for word in DICTIONARY:
        if token == word or token.startswith(word) or token.endswith(word):
            return word
    return None


def _typo_candidates(token: str, n: int):
    yield token
    for size in (n - 1, n, n + 1):
        if 0 < size < len(token):
            yield token[:size]
            yield token[-size:]


def domain_match(
    host: str, brands: list[tuple[str, list[str]]], trade_hint: bool = False
) -> Match | None:
    """The strongest way `host` poses as one of `brands`, or None.

    `trade_hint`: the page calls itself a repair shop or store (its title), so a
    brand name with only weak helpdesk words (`apple-service-utrecht`) reads as trade.
    """
    labels, _suffix, _private = host_parts(host)
    labels = [x for x in labels if x not in ("www", "m")]
    if not labels:
        return None
    shown = [_unicode_label(x) for x in labels]
    joined = " ".join(shown)
    tokens = [t for x in shown for t in x.split("-") if t]
    compact = "".join(x.replace("-", "") for x in shown)
    strong = _has(STRONG_HELPDESK, compact)
    weak = _has(WEAK_HELPDESK, compact)
    trade = _has(TRADE, compact) or trade_hint
    best: Match | None = None
    rank = {"homoglyph": 4, "typo": 4, "helpdesk": 3, "name": 2, "trade": 1}
    for brand, keywords in brands:
        for kw in keywords:
            m = _domain_keyword(kw, brand, joined, tokens, compact, strong, weak, trade)
            if m and m.kind == "homoglyph" and shown != labels:
                shows = " ".join(labels)
                m = Match(brand, kw, m.kind, f"{shows} shows as {m.detail}")
            if m and (best is None or rank[m.kind] > rank[best.kind]):
                best = m
        if best is not None and best.kind in ("homoglyph", "typo", "helpdesk"):
            return best  # the queried brand first: a strong match for it wins
    return best


def _domain_keyword(kw, brand, joined, tokens, compact, strong, weak, trade) -> Match | None:
    name = kw.replace(" ", "")
    if not name.isascii() or not name:
        return None
    if len(name) <= 3:
        plain = _short_in(name, tokens)
    else:
        plain = name in compact
    if plain:
        if strong or (weak and not trade):
            return Match(brand, kw, "helpdesk")
        if trade:
            return Match(brand, kw, "trade")
        return Match(brand, kw, "name")
    if len(name) <= 3:
        return None
    target = skeleton(name)
    folded_tokens = [skeleton(t) for t in tokens]
    folded = skeleton(compact)
    if target in folded or target in folded_tokens:
        return Match(brand, kw, "homoglyph", f"{joined} looks like {name}")
    if len(name) < 5:
        return None
    for token, ft in zip(tokens, folded_tokens, strict=True):
        if not strong and dictionary_part(token):
            continue  # a word ("appelreparatie", "boeking"), not a look-alike on its own
        for cand in _typo_candidates(ft, len(target)):
            if cand[:1] != target[:1] or cand in target:
                continue
            if osa_distance(cand, target, 1) == 1:
                return Match(brand, kw, "typo", f"{token} is one typo away from {name}")
    return None


# Where a title splits into parts ("Page topic | Site name"): a helpdesk word
# speaks for a brand only in the brand's own part.
_TITLE_PARTS = re.compile(r"\s+[|\-\u2013\u2014\u00b7:]+\s+|\s*[|\u2013\u2014\u00b7]\s*")


def title_match(title: str, brands: list[tuple[str, list[str]]]) -> Match | None:
    """A brand named in a title: `helpdesk` with helpdesk words in the brand's part
    of the title ("Norton Support Nederland | ..."; not "ICT Helpdesk | Norton
    beheer"), `trade` with repair-shop or store words, or plain `name`."""
    if not title:
        return None
    any_trade = bool(_TRADE_WORD_RE.search(title))
    bounds = [0] + [x for m in _TITLE_PARTS.finditer(title) for x in m.span()] + [len(title)]
    parts = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]
    for brand, keywords in brands:
        for kw in keywords:
            found = re.search(rf"(?<![\w]){re.escape(kw)}(?![\w])", title, re.I)
            if not found:
                continue
            lo, hi = next(((a, b) for a, b in parts if a <= found.start() < b), (0, len(title)))
            part = title[lo:hi]
            pos = found.start() - lo
            rest = re.sub(rf"(?i)(?<![\w]){re.escape(kw)}(?![\w])", "", part)
            if not re.sub(r"(?i)\b(nl|nederland|netherlands|be|belgi[eë])\b|\W", "", rest):
                part, pos = title, found.start()  # "Klantenservice | PostNL": the site's name
            helpdesk = [m.start() for m in _TITLE_HELPDESK.finditer(part)]
            call = re.search(rf"(?<![\w]){re.escape(kw)}\s+bellen\b", part, re.I)
            helpdesk += [call.end() - 6] if call else []
            trade = [m.start() for m in _TRADE_WORD_RE.finditer(part)]
            if helpdesk and trade:
                # "Norton helpdesk 24/7 en PC reparatie": the word nearer the
                # brand's name says what the title claims to be.
                def near(at: list[int], pos: int = pos) -> int:
                    return min(abs(a - pos) for a in at)

                kind = "helpdesk" if near(helpdesk) < near(trade) else "trade"
                return Match(brand, kw, kind)
            if helpdesk:
                return Match(brand, kw, "helpdesk")
            return Match(brand, kw, "trade" if any_trade else "name")
    return None


def helpdesk_title(title: str) -> bool:
    """The title speaks as a helpdesk ("Klantenservice Hulplijn | 24/7"), naming a brand or not."""
    return bool(title) and bool(_TITLE_HELPDESK.search(title)) and not _TRADE_WORD_RE.search(title)


def trade_words(title: str, host_labels: str = "") -> str | None:
    """The first repair-shop or store word of a title (at a word start) or host labels."""
    found = _TRADE_WORD_RE.search(title or "") or _TRADE_RE.search(host_labels or "")
    return found.group(1).lower() if found else None
