"""Scoring over the project-made pages of tests/fixtures/scoring/ (one per signal).

Each case in cases.toml is a page as it was found (URL, brand queried, ad or
not) with what it is (scam, legit third party, official) and the signals its
number must and must not show. Extraction, page facts and scoring run as in a
crawl; then the pages are stored and the run closed, for the cross-page signals.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sqlite_utils import Database

from crawler import history, storage
from crawler.config import Profile, load_brands, load_third_parties
from crawler.items import PageItem
from crawler.phones import extract_phones, result_hits
from crawler.scoring import POINTS
from crawler.scoring.browser import BROWSER_SIGNALS
from crawler.scoring.points import NUMBER_ROWS, SITE_ROWS
from pipelines.score import score_page

FX = Path(__file__).parent / "fixtures" / "scoring"
CASES = tomllib.loads((FX / "cases.toml").read_text(encoding="utf-8"))["cases"]


def profile() -> Profile:
    brands = FX / "brands.toml"
    return Profile(
        path=brands,
        name="fixtures",
        brands=load_brands(brands),
        brands_path=brands,
        third_parties=load_third_parties(brands),
    )


def scored(case: dict, prof: Profile | None = None) -> PageItem:
    html = (FX / "pages" / case["file"]).read_text(encoding="utf-8")
    item = PageItem(
        url=case["url"],
        entry_url=case["url"],
        status=200,
        html=html,
        engine="bing",
        query=f"{case.get('brand') or 'klantenservice'} helpdesk telefoonnummer",
        brand=case.get("brand"),
        is_ad=case.get("is_ad", False),
        serp_url="http://engine/search",
        rank=None if case.get("is_ad") else 1,
        ad_position=1 if case.get("is_ad") else None,
    )
    if case.get("ad_title"):  # the ad that led to the page: its title and call extension
        item.appearances = [
            {
                "engine": "bing",
                "is_ad": True,
                "title": case["ad_title"],
                "snippet": case.get("ad_snippet", ""),
                "phones": case.get("ad_phones", []),
            }
        ]
    item.hits = extract_phones(html, region="NL", url=case["url"])
    item.hits += result_hits(item.appearances, {h.phone for h in item.hits}, "NL")
    score_page(item, prof or profile())
    return item


def verdict(item: PageItem, phone: str) -> dict:
    found = [v.as_dict() for v in item.verdicts if v.phone == phone]
    assert found, f"{phone} not found on {item.url}: {[v.phone for v in item.verdicts]}"
    return found[0]


@pytest.fixture(scope="module")
def results():
    prof = profile()
    return {c["id"]: (c, scored(c, prof)) for c in CASES}


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


def _store(db: Database, run_id: int, items: list[PageItem], at: str) -> None:
    for item in items:
        page = {
            k: getattr(item, k)
            for k in (
                "url",
                "entry_url",
                "status",
                "engine",
                "query",
                "brand",
                "is_ad",
                "rank",
                "ad_position",
                "serp_url",
                "domain",
                "title",
            )
        }
        page["fetched_at"] = at
        storage.save_page(db, run_id, page, [v.as_dict() for v in item.verdicts])


def _pair(db: Database, domain: str, phone: str) -> dict:
    row = db["site_numbers"].get(storage.key(domain, phone))
    return {**row, "reasons": json.loads(row["reasons"])}


def test_cross_page_signals_several_domains_after_closing_the_run(results):
    db = Database(memory=True)
    storage.ensure_db_shape(db)
    run = storage.start_run(db, "fixtures")
    items = {id(r): r for _, r in results.values()}.values()
    _store(db, run, list(items), storage.now())
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
    _store(db, old, [repair], "2026-09-01T08:05:00+00:00")
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
    _store(db, now, [repair, typo, punycode], "2026-11-01T08:05:00+00:00")
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
