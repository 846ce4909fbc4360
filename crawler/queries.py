"""For maintainers: how each query performs, and one query tried without storing anything.

`stats(db)` gives, per query and engine, the runs it took part in, the results
it brought, the flagged numbers it found (and how many of them were new when it
found them), and how many of those analysts confirmed or dismissed, so weak
queries can be retired. A result is tied to the numbers on the landing page it
led to in the same run.

`stats(db, last=N)` also gives each query's cost and yield for retiring it:
`requests` (result pages and landing pages fetched), `new_recent` (flagged
numbers first found by it in its last N runs), `unique` and `unique_share`
(its flagged numbers that no other query found, over all engines), and
`retire`: a candidate when it ran at least N times, found no new flagged
number in its last N runs and nothing unique. `retire(db, text, reason)` and
`restore(db, text, reason)` keep that decision in the database; crawls skip
retired queries (crawler/crawl.py), the profile file stays as written.

`try_query(profile, text)` runs one query on the profile's engines through the
normal crawl (same spider, pipelines and scoring) into a throwaway database,
and returns the results with the numbers found on each landing page.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path

from sqlite_utils import Database

from crawler import stats_keys, storage, triage
from crawler.brands import brand_in
from crawler.config import Profile, query_key

RETIRE_AFTER_RUNS = 5  # the default N of `queries stats --last N`


def stats(db: Database, last: int = RETIRE_AFTER_RUNS) -> list[dict]:
    """One row per (query, engine), the most productive first."""
    from crawler.history import ensure_shape

    ensure_shape(db)
    rows = {}
    for query, engine, runs, results, ads, last_seen in storage.serp_result_counts(db):
        rows[(query, engine)] = {
            "query": query,
            "engine": engine,
            "runs": runs,
            "results": results,
            "ads": ads or 0,
            "last_seen": last_seen,
            "_flagged": set(),
            "_new": set(),
            "_numbers": set(),
        }
    runs_by_query = storage.query_runs(db)
    recent_runs = {q: set(runs[:last]) for q, runs in runs_by_query.items()}
    # query text → flagged numbers it found (all engines), and new ones in its last runs
    by_query: dict[str, set[str]] = {}
    new_recent: dict[str, set[str]] = {}
    # (numbers, flagged, new) of each row, and its query's sets: the loop below runs
    # once per number on a result's landing page (over 100,000 in a year).
    found = {k: (r["_numbers"], r["_flagged"], r["_new"]) for k, r in rows.items()}
    for query, engine, phone, run_id, flagged, new in storage.query_number_hits(db):
        sets = found.get((query, engine))
        if sets is None:
            continue
        sets[0].add(phone)
        if flagged:
            sets[1].add(phone)
            by_query.setdefault(query, set()).add(phone)
            if new:
                sets[2].add(phone)
                if run_id in recent_runs.get(query, ()):
                    new_recent.setdefault(query, set()).add(phone)
    # A number counts as confirmed (dismissed) when it or a site it was seen on is.
    decided = storage.decided_numbers(db, triage.latest(db))
    found_by: Counter[str] = Counter()
    for phones in by_query.values():
        found_by.update(phones)
    once = {phone for phone, n in found_by.items() if n == 1}
    cost = storage.query_requests(db)
    retired = storage.retired_queries(db)
    out = []
    for row in rows.values():
        flagged, numbers = row.pop("_flagged"), row.pop("_numbers")
        new = row.pop("_new")
        q = row["query"]
        mine = by_query.get(q, set())
        unique = len(mine & once)
        recent = len(new_recent.get(q, ()))
        runs_of_query = len(runs_by_query.get(q, ()))
        row.update(
            {
                "flagged": len(flagged),
                "new_flagged": len(new),
                "confirmed": len(flagged & decided["confirmed"]),
                "dismissed": len(numbers & decided["dismissed"]),
                "requests": cost.get((q, row["engine"]), 0),
                "new_recent": recent,
                "unique": unique,
                "unique_share": round(unique / len(mine), 2) if mine else 0.0,
                "retire": runs_of_query >= last and recent == 0 and unique == 0,
                "retired": (retired.get(query_key(q)) or {}).get("reason"),
            }
        )
        out.append(row)
    out.sort(key=lambda r: (-r["new_flagged"], -r["flagged"], r["query"], r["engine"]))
    return out


def retire(db: Database, text: str, reason: str) -> dict:
    """Retire a query text: crawls skip it from now on. ValueError when already retired."""
    key = query_key(text)
    if not key:
        raise ValueError("the query text is empty")
    before = storage.retired_queries(db).get(key)
    if before is not None:
        raise ValueError(f"{text!r} was already retired on {before['at']}: {before['reason']}")
    return storage.record_retirement(db, " ".join(text.split()), key, "retire", reason)


def restore(db: Database, text: str, reason: str = "") -> dict:
    """Bring a retired query back. ValueError when it is not retired."""
    key = query_key(text)
    if key not in storage.retired_queries(db):
        raise ValueError(f"{text!r} is not retired")
    return storage.record_retirement(db, " ".join(text.split()), key, "restore", reason)


def without_retired(profile: Profile, db: Database) -> Profile:
    """The profile with the database's retired queries set aside (its file untouched)."""
    from dataclasses import replace

    retired = {k: r["reason"] for k, r in storage.retired_queries(db).items()}
    return replace(profile, retired=retired) if retired else profile


@dataclass
class OneQueryProfile(Profile):
    """A profile whose only query is the one being tried."""

    one_query: tuple[str | None, str] = (None, "")

    def queries(self) -> list[tuple[str | None, str]]:
        return [self.one_query]


def one_query_profile(profile: Profile, text: str) -> OneQueryProfile:
    values = {f.name: getattr(profile, f.name) for f in fields(Profile)}
    brand = brand_in(text, profile.brands, names=True)
    return OneQueryProfile(**values, one_query=(brand.name if brand else None, text))


def try_query(profile: Profile, text: str, overrides: dict | None = None) -> dict:
    """Run `text` on the profile's engines into a throwaway database; return what was seen."""
    from crawler import storage
    from crawler.crawl import run_crawl

    one = one_query_profile(profile, text)
    with tempfile.TemporaryDirectory(prefix="serpwatch-try-") as tmp:
        db_path = Path(tmp) / "try.db"
        settings = {
            "LOG_LEVEL": "WARNING",
            "SERPWATCH_WARC_DIR": str(Path(tmp) / "warc"),
            # A try is not a run: no alerts, no progress display.
            "SERPWATCH_ALERTS": False,
            "SERPWATCH_PROGRESS": "off",
        }
        settings.update(overrides or {})
        crawl_stats = run_crawl(one, db_path, settings)
        run_id = crawl_stats.get(stats_keys.RUN_ID)
        if run_id is None:
            raise RuntimeError("the crawl did not start")
        db = storage.open_db(db_path)
        try:
            return _collect(db, run_id, one)
        finally:
            db.close()


def _collect(db: Database, run_id: int, profile: OneQueryProfile) -> dict:
    run = storage.get_run(db, run_id)
    results = []
    for r in storage.run_serp_results(db, run_id):
        # An ad reached through its click chain (click_ads = true) entered at its click URL.
        entries = [r["landing_url"], r.get("click_url") or r["landing_url"]]
        page = storage.page_entered_at(db, run_id, entries)
        numbers = []
        if page is not None:
            for s in storage.page_sightings(db, page["id"]):
                numbers.append(
                    {
                        "phone": s["phone"],
                        "official_for": s["official_for"],
                        "is_fax": bool(s["is_fax"]),
                        "score": s["score"],
                        "risk": s["risk"],
                        "flagged": bool(s.get("flagged")),
                        "reasons": json.loads(s["reasons"] or "[]"),
                    }
                )
        results.append(
            {
                "engine": r["engine"],
                "is_ad": bool(r["is_ad"]),
                "rank": r["rank"],
                "ad_position": r["ad_position"],
                "title": r["title"],
                "landing_url": r["landing_url"],
                "url": page["url"] if page else None,
                "fetched": page is not None,
                "phones_in_result": json.loads(r["phones"] or "[]"),
                "numbers": numbers,
            }
        )
    return {
        "query": profile.one_query[1],
        "brand": profile.one_query[0],
        "engines": [e.kind for e in profile.engines],
        "blocked": storage.RunSummary.from_row(run).blocked,
        "warnings": storage.RunSummary.from_row(run).warnings,
        "results": results,
    }
