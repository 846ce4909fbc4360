"""Query retirement: cost and yield in `queries stats`, `queries retire` / `restore`, and
crawls that skip retired queries while the profile file stays as written.

The end-to-end test crawls a Bing-style engine served on 127.0.0.1 three
times (before retiring, retired, restored) and counts what the engine was
asked; the same engine shows a "related searches" block, which the crawl
stores for `queries suggest`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from crawler import history, queries, storage
from crawler.cli import main
from crawler.config import load_profile
from crawler.demo.web import bing_page
from tests.brandweb import PageWeb
from tests.test_history import SCAM, SHOP, db, see
from tests.test_queries import serp

EXE = str(Path(sys.executable).with_name("serpwatch"))
OTHER = "+31852089999"


def test_retire_and_restore_are_kept_with_their_reason():
    d = db()
    row = queries.retire(d, "  HP storing  Melden ", "nothing in 5 runs")
    assert row["query"] == "HP storing Melden" and row["query_key"] == "hp storing melden"
    assert storage.retired_queries(d)["hp storing melden"]["reason"] == "nothing in 5 runs"
    with pytest.raises(ValueError, match="already retired"):
        queries.retire(d, "hp storing melden", "again")
    queries.restore(d, "HP STORING MELDEN", "new campaign")
    assert storage.retired_queries(d) == {}
    with pytest.raises(ValueError, match="is not retired"):
        queries.restore(d, "hp storing melden")
    actions = [(r["action"], r["reason"]) for r in d["query_retirements"].rows]
    assert actions == [("retire", "nothing in 5 runs"), ("restore", "new campaign")]


def test_profile_queries_leave_out_retired_ones(tmp_path):
    (tmp_path / "b.toml").write_text('[[brands]]\nname = "HP"\n')
    (tmp_path / "p.toml").write_text(
        'name = "t"\nbrands = "b.toml"\n[[engines]]\nkind = "bing"\n'
        '[queries]\ntemplates = ["{brand} storing melden", "{brand} hulp"]\nextra = ["pc hulp"]\n'
    )
    profile = load_profile(tmp_path / "p.toml")
    d = db()
    queries.retire(d, "hp storing melden", "weak")
    kept = queries.without_retired(profile, d).queries()
    assert kept == [("HP", "HP hulp"), (None, "pc hulp")]
    assert profile.queries()[0] == ("HP", "HP storing melden")  # the loaded profile is unchanged


def test_stats_cost_yield_uniqueness_and_retirement_candidates():
    d = db()
    dm = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}
    days = [f"2026-11-0{i}" for i in range(1, 8)]
    for i, day in enumerate(days):
        rid = storage.start_run(d, "p")
        at = f"{day}T08:00:00+00:00"
        # "strong" finds the scam number in run 1 and a second one in run 6;
        # "weak" shows the same scam site every run but never anything of its own.
        serp(d, rid, "strong", "http://microsoft-helpdesk.nl/", 1)
        serp(d, rid, "weak", "http://microsoft-helpdesk.nl/", 2)
        serp(d, rid, "shop", "http://pcrepair.nl/", 1)
        see(d, rid, "microsoft-helpdesk.nl", SCAM, at, domain_match=dm)
        if i >= 5:
            see(d, rid, "microsoft-helpdesk.nl", OTHER, at, domain_match=dm)
        see(d, rid, "pcrepair.nl", SHOP, at, trade="reparatie")
        history.close_run(d, rid, at=at)
    queries.retire(d, "shop", "repair shops only")
    rows = {r["query"]: r for r in queries.stats(d, last=3)}
    strong, weak, shop = rows["strong"], rows["weak"], rows["shop"]
    # Each run: one result page and one landing page per query.
    assert strong["requests"] == 7 + 7 and strong["runs"] == 7
    # Both queries led to the same page, so both found both numbers: nothing unique.
    assert (strong["flagged"], strong["unique"], weak["unique"]) == (2, 0, 0)
    assert strong["new_recent"] == 1 and strong["retire"] is False  # OTHER first seen in run 6
    assert weak["new_recent"] == 1  # it saw OTHER in run 6 as well
    rows5 = {r["query"]: r for r in queries.stats(d, last=1)}
    assert rows5["weak"]["retire"] is True and rows5["weak"]["new_recent"] == 0
    assert shop["retired"] == "repair shops only" and (shop["flagged"], shop["unique"]) == (1, 1)


def test_unique_share_counts_what_no_other_query_found():
    d = db()
    dm = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}
    rid = storage.start_run(d, "p")
    at = "2026-11-01T08:00:00+00:00"
    serp(d, rid, "alone", "http://microsoft-helpdesk.nl/", 1)
    serp(d, rid, "other", "http://windows-hulp.nl/", 1)
    see(d, rid, "microsoft-helpdesk.nl", SCAM, at, domain_match=dm)
    see(d, rid, "windows-hulp.nl", OTHER, at, domain_match=dm)
    history.close_run(d, rid, at=at)
    rows = {r["query"]: r for r in queries.stats(d, last=1)}
    assert (rows["alone"]["unique"], rows["alone"]["unique_share"]) == (1, 1.0)
    assert rows["alone"]["retire"] is False  # it found something nobody else did


def test_stats_table_shows_cost_yield_and_marks(tmp_path):
    path = tmp_path / "q.db"
    d = storage.open_db(path)
    rid = storage.start_run(d, "p")
    serp(d, rid, "KPN storing", "http://kpn-storing.nl/", 1)
    see(d, rid, "kpn-storing.nl", "+31881234567", "2026-11-01T08:00:00+00:00")
    d.close()
    runner = CliRunner()
    retire = runner.invoke(
        main, ["queries", "retire", "kpn storing", "--reason", "test", "--db", str(path)]
    )
    assert retire.exit_code == 0 and "retired  kpn storing  (test)" in retire.output
    table = runner.invoke(main, ["queries", "stats", "--db", str(path), "--last", "1"])
    assert table.exit_code == 0, table.output
    head = table.output.splitlines()[0].split()
    assert head[:4] == ["query", "engine", "runs", "requests"] and "retire?" in head
    assert "retired: test" in table.output
    again = runner.invoke(main, ["queries", "retire", "KPN  storing", "--db", str(path)])
    assert again.exit_code == 2 and "already retired" in again.output
    restore = runner.invoke(main, ["queries", "restore", "nothing like it", "--db", str(path)])
    assert restore.exit_code == 2 and "is not retired" in restore.output


# -- end to end: what the next crawl asks ---------------------------------------------

RELATED = (
    '<li class="b_ans"><div class="b_rs"><h2>Gerelateerde zoekopdrachten</h2><ul>'
    '<li><a href="/search?q=acme+helpdesk+gratis+nummer">acme helpdesk gratis nummer</a></li>'
    '<li><a href="/search?q=acme+storing+vandaag">acme storing vandaag</a></li></ul></div></li>'
)


class Engine(PageWeb):
    """A Bing-style engine with one result per query (a page with a number) and related searches."""

    def __init__(self):
        super().__init__({}, handler=self.answer)

    def answer(self, path: str):
        parts = urlsplit(path)
        if parts.path == "/search":
            query = parse_qs(parts.query).get("q", [""])[0]
            slug = query.replace(" ", "-")
            page = bing_page(
                query, [(f"{self.base_url}/site/{slug}", f"{query} bellen", slug, "Bel ons")], []
            )
            return 200, {}, page.replace("</ol>", RELATED + "</ol>")
        if parts.path.startswith("/site/"):
            return 200, {}, "<html><body><h1>Acme hulp</h1><p>Bel 085 208 1234</p></body></html>"
        return None

    def asked(self) -> list[str]:
        out = []
        for path in self.log:
            parts = urlsplit(path)
            if parts.path == "/search":
                out.append(parse_qs(parts.query)["q"][0])
        return out


def _crawl(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, timeout=120, env=env, cwd=folder
    )


def _runs(db) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("select count(*) from runs").fetchone()[0]


def test_retire_and_restore_change_what_the_next_crawl_asks(tmp_path):
    with Engine() as engine:
        (tmp_path / "b.toml").write_text('[[brands]]\nname = "Acme"\n')
        profile = (
            'name = "retire-test"\nbrands = "b.toml"\nallow_private = true\n'
            f'[[engines]]\nkind = "bing"\nurl = "{engine.base_url}/search"\ndelay = 0\n'
            '[queries]\nextra = ["alpha hulp", "beta hulp"]  # both, as the maintainer wrote\n'
        )
        (tmp_path / "p.toml").write_text(profile)
        crawl = ("crawl", "p.toml", "--db", "r.db", "-s", "AUTOTHROTTLE_START_DELAY=0")

        first = _crawl(tmp_path, *crawl)
        assert first.returncode == 0, first.stderr[-2000:]
        assert sorted(engine.asked()) == ["alpha hulp", "beta hulp"]

        engine.log.clear()
        retire = _crawl(
            tmp_path, "queries", "retire", "Alpha Hulp", "--reason", "no yield", "--db", "r.db"
        )
        assert retire.returncode == 0, retire.stderr
        second = _crawl(tmp_path, *crawl)
        assert second.returncode == 0, second.stderr[-2000:]
        assert engine.asked() == ["beta hulp"]
        assert "1 retired queries skipped" in second.stderr

        engine.log.clear()
        # Every query retired: no run of nothing (it was recorded failed, "0 of 0").
        _crawl(tmp_path, "queries", "retire", "beta hulp", "--db", "r.db")
        none = _crawl(tmp_path, *crawl)
        assert none.returncode == 2, none.stderr[-2000:]
        assert none.stderr.strip() == (
            "error: p.toml: every one of its 2 queries is retired in r.db: nothing to crawl;"
            " `serpwatch queries restore TEXT` brings one back (`queries stats` lists them)"
        )
        assert engine.asked() == [] and _runs(tmp_path / "r.db") == 2
        _crawl(tmp_path, "queries", "restore", "beta hulp", "--db", "r.db")
        restore = _crawl(tmp_path, "queries", "restore", "alpha hulp", "--db", "r.db")
        assert restore.returncode == 0, restore.stderr
        third = _crawl(tmp_path, *crawl)
        assert third.returncode == 0, third.stderr[-2000:]
        assert sorted(engine.asked()) == ["alpha hulp", "beta hulp"]

    assert (tmp_path / "p.toml").read_text() == profile  # the profile stays as written
    stats = _crawl(tmp_path, "queries", "stats", "--db", "r.db", "--json")
    rows = {r["query"]: r for r in map(json.loads, stats.stdout.splitlines())}
    assert rows["alpha hulp"]["runs"] == 2 and rows["beta hulp"]["runs"] == 3
    # The related searches of every result page were stored, per run and query.
    con = sqlite3.connect(tmp_path / "r.db")
    related = con.execute(
        "select distinct text, kind from related_searches order by text"
    ).fetchall()
    runs = con.execute("select count(distinct run_id) from related_searches").fetchone()[0]
    assert related == [
        ("acme helpdesk gratis nummer", "related"),
        ("acme storing vandaag", "related"),
    ]
    assert runs == 3
