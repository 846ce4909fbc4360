"""Issue 16: a local or call card that shows a number but no website is judged.

Such a card is its own page: its name is the title, its words the text, and it
is scored like an ad (`crawler.scoring.assess_card`). Its numbers are pairs
without a site: `domain` "" and `url` the card's listing on the engine (its
maps place link, else ``<result page>#local-N``). They are in `flags`, the
exports and `history` like any pair; the site "" has no site verdict of its own.

Saved fixtures first (tests/fixtures/serp), then a crawl on the simulated engines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from enginesim import EngineSim
from pymisp import MISPEvent
from stix_check import assert_strict_valid
from test_engines_v2_crawl import CLICK_HOSTS, crawl, rows

from crawler import history, storage
from crawler.cli import main
from crawler.config import load_profile
from crawler.engines import ENGINES
from crawler.items import SerpItem
from crawler.scoring.verdicts import NO_SITE
from pipelines.score import score_card
from pipelines.store import save_item

SERP = Path(__file__).parent / "fixtures" / "serp"
BRANDS = """
[[brands]]
name = "Microsoft"
keywords = ["microsoft", "outlook", "windows"]
domains = ["microsoft.com"]
phones = ["+31 20 500 1005"]
"""
QUERY = "microsoft helpdesk telefoonnummer"


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("profile")
    (folder / "brands.toml").write_text(BRANDS)
    (folder / "profile.toml").write_text(
        'name = "cards"\nbrands = "brands.toml"\nregion = "NL"\nlanguage = "nl"\n'
        f'[[engines]]\nkind = "google"\n[queries]\nextra = ["{QUERY}"]\n'
    )
    return load_profile(folder / "profile.toml")


def cards(kind: str, case: str, brand: str | None = None) -> list[SerpItem]:
    """The cards of a saved result page as the spider yields them."""
    folder = SERP / kind / case
    url = json.loads((folder / "meta.json").read_text())["url"]  # tests/golden.py
    page = ENGINES[kind].parse(next(folder.glob("page.*")).read_bytes(), url)
    return [
        SerpItem(
            engine=kind,
            query=QUERY,
            brand=brand,
            serp_url=url,
            is_ad=False,
            title=r.title,
            url=r.url,
            landing_url=r.landing_url,
            snippet=r.snippet,
            phones=list(r.phones),
            kind=r.kind,
            position=r.position,
            address=r.address,
        )
        for r in page.listings
    ]


def judged(item: SerpItem, profile) -> dict[str, dict]:
    score_card(item, profile)
    return {v.phone: v.as_dict() for v in item.verdicts}


def test_a_card_naming_the_brand_with_an_unofficial_number_is_flagged(profile):
    card = next(c for c in cards("google", "local-pack-nl") if c.title == "Microsoft Nederland")
    assert card.siteless_card and card.landing_url == ""
    # Its listing on the engine is where it is, never followed as a site.
    assert card.listing_url == "https://www.google.com/maps/place/?q=Microsoft"
    v = judged(card, profile)["+31205001500"]
    assert v["flagged"] and v["risk"] in ("medium", "high")
    assert "page title names Microsoft (+5)" in v["reasons"]
    assert "not an official number of Microsoft (+30)" in v["reasons"]
    assert v["source"] == "local" and v["facts"]["domain"] == ""
    # No site: nothing is read from the engine's own domain (google.com).
    assert v["facts"]["domain_match"] is None and v["facts"]["official_site"] is None


def test_a_card_posing_as_the_helpdesk_is_high(profile):
    items = cards("serpapi", "organic-ads-local-nl", brand="Microsoft")
    card = next(c for c in items if c.title == "Microsoft Support Centrum")
    assert card.siteless_card
    assert card.listing_url.endswith("#local-2") and "api_key" not in card.listing_url
    v = judged(card, profile)["+31853031290"]
    assert v["risk"] == "high", v["reasons"]
    assert any("helpdesk" in r for r in v["reasons"])


def test_a_card_with_the_official_number_is_not_flagged(profile):
    card = next(c for c in cards("google", "local-pack-nl") if c.title == "Microsoft Nederland")
    card.phones = ["+31205001005"]
    card.snippet = "Microsoft Nederland Softwarebedrijf · Schiphol 020 500 1005"
    v = judged(card, profile)["+31205001005"]
    assert v["official"] and not v["flagged"] and v["score"] == 0


def test_a_card_with_a_website_is_judged_on_its_site_not_here(profile):
    """Its number is recorded on the site it links to (tests/test_engines_v2_crawl.py)."""
    with_site = [c for c in cards("google", "local-pack-nl") if c.landing_url]
    assert with_site and not any(c.siteless_card for c in with_site)
    bing = cards("bing", "local-nl")
    assert [c.title for c in bing if c.siteless_card] == ["Laptop Dokter"]
    dokter = next(c for c in bing if c.siteless_card)
    assert dokter.listing_url.endswith("&form=QBLH#local-2")  # no link: its place on the page


def test_stored_scored_again_and_exported_without_a_site(profile, tmp_path):
    db = storage.open_db(tmp_path / "cards.db")
    run = storage.start_run(db, "cards")
    for card in cards("google", "local-pack-nl", brand="Microsoft"):
        if card.siteless_card:
            score_card(card, profile)
        save_item(db, run, card)
    listings = list(db["serp_listings"].rows)
    assert len(listings) == 4  # every card is kept, scored or not
    sightings = list(db["sightings"].rows)
    assert [(s["phone"], s["domain"], s["reached_via"]) for s in sightings] == [
        ("+31205001500", "", "card")
    ]
    assert sightings[0]["page_id"] in {c["id"] for c in listings}
    history.close_run(db, run)
    [flag] = [r for r in storage.flagged(db) if r["phone"] == "+31205001500"]
    assert flag["domain"] == "" and flag["url"].startswith("https://www.google.com/maps/")
    assert flag["number_risk"] == flag["risk"] and flag["number_score"] >= flag["score"]
    assert flag["site_risk"] == "low" and flag["site_reasons"] == [NO_SITE]
    assert history.timeline(db, "+31205001500")["first_seen"]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    with EngineSim() as sim:
        sim.serve("google", {1: "local-pack-nl"})
        sim.serve("bing", {1: "local-nl"})
        proc, db = crawl(tmp_path_factory.mktemp("cards"), sim, ["google", "bing"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return db, sim


def cli(*args) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_crawl_judges_cards_without_a_website(crawled):
    db, sim = crawled
    pairs = {(p["phone"], p["engine"]): p for p in rows(db, "select * from site_numbers")}
    google = pairs[("+31205001500", "google")]
    assert google["domain"] == "" and google["flagged"] and google["risk"] in ("medium", "high")
    assert google["url"] == "https://www.google.com/maps/place/?q=Microsoft"
    dokter = pairs[("+31302345678", "bing")]
    assert dokter["domain"] == "" and dokter["url"].endswith("#local-2")
    # The listing link is the engine's: never requested.
    assert not [h for h in sim.site_hits() if h["host"] in CLICK_HOSTS]
    # A card with a website is still judged on its site, not without one.
    sites = {p["domain"] for p in pairs.values() if p["phone"] == "+31852084455"}
    assert sites and "" not in sites


def test_cards_without_a_website_are_in_flags_exports_and_history(crawled):
    db, _ = crawled
    flags = [json.loads(x) for x in cli("flags", "--db", str(db), "--json").splitlines()]
    card = next(f for f in flags if f["phone"] == "+31205001500")
    assert card["domain"] == "" and card["since"] == "new"
    assert "(no website) google card" in cli("flags", "--db", str(db))
    jsonl = cli("export", "--db", str(db), "--format", "jsonl")
    assert any(json.loads(x)["phone"] == "+31205001500" for x in jsonl.splitlines())
    bundle = assert_strict_valid(cli("export", "--db", str(db), "--format", "stix"))
    names = [o["value"] for o in bundle["objects"] if o["type"] == "domain-name"]
    assert "" not in names
    event = MISPEvent()
    event.from_json(cli("export", "--db", str(db), "--format", "misp"))
    assert not [a for a in event.attributes if a.type == "domain" and not a.value]
    xarf = [json.loads(x) for x in cli("export", "--db", str(db), "--format", "xarf").splitlines()]
    assert all(r["domain"] for r in xarf)
    assert "+31205001500" in cli("history", "+31205001500", "--db", str(db))


def test_alerts_name_the_card_not_an_empty_site(crawled):
    from crawler.alerts import collect

    db, _ = crawled
    conn = storage.open_db(db, create=False)
    items = collect(conn, storage.last_run(conn)["id"], "low", None, None)
    [card] = [i for i in items if i.key == "card:+31205001500"]
    assert card.headline == "a google card without a website shows +31205001500"
    where = "  a google card without a website: hxxps://www[.]google[.]com/maps/"
    assert card.lines[0].startswith(where), card.lines
    assert not [i for i in items if i.key == "site:"]
