"""`serpwatch crawl` on five engines served by tests/enginesim.py on 127.0.0.1.

Each crawl runs the real CLI in a subprocess whose environment points
http_proxy and https_proxy at the simulator (the sites the fixture pages link
to), with engine delays at 0 so the tests take seconds.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from enginesim import EngineSim

from crawler.cli import main

ALL = ("bing", "duckduckgo", "google", "searxng", "brave")
BRANDS = """
[[brands]]
name = "Microsoft"
keywords = ["microsoft", "outlook"]
domains = ["microsoft.com"]
phones = ["+31 20 500 1005"]
"""
SCAM = (
    "<!DOCTYPE html><html><head><title>Microsoft Helpdesk Nederland</title></head>"
    "<body><h1>Microsoft helpdesk</h1><p>Computer geblokkeerd? Bel direct "
    '<a href="tel:+31852081234">085 208 1234</a>.</p></body></html>'
)
QUERIES = ("Microsoft helpdesk telefoonnummer", "windows hulp bellen")


def crawl(folder: Path, sim: EngineSim, kinds, *, results: int = 5, extra_args=()):
    """Run `serpwatch crawl` on a profile naming `kinds` at the simulator."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brands.toml").write_text(BRANDS)
    engines = "".join(
        f'\n[[engines]]\nkind = "{k}"\nurl = "{sim.url(k)}"\ndelay = 0\n' for k in kinds
    )
    (folder / "profile.toml").write_text(
        f'name = "sim"\nbrands = "brands.toml"\nregion = "NL"\nlanguage = "nl"\n'
        f"results_per_query = {results}\nfollow_ads = true\nallow_private = true\n"
        f"{engines}\n[queries]\n"
        f'templates = ["{{brand}} helpdesk telefoonnummer"]\nextra = ["{QUERIES[1]}"]\n'
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(http_proxy=sim.proxy_url, https_proxy=sim.proxy_url, no_proxy="127.0.0.1")
    db = folder / "crawl.db"
    exe = Path(sys.executable).with_name("serpwatch")
    args = [str(exe), "crawl", str(folder / "profile.toml"), "--db", str(db)]
    args += ["-s", "AUTOTHROTTLE_START_DELAY=0", *extra_args]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    return proc, db


def rows(db: Path, sql: str, params=()) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def last_run(db: Path) -> dict:
    (run,) = rows(db, "select * from runs order by id desc limit 1")
    return {
        "stats": json.loads(run["stats"]),
        "blocked": json.loads(run["blocked_engines"]),
        "warnings": json.loads(run["warnings"]),
    }


# -- five engines, merged ----------------------------------------------------------


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    with EngineSim(latency=0.03) as sim:
        sim.serve("bing", {1: "ads-helpdesk-nl", 2: "organic-page2"})
        sim.serve("duckduckgo", {1: "ads-helpdesk-nl", 2: "organic-page2"})
        sim.serve("google", {1: "desktop-ads-nl", 2: "label-only-ads"})
        sim.serve("searxng", {1: "organic-nl"})
        sim.serve("brave", {1: "organic-nl"})
        sim.sites["microsoft-hulpdesk.example"] = SCAM
        proc, db = crawl(tmp_path_factory.mktemp("merged"), sim, ALL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, db, sim


def test_clean_run_has_no_block_and_no_warning(merged):
    proc, db, _ = merged
    assert "BLOCKED" not in proc.stdout and "warning" not in proc.stdout
    run = last_run(db)
    assert run["blocked"] == {} and run["warnings"] == []
    assert run["stats"]["serpwatch/engines"] == list(ALL)


def test_each_engine_is_asked_one_request_at_a_time(merged):
    _, _, sim = merged
    assert {k: sim.max_in_flight[k] for k in ALL} == dict.fromkeys(ALL, 1)
    # ... while the engines themselves ran side by side.
    spans = sorted((e["start"], e["end"]) for e in sim.log if e["part"] == "engine")
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))


def test_pagination_stops_at_results_per_query_or_the_last_page(merged):
    _, _, sim = merged
    for kind in ALL:
        pages = sorted(e["page"] for e in sim.engine_hits(kind))
        assert pages == [1, 1, 2, 2], kind  # two queries, two pages each
    # SearXNG's own next link (on the configured endpoint) is followed.
    assert {e["query"].get("pageno") for e in sim.engine_hits("searxng")} == {"1", "2"}
    # Page 2 is asked with page 1 as Referer, like a browser clicking "next".
    bing2 = next(e for e in sim.engine_hits("bing") if e["page"] == 2)
    assert (
        "/bing/search?" in bing2["headers"]["Referer"]
        and "first=" not in bing2["headers"]["Referer"]
    )


def test_ranks_continue_across_pages_and_ads_stay_apart(merged):
    _, db, _ = merged
    got = rows(
        db,
        "select page, is_ad, rank, ad_position from serp_results"
        " where engine = 'bing' and query = ? order by page, is_ad, rank, ad_position",
        [QUERIES[0]],
    )
    organic = [(r["page"], r["rank"]) for r in got if not r["is_ad"]]
    assert organic == [(1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (2, 6)]
    ads = [(r["page"], r["ad_position"], r["rank"]) for r in got if r["is_ad"]]
    assert ads == [(1, 1, None), (1, 2, None), (1, 3, None)]
    google = rows(
        db,
        "select page, is_ad, rank, ad_position from serp_results"
        " where engine = 'google' and query = ? and page = 2 order by is_ad, rank, ad_position",
        [QUERIES[0]],
    )
    assert [(r["rank"], r["ad_position"]) for r in google] == [
        (5, None),
        (6, None),
        (None, 1),
        (None, 2),
    ]


def test_a_landing_page_shown_by_every_engine_is_fetched_once_per_query(merged):
    _, db, sim = merged
    paths = [h["path"] for h in sim.site_hits("support.microsoft.com")]
    assert paths.count("/nl-nl/contactus") == len(QUERIES)
    hits = sim.site_hits("microsoft-hulpdesk.example")
    parent = [h for h in hits if h["path"] == "/nl/" and "sl=1" not in h["query"]]
    assert len(parent) == len(QUERIES)
    # ... and the ads' sitelinks (Bing's "/nl/?...&sl=1", Google's "/tarieven"), once each.
    assert len(hits) == 3 * len(QUERIES)
    (page,) = rows(
        db,
        "select * from pages where url = 'https://support.microsoft.com/nl-nl/contactus'",
    )
    assert json.loads(page["engines"]) == list(ALL)
    showings = json.loads(page["appearances"])
    assert {s["engine"] for s in showings} == set(ALL)
    assert page["engine"] == "bing" and page["rank"] == 1 and not page["is_ad"]


def test_the_flagged_pair_keeps_every_engine_and_the_ad_as_its_evidence(merged):
    _, db, _ = merged
    (pair,) = rows(db, "select * from site_numbers where phone = '+31852081234'")
    assert pair["domain"] == "microsoft-hulpdesk.example"
    assert pair["engine"] == "bing" and pair["is_ad"] == 1 and pair["rank"] == 1
    # Every engine; in the order the pair's pages were stored (the ads' sitelink
    # pages show the number too, issue 16), so compared as a set.
    assert sorted(json.loads(pair["engines"])) == sorted(ALL)
    assert pair["entry_url"].startswith("https://microsoft-hulpdesk.example/nl/?utm_source=bing")
    exp = subprocess.run(
        [str(Path(sys.executable).with_name("serpwatch")), "export", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exp.returncode == 0, exp.stderr
    records = [json.loads(line) for line in exp.stdout.splitlines()]
    (record,) = [r for r in records if r["phone"] == "+31852081234"]
    assert record["engine"] == "bing" and record["is_ad"] is True


def test_requests_look_like_a_browser_and_results_carry_the_result_page(merged):
    _, _, sim = merged
    for e in sim.log:
        assert e["headers"]["User-Agent"].startswith("Mozilla/5.0"), e
    bing = sim.engine_hits("bing")[0]["headers"]
    assert bing["Accept-Language"].startswith("nl-NL") and bing["Sec-Fetch-Mode"] == "navigate"
    for hit in sim.site_hits():
        referer = hit["headers"]["Referer"]
        assert referer.startswith(sim.base_url) and "/search?" in referer, hit
        assert hit["headers"]["Sec-Fetch-Site"] == "cross-site"
    # The ad's page (not its sitelinks' pages, issue 16): the ad that leads is Bing's.
    scam = next(
        h
        for h in sim.site_hits("microsoft-hulpdesk.example")
        if h["path"] == "/nl/" and "sl=1" not in h["query"]
    )
    assert scam["headers"]["Referer"].startswith(sim.url("bing"))


# -- blocks --------------------------------------------------------------------------


def test_blocked_engines_are_dropped_for_the_run_and_reported(tmp_path):
    with EngineSim() as sim:
        sim.serve("bing", {1: "ads-helpdesk-nl"})
        sim.block("bing", "rate-limited-429", retry_after=1, times=1)  # then fine
        sim.block("duckduckgo", "anomaly-202")
        sim.block("google", "sorry-429")  # a redirect to /sorry/, then a 429
        sim.serve("searxng", {}, default="no-results")
        proc, db = crawl(tmp_path, sim, ("bing", "duckduckgo", "google", "searxng"))
    # Some engines blocked: not a success (DESIGN.md), one line per engine says which.
    assert proc.returncode == 1, proc.stderr[-3000:]
    out = proc.stdout
    assert "engine bing: answered, 2 of 2 queries answered" in out
    assert "engine duckduckgo: BLOCKED, 0 of 2 queries answered" in out
    assert "engine searxng: answered, 2 of 2 queries answered" in out
    assert rows(db, "select status from runs")[0]["status"] == "partial"
    assert "BLOCKED: duckduckgo: rate limited (HTTP 202 challenge)" in out
    assert "BLOCKED: google: rate limited (HTTP 429)" in out  # the /sorry/ page
    assert "BLOCKED: bing" not in out
    assert "warning: searxng returned no results for any query" in out
    run = last_run(db)
    assert set(run["blocked"]) == {"duckduckgo", "google"}
    # One block answer each, then not a single request more: two queries, one asked.
    assert len(sim.engine_hits("duckduckgo")) == 1
    assert [e["status"] for e in sim.engine_hits("google")] == [302, 429]
    assert run["stats"]["serpwatch/queries_dropped/duckduckgo"] == 1
    # Bing said 429 with Retry-After: 1; it was asked again after that, once.
    bing = sim.engine_hits("bing")
    assert [e["status"] for e in bing[:2]] == [429, 200]
    assert bing[1]["start"] - bing[0]["end"] >= 0.9
    assert run["stats"]["serpwatch/backoff/bing"] == 1
    # A blocked page is never stored as "no results".
    engines = {r["engine"] for r in rows(db, "select distinct engine from serp_results")}
    assert engines == {"bing"}
    assert rows(db, "select count(*) as n from pages")[0]["n"] > 0


def test_every_engine_blocked_exits_3_without_hammering(tmp_path):
    with EngineSim() as sim:
        sim.block("bing", "rate-limited-429")  # no Retry-After: blocked at once
        sim.block("searxng", "rate-limited-429", retry_after=3600)  # longer than we wait
        sim.block("brave", "invalid-token-422")
        started = time.monotonic()
        proc, db = crawl(tmp_path, sim, ("bing", "searxng", "brave"))
        took = time.monotonic() - started
    assert proc.returncode == 3, proc.stdout + proc.stderr[-3000:]
    assert "BLOCKED: bing: rate limited (HTTP 429)" in proc.stdout
    assert "BLOCKED: searxng: rate limited (HTTP 429) (Retry-After 3600 s" in proc.stdout
    assert "BLOCKED: brave: HTTP 422" in proc.stdout
    # RetryMiddleware would retry a 429 twice: engine requests are never retried.
    for kind in ("bing", "searxng", "brave"):
        assert len(sim.engine_hits(kind)) == 1, kind
    assert not sim.site_hits()
    assert rows(db, "select count(*) as n from serp_results")[0]["n"] == 0
    assert took < 30


# -- serp parse ------------------------------------------------------------------------


def test_serp_parse_prints_results_in_the_documented_key_order():
    page = Path(__file__).parent / "fixtures" / "serp" / "bing" / "ads-helpdesk-nl" / "page.html"
    result = CliRunner().invoke(main, ["serp", "parse", "--engine", "bing", str(page)])
    assert result.exit_code == 0, result.output
    first = json.loads(result.output.splitlines()[0])
    assert list(first) == [
        "rank",
        "ad_position",
        "is_ad",
        "title",
        "url",
        "landing_url",
        "display_url",
        "snippet",
        "phones",
        "kind",
        "position",
        "click_url",
        "landing_from",
        "advertiser_name",
        "advertiser_location",
        "advertiser_url",
        "address",
        "sitelinks",  # only for a result that has any (this ad has one)
    ]
