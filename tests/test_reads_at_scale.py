"""`queries stats` and `report` at a year's size (issue 11): what they read instead of
every row gives the same answers, and their joins stay on covering indexes."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from test_flags_paging import _scenario
from test_history import OTHER, SCAM, SCAM_PAGE, SHOP, SHOP_PAGE, db, run, see
from test_queries import serp

from crawler import history, queries, storage, triage
from crawler.exports.report import run_pairs
from crawler.exports.rows import ReadOptions, iter_pair_rows

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
        want = list(iter_pair_rows(d, ReadOptions(include_dismissed=True), seen_in_run=run_id))
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


def test_queries_stats_reads_results_from_a_covering_index_and_follows_them_by_index():
    """Results per query and engine (runs, cost, yield) come from a covering index of
    migration 0017; a run whose numbers are not kept is followed live by index, from
    each result to its landing page and the numbers on it."""
    d = db()
    _hits_run(d, "2026-11-01", close=False)
    said: list[str] = []
    d.conn.set_trace_callback(said.append)
    assert list(storage.query_number_hits(d))
    storage.query_requests(d)
    storage.serp_result_counts(d)
    d.conn.set_trace_callback(None)
    plans = {s: _plan(d, s) for s in said if s.lstrip().lower().startswith("select")}
    hits = next(p for p in plans.values() if "idx_sightings_page_id" in p)
    assert "idx_pages_run_id_entry_url" in hits and "SCAN p" not in hits, hits
    per_query = [
        p for s, p in plans.items() if re.search(r"group by (sr\.)?query, (sr\.)?engine", s)
    ]
    assert len(per_query) == 3 and all(
        "COVERING INDEX idx_serp_results_query_engine_run" in p for p in per_query
    ), plans


def test_the_indexes_that_crawls_pay_for_stay_narrow():
    """0017's covering index of results replaced the one it extends; its covering
    indexes of pages, sightings and numbers gave way to the kept query hits (0022):
    every crawl paid for them."""
    d = _scenario()
    names = {r[0] for r in d.execute("select name from sqlite_master where type = 'index'")}
    applied = storage.schema.applied_names(d)
    assert "0022_fewer_indexes_to_write" in applied
    assert "idx_serp_results_query_engine_run" in names
    assert {"idx_sightings_page_id", "idx_pages_run_id_entry_url"} <= names
    assert not names & {
        "idx_serp_results_query_engine",
        "idx_sightings_page_id_verdict",
        "idx_pages_run_id_entry_url_id",
        "idx_numbers_phone_first_run",
    }


def test_the_ledger_is_read_and_written_through_one_index():
    """Each key's fingerprint as last sent to a recipient in a format comes from the
    (recipient, format, key) index alone, not a scan of every recipient's entries
    joined to their exports (0027 dropped the (recipient, key) index it scanned), and
    is each key's latest entry of that recipient and format."""
    d = _scenario()
    sent = [
        ("regulator", "stix", [("a", "1"), ("b", "1"), ("pair x", "1")]),
        ("regulator", "jsonl", [("a", "2"), ("c", "2")]),
        ("hosting", "stix", [("a", "3")]),
        ("regulator", "stix", [("b", "4"), ("d", "4")]),
    ]
    for recipient, fmt, items in sent:
        export = {"recipient": recipient, "format": fmt, "since": "", "min_risk": "low"}
        storage.record_export(d, {**export, "created_at": storage.now(), "records": 0}, items)
    names = {
        r[0] for r in d.execute("select name from sqlite_master where tbl_name = 'export_items'")
    }
    assert "0027_one_index_of_the_ledger" in storage.schema.applied_names(d)
    assert names - {"export_items"} == {"idx_export_items_recipient_format_key"}
    said: list[str] = []
    d.conn.set_trace_callback(said.append)
    got = dict(storage.sent_fingerprints(d, "regulator", "stix"))
    d.conn.set_trace_callback(None)
    assert got == {"a": "1", "b": "4", "pair x": "1", "d": "4"}
    plan = _plan(
        d,
        next(s for s in said if "export_items" in s)
        .replace("?", "'regulator'", 1)
        .replace("?", "'stix'", 1),
    )
    assert "COVERING INDEX idx_export_items_recipient_format_key" in plan, plan
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan
    assert dict(storage.sent_fingerprints(d, "regulator", "jsonl")) == {"a": "2", "c": "2"}
    assert dict(storage.sent_fingerprints(d, "hosting", "csv")) == {}


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


def _hits_run(d, day: str, with_scam: bool = True, close: bool = True) -> int:
    """A run of three queries on two engines (tests/test_queries.py's), ended as a
    crawl ends it (or not: interrupted)."""
    rid = storage.start_run(d, "p")
    at = f"{day}T08:00:00+00:00"
    serp(d, rid, "Microsoft helpdesk", "http://microsoft-helpdesk.nl/", 1)
    serp(d, rid, "Microsoft helpdesk", "http://pcrepair.nl/", 2)
    serp(d, rid, "windows hulp", "http://pcrepair.nl/", 1)
    serp(d, rid, "windows hulp", "http://pcrepair.nl/", 1, engine="duckduckgo")
    if with_scam:
        see(d, rid, "microsoft-helpdesk.nl", SCAM, at, domain_match=DM)
    see(d, rid, "pcrepair.nl", SHOP, at, trade="reparatie")
    if close:
        history.close_run(d, rid, at=at)
        storage.finish_crawl(d, rid, {})
    return rid


def _hits_kept(d) -> set[int]:
    return {r for (r,) in d.execute("select run_id from query_hits_runs")}


def _stats_live(d) -> list[dict]:
    """`queries stats` with every run followed live (nothing kept)."""
    d.conn.execute("savepoint live")
    d.conn.execute("delete from query_hits_runs")
    try:
        return queries.stats(d)
    finally:
        d.conn.execute("rollback to live")
        d.conn.execute("release live")


def test_queries_stats_kept_per_run_stay_right():
    """Each run keeps the numbers its results led to when it ends; a result, page,
    sighting or number of it written later makes it drop them until the next run
    ends, and an open run is followed live: `queries stats` always equals following
    every result to its numbers."""
    d = db()
    r1 = _hits_run(d, "2026-11-01")
    r2 = _hits_run(d, "2026-11-02")
    assert _hits_kept(d) == {r1, r2} and queries.stats(d) == _stats_live(d)
    flagged = {(r["query"], r["engine"]): r["flagged"] for r in queries.stats(d)}
    assert flagged[("Microsoft helpdesk", "bing")] == 2

    r3 = _hits_run(d, "2026-11-03", with_scam=False, close=False)  # interrupted
    assert _hits_kept(d) == {r1, r2} and queries.stats(d) == _stats_live(d)
    _hits_run(d, "2026-11-04")
    assert r3 in _hits_kept(d)

    page = d.execute(
        "select * from pages where run_id = ? and domain = 'pcrepair.nl'", [r2]
    ).fetchone()
    page_id = d.execute(
        "select id from pages where run_id = ? and domain = 'pcrepair.nl'", [r2]
    ).fetchone()[0]
    sighting = (
        "insert into sightings (id, run_id, page_id, phone, official, is_fax, flagged)"
        " values (?, ?, ?, ?, 0, 0, 1)"
    )
    # a number no query found yet (the shared number of tests/test_history.py)
    d.conn.execute("insert into numbers (phone, first_run) values (?, ?)", [OTHER, r1])
    storage.finish_crawl(d, r3, {})
    steps = [
        # a rescore's verdict unflags the scam number's sightings of run 1
        lambda: storage.save_verdicts(
            d,
            "sightings",
            [
                {"id": sid, "score": 0, "risk": None, "reasons": [], "flagged": 0}
                for (sid,) in d.execute(
                    "select id from sightings where run_id = ? and phone = ?", [r1, SCAM]
                )
            ],
        ),
        # results added, removed, corrected
        lambda: serp(d, r2, "windows hulp", "http://microsoft-helpdesk.nl/", 3),
        lambda: d.conn.execute(
            "delete from serp_results where run_id = ? and engine = 'duckduckgo'", [r2]
        ),
        lambda: d.conn.execute(
            "update serp_results set query = 'windows help' where run_id = ?", [r3]
        ),
        # a number found on a page, then taken back
        lambda: d.conn.execute(sighting, ["extra", r2, page_id, OTHER]),
        lambda: d.conn.execute("delete from sightings where id = 'extra'"),
        # a number seen before it had its row, its row added, removed; a first run moved
        lambda: d.conn.execute(sighting, ["extra2", r2, page_id, "+31850009999"]),
        lambda: d.conn.execute(
            "insert into numbers (phone, first_run) values ('+31850009999', ?)", [r1]
        ),
        lambda: d.conn.execute("delete from numbers where phone = '+31850009999'"),
        lambda: d.conn.execute("update numbers set first_run = ? where phone = ?", [r2, SHOP]),
        # a page removed, put back, its entry URL corrected
        lambda: d.conn.execute("delete from pages where id = ?", [page_id]),
        lambda: d.conn.execute(
            f"insert into pages values ({', '.join('?' * len(page))})", list(page)
        ),
        lambda: d.conn.execute("update pages set entry_url = 'http://x/' where id = ?", [page_id]),
    ]
    everything = {r for (r,) in d.execute("select id from runs")}
    changed = 0
    for step in steps:
        before = queries.stats(d)
        step()
        assert _hits_kept(d) != everything
        after = queries.stats(d)
        assert after == _stats_live(d)
        changed += after != before
        storage.finish_crawl(d, r3, {})  # the next end keeps them again
        assert _hits_kept(d) == everything and queries.stats(d) == after
    assert changed == len(steps) - 1  # all but the sighting of a number without its row


def test_an_older_database_keeps_the_query_hits_of_every_run():
    """Migration 0019 keeps the numbers every run's results led to."""
    d = db()
    r1 = _hits_run(d, "2026-11-01")
    r2 = _hits_run(d, "2026-11-02")
    want = queries.stats(d)
    triggers = [r for (r,) in d.execute("select name from sqlite_master where type = 'trigger'")]
    d.conn.executescript(
        "drop table query_hits; drop table query_hits_runs;"
        + "".join(f" drop trigger {t};" for t in triggers if t.startswith("query_hits_"))
        + " delete from _sqlite_migrations where name = '0019_query_hits_per_run';"
    )
    assert "0019_query_hits_per_run" in storage.ensure_db_shape(d)
    assert _hits_kept(d) == {r1, r2} and queries.stats(d) == want == _stats_live(d)
    assert len([t for t in triggers if t.startswith("query_hits_")]) == 12


def test_rescore_keeps_again_what_it_rescored(tmp_path):
    """`serpwatch rescore` scores every sighting again: the runs whose sightings it
    changed are kept again when it ends, not left to be counted live."""
    from click.testing import CliRunner

    from crawler.cli import main

    path = tmp_path / "r.db"
    d = storage.open_db(path)
    runs = {_hits_run(d, "2026-11-01"), _hits_run(d, "2026-11-02")}
    # an older rule's verdicts: every sighting unflagged, as a rescore will change them
    d.conn.execute("update sightings set flagged = 0, score = 0")
    d.conn.commit()
    assert not _kept(d) and not _hits_kept(d)
    d.close()
    done = CliRunner().invoke(main, ["rescore", "--db", str(path)])
    assert done.exit_code == 0, done.output
    d = storage.open_db(path)
    assert _kept(d) == runs == _hits_kept(d)
    assert _chart(d, max(runs)) == _live(d, max(runs)) and queries.stats(d) == _stats_live(d)
