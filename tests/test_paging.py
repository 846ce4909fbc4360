"""A query's result pages on one engine (crawler/paging.py) as tables, without Scrapy.

Through the spider with real result pages: tests/test_spider.py (pagination).
"""

from __future__ import annotations

import pytest

from crawler.engines.base import SerpResult
from crawler.items import SerpItem
from crawler.merge import Showing, merge_key
from crawler.paging import QueryProgress, same_endpoint


def organic(rank, url=None):
    url = url or f"https://site-{rank}.example/"
    return Showing("bing", False, rank, None, "https://serp/", url, url)


def ad(position, url="https://ad.example/"):
    return Showing("bing", True, None, position, "https://serp/", url, url)


def test_a_page_is_counted_and_its_new_results_followed_up_to_the_limit():
    progress = QueryProgress()
    page = [organic(1), ad(1), organic(2), organic(3, "mailto:x@y.example")]
    follow, new = progress.take_page(page, limit=2, follow_ads=True)
    # mailto: counts as a result but has no landing page to fetch; the limit is 2.
    assert follow == [organic(1), ad(1), organic(2)] and new == 3
    assert (progress.pages, progress.results, progress.found, progress.offset) == (1, 4, 3, 3)


def test_a_result_seen_on_an_earlier_page_is_not_new():
    progress = QueryProgress()
    progress.take_page([organic(1), organic(2)], limit=10, follow_ads=False)
    again = organic(3, "https://site-1.example/?utm_source=x")  # same page, a click id
    follow, new = progress.take_page([again, organic(4)], limit=10, follow_ads=False)
    assert follow == [organic(4)] and new == 1
    assert progress.found == 3 and progress.offset == 4  # ranks still continue


def test_ads_and_cards_follow_the_profile():
    card = Showing("google", False, None, None, "https://serp/", "https://c/", "https://c/")
    for follow_ads, expected in ((True, [card, ad(1)]), (False, [])):
        follow, new = QueryProgress().take_page([ad(1)], 5, follow_ads, cards=[card])
        assert follow == expected and new == 0


def test_organic_results_past_the_limit_are_counted_not_followed():
    progress = QueryProgress(found=5)
    follow, new = progress.take_page([organic(6)], limit=5, follow_ads=True)
    assert follow == [] and new == 1 and progress.found == 6


# (next link, new results, found, page, max pages) → ask the next page
NEXT = [
    pytest.param("https://n/", 3, 3, 1, 10, True, id="more-to-find"),
    pytest.param(None, 3, 3, 1, 10, False, id="no-next-link"),
    pytest.param("https://n/", 0, 3, 1, 10, False, id="nothing-new"),
    pytest.param("https://n/", 3, 5, 1, 10, False, id="limit-reached"),
    pytest.param("https://n/", 3, 3, 10, 10, False, id="max-pages"),
]


@pytest.mark.parametrize("next_url, new, found, page, max_pages, expected", NEXT)
def test_wants_next(next_url, new, found, page, max_pages, expected):
    assert QueryProgress(found=found).wants_next(next_url, new, 5, page, max_pages) is expected


def test_outcome_carries_what_was_read():
    progress = QueryProgress()
    progress.take_page([organic(1), ad(1)], 5, True)
    outcome = progress.outcome("bing", "Brand", "q", "blocked", "captcha")
    assert (outcome.serp_pages, outcome.results, outcome.outcome) == (1, 2, "blocked")
    assert (outcome.engine, outcome.brand, outcome.query, outcome.detail) == (
        "bing",
        "Brand",
        "q",
        "captcha",
    )


SAME = [
    ("https://www.bing.com/search?q=x&first=11", "https://www.bing.com/search", True),
    ("https://WWW.BING.COM/search/?q=x", "https://www.bing.com/search", True),
    ("http://www.bing.com/search?q=x", "https://www.bing.com/search", False),
    ("https://www.bing.com:8443/search", "https://www.bing.com/search", False),
    ("https://bing.com/search", "https://www.bing.com/search", False),
    ("https://www.bing.com/other", "https://www.bing.com/search", False),
]


@pytest.mark.parametrize("url, endpoint, expected", SAME)
def test_same_endpoint(url, endpoint, expected):
    assert same_endpoint(url, endpoint) is expected


def test_a_result_becomes_a_showing_and_a_stored_result():
    result = SerpResult(
        is_ad=True,
        title="T",
        url="https://e/aclk",
        landing_url="https://a.example/?gclid=1",
        ad_position=2,
        phones=["+31201234567"],
        click_url="https://e/aclk",
        landing_from="decoded",
        advertiser_name="A",
        advertiser_url="https://e/about",
    )
    shown = Showing.from_result("google", "https://serp/", result)
    assert shown.is_ad and shown.ad_position == 2 and shown.phones == ("+31201234567",)
    assert shown.landing_from == "decoded" and shown.kind == "ad"
    assert shown.key == merge_key("https://a.example/") == shown.key
    item = SerpItem.from_result(
        result, engine="google", query="q", brand=None, serp_url="s", page=3
    )
    assert item.advertiser_url == "https://e/about" and item.page == 3 and item.kind == "ad"
    assert item.phones == ["+31201234567"] and item.phones is not result.phones
