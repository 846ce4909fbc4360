"""The end of a run at a year's size (issue 11): a pair whose facts did not change
keeps its own verdict (`base_score`, `base_signals`) instead of being scored again,
a sighting takes its pair's verdict, and the step's queries and writes touch only
what they must. Every verdict stays what scoring everything again gives.
Speed itself is measured by bench/storage.py, not here."""

from __future__ import annotations

import dataclasses
import gc
import json
import re
import sqlite3

import pytest
from page_helpers import save_seen
from sqlite_utils import Database
from test_history_incremental import SCAM_FACTS, db, full_rescore_of, num, run, see, verdicts

from crawler import history, storage
from crawler.scoring import Facts, score
from crawler.scoring.verdicts import pair_before_number, pair_with_number
from crawler.storage.connection import WRITER_CACHE_KIB, WRITER_CHECKPOINT_PAGES

DAY = "2026-11-{:02d}T08:00:00+00:00"
HIGH_FACTS = {**SCAM_FACTS, "remote_tool": "AnyDesk"}  # a number shown so is high


@pytest.fixture
def scored(monkeypatch) -> list[Facts]:
    """The facts the end of a run scores (the scorer itself, counted)."""
    seen: list[Facts] = []

    def counting(f):
        seen.append(f)
        return score(f)

    monkeypatch.setattr(history, "score", counting)
    return seen


def test_a_number_made_again_scores_only_its_pair_that_changed(scored):
    """Number a shows on three sites; the second run sees all three, one with other
    facts (now posing as the brand: a turns high and raises its other pairs). The
    two unchanged pairs keep their own verdict: one facts scored (the changed pair's,
    shared with its sighting), not three. The third run changes the first pair again:
    the kept pairs' own verdicts come back from verdicts the number had raised."""
    d = db()
    a = num(1)
    pages = [("s1.nl", a, {}), ("s2.nl", a, {}), ("s3.nl", a, {})]
    run(d, DAY.format(1), pages)
    scored.clear()
    run(d, DAY.format(2), [("s1.nl", a, HIGH_FACTS), *pages[1:]])
    assert [f.domain for f in scored] == ["s1.nl"]
    assert verdicts(d) == full_rescore_of(d, DAY.format(2))
    raised = d.execute("select score, base_score from site_numbers where domain = 's2.nl'")
    score_, base = raised.fetchone()
    assert score_ > base  # a is high: the pair is raised above its own verdict
    scored.clear()
    again = {**HIGH_FACTS, "claims_official": "officiële klantenservice"}
    run(d, DAY.format(3), [("s1.nl", a, again), *pages[1:]])
    assert [f.domain for f in scored] == ["s1.nl"]
    assert verdicts(d) == full_rescore_of(d, DAY.format(3))


def test_a_pair_not_seen_keeps_its_verdict_only_while_its_history_is_the_same(scored):
    """Number a on s1 and s2; the next run sees a on s1 (other facts) and on a new
    site: a is on one more domain, so s2's pair (not seen) has other facts now and
    is scored; a run after that changes s1 only: s2's pair is kept."""
    d = db()
    a = num(1)
    run(d, DAY.format(1), [("s1.nl", a, {}), ("s2.nl", a, {})])
    scored.clear()
    run(d, DAY.format(2), [("s1.nl", a, SCAM_FACTS), ("s3.nl", a, {})])
    assert sorted(f.domain for f in scored) == ["s1.nl", "s2.nl", "s3.nl"]
    assert verdicts(d) == full_rescore_of(d, DAY.format(2))
    scored.clear()
    run(d, DAY.format(3), [("s1.nl", a, {}), ("s3.nl", a, {})])
    assert sorted(f.domain for f in scored) == ["s1.nl"]
    assert verdicts(d) == full_rescore_of(d, DAY.format(3))


def test_a_pair_not_seen_on_a_site_new_on_the_scene_keeps_its_days(scored):
    """Number a on s1 and s2, both new on the scene (the watch started ten days
    before). A day later the run sees a on s1 with other facts: s2's pair, not seen,
    is still on a site new on the scene and keeps its verdict and the age in days
    its reason gave; once s2 is no longer new on the scene it is scored again."""
    d = db()
    a = num(1)
    run(d, DAY.format(1), [("s0.nl", num(9), {})])  # the watch starts
    run(d, DAY.format(11), [("s1.nl", a, {}), ("s2.nl", a, {})])
    scored.clear()
    run(d, DAY.format(12), [("s1.nl", a, HIGH_FACTS)])
    assert [f.domain for f in scored] == ["s1.nl"]
    reasons = d.execute("select reasons from site_numbers where domain = 's2.nl'").fetchone()[0]
    assert "first seen 0 days ago" in reasons
    assert verdicts(d) == full_rescore_of(d, DAY.format(12))
    scored.clear()
    run(d, "2026-12-12T08:00:00+00:00", [("s1.nl", a, SCAM_FACTS)])  # s2: 31 days on
    assert sorted(f.domain for f in scored) == ["s1.nl", "s2.nl"]
    assert verdicts(d) == full_rescore_of(d, "2026-12-12T08:00:00+00:00")


def test_a_pair_saved_by_a_crawl_has_no_kept_verdict_until_it_is_scored():
    d = db()
    a = num(1)
    run(d, DAY.format(1), [("s1.nl", a, {})])
    assert d.execute("select base_score from site_numbers").fetchone()[0] is not None
    rid = storage.start_run(d, "p")
    see(d, rid, "s1.nl", a, DAY.format(2), **SCAM_FACTS)  # the page's own verdict now
    assert d.execute("select base_score, base_signals from site_numbers").fetchone() == (
        None,
        None,
    )


def test_the_runs_sightings_are_what_scoring_them_again_gives():
    """A pair seen on two pages of one run (the pair keeps one page's facts, the
    other sighting has its own), numbers turning high, pairs kept and changed: every
    sighting of the run is what `rescore` of the run's sightings gives."""
    d = db()
    a, b = num(1), num(2)
    for day, extra in ((1, {}), (2, SCAM_FACTS), (3, SCAM_FACTS), (4, {})):
        pages = [("s1.nl", a, extra), ("s2.nl", a, {}), ("s2.nl", b, {}), ("s3.nl", b, extra)]
        rid = storage.start_run(d, "p")
        d["runs"].update(rid, {"started_at": DAY.format(day)})
        for domain, phone, facts in pages:
            see(d, rid, domain, phone, DAY.format(day), **facts)
        # The same pair on a second page of the run, with other facts.
        _second_page(d, rid, "s2.nl", a, DAY.format(day), SCAM_FACTS if day % 2 else {})
        storage.save_query_outcome(
            d, rid, {"engine": "bing", "query": "Microsoft helpdesk", "outcome": "answered"}
        )
        copy = sqlite3.connect(":memory:")
        d.conn.backup(copy)  # as saved: each sighting with its page's own facts
        history.close_run(d, rid, {}, at=DAY.format(day))
        history.rescore(Database(copy), None, run_id=rid, at=DAY.format(day))
        assert _sightings(d, rid) == _sightings(copy, rid), f"run {day}"
        assert verdicts(d) == full_rescore_of(d, DAY.format(day)), f"run {day}"


def _sightings(d, rid) -> list:
    """The run's sightings' verdicts and facts (without the ages)."""
    rows = d.execute(
        "select id, score, risk, reasons, flagged, facts from sightings where run_id = ?"
        " order by id",
        [rid],
    ).fetchall()
    ages = ("number_age_days", "watched_days", "site_age_days", "site_watched_days")
    return [(*r[:5], {k: v for k, v in json.loads(r[5]).items() if k not in ages}) for r in rows]


def _second_page(d, rid, domain, phone, at, facts):
    save_seen(d, rid, domain, phone, at, facts, path="/other", rank=2)


@pytest.mark.parametrize(
    "facts",
    [
        {},
        SCAM_FACTS,
        {**SCAM_FACTS, "remote_tool": "AnyDesk", "claims_official": "officiële klantenservice"},
        {"warning_context": "oplichters", "report": "oplichting"},
        {"official_for": "Microsoft"},
        {"is_fax": True},
        {"number_status": "dismissed"},
        {"site_status": "confirmed", "number_status": "confirmed"},
    ],
)
def test_a_pairs_own_verdict_comes_back_from_the_verdict_its_number_made(facts):
    f = Facts(phone=num(1), brand="Microsoft", domain="s.nl", **facts)
    own = score(f)
    for number in (
        None,
        *(
            score(Facts(phone=num(1), brand="Microsoft", domain="x.nl", **x))
            for x in ({}, {**SCAM_FACTS, "remote_tool": "AnyDesk"})
        ),
    ):
        raised = pair_with_number(own, f, number)
        signals = json.loads(storage.signals_json(own.signals))
        back = pair_before_number(raised, own.score, [tuple(s) for s in signals])
        assert back == own


def test_facts_are_stored_as_before():
    """`facts_json` (made faster) gives the very text it gave: empties left out,
    keys sorted, compact, not ASCII-escaped."""
    f = Facts(
        phone="+31852081234",
        brand="Microsoft",
        domain="scam.nl",
        title="Bel de officiële helpdesk",
        domain_match={"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"},
        behaviours=[],
        other_domains=0,
        number_age_days=1.5,
        listed_by_brand=None,
        is_ad=False,
        locker=True,
    )
    empty = (None, False, [], {})
    expected = json.dumps(
        {
            k: v
            for k, v in f.to_dict().items()
            if k in ("phone", "brand", "domain")
            or not any(v is e or (type(v) is type(e) and v == e) for e in empty)
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert storage.facts_json(f) == expected == storage.facts_json(f.to_dict())
    assert "officiële" in expected and '"locker":true' in expected


def test_an_unchanged_column_is_not_written_again():
    """Of a stored verdict row, only the columns that changed are written: an index
    on the score (flags read them) is not rewritten for a pair whose facts aged."""
    d = db()
    run(d, DAY.format(1), [("s1.nl", num(1), {})])
    row = storage.stored_pairs(d)[0]
    new = {**row, "facts": row["facts"].replace("}", ',"trade":"x"}')}
    write = storage.save_verdicts
    assert _updated(d, lambda: write(d, "site_numbers", [new], {row["id"]: row})) == {("facts",)}
    assert _updated(d, lambda: write(d, "site_numbers", [row], {row["id"]: row})) == set()


def _updated(d, write) -> set[tuple]:
    """The columns set by each UPDATE of site_numbers that `write` ran (as traced)."""
    statements: list[str] = []
    d.conn.set_trace_callback(statements.append)
    write()
    d.conn.set_trace_callback(None)
    return {
        tuple(re.findall(r"\[(\w+)\] = ", s.split(" where [id]")[0]))
        for s in statements
        if s.startswith("update [site_numbers] set [")
    }


def _plan(d, sql, params=()) -> str:
    return " | ".join(r[3] for r in d.execute(f"explain query plan {sql}", params).fetchall())


def test_the_end_of_runs_lookups_use_their_indexes(tmp_path):
    """The numbers that aged out since the run before, and the statuses mirrored from
    decisions, by index, also when the statistics say every number is `new` (a
    year's database: SQLite would read every number and site at every run's end);
    the numbers a brand lists by the partial index of such sightings."""
    d = storage.open_db(tmp_path / "e.db")
    d["numbers"].insert_all(
        {"phone": f"+3185{i:07d}", "status": "new", "first_seen": DAY.format(1 + i % 20)}
        for i in range(3000)
    )
    d["sites"].insert_all(
        {"domain": f"s{i}.nl", "status": "new", "first_seen": DAY.format(1 + i % 20)}
        for i in range(3000)
    )
    d.execute("analyze")
    statements: list[str] = []
    d.conn.set_trace_callback(statements.append)
    storage.aged_out_phones(d, 1, DAY.format(25), 30)
    storage.mirror_decisions(d, {})
    storage.history_context(d, {"+31850000001"}, set())
    d.conn.set_trace_callback(None)
    listed = next(s for s in statements if "brand_listing" in s)
    plan = _plan(d, listed)  # a brand's own listing: from the few such sightings
    assert "idx_sightings_phone_brand_listing" in plan and "phone_run_id" not in plan
    aged = next(s for s in statements if "julianday" in s)
    plan = _plan(d, aged)  # as run: the parameters written in
    assert "idx_numbers_first_seen_day" in plan and "idx_sites_first_seen_day" in plan
    assert "SCAN numbers" not in plan and "SCAN sites" not in plan
    for table in ("numbers", "sites"):
        mirror = next(s for s in statements if s.startswith(f"update [{table}]") and "in (" in s)
        plan = _plan(d, mirror)
        assert f"idx_{table}_status" in plan and f"SCAN {table}" not in plan


def _pair(d, domain, phone) -> dict:
    rows = d.execute(
        "select url, last_run, score, risk, reasons, flagged, facts, base_score, base_signals"
        " from site_numbers where id = ?",
        [storage.key(domain, phone)],
    )
    names = [c[0] for c in rows.description]
    return dict(zip(names, rows.fetchone(), strict=True))


def _raised(d) -> str:
    """Number a on two sites, high on s2 (it raises its pair on s1); returns a."""
    a = num(1)
    run(d, DAY.format(1), [("s1.nl", a, {}), ("s2.nl", a, HIGH_FACTS)])
    return a


def test_a_save_of_the_same_page_leaves_the_pairs_verdict_as_it_is():
    """The page's own facts are those the pair's verdict was made from: the save moves
    the pair's evidence and leaves its verdict (made with its history) alone, instead
    of writing the page's own verdict for the end of the run to write back."""
    d = db()
    a = _raised(d)
    was = _pair(d, "s1.nl", a)
    assert was["score"] > was["base_score"]  # a is high: the pair is raised
    rid = storage.start_run(d, "p")
    statements: list[str] = []
    d.conn.set_trace_callback(statements.append)
    see(d, rid, "s1.nl", a, DAY.format(2))
    d.conn.set_trace_callback(None)
    now = _pair(d, "s1.nl", a)
    assert now["last_run"] == rid
    assert {k: v for k, v in now.items() if k != "last_run"} == {
        k: v for k, v in was.items() if k != "last_run"
    }
    written = [s for s in statements if s.startswith("insert into [site_numbers]")]
    assert written and all("[score]" not in s and "[facts]" not in s for s in written)
    # Nothing changed for it: the end of the run writes nothing of it either.
    storage.save_query_outcome(
        d, rid, {"engine": "bing", "query": "Microsoft helpdesk", "outcome": "answered"}
    )
    statements.clear()
    d.conn.set_trace_callback(statements.append)
    history.close_run(d, rid, {}, at=DAY.format(2))
    d.conn.set_trace_callback(None)
    pair_id = storage.key("s1.nl", a)
    assert not [s for s in statements if s.startswith("update [site_numbers]") and pair_id in s]
    assert verdicts(d) == full_rescore_of(d, DAY.format(2))
    rid = storage.start_run(d, "p")
    # Other page facts: the page's own verdict, as before.
    see(d, rid, "s1.nl", a, DAY.format(2), **SCAM_FACTS)
    assert _pair(d, "s1.nl", a)["base_score"] is None


@pytest.mark.parametrize("kept_first", [True, False])
def test_a_pair_that_kept_its_verdict_still_keeps_the_strongest_page_of_the_run(kept_first):
    """The pair kept its verdict (raised by its number above what another page of the
    site scores on its own); the other page is still the stronger evidence, by the
    pages' own scores, whichever comes first; every verdict as a full rescore gives."""
    d = db()
    a = _raised(d)
    stronger = {"remote_tool": "AnyDesk"}  # than the plain page, on their own
    other = score(Facts(phone=a, brand="Microsoft", domain="s1.nl", **stronger)).score
    assert _pair(d, "s1.nl", a)["score"] >= other  # compared as kept, "/" would stay
    rid = storage.start_run(d, "p")
    d["runs"].update(rid, {"started_at": DAY.format(2)})
    pages = [
        lambda: see(d, rid, "s1.nl", a, DAY.format(2)),
        lambda: _second_page(d, rid, "s1.nl", a, DAY.format(2), stronger),
    ]
    for save in pages if kept_first else pages[::-1]:
        save()
    assert _pair(d, "s1.nl", a)["url"] == "http://s1.nl/other"
    storage.save_query_outcome(
        d, rid, {"engine": "bing", "query": "Microsoft helpdesk", "outcome": "answered"}
    )
    copy = sqlite3.connect(":memory:")
    d.conn.backup(copy)
    history.close_run(d, rid, {}, at=DAY.format(2))
    history.rescore(Database(copy), None, run_id=rid, at=DAY.format(2))
    assert _sightings(d, rid) == _sightings(copy, rid)
    assert verdicts(d) == full_rescore_of(d, DAY.format(2))


def test_the_history_fields_are_those_the_end_of_a_run_fills():
    assert storage.HISTORY_FIELDS == {*history._HISTORY, *history._AGES}
    assert storage.HISTORY_FIELDS <= {f.name for f in dataclasses.fields(Facts)}


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_is_off_during_the_end_of_a_run_only(monkeypatch, enabled):
    """The step's rows hold no cycles: the collector is off while it runs (it walked
    them all a dozen times a run) and as it was afterwards, also when the step fails."""
    d = db()
    seen = []
    real = storage.mark_present

    def marking(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(storage, "mark_present", marking)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        run(d, DAY.format(1), [("s1.nl", num(1), {})])
        assert seen == [False] and gc.isenabled() is enabled
        monkeypatch.setattr(storage, "mark_present", lambda *a, **k: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            run(d, DAY.format(2), [("s1.nl", num(1), {})])
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def _stored_verdicts(d) -> list:
    return [
        d.execute(f"select * from {table} order by rowid").fetchall()
        for table in ("site_numbers", "numbers", "sites", "sightings")
    ]


def test_the_end_of_a_run_writes_its_verdicts_without_a_savepoint():
    """The end's writes join its transaction (`storage.in_transaction`) instead of
    nesting a savepoint in it: SQLite copies every page a savepoint changes into a
    sub-journal file, and under the change-tracking trigger each updated row's pages
    again (docs/SCALE.md)."""
    d = db()
    a, b = num(1), num(2)
    run(d, DAY.format(1), [("s1.nl", a, {}), ("s2.nl", a, {}), ("s3.nl", b, {})])
    statements: list[str] = []
    d.conn.set_trace_callback(statements.append)
    run(d, DAY.format(2), [("s1.nl", a, HIGH_FACTS), ("s2.nl", a, {})])  # b is gone
    d.conn.set_trace_callback(None)
    writes = [s for s in statements if re.match(r"update \[(site_numbers|numbers|sites)\]", s)]
    assert writes and any(s.startswith("update presence set gone_run") for s in statements)
    assert not [s for s in statements if s.upper().startswith("SAVEPOINT")]
    assert verdicts(d) == full_rescore_of(d, DAY.format(2))


def test_an_end_of_a_run_that_fails_while_writing_leaves_every_verdict_as_saved(monkeypatch):
    """Without savepoints the end's writes are still all or nothing: a failure after
    the pairs were written and before the sightings takes the pairs' back too."""
    d = db()
    a = num(1)
    run(d, DAY.format(1), [("s1.nl", a, {}), ("s2.nl", a, {})])
    rid = storage.start_run(d, "p")
    see(d, rid, "s1.nl", a, DAY.format(2), **HIGH_FACTS)
    see(d, rid, "s2.nl", a, DAY.format(2))
    saved = _stored_verdicts(d)
    real = storage.save_verdicts

    def failing(db_, table, rows, stored=None):
        if table == "sightings":
            raise ZeroDivisionError
        return real(db_, table, rows, stored)

    monkeypatch.setattr(storage, "save_verdicts", failing)
    with pytest.raises(ZeroDivisionError):
        history.close_run(d, rid, {}, at=DAY.format(2))
    assert not d.conn.in_transaction
    assert _stored_verdicts(d) == saved


def test_the_connection_that_writes_a_run_keeps_its_temporary_files_in_memory(tmp_path):
    """The writer's statement journals (every UPDATE under a trigger that writes keeps
    one) and temporary tables stay in memory instead of a temporary file, which was
    written a few pages a row at the end of a run (docs/SCALE.md); a reader's
    connection keeps SQLite's defaults."""
    reader = storage.open_db(tmp_path / "w.db")
    assert reader.execute("pragma temp_store").fetchone()[0] == 0
    writer = storage.open_db(tmp_path / "w.db")
    storage.start_run(writer, "p")
    assert writer.execute("pragma temp_store").fetchone()[0] == 2  # MEMORY
    assert writer.execute("pragma cache_size").fetchone()[0] == -WRITER_CACHE_KIB
    # The writer copies its WAL into the file every 10,000 pages, not SQLite's 1,000.
    assert writer.execute("pragma wal_autocheckpoint").fetchone()[0] == WRITER_CHECKPOINT_PAGES
    assert reader.execute("pragma wal_autocheckpoint").fetchone()[0] == 1000


def test_the_end_of_a_run_folds_its_wal_into_the_database_file(tmp_path):
    """The writer checkpoints seldom during a run; its end copies what the WAL still
    holds into the database file, so the next command to write does not pay for the
    run's pages: the file alone, without its WAL, holds the ended run."""
    path = tmp_path / "w.db"
    d = storage.open_db(path)
    rid = storage.start_run(d, "p")
    for i in range(20):
        save_seen(d, rid, f"scam{i}.nl", f"+3185{i:07d}", DAY.format(1), SCAM_FACTS)
    history.close_run(d, rid, {}, at=DAY.format(1))
    storage.finish_crawl(d, rid, {})
    copy = tmp_path / "file-alone.db"
    copy.write_bytes(path.read_bytes())  # no -wal beside it: only what was folded in
    alone = sqlite3.connect(copy)
    ended = "select status, finished_at, counts from runs where id = ?"
    assert alone.execute(ended, [rid]).fetchone() == d.execute(ended, [rid]).fetchone()
    assert alone.execute("select finished_at from runs where id = ?", [rid]).fetchone()[0]
    assert alone.execute("select count(*) from site_numbers").fetchone() == (20,)
    alone.close()
