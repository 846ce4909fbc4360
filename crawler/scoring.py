"""Risk scoring: pure and explainable.

`score(facts)` turns what is known about one number on one page (`Facts`) into
a `Verdict`: a score from 0 to 100, a risk level and one reason per signal,
each ending with the points it added or removed. Nothing here reads the
database or the network. `page_facts` and `score_page` collect the facts a page
shows; the facts that need history (the number on several domains, first seen
recently, an analyst's decision) are filled in at the end of a run by
`crawler.history.close_run`, which scores every sighting again.

Risk levels (documented in the README): high ≥ 70, medium ≥ 40, low below.
A number that is official for any brand is never flagged; a fax number neither.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields

from selectolax.lexbor import LexborHTMLParser

from crawler.domains import (
    PATH_HOSTS,
    SITE_BUILDERS,
    domain_matches,
    host_parts,
    registrable_domain,
)
from crawler.impersonation import Match, domain_match, helpdesk_title, title_match, trade_words

HIGH = 70
MEDIUM = 40

# The points of every signal: the README's table is made from this one.
POINTS = {
    "not_official": 30,
    "not_official_any": 20,
    "lookalike_domain": 35,
    "brand_helpdesk_domain": 25,
    "brand_domain": 20,
    "brand_trade_domain": 10,
    "title_helpdesk": 15,
    "ad_helpdesk": 15,
    "title_brand": 5,
    "claims_official": 10,
    "number_as_brand": 15,
    "ad": 15,
    "ad_plain": 5,
    "remote_tool_link": 15,
    "remote_tool": 10,
    "alarm": 15,
    "locker": 10,
    "premium": 15,
    "foreign": 15,
    "number_in_title": 5,
    "shared_hosting": 10,
    "user_content": 25,
    "official_site_listing": -10,
    "listed_by_brand": -30,
    "official_shown": -10,
    "several_domains_2": 5,
    "several_domains_3": 10,
    "several_domains_5": 15,
    "new_number": 10,
    "new_site": 5,
    "confirmed_number": 30,
    "confirmed_site": 20,
    "trade_page": -10,
    "warning": -45,
    "third_party_number": -40,
    "third_party_site": -20,
}
# "Seen recently": first seen at most this many days ago, after the database had
# already watched for at least MIN_WATCH_DAYS (on a first crawl everything is new).
RECENT_DAYS = 30
MIN_WATCH_DAYS = 7

REMOTE_TOOLS = re.compile(
    r"\b(anydesk|teamviewer|ultraviewer|supremo|rustdesk|logmein|splashtop|screenconnect|"
    r"gotoassist|ammyy|aeroadmin|quick ?assist|snelle hulp|remote support|remote access|"
    r"hulp op afstand|overname op afstand|op afstand overnemen|computer op afstand)\b",
    re.I,
)
_REMOTE_HREF = re.compile(
    r"(anydesk|teamviewer|ultraviewer|supremo|rustdesk|logmein|splashtop|screenconnect|"
    r"connectwise|gotoassist|ammyy|aeroadmin|quickassist|quick-assist)",
    re.I,
)
_EXECUTABLE = re.compile(r"\.(exe|msi|dmg|pkg|scr|apk|bat|cmd|ps1)(\?|#|$)", re.I)
ALARM = re.compile(
    r"\b(virus(sen)? (gedetecteerd|gevonden)|virus(es)? (detected|found)|"
    r"(uw|je|this|your) (computer|pc|apparaat|device|browser|iphone|mac) "
    r"(is|has been|werd) (geblokkeerd|vergrendeld|geïnfecteerd|geinfecteerd|locked|blocked|"
    r"infected|compromised)|"
    r"do not (shut down|restart|close|turn off)|schakel (uw|je) (computer|pc) niet uit|"
    r"sluit deze (pagina|browser) niet|security alert|beveiligingswaarschuwing|"
    r"beveiligingsmelding|(trojan|spyware|malware|ransomware) (gedetecteerd|detected)|"
    r"(account|apple id|microsoft account) (is |has been )?(geblokkeerd|opgeschort|"
    r"suspended|locked|disabled)|has been suspended|"
    r"bel (onmiddellijk|direct|meteen) (de |het )?\w*(support|helpdesk|klantenservice)|"
    r"bel onmiddellijk|call (immediately|now to (unlock|restore))|"
    r"error (code )?#? ?0x[0-9a-f]{3,}|foutcode:? ?0x[0-9a-f]{3,}|"
    r"uw (gegevens|wachtwoorden|bankgegevens) (worden|zijn) (gestolen|in gevaar)|"
    r"kluisrekening|veilige (bank)?rekening|geld (veilig|in veiligheid) (zetten|stellen|brengen)|"
    r"safe account)",
    re.I,
)
CLAIMS_OFFICIAL = re.compile(
    r"\b(offici[eë]le?|official)\s+(\w+\s+){0,2}?"
    r"(helpdesk|help desk|klantenservice|klantendienst|support|supportlijn|ondersteuning|"
    r"servicedesk|storingsdienst|hotline|helpline|customer service|nummer|number|partner)\b|"
    r"\b(gecertificeerde?|certified)\s+(\w+\s+){0,2}?"
    r"(technici|technicus|technicians?|specialisten|specialists?|experts?|engineers?|"
    r"medewerkers|agents?|partner)\b",
    re.I,
)
# Words of a page that warns about a number. Prefixes on purpose: Dutch
# compounds ("nepsite", "helpdeskfraude", "oplichters"). Not a bare
# "waarschuwing": browser lockers shout that too.
# Strong words call the number itself false; weak ones name the crime, and a
# fake bank helpdesk uses them too ("Fraude? Bel de Nordbank fraudelijn: 085 ..."),
# so they count only when the number is not presented as the brand's.
WARNING = re.compile(
    r"(\boplicht\w*|\bnep(site|nummer|nummers|helpdesk|bellers?|pe)?\b|\bnep-|"
    r"\bnep(nummer|site|helpdesk|klantenservice|medewerker|bankmedewerker|bericht)\w*|"
    r"\bwaarschuw(t|en|de)\b|\bwaarschuwing(en)? voor\b|"
    r"\bscam\w*|\btrap er niet in\b|\bfake\b|\bmalafide\b|\bvals(e)?\b|"
    r"\bcriminelen\b|\bniet (terug)?bellen\b|\bbel niet\b|\bdo not call\b|\bbeware\b)",
    re.I,
)
WEAK_WARNING = re.compile(
    r"(\w*fraude\w*|\bfrauduleu\w*|\bphishing\b|\bslachtoffer\w*|\bspoofing\b)", re.I
)
_UGC_HOSTS = {
    "answers",
    "community",
    "communities",
    "forum",
    "forums",
    "discussions",
    "discussion",
    "techcommunity",
    "gathering",
    "feedback",
}
_UGC_PATH = re.compile(
    r"/(thread|threads|topic|topics|forum|forums|question|questions|discussion|discussions|"
    r"community|comments?|reacties|t|posts?)/",
    re.I,
)
_UGC_MARKUP = re.compile(
    r"(DiscussionForumPosting|QAPage|\"Comment\"|class=\"[^\"]*\b(reply|comment|forum-post|"
    r"post-reply|answer)\b)",
    re.I,
)
# A service of the brand's: "Nordbank fraudeafdeling", "Norton support", "de
# klantenservice van PostNL", and a call to the brand itself: "bel Odido".
_SERVICE = (
    r"\w*(helpdesk|klantenservice|klantendienst|support|dienst|afdeling|technici|technicus|"
    r"medewerker|specialist|servicedesk|hotline|helpline|service|lijn|nummer|team|"
    r"monteur|expert|desk)\w*"
)
_CALL = r"(bel|bellen|belt|call|contact|app|whatsapp|phone)"
_NEGATION = re.compile(r"\b(geen|niet|not|no|nooit|never)\b", re.I)
_NEVER = re.compile(r"\b(nooit|never|nimmer)\b", re.I)
# The site speaking of its own line: "bel onze servicedesk", "call us".
_FIRST_PERSON = re.compile(r"\b(ons|onze|wij|we|mij|me|our|us|my)\b", re.I)
# A brand's own page that names a number without listing it as its own:
# "wij bellen nooit vanaf 085 ...", "meld verdachte nummers zoals 085 ...".
_NOT_LISTING = re.compile(
    r"\b(geen|niet|not|no|nooit|never|verdacht\w*|onbekende?|unknown|suspicious|zoals)\b", re.I
)
_LOCKER = (
    re.compile(r"requestFullscreen|webkitRequestFullscreen|mozRequestFullScreen", re.I),
    re.compile(r"onbeforeunload|[\"']beforeunload[\"']", re.I),
    re.compile(r"<audio[^>]*\bautoplay|\.play\(\)", re.I),
    re.compile(r"\balert\s*\(", re.I),
    re.compile(r"history\.pushState", re.I),
)
SHARED_HOSTS = (*SITE_BUILDERS, *PATH_HOSTS)
MAX_TEXT = 200_000  # signals sit near the top; a 10 MB page need not be read whole


@dataclass
class Facts:
    """What is known about one number on one page. Plain values: stored as JSON."""

    phone: str
    brand: str | None
    domain: str
    title: str = ""
    number_type: str = ""
    country: str = ""
    nl_category: str | None = None
    region: str = "NL"
    is_ad: bool = False
    is_fax: bool = False
    official_for: str | None = None  # brand this number is official for, if any
    # Where the page sits and how it presents itself.
    official_site: str | None = None  # brand whose official domain hosts the page
    user_content: bool = False  # forum, comments, Q&A
    shared_host: str | None = None  # shared-hosting suffix of the site (blogspot.com, ...)
    official_shown: str | None = None  # an official number the page also shows ("+31... (X)")
    brand_listing: bool = False  # on the brand's own site, plainly, not user content
    domain_match: dict | None = None  # crawler.impersonation.Match as a dict
    title_match: dict | None = None
    claims_official: str | None = None  # the phrase
    ad_claim: str | None = None  # the title of an ad for the page that poses as the helpdesk
    trade: str | None = None  # a repair-shop or store word in the title or domain
    # What the page does.
    remote_tool: str | None = None  # the tool or phrase named
    remote_tool_link: bool = False  # ... with a download link
    alarm: str | None = None  # the phrase
    locker: bool = False
    number_in_title: bool = False
    number_as_brand: bool = False  # the number's own sentence calls it the brand's
    warning_context: str | None = None  # the warning word near the number
    third_party: str | None = None  # known legitimate third party whose number this is
    third_party_site: str | None = None  # known legitimate site the page is on
    # Filled at the end of a run (crawler.history).
    other_domains: int = 0  # other registrable domains where the number was seen
    listed_by_brand: str | None = None  # "X's own site x.com": a brand lists it (brand_listing)
    number_age_days: float | None = None  # since the number was first seen
    site_age_days: float | None = None
    watched_days: float | None = None  # how long the database watched before the number
    site_watched_days: float | None = None
    number_status: str | None = None  # confirmed | dismissed (analyst)
    number_status_at: str | None = None
    site_status: str | None = None
    site_status_at: str | None = None
    brand_keywords: list[str] = field(default_factory=list)  # kept for old callers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Facts:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Verdict:
    score: int
    risk: str | None
    reasons: list[str]
    flagged: bool
    signals: list[tuple[str, int]] = field(default_factory=list)  # (signal, points)


def risk_of(score: int) -> str:
    return "high" if score >= HIGH else "medium" if score >= MEDIUM else "low"


def _several_domains(n: int) -> str | None:
    """The signal for a number seen on `n` registrable domains in all."""
    if n >= 5:
        return "several_domains_5"
    if n >= 3:
        return "several_domains_3"
    if n >= 2:
        return "several_domains_2"
    return None


def _day(at: str | None) -> str:
    return f" on {at[:10]}" if at else ""


def score(f: Facts) -> Verdict:  # noqa: C901, PLR0912, PLR0915 -- 2026-12-05: the rule-table rebuild of issue 10 replaces it
    """Facts in, verdict out: every signal adds or removes points with a reason."""
    if f.official_for:
        return Verdict(0, None, [f"official number of {f.official_for}"], False)
    if f.is_fax:
        return Verdict(0, None, ["labelled as a fax number"], False)
    signals: list[tuple[str, int, str]] = []

    def add(signal: str, why: str) -> None:
        signals.append((signal, POINTS[signal], why))

    brand = f.brand or "the brand"
    dm = f.domain_match or {}
    tm = f.title_match or {}
    impersonating = bool(dm) and not f.official_site and dm.get("kind") != "trade"
    # A page that also shows an official number (a directory, an article, a
    # review) and does not call this number the brand's: its title and its
    # claims speak of the official number, not of this one.
    shown = bool(f.official_shown) and not f.number_as_brand and not impersonating
    unnamed = tm.get("detail") == "unnamed"  # a helpdesk title that names no brand
    # Does the page pose as the brand, for this number?
    if f.official_site:
        presents = f.user_content and f.number_as_brand
    else:
        claims = bool(f.claims_official or f.ad_claim)
        helpdesk_title = tm.get("kind") == "helpdesk" and not unnamed
        presents = impersonating or f.number_as_brand or (not shown and (claims or helpdesk_title))

    if f.official_site:
        if f.user_content:
            add(
                "user_content",
                f"posted as user content on {f.official_site}'s own site {f.domain}",
            )
        else:
            add(
                "official_site_listing",
                f"listed on {f.official_site}'s own site {f.domain}:"
                " an official number missing from the brands file?",
            )
    else:
        who = dm.get("brand") or brand
        kind = dm.get("kind")
        if kind in ("homoglyph", "typo"):
            add(
                "lookalike_domain",
                f"look-alike domain {f.domain} imitates {dm.get('keyword')} ({dm.get('detail')})",
            )
        elif kind == "helpdesk":
            add(
                "brand_helpdesk_domain",
                f"domain {f.domain} poses as {who}'s helpdesk but is not {who}'s",
            )
        elif kind == "name":
            add("brand_domain", f"domain {f.domain} uses the name {who} but is not {who}'s")
        elif kind == "trade":
            add(
                "brand_trade_domain",
                f"domain {f.domain} uses the name {who} (a repair shop or store?)",
            )
        if shown:
            add(
                "official_shown",
                f"page also shows the official number {f.official_shown}"
                f" and does not present this one as {brand}'s",
            )
        elif helpdesk_title:
            add("title_helpdesk", f"page title presents itself as {tm.get('brand')}'s helpdesk")
        elif tm.get("kind") == "helpdesk" and unnamed and f.number_as_brand:
            add(
                "title_helpdesk",
                f"page title presents itself as a helpdesk, and the number as {brand}'s",
            )
        elif f.ad_claim:
            add("ad_helpdesk", f"the ad that led here poses as {brand}'s helpdesk: {f.ad_claim!r}")
        elif tm.get("kind") == "name":
            add("title_brand", f"page title names {tm.get('brand')}")
        if f.shared_host and presents:
            add(
                "shared_hosting",
                f"poses as {brand}'s on a shared-hosting site ({f.shared_host})",
            )

        if f.claims_official and not shown:
            add(
                "claims_official",
                f"page claims to be official or certified: {f.claims_official!r}",
            )
    if f.number_as_brand and (f.user_content or not f.official_site):
        add("number_as_brand", f"the sentence with the number presents it as {brand}'s")
    if f.is_ad and (presents or f.alarm or f.locker):
        add("ad", "shown in a paid ad")
    elif f.is_ad:
        add("ad_plain", f"shown in a paid ad, on a page that does not pose as {brand}'s")
    if f.remote_tool_link:
        add("remote_tool_link", f"page pushes a remote-access tool ({f.remote_tool}) to download")
    elif f.remote_tool:
        add("remote_tool", f"page offers remote access ({f.remote_tool})")
    if f.alarm:
        add("alarm", f"alarm or browser-locker language: {f.alarm!r}")
    if f.locker:
        add("locker", "page behaves like a browser locker (full screen, blocks leaving)")
    if f.nl_category == "premium" or f.number_type == "premium_rate":
        add("premium", "premium-rate number")
    elif f.country and f.region and f.country != f.region:
        add("foreign", f"foreign number ({f.country}) on a {f.region} query")
    if f.number_in_title:
        add("number_in_title", "number in the page title")
    if f.trade and not impersonating and not f.alarm and not f.number_as_brand:
        add("trade_page", f"presents itself as an independent business ({f.trade!r})")
    if f.listed_by_brand and not f.official_site:
        add(
            "listed_by_brand",
            f"also listed on {f.listed_by_brand}, not as user content:"
            " an official number missing from the brands file?",
        )
    several = _several_domains(f.other_domains + 1)
    if several:
        add(several, f"number seen on {f.other_domains + 1} unrelated domains")
    if _recent(f.number_age_days, f.watched_days):
        add("new_number", f"number first seen {f.number_age_days:.0f} days ago, new on the scene")
    if _recent(f.site_age_days, f.site_watched_days):
        add("new_site", f"site first seen {f.site_age_days:.0f} days ago, new on the scene")
    warned = bool(f.warning_context) and not impersonating
    if f.number_status == "confirmed" and not warned:
        add(
            "confirmed_number",
            f"number confirmed as a scam by an analyst{_day(f.number_status_at)}",
        )
    if f.site_status == "confirmed":
        add("confirmed_site", f"site confirmed as a scam by an analyst{_day(f.site_status_at)}")
    if warned:
        add("warning", f"page warns about this number ({f.warning_context!r})")
    if f.third_party:
        add("third_party_number", f"number of a known legitimate third party: {f.third_party}")
    if f.third_party_site:
        add("third_party_site", f"page on a known legitimate site: {f.third_party_site}")
    if f.brand:
        add("not_official", f"not an official number of {brand}")
    else:
        add("not_official_any", "not an official number of any brand in the brands file")

    points = max(0, min(100, sum(p for _, p, _ in signals)))
    # The first reason is the most telling signal; "not official", which every
    # flagged number shares, comes last.
    base = signals[-1]
    ordered = sorted(signals[:-1], key=lambda s: -abs(s[1])) + [base]
    reasons = [f"{why} ({p:+d})" for _, p, why in ordered]
    flagged = True
    for key, status, at in (
        ("number", f.number_status, f.number_status_at),
        ("site", f.site_status, f.site_status_at),
    ):
        if status == "dismissed":
            flagged = False
            reasons.insert(0, f"{key} dismissed by an analyst{_day(at)}: not flagged")
    return Verdict(points, risk_of(points), reasons, flagged, [(s, p) for s, p, _ in ordered])


def _recent(age: float | None, watched: float | None) -> bool:
    return (
        age is not None and watched is not None and age <= RECENT_DAYS and watched >= MIN_WATCH_DAYS
    )


# ---------------------------------------------------------------------------
# What a page shows


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
    locker_hits = sum(1 for rx in _LOCKER if rx.search(raw))
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    body = tree.body or tree.root
    text = body.text(separator=" ", strip=True)[:MAX_TEXT] if body else ""
    link = False
    for a in tree.css("a[href]"):
        href = a.attributes.get("href") or ""
        label = a.text(strip=True)[:200]
        if _REMOTE_HREF.search(href) or (
            (_EXECUTABLE.search(href) or "download" in href.lower()) and REMOTE_TOOLS.search(label)
        ):
            link = True
            break
    remote = _unnegated(REMOTE_TOOLS, text)
    tool = remote.group(1) if remote else None
    if link and not tool:
        tool = "download link"
    alarm = _unnegated(ALARM, f"{title}. {text}")
    claim = _unnegated(CLAIMS_OFFICIAL, f"{title}. {text}")
    return PageFacts(
        title=title,
        text=text,
        remote_tool=tool,
        remote_tool_link=link,
        alarm=alarm.group(0) if alarm else None,
        locker=locker_hits >= 2,
        claims_official=claim.group(0) if claim else None,
        user_content=_user_content(url, raw),
    )


def _user_content(url: str, raw: str) -> bool:
    labels, _, _ = host_parts(url) if url else ([], "", False)
    if labels and labels[0] in _UGC_HOSTS:
        return True
    path = url.split("//", 1)[-1].partition("/")[2]
    if _UGC_PATH.search("/" + path + "/"):
        return True
    return bool(_UGC_MARKUP.search(raw))


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
    start = max(context.rfind(p, 0, at) for p in _ENDS) + 1
    ends = [i for i in (context.find(p, end) for p in _ENDS) if i >= 0]
    stop = min(ends) if ends else len(context)
    sentence = context[start:stop]
    if start > 1 and context[start - 1] == "\n":
        before = max(context.rfind(p, 0, start - 1) for p in _ENDS) + 1
        line = context[before : start - 1].strip()
        bare = len(_WORD.findall(context[start:at] + " " + context[end:stop])) < 3
        heading = 0 < len(line.split()) <= 8 and line[-1] not in ",;"
        if line and (bare or heading):
            sentence = f"{line} {sentence}"
    return sentence


_WORD = re.compile(r"[^\W\d_]{2,}")
_ENDS = ".!?;\n"  # what ends a sentence (a line too)


def presents_as_brand(sentence: str, keywords: list[str]) -> bool:
    """The sentence presents the number as a service of the brand ("Bel de Microsoft
    helpdesk op ...", "de klantenservice van PostNL", "app Odido op ..."), without a
    negation ("wij zijn geen Microsoft helpdesk") or a trade ("bel ons voor Apple
    reparaties": a shop, not the brand)."""
    if not sentence or _NEGATION.search(sentence) or trade_words(sentence):
        return False
    for kw in keywords:
        if not kw:
            continue
        name = rf"(?<!\w){re.escape(kw)}(?!\w)"
        if re.search(
            rf"{name}[\s-]+(\w+\s+){{0,2}}?{_SERVICE}|"  # Nordbank (zakelijk) helpdesk
            rf"{_SERVICE}\s+(van|of|from|bij|voor|for)\s+(de\s+|het\s+)?{name}|"  # ... van PostNL
            rf"\b{_CALL}\s+((met|naar|to|de|het|direct|gewoon|meteen|nu)\s+){{0,2}}{name}",
            sentence,
            re.I,
        ):
            return True
    return False


def own_service(sentence: str) -> bool:
    """The sentence offers the site's own service line ("bel onze servicedesk", "call
    our support team"): on a page titled as the brand's helpdesk, the brand's line."""
    if not sentence or _NEGATION.search(sentence) or trade_words(sentence):
        return False
    return bool(re.search(rf"\b(onze|ons|our)\s+(\w+\s+){{0,2}}?{_SERVICE}", sentence, re.I))


def _unnegated(rx: re.Pattern, text: str) -> re.Match | None:
    """The first match of `rx` that its sentence does not deny: "Norton vraagt u
    nooit om software voor hulp op afstand" names remote access, it does not offer it."""
    for n, m in enumerate(rx.finditer(text)):
        if n >= 50:
            break
        start = max(text.rfind(p, max(0, m.start() - 300), m.start()) for p in _ENDS) + 1
        if not _NEVER.search(text[start : m.start()]):
            return m
    return None


def _keyword_hits(hay: str, keywords: list[str]) -> int:
    return sum(len(re.findall(rf"(?<!\w){re.escape(k)}(?!\w)", hay)) for k in keywords if k)


def infer_brand(title: str, text: str, domain: str, brands) -> object | None:
    """The brand a page is about when the query named none: most keyword hits wins."""
    hay = f"{domain.replace('-', ' ').replace('.', ' ')} {title} {title} {text[:5000]}".lower()
    best, best_hits = None, 0
    for b in brands:
        hits = _keyword_hits(hay, b.keywords)
        if hits > best_hits:
            best, best_hits = b, hits
    return best


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
        if host.endswith("." + shared) and not host.startswith("www."):
            return shared
        if host == shared and shared.count(".") > 1:  # sites.google.com/view/<site>
            return shared
    return None


def score_page(item, profile) -> None:
    """Fill a PageItem's domain, title and verdicts (one per number found)."""
    item.domain = registrable_domain(item.url)
    pf = page_facts(item.html, item.url)
    item.title = pf.title
    by_name = {b.name: b for b in profile.brands}
    brand = (
        by_name.get(item.brand)
        if item.brand
        else infer_brand(pf.title, pf.text, item.domain, profile.brands)
    )
    if brand is not None and not item.brand:
        item.brand = brand.name
    ordered = ([brand] if brand else []) + [b for b in profile.brands if b is not brand]
    names = [(b.name, brand_names(b)) for b in ordered]
    official = profile.official_phones()
    official_site = next((b.name for b in ordered if domain_matches(item.domain, b.domains)), None)
    third_parties = getattr(profile, "third_parties", []) or []
    tp_phones = {p: tp for tp in third_parties for p in tp.phones}
    tp_site = next((tp for tp in third_parties if domain_matches(item.domain, tp.domains)), None)
    labels, _, _ = host_parts(item.url)
    trade = trade_words(pf.title, " ".join(labels))
    title_trade = bool(trade_words(pf.title))
    dm = None if official_site or tp_site else domain_match(item.url, names, title_trade)
    tm = title_match(pf.title, names)
    if tm is None and brand is not None and helpdesk_title(pf.title):
        tm = Match(brand.name, "", "helpdesk", "unnamed")
    titled = tm is not None and tm.kind == "helpdesk" and tm.detail != "unnamed"
    # The ad that led here may pose as the brand's helpdesk where the page does not.
    ad_claim = None
    for showing in item.appearances if item.is_ad else []:
        said = showing.get("title") or ""
        m = title_match(said, names) if showing.get("is_ad") else None
        if m is not None and m.kind == "helpdesk":
            ad_claim = said[:200]
            break
    # An official number on the page, the page's brand's first: the page is then
    # a directory, an article or a review rather than an impersonation.
    shown = sorted(
        (official[h.phone] != (brand.name if brand else None), h.phone)
        for h in item.hits
        if official.get(h.phone) and not h.is_fax
    )
    official_shown = f"{shown[0][1]} ({official[shown[0][1]]})" if shown else None
    others = len({h.phone for h in item.hits if not official.get(h.phone) and not h.is_fax})
    item.verdicts = []
    for hit in item.hits:
        sentence = number_sentence(hit.context or "", hit.raw or "")
        as_brand = bool(brand) and (
            presents_as_brand(sentence, brand_names(brand)) or (titled and own_service(sentence))
        )
        # A number the page calls the brand's is warned about in its own sentence
        # (or the title): scam pages carry safety tips ("pas op voor oplichters")
        # next to their own number too.
        warning = WARNING.search(sentence if as_brand else hit.context or "") or WARNING.search(
            pf.title
        )
        if warning is None and not as_brand:
            warning = WEAK_WARNING.search(hit.context or "") or WEAK_WARNING.search(pf.title)
        tp = tp_phones.get(hit.phone)
        facts = Facts(
            phone=hit.phone,
            brand=brand.name if brand else None,
            domain=item.domain,
            title=pf.title[:200],
            number_type=hit.number_type,
            country=hit.country,
            nl_category=hit.nl_category,
            region=profile.region,
            is_ad=item.is_ad,
            is_fax=hit.is_fax,
            official_for=official.get(hit.phone),
            official_site=official_site,
            user_content=pf.user_content,
            shared_host=shared_host(item.url),
            # ... a list of numbers, or this one in the third person ("DHL: 088 ..."),
            # not "the official line is busy, bel onze servicedesk: 085 ...".
            official_shown=None
            if official_site or (others < 2 and _FIRST_PERSON.search(sentence))
            else official_shown,
            brand_listing=bool(official_site)
            and not pf.user_content
            and warning is None
            and not _NOT_LISTING.search(sentence),
            domain_match=dm.to_dict() if dm else None,
            title_match=tm.to_dict() if tm else None,
            claims_official=pf.claims_official,
            ad_claim=ad_claim,
            trade=trade,
            remote_tool=pf.remote_tool,
            remote_tool_link=pf.remote_tool_link,
            alarm=pf.alarm,
            locker=pf.locker,
            number_as_brand=as_brand,
            number_in_title="title" in (getattr(hit, "sources", None) or [hit.source]),
            warning_context=warning.group(0) if warning else None,
            third_party=f"{tp.name} ({tp.kind})" if tp and tp.kind else tp.name if tp else None,
            third_party_site=(
                f"{tp_site.name} ({tp_site.kind})"
                if tp_site and tp_site.kind
                else tp_site.name
                if tp_site
                else None
            ),
        )
        item.verdicts.append(verdict_record(hit.to_dict(), facts))


def verdict_record(hit: dict, facts: Facts) -> dict:
    """What storage keeps for one number on one page: the hit, the verdict, the facts."""
    v = score(facts)
    return {
        **hit,
        "official": bool(facts.official_for),
        "official_for": facts.official_for,
        "score": v.score,
        "risk": v.risk,
        "reasons": v.reasons,
        "flagged": v.flagged,
        "signals": v.signals,
        "facts": facts.to_dict(),
    }
