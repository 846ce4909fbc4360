"""The landing request's context (crawler/landing.py) as tables, and its trip through a queue.

Through the spider: tests/test_spider.py (merging, click_ads); through Redis with
real workers: tests/test_distributed.py.
"""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.utils.request import request_from_dict
from scrapy_redis import picklecompat

from crawler.landing import LANDING_META, LandingContext, header_text, landing_context
from crawler.merge import Showing, landing

ORDER = {"bing": 0, "google": 1}


def show(engine, position, *, ad=False, click="", via="", advertiser=""):
    return Showing(
        engine=engine,
        is_ad=ad,
        rank=None if ad else position,
        ad_position=position if ad else None,
        serp_url=f"https://serp/{engine}",
        url="https://a.example/",
        landing_url="https://a.example/",
        click_url=click,
        landing_from=via,
        advertiser_name=advertiser,
    )


AD = show("google", 1, ad=True, click="https://g/aclk?x", via="decoded", advertiser="A")
ORGANIC = show("bing", 2)

# (showings, click_ads) -> (entry_url, reached_via, engine, is_ad, click_url, advertiser)
CASES = [
    ([ORGANIC], False, ("https://a.example/", "link", "bing", False, "", "")),
    ([ORGANIC], True, ("https://a.example/", "link", "bing", False, "", "")),
    ([ORGANIC, AD], False, ("https://a.example/", "decoded", "google", True, AD.click_url, "A")),
    ([ORGANIC, AD], True, (AD.click_url, "click", "google", True, AD.click_url, "A")),
    ([AD], True, (AD.click_url, "click", "google", True, AD.click_url, "A")),
]


@pytest.mark.parametrize(("showings", "click_ads", "expected"), CASES)
def test_landing_context(showings, click_ads, expected):
    ctx = landing_context(landing(0, showings, ORDER), "Brand", "q", click_ads=click_ads)
    got = (ctx.entry_url, ctx.reached_via, ctx.engine, ctx.is_ad, ctx.click_url)
    assert (*got, ctx.advertiser_name) == expected
    assert ctx.query == "q" and ctx.brand == "Brand"
    assert ctx.appearances[0] == (AD if AD in showings else ORGANIC)  # strongest first


def test_page_fields_are_the_page_items_context():
    ctx = landing_context(landing(0, [ORGANIC, AD], ORDER), None, "q", click_ads=False)
    fields = ctx.page_fields()
    assert fields["engines"] == ["bing", "google"]
    assert fields["appearances"] == [AD.as_dict(), ORGANIC.as_dict()]
    assert [Showing.from_dict(a) for a in fields["appearances"]] == [AD, ORGANIC]
    assert set(fields) == set(LandingContext.__dataclass_fields__)


def test_the_context_survives_the_shared_queue():
    """scrapy-redis stores a request as request_to_dict, pickled (crawler/distributed.py)."""

    class Spider:
        def parse_page(self, response):  # pragma: no cover - only named
            return None

    spider = Spider()
    ctx = landing_context(landing(3, [ORGANIC, AD], ORDER), "Brand", "q", click_ads=True)
    request = Request(ctx.entry_url, callback=spider.parse_page, meta={LANDING_META: ctx})
    back = request_from_dict(
        picklecompat.loads(picklecompat.dumps(request.to_dict(spider=spider))), spider=spider
    )
    assert back.meta[LANDING_META] == ctx and back.url == ctx.entry_url
    assert back.callback == spider.parse_page


def test_header_text_joins_repeated_values():
    pairs = [(b"Set-Cookie", [b"a=1", b"b=2"]), (b"X-\xe9", [b"\xff"])]
    assert header_text(pairs) == {"Set-Cookie": "a=1, b=2", "X-\xe9": "\xff"}
