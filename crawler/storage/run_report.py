"""Reads behind the run report (crawler.exports.report) at a year's size.

The report shows the pairs one run saw. They are found from that run's own
sightings (tens of thousands), not by testing every flagged pair of the
history against them, and only the columns the report shows are read: no
facts, no verdicts of numbers and sites, no evidence it does not print.

Its chart (flagged numbers per run and brand) reads the counts each run keeps
in `run_flag_counts` (migration 0018): the end of a run counts its own, and
triggers forget a run's counts whenever one of its flagged sightings changes,
so a run without counts is counted live, from its sightings.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from crawler.storage.reads import _DISMISSED, _flagged_where
from crawler.storage.schema import _FLAG_COUNTS_SQL

# The pair's columns the report shows, then its number's and site's, then the
# title of the page the pair was last seen on (as `flagged_rows(details=True)`).
_PAIR = (
    "phone",
    "domain",
    "url",
    "brand",
    "score",
    "risk",
    "reasons",
    "is_ad",
    "engine",
    "query",
    "rank",
    "first_run",
    "warc_file",
    "warc_record_id",
    "screenshot",
)
_REPORT_COLUMNS = ", ".join(f"p.{c} as {c}" for c in _PAIR) + (
    ", n.number_type, n.country, n.status as number_status, s.status as site_status,"
    " g.title as page_title"
)


# The run's pairs; those whose number or site an analyst dismissed (few) apart, so
# the second arm looks up only them.
_SEEN = """with seen as (select distinct phone, domain from sightings where run_id = ?),
    seen_dismissed as (
        select phone, domain from seen
        where phone in (select phone from numbers indexed by idx_numbers_status
                        where status = 'dismissed')
           or domain in (select domain from sites indexed by idx_sites_status
                         where status = 'dismissed'))"""


def run_pair_rows(db: Database, run_id: int) -> list[dict]:
    """The pairs a run saw that are flagged, or not only because an analyst dismissed
    the number or the site, as `flagged_rows(details=True, seen_in_run=run_id,
    include_dismissed=True)` orders them (highest score first, then number and
    site), with `_REPORT_COLUMNS` (`reasons` as stored: JSON text)."""
    selects, params = [], [run_id]
    for seen, base in (("seen", "p.flagged = 1"), ("seen_dismissed", _DISMISSED)):
        where, more = _flagged_where("low", None, False, "pair", base=base)
        # The run's pairs first (CROSS JOIN keeps the order written): each is looked
        # up by its number, instead of every flagged pair tested against them.
        selects.append(
            f"""select {_REPORT_COLUMNS}
                from {seen} k
                cross join site_numbers p on p.phone = k.phone and p.domain = k.domain
                cross join numbers n on n.phone = p.phone
                cross join sites s on s.domain = p.domain
                left join pages g on g.run_id = p.last_run and g.url = p.url
                where {where}"""
        )
        params += more
    cursor = db.execute(
        f"{_SEEN} {' union all '.join(selects)} order by score desc, phone, domain", params
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def flagged_numbers_per_run(db: Database, up_to_run: int) -> list[dict]:
    """(run_id, brand, n): distinct numbers flagged in each run and brand, as that run
    closed (the sightings' verdicts; later triage changes the flags, not this).
    Sightings without a brand count under "(no brand)"."""
    kept = {
        run_id: json.loads(counts)
        for run_id, counts in db.execute(
            "select run_id, counts from run_flag_counts where run_id <= ?", [up_to_run]
        )
    }
    todo = [r for (r,) in db.execute("select id from runs where id <= ?", [up_to_run])]
    counts = _count_flagged(db, [r for r in todo if r not in kept])
    for run_id, per_brand in kept.items():
        counts.update({(run_id, brand): n for brand, n in per_brand.items()})
    return [{"run_id": r, "brand": b, "n": n} for (r, b), n in sorted(counts.items())]


def refresh_flag_counts(db: Database) -> int:
    """Count the flagged numbers per brand of every run that has no counts kept (the
    run that just ended, runs whose sightings changed since); returns how many."""
    with db.atomic():
        return db.execute(_FLAG_COUNTS_SQL).rowcount


def _count_flagged(db: Database, run_ids: list[int]) -> dict[tuple[int, str], int]:
    """(run, brand) → distinct numbers flagged, counted from these runs' sightings."""
    counts: dict[tuple[int, str], int] = {}
    if not run_ids:
        return counts
    # Grouped by the stored brand, in the order of the partial index of migration 0016
    # (named: SQLite took the run_id index and read every sighting): no sort. Grouping
    # by coalesce(brand, ...) made SQLite sort every flagged sighting.
    both = []  # runs with sightings of no brand and of a brand named "(no brand)"
    for run_id, brand, n in db.execute(
        "select run_id, brand, count(distinct phone)"
        " from sightings indexed by idx_sightings_flagged_run_id"
        " where run_id in (select value from json_each(?)) and flagged = 1"
        " group by run_id, brand",
        [json.dumps(run_ids)],
    ):
        label = _NO_BRAND if brand is None else brand
        if (run_id, label) in counts:
            both.append(run_id)
        counts[run_id, label] = n
    for run_id in both:  # a number in both counts once
        (counts[run_id, _NO_BRAND],) = db.execute(
            "select count(distinct phone) from sightings where run_id = ? and flagged = 1"
            " and coalesce(brand, ?) = ?",
            [run_id, _NO_BRAND, _NO_BRAND],
        ).fetchone()
    return counts


_NO_BRAND = "(no brand)"
