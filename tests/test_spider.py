"""The search spider in isolation: its requests, pagination, blocks and merging.

The spider is built with `get_crawler` + `from_crawler` and fed the golden
fixture pages as responses; nothing touches the network. The same behaviour
through the real CLI and a local server: tests/test_crawl_engines.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from golden import page_file, serp_input
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError as TxConnectionRefused
from twisted.python.failure import Failure

from crawler import settings as project_settings
from crawler.config import ConfigError, load_profile
from crawler.items import PageItem, QueryOutcome, SerpItem
from crawler.landing import LANDING_META, LandingContext
from crawler.merge import Showing
from crawler.net.netguard import RefusedRequest
from crawler.paging import SERP_QUERY_META, SerpQuery
from spiders.search import SearchSpider, merge_key

FIXTURES = Path(__file__).parent / "fixtures" / "serp"

BRANDS = """
[[brands]]
name = "Microsoft"
keywords = ["microsoft"]
domains = ["microsoft.com"]
phones = ["+31 20 500 1005"]
"""


def profile_file(tmp_path, engines: str, *, results: int = 5, extra=("q one", "q two")):
    (tmp_path / "brands.toml").write_text(BRANDS)
    queries = ", ".join(f'"{q}"' for q in extra)
    (tmp_path / "p.toml").write_text(
        f'name = "t"\nbrands = "brands.toml"\nresults_per_query = {results}\n'
        f"{engines}\n[queries]\nextra = [{queries}]\n"
    )
    return tmp_path / "p.toml"


def make_spider(tmp_path, engines='[[engines]]\nkind = "bing"\n', **kwargs):
    settings = kwargs.pop("settings", {})
    profile = load_profile(profile_file(tmp_path, engines, **kwargs))
    base = {k: getattr(project_settings, k) for k in dir(project_settings) if k.isupper()}
    crawler = get_crawler(SearchSpider, {**base, **settings})
    # A real crawl creates the spider before it freezes the settings.
    crawler.settings = crawler.settings.copy()
    crawler.settings.frozen = False
    spider = SearchSpider.from_crawler(crawler, profile=profile)
    spider._sleeps = []

    async def fake_sleep(seconds):
        spider._sleeps.append(seconds)

    spider._sleep = fake_sleep
    return spider


def collect(output):
    """Everything a callback yields (async generator or plain iterable)."""
    if hasattr(output, "__aiter__"):

        async def run():
            return [x async for x in output]

        return asyncio.run(run())
    return list(output or [])


def start(spider):
    return collect(spider.start())


def answer(request, kind: str, case: str, *, status=None, headers=None):
    """The fixture page `case` as the response to `request`."""
    folder = FIXTURES / kind / case
    page = page_file(folder)
    if status is None:
        status = serp_input(folder)[2]
    cls = TextResponse if page.suffix == ".json" else HtmlResponse
    return cls(
        url=request.url,
        body=page.read_bytes(),
        status=status,
        headers=headers or {},
        request=request,
        encoding="utf-8",
    )


def feed(spider, request, kind, case, **kwargs):
    response = answer(request, kind, case, **kwargs)
    return collect(request.callback(response, **request.cb_kwargs))


def outcomes(out):
    """How each query went (crawler.items.QueryOutcome): (query, outcome)."""
    return [(x.query, x.outcome) for x in out if isinstance(x, QueryOutcome)]


def rest(out):
    """Everything but the query outcomes."""
    return [x for x in out if not isinstance(x, QueryOutcome)]


def split(out):
    # Results and ads; local and call cards (issue 16) are checked on their own.
    serp = [x for x in out if isinstance(x, SerpItem) and x.kind in ("organic", "ad")]
    engine = [x for x in out if hasattr(x, "callback") and x.callback.__name__ == "parse_serp"]
    landing = [x for x in out if hasattr(x, "callback") and x.callback.__name__ == "parse_page"]
    return serp, engine, landing


# -- configuration ---------------------------------------------------------------


def test_merge_key_ignores_click_ids_and_parameter_order():
    assert merge_key("https://a.example/x?utm_source=bing&b=2&a=1&gclid=Z#top") == merge_key(
        "https://a.example/x?a=1&b=2&msclkid=9"
    )
    assert merge_key("https://a.example/x?src=ddg") != merge_key("https://a.example/x?src=g")
    assert merge_key("http://a.example/x") != merge_key("https://a.example/x")


def test_each_engine_gets_its_own_slot_delay_and_one_request_at_a_time(tmp_path):
    spider = make_spider(
        tmp_path,
        '[[engines]]\nkind = "google"\n[[engines]]\nkind = "bing"\ndelay = 0.5\n'
        '[[engines]]\nkind = "searxng"\nurl = "http://127.0.0.1:8888/search"\n'
        '[[engines]]\nkind = "searxng"\nurl = "http://127.0.0.1:8889/search"\n',
    )
    slots = spider.crawler.settings.getdict("DOWNLOAD_SLOTS")
    defaults = project_settings.SERPWATCH_ENGINE_DELAYS
    assert list(spider.engines) == ["google", "bing", "searxng", "searxng-2"]
    assert slots["engine:google"] == {"concurrency": 1, "delay": defaults["google"]}
    assert slots["engine:bing"] == {"concurrency": 1, "delay": 0.5}
    assert slots["engine:searxng-2"]["delay"] == defaults["searxng"]
    assert defaults["google"] >= 5 and defaults["bing"] >= 2  # polite by default


def test_delay_setting_overrides_profile_and_operator_slots_win(tmp_path):
    spider = make_spider(
        tmp_path,
        '[[engines]]\nkind = "bing"\ndelay = 9\n[[engines]]\nkind = "duckduckgo"\n',
        settings={
            "SERPWATCH_ENGINE_DELAY": "0",
            "SERPWATCH_ENGINE_CONCURRENCY": 2,
            "DOWNLOAD_SLOTS": {"engine:duckduckgo": {"delay": 7.0}},
        },
    )
    slots = spider.crawler.settings.getdict("DOWNLOAD_SLOTS")
    assert slots["engine:bing"] == {"concurrency": 2, "delay": 0.0}
    assert slots["engine:duckduckgo"] == {"concurrency": 2, "delay": 7.0}
    assert len(start(spider)) == 4  # two lanes per engine


@pytest.mark.parametrize("value", ["-1", '"2"', "true"])
def test_engine_delay_must_be_seconds(tmp_path, value):
    path = profile_file(tmp_path, f'[[engines]]\nkind = "bing"\ndelay = {value}\n')
    with pytest.raises(ConfigError) as exc:
        load_profile(path)
    assert "engines[0].delay" in str(exc.value) and "p.toml:6" in str(exc.value)


def test_engine_requests_are_paced_never_retried_and_see_every_status(tmp_path):
    spider = make_spider(tmp_path)
    (request,) = start(spider)
    assert request.meta["download_slot"] == "engine:bing"
    assert request.meta["dont_retry"] is True
    assert request.meta["autothrottle_dont_adjust_delay"] is True
    assert {403, 429, 503} <= set(request.meta["handle_httpstatus_list"])
    assert request.meta["serpwatch_trusted"] is True
    assert request.headers[b"User-Agent"].startswith(b"Mozilla/5.0")
    assert request.headers[b"Sec-Fetch-Mode"] == b"navigate"
    assert request.cb_kwargs["query"] == "q one" and request.cb_kwargs["engine"] == "bing"
    # What the query budget (crawler.middlewares.CrawlBudgetMiddleware) reads.
    assert request.meta[SERP_QUERY_META] == SerpQuery("bing", "q one", 1)
    assert spider.crawler.stats.get_value("serpwatch/engines") == ["bing"]


# -- pagination ------------------------------------------------------------------


def test_pagination_continues_ranks_until_results_per_query(tmp_path):
    spider = make_spider(tmp_path, results=5, extra=("q one",))
    (page1,) = start(spider)
    serp, engine, landing = split(feed(spider, page1, "bing", "ads-helpdesk-nl"))
    assert [s.rank for s in serp if not s.is_ad] == [1, 2, 3]
    assert [s.ad_position for s in serp if s.is_ad] == [1, 2, 3]
    assert not landing  # the query is not done yet
    (page2,) = engine
    assert page2.cb_kwargs["page"] == 2
    assert page2.meta[SERP_QUERY_META].page == 2
    # The page's next link points at www.bing.com, not the configured endpoint.
    assert "first=11" in page2.url and page2.url.startswith("https://www.bing.com/search")
    assert page2.headers[b"Referer"].decode() == page1.url

    serp, engine, landing = split(feed(spider, page2, "bing", "organic-page2"))
    assert [s.rank for s in serp] == [4, 5, 6] and {s.page for s in serp} == {2}
    assert not engine  # 5 organic results reached: no page 3, no next query
    followed = {r.meta[LANDING_META].rank for r in landing if not r.meta[LANDING_META].is_ad}
    assert followed == {1, 2, 3, 4, 5}
    # Three ads, and the first ad's sitelink ("Outlook herstellen"), followed as that ad.
    ads = [r.meta[LANDING_META] for r in landing if r.meta[LANDING_META].is_ad]
    assert sorted(c.ad_position for c in ads) == [1, 1, 2, 3]
    [sitelink] = [c for c in ads if "›" in c.appearances[0].title]
    assert sitelink.appearances[0].title.endswith("› Outlook herstellen")


def test_next_link_on_the_configured_endpoint_is_followed_as_is(tmp_path):
    spider = make_spider(
        tmp_path,
        '[[engines]]\nkind = "searxng"\nurl = "http://127.0.0.1:8888/search"\n',
        extra=("q one",),
    )
    (page1,) = start(spider)
    _, (page2,), _ = split(feed(spider, page1, "searxng", "organic-nl"))
    assert page2.url.startswith("http://127.0.0.1:8888/search?") and "pageno=2" in page2.url
    # An empty page 2 ends the query: its landing pages go out.
    serp, engine, landing = split(feed(spider, page2, "searxng", "no-results"))
    assert not serp and not engine and len(landing) == 4


def test_a_page_without_new_results_ends_the_query(tmp_path):
    spider = make_spider(tmp_path, results=50, extra=("q one", "q two"))
    (page1,) = start(spider)
    _, (page2,), _ = split(feed(spider, page1, "bing", "ads-helpdesk-nl"))
    # The engine serves the same page again: nothing new, so no page 3.
    serp, engine, landing = split(feed(spider, page2, "bing", "ads-helpdesk-nl"))
    assert [s.rank for s in serp if not s.is_ad] == [4, 5, 6]
    assert [r.cb_kwargs["query"] for r in engine] == ["q two"]  # the next query
    assert len(landing) == 7  # 3 results + 3 ads + the first ad's sitelink, each once


# -- blocks ----------------------------------------------------------------------


def test_a_block_drops_the_engine_for_the_run_and_is_not_no_results(tmp_path):
    spider = make_spider(tmp_path, extra=("q one", "q two", "q three"))
    (request,) = start(spider)
    out = feed(spider, request, "bing", "captcha")
    assert rest(out) == []  # no results stored, no further queries
    # The asked query and the two dropped ones are recorded blocked: history trusts none.
    assert {o for _, o in outcomes(out)} == {"blocked"} and len(outcomes(out)) == 3
    stats = spider.crawler.stats
    assert stats.get_value("serpwatch/blocked/bing") == 1
    assert "challenge" in stats.get_value("serpwatch/blocked_reason/bing")
    assert stats.get_value("serpwatch/queries_dropped/bing") == 2
    assert not stats.get_value("serpwatch/results/bing")
    assert spider.engines["bing"].blocked


def test_a_429_with_a_short_retry_after_is_asked_once_more_after_the_wait(tmp_path):
    spider = make_spider(tmp_path, extra=("q one", "q two"))
    (request,) = start(spider)
    out = feed(spider, request, "bing", "rate-limited-429", headers={"Retry-After": "3"})
    (retry,) = rest(out)
    assert not outcomes(out)  # the query is not over: asked once more
    assert spider._sleeps and 2 < spider._sleeps[0] <= 3
    assert retry.url == request.url and retry.meta["serpwatch_backoff"] == 3
    assert spider.crawler.stats.get_value("serpwatch/backoff/bing") == 1
    assert not spider.engines["bing"].blocked
    # Blocked again: now the engine is out for the run.
    out = feed(spider, retry, "bing", "rate-limited-429", headers={"Retry-After": "3"})
    assert rest(out) == []
    reason = spider.crawler.stats.get_value("serpwatch/blocked_reason/bing")
    assert "429" in reason and "again after waiting 3 s" in reason


def test_a_retry_after_longer_than_the_cap_blocks_at_once(tmp_path):
    spider = make_spider(tmp_path, settings={"SERPWATCH_RETRY_AFTER_MAX": 30})
    (request,) = start(spider)
    out = feed(spider, request, "bing", "rate-limited-429", headers={"Retry-After": "3600"})
    assert rest(out) == [] and spider._sleeps == []
    assert "Retry-After 3600 s" in spider.crawler.stats.get_value("serpwatch/blocked_reason/bing")


def test_a_blocked_engine_releases_the_queries_the_others_finished(tmp_path):
    spider = make_spider(
        tmp_path,
        '[[engines]]\nkind = "bing"\n[[engines]]\nkind = "duckduckgo"\n',
        extra=("q one", "q two"),
    )
    bing, ddg = start(spider)
    serp, engine, landing = split(feed(spider, bing, "bing", "no-results"))
    assert not landing and [r.cb_kwargs["query"] for r in engine] == ["q two"]
    # DuckDuckGo blocks: q one is released with bing's (empty) results; q two waits
    # only for bing now.
    assert rest(feed(spider, ddg, "duckduckgo", "anomaly-202")) == []
    assert "202" in spider.crawler.stats.get_value("serpwatch/blocked_reason/duckduckgo")
    assert spider.merges[1].waiting == {"bing"}


def test_no_answer_is_tried_once_more_then_the_engine_moves_on(tmp_path):
    spider = make_spider(tmp_path, extra=("q one", "q two"))
    (request,) = start(spider)
    failure = Failure(TxConnectionRefused("refused"))
    failure.request = request
    (retry,) = spider.serp_failed(failure)
    assert retry.meta["retry_times"] == 1
    failure.request = retry
    out = spider.serp_failed(failure)
    (following,) = rest(out)
    assert outcomes(out) == [("q one", "failed")]
    assert following.cb_kwargs["query"] == "q two"
    assert spider.crawler.stats.get_value("serpwatch/serp_failed/bing") == 1
    refused = Failure(RefusedRequest(following.url, "budget", stat="query_budget"))
    refused.request = following
    out = spider.serp_failed(refused)
    assert rest(out) == []  # refused requests are not retried
    assert outcomes(out) == [("q two", "skipped")]  # the run's budget, not the engine


# -- merging ---------------------------------------------------------------------


def test_the_same_landing_page_from_several_engines_is_requested_once(tmp_path):
    spider = make_spider(
        tmp_path,
        '[[engines]]\nkind = "searxng"\nurl = "http://127.0.0.1:8888/search"\n'
        '[[engines]]\nkind = "bing"\n[[engines]]\nkind = "google"\n',
        results=4,
        extra=("q one",),
    )
    searxng, bing, google = start(spider)
    assert split(feed(spider, searxng, "searxng", "organic-nl"))[2] == []
    _, (bing2,), _ = split(feed(spider, bing, "bing", "ads-helpdesk-nl"))
    assert split(feed(spider, google, "google", "desktop-ads-nl"))[2] == []
    _, _, landing = split(feed(spider, bing2, "bing", "no-results"))
    by_url = {r.url: r.meta[LANDING_META] for r in landing}
    assert len(by_url) == len(landing)
    official = by_url["https://support.microsoft.com/nl-nl/contactus"]
    assert official.engines == ("searxng", "bing", "google")
    assert official.engine == "searxng" and official.rank == 1
    assert len(official.appearances) == 3
    # Ads and results that differ only in click ids are one page; the ad leads.
    on_scam = [c for u, c in by_url.items() if "microsoft-hulpdesk.example" in u]
    scam = [c for c in on_scam if not any("›" in a.title for a in c.appearances)]
    assert len(scam) == 1
    # The ads' sitelinks (Bing's "Outlook herstellen", Google's "Tarieven"): pages of
    # their own, each followed as its ad.
    assert sorted((c.engine, c.is_ad) for c in on_scam if c not in scam) == [
        ("bing", True),
        ("google", True),
    ]
    assert scam[0].is_ad and scam[0].engine == "bing" and scam[0].ad_position == 1
    assert scam[0].engines == ("searxng", "bing", "google")
    assert scam[0].entry_url.startswith("https://microsoft-hulpdesk.example/nl/?utm_source=bing")
    request = next(r for r in landing if "microsoft-hulpdesk" in r.url)
    assert request.headers[b"Referer"].decode() == bing.url
    assert request.headers[b"Sec-Fetch-Site"] == b"cross-site"
    assert "download_slot" not in request.meta  # AutoThrottle paces it
    assert spider.crawler.stats.get_value("serpwatch/landing_pages") == len(landing)


def test_ads_are_never_clicked_by_default(tmp_path):
    """click_ads = false: the ad whose click URL hides its target is visited on
    the site its display URL names; no request goes to a click URL."""
    spider = make_spider(tmp_path, '[[engines]]\nkind = "google"\n', extra=("q one",))
    (request,) = start(spider)
    _, (page2,), _ = split(feed(spider, request, "google", "nojs-ads-nl"))
    _, _, landing = split(feed(spider, page2, "google", "no-results"))
    assert not [r for r in landing if "/aclk" in r.url]
    hidden = next(r for r in landing if r.url == "https://www.hotmail-herstel.example/")
    ctx = hidden.meta[LANDING_META]
    assert ctx.reached_via == "display-url" and "/aclk" in ctx.click_url
    decoded = next(r for r in landing if "klantenservice-nummers" in r.url)
    assert decoded.meta[LANDING_META].reached_via == "decoded"


def test_click_ads_follows_the_click_chain_paced_like_the_engine(tmp_path):
    engines = 'click_ads = true\n[[engines]]\nkind = "google"\n'
    spider = make_spider(tmp_path, engines, extra=("q one",))
    (request,) = start(spider)
    _, (page2,), _ = split(feed(spider, request, "google", "nojs-ads-nl"))
    _, _, landing = split(feed(spider, page2, "google", "no-results"))
    aclk = [r for r in landing if "/aclk" in r.url]
    assert len(aclk) == 2  # both ads, through Google's own click URL
    assert all(r.meta["download_slot"] == "engine:google" for r in aclk)
    assert {r.meta[LANDING_META].reached_via for r in aclk} == {"click"}


def test_page_items_carry_every_engine(tmp_path):
    spider = make_spider(tmp_path)
    showings = tuple(
        Showing(
            engine,
            False,
            1,
            None,
            f"https://{engine}/?q=q",
            "https://a.example/",
            "https://a.example/",
        )
        for engine in ("bing", "google")
    )
    ctx = LandingContext(
        engine="bing",
        engines=("bing", "google"),
        appearances=showings,
        query="q",
        brand=None,
        is_ad=False,
        rank=1,
        ad_position=None,
        serp_url="https://bing/?q=q",
        entry_url="https://a.example/",
    )
    request = Request("https://a.example/", meta={LANDING_META: ctx})
    response = HtmlResponse(request.url, body=b"<html>hi</html>", encoding="utf-8", request=request)
    (item,) = collect(spider.parse_page(response))
    assert isinstance(item, PageItem) and item.engines == ["bing", "google"]
    assert item.engine == "bing" and item.entry_url == "https://a.example/"
    assert [a["engine"] for a in item.appearances] == ["bing", "google"]
