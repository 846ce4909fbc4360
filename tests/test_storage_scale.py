"""Storage that holds a year (issue 11): compact facts that load back whole, upserts
that keep first sightings, and the indexes the year-sized queries use (read with
EXPLAIN QUERY PLAN). Speed itself is measured by bench/storage.py, not here."""

from __future__ import annotations

import json

from page_helpers import save_seen

from crawler import history, storage
from crawler.scoring import Facts

DM = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}


def test_compact_facts_load_back_to_the_same_facts():
    facts = Facts(
        phone="+31852081234",
        brand=None,  # required, and empty: kept
        domain="scam.nl",
        title="",
        region="",  # empty, but not the default: kept
        domain_match=DM,
        other_domains=0,
        number_age_days=0.0,
    )
    full = facts.to_dict()
    compact = storage.facts_json(full)
    assert Facts.from_dict(json.loads(compact)) == facts
    assert len(compact) < len(json.dumps(full, sort_keys=True)) * 0.5
    assert '"locker"' not in compact and '"brand":null' in compact


def _page(run_id, d, domain, phone, at):
    facts = {"domain_match": DM}
    save_seen(d, run_id, domain, phone, at, facts, query="q", engines=["bing"], appearances=[])


def test_saving_keeps_the_first_sighting_and_stores_compact_facts(tmp_path):
    d = storage.open_db(tmp_path / "s.db")
    r1 = storage.start_run(d, "p")
    _page(r1, d, "scam.nl", "+31852081234", "2026-11-01T08:00:00+00:00")
    r2 = storage.start_run(d, "p")
    _page(r2, d, "scam.nl", "+31852081234", "2026-11-02T08:00:00+00:00")
    n = d["numbers"].get("+31852081234")
    assert (n["first_run"], n["last_run"], n["status"]) == (r1, r2, "new")
    assert (n["first_seen"][:10], n["last_seen"][:10]) == ("2026-11-01", "2026-11-02")
    s = d["sites"].get("scam.nl")
    assert (s["first_run"], s["last_run"]) == (r1, r2)
    for table in ("sightings", "site_numbers"):
        for (facts,) in d.execute(f"select facts from {table}"):
            assert ": " not in facts and "null," not in facts.replace('"brand":null,', "")
    history.close_run(d, r2, {}, at="2026-11-02T09:00:00+00:00")
    for (facts,) in d.execute("select facts from site_numbers"):
        assert Facts.from_dict(json.loads(facts)).phone == "+31852081234"


def _plan(d, sql, params=()) -> str:
    return " | ".join(r[3] for r in d.execute(f"explain query plan {sql}", params).fetchall())


def test_the_year_sized_queries_use_their_indexes(tmp_path):
    d = storage.open_db(tmp_path / "i.db")
    names = {
        r[0] for r in d.execute("select name from sqlite_master where type = 'index'").fetchall()
    }
    assert {
        "idx_site_numbers_last_run",
        "idx_site_numbers_attention",
        "idx_sightings_phone_domain_live",
        "idx_sightings_page_id",
        "idx_pages_run_id_entry_url",
        "idx_pages_run_id_url",
    } <= names
    flagged = _plan(
        d,
        "select p.* from site_numbers p join numbers n on n.phone = p.phone"
        " join sites s on s.domain = p.domain where p.flagged = 1"
        " order by p.score desc, p.phone, p.domain",
    )
    assert "idx_site_numbers_attention" in flagged
    assert "TEMP B-TREE" not in flagged  # no sort of every flagged pair
    keys = storage._key_table(d, "plan_keys", ["+31850000000"])
    domains = _plan(d, storage.DOMAINS_OF_SQL.format(keys=keys))
    assert "idx_sightings_phone_domain_live" in domains and "TEMP B-TREE" not in domains
    join = _plan(
        d,
        "select s.phone from serp_results sr join pages p on p.run_id = sr.run_id"
        " and p.entry_url = sr.landing_url join sightings s on s.page_id = p.id"
        " where sr.run_id = ?",
        [1],
    )
    assert "idx_pages_run_id_entry_url" in join and "idx_sightings_page_id" in join


def test_the_sightings_since_an_export_are_found_by_rowid(tmp_path):
    """A delta's new sightings (`storage.sightings_since`) are the table's last rows:
    found by rowid, not by walking a year's index by site (SQLite's choice for the
    DISTINCT without `not indexed`)."""
    d = storage.open_db(tmp_path / "n.db")
    run = storage.start_run(d, "p")
    _page(run, d, "scam.nl", "+31852081234", "2026-11-01T08:00:00+00:00")
    ran: list[str] = []
    d.conn.set_trace_callback(ran.append)
    for same in (None, ("ip",)):
        storage.sightings_since(d, 0, same, ("phone", ["+31850000000"]))
    d.conn.set_trace_callback(None)
    selects = [sql for sql in ran if "from sightings" in sql and "rowid >" in sql]
    assert len(selects) == 2
    for sql in selects:
        outer = _plan(d, sql).split(" | ")[0]
        assert "INTEGER PRIMARY KEY (rowid>?)" in outer, outer
