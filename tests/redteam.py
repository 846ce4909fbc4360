"""The red-team figures of the number, site and pair verdicts on the three webs.

`figures(name, db)` reads a crawled database of one web (`simweb`, `simweb3` or
`demo`) against that web's labels and returns:

- `auc`: the number verdict's AUC, scam numbers against legitimate ones
  (third parties and official numbers the brands file does not list);
- `precision_high`: of the labelled numbers at high risk, the share that are scams;
- `scam_sites_high`: the share of scam sites whose site verdict is high;
- `innocent_sites_high`: warning, news, consumer, forum, brand and legitimate
  sites at high risk (a list);
- `injected_high` / `injected`: brand-injected numbers at high risk, of all.

A database made before the number and site verdicts existed is read as the
old code would be judged: a number by its best pair, a site by its best pair.
`bench/verdicts.py` prints these; `tests/test_redteam.py` asserts the targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

TARGETS = {"auc": 0.98, "precision_high": 0.95, "scam_sites_high": 0.95}


@dataclass
class Labels:
    scam: set[str]
    legit: set[str]
    scam_sites: set[str]
    innocent_sites: set[str]
    injected: set[str] = field(default_factory=set)


def labels(name: str) -> Labels:
    if name == "simweb":
        from simweb import labels as s
        from test_simweb import LEGIT
        from test_simweb import SCAM as scam

        innocent = s.REPORTING_SITES | s.BRAND_SITES | s.LEGIT_SITES
        return Labels(set(scam), set(LEGIT), s.SCAM_SITES, innocent)
    if name == "simweb3":
        from simweb3 import labels as s

        legit = set(s.LEGIT_THIRD_PARTY) | set(s.OFFICIAL_UNLISTED)
        innocent = s.REPORTING_SITES | s.BRAND_SITES | s.LEGIT_SITES
        return Labels(set(s.SCAM), legit, s.SCAM_SITES, innocent, s.INJECTED)
    if name == "demo":
        from test_demo_e2e import LEGIT_THIRD_PARTY, SCAM

        scam_sites = {
            "apple-klantenservice.nl",
            "icloud-hulp24.com",
            "kpn-storingsdienst.nl",
            "microsoft-helpdesk-bellen.nl",
            "windows-support-direct.com",
        }
        innocent = {
            "nu-nieuws.nl",
            "klantenservice-nummers.nl",
            "apple.com",
            "kpn.com",
            "microsoft.com",
            "pcreparatie-devries.nl",
        }
        return Labels(set(SCAM), set(LEGIT_THIRD_PARTY), scam_sites, innocent)
    raise ValueError(name)


def _verdicts(db: Database, table: str, pk: str) -> dict[str, tuple[int, str | None]]:
    """(score, risk) per number or site: its own verdict, or else its best pair's."""
    if "score" in db[table].columns_dict:
        return {
            r[pk]: (r["score"] or 0, r["risk"])
            for r in db.query(f"select {pk}, score, risk from {table}")
        }
    best: dict[str, tuple[int, str | None]] = {}
    for r in db.query(f"select {pk}, score, risk from site_numbers where flagged = 1"):
        if r[pk] not in best or (r["score"] or 0) > best[r[pk]][0]:
            best[r[pk]] = (r["score"] or 0, r["risk"])
    return best


def auc(positive: list[float], negative: list[float]) -> float:
    """The chance that a random scam outscores a random legitimate one (ties count half)."""
    if not positive or not negative:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def figures(name: str, db: Database) -> dict:
    lab = labels(name)
    numbers = _verdicts(db, "numbers", "phone")
    sites = _verdicts(db, "sites", "domain")
    scam_scores = [numbers.get(p, (0, None))[0] for p in lab.scam]
    legit_scores = [numbers.get(p, (0, None))[0] for p in lab.legit]
    high = [p for p in lab.scam | lab.legit if numbers.get(p, (0, None))[1] == "high"]
    seen_scam_sites = [d for d in lab.scam_sites if d in sites]
    return {
        "web": name,
        "auc": round(auc(scam_scores, legit_scores), 3),
        "precision_high": round(sum(p in lab.scam for p in high) / len(high), 3) if high else 0.0,
        "scam_numbers_high": f"{sum(p in lab.scam for p in high)}/{len(lab.scam)}",
        "scam_sites_high": round(
            sum(sites[d][1] == "high" for d in seen_scam_sites) / len(seen_scam_sites), 3
        )
        if seen_scam_sites
        else 0.0,
        "innocent_sites_high": sorted(
            d for d in lab.innocent_sites if sites.get(d, (0, None))[1] == "high"
        ),
        "injected_high": sum(numbers.get(p, (0, None))[1] == "high" for p in lab.injected),
        "injected": len(lab.injected),
        "missing_scam_sites": sorted(lab.scam_sites - set(sites)),
    }
