"""Issue 16 end to end: `serpwatch crawl` on the simulated engines (tests/enginesim.py).

- `click_ads = false` (the default): no request reaches any engine's click host
  or an ad tracker, asserted on the server side, and every ad's advertiser site
  is still known and visited (decoded click URL or display URL);
- `click_ads = true`: the click chain is followed and the page records it;
- an unrecognised result page is kept whole, warned about, and never counted
  as "no results";
- SerpApi's key never reaches the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from click.testing import CliRunner
from enginesim import FIXTURES, EngineSim

from crawler.cli import main
from crawler.engines.common import is_click_url

BRANDS = """
[[brands]]
name = "Microsoft"
keywords = ["microsoft", "outlook", "windows"]
domains = ["microsoft.com"]
phones = ["+31 20 500 1005"]
"""
SCAM = (
    "<!DOCTYPE html><html><head><title>Microsoft Helpdesk Nederland</title></head>"
    "<body><h1>Microsoft helpdesk</h1><p>Computer geblokkeerd? Bel direct "
    '<a href="tel:+31853031290">085 303 1290</a>.</p></body></html>'
)
# Hosts whose every request is an ad click (the engines' and the trackers').
CLICK_HOSTS = {
    "www.google.com",
    "www.google.nl",
    "www.googleadservices.com",
    "www.bing.com",
    "r.search.yahoo.com",
    "duckduckgo.com",
    "clickserve.dartsearch.net",
    "ad.doubleclick.net",
}
KEY = "sk-test-0123456789"


def crawl(folder: Path, sim: EngineSim, kinds, *, head: str = ""):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brands.toml").write_text(BRANDS)
    engines = "".join(
        f'\n[[engines]]\nkind = "{k}"\nurl = "{sim.url(k)}"\ndelay = 0\n' for k in kinds
    )
    (folder / "profile.toml").write_text(
        f'name = "sim"\nbrands = "brands.toml"\nregion = "NL"\nlanguage = "nl"\n'
        f"results_per_query = 5\nfollow_ads = true\nallow_private = true\n{head}"
        f'{engines}\n[queries]\nextra = ["microsoft helpdesk telefoonnummer"]\n'
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(http_proxy=sim.proxy_url, https_proxy=sim.proxy_url, no_proxy="127.0.0.1")
    env["SERPAPI_API_KEY"] = KEY
    db = folder / "crawl.db"
    exe = Path(sys.executable).with_name("serpwatch")
    args = [str(exe), "crawl", str(folder / "profile.toml"), "--db", str(db)]
    args += ["-s", "AUTOTHROTTLE_START_DELAY=0"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    return proc, db


def rows(db: Path, sql: str, params=()) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


NO_CLICK_ENGINES = ("google", "startpage", "ecosia", "yahoo", "serpapi", "duckduckgo")


@pytest.fixture(scope="module")
def no_clicks(tmp_path_factory):
    with EngineSim() as sim:
        sim.serve("google", {1: "nojs-ads-nl"})
        # Page 2 is these engines' "no results" page (their fixture is named -nl):
        # a missing page made the simulator drop the connection, which the
        # crawl now reports as an engine that failed (exit 1).
        sim.serve("startpage", {1: "ads-helpdesk-nl"}, default="no-results-nl")
        sim.serve("ecosia", {1: "ads-helpdesk-nl"}, default="no-results-nl")
        sim.serve("yahoo", {1: "ads-helpdesk-nl"}, default="no-results-nl")
        sim.serve("serpapi", {1: "organic-ads-local-nl"})
        sim.serve("duckduckgo", {1: "ads-helpdesk-nl"})
        sim.sites["www.windows-helpdesk-bellen.example"] = SCAM
        proc, db = crawl(tmp_path_factory.mktemp("noclick"), sim, NO_CLICK_ENGINES)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, db, sim


def test_no_request_reaches_a_click_host(no_clicks):
    _, _, sim = no_clicks
    sites = sim.site_hits()
    assert sites, "the crawl visited no site at all"
    clicked = [h for h in sites if h["host"] in CLICK_HOSTS or is_click_url(h["url"])]
    assert clicked == []
    assert not [h for h in sites if "/aclk" in h["path"] or "/cbclk" in h["path"]]


def test_every_ad_has_a_known_advertiser_site_and_it_is_visited(no_clicks):
    _, db, sim = no_clicks
    ads = rows(db, "select * from serp_results where is_ad = 1")
    assert {a["engine"] for a in ads} == set(NO_CLICK_ENGINES)
    visited = {h["host"] for h in sim.site_hits()}
    for ad in ads:
        host = urlsplit(ad["landing_url"]).hostname
        assert host and host not in CLICK_HOSTS, ad
        assert ad["landing_from"] in ("decoded", "display-url", "link"), ad
        assert host in visited, ad
    # The click string is kept with every ad that had one, for the search engines.
    assert all(a["click_url"] for a in ads if a["landing_from"] != "link")
    hidden = [a for a in ads if a["landing_from"] == "display-url"]
    assert {a["engine"] for a in hidden} >= {"google", "startpage", "ecosia", "serpapi"}


def test_pages_record_how_they_were_reached_and_who_advertised(no_clicks):
    _, db, _ = no_clicks
    pages = rows(db, "select url, reached_via, click_url, advertiser_name from pages")
    via = {p["reached_via"] for p in pages}
    assert {"decoded", "display-url", "link"} <= via and "click" not in via
    scam = next(p for p in pages if "windows-helpdesk-bellen" in p["url"])
    assert scam["advertiser_name"] == "Snelle PC Hulp B.V." and "/aclk" in scam["click_url"]
    # ... and the number the ad's call button showed is flagged on that site.
    pairs = rows(db, "select * from site_numbers where domain like '%windows-helpdesk-bellen%'")
    assert any(p["phone"] == "+31853031290" and p["flagged"] for p in pairs)
    assert all(p["click_url"] for p in pairs)


def test_local_and_call_cards_are_kept_apart(no_clicks):
    _, db, _ = no_clicks
    cards = rows(db, "select * from serp_listings order by engine, position")
    kinds = {(c["engine"], c["kind"]) for c in cards}
    assert {("serpapi", "local"), ("serpapi", "call"), ("startpage", "call")} <= kinds
    assert all(json.loads(c["phones"]) for c in cards)
    assert not rows(db, "select * from serp_results where kind in ('local', 'call')")
    # A card's site is followed, and its number recorded there as the card's.
    sightings = rows(db, "select * from sightings where source in ('local', 'call')")
    assert any("pcreparatie-devries" in s["domain"] for s in sightings)


def test_the_serpapi_key_is_sent_but_never_stored(no_clicks):
    proc, db, sim = no_clicks
    assert KEY not in proc.stdout + proc.stderr
    hits = sim.engine_hits("serpapi")
    assert hits and all(hit["query"]["api_key"] == KEY for hit in hits)
    conn = sqlite3.connect(db)
    try:
        for (sql,) in conn.execute("select name from sqlite_master where type = 'table'"):
            dump = json.dumps(
                [list(r) for r in conn.execute(f'select * from "{sql}"')], default=str
            )
            assert KEY not in dump, sql
    finally:
        conn.close()


def test_search_engine_export_carries_the_click_string_and_advertiser(no_clicks):
    _, db, _ = no_clicks
    result = CliRunner().invoke(
        main, ["export", "--recipient", "search-engine", "--db", str(db), "--format", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    scam = [r for r in records if "windows-helpdesk-bellen" in r["landing_url"]]
    assert scam, records
    assert "/aclk" in scam[0]["click_url"]
    assert scam[0]["advertiser_name"] == "Snelle PC Hulp B.V."
    assert scam[0]["advertiser_location"] == "Nederland"


# -- click_ads = true ---------------------------------------------------------------


def _adurl_or_hidden(path: str, query: str) -> str:
    """Google's click host: to the ad's adurl, or to the hidden advertiser."""
    target = parse_qs(query).get("adurl", [""])[0]
    return unquote(target) or "https://www.hotmail-herstel.example/via-click"


def test_click_ads_true_follows_the_click_chain_and_records_it(tmp_path):
    with EngineSim() as sim:
        sim.serve("google", {1: "nojs-ads-nl"})
        sim.clicks["www.google.com"] = _adurl_or_hidden
        proc, db = crawl(tmp_path, sim, ["google"], head="click_ads = true\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    clicks = [h for h in sim.site_hits("www.google.com") if h["path"] == "/aclk"]
    assert len(clicks) == 2  # both ads, through the engine's click URL
    assert sim.site_hits("www.hotmail-herstel.example")[0]["path"] == "/via-click"
    pages = rows(db, "select * from pages where reached_via = 'click'")
    assert len(pages) == 2
    for page in pages:
        assert "/aclk" in page["entry_url"] and page["entry_url"] == page["click_url"]
        assert json.loads(page["redirects"])[0] == page["entry_url"]
        assert urlsplit(page["url"]).hostname != "www.google.com"


# -- never silent ------------------------------------------------------------------


def test_an_unrecognised_page_is_kept_and_warned_never_no_results(tmp_path):
    with EngineSim() as sim:
        sim.serve("bing", {1: "unrecognised-layout"})
        sim.serve("yahoo", {1: "no-results-nl"})
        proc, db = crawl(tmp_path, sim, ["bing", "yahoo"])
    out = proc.stdout
    assert "bing: 1 result pages not recognised" in out
    assert "bing returned no results" not in out
    assert "yahoo returned no results for any query" in out  # a real "no results"
    (page,) = rows(db, "select * from unparsed_pages")
    fixture = FIXTURES / "bing" / "unrecognised-layout" / "page.html"
    assert page["body"] == fixture.read_bytes() and page["engine"] == "bing"
    assert page["query"] == "microsoft helpdesk telefoonnummer" and "li.b_algo" in page["reason"]
    assert not rows(db, "select * from serp_results where engine = 'bing'")
    listed = CliRunner().invoke(
        main, ["serp", "unparsed", "--db", str(db), "--save", str(tmp_path / "out")]
    )
    assert listed.exit_code == 0, listed.output
    assert "bing" in listed.output and "li.b_algo" in listed.output
    (saved,) = (tmp_path / "out").iterdir()
    assert saved.read_bytes() == fixture.read_bytes()


def test_default_export_carries_the_click_string_for_ads(no_clicks):
    _, db, _ = no_clicks
    result = CliRunner().invoke(main, ["export", "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split(",")
    assert header[-3:] == ["click_url", "advertiser_name", "advertiser_location"]
    rows = [
        json.loads(line)
        for line in CliRunner()
        .invoke(main, ["export", "--db", str(db), "--format", "jsonl", "--dry-run"])
        .stdout.splitlines()
        if line.startswith("{")
    ]
    scam = next(r for r in rows if "windows-helpdesk-bellen" in r["domain"])
    assert "/aclk" in scam["click_url"] and scam["advertiser_location"] == "Nederland"
    assert all(r["click_url"] == "" for r in rows if not r["is_ad"])


@pytest.mark.parametrize(("value", "ok"), [("", False), ("false", False), ("true", True)])
def test_click_ads_is_a_real_boolean_defaulting_to_false(tmp_path, value, ok):
    from crawler.config import ConfigError, load_profile

    (tmp_path / "brands.toml").write_text(BRANDS)
    line = f"click_ads = {value}\n" if value else ""
    (tmp_path / "p.toml").write_text(
        f'name = "t"\nbrands = "brands.toml"\n{line}[[engines]]\nkind = "yahoo"\n'
        '[queries]\nextra = ["x"]\n'
    )
    assert load_profile(tmp_path / "p.toml").click_ads is ok
    (tmp_path / "bad.toml").write_text(
        f'name = "t"\nbrands = "brands.toml"\nclick_ads = "{value or "no"}"\n'
        '[[engines]]\nkind = "yahoo"\n[queries]\nextra = ["x"]\n'
    )
    with pytest.raises(ConfigError, match=r"bad.toml:3 \[click_ads\]: must be bool"):
        load_profile(tmp_path / "bad.toml")


def test_queries_try_never_calls_an_unrecognised_page_no_results(tmp_path):
    with EngineSim() as sim:
        sim.serve("ecosia", {1: "unrecognised-layout"})
        (tmp_path / "brands.toml").write_text(BRANDS)
        (tmp_path / "p.toml").write_text(
            'name = "t"\nbrands = "brands.toml"\nallow_private = true\n'
            f'[[engines]]\nkind = "ecosia"\nurl = "{sim.url("ecosia")}"\ndelay = 0\n'
            '[queries]\nextra = ["x"]\n'
        )
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        exe = Path(sys.executable).with_name("serpwatch")
        proc = subprocess.run(
            [str(exe), "queries", "try", str(tmp_path / "p.toml"), "microsoft helpdesk"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert "ecosia: 1 result pages not recognised" in proc.stdout, proc.stderr[-2000:]
    assert "nothing read: a result page was not recognised" in proc.stdout
    assert "no results" not in proc.stdout.replace("nothing read", "")


def test_serp_unparsed_on_a_database_without_any(tmp_path):
    from crawler import storage

    db = tmp_path / "x.db"
    storage.open_db(db).close()
    result = CliRunner().invoke(main, ["serp", "unparsed", "--db", str(db)])
    assert result.exit_code == 0 and "No unrecognised result pages." in result.output
    missing = CliRunner().invoke(main, ["serp", "unparsed", "--db", str(tmp_path / "no.db")])
    assert missing.exit_code == 2 and "file not found" in missing.output


def test_an_unrecognised_page_is_a_run_problem_in_alerts_never_no_results(tmp_path):
    from crawler import alerts, storage

    db = storage.open_db(tmp_path / "a.db")
    run_id = storage.start_run(db, "p")
    stats = {
        "serpwatch/engines": ["bing", "yahoo"],
        "serpwatch/unrecognised/bing": 2,
        "serpwatch/serp_pages/yahoo": 1,
        "finish_reason": "finished",
    }
    storage.finish_crawl(db, run_id, stats)
    headlines = [i.headline for i in alerts.collect(db, run_id) if i.kind == "run"]
    assert any("bing: 2 result pages not recognised" in h for h in headlines), headlines
    assert not any("bing returned no results" in h for h in headlines)
    assert any("yahoo returned no results" in h for h in headlines)


def test_a_run_with_an_unrecognised_page_does_not_make_everything_gone():
    from tests.test_history import SCAM_PAGE, changes, db, run

    d = db()
    run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE])
    # The spider records an unrecognised page as a failed query (spiders/search.py):
    # what the query showed before is not gone.
    r2, s2 = run(
        d,
        "2026-11-02T08:00:00+00:00",
        [],
        stats={"serpwatch/unrecognised/bing": 1},
        outcome="failed",
    )
    assert s2["gone_numbers"] == 0 and not changes(d, r2)
