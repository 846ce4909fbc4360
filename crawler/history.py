"""History across runs: the signals only the whole database knows, and what changed.

`close_run(db, run_id, stats)` runs once at the end of every crawl (from
`pipelines/store.py`). It scores every sighting and (site, number) pair of the
run again with the cross-page facts added to the page's own (kept as JSON in
`sightings.facts` and `site_numbers.facts`): on how many unrelated domains the
number was seen, whether a brand lists it on its own site, whether the number
or the site is new on the scene, and the analysts' decisions
(`crawler.triage`). It then records what changed since the previous run of the
same profile in the `changes` table (new, back after an absence, gone) and
returns counts for the run's stats.

`rescore(db, keys=None)` scores stored pairs again with history and triage and
makes the verdicts of the numbers and the sites they touch (`crawler.scoring.
verdicts`), records how each moved in `verdict_history`, and returns counts.
`close_run` calls it for what the run saw; `serpwatch rescore` for everything;
a caller that changed something about some numbers or sites (a triage
decision) calls it with those keys (E.164 numbers and domains) to have every
verdict they touch re-made at once.

`timeline(db, key)` is the story of one number or site for `serpwatch
history`; the `serpwatch flags` list is `crawler.flags`.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlite_utils import Database

from crawler import stats_keys, storage, triage
from crawler.scoring import Facts, score
from crawler.scoring.pair import Verdict
from crawler.scoring.points import RECENT_DAYS
from crawler.scoring.rules import recent
from crawler.scoring.verdicts import (
    number_facts,
    number_verdict,
    pair_before_number,
    pair_with_number,
    site_facts,
    site_verdict,
)

KINDS = ("number", "site", "pair")


def ensure_shape(db: Database) -> None:
    """The schema this module needs (crawler.storage.schema migrations); safe on every use."""
    storage.ensure_db_shape(db)


def _days(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds() / 86400


def close_run(db: Database, run_id: int, stats: dict | None = None, at: str | None = None) -> dict:
    """Score the run's sightings and pairs again with history and triage (`rescore`, for
    what the run touched); record what changed; counts for the run's stats."""
    ensure_shape(db)
    with _no_cycle_collection():
        verdicts = rescore_run(db, run_id, at=at)
        with db.atomic():  # the changes and the presence they rest on, together or not at all
            summary = _record_changes(db, run_id, stats or {})
    summary.update(
        {
            **storage.run_pair_counts(db, run_id),
            "rescored": verdicts["pairs"] + verdicts["sightings"],
            "numbers_high": verdicts["numbers_high"],
            "sites_high": verdicts["sites_high"],
        }
    )
    return summary


def catch_up_killed_runs(db: Database) -> list[int]:
    """Mark this host's runs that died (SIGKILL, power loss) interrupted, and run the
    history step each never reached: its verdicts, what was new or back, presence,
    and gone for only the queries it answered, as for a crawl stopped by SIGINT.
    Without it, what only a killed run saw was never new and could never be gone.
    Returns the runs caught up. A run whose step had run (killed after it) is left."""
    caught = []
    for run_id in storage.mark_interrupted(db):
        if storage.history_recorded(db, run_id):
            continue
        # As of when it stopped, not now: the step it missed would have run then
        # (a number's recency is counted in days from the run's time).
        at = storage.last_sighting_at(db, run_id)
        changes = close_run(db, run_id, storage.dead_run_stats(db, run_id), at=at)
        storage.add_run_stats(db, run_id, {stats_keys.HISTORY(k): v for k, v in changes.items()})
        caught.append(run_id)
    return caught


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off for the step, as it was after. The end of a run
    makes hundreds of thousands of rows, dicts and `Facts`, none of them in a cycle
    (freed as they go by reference counting), and the collector walked them all again
    and again: a dozen full collections a run at a year's size, about a fifth of the
    step's CPU (docs/SCALE.md)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def rescore_keys(db: Database, keys: set[str] | list[str]) -> int:
    """Score again everything these numbers (E.164) and sites (domains) touch, at once.

    The entry point for re-scoring on demand (`crawler.triage` calls it in the
    decision's transaction; an export's triage may too): `rescore` for these
    keys, within the caller's transaction. Returns how many pairs were scored.
    """
    return rescore(db, set(keys))["pairs"]


def _context(db: Database, phones: set[str], domains: set[str], at: str | None) -> dict:
    decisions = triage.latest(db)
    triage.sync_statuses(db, decisions)
    c = storage.history_context(db, phones, domains)
    c["first_run_at"] = storage.parse_time(c["first_run_at"])
    c["decisions"] = decisions
    c["when"] = storage.parse_time(at) or datetime.now(UTC)
    return c


def rescore(
    db: Database,
    keys: set[str] | None = None,
    *,
    run_id: int | None = None,
    at: str | None = None,
    all_sightings: bool = False,
) -> dict:
    """Score stored pairs again and make the verdicts of their numbers and sites.

    `keys`: E.164 numbers and domains; every pair of those numbers and sites is
    re-scored, with the numbers on those sites and the sites of those numbers;
    None: the whole database. Sightings keep the verdicts of their runs: only
    run `run_id`'s are scored again, or all with `all_sightings` (`serpwatch
    rescore`). Returns counts (pairs, numbers, sites, and how many numbers and
    sites are high)."""
    ensure_shape(db)
    phones = domains = None
    if keys is not None:
        phones, domains = storage.neighbours(
            db, {k for k in keys if k.startswith("+")}, {k for k in keys if not k.startswith("+")}
        )
    pairs = storage.stored_pairs(db, phones, domains)
    sightings = (
        storage.stored_sightings(db, phones, domains, run_id=None if all_sightings else run_id)
        if all_sightings or run_id is not None
        else []
    )
    c = _context(db, {r["phone"] for r in pairs}, {r["domain"] for r in pairs}, at)
    _score_rows(pairs + sightings, c)
    numbers = _verdicts_of(pairs, "phone", phones)
    # The pairs of the keys' sites' other numbers are scored here too, but those
    # numbers are not made again (not all their pairs are read): their stored
    # verdicts raise those pairs and count for their sites, as a full rescore's do.
    others = {r["phone"] for r in pairs + sightings} - set(numbers)
    known = {**_stored_numbers(db, others), **numbers} if others else numbers
    sites = _site_verdicts(pairs, domains, known)
    with db.atomic():  # the caller's transaction, if there is one (a triage decision)
        for table, rows in (("site_numbers", pairs), ("sightings", sightings)):
            before = {r["id"]: {**r, "facts": r["stored_facts"]} for r in rows}
            base = table == "site_numbers"
            storage.save_verdicts(db, table, [_pair_row(r, known, base=base) for r in rows], before)
        stored_numbers = storage.entity_verdicts(db, "numbers", set(numbers), raw=True)
        run = run_id if run_id is not None else latest_run(db)
        _save_entities(db, run, numbers, sites, stored_numbers)
    return _counts(pairs, sightings, numbers, sites)


def rescore_run(db: Database, run_id: int, at: str | None = None) -> dict:
    """The end of a run: `rescore` limited to what the run changed, so that it does
    not grow with all of history. Returns `rescore`'s counts.

    Inputs of a pair's score that a run can change: the pair's own facts (its
    sightings were saved again) and its number's history (on how many domains it
    was seen, a brand listing it): both only for the run's numbers. So the numbers
    with a pair that is new or came back with other facts are made again, from all
    their pairs; a pair whose facts (history included) did not change keeps its own
    verdict (`base_score`, kept beside the verdict its number raised: `_Scorer`),
    the rest are scored. A site's verdict rests on its pairs and on which of its
    numbers are high: it is made again for the sites of pairs whose verdict moved,
    and the sites of numbers that became high or stopped being high, from their
    pairs' kept verdicts. Nothing else moved, so everything else keeps its verdict,
    as `rescore` of everything would give it. Except time: a number or site new on
    the scene (`recent`) stops being new RECENT_DAYS after it was first seen; the
    numbers whose pairs that happened to since the run before are scored again too.
    (A pair whose verdict is kept keeps the age in days its reason gave when it was
    scored, as before.)
    """
    when = (storage.parse_time(at) or datetime.now(UTC)).isoformat()
    run_phones = storage.run_phones(db, run_id)
    pairs = storage.stored_pairs(db, run_phones, set())
    scorer = _Scorer(_context(db, run_phones, {r["domain"] for r in pairs}, at))
    before = storage.pairs_before(db, run_id)
    # The run's pairs, (domain, phone) → id (a pair's id is made of its domain and phone).
    seen = storage.run_pairs(db, run_id)
    pair_ids = {(r["domain"], r["phone"]): r["id"] for r in pairs}
    pair_ids = {k: i for k, i in pair_ids.items() if k in seen}
    run_ids = set(pair_ids.values())
    page_facts = {r["id"]: r["facts"] for r in pairs if r["id"] in run_ids}
    for i, old in before.items():  # a pair whose save kept its verdict: the page it showed
        if old["page"] is not None and page_facts.get(i) == old["facts"]:
            page_facts[i] = old["page"]
    kept = {i: _restored(i, before[i]) for i in _unchanged(pairs, before, scorer)}
    phones = {r["phone"] for r in pairs if r["id"] in run_ids and r["id"] not in kept}
    phones |= storage.aged_out_phones(db, run_id, when, RECENT_DAYS) - run_phones
    phones |= run_phones - {r["phone"] for r in pairs}  # numbers without a scored pair
    if phones - run_phones:  # the pairs of the other numbers too (the run's, as read)
        more = storage.stored_pairs(db, phones - run_phones, set())
        pairs += more
        scorer.add_history(db, phones - run_phones, {r["domain"] for r in more})
    restored = [kept[r["id"]] for r in pairs if r["phone"] not in phones and r["id"] in kept]
    # As stored now: a pair whose save kept its verdict is written nothing.
    as_stored = {r["id"]: r for r in pairs if r["phone"] not in phones and r["id"] in kept}
    pairs = [r for r in pairs if r["phone"] in phones]
    for r in pairs:
        scorer.pair(r, before[r["id"]] if r["id"] in kept else None, in_run=r["id"] in run_ids)
    numbers = _verdicts_of(pairs, "phone", phones)
    stored_numbers = storage.entity_verdicts(db, "numbers", set(numbers), raw=True)
    pair_rows = [_pair_row(r, numbers, base=True) for r in pairs]
    olds = {**{r["id"]: r for r in pairs if r["id"] not in run_ids}, **before}
    domains = _sites_to_remake(pairs, pair_rows, olds, numbers, stored_numbers)
    site_pairs = _other_pairs(db, domains, {r["id"] for r in pairs}, scorer, kept)
    known = {**_stored_numbers(db, {r["phone"] for r in site_pairs}), **numbers}
    sites = _site_verdicts(pairs + site_pairs, domains, known)
    sightings = storage.stored_sightings(db, run_phones, set(), run_id=run_id)
    final = {r["id"]: r for r in pair_rows + restored if r["id"] in page_facts}
    sighting_rows = _sighting_rows(db, sightings, scorer, numbers, final, page_facts, pair_ids)
    with db.atomic():
        stored = {r["id"]: {**r, "facts": r["stored_facts"]} for r in pairs}
        storage.save_verdicts(db, "site_numbers", pair_rows + restored, stored | as_stored)
        stored = {r["id"]: {**r, "facts": r.get("stored_facts", r["facts"])} for r in sightings}
        storage.save_verdicts(db, "sightings", sighting_rows, stored)
        _save_entities(db, run_id, numbers, sites, stored_numbers)
    return _counts(pairs, sightings, numbers, sites)


_AGES = ("number_age_days", "watched_days", "site_age_days", "site_watched_days")
_STATUS_FIELDS = ("number_status", "number_status_at", "site_status", "site_status_at")
# What `_with_history` sets from the whole database, the ages aside.
_HISTORY = ("other_domains", "listed_by_brand", *_STATUS_FIELDS)
_HISTORY_AND_AGES = storage.HISTORY_FIELDS  # the same fields (tests/test_end_of_run.py)


class _Scorer:
    """Each pair's facts with history (`facts`), its own verdict (`verdict`, before
    its number's raises it) and the facts' JSON (`facts_json`), as `_score_rows`
    gives them, made once per distinct stored facts (a run's sighting and its pair
    share them), or kept: a pair whose facts did not change keeps the verdict it
    was given when they were last scored (`base_score`, `base_signals`)."""

    def __init__(self, c: dict):
        self.c = c
        self.done: dict[str, tuple] = {}  # stored facts → (Facts, Verdict, JSON)
        self.built: dict[str, Facts] = {}  # stored facts → Facts with history, not scored
        self.parsed: dict[str, dict] = {}  # stored facts → their JSON read (`_unchanged`)

    def add_history(self, db: Database, phones: set[str], domains: set[str]) -> None:
        """The history of more numbers and sites (those of the numbers aged out)."""
        extra = storage.history_context(db, phones, domains)
        for k, v in extra.items():
            if k != "first_run_at":
                self.c[k] = {**self.c.get(k, {}), **v}

    def with_history(self, stored: str) -> Facts:
        f = self.built.get(stored)
        if f is None:
            facts = self.parsed.pop(stored, None) or json.loads(stored)
            f = self.built[stored] = _with_history(Facts.from_dict(facts), self.c)
        return f

    def score(self, row: dict) -> dict:
        """`row` scored from its stored facts (`_score_rows` for one row)."""
        stored = row.pop("facts")
        row["stored_facts"] = stored
        if stored not in self.done:
            f = self.with_history(stored)
            self.done[stored] = (f, score(f), storage.facts_json(f))
        row["facts"], row["verdict"], row["facts_json"] = self.done[stored]
        return row

    def pair(self, row: dict, old: dict | None, *, in_run: bool) -> dict:
        """A pair of a number made again: kept (`old`: a run's pair the run saw as it
        was, its verdict before the run), or one the run did not see whose history
        did not change, when its own verdict is known; scored otherwise."""
        if in_run:
            kept = old if old is not None and old["base_score"] is not None else None
        else:
            kept = row if row["base_score"] is not None else None
        if kept is not None:
            f = Facts.from_dict(json.loads(kept["facts"]))
            if in_run or _same_history(f, self.c):
                return _keep(row, f, kept)
        return self.score(row)

    def kept(self, row: dict) -> dict:
        """A pair nothing changed for (a site's other pair): its kept verdict, or scored."""
        if row["base_score"] is None:
            return self.score(row)
        return _keep(row, Facts.from_dict(json.loads(row["facts"])), row)


def _keep(row: dict, f: Facts, kept: dict) -> dict:
    """`row` with the facts and own verdict of `kept` (a stored pair row)."""
    row["stored_facts"] = row["facts"]
    row["facts"], row["facts_json"] = f, kept["facts"]
    row["verdict"] = pair_before_number(
        Verdict(
            kept["score"] or 0,
            kept["risk"],
            json.loads(kept["reasons"] or "[]"),
            bool(kept["flagged"]),
        ),
        kept["base_score"],
        [tuple(s) for s in json.loads(kept["base_signals"] or "[]")],
    )
    return row


def _same_history(f: Facts, c: dict) -> bool:
    """What the whole database knows about a pair's number and site is what its
    stored facts (`f`, scored with history) say, the ages aside unless they change
    whether the number or the site is new on the scene (`_on_scene`). A pair the
    run did not see keeps the age in days its reason gave when it was scored (as a
    pair whose number is not made again does)."""
    h = _history(f.phone, f.domain, c)
    if any(getattr(f, name) != h[name] for name in _HISTORY):
        return False
    return _on_scene(h, days=False) == _on_scene(f.__dict__, days=False)


def _unchanged(pairs: list[dict], before: dict, scorer: _Scorer) -> set[str]:
    """The run's pairs saved again with the very facts they had (history included,
    the ages aside, unless a reason gives them: `_on_scene`): their verdict stays
    what it was. (Compared as stored: a fact written out where the other leaves
    it to its default counts as a change, and the pair is scored.) The facts of a
    pair that changed are kept read for `scorer`, which scores it next."""
    kept = set()
    for r in pairs:
        old = before.get(r["id"])
        if old is None or not old["facts"]:
            continue
        was = new = json.loads(old["facts"])
        if r["facts"] != old["facts"]:
            new = scorer.parsed[r["facts"]] = json.loads(r["facts"])
            if _page_facts(was) != _page_facts(new):
                continue
        h = _history(new.get("phone"), new.get("domain"), scorer.c)
        if _on_scene(h) != _on_scene(was) or any(was.get(k) != h[k] for k in _HISTORY):
            continue
        kept.add(r["id"])
    return kept


def _page_facts(stored: dict) -> dict:
    """Stored facts without what history adds."""
    return {k: v for k, v in stored.items() if k not in _HISTORY_AND_AGES}


def _on_scene(f: dict, *, days: bool = True) -> tuple:
    """What the ages change in a verdict (`f`: the ages by name): whether the number
    and the site are new on the scene (`recent`), and then (`days`) their age in
    whole days, which their reason gives."""
    age, site_age = f.get("number_age_days"), f.get("site_age_days")
    number = recent(age, f.get("watched_days"))
    site = recent(site_age, f.get("site_watched_days"))
    if not days:
        return (number, site)
    return (number and f"{age:.0f}", site and f"{site_age:.0f}")


def _restored(pair_id: str, old: dict) -> dict:
    return {
        "id": pair_id,
        "score": old["score"],
        "risk": old["risk"],
        "reasons": old["reasons"] or "[]",  # as stored: JSON
        "flagged": old["flagged"],
        "facts": old["facts"],
        "base_score": old["base_score"],
        "base_signals": old["base_signals"],
    }


def _sighting_rows(db, sightings, scorer, numbers, final, page_facts, pair_ids) -> list[dict]:
    """The run's sightings: a sighting that shows the very page facts its pair was
    saved with in this run (`page_facts`) takes the pair's verdict as written
    (`final`: scored with the same facts and number, or kept); the rest (a pair seen
    on several pages) are scored. `pair_ids`: (domain, phone) → the run's pair id."""
    rows, scored = [], []
    for s in sightings:
        pair_id = pair_ids.get((s["domain"], s["phone"]))
        pair = final.get(pair_id)
        if pair is not None and s["facts"] == page_facts.get(pair_id):
            rows.append({k: pair[k] for k in _SIGHTING_VERDICT} | {"id": s["id"]})
        else:
            scored.append(scorer.score(s))
    known = {**_stored_numbers(db, {s["phone"] for s in scored} - set(numbers)), **numbers}
    return rows + [_pair_row(s, known) for s in scored]


_SIGHTING_VERDICT = ("score", "risk", "reasons", "flagged", "facts")


def _sites_to_remake(pairs, pair_rows, olds, numbers, stored_numbers) -> set[str]:
    """The sites of pairs whose verdict moved (or is new), and those of numbers that
    became high or stopped being high."""
    moved = {
        k
        for k, v in numbers.items()
        if (v.risk == "high") != ((stored_numbers.get(k) or {}).get("risk") == "high")
    }
    domains = set()
    for r, new in zip(pairs, pair_rows, strict=True):
        old = olds.get(r["id"])
        if r["phone"] in moved or old is None:
            domains.add(r["domain"])
        elif any(old[k] != new[k] for k in ("score", "risk", "flagged")):
            domains.add(r["domain"])
        elif (old["reasons"] or "[]") != new["reasons"]:  # both JSON, made alike
            domains.add(r["domain"])
    return domains


def _other_pairs(db: Database, domains: set[str], have: set[str], scorer, kept) -> list[dict]:
    """The pairs of these sites not made yet, with their kept verdicts (read only):
    nothing changed for them. A run's pair is as it was before the run (`kept`)."""
    rows = [r for r in storage.stored_pairs(db, set(), domains) if r["id"] not in have]
    fresh = [r for r in rows if r["base_score"] is None and r["id"] not in kept]
    if fresh:  # never scored with a kept verdict: scored with their history
        scorer.add_history(db, {r["phone"] for r in fresh}, {r["domain"] for r in fresh})
    for r in rows:
        if r["id"] in kept:
            r.update(kept[r["id"]])
        scorer.kept(r)
    return rows


def _stored_numbers(db: Database, phones: set[str]) -> dict:
    """The stored verdicts of these numbers, as `Verdict`s (a site reads their risk)."""
    return {
        k: Verdict(v["score"] or 0, v["risk"], v["reasons"], bool(v["flagged"]))
        for k, v in storage.entity_verdicts(db, "numbers", phones).items()
    }


def _save_entities(db, run_id, numbers: dict, sites: dict, stored_numbers: dict) -> None:
    rows = [_row("phone", k, v) for k, v in numbers.items()]
    storage.save_verdicts(db, "numbers", rows, stored_numbers)
    before = storage.entity_verdicts(db, "sites", set(sites), raw=True)
    storage.save_verdicts(db, "sites", [_row("domain", k, v) for k, v in sites.items()], before)
    moved = [{"kind": "number", "key": k, **_row("phone", k, v)} for k, v in numbers.items()]
    moved += [{"kind": "site", "key": k, **_row("domain", k, v)} for k, v in sites.items()]
    for m in moved:
        m.pop("phone", None), m.pop("domain", None), m.pop("flagged", None)
    storage.record_verdicts(db, run_id, moved)


def _counts(pairs, sightings, numbers, sites) -> dict:
    return {
        "pairs": len(pairs),
        "sightings": len(sightings),
        "numbers": len(numbers),
        "sites": len(sites),
        "numbers_high": sum(v.risk == "high" and v.flagged for v in numbers.values()),
        "sites_high": sum(v.risk == "high" and v.flagged for v in sites.values()),
    }


def _score_rows(rows: list[dict], c: dict) -> None:
    """Each row's facts with history (`facts`) and their pair verdict (`verdict`).

    History depends only on the number and the site, and both are in the stored
    facts: rows with the same stored facts (a run's sighting and its pair, most
    often) share one `Facts`, one verdict and one JSON text (`facts_json`), made
    once. Nothing changes a `Facts` after this, so sharing it is safe.
    """
    done: dict[str, tuple] = {}
    for row in rows:
        stored = row.pop("facts")
        row["stored_facts"] = stored
        if stored not in done:
            f = _with_history(Facts.from_dict(json.loads(stored)), c)
            done[stored] = (f, score(f), storage.facts_json(f))
        row["facts"], row["verdict"], row["facts_json"] = done[stored]


def _verdicts_of(pairs: list[dict], column: str, only: set[str] | None) -> dict:
    grouped: dict[str, tuple[list, list]] = {}
    for r in pairs:
        if only is None or r[column] in only:
            fs, vs = grouped.setdefault(r[column], ([], []))
            fs.append(r["facts"]), vs.append(r["verdict"])
    return {k: number_verdict(number_facts(k, fs, vs)) for k, (fs, vs) in grouped.items()}


def _site_verdicts(pairs: list[dict], only: set[str] | None, numbers: dict) -> dict:
    grouped: dict[str, tuple[list, list]] = {}
    for r in pairs:
        if only is None or r["domain"] in only:
            fs, vs = grouped.setdefault(r["domain"], ([], []))
            fs.append(r["facts"]), vs.append(r["verdict"])
    return {d: site_verdict(site_facts(d, fs, numbers, vs)) for d, (fs, vs) in grouped.items()}


def _row(pk: str, key: str, v) -> dict:
    return {pk: key, "score": v.score, "risk": v.risk, "reasons": v.reasons, "flagged": v.flagged}


def _pair_row(r: dict, numbers: dict, *, base: bool = False) -> dict:
    """The verdict row of a scored pair or sighting; with `base`, a pair's own verdict
    before its number's (`base_score`, `base_signals`), kept for the next run."""
    f = r["facts"]
    own = r["verdict"]
    v = pair_with_number(own, f, numbers.get(f.phone))
    row = {
        "id": r["id"],
        "score": v.score,
        "risk": v.risk,
        "reasons": storage.reasons_json(v.reasons),  # once for a pair and its sightings
        "flagged": v.flagged,
        "facts": r["facts_json"],
    }
    if base:
        row["base_score"] = own.score
        row["base_signals"] = storage.signals_json(own.signals)
    return row


def _with_history(facts: Facts, c: dict) -> Facts:
    """The page's own facts plus what the database knows about the number and the site."""
    facts.__dict__.update(_history(facts.phone, facts.domain, c))
    return facts


def _history(phone: str, domain: str, c: dict) -> dict:
    """What the database knows about a number and a site, as `Facts` fields."""
    n_first = storage.parse_time(c["number_first"].get(phone))
    s_first = storage.parse_time(c["site_first"].get(domain))
    nd, sd = c["decisions"].get(phone), c["decisions"].get(domain)
    return {
        "other_domains": max(0, (c["domains_of"].get(phone) or 1) - 1),
        "listed_by_brand": c.get("listed_by_brand", {}).get(phone),
        "number_age_days": _days(n_first, c["when"]),
        "watched_days": _days(c["first_run_at"], n_first),
        "site_age_days": _days(s_first, c["when"]),
        "site_watched_days": _days(c["first_run_at"], s_first),
        "number_status": nd["status"] if nd else None,
        "number_status_at": nd["at"] if nd else None,
        "site_status": sd["status"] if sd else None,
        "site_status_at": sd["at"] if sd else None,
    }


def _record_changes(db: Database, run_id: int, stats: dict) -> dict:
    """new / back / gone per number, site and pair; never a guess.

    - new: never seen before, by any run (a run killed before its end recorded
      no presence, but what it saw was seen then, as `flags` says).
    - back: seen again after a run of this profile recorded it gone.
    - gone: present for this profile, not seen by this run, and every engine
      and query that showed it in the last run that saw it answered this run
      (every result page came back) and either no longer showed its result or
      showed it and the page it led to was stored without it. A blocked, failed,
      partial or interrupted run covers less, so it records less as gone; a
      run that could not store everything (storage failed) records nothing gone.
    """
    profile = storage.run_profile(db, run_id)
    seen = storage.run_keys(db, run_id)
    at = storage.now()
    events, back = [], []
    counts = {f"{e}_{k}s": 0 for e in ("new", "back", "gone") for k in KINDS}
    for kind in KINDS:
        known = storage.presence_of(db, kind, seen[kind])
        before = storage.seen_before(db, kind, seen[kind] - set(known), run_id)
        for key in sorted(seen[kind]):
            rows = known.get(key)
            if not rows and key not in before:
                events.append((kind, key, "new", "first seen in this run"))
                counts[f"new_{kind}s"] += 1
                continue
            mine = [r for r in rows or () if r[0] == profile]
            if mine and mine[0][2] is not None:
                back.append((kind, key))
                last = storage.last_seen_before(db, kind, key, run_id)
                when = f"run {last[0]} ({(last[1] or '')[:10]})" if last else "an earlier run"
                events.append((kind, key, "back", f"back after an absence: last seen in {when}"))
                counts[f"back_{kind}s"] += 1
    storage.mark_present(db, profile, run_id, seen, back)
    if not stats.get(stats_keys.STORAGE_FAILED):
        gone = _gone(db, profile, run_id)
        for (kind, key), last_run in gone:
            detail = (
                f"last seen in run {last_run}; every engine and query that showed it"
                " answered this run without it"
            )
            events.append((kind, key, "gone", detail))
            counts[f"gone_{kind}s"] += 1
        storage.mark_gone(db, profile, run_id, [k for k, _ in gone])
    storage.record_changes(db, run_id, events, at)
    return counts


def _gone(db: Database, profile: str, run_id: int) -> list[tuple[tuple[str, str], int]]:
    """((kind, key), last run) of what this run shows to be gone (`_record_changes`)."""
    answered = storage.answered_queries(db, run_id)
    unfetched = storage.shown_but_not_fetched(db, run_id)
    fetched = storage.run_domains(db, run_id)

    def covered(showings: set[tuple[str, str, str]]) -> bool:
        return all((e, q) in answered and (e, q, d) not in unfetched for e, q, d in showings)

    candidates = {
        (kind, key): c
        for (kind, key), c in storage.gone_candidates(db, profile, run_id).items()
        # a site fetched is still there, only without a number on it this time
        if not (kind == "site" and key in fetched) and covered(c["showings"])
    }
    # Only those its sightings call gone: what else showed their pages can only
    # keep them (and is read for them alone, to keep the end of a run short).
    storage.add_result_showings(db, candidates)
    return [(k, c["last_run"]) for k, c in sorted(candidates.items()) if covered(c["showings"])]


# ---------------------------------------------------------------------------
# Reading


def latest_run(db: Database) -> int | None:
    return storage.latest_run_id(db)


def timeline(db: Database, key: str) -> dict:
    """First and last seen, the runs it was seen in, what changed, decisions, partners."""
    ensure_shape(db)
    kind = "number" if key.startswith("+") else "site"
    entity = storage.entity(db, kind, key)
    runs = storage.runs_of(db, kind, key)
    missing = []
    if runs:
        seen = set(runs)
        missing = [r for r in storage.run_ids(db, runs[0], runs[-1]) if r not in seen]
    changes = storage.changes_of(db, key)
    partners = storage.partners(db, kind, key)
    return {
        "key": key,
        "kind": kind,
        "status": (entity or {}).get("status"),
        "first_seen": (entity or {}).get("first_seen"),
        "last_seen": (entity or {}).get("last_seen"),
        "runs": runs,
        "missing_runs": missing,
        "changes": changes,
        "triage": triage.history(db, key),
        "partners": partners,
        # How the verdict on the number or site moved over runs (issue 10).
        "verdicts": storage.verdict_history(db, key),
    }
