"""Scoring over the project-made pages of tests/fixtures/scoring/ (one per signal).

Each case (tests/fixtures/scoring/<case>/, see scoring_cases.py) is a page as
it was found (URL, brand queried, ad or not) with what it is (scam, legit third
party, official) and the signals its number must and must not show, in its
meta.json. Extraction, page facts and scoring run as in a crawl; then the pages
are stored and the run closed, for the cross-page signals, and every verdict is
compared with the case's expected.json (re-record: `pytest --rerecord`).
"""

from __future__ import annotations

import json

import pytest
from scoring_cases import cases, profile, scored, store, verdicts_by_case
from sqlite_utils import Database

from crawler import history, storage
from crawler.items import PageItem
from crawler.scoring import POINTS
from crawler.scoring.browser import BROWSER_SIGNALS
from crawler.scoring.points import NUMBER_ROWS, SITE_ROWS

CASES = cases()


def verdict(item: PageItem, phone: str) -> dict:
    found = [v.as_dict() for v in item.verdicts if v.phone == phone]
    assert found, f"{phone} not found on {item.url}: {[v.phone for v in item.verdicts]}"
    return found[0]


@pytest.fixture(scope="module")
def results():
    prof = profile()
    return {c["id"]: (c, scored(c, prof)) for c in CASES}


@pytest.fixture(scope="module")
def recorded():
    return verdicts_by_case(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_golden_verdicts(case, recorded, golden):
    """Every verdict on the case's numbers and site, all cases stored in one run."""
    golden(case["dir"], recorded[case["id"]], test=f"tests/test_scoring_pages.py -k {case['id']}")


def test_every_signal_has_a_page():
    shown = {s for c in CASES for s in c.get("signals", [])}
    cross_page = {
        "several_domains_2",
        "several_domains_3",
        "several_domains_5",
        "new_number",
        "new_site",
        "confirmed_number",
        "confirmed_site",
        "listed_by_brand",
    }  # need the database: test_cross_page_signals_* below and tests/test_history.py
    base = {"not_official", "not_official_any", "number_in_title"}
    # The number's and the site's verdicts, injection: tests/test_verdicts.py, simweb3.
    base |= {"injected", "poses_with_number", "premium_helpdesk"}
    base |= {s for _, signals, _ in NUMBER_ROWS + SITE_ROWS for s in signals}
    # Need a real browser: tests/test_render_crawl.py renders pages that show them.
    browser = set(BROWSER_SIGNALS)
    missing = set(POINTS) - shown - cross_page - base - browser
    assert not missing, f"no fixture page shows {sorted(missing)}"


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["kind"] != "official"], ids=lambda c: c["id"]
)
def test_case_signals(case, results):
    _, item = results[case["id"]]
    v = verdict(item, case["phone"])
    names = [s for s, _ in v["signals"]]
    assert v["flagged"], v["reasons"]
    for s in case.get("signals", []):
        assert s in names, f"{s} missing: {v['reasons']}"
    for s in case.get("absent", []):
        assert s not in names, f"{s} present: {v['reasons']}"
    # The first reason is the heaviest signal but the base; every reason shows its points.
    heaviest = max((abs(p) for s, p in v["signals"][:-1]), default=0)
    if heaviest:
        assert abs(v["signals"][0][1]) == heaviest
    assert all(r.endswith(")") and "(+" in r or "(-" in r for r in v["reasons"])


def test_every_scam_number_outranks_every_legit_third_party_number(results):
    scam = {
        c["id"]: verdict(r, c["phone"])["score"] for c, r in results.values() if c["kind"] == "scam"
    }
    legit = {
        c["id"]: verdict(r, c["phone"])["score"]
        for c, r in results.values()
        if c["kind"] == "legit"
    }
    assert min(scam.values()) > max(legit.values()), (scam, legit)


def test_high_risk_is_only_for_scams(results):
    for c, item in results.values():
        if c["kind"] == "legit":
            assert verdict(item, c["phone"])["risk"] != "high", c["id"]
    highs = [
        c["id"]
        for c, r in results.values()
        if c["kind"] == "scam" and verdict(r, c["phone"])["risk"] == "high"
    ]
    assert len(highs) >= 8  # all but the weakest scams


def test_official_numbers_are_never_flagged_in_any_format(results):
    for c, item in results.values():
        if c["kind"] != "official":
            continue
        for phone in c.get("phones", [c.get("phone")]):
            v = verdict(item, phone)
            assert not v["flagged"] and v["score"] == 0 and v["official_for"]
    # the directory writes them as "020 7001000", "+31 (0)20 761 44 00", "020-1234567"
    _, directory = results["official-numbers-in-a-directory"]
    assert not any(v.flagged for v in directory.verdicts)


def test_the_page_names_what_it_found(results):
    _, locker = results["browser-locker"]
    v = verdict(locker, "+18445550199")
    assert any("alarm or browser-locker language" in r for r in v["reasons"])
    assert v["reasons"][-1] == "not an official number of Microsoft (+30)"
    _, puny = results["punycode-domain"]
    assert (
        "look-alike domain xn--mcrosoft-support-9vn.com imitates microsoft"
        in (verdict(puny, "+31858882000")["reasons"][0])
    )
    _, blog = results["private-suffix-blogspot"]
    assert blog.domain == "apple-support-nl.blogspot.com"  # not Google's, not Apple's


def _pair(db: Database, domain: str, phone: str) -> dict:
    row = db["site_numbers"].get(storage.key(domain, phone))
    return {**row, "reasons": json.loads(row["reasons"])}


def test_cross_page_signals_several_domains_after_closing_the_run(results):
    db = Database(memory=True)
    storage.ensure_db_shape(db)
    run = storage.start_run(db, "fixtures")
    items = {id(r): r for _, r in results.values()}.values()
    store(db, run, list(items), storage.now())
    history.close_run(db, run)
    # 085 888 1000 is on two look-alike sites and a news page: three domains.
    typo = _pair(db, "microsfot-support.com", "+31858881000")
    assert any("seen on 3 unrelated domains (+10)" in r for r in typo["reasons"])
    assert typo["score"] == 100  # 95 on the page, +10, at most 100
    news = _pair(db, "dagblad-nieuws.nl", "+31858881000")
    assert news["score"] < 40  # still lowered by the warning and the news site
    alone = _pair(db, "pc-hulp-direct.nl", "+31858883000")
    assert not any("unrelated domains" in r for r in alone["reasons"])
    # The sightings carry the same verdicts.
    s = db.execute(
        "select reasons from sightings where domain = 'microsfot-support.com'"
    ).fetchone()
    assert "seen on 3 unrelated domains" in s[0]


def test_cross_page_signals_new_on_the_scene_and_confirmed(results):
    db = Database(memory=True)
    storage.ensure_db_shape(db)
    old = storage.start_run(db, "fixtures")
    db["runs"].update(old, {"started_at": "2026-09-01T08:00:00+00:00"})
    _, repair = results["repair-shop-remote-support"]
    store(db, old, [repair], "2026-09-01T08:05:00+00:00")
    history.close_run(db, old, at="2026-09-01T09:00:00+00:00")
    assert _pair(db, "computerhulp-jansen.nl", "+31302621234")["score"] == 35  # nothing new yet

    now = storage.start_run(db, "fixtures")
    db["runs"].update(now, {"started_at": "2026-11-01T08:00:00+00:00"})
    _, typo = results["typo-domain"]
    _, punycode = results["punycode-domain"]
    db["triage"].insert(
        {
            "key": "+31858882000",
            "kind": "number",
            "action": "confirm",
            "note": "",
            "at": "2026-10-01",
        },
        alter=True,
    )
    store(db, now, [repair, typo, punycode], "2026-11-01T08:05:00+00:00")
    history.close_run(db, now, at="2026-11-03T08:00:00+00:00")
    fresh = _pair(db, "microsfot-support.com", "+31858881000")
    assert any("number first seen 2 days ago" in r for r in fresh["reasons"])
    assert any("site first seen 2 days ago" in r for r in fresh["reasons"])
    known = _pair(db, "computerhulp-jansen.nl", "+31302621234")
    assert known["score"] == 35 and not any("first seen" in r for r in known["reasons"])
    confirmed = _pair(db, "xn--mcrosoft-support-9vn.com", "+31858882000")
    assert any("confirmed as a scam by an analyst on 2026-10-01" in r for r in confirmed["reasons"])


def test_a_plain_listing_on_the_brands_own_site_is_marked_for_the_cross_page_signal(results):
    _, own = results["official-site-other-country"]
    assert verdict(own, "+3225551234")["facts"]["brand_listing"]
    _, forum = results["forum-user-content"]  # user content on the brand's site: no
    assert not verdict(forum, "+31858884000")["facts"]["brand_listing"]
    _, blog = results["private-suffix-blogspot"]  # not the brand's site: no
    assert not verdict(blog, "+442038075555")["facts"]["brand_listing"]


def test_a_number_only_in_the_ads_call_extension_is_scored_on_the_landing_page(results):
    _, item = results["ad-call-extension-only"]
    v = verdict(item, "+31858887000")
    assert v["source"] == "ad" and v["sources"] == ["ad"]
    assert v["risk"] == "high"
    assert "Microsoft Helpdesk" in v["context"]
