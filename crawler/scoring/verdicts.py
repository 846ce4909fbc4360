"""The verdicts on a number (per E.164) and on a site (per registrable domain).

A number's verdict is made from all its sightings (pages, engines, runs, the
snippets and ad texts recorded on landing pages), each held as the `Facts` of
a (site, number) pair:

- its *showings*: pages that give the number without reporting it. The best
  showing's pair verdict is where the number starts (a page posing as the
  brand, an ad, a premium number on a helpdesk page ...);
- its *reports*: warning, news, consumer and forum pages that name it as a
  scam, and the brand's own site denying it (its staff or moderators on its
  forum, its security page). A report raises the number; it is never evidence
  that the reporting site is a scam;
- the analysts' decisions.

A site's verdict is made from its showings: the best pair, raised when it
shows numbers whose own verdict is high; a brand's own site and a known
legitimate site are never scam sites, nor is a forum made high by its users.

Both are `Verdict`s (score 0–100, risk, reasons, flagged) with their own rule
tables (`NUMBER_RULES`, `SITE_RULES`); the points are in
`crawler.scoring.points.POINTS`. `pair_with_number` is the pair verdict
informed by the number's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crawler.scoring.facts import Facts
from crawler.scoring.pair import Verdict, risk_of, score
from crawler.scoring.points import HIGH, POINTS
from crawler.scoring.rules import _day, read
from crawler.scoring.words import WARNING

FORUM_CAP = 55  # a forum's users post numbers; the forum is at most medium
NO_SITE = "no website: shown on a search engine's card (local or call) without one"


def page_poses(f: Facts) -> bool:
    """The page poses as the brand by itself (domain, title, claims, alarm, tools),
    whatever its words about the number: such a page's "warnings" are no report."""
    r = read(f)
    title_warns = bool(WARNING.search(f.title or ""))
    return bool(
        r.impersonating
        or (r.helpdesk_title and not title_warns)
        or f.claims_official
        or f.alarm
        or f.locker
        or f.remote_tool_link
    )


def reports(f: Facts) -> bool:
    """This sighting reports the number as a scam (or the brand denies it)."""
    if f.denied:
        return True
    return bool(f.report) and not f.third_party and not page_poses(f)


@dataclass
class NumberFacts:
    """All that is known about one number, from all its sightings."""

    phone: str
    showings: list[tuple[str, Verdict, Facts]] = field(default_factory=list)
    reported_on: dict[str, str] = field(default_factory=dict)  # domain → phrase
    denied_by: dict[str, str] = field(default_factory=dict)  # domain → who says so
    injected_into: list[str] = field(default_factory=list)  # brands' own sites
    mentioned_on: list[tuple[str, Verdict, Facts]] = field(default_factory=list)  # near warnings
    official_for: str | None = None
    fax_only: bool = True
    status: str | None = None
    status_at: str | None = None


def number_facts(
    phone: str, sightings: list[Facts], verdicts: list[Verdict] | None = None
) -> NumberFacts:
    """`verdicts`: `score(f)` of each sighting when the caller has them already."""
    n = NumberFacts(phone)
    for i, f in enumerate(sightings):
        n.official_for = n.official_for or f.official_for
        n.fax_only = n.fax_only and f.is_fax
        n.status, n.status_at = f.number_status or n.status, f.number_status_at or n.status_at
        if f.injected and f.official_site:
            n.injected_into.append(f.domain)
        v = verdicts[i] if verdicts is not None else score(f)
        if f.denied:
            n.denied_by[f.domain] = f.denied
        elif reports(f):
            n.reported_on[f.domain] = f.report
        elif "warning" in dict(v.signals) and not f.third_party:
            n.mentioned_on.append((f.domain, v, f))  # a page that warns near it
        else:
            n.showings.append((f.domain, v, f))
    if not n.showings and not n.reported_on and not n.denied_by:
        # Only near warnings, never reported nor denied: the warning pages speak for it
        # (a newsroom's tip line under an article stays low).
        n.showings = n.mentioned_on
    n.showings.sort(key=lambda s: (-s[1].score, s[0]))
    return n


Hit = tuple[str, str]


def denied(n: NumberFacts) -> Hit | None:
    if not n.denied_by:
        return None
    domain, who = sorted(n.denied_by.items())[0]
    signal = "number_denied_by_staff" if "staff" in who else "number_denied_by_brand"
    return signal, f"{who} says it is not the brand's number"


def reported(n: NumberFacts) -> Hit | None:
    if not n.reported_on:
        return None
    where = ", ".join(f"{d} ({w!r})" for d, w in sorted(n.reported_on.items())[:4])
    many = len(n.reported_on) >= 2
    signal = "number_reported_2" if many else "number_reported_1"
    return signal, f"reported as a scam on {len(n.reported_on)} site(s): {where}"


def injected(n: NumberFacts) -> Hit | None:
    if not n.injected_into:
        return None
    return (
        "number_injected",
        f"injected through the URL into {', '.join(sorted(set(n.injected_into)))}"
        " (the brand's own page echoes it): not an official listing",
    )


def unshown(n: NumberFacts) -> Hit | None:
    """A number only reported, never shown: the reports carry it."""
    return None if n.showings else ("number_not_official", "not an official number of any brand")


def confirmed_unshown(n: NumberFacts) -> Hit | None:
    """An analyst's confirmation, where no showing carries it already."""
    carried = any("confirmed_number" in dict(v.signals) for _, v, _ in n.showings)
    if n.status == "confirmed" and not carried:
        return "confirmed_number", f"number confirmed as a scam by an analyst{_day(n.status_at)}"
    return None


NUMBER_RULES: list[Callable[[NumberFacts], Hit | None]] = [
    unshown,
    denied,
    reported,
    injected,
    confirmed_unshown,
]


def number_verdict(n: NumberFacts) -> Verdict:
    """The number's verdict: its best showing, raised by reports, denials and injection."""
    if n.official_for:
        return Verdict(0, None, [f"official number of {n.official_for}"], False)
    if n.fax_only:
        return Verdict(0, None, ["labelled as a fax number"], False)
    hits = [(s, POINTS[s], why) for rule in NUMBER_RULES if (hit := rule(n)) for s, why in [hit]]
    hits.sort(key=lambda h: -abs(h[1]))
    base, reasons, signals = 0, [], []
    if n.showings:
        domain, best, _ = n.showings[0]
        base = best.score
        shown = [f"on {domain}: {r}" for r in best.reasons if "dismissed by an analyst" not in r]
        reasons, signals = shown, [("best_showing", best.score)]
    points = max(0, min(100, base + sum(p for _, p, _ in hits)))
    reasons = [f"{why} ({p:+d})" for _, p, why in hits] + reasons
    flagged = n.status != "dismissed"
    if not flagged:
        reasons.insert(0, f"number dismissed by an analyst{_day(n.status_at)}: not flagged")
    signals = [(s, p) for s, p, _ in hits] + signals
    return Verdict(points, risk_of(points), reasons, flagged, signals)


# --- sites ------------------------------------------------------------------------


@dataclass
class SiteFacts:
    """All that is known about one registrable domain, from its pairs."""

    domain: str
    showings: list[tuple[str, Verdict, Facts]] = field(default_factory=list)  # phone, pair
    reports: int = 0
    official_site: str | None = None
    third_party_site: str | None = None
    high_numbers: list[str] = field(default_factory=list)  # shown here, number verdict high
    forum_only: bool = True
    status: str | None = None
    status_at: str | None = None


def site_facts(
    domain: str,
    sightings: list[Facts],
    numbers: dict[str, Verdict],
    verdicts: list[Verdict] | None = None,
) -> SiteFacts:
    """`verdicts`: `score(f)` of each sighting when the caller has them already."""
    s = SiteFacts(domain)
    for i, f in enumerate(sightings):
        s.official_site = s.official_site or f.official_site
        s.third_party_site = s.third_party_site or f.third_party_site
        s.status, s.status_at = f.site_status or s.status, f.site_status_at or s.status_at
        if f.official_for or f.is_fax:
            continue
        if reports(f):
            s.reports += 1
            continue
        s.showings.append((f.phone, verdicts[i] if verdicts is not None else score(f), f))
        s.forum_only = s.forum_only and f.user_content
        nv = numbers.get(f.phone)
        if nv is not None and nv.risk == "high" and read(f).presents:
            s.high_numbers.append(f.phone)
    s.showings.sort(key=lambda x: (-x[1].score, x[0]))
    return s


def site_verdict(s: SiteFacts) -> Verdict:
    """Is this site a scam site? Its best showing, raised by the numbers it poses with."""
    if not s.domain:
        # The numbers of engines' cards without a website (issue 16): no site to judge.
        return Verdict(0, "low", [NO_SITE], True)
    if s.official_site:
        return Verdict(0, "low", [f"{s.official_site}'s own site: not a scam site"], True)
    if s.third_party_site:
        return Verdict(0, "low", [f"a known legitimate site: {s.third_party_site}"], True)
    if not s.showings:
        why = "reports numbers, shows none as its own" if s.reports else "no unofficial number"
        return Verdict(0, "low", [why], True)
    phone, best, _ = s.showings[0]
    points, reasons, signals = best.score, [f"{phone}: {r}" for r in best.reasons], []
    if s.high_numbers:
        n = len(set(s.high_numbers))
        points += POINTS["site_numbers_high"]
        reasons.insert(
            0,
            f"poses as the brand with {n} number(s) at high risk over all their"
            f" sightings ({POINTS['site_numbers_high']:+d})",
        )
        signals.append(("site_numbers_high", POINTS["site_numbers_high"]))
    if s.showings and s.forum_only and points > FORUM_CAP:
        why = f"a forum or Q&A site: its users posted the numbers (at most {FORUM_CAP})"
        reasons.insert(0, why)
        points = FORUM_CAP
    points = max(0, min(100, points))
    flagged = s.status != "dismissed"
    if not flagged:
        reasons.insert(0, f"site dismissed by an analyst{_day(s.status_at)}: not flagged")
    return Verdict(points, risk_of(points), reasons, flagged, signals)


def pair_before_number(stored: Verdict, score: int, signals: list[tuple[str, int]]) -> Verdict:
    """The pair's own verdict, from the verdict `pair_with_number` made of it
    (`stored`) and its own score and signals: the number's raise taken off (it
    adds points to a score under HIGH and puts its reason first)."""
    if stored.score == score:
        return Verdict(score, stored.risk, stored.reasons, stored.flagged, signals)
    return Verdict(score, risk_of(score), stored.reasons[1:], stored.flagged, signals)


def pair_with_number(pair: Verdict, f: Facts, number: Verdict | None) -> Verdict:
    """The pair's verdict, informed by the number's: a page that shows (does not
    report) a number that is high risk over all its sightings is raised."""
    if number is None or number.risk != "high" or reports(f) or not pair.flagged:
        return pair
    if pair.score >= HIGH or "warning" in dict(pair.signals):
        return pair  # high already, or a page that warns about the number
    p = POINTS["pair_number_high"]
    points = max(0, min(100, pair.score + p))
    why = f"the number is high risk over all its sightings ({number.score}) ({p:+d})"
    return Verdict(
        points,
        risk_of(points),
        [why, *pair.reasons],
        pair.flagged,
        [("pair_number_high", p), *pair.signals],
    )
