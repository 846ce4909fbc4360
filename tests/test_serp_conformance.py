"""Engine parsers against real result pages saved by other projects.

The pages live outside the project, in ``../shared/fixtures/serp/`` next to the
project root (or wherever ``SERPWATCH_SHARED_FIXTURES`` points); the tests are
skipped when that folder is absent. They assert the facts listed in the folder's
README and, for every page, what any result page must give: organic results
(and ads) whose landing URLs are absolute http(s) URLs off the engine's own click
tracking.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from serp_helpers import ads, is_tracking_url, organic

from crawler.engines import ENGINES, SerpPage

ROOT = Path(__file__).resolve().parents[1]


def shared_serp_dir() -> Path:
    configured = os.environ.get("SERPWATCH_SHARED_FIXTURES")
    base = Path(configured) if configured else ROOT.parent / "shared" / "fixtures"
    return base / "serp" if (base / "serp").is_dir() else base


SHARED = shared_serp_dir()
PAGES = sorted(SHARED.glob("*/*.html")) if SHARED.is_dir() else []
pytestmark = pytest.mark.skipif(not PAGES, reason=f"no shared SERP fixtures at {SHARED}")

# The request URL each capture was made for (the parsers read ranks and regions from it).
URLS = {
    "bing": "https://www.bing.com/search?q={q}",
    "duckduckgo": "https://html.duckduckgo.com/html/?q={q}",
    "google": "https://www.google.com/search?q={q}&gl=US",
}
QUERIES = {"hotels": "hotels+NYC", "hello": "Hello", "test-keyword": "test+keyword"}
# The hosts of each engine's own pages and click tracking.
ENGINE_HOSTS = {
    "bing": re.compile(r"(^|\.)bing\.com$"),
    "duckduckgo": re.compile(r"(^|\.)duckduckgo\.com$"),
    "google": re.compile(r"^((www|maps)\.)?google\.[a-z.]+$|(^|\.)googleadservices\.com$"),
}


def parse(relative: str) -> SerpPage:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{relative} not in {SHARED}")
    engine = path.parent.name
    query = next((q for k, q in QUERIES.items() if path.stem.startswith(k)), "x")
    return ENGINES[engine].parse(path.read_bytes(), URLS[engine].format(q=query))


@pytest.mark.parametrize("path", PAGES, ids=[f"{p.parent.name}/{p.name}" for p in PAGES])
def test_every_page_has_organic_results_with_real_landing_urls(path: Path) -> None:
    page = parse(f"{path.parent.name}/{path.name}")
    assert page.blocked is None
    assert organic(page), "no organic results"
    for result in organic(page):
        parts = urlsplit(result.landing_url)
        assert parts.scheme in ("http", "https") and parts.netloc, result.landing_url
        assert not ENGINE_HOSTS[path.parent.name].search(parts.hostname), result.landing_url
        assert not is_tracking_url(result.landing_url), result.landing_url
        assert result.title
    assert [r.rank for r in organic(page)] == list(range(1, len(organic(page)) + 1))
    for ad in ads(page):
        # an ad's landing page is unwrapped from Bing's and DuckDuckGo's click
        # tracking; only Google's aclk that hides its target stays as it is
        assert urlsplit(ad.landing_url).scheme in ("http", "https"), ad.landing_url
        assert not is_tracking_url(ad.landing_url), ad.landing_url
        assert ad.title


def test_duckduckgo_hello_has_28_direct_organic_results() -> None:
    page = parse("duckduckgo/hello-html.html")
    assert len(organic(page)) == 28
    assert ads(page) == []
    assert all(r.url == r.landing_url for r in organic(page))  # direct links in this capture
    assert organic(page)[0].landing_url == "https://www.merriam-webster.com/dictionary/hello"
    assert page.next_url and "s=28" in page.next_url


def test_duckduckgo_page3_has_one_ad_unwrapped_from_y_js() -> None:
    page = parse("duckduckgo/test-keyword-page3-ads.html")
    assert len(ads(page)) == 1
    ad = ads(page)[0]
    assert urlsplit(ad.url).path == "/y.js"
    assert urlsplit(ad.landing_url).hostname == "www.seoprofiler.com"
    assert ad.ad_position == 1 and ad.rank is None
    assert len(organic(page)) > 20


def test_google_desktop_first_top_ad_is_booking() -> None:
    page = parse("google/hotels-desktop.html")
    assert len(ads(page)) == 2
    first = ads(page)[0]
    assert first.ad_position == 1
    assert urlsplit(first.landing_url).hostname.endswith("booking.com")
    assert "Booking.com" in first.title
    # the ads come before the organic results on the page
    assert page.results.index(first) == 0


def test_google_nojs_ads_are_labelled_and_apart_from_organic() -> None:
    page = parse("google/hotels-nojs.html")
    raw = (SHARED / "google" / "hotels-nojs.html").read_text(encoding="utf-8")
    labels = len(re.findall(r">Ad<", raw))
    assert labels and len(ads(page)) == labels
    assert {urlsplit(a.url).path for a in ads(page)} == {"/aclk"}
    assert [a.display_url.split("/")[0] for a in ads(page)] == [
        "www.booking.com",
        "www.expedia.com",
        "www.priceline.com",
    ]
    assert not {r.landing_url for r in organic(page)} & {a.landing_url for a in ads(page)}
    assert organic(page)[0].url.startswith("/url?q=")


def _decode_aclick(url: str) -> str:
    value = parse_qs(urlsplit(url).query)["u"][0]
    return unquote(base64.b64decode(value + "=" * (-len(value) % 4)).decode())


def test_bing_nojs_ads_decoded_from_aclick() -> None:
    page = parse("bing/hotels-nojs.html")
    raw = (SHARED / "bing" / "hotels-nojs.html").read_text(encoding="utf-8")
    assert len(ads(page)) >= 2
    assert len(re.findall(r'<li class="b_ad[ "]', raw)) == 2  # the README's two ad blocks
    for ad in ads(page):
        assert urlsplit(ad.url).path == "/aclick"
        assert ad.landing_url == _decode_aclick(ad.url)
        assert not ENGINE_HOSTS["bing"].search(urlsplit(ad.landing_url).hostname)
    assert urlsplit(ads(page)[0].landing_url).hostname == "www.booking.com"
    assert [r.ad_position for r in ads(page)] == list(range(1, len(ads(page)) + 1))


def test_bing_organic_results_are_the_b_algo_items() -> None:
    for name, expected in (("bing/hotels-nojs.html", 4), ("bing/hello.html", 9)):
        page = parse(name)
        assert len(organic(page)) == expected, name
    hello = parse("bing/hello.html")
    assert organic(hello)[0].landing_url == "https://www.hellomagazine.com/"
    assert hello.next_url and "first=10" in hello.next_url


@pytest.mark.parametrize("path", PAGES, ids=[f"{p.parent.name}/{p.name}" for p in PAGES])
def test_every_real_ad_keeps_its_click_string_and_names_its_site_without_a_click(
    path: Path,
) -> None:
    """Issue 16: the advertiser's site is known without requesting any click URL, and
    the raw click string is kept (Google's desktop page holds it in `data-rw`)."""
    from crawler.engines.common import is_click_url

    page = parse(f"{path.parent.name}/{path.name}")
    assert page.unrecognised is None
    for ad in ads(page):
        assert ad.click_url and is_click_url(ad.click_url), ad
        assert ad.landing_from in ("link", "decoded", "display-url"), ad
        host = urlsplit(ad.landing_url).hostname
        assert host and not ENGINE_HOSTS[path.parent.name].search(host), ad.landing_url
        assert not is_click_url(ad.landing_url), ad.landing_url


def test_google_nojs_hidden_targets_come_from_the_display_urls() -> None:
    page = parse("google/hotels-nojs.html")
    assert [(a.landing_url, a.landing_from) for a in ads(page)] == [
        ("https://www.booking.com/", "display-url"),
        ("https://www.expedia.com/", "display-url"),
        ("https://www.priceline.com/", "display-url"),
    ]


# Issue 16: sitelinks under real results and ads, attributed to their parent.
SITELINKS = [
    # (page, kind of the parent, its title starts, the sitelinks' landing host, how many)
    ("google/hotels-desktop.html", "ad", "Hotels in New York", "www.booking.com", 4),
    ("google/hotels-desktop.html", "organic", "Top Hotels in New York", "www.expedia.com", 4),
    ("bing/hello.html", "organic", "HELLO!", "www.hellomagazine.com", 8),
    ("bing/hotels-nojs.html", "ad", "780 Hoteles", "www.booking.com", 5),
    ("duckduckgo/test-keyword-page3-ads.html", "ad", "Find The Best Keywords", None, 3),
]


@pytest.mark.parametrize("case", SITELINKS, ids=[f"{c[0]}:{c[1]}" for c in SITELINKS])
def test_real_sitelinks_belong_to_their_result(case) -> None:
    """Each sitelink is its parent's: decoded without a click like the parent's
    link, and followed as the parent (same kind and position, its own URL)."""
    relative, kind, title, host, count = case
    page = parse(relative)
    parent = next(r for r in page.results if r.kind == kind and r.title.startswith(title))
    links = [s for s in parent.sitelinks if s.url]
    assert len(links) == count, [s.title for s in parent.sitelinks]
    for link in links:
        assert link.title and link.landing_url.startswith(("http://", "https://")), link
        if host:
            assert urlsplit(link.landing_url).hostname == host, link.landing_url
        if kind == "ad":
            assert link.click_url and link.landing_from in ("link", "decoded"), link
    followed = parent.followed()
    assert followed[0] is parent and len(followed) == 1 + min(count, 4)
    for child in followed[1:]:
        assert (child.kind, child.rank, child.ad_position) == (
            parent.kind,
            parent.rank,
            parent.ad_position,
        )
        assert child.title.startswith(parent.title + " › ") and not child.sitelinks
