"""The end of a run scores again only what the run changed (issue 11: it must not
grow with all of history), and leaves every verdict as scoring everything again
would: on a seeded database, after every run, a full `rescore` changes nothing."""

from __future__ import annotations

import json
import re
import sqlite3

from page_helpers import save_seen
from sqlite_utils import Database

from crawler import history, storage

SCAM_FACTS = {"domain_match": {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}}
AGES = ("number_age_days", "watched_days", "site_age_days", "site_watched_days")


def db() -> Database:
    d = Database(memory=True)
    storage.ensure_db_shape(d)
    return d


def see(d, run, domain, phone, at, **facts):
    save_seen(d, run, domain, phone, at, facts)


def run(d, at, pages):
    rid = storage.start_run(d, "p")
    d["runs"].update(rid, {"started_at": at})
    for domain, phone, facts in pages:
        see(d, rid, domain, phone, at, **facts)
    storage.save_query_outcome(
        d, rid, {"engine": "bing", "query": "Microsoft helpdesk", "outcome": "answered"}
    )
    return history.close_run(d, rid, {}, at=at)


def verdicts(d) -> dict:
    """Every stored verdict of pairs, numbers and sites; a pair's facts without their
    ages, and reasons without the days (a pair nothing changed for keeps the ages
    of its last scoring)."""
    out = {}
    for table, pk in (("site_numbers", "id"), ("numbers", "phone"), ("sites", "domain")):
        facts = ", facts" if table == "site_numbers" else ""
        for row in d.execute(f"select {pk}, score, risk, reasons, flagged{facts} from {table}"):
            row = list(row)
            row[3] = re.sub(r"first seen \d+ days ago", "first seen N days ago", row[3] or "")
            if facts and row[-1]:
                row[-1] = {k: v for k, v in json.loads(row[-1]).items() if k not in AGES}
            out[(table, row[0])] = row[1:]
    return out


def full_rescore_of(d, at) -> dict:
    copy = sqlite3.connect(":memory:")
    d.conn.backup(copy)
    c = Database(copy)
    history.rescore(c, None, at=at)
    return verdicts(c)


def num(i: int) -> str:
    return f"+318520{i:05d}"


def web_runs():
    """Twelve runs over six weeks of a web of numbers shared by sites: (time, pages)."""
    for r in range(12):
        at = f"2026-11-{1 + r * 3 % 28:02d}T08:00:00+00:00" if r < 10 else None
        at = at or f"2026-12-{r:02d}T08:00:00+00:00"
        pages = []
        for i in range(r % 4 + 3 * r, 3 * r + 12, 1 + r % 3):
            site = f"site{(i + r) % 17}.nl"
            pages.append((site, num(i % 23), SCAM_FACTS if i % 3 == 0 else {}))
            if i % 4 == 0:
                pages.append((f"shared{i % 2}.nl", num((i + r) % 23), {}))
        yield at, pages


def test_a_run_that_sees_one_number_scores_only_that_numbers_pairs():
    d = db()
    a, b, c = num(1), num(2), num(3)
    run(
        d,
        "2026-11-01T08:00:00+00:00",
        [("s1.nl", a, {}), ("s1.nl", b, {}), ("s2.nl", b, {}), ("s3.nl", b, {}), ("s3.nl", c, {})],
    )
    # The second run sees number a on a new site: a's two pairs (and the run's one
    # sighting) are scored again; s1's other pair (b) and b's sites are left alone.
    s = run(d, "2026-11-02T08:00:00+00:00", [("s5.nl", a, {})])
    assert s["rescored"] == 2 + 1
    assert verdicts(d) == full_rescore_of(d, "2026-11-02T08:00:00+00:00")


def test_every_verdict_after_each_run_is_what_scoring_everything_again_gives():
    """A web of numbers shared by sites, numbers turning high and raising the sites
    they pose on, runs over six weeks (numbers and sites new on the scene, then not)."""
    d = db()
    for r, (at, pages) in enumerate(web_runs()):
        run(d, at, pages)
        assert verdicts(d) == full_rescore_of(d, at), f"run {r + 1}"


def test_a_pair_seen_again_with_other_facts_is_scored_again_and_one_unchanged_is_not():
    d = db()
    a, b = num(1), num(2)
    run(d, "2026-11-01T08:00:00+00:00", [("s1.nl", a, {}), ("s2.nl", b, {})])
    # Seen again as it was: kept, nothing scored but the run's sightings.
    s = run(d, "2026-11-02T08:00:00+00:00", [("s1.nl", a, {}), ("s2.nl", b, {})])
    assert s["rescored"] == 0 + 2
    assert verdicts(d) == full_rescore_of(d, "2026-11-02T08:00:00+00:00")
    # s1 now poses as the brand's helpdesk: a's pair is scored again, b's is kept.
    s = run(d, "2026-11-03T08:00:00+00:00", [("s1.nl", a, SCAM_FACTS), ("s2.nl", b, {})])
    assert s["rescored"] == 1 + 2
    assert verdicts(d) == full_rescore_of(d, "2026-11-03T08:00:00+00:00")


def test_a_pair_new_on_the_scene_seen_again_the_same_day_keeps_its_verdict_and_its_days():
    d = db()
    a, x = num(1), num(9)
    run(d, "2026-11-01T08:00:00+00:00", [("s0.nl", x, {})])  # the watch starts
    run(d, "2026-11-10T08:00:00+00:00", [("s1.nl", a, SCAM_FACTS)])  # a: new on the scene
    reasons = d.execute("select reasons from numbers where phone = ?", [a]).fetchone()[0]
    assert "first seen 0 days ago" in reasons
    s = run(d, "2026-11-10T11:00:00+00:00", [("s1.nl", a, SCAM_FACTS)])
    assert s["rescored"] == 0 + 1  # kept: still new, still 0 days old
    copy = sqlite3.connect(":memory:")
    d.conn.backup(copy)
    history.rescore(Database(copy), None, at="2026-11-10T11:00:00+00:00")
    query = "select id, score, risk, reasons, flagged from site_numbers order by id"
    assert d.execute(query).fetchall() == copy.execute(query).fetchall()
    # A day later the reason's day count moves: scored again.
    s = run(d, "2026-11-11T09:00:00+00:00", [("s1.nl", a, SCAM_FACTS)])
    assert s["rescored"] == 1 + 1
    assert any("first seen 1 days ago" in r[3] for r in d.execute(query).fetchall())


def test_scoring_the_pairs_of_a_key_again_keeps_every_verdict():
    """`rescore(keys)` (a triage decision's) also rewrites pairs two steps from the
    key (a site's numbers' other sites, whose own numbers it does not remake): they
    keep the raise their number's stored verdict gives them."""
    d = db()
    for at, pages in web_runs():
        run(d, at, pages)
    everything = full_rescore_of(d, at)
    assert verdicts(d) == everything
    keys = [r[0] for r in d.execute("select domain from sites")]
    keys += [r[0] for r in d.execute("select phone from numbers")]
    for key in keys:
        copy = sqlite3.connect(":memory:")
        d.conn.backup(copy)
        c = Database(copy)
        history.rescore(c, {key}, at=at)
        assert verdicts(c) == everything, key
