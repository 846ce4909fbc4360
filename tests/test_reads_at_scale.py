"""`queries stats` and `report` at a year's size (issue 11): what they read instead of
every row gives the same answers, and their joins stay on covering indexes."""

from __future__ import annotations

import json
import sqlite3

import pytest
from test_flags_paging import _scenario
from test_history import OTHER, SCAM_PAGE, SHOP_PAGE, db, run, see

from crawler import storage, triage
from crawler.exports.core import iter_pair_rows
from crawler.exports.report import run_pairs

DM = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}
DM_FACTS = {"domain_match": DM}

# What the report reads of each pair (crawler/exports/report.py).
SHOWN = (
    "phone", "domain", "url", "brand", "score", "risk", "is_ad", "engine", "query", "rank",
    "first_run", "warc_file", "warc_record_id", "number_type", "country", "page_title",
    "status", "status_at",
)  # fmt: skip


def _runs(d) -> list[int]:
    return [r for (r,) in d.execute("select id from runs order by id")]


def _live(d, up_to: int) -> dict:
    """The chart's counts as it computed them before they were kept: from every
    flagged sighting."""
    return {
        (r, b): n
        for r, b, n in d.execute(
            "select run_id, coalesce(brand, '(no brand)'), count(distinct phone)"
            " from sightings where run_id <= ? and flagged = 1 group by 1, 2",
            [up_to],
        )
    }


def _chart(d, up_to: int) -> dict:
    return {(r["run_id"], r["brand"]): r["n"] for r in storage.flagged_numbers_per_run(d, up_to)}


def _kept(d) -> set[int]:
    return {r for (r,) in d.execute("select run_id from run_flag_counts")}


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
    grouped by "(no brand)" itself rather than by the stored brand: counted live
    (a run still open) and as kept at the end of the run."""
    d = _scenario()
    rid = storage.start_run(d, "p")
    rows = [
        ("a1", "+31850000001", None),
        ("a2", "+31850000001", "(no brand)"),
        ("b1", "+31850000002", None),
        ("c1", "+31850000003", "Microsoft"),
    ]
    d.conn.executemany(
        "insert into sightings (id, run_id, phone, brand, flagged, official, is_fax)"
        f" values (?, {rid}, ?, ?, 1, 0, 0)",
        rows,
    )
    for _ in ("live", "kept"):
        assert rid not in _kept(d) or _ == "kept"
        chart = _chart(d, rid)
        assert chart[rid, "(no brand)"] == 2 and chart[rid, "Microsoft"] == 1
        assert chart == _live(d, rid)
        storage.refresh_flag_counts(d)


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


def _closed(d, at: str, pages) -> int:
    """A run that ends as a crawl's does: its history, then `finish_crawl`."""
    rid, _ = run(d, at, pages)
    storage.finish_crawl(d, rid, {})
    return rid


def test_the_chart_counts_kept_per_run_stay_right():
    """Each run keeps its chart counts when it ends; a sighting of it written later
    (a rescore's verdict, a resumed run's save, a correction) makes it forget them
    until the next run ends, and an interrupted run is counted live: the chart
    always equals a count over every flagged sighting."""
    d = db()
    other = (("big-scam.nl", OTHER), {"domain_match": DM, "is_ad": True})
    r1 = _closed(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE, other])
    r2 = _closed(d, "2026-11-02T08:00:00+00:00", [SCAM_PAGE, other])
    assert _kept(d) == {r1, r2} and _live(d, r2) and _chart(d, r2) == _live(d, r2)

    # A rescore writes a verdict of run 1 that unflags a sighting.
    before = _chart(d, r2)
    (sid,) = d.execute("select id from sightings where run_id = ? and flagged = 1", [r1]).fetchone()
    storage.save_verdicts(
        d, "sightings", [{"id": sid, "score": 0, "risk": None, "reasons": [], "flagged": 0}]
    )
    assert _kept(d) == {r2} and _chart(d, r2) == _live(d, r2)
    assert _chart(d, r2) != before  # the counts run 1 kept would now be wrong

    # A run interrupted before its end: its sightings are saved, it keeps no counts.
    r3 = storage.start_run(d, "p")
    see(d, r3, "new-scam.nl", "+31851111111", at="2026-11-03T08:00:00+00:00", **DM_FACTS)
    assert r3 not in _kept(d) and _chart(d, r3) == _live(d, r3)
    assert any(k[0] == r3 for k in _live(d, r3))

    # The next run's end counts every run that has none.
    r4 = _closed(d, "2026-11-04T08:00:00+00:00", [SHOP_PAGE, other])
    assert _kept(d) == {r1, r2, r3, r4} and _chart(d, r4) == _live(d, r4)

    # A resumed run saves into run 2 again; a sighting's brand is corrected.
    see(d, r2, "new-scam.nl", "+31851111111", at="2026-11-02T09:00:00+00:00", **DM_FACTS)
    assert r2 not in _kept(d) and _chart(d, r4) == _live(d, r4)
    d.conn.execute("update sightings set brand = 'Apple' where run_id = ? and flagged = 1", [r4])
    assert r4 not in _kept(d) and _chart(d, r4) == _live(d, r4)
    d.conn.execute("delete from sightings where run_id = ? and flagged = 1", [r1])
    assert r1 not in _kept(d) and _chart(d, r4) == _live(d, r4)
    storage.refresh_flag_counts(d)
    assert _kept(d) == {r1, r2, r3, r4} and _chart(d, r4) == _live(d, r4)


def test_an_older_database_gets_the_counts_of_every_run(tmp_path):
    """Migration 0018 counts every run of a database made before it."""
    d = db()
    r1 = _closed(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE])
    r2 = _closed(d, "2026-11-02T08:00:00+00:00", [SCAM_PAGE])
    d.conn.executescript(
        "drop table run_flag_counts; drop trigger run_flag_counts_insert;"
        " drop trigger run_flag_counts_delete; drop trigger run_flag_counts_update;"
        " delete from _sqlite_migrations where name = '0018_flag_counts_per_run';"
    )
    assert "0018_flag_counts_per_run" in storage.ensure_db_shape(d)
    assert _kept(d) == {r1, r2} and _chart(d, r2) == _live(d, r2) and _live(d, r2)


def test_a_full_disk_at_the_count_leaves_the_run_recorded(monkeypatch):
    """The kept counts are a shortcut: when the disk fills as the run's end counts,
    the run is still closed as it ended and the chart counts it live."""
    from crawler.storage import crawl_runs

    def full(db):
        raise sqlite3.OperationalError("database or disk is full")

    d = db()
    monkeypatch.setattr(crawl_runs, "refresh_flag_counts", full)
    rid = _closed(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE])
    assert d["runs"].get(rid)["status"] != "running"
    assert rid not in _kept(d) and _chart(d, rid) == _live(d, rid) and _live(d, rid)
    monkeypatch.setattr(crawl_runs, "refresh_flag_counts", lambda db: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # anything else is a bug, not a full disk
        storage.finish_crawl(d, rid, {})
