"""Issue 16: sitelinks under a result or an ad belong to it.

The parsers read the sitelink rows of Google (`.bOeY0b` under an ad, `.HiHjCd`
under an organic result), Bing (`.b_deep`) and DuckDuckGo
(`.result__sitelinks`); a sitelink is decoded without a click like its
parent's link, a number in the row outside any link is the ad's call
extension, and the crawl follows a result's first four sitelinks as the
result itself (same kind, rank or ad position, "parent › sitelink" as title).
The golden cases are tests/fixtures/serp/{google,bing}/sitelinks-nl and
duckduckgo/sitelinks-ads-nl (real pages: tests/test_serp_conformance.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from enginesim import EngineSim
from test_engines_v2_crawl import CLICK_HOSTS, crawl, rows

from crawler.engines import ENGINES
from crawler.engines.base import SITELINKS_FOLLOWED
from crawler.engines.common import is_click_url

SERP = Path(__file__).parent / "fixtures" / "serp"
SCAM = "https://www.windows-storing-hulp.example"
SHOP = "https://www.pc-storingsdienst.example"


def parse(kind: str, case: str):
    folder = SERP / kind / case
    url = json.loads((folder / "meta.json").read_text())["url"]  # tests/golden.py
    return ENGINES[kind].parse(next(folder.glob("page.*")).read_bytes(), url)


@pytest.mark.parametrize(
    "kind,case",
    [("google", "sitelinks-nl"), ("bing", "sitelinks-nl"), ("duckduckgo", "sitelinks-ads-nl")],
)
def test_an_ads_sitelinks_are_decoded_without_a_click(kind, case):
    ad = next(r for r in parse(kind, case).results if r.is_ad)
    links = {s.title: s for s in ad.sitelinks if s.url}
    assert links["Contact"].landing_url == f"{SCAM}/contact"
    assert links["Hulp op afstand"].landing_url == f"{SCAM}/anydesk"
    for link in links.values():
        assert link.click_url and is_click_url(link.click_url), link  # kept, never requested
        assert not is_click_url(link.landing_url)


def test_a_number_in_an_ads_sitelink_row_is_its_call_extension():
    page = parse("google", "sitelinks-nl")
    ad = next(r for r in page.results if r.is_ad)
    [row] = [s for s in ad.sitelinks if not s.url]
    assert (row.title, row.phones) == ("Bel 085 303 1290", ["+31853031290"])
    [call] = page.listings
    assert (call.kind, call.phones, call.landing_url) == ("call", ["+31853031290"], ad.landing_url)


def test_organic_sitelinks_and_their_numbers_are_the_results():
    bing = next(r for r in parse("bing", "sitelinks-nl").results if r.rank == 1)
    assert [(s.title, s.landing_url, s.phones) for s in bing.sitelinks] == [
        ("Contact", f"{SHOP}/contact", ["+31852087777"]),
        ("Tarieven", f"{SHOP}/tarieven", []),  # through ck/a
    ]
    assert "+31852087777" in bing.phones  # the sitelink's number is the result's
    google = next(r for r in parse("google", "sitelinks-nl").results if r.rank == 1)
    assert [s.landing_url for s in google.sitelinks][:2] == [f"{SHOP}/contact", f"{SHOP}/tarieven"]
    followed = google.followed()
    assert len(google.sitelinks) == 5 and len(followed) == 1 + SITELINKS_FOLLOWED
    assert {(f.kind, f.rank) for f in followed} == {("organic", 1)}
    assert followed[1].title == "PC Storingsdienst | Windows en Outlook hulp › Contact"


CONTACT = (
    "<!DOCTYPE html><html><head><title>Contact | Microsoft Hulp Direct</title></head><body>"
    "<h1>Microsoft helpdesk</h1><p>Bel onze Microsoft helpdesk: 085 111 2222</p></body></html>"
)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    with EngineSim() as sim:
        sim.serve("google", {1: "sitelinks-nl"})
        sim.sites["www.windows-storing-hulp.example"] = {"/contact": CONTACT}
        proc, db = crawl(tmp_path_factory.mktemp("sitelinks"), sim, ["google"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return db, sim


def test_crawl_follows_sitelinks_as_their_result(crawled):
    db, sim = crawled
    paths = {(h["host"], h["path"]) for h in sim.site_hits()}
    scam, shop = "www.windows-storing-hulp.example", "www.pc-storingsdienst.example"
    assert {(scam, "/contact"), (scam, "/anydesk")} <= paths
    assert {(shop, p) for p in ("/contact", "/tarieven", "/over-ons", "/reviews")} <= paths
    assert (shop, "/vacatures") not in paths  # four sitelinks a result
    assert not [h for h in sim.site_hits() if h["host"] in CLICK_HOSTS]
    # The number only the ad's sitelink page shows is the ad's.
    [pair] = rows(db, "select * from site_numbers where phone = '+31851112222'")
    assert pair["is_ad"] == 1 and pair["rank"] == 1 and pair["flagged"]
    assert pair["url"] == f"{SCAM}/contact"
    [page] = rows(db, "select * from pages where url = ?", [f"{SCAM}/contact"])
    assert "› Contact" in page["appearances"] and page["is_ad"] == 1
