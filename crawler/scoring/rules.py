"""The rules: one small function per signal or group of mutually exclusive signals.

Each rule reads the facts (and the `Reading` derived from them once) and
returns `(signal, reason)` or None; `RULES` is the order in which they are
asked, and so the order of reasons of equal weight. A rule's points are in
`crawler.scoring.points.POINTS`. To change a rule, change its function; to add
one, write a function, give its signal points and put it in `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crawler.scoring.facts import Facts
from crawler.scoring.points import MIN_WATCH_DAYS, RECENT_DAYS

Hit = tuple[str, str]  # (signal, reason)


@dataclass
class Reading:
    """What several rules derive from the same facts, worked out once."""

    brand: str  # the brand's name, or "the brand"
    dm: dict
    tm: dict
    impersonating: bool  # the domain poses as the brand (not a trade name)
    shown: bool  # an official number on the page speaks for the title and claims
    unnamed: bool  # a helpdesk title that names no brand
    helpdesk_title: bool  # a helpdesk title that names the brand
    presents: bool  # the page poses as the brand, for this number


def read(f: Facts) -> Reading:
    dm = f.domain_match or {}
    tm = f.title_match or {}
    impersonating = bool(dm) and not f.official_site and dm.get("kind") != "trade"
    # A page that also shows an official number (a directory, an article, a
    # review) and does not call this number the brand's: its title and its
    # claims speak of the official number, not of this one.
    shown = bool(f.official_shown) and not f.number_as_brand and not impersonating
    unnamed = tm.get("detail") == "unnamed"
    helpdesk_title = tm.get("kind") == "helpdesk" and not unnamed
    if f.official_site:
        presents = f.user_content and f.number_as_brand
    else:
        claims = bool(f.claims_official or f.ad_claim)
        presents = impersonating or f.number_as_brand or (not shown and (claims or helpdesk_title))
    return Reading(
        brand=f.brand or "the brand",
        dm=dm,
        tm=tm,
        impersonating=impersonating,
        shown=shown,
        unnamed=unnamed,
        helpdesk_title=helpdesk_title and not f.official_site,
        presents=presents,
    )


def _day(at: str | None) -> str:
    return f" on {at[:10]}" if at else ""


def recent(age: float | None, watched: float | None) -> bool:
    return (
        age is not None and watched is not None and age <= RECENT_DAYS and watched >= MIN_WATCH_DAYS
    )


# --- where the page sits ------------------------------------------------------


def brand_site(f: Facts, r: Reading) -> Hit | None:
    """On a brand's own site: user content, or a listing the brands file lacks."""
    if not f.official_site:
        return None
    if f.injected:
        return (
            "injected",
            f"the landing URL carried the number and {f.official_site}'s own page {f.domain}"
            " echoes it: injected, not listed by the brand",
        )
    if f.denied:
        return None  # the brand says it is not theirs: the number's verdict carries that
    if f.user_content:
        return "user_content", f"posted as user content on {f.official_site}'s own site {f.domain}"
    return (
        "official_site_listing",
        f"listed on {f.official_site}'s own site {f.domain}:"
        " an official number missing from the brands file?",
    )


def domain_name(f: Facts, r: Reading) -> Hit | None:
    """The domain imitates or names the brand."""
    if f.official_site:
        return None
    who = r.dm.get("brand") or r.brand
    kind = r.dm.get("kind")
    if kind in ("homoglyph", "typo"):
        return (
            "lookalike_domain",
            f"look-alike domain {f.domain} imitates {r.dm.get('keyword')} ({r.dm.get('detail')})",
        )
    if kind == "helpdesk":
        return (
            "brand_helpdesk_domain",
            f"domain {f.domain} poses as {who}'s helpdesk but is not {who}'s",
        )
    if kind == "name":
        return "brand_domain", f"domain {f.domain} uses the name {who} but is not {who}'s"
    if kind == "trade":
        return (
            "brand_trade_domain",
            f"domain {f.domain} uses the name {who} (a repair shop or store?)",
        )
    return None


def title(f: Facts, r: Reading) -> Hit | None:
    """What the title (or the ad that led here) says the page is."""
    if f.official_site:
        return None
    if r.shown:
        return (
            "official_shown",
            f"page also shows the official number {f.official_shown}"
            f" and does not present this one as {r.brand}'s",
        )
    if r.helpdesk_title:
        return "title_helpdesk", f"page title presents itself as {r.tm.get('brand')}'s helpdesk"
    if r.tm.get("kind") == "helpdesk" and r.unnamed and f.number_as_brand:
        return (
            "title_helpdesk",
            f"page title presents itself as a helpdesk, and the number as {r.brand}'s",
        )
    if f.ad_claim:
        return "ad_helpdesk", f"the ad that led here poses as {r.brand}'s helpdesk: {f.ad_claim!r}"
    if r.tm.get("kind") == "name":
        return "title_brand", f"page title names {r.tm.get('brand')}"
    return None


def shared_hosting(f: Facts, r: Reading) -> Hit | None:
    if f.official_site or not (f.shared_host and r.presents):
        return None
    return "shared_hosting", f"poses as {r.brand}'s on a shared-hosting site ({f.shared_host})"


def claims_official(f: Facts, r: Reading) -> Hit | None:
    if f.official_site or not f.claims_official or r.shown:
        return None
    return "claims_official", f"page claims to be official or certified: {f.claims_official!r}"


# --- what the page does with the number -----------------------------------------


def number_as_brand(f: Facts, r: Reading) -> Hit | None:
    if f.number_as_brand and (f.user_content or not f.official_site):
        return "number_as_brand", f"the sentence with the number presents it as {r.brand}'s"
    return None


def poses_with_number(f: Facts, r: Reading) -> Hit | None:
    """The page names the brand (title, domain or the ad) and calls this number the
    brand's service: that is what impersonating a helpdesk is."""
    if not f.number_as_brand or f.official_site or r.shown or _warned(f, r):
        return None
    named = r.tm.get("kind") in ("helpdesk", "name") or f.ad_claim
    if named or r.dm.get("kind") in ("helpdesk", "name", "homoglyph", "typo"):
        return "poses_with_number", f"names {r.brand} and gives this number as {r.brand}'s"
    return None


def ad(f: Facts, r: Reading) -> Hit | None:
    if not f.is_ad:
        return None
    if r.presents or f.alarm or f.locker:
        return "ad", "shown in a paid ad"
    return "ad_plain", f"shown in a paid ad, on a page that does not pose as {r.brand}'s"


def remote_tool(f: Facts, r: Reading) -> Hit | None:
    if f.remote_tool_link:
        return "remote_tool_link", f"page pushes a remote-access tool ({f.remote_tool}) to download"
    if f.remote_tool:
        return "remote_tool", f"page offers remote access ({f.remote_tool})"
    return None


def alarm(f: Facts, r: Reading) -> Hit | None:
    return ("alarm", f"alarm or browser-locker language: {f.alarm!r}") if f.alarm else None


def locker(f: Facts, r: Reading) -> Hit | None:
    if f.locker:
        return "locker", "page behaves like a browser locker (full screen, blocks leaving)"
    return None


def premium_or_foreign(f: Facts, r: Reading) -> Hit | None:
    if f.nl_category == "premium" or f.number_type == "premium_rate":
        return "premium", "premium-rate number"
    if f.country and f.region and f.country != f.region:
        return "foreign", f"foreign number ({f.country}) on a {f.region} query"
    return None


def premium_helpdesk(f: Facts, r: Reading) -> Hit | None:
    """A premium-rate or foreign number on a page that acts as a helpdesk."""
    costly = f.nl_category == "premium" or f.number_type == "premium_rate"
    costly = costly or bool(f.country and f.region and f.country != f.region)
    acts = f.remote_tool or f.alarm or f.locker or r.helpdesk_title or f.number_as_brand
    if costly and (acts or f.ad_claim) and not _warned(f, r) and not r.shown:
        return "premium_helpdesk", "premium-rate or foreign number on a page acting as a helpdesk"
    return None


def number_in_title(f: Facts, r: Reading) -> Hit | None:
    return ("number_in_title", "number in the page title") if f.number_in_title else None


def trade_page(f: Facts, r: Reading) -> Hit | None:
    if f.trade and not r.impersonating and not f.alarm and not f.number_as_brand:
        return "trade_page", f"presents itself as an independent business ({f.trade!r})"
    return None


# --- what the whole database knows (crawler.history) ----------------------------


def listed_by_brand(f: Facts, r: Reading) -> Hit | None:
    if f.listed_by_brand and not f.official_site:
        return (
            "listed_by_brand",
            f"also listed on {f.listed_by_brand}, not as user content:"
            " an official number missing from the brands file?",
        )
    return None


def several_domains(f: Facts, r: Reading) -> Hit | None:
    n = f.other_domains + 1
    signal = (
        "several_domains_5"
        if n >= 5
        else "several_domains_3"
        if n >= 3
        else "several_domains_2"
        if n >= 2
        else None
    )
    return (signal, f"number seen on {n} unrelated domains") if signal else None


def new_number(f: Facts, r: Reading) -> Hit | None:
    if recent(f.number_age_days, f.watched_days):
        return "new_number", f"number first seen {f.number_age_days:.0f} days ago, new on the scene"
    return None


def new_site(f: Facts, r: Reading) -> Hit | None:
    if recent(f.site_age_days, f.site_watched_days):
        return "new_site", f"site first seen {f.site_age_days:.0f} days ago, new on the scene"
    return None


def _warned(f: Facts, r: Reading) -> bool:
    return bool(f.warning_context) and not r.impersonating


def confirmed_number(f: Facts, r: Reading) -> Hit | None:
    if f.number_status == "confirmed" and not _warned(f, r):
        return (
            "confirmed_number",
            f"number confirmed as a scam by an analyst{_day(f.number_status_at)}",
        )
    return None


def confirmed_site(f: Facts, r: Reading) -> Hit | None:
    if f.site_status == "confirmed":
        return "confirmed_site", f"site confirmed as a scam by an analyst{_day(f.site_status_at)}"
    return None


# --- who the page or the number belongs to --------------------------------------


def warning(f: Facts, r: Reading) -> Hit | None:
    if _warned(f, r):
        return "warning", f"page warns about this number ({f.warning_context!r})"
    return None


def third_party_number(f: Facts, r: Reading) -> Hit | None:
    if f.third_party:
        return "third_party_number", f"number of a known legitimate third party: {f.third_party}"
    return None


def third_party_site(f: Facts, r: Reading) -> Hit | None:
    if f.third_party_site:
        return "third_party_site", f"page on a known legitimate site: {f.third_party_site}"
    return None


def not_official(f: Facts, r: Reading) -> Hit:
    """The base every flagged number shares; its reason comes last."""
    if f.brand:
        return "not_official", f"not an official number of {r.brand}"
    return "not_official_any", "not an official number of any brand in the brands file"


from crawler.scoring.browser import BROWSER_RULES  # noqa: E402 - its rules take a Reading

Rule = Callable[[Facts, Reading], Hit | None]
# The order rules are asked in; reasons of equal weight keep it. `not_official`
# is not here: it is the base, added last by `crawler.scoring.verdicts.score`.
RULES: list[Rule] = [
    brand_site,
    domain_name,
    title,
    shared_hosting,
    claims_official,
    number_as_brand,
    poses_with_number,
    ad,
    remote_tool,
    alarm,
    locker,
    premium_or_foreign,
    premium_helpdesk,
    number_in_title,
    trade_page,
    listed_by_brand,
    several_domains,
    new_number,
    new_site,
    confirmed_number,
    confirmed_site,
    warning,
    third_party_number,
    third_party_site,
    *BROWSER_RULES,  # what a real browser saw (crawler.scoring.browser)
]
