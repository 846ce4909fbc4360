"""`queries stats` and `report` at a year's size (issue 11): what they read instead of
every row gives the same answers, and their joins stay on covering indexes."""

from __future__ import annotations

import json

from test_flags_paging import _scenario

from crawler import storage, triage
from crawler.exports.core import iter_pair_rows
from crawler.exports.report import run_pairs

# What the report reads of each pair (crawler/exports/report.py).
SHOWN = (
    "phone", "domain", "url", "brand", "score", "risk", "is_ad", "engine", "query", "rank",
    "first_run", "warc_file", "warc_record_id", "number_type", "country", "page_title",
    "status", "status_at",
)  # fmt: skip


def _runs(d) -> list[int]:
    return [r for (r,) in d.execute("select id from runs order by id")]


def _plan(d, sql: str) -> str:
    return " | ".join(r[3] for r in d.execute(f"explain query plan {sql}"))


def test_the_reports_pairs_are_the_export_rows_of_the_run():
    """The report reads the run's pairs from its own sightings, and only the columns it
    shows: the same rows, in the same order, as the exports' rows of the pairs the
    run saw, dismissed and confirmed ones included."""
    d = _scenario()
    triage.record(d, "site", "pcrepair.nl", "dismiss")
    triage.record(d, "number", "+31851111111", "confirm")
    seen = 0
    for run_id in _runs(d):
        want = list(iter_pair_rows(d, include_dismissed=True, seen_in_run=run_id))
        got = run_pairs(d, run_id)
        assert [{k: r[k] for k in SHOWN} for r in got] == [
            {k: (int(w[k]) if k == "is_ad" else w[k]) for k in SHOWN} for w in want
        ]
        assert [json.loads(r["reasons"]) for r in got] == [w["reasons"] for w in want]
        seen += len(got)
    statuses = {r["status"] for run_id in _runs(d) for r in run_pairs(d, run_id)}
    assert {"dismissed", "confirmed", "new"} <= statuses and seen > 6


def test_the_chart_counts_a_number_once_when_a_brand_is_named_no_brand():
    """Sightings without a brand count under "(no brand)"; a brand of that very name
    (a profile can say so) shares the count, each number once, as when the chart
    grouped by "(no brand)" itself rather than by the stored brand."""
    d = _scenario()
    rows = [
        ("a1", "+31850000001", None),
        ("a2", "+31850000001", "(no brand)"),
        ("b1", "+31850000002", None),
        ("c1", "+31850000003", "Microsoft"),
    ]
    d.conn.executemany(
        "insert into sightings (id, run_id, phone, brand, flagged, official, is_fax)"
        " values (?, 99, ?, ?, 1, 0, 0)",
        rows,
    )
    per_run = {(r["run_id"], r["brand"]): r["n"] for r in storage.flagged_numbers_per_run(d, 99)}
    assert per_run[99, "(no brand)"] == 2 and per_run[99, "Microsoft"] == 1
    assert not any(r > 99 for r, _ in per_run)


def test_queries_stats_follows_results_to_numbers_on_covering_indexes():
    """Result → landing page → its numbers → the number's first run: every step reads an
    index of migration 0017, none a row of results, pages, sightings or numbers."""
    d = _scenario()
    said: list[str] = []
    d.conn.set_trace_callback(said.append)
    list(storage.query_number_hits(d))
    storage.query_requests(d)
    storage.serp_result_counts(d)
    d.conn.set_trace_callback(None)
    plans = [_plan(d, s) for s in said if s.lstrip().lower().startswith("select")]
    hits = next(p for p in plans if "sightings" in p.lower() or "page_id" in p)
    for index in (
        "idx_pages_run_id_entry_url_id",
        "idx_sightings_page_id_verdict",
        "idx_numbers_phone_first_run",
    ):
        assert f"COVERING INDEX {index}" in hits, hits
    for plan in plans:
        assert "SCAN serp_results USING COVERING INDEX" in plan or " sr USING COVERING" in plan


def test_the_new_indexes_replace_the_ones_they_extend():
    d = _scenario()
    names = {r[0] for r in d.execute("select name from sqlite_master where type = 'index'")}
    assert "0017_indexes_for_queries_stats_and_report" in storage.schema.applied_names(d)
    assert not names & {
        "idx_serp_results_query_engine",
        "idx_pages_run_id_entry_url",
        "idx_sightings_page_id",
    }
