"""Reading a page: its title, visible text and page-wide signals, and the
sentence each number sits in. Pure functions of HTML and strings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser

from crawler.brands import brand_in
from crawler.domains import PATH_HOSTS, SITE_BUILDERS, host_parts, within
from crawler.impersonation import trade_words
from crawler.scoring.prefilter import could_match, fold, search
from crawler.scoring.words import (
    ALARM,
    CALL,
    CLAIMS_OFFICIAL,
    EXECUTABLE,
    LOCKER,
    NEGATION,
    NEVER,
    REMOTE_HREF,
    REMOTE_TOOLS,
    SERVICE,
    UGC_HOSTS,
    UGC_MARKUP,
    UGC_PATH,
)

SHARED_HOSTS = (*SITE_BUILDERS, *PATH_HOSTS)
MAX_TEXT = 200_000  # signals sit near the top; a 10 MB page need not be read whole
_WORD = re.compile(r"[^\W\d_]{2,}")
_ENDS = ".!?;\n"  # what ends a sentence (a line too)


@dataclass
class PageFacts:
    """The page-wide signals, computed once per page."""

    title: str = ""
    text: str = ""
    remote_tool: str | None = None
    remote_tool_link: bool = False
    alarm: str | None = None
    locker: bool = False
    claims_official: str | None = None
    user_content: bool = False


def page_facts(html: str, url: str = "") -> PageFacts:
    """Title, visible text and the page-wide signals of one HTML page."""
    raw = html[:2_000_000]
    # Folded once for every word list read over the page (crawler.scoring.prefilter).
    raw_folded = fold(raw)
    locker_hits = sum(1 for rx in LOCKER if could_match(rx, raw, raw_folded) and rx.search(raw))
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    body = tree.body or tree.root
    text = body.text(separator=" ", strip=True)[:MAX_TEXT] if body else ""
    link = _remote_tool_link(tree)
    said = f"{title}. {text}"
    said_folded = fold(said)  # holds the text's: enough to rule REMOTE_TOOLS out
    remote = _unnegated(REMOTE_TOOLS, text, said_folded)
    tool = remote.group(1) if remote else None
    if link and not tool:
        tool = "download link"
    alarm = _unnegated(ALARM, said, said_folded)
    claim = _unnegated(CLAIMS_OFFICIAL, said, said_folded)
    return PageFacts(
        title=title,
        text=text,
        remote_tool=tool,
        remote_tool_link=link,
        alarm=alarm.group(0) if alarm else None,
        locker=locker_hits >= 2,
        claims_official=claim.group(0) if claim else None,
        user_content=_user_content(url, raw, raw_folded),
    )


def card_facts(title: str, text: str) -> PageFacts:
    """The page-wide signals of an engine's card without a website (issue 16): its
    name is its title, its words (category, address, snippet) its text. A card
    has no links, scripts or user content of its own."""
    text = text[:MAX_TEXT]
    remote = _unnegated(REMOTE_TOOLS, text)
    alarm = _unnegated(ALARM, f"{title}. {text}")
    claim = _unnegated(CLAIMS_OFFICIAL, f"{title}. {text}")
    return PageFacts(
        title=title,
        text=text,
        remote_tool=remote.group(1) if remote else None,
        alarm=alarm.group(0) if alarm else None,
        claims_official=claim.group(0) if claim else None,
    )


def _remote_tool_link(tree) -> bool:
    """A link to a remote-access tool, or a program download labelled as one."""
    for a in tree.css("a[href]"):
        href = a.attributes.get("href") or ""
        label = a.text(strip=True)[:200]
        if REMOTE_HREF.search(href) or (
            (EXECUTABLE.search(href) or "download" in href.lower()) and REMOTE_TOOLS.search(label)
        ):
            return True
    return False


def _user_content(url: str, raw: str, raw_folded: str | None = None) -> bool:
    labels, _, _ = host_parts(url) if url else ([], "", False)
    if labels and labels[0] in UGC_HOSTS:
        return True
    path = url.split("//", 1)[-1].partition("/")[2]
    if UGC_PATH.search("/" + path + "/"):
        return True
    return could_match(UGC_MARKUP, raw, raw_folded) and bool(UGC_MARKUP.search(raw))


def number_sentence(context: str, raw: str) -> str:
    """The sentence of `context` that holds the number shown as `raw`. A line
    (paragraph, cell, heading) ends a sentence too. The first sentence of a line
    is read with the line before it when that says whose the number is: a heading
    ("Officiële Microsoft helpdesk" above "Bel 085 ..."), or any line before a
    bare one ("Telefoon: 085 ...", a table cell)."""
    at = context.find(raw) if raw else -1
    if at < 0:
        return context
    end = at + len(raw)
    start, stop = _bounds(context, at, end)
    sentence = context[start:stop]
    if start > 1 and context[start - 1] == "\n":
        before = max(context.rfind(p, 0, start - 1) for p in _ENDS) + 1
        line = context[before : start - 1].strip()
        bare = len(_WORD.findall(context[start:at] + " " + context[end:stop])) < 3
        heading = 0 < len(line.split()) <= 8 and line[-1] not in ",;"
        if line and (bare or heading):
            sentence = f"{line} {sentence}"
    return sentence


def _bounds(context: str, at: int, end: int) -> tuple[int, int]:
    start = max(context.rfind(p, 0, at) for p in _ENDS) + 1
    ends = [i for i in (context.find(p, end) for p in _ENDS) if i >= 0]
    return start, min(ends) if ends else len(context)


def own_sentence(context: str, raw: str) -> str:
    """The number's own sentence, without the line before it that `number_sentence`
    may add (in a table that is the cell above, not the number's label)."""
    at = context.find(raw) if raw else -1
    if at < 0:
        return context
    start, stop = _bounds(context, at, at + len(raw))
    return context[start:stop]


def presents_as_brand(sentence: str, keywords: list[str]) -> bool:
    """The sentence presents the number as a service of the brand ("Bel de Microsoft
    helpdesk op ...", "de klantenservice van PostNL", "app Odido op ..."), without a
    negation ("wij zijn geen Microsoft helpdesk") or a trade ("bel ons voor Apple
    reparaties": a shop, not the brand)."""
    if not sentence or NEGATION.search(sentence) or trade_words(sentence):
        return False
    return any(search(_as_brand(kw), sentence) for kw in keywords if kw)


# Compiled once per keyword, not on every number of every page (bench/throughput.py).
@lru_cache(maxsize=4096)
def _as_brand(kw: str) -> re.Pattern:
    name = rf"(?<!\w){re.escape(kw)}(?!\w)"
    return re.compile(
        rf"{name}[\s-]+(\w+\s+){{0,2}}?{SERVICE}"  # Nordbank (zakelijk) helpdesk
        rf"|{SERVICE}\s+(van|of|from|bij|voor|for)\s+(de\s+|het\s+)?{name}"  # ... van PostNL
        rf"|\b{CALL}\s+((met|naar|to|de|het|direct|gewoon|meteen|nu)\s+){{0,2}}{name}",
        re.I | re.X,
    )


def own_service(sentence: str) -> bool:
    """The sentence offers the site's own service line ("bel onze servicedesk", "call
    our support team"): on a page titled as the brand's helpdesk, the brand's line."""
    if not sentence or NEGATION.search(sentence) or trade_words(sentence):
        return False
    return bool(_OWN_SERVICE.search(sentence))


_OWN_SERVICE = re.compile(rf"\b(onze|ons|our)\s+(\w+\s+){{0,2}}?{SERVICE}", re.I | re.X)


def _unnegated(rx: re.Pattern, text: str, folded: str | None = None) -> re.Match | None:
    """The first match of `rx` that its sentence does not deny: "Norton vraagt u
    nooit om software voor hulp op afstand" names remote access, it does not offer it.
    `folded`: `prefilter.fold` of a text that holds `text`, to skip a text without a match."""
    if folded is not None and not could_match(rx, text, folded):
        return None
    for n, m in enumerate(rx.finditer(text)):
        if n >= 50:
            break
        start = max(text.rfind(p, max(0, m.start() - 300), m.start()) for p in _ENDS) + 1
        if not NEVER.search(text[start : m.start()]):
            return m
    return None


def infer_brand(title: str, text: str, domain: str, brands) -> object | None:
    """The brand a page is about when the query named none (crawler.brands.brand_in):
    its domain's words, its title twice and the start of its text."""
    hay = f"{domain.replace('-', ' ').replace('.', ' ')} {title} {title} {text[:5000]}"
    return brand_in(hay, brands)


def brand_names(brand) -> list[str]:
    """A brand's keywords plus the names of its official domains (`abnamro` of abnamro.nl)."""
    names = list(brand.keywords)
    for d in brand.domains:
        labels, _, _ = host_parts(d)
        if labels and labels[-1] not in names:
            names.append(labels[-1])
    return names


def shared_host(url: str) -> str | None:
    """The shared-hosting service a site lives on (`x.blogspot.com` → `blogspot.com`)."""
    labels, suffix, private = host_parts(url)
    if private:
        # www.wordpress.com is the host's own site, not one of its users'.
        return None if labels in ([], ["www"]) else suffix
    host = ".".join([*labels, suffix])
    for shared in SHARED_HOSTS:
        if host != shared and within(host, shared) and not host.startswith("www."):
            return shared
        if host == shared and shared.count(".") > 1:  # sites.google.com/view/<site>
            return shared
    return None
