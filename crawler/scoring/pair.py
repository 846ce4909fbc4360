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


@dataclass(frozen=True)
class SightingVerdict:
    """One number on one page: where it was found (the hit), its verdict and its facts.

    The scorer makes it (`verdict_record`), the render pipeline may score it
    again, storage keeps `as_dict()` (a sighting row and its facts).
    """

    hit: dict  # crawler.phones.PhoneHit.to_dict(): phone, source, context, ...
    official: bool
    official_for: str | None
    score: int
    risk: str | None
    reasons: list[str]
    flagged: bool
    signals: list[tuple[str, int]]
    facts: dict  # Facts.to_dict()

    @property
    def phone(self) -> str:
        return self.hit["phone"]

    def as_dict(self) -> dict:
        """The form storage keeps (crawler.storage.save_page)."""
        return {
            **self.hit,
            "official": self.official,
            "official_for": self.official_for,
            "score": self.score,
            "risk": self.risk,
            "reasons": self.reasons,
            "flagged": self.flagged,
            "signals": self.signals,
            "facts": self.facts,
        }

    @classmethod
    def from_dict(cls, row: dict) -> SightingVerdict:
        """The record of a stored form (`as_dict()`): the hit is every other key."""
        return cls(
            hit={k: v for k, v in row.items() if k not in _VERDICT_FIELDS},
            **{k: row.get(k) for k in _VERDICT_FIELDS},
        )


# The keys of a stored verdict that are not the hit's.
_VERDICT_FIELDS = (
    "official",
    "official_for",
    "score",
    "risk",
    "reasons",
    "flagged",
    "signals",
    "facts",
)


def verdict_record(hit: dict, facts: Facts) -> SightingVerdict:
    """What storage keeps for one number on one page: the hit, the verdict, the facts."""
    v = score(facts)
    return SightingVerdict(
        hit=dict(hit),
        official=bool(facts.official_for),
        official_for=facts.official_for,
        score=v.score,
        risk=v.risk,
        reasons=v.reasons,
        flagged=v.flagged,
        signals=v.signals,
        facts=facts.to_dict(),
    )
