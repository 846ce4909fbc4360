"""`flags` at a year's size (issue 11): the table shows the first pairs in the
attention order, made in SQL over every flagged pair, and says how many there are;
--all and --json give every one."""

from __future__ import annotations

import json

from click.testing import CliRunner
from test_history import OTHER, SCAM_PAGE, SHOP_PAGE, db, run

from crawler import flags, triage
from crawler.cli import analyst
from crawler.storage import schema


def _scenario():
    d = db()
    dm = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}
    big = (("big-scam.nl", OTHER), {"domain_match": dm, "is_ad": True})
    run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE, big])
    run(d, "2026-11-02T08:00:00+00:00", [SHOP_PAGE, big])
    run(d, "2026-11-03T08:00:00+00:00", [SCAM_PAGE, (("new-scam.nl", "+31851111111"), {}), big])
    triage.record(d, "number", OTHER, "confirm")
    return d


def test_a_limit_gives_the_first_pairs_of_the_whole_order():
    d = _scenario()
    every = flags.attention(d)
    assert [r["since"] for r in every] == ["back", "new", "gone", "seen"]
    for n in range(1, len(every) + 1):
        assert flags.attention(d, limit=n) == every[:n]
    assert flags.attention_count(d) == len(every)
    triage.record(d, "site", "pcrepair.nl", "dismiss")
    assert flags.attention_count(d) == len(every) - 1


def test_the_order_is_read_from_covering_indexes():
    d = _scenario()
    assert "0015_indexes_for_flags" in schema.applied_names(d)
    names = {r[0] for r in d.execute("select name from sqlite_master where type = 'index'")}
    assert {"idx_site_numbers_attention", "idx_presence_kind_key_gone_run"} <= names
    plan = " ".join(
        r[3]
        for r in d.execute(
            "explain query plan select phone from site_numbers indexed by"
            " idx_site_numbers_attention where flagged = 1 order by score desc"
        )
    )
    assert "COVERING INDEX idx_site_numbers_attention" in plan


def test_the_table_says_how_many_it_leaves_out(tmp_path, monkeypatch):
    d = _scenario()
    path = str(tmp_path / "flags.db")
    d.conn.execute(f"vacuum into '{path}'")  # the history tests' database is in memory
    runner = CliRunner()
    one = runner.invoke(analyst.flags, ["--db", path, "--limit", "1"])
    assert one.exit_code == 0, one.output
    assert "microsoft-helpdesk.nl" in one.output and "new-scam.nl" not in one.output
    assert "Showing the first 1 of 4 flagged pairs" in one.output
    every = runner.invoke(analyst.flags, ["--db", path, "--all"])
    assert "Showing" not in every.output
    assert all(s in every.output for s in ("new-scam.nl", "pcrepair.nl", "big-scam.nl"))
    monkeypatch.setattr(analyst, "FLAGS_SHOWN", 2)
    shown = runner.invoke(analyst.flags, ["--db", path])
    assert "Showing the first 2 of 4" in shown.output and "pcrepair.nl" not in shown.output
    lines = runner.invoke(analyst.flags, ["--db", path, "--json"]).output.splitlines()
    assert [json.loads(x)["domain"] for x in lines] == [
        "microsoft-helpdesk.nl",
        "new-scam.nl",
        "pcrepair.nl",
        "big-scam.nl",
    ]
    two = runner.invoke(analyst.flags, ["--db", path, "--json", "--limit", "2"]).output
    assert len(two.splitlines()) == 2


def test_the_reports_counts_read_indexes_not_every_row():
    """The report's "flagged numbers" count and its chart per run and brand read the
    covering indexes of migrations 0017 and 0016, not every pair and every sighting,
    and the count needs no sort."""
    from crawler import storage

    d = _scenario()
    said: list[str] = []
    d.conn.set_trace_callback(said.append)
    count = storage.flagged_number_count(d)
    per_run = storage.flagged_numbers_per_run(d, 3)
    d.conn.set_trace_callback(None)
    assert count == len({r["phone"] for r in flags.attention(d)})
    assert {r["run_id"] for r in per_run} == {1, 2, 3}
    plans = [
        " | ".join(r[3] for r in d.execute(f"explain query plan {s}"))
        for s in said
        if s.lstrip().lower().startswith("select")
    ]
    count_plan = next(p for p in plans if "idx_site_numbers_flagged_phone" in p)
    assert "COVERING INDEX" in count_plan and "TEMP B-TREE" not in count_plan, plans
    chart_plan = next(p for p in plans if "idx_sightings_flagged_run_id" in p)
    assert "COVERING INDEX" in chart_plan and "TEMP B-TREE" not in chart_plan, plans


def test_every_pair_is_ordered_from_the_covering_index_not_its_wide_row():
    """`flags --json` lists every pair. Sorting the pairs' whole rows (reasons and
    all) spilled hundreds of MB to a temporary b-tree at a year's 443k pairs; the
    order is made from the covering index and only then are rows read, by rowid."""
    d = _scenario()
    said: list[str] = []
    d.conn.set_trace_callback(said.append)
    every = flags.attention(d)
    d.conn.set_trace_callback(None)
    assert len(every) == 4
    ordering = [s for s in said if "order by" in s.lower() and "site_numbers" in s]
    assert ordering, said
    for sql in ordering:
        plan = " | ".join(r[3] for r in d.execute(f"explain query plan {sql}"))
        assert "COVERING INDEX idx_site_numbers_attention" in plan, plan
        assert "SEARCH n " not in plan and "SEARCH s " not in plan, plan
