"""The verdict on one number on one page (a pair's sighting): `score(facts)`."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.scoring.facts import Facts
from crawler.scoring.points import HIGH, MEDIUM, POINTS
from crawler.scoring.rules import RULES, _day, not_official, read


@dataclass
class Verdict:
    score: int
    risk: str | None
    reasons: list[str]
    flagged: bool
    signals: list[tuple[str, int]] = field(default_factory=list)  # (signal, points)


def risk_of(score: int) -> str:
    return "high" if score >= HIGH else "medium" if score >= MEDIUM else "low"


def score(f: Facts) -> Verdict:
    """Facts in, verdict out: every rule that holds adds or removes its points with a reason."""
    if f.official_for:
        return Verdict(0, None, [f"official number of {f.official_for}"], False)
    if f.is_fax:
        return Verdict(0, None, ["labelled as a fax number"], False)
    r = read(f)
    hits = [hit for rule in RULES if (hit := rule(f, r))]
    return verdict_of(hits, not_official(f, r), _dismissals(f))


def verdict_of(hits: list[tuple[str, str]], base: tuple[str, str], dismissed: list[str]) -> Verdict:
    """Points added up and clamped to 0–100; the first reason is the heaviest signal
    and the base, which every flagged number shares, comes last."""
    signals = [(s, POINTS[s], why) for s, why in hits]
    ordered = sorted(signals, key=lambda s: -abs(s[1])) + [(base[0], POINTS[base[0]], base[1])]
    points = max(0, min(100, sum(p for _, p, _ in ordered)))
    reasons = dismissed + [f"{why} ({p:+d})" for _, p, why in ordered]
    return Verdict(points, risk_of(points), reasons, not dismissed, [(s, p) for s, p, _ in ordered])


def _dismissals(f: Facts) -> list[str]:
    out = []
    for key, status, at in (
        ("site", f.site_status, f.site_status_at),
        ("number", f.number_status, f.number_status_at),
    ):
        if status == "dismissed":
            out.append(f"{key} dismissed by an analyst{_day(at)}: not flagged")
    return out


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
