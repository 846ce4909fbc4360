"""Risk scoring: pure and explainable.

`score(facts)` adds or removes points per signal, each with a one-line reason.
Risk levels (documented in the README): high ≥ 70, medium ≥ 40, low below.
A number that is official for any brand is never flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.domains import domain_matches, registrable_domain
from crawler.pagetext import title_and_text

HIGH = 70
MEDIUM = 40

REMOTE_TOOLS = re.compile(
    r"\b(anydesk|teamviewer|ultraviewer|supremo|rustdesk|logmein|quick ?assist|"
    r"remote support|hulp op afstand|overname op afstand|remote access)\b",
    re.I,
)
ALARM = re.compile(
    r"\b(virus(sen)? gedetecteerd|virus detected|uw computer is geblokkeerd|"
    r"your computer (has been|is) (locked|blocked)|do not (shut down|restart)|"
    r"schakel uw computer niet uit|security alert|beveiligingswaarschuwing|"
    r"account (is )?(geblokkeerd|suspended)|bel onmiddellijk|call immediately)\b",
    re.I,
)
# Prefixes on purpose: Dutch compounds ("nepsite", "fraudehelpdesk").
WARNING = re.compile(
    r"\b(oplicht\w*|nep(site|nummer|helpdesk|pe)?\b|nep-|waarschuw\w*|\w*fraude\w*|"
    r"scam\w*|phishing|trap er niet in|fake|slachtoffer\w*)",
    re.I,
)


@dataclass
class Facts:
    """What is known about one number on one page."""

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
    brand_keywords: list[str] = field(default_factory=list)
    official_domain: bool = False  # the page sits on the queried brand's own domain
    remote_tool: bool = False
    alarm: bool = False
    warning_context: bool = False


@dataclass
class Verdict:
    score: int
    risk: str | None
    reasons: list[str]
    flagged: bool


def risk_of(score: int) -> str:
    return "high" if score >= HIGH else "medium" if score >= MEDIUM else "low"


def impersonates(domain: str, title: str, keywords: list[str]) -> tuple[bool, bool]:
    """(brand keyword in the domain, brand keyword in the title)."""
    label = domain.split(".")[0]
    in_domain = any(k and k.replace(" ", "") in label for k in keywords)
    t = title.lower()
    in_title = any(k and k in t for k in keywords)
    return in_domain, in_title


def score(f: Facts) -> Verdict:
    if f.official_for:
        return Verdict(0, None, [f"official number of {f.official_for}"], False)
    if f.is_fax:
        return Verdict(0, None, ["labelled as a fax number"], False)
    points = 0
    reasons: list[str] = []

    def add(n: int, why: str) -> None:
        nonlocal points
        points += n
        reasons.append(why)

    brand = f.brand or "the brand"
    add(30, f"not an official number of {brand}")
    in_domain, in_title = impersonates(f.domain, f.title, f.brand_keywords)
    if f.official_domain:
        add(5, f"posted on {brand}'s own domain, likely user content")
    elif in_domain:
        add(25, f"domain {f.domain} uses the name {brand} but is not {brand}'s")
    elif in_title:
        add(15, f"page title presents itself as {brand}")
    if f.is_ad:
        add(15, "shown in a paid ad")
    if f.remote_tool:
        add(15, "page pushes a remote-access tool")
    if f.alarm:
        add(15, "page uses alarm or browser-locker language")
    if f.nl_category == "premium" or f.number_type == "premium_rate":
        add(10, "premium-rate number")
    elif f.country and f.country != f.region:
        add(10, f"foreign number ({f.country}) on a {f.region} query")
    if f.warning_context:
        add(-45, "page warns about this number (scam warning context)")
    points = max(0, min(100, points))
    # The table shows the first reason: the most telling signal, not the
    # "not official" that every flagged number shares.
    reasons = reasons[1:] + reasons[:1]
    return Verdict(points, risk_of(points), reasons, True)


def infer_brand(title: str, text: str, domain: str, brands) -> object | None:
    """The brand a page is about when the query named none: most keyword hits wins."""
    hay = f"{domain} {title} {title} {text[:5000]}".lower()
    best, best_hits = None, 0
    for b in brands:
        hits = sum(hay.count(k) for k in b.keywords if k)
        if hits > best_hits:
            best, best_hits = b, hits
    return best


def score_page(item, profile) -> None:
    """Fill a PageItem's domain, title and verdicts (one per number found)."""
    item.domain = registrable_domain(item.url)
    title, text = title_and_text(item.html)
    item.title = title
    brands = {b.name: b for b in profile.brands}
    brand = (
        brands.get(item.brand)
        if item.brand
        else infer_brand(title, text, item.domain, profile.brands)
    )
    if brand is not None and not item.brand:
        item.brand = brand.name
    official = profile.official_phones()
    remote, alarm = bool(REMOTE_TOOLS.search(text)), bool(ALARM.search(text))
    item.verdicts = []
    for hit in item.hits:
        facts = Facts(
            phone=hit.phone,
            brand=brand.name if brand else None,
            domain=item.domain,
            title=title,
            number_type=hit.number_type,
            country=hit.country,
            nl_category=hit.nl_category,
            region=profile.region,
            is_ad=item.is_ad,
            is_fax=hit.is_fax,
            official_for=official.get(hit.phone),
            brand_keywords=brand.keywords if brand else [],
            official_domain=bool(brand and domain_matches(item.domain, brand.domains)),
            remote_tool=remote,
            alarm=alarm,
            warning_context=bool(WARNING.search(hit.context or "") or WARNING.search(title)),
        )
        v = score(facts)
        item.verdicts.append(
            {
                **hit.to_dict(),
                "official": bool(facts.official_for),
                "official_for": facts.official_for,
                "score": v.score,
                "risk": v.risk,
                "reasons": v.reasons,
                "flagged": v.flagged,
            }
        )
