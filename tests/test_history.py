"""History across runs on an in-memory database: first/last seen, new, back, gone,
the end-of-run scoring, and the order of the attention list."""

from __future__ import annotations

import json

from page_helpers import save_seen
from sqlite_utils import Database

from crawler import flags, history, storage, triage

SCAM = "+31852081234"
SHOP = "+31302314567"
OTHER = "+31854019876"


def db():
    d = Database(memory=True)
    storage.ensure_db_shape(d)
    return d


def see(d, run, domain, phone, at, *, is_ad=False, **facts):
    """Store one page on `domain` showing `phone`, scored from `facts`."""
    ad = {"is_ad": True, "rank": None, "ad_position": 1} if is_ad else {}
    save_seen(d, run, domain, phone, at, facts, path="/ad" if is_ad else "/", **ad)


def run(d, at, pages, profile="p", stats=None, outcome="answered"):
    """A run of `profile` whose one query on bing went `outcome`, showing `pages`."""
    rid = storage.start_run(d, profile)
    d["runs"].update(rid, {"started_at": at})
    for args, kw in pages:
        see(d, rid, *args, at=at, **kw)
    storage.save_query_outcome(
        d, rid, {"engine": "bing", "query": "Microsoft helpdesk", "outcome": outcome}
    )
    summary = history.close_run(d, rid, stats or {}, at=at)
    return rid, summary


SCAM_PAGE = (
    ("microsoft-helpdesk.nl", SCAM),
    {"domain_match": {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}},
)
SHOP_PAGE = (("pcrepair.nl", SHOP), {"trade": "reparatie"})


def changes(d, rid):
    return {
        (k, key, e)
        for k, key, e in d.execute(
            "select kind, key, event from changes where run_id = ?", [rid]
        ).fetchall()
    }


def test_new_gone_and_back_per_number_site_and_pair():
    d = db()
    r1, s1 = run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE])
    assert s1["new_numbers"] == 2 and s1["new_sites"] == 2 and s1["new_pairs"] == 2
    r2, s2 = run(d, "2026-11-02T08:00:00+00:00", [SHOP_PAGE])
    assert changes(d, r2) == {
        ("number", SCAM, "gone"),
        ("site", "microsoft-helpdesk.nl", "gone"),
        ("pair", f"microsoft-helpdesk.nl {SCAM}", "gone"),
    }
    r3, s3 = run(d, "2026-11-03T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE])
    assert s3["back_numbers"] == 1 and s3["back_pairs"] == 1 and s3["new_numbers"] == 0
    detail = d.execute(
        "select detail from changes where run_id = ? and kind = 'number'", [r3]
    ).fetchone()[0]
    assert f"last seen in run {r1} (2026-11-01)" in detail
    n = d["numbers"].get(SCAM)
    assert (n["first_seen"][:10], n["last_seen"][:10]) == ("2026-11-01", "2026-11-03")
    assert (n["first_run"], n["last_run"]) == (r1, r3)
    t = history.timeline(d, SCAM)
    assert t["runs"] == [r1, r3] and t["missing_runs"] == [r2]
    assert [(c["run_id"], c["event"]) for c in t["changes"] if c["kind"] == "number"] == [
        (r1, "new"),
        (r2, "gone"),
        (r3, "back"),
    ]


def test_a_blocked_run_does_not_make_everything_gone():
    d = db()
    run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE])
    r2, s2 = run(
        d,
        "2026-11-02T08:00:00+00:00",
        [],
        stats={"serpwatch/blocked/bing": 1},
        outcome="blocked",
    )
    assert s2["gone_numbers"] == 0 and not changes(d, r2)


def test_runs_of_another_profile_are_not_compared():
    d = db()
    run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE], profile="nl")
    r2, s2 = run(d, "2026-11-02T08:00:00+00:00", [SHOP_PAGE], profile="be")
    assert s2["gone_numbers"] == 0  # "be" never saw the scam number


def test_close_run_adds_cross_page_facts_to_the_stored_verdicts():
    d = db()
    rid = storage.start_run(d, "p")
    at = "2026-11-01T08:00:00+00:00"
    dm = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}
    see(d, rid, "microsoft-helpdesk.nl", SCAM, at, domain_match=dm)
    see(d, rid, "windows-hulp.nl", SCAM, at, domain_match=dm)
    see(d, rid, "answers-forum.nl", SCAM, at)
    before = d["site_numbers"].get(storage.key("microsoft-helpdesk.nl", SCAM))["score"]
    history.close_run(d, rid, at=at)
    after = d["site_numbers"].get(storage.key("microsoft-helpdesk.nl", SCAM))
    assert after["score"] == before + 10
    assert "number seen on 3 unrelated domains (+10)" in after["reasons"]
    assert (
        "seen on 3 unrelated domains"
        in d["sightings"].get(storage.key(rid, "http://windows-hulp.nl/", SCAM))["reasons"]
    )


def test_the_ad_evidence_of_a_pair_survives_closing_the_run():
    """An ad and an organic result to the same site: the pair keeps the ad's verdict."""
    d = db()
    rid = storage.start_run(d, "p")
    at = "2026-11-01T08:00:00+00:00"
    see(d, rid, "kpn-storing.nl", SCAM, at, is_ad=True, number_as_brand=True)
    see(d, rid, "kpn-storing.nl", SCAM, at, is_ad=False, number_as_brand=True)
    history.close_run(d, rid, at=at)
    pair = d["site_numbers"].get(storage.key("kpn-storing.nl", SCAM))
    assert pair["is_ad"] == 1 and pair["score"] == 60 and "shown in a paid ad" in pair["reasons"]


def test_a_number_the_brand_lists_on_its_own_site_is_lowered_on_other_sites():
    """A directory shows the brand's business line, missing from the brands file; the
    brand's own contact page lists it too: it is the brand's, wherever it shows up."""
    d = db()
    rid = storage.start_run(d, "p")
    at = "2026-11-01T08:00:00+00:00"
    title = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}
    see(d, rid, "nummers-overzicht.nl", OTHER, at, title_match=title)
    see(d, rid, "microsoft.com", OTHER, at, official_site="Microsoft", brand_listing=True)
    # A user's post on the brand's forum lists nothing for the brand.
    see(d, rid, "nummers-overzicht.nl", SCAM, at, title_match=title)
    see(d, rid, "microsoft.com", SCAM, at, official_site="Microsoft", user_content=True)
    history.close_run(d, rid, at=at)
    directory = d["site_numbers"].get(storage.key("nummers-overzicht.nl", OTHER))
    reasons = json.loads(directory["reasons"])
    assert "also listed on Microsoft's own site microsoft.com" in reasons[0]
    assert directory["score"] == 30 + 15 + 5 - 30  # base, title, 2 domains, listed
    own = d["site_numbers"].get(storage.key("microsoft.com", OTHER))
    assert not any("also listed on" in r for r in json.loads(own["reasons"]))
    scam = d["site_numbers"].get(storage.key("nummers-overzicht.nl", SCAM))
    assert not any("own site" in r for r in json.loads(scam["reasons"]))


def test_attention_lists_new_and_back_first_then_seen_then_gone_then_confirmed():
    d = db()
    dm = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}
    big = (("big-scam.nl", OTHER), {"domain_match": dm, "is_ad": True})
    run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE, big])
    run(d, "2026-11-02T08:00:00+00:00", [SHOP_PAGE, big])
    fresh = (("new-scam.nl", "+31851111111"), {})
    run(d, "2026-11-03T08:00:00+00:00", [SCAM_PAGE, fresh, big])
    triage.record(d, "number", OTHER, "confirm")
    order = [(r["since"], r["status"], r["domain"]) for r in flags.attention(d)]
    assert order == [
        ("back", "new", "microsoft-helpdesk.nl"),  # back after an absence, highest score
        ("new", "new", "new-scam.nl"),  # new in the last run
        ("gone", "new", "pcrepair.nl"),  # not seen in the last run
        ("seen", "confirmed", "big-scam.nl"),  # handled already: last
    ]
    assert [r["domain"] for r in flags.attention(d, min_risk="medium")] == [
        "microsoft-helpdesk.nl",
        "big-scam.nl",
    ]
    triage.record(d, "site", "pcrepair.nl", "dismiss")
    assert "pcrepair.nl" not in {r["domain"] for r in flags.attention(d)}


def test_a_sites_timeline_holds_its_own_pairs_and_no_lookalikes():
    """`history KEY` finds a key's pairs from its pairs, not by a pattern on the key:
    `_` in a domain is a wildcard to `like`, so `help_desk.nl` took in
    `help-desk.nl`'s changes and verdicts."""
    d = db()
    scam = {"domain_match": {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}}
    run(d, "2026-11-01T08:00:00+00:00", [(("help_desk.nl", SCAM), scam)])
    run(d, "2026-11-02T08:00:00+00:00", [(("help-desk.nl", OTHER), scam)])
    t = history.timeline(d, "help_desk.nl")
    assert {(c["key"], c["event"]) for c in t["changes"]} == {
        ("help_desk.nl", "new"),
        (f"help_desk.nl {SCAM}", "new"),
        ("help_desk.nl", "gone"),
        (f"help_desk.nl {SCAM}", "gone"),
    }
    assert {v["key"] for v in t["verdicts"]} == {"help_desk.nl"}
    # A number's timeline has its pairs' changes too.
    keys = {c["key"] for c in history.timeline(d, SCAM)["changes"]}
    assert keys == {SCAM, f"help_desk.nl {SCAM}"}
