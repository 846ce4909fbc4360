"""Facts: what is known about one number on one page, collected from the page.

`assess_page` reads a page (URL, HTML, the numbers found on it, the result that
led to it) and returns its domain, title, brand and one verdict record per
number, with the facts behind each. It writes nothing: the pipeline puts the
returned values on its item (REVIEW L1). The facts that need the whole
database are filled in by `crawler.history` at the end of a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from urllib.parse import unquote_plus, urlsplit

import phonenumbers

from crawler.domains import domain_matches, host_parts, registrable_domain
from crawler.impersonation import Match, domain_match, helpdesk_title, title_match, trade_words
from crawler.plain import plain_dict
from crawler.scoring.prefilter import search
from crawler.scoring.text import (
    PageFacts,
    brand_names,
    infer_brand,
    number_sentence,
    own_sentence,
    own_service,
    page_facts,
    presents_as_brand,
    shared_host,
)
from crawler.scoring.words import (
    CALL_TO_ACTION,
    FIRST_PERSON,
    NOT_LISTING,
    REPORT,
    SERVICE_WORD,
    STAFF,
    WARNING,
    WEAK_WARNING,
    denial,
)


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
    # About the number rather than the page (crawler.scoring.verdicts).
    report: str | None = None  # the page reports the number as a scam: the words
    denied: str | None = None  # the brand's own site says it is not theirs: who
    injected: str | None = None  # the landing URL carried the number, the page echoes it
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
    # Filled by a render (crawler.render): "rendered" or "image" when only the
    # browser saw the number; behaviours (crawler.scoring.browser.BEHAVIOURS);
    # how the rendered page differs from the static fetch of the same URL.
    found_by: str | None = None
    behaviours: list[str] = field(default_factory=list)
    cloaking: str | None = None

    def to_dict(self) -> dict:
        return plain_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Facts:
        known = _FIELD_NAMES.get(cls)
        if known is None:  # once per class: fields() is slow, and the end of a run
            known = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))  # reads 10,000s
        return cls(**{k: v for k, v in data.items() if k in known})


_FIELD_NAMES: dict[type, frozenset[str]] = {}


@dataclass
class PageContext:
    """What holds for every number of one page."""

    url: str
    domain: str
    page: PageFacts
    brand: object | None  # crawler.config.Brand
    official: dict[str, str]  # E.164 → brand, for every brand
    official_site: str | None
    third_party_phones: dict
    third_party_site: object | None
    trade: str | None
    domain_match: Match | None
    title_match: Match | None
    titled: bool  # the title poses as the brand's helpdesk, naming it
    ad_claim: str | None
    official_shown: str | None
    others: int  # unofficial numbers on the page, not fax
    urls: tuple[str, ...] = ()  # the page's URL, where it was entered, the results' URLs
    denial: str | None = None  # on a brand's own site: "dit is geen nummer van HP"
    staff: bool = False  # ... said on its forum, where staff or moderators answer


@dataclass
class Assessment:
    """A page's domain, title and brand, and one verdict record per number on it."""

    domain: str
    title: str
    brand: str | None
    verdicts: list[dict]


def _party_name(party) -> str | None:
    if party is None:
        return None
    return f"{party.name} ({party.kind})" if party.kind else party.name


def _ad_claim(appearances, is_ad: bool, names) -> str | None:
    """The title of an ad that led here and poses as the brand's helpdesk."""
    for showing in appearances if is_ad else []:
        said = showing.get("title") or ""
        advertised = showing.get("is_ad") or showing.get("kind") in ("local", "call")
        m = title_match(said, names) if advertised else None
        if m is not None and m.kind == "helpdesk":
            return said[:200]
    return None


def _official_shown(hits, official: dict, brand) -> str | None:
    """An official number on the page, the page's brand's first: the page is then
    a directory, an article or a review rather than an impersonation."""
    shown = sorted(
        (official[h.phone] != (brand.name if brand else None), h.phone)
        for h in hits
        if official.get(h.phone) and not h.is_fax
    )
    return f"{shown[0][1]} ({official[shown[0][1]]})" if shown else None


def _denial(ordered, official_site, pf: PageFacts) -> tuple[str | None, bool]:
    """On a brand's own site: the words denying a number, and whether staff answer there."""
    if not official_site:
        return None, False
    owner = next(b for b in ordered if b.name == official_site)
    found = denial(brand_names(owner)).search(pf.text)
    return (found.group(0) if found else None), pf.user_content and bool(STAFF.search(pf.text))


def injected(phone: str, urls, region: str) -> str | None:
    """The URL whose query string or fragment carries the number (the page then
    echoes it): a number injected into a real site, not one the site lists."""
    for url in urls:
        parts = urlsplit(url or "")
        said = unquote_plus(f"{parts.query} {parts.fragment}")[:2000]
        if not any(c.isdigit() for c in said):
            continue
        for m in phonenumbers.PhoneNumberMatcher(said, region):
            fmt = phonenumbers.PhoneNumberFormat.E164
            if phonenumbers.format_number(m.number, fmt) == phone:
                return url
    return None


def page_context(url, html, hits, profile, brand_name=None, is_ad=False, appearances=(), urls=()):
    """Read the page once: everything its numbers share."""
    pf = page_facts(html, url)
    return context_of(
        url, registrable_domain(url), pf, hits, profile, brand_name, is_ad, appearances, urls
    )


def context_of(
    url, domain, pf, hits, profile, brand_name=None, is_ad=False, appearances=(), urls=()
):
    """What a page's numbers share, from its facts. `domain` "" is a card without a
    website (issue 16): no site, so nothing from a domain (`url` is the engine's)."""
    by_name = {b.name: b for b in profile.brands}
    brand = (
        by_name.get(brand_name)
        if brand_name
        else infer_brand(pf.title, pf.text, domain, profile.brands)
    )
    ordered = ([brand] if brand else []) + [b for b in profile.brands if b is not brand]
    names = [(b.name, brand_names(b)) for b in ordered]
    official = profile.official_phones()
    official_site = next((b.name for b in ordered if domain_matches(domain, b.domains)), None)
    third_parties = profile.third_parties or []
    tp_site = next((tp for tp in third_parties if domain_matches(domain, tp.domains)), None)
    labels = host_parts(url)[0] if domain else []
    title_trade = bool(trade_words(pf.title))
    dm = None if official_site or tp_site or not domain else domain_match(url, names, title_trade)
    tm = title_match(pf.title, names)
    if tm is None and brand is not None and helpdesk_title(pf.title):
        tm = Match(brand.name, "", "helpdesk", "unnamed")
    said, staff = _denial(ordered, official_site, pf)
    return PageContext(
        url=url,
        domain=domain,
        page=pf,
        brand=brand,
        official=official,
        official_site=official_site,
        third_party_phones={p: tp for tp in third_parties for p in tp.phones},
        third_party_site=tp_site,
        trade=trade_words(pf.title, " ".join(labels)),
        domain_match=dm,
        title_match=tm,
        titled=tm is not None and tm.kind == "helpdesk" and tm.detail != "unnamed",
        ad_claim=_ad_claim(appearances, is_ad, names),
        official_shown=_official_shown(hits, official, brand),
        others=len({h.phone for h in hits if not official.get(h.phone) and not h.is_fax}),
        urls=tuple(dict.fromkeys([url, *urls])),
        denial=said,
        staff=staff,
    )


def _warning(sentence: str, context: str, title: str, as_brand: bool):
    """The warning near the number. A number the page calls the brand's is warned
    about in its own sentence (or the title): scam pages carry safety tips ("pas
    op voor oplichters") next to their own number too."""
    # prefilter.search: WARNING.search(...) and so on, skipped where they cannot match.
    found = search(WARNING, sentence if as_brand else context) or search(WARNING, title)
    if found is None and not as_brand:
        found = search(WEAK_WARNING, context) or search(WEAK_WARNING, title)
    return found


def _report(sentence: str, own: str, title: str, first_person: bool, as_brand: bool) -> str | None:
    """The words by which the page reports the number as a scam: in its own sentence
    ("085 ... is nep", "gemelde nummers: 085 ..."), or in a warning title over a
    number given as the brand's ("085 ... | HP helpdesk" in a list of scam numbers)
    or bare; not over the page's own line or one it tells readers to call
    ("Ledenservice: 070 ...", "aangifte via 0900-8844")."""
    found = search(WARNING, sentence) or search(REPORT, sentence)
    if found:
        return found.group(0)
    warns = search(WARNING, title)
    if warns is None or first_person:
        return None
    if not as_brand and (CALL_TO_ACTION.search(sentence) or SERVICE_WORD.search(own)):
        return None
    return warns.group(0)


def _denied(ctx: PageContext, report: str | None, listed: bool, inj: str | None) -> str | None:
    """Who on the brand's own site says the number is not the brand's."""
    if not ctx.official_site or listed or inj:
        return None
    if ctx.denial or (report and not ctx.page.user_content):
        who = "staff or moderator" if ctx.staff else "own site"
        return f"{ctx.official_site}'s {who} on {ctx.domain}"
    return None


def number_facts(hit, ctx: PageContext, region: str, is_ad: bool) -> Facts:
    """The facts of one number found on the page."""
    brand, pf = ctx.brand, ctx.page
    sentence = number_sentence(hit.context or "", hit.raw or "")
    as_brand = bool(brand) and (
        presents_as_brand(sentence, brand_names(brand)) or (ctx.titled and own_service(sentence))
    )
    warning = _warning(sentence, hit.context or "", pf.title, as_brand)
    # ... a list of numbers, or this one in the third person ("DHL: 088 ..."),
    # not "the official line is busy, bel onze servicedesk: 085 ...".
    first_person = ctx.others < 2 and FIRST_PERSON.search(sentence)
    own = own_sentence(hit.context or "", hit.raw or "")
    report = _report(sentence, own, pf.title, bool(FIRST_PERSON.search(sentence)), as_brand)
    inj = injected(hit.phone, ctx.urls, region)
    listed = (
        bool(ctx.official_site)
        and not pf.user_content
        and warning is None
        and not NOT_LISTING.search(sentence)
        and not inj
    )
    return Facts(
        phone=hit.phone,
        brand=brand.name if brand else None,
        domain=ctx.domain,
        title=pf.title[:200],
        number_type=hit.number_type,
        country=hit.country,
        nl_category=hit.nl_category,
        region=region,
        is_ad=is_ad,
        is_fax=hit.is_fax,
        official_for=ctx.official.get(hit.phone),
        official_site=ctx.official_site,
        user_content=pf.user_content,
        shared_host=shared_host(ctx.url) if ctx.domain else None,
        official_shown=None if ctx.official_site or first_person else ctx.official_shown,
        brand_listing=listed,
        domain_match=ctx.domain_match.to_dict() if ctx.domain_match else None,
        title_match=ctx.title_match.to_dict() if ctx.title_match else None,
        claims_official=pf.claims_official,
        ad_claim=ctx.ad_claim,
        trade=ctx.trade,
        remote_tool=pf.remote_tool,
        remote_tool_link=pf.remote_tool_link,
        alarm=pf.alarm,
        locker=pf.locker,
        number_as_brand=as_brand,
        number_in_title="title" in (hit.sources or [hit.source]),
        warning_context=warning.group(0) if warning else None,
        third_party=_party_name(ctx.third_party_phones.get(hit.phone)),
        third_party_site=_party_name(ctx.third_party_site),
        report=report,
        denied=_denied(ctx, report, listed, inj),
        injected=inj,
    )
