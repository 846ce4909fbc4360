"""Bounds in isolation: decompression bombs, downloads, nesting, budgets, Retry-After, settings."""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from pathlib import Path

import brotli
import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from servers.units import make_crawler

from crawler.config import Engine
from crawler.landing import LANDING_META, LandingContext
from crawler.net.limits import (
    download_kind,
    heals,
    nesting_depth,
    retry_after_seconds,
    url_download_kind,
)
from crawler.net.middlewares import (
    CrawlBudgetMiddleware,
    DecompressionMiddleware,
    DownloadOfferMiddleware,
    HostilePageMiddleware,
    RetryAfterMiddleware,
)
from crawler.net.netguard import RefusedRequest
from crawler.paging import SERP_QUERY_META, SerpQuery
from crawler.run_recorder import RunRecorder

try:
    from compression import zstd
except ImportError:  # Python < 3.14
    from backports import zstd

FIXTURES = Path(__file__).parent / "fixtures"
BOMB = b"<html><body>" + b" " * (24 * 1024 * 1024) + b"</body></html>"
ENCODERS = {
    "gzip": lambda b: gzip.compress(b, 1),
    "deflate": lambda b: zlib.compress(b, 1),
    "br": lambda b: brotli.compress(b, quality=4),
    "zstd": zstd.compress,
    "gzip, gzip": lambda b: gzip.compress(gzip.compress(b, 1), 9),
}


@pytest.fixture(scope="module")
def bombs():
    return {name: encode(BOMB) for name, encode in ENCODERS.items()}


@pytest.mark.parametrize("encoding", ENCODERS)
def test_decompression_bombs_are_refused_by_their_decompressed_size(bombs, encoding):
    crawler = make_crawler()
    mw = DecompressionMiddleware.from_crawler(crawler)
    body = bombs[encoding]
    assert len(body) < crawler.settings.getint("DOWNLOAD_MAXSIZE") // 8  # small on the wire
    response = Response("http://scam.example/", body=body, headers={"Content-Encoding": encoding})
    with pytest.raises(RefusedRequest, match="decompressed"):
        mw.process_response(Request("http://scam.example/"), response)
    assert crawler.stats.get_value("serpwatch/refused/decompressed_too_large") == 1


def test_a_normal_compressed_page_is_decoded():
    mw = DecompressionMiddleware.from_crawler(make_crawler())
    page = b"<html><body>Bel 085 208 1234</body></html>"
    response = HtmlResponse(
        "http://ok.example/", body=gzip.compress(page), headers={"Content-Encoding": "gzip"}
    )
    assert mw.process_response(Request("http://ok.example/"), response).body == page


def test_settings_keep_every_bound_tight():
    s = make_crawler().settings
    assert 0 < s.getfloat("DOWNLOAD_TIMEOUT") <= 30
    assert 0 < s.getfloat("DNS_TIMEOUT") <= 15
    assert 0 < s.getint("DOWNLOAD_MAXSIZE") <= 16 * 1024 * 1024
    assert 0 < s.getint("REDIRECT_MAX_TIMES") <= 10
    assert 0 <= s.getint("RETRY_TIMES") <= 3
    assert s.getbool("DOWNLOAD_FAIL_ON_DATALOSS")
    assert 0 < s.getint("SERPWATCH_MAX_PAGES_PER_SITE") <= 100
    assert 0 < s.getint("SERPWATCH_MAX_QUERIES")
    assert 0 < s.getint("SERPWATCH_MAX_NESTING") <= 4096
    assert not s.getbool("SERPWATCH_ALLOW_PRIVATE")
    assert not s.getbool("REMOTE_CONTROL_ENABLED") and not s.getbool("TELNETCONSOLE_ENABLED")


@pytest.mark.parametrize(
    "url, headers, head, kind",
    [
        ("http://x.example/AnyDesk.exe", {}, b"", "executable"),
        ("http://x.example/dl/TeamViewer_Setup.MSI?v=2", {}, b"", "executable"),
        ("http://x.example/fix.ps1", {}, b"", "executable"),
        ("http://x.example/update.apk", {}, b"", "executable"),
        ("http://x.example/tools.zip", {}, b"", "archive"),
        ("http://x.example/backup.tar.gz", {}, b"", "archive"),
        ("http://x.example/d", {"Content-Type": "application/x-msdownload"}, b"", "executable"),
        ("http://x.example/d", {"Content-Type": "application/octet-stream"}, b"", "binary"),
        ("http://x.example/a.exe", {"Content-Type": "application/octet-stream"}, b"", "executable"),
        ("http://x.example/d", {"Content-Type": "application/zip; x=y"}, b"", "archive"),
        (
            "http://x.example/d",
            {"Content-Type": "text/html", "Content-Disposition": 'attachment; filename="a.exe"'},
            b"",
            "executable",
        ),
        ("http://x.example/", {"Content-Type": "text/html"}, b"MZ\x90\x00\x03\x00", "executable"),
        ("http://x.example/", {"Content-Type": "text/html"}, b"\x7fELF\x02\x01", "executable"),
        ("http://x.example/", {"Content-Type": "text/html"}, b"PK\x03\x04\x14\x00", "archive"),
        ("http://x.example/", {"Content-Type": "text/html"}, b"Rar!\x1a\x07\x01", "archive"),
        ("http://x.example/", {"Content-Type": "text/html"}, b"\x1f\x8b\x08\x00", "archive"),
    ],
)
def test_executables_and_archives_are_recognised(url, headers, head, kind):
    found = download_kind(url, headers, head)
    assert found and found[0] == kind


@pytest.mark.parametrize(
    "url, headers, head",
    [
        ("http://x.example/contact.html", {"Content-Type": "text/html"}, b"<!DOCTYPE html>"),
        ("http://x.example/", {"Content-Type": "text/html"}, b"MZ helpdesk: bel ons"),
        ("http://x.example/", {"Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00"),  # a gzip page
        ("http://x.example/www.exe.nl/contact", {}, b""),
        ("http://x.example/", {"Content-Type": "application/pdf"}, b"%PDF-1.7"),
    ],
)
def test_ordinary_pages_are_not_downloads(url, headers, head):
    assert download_kind(url, headers, head) is None


def test_a_download_link_is_never_requested_and_is_recorded():
    crawler = make_crawler()
    mw = DownloadOfferMiddleware.from_crawler(crawler)
    ctx = LandingContext(
        engine="bing",
        engines=("bing",),
        appearances=(),
        query="q",
        brand="Microsoft",
        is_ad=True,
        rank=None,
        ad_position=1,
        serp_url="https://www.bing.com/search?q=q",
        entry_url="http://scam.example/download",
    )
    request = Request("http://scam.example/AnyDesk.exe", meta={LANDING_META: ctx})
    with pytest.raises(RefusedRequest, match="offered a download"):
        mw.process_request(request)
    # Sent to the run's recorder (crawler/run_recorder.py) as a typed record.
    (offer,) = RunRecorder.of(crawler).offers
    assert offer.kind == "executable" and offer.is_ad and offer.domain == "scam.example"
    assert offer.entry_url == "http://scam.example/download" and offer.query == "q"
    assert crawler.stats.get_value("serpwatch/offered_downloads") == 1
    assert url_download_kind("http://scam.example/AnyDesk.exe")


def _deep(n: int) -> bytes:
    return b"<html><body>" + b"<div>" * n + b"Bel 085 208 1234" + b"</div>" * n


def test_nesting_depth_catches_deep_pages_fast():
    t = time.perf_counter()
    assert nesting_depth(_deep(200_000), 1024) > 1024
    assert time.perf_counter() - t < 1.0


def test_nesting_depth_scan_of_a_big_flat_page_is_bounded():
    page = b"<p>hello <b>x</b> <a href='/'>y</a> <span>z</span></p>\n" * 150_000  # 8 MB
    t = time.perf_counter()
    assert nesting_depth(page, 1024) < 10
    assert time.perf_counter() - t < 10  # about 1 s; generous for slow CI


@pytest.mark.parametrize(
    "page",
    [
        b"<ul>" + b"<li><p>item <span>x" * 5000,  # unclosed, as sloppy pages are
        b"<div><span>x</div>" * 5000,
        b"<table><tr><td>x<td>y<tr><td>z</table>" * 5000,
        b"<script>" + b"var s='<div>';" * 5000 + b"</script><p>ok",
    ],
    ids=["unclosed-li-p", "unclosed-span", "implied-table", "divs-in-script"],
)
def test_sloppy_but_ordinary_pages_are_not_deep(page):
    assert nesting_depth(page, 1024) <= 1024


def test_real_fixture_pages_are_shallow():
    pages = list(FIXTURES.rglob("*.html"))
    assert pages
    for page in pages:
        assert nesting_depth(page.read_bytes(), 1024) <= 1024, page


def test_deeply_nested_page_is_refused_and_counted():
    crawler = make_crawler()
    mw = HostilePageMiddleware.from_crawler(crawler)
    response = HtmlResponse("http://scam.example/", body=_deep(50_000))
    with pytest.raises(RefusedRequest, match="nested"):
        mw.process_response(Request(response.url), response)
    assert crawler.stats.get_value("serpwatch/refused/too_deep") == 1


def test_pages_per_site_are_capped_per_registrable_domain():
    crawler = make_crawler(SERPWATCH_MAX_PAGES_PER_SITE=3)
    mw = CrawlBudgetMiddleware.from_crawler(crawler)
    for url in ("http://a.scam.nl/1", "http://b.scam.nl/2", "http://scam.nl/3"):
        assert mw.process_request(Request(url)) is None
    # Retries of an admitted request do not count; a fourth page does.
    assert mw.process_request(Request("http://scam.nl/3", meta={"retry_times": 1})) is None
    with pytest.raises(RefusedRequest, match="SERPWATCH_MAX_PAGES_PER_SITE"):
        mw.process_request(Request("http://www.scam.nl/4"))
    assert mw.process_request(Request("http://other.nl/")) is None
    assert crawler.stats.get_value("serpwatch/refused/site_budget") == 1


def test_queries_per_run_are_capped_but_pages_of_a_query_are_not():
    engine = Engine("bing", "http://127.0.0.1:8888/search")
    crawler = make_crawler(engines=[engine], SERPWATCH_MAX_QUERIES=2)
    mw = CrawlBudgetMiddleware.from_crawler(crawler)

    def serp(query, page=1):
        return Request(
            f"http://127.0.0.1:8888/search?q={query}&p={page}",
            meta={
                "serpwatch_trusted": True,
                SERP_QUERY_META: SerpQuery(engine.kind, query, page),
            },
        )

    assert mw.process_request(serp("a")) is None
    assert mw.process_request(serp("b")) is None
    assert mw.process_request(serp("a", page=2)) is None
    with pytest.raises(RefusedRequest, match="SERPWATCH_MAX_QUERIES"):
        mw.process_request(serp("c"))
    assert crawler.stats.get_value("serpwatch/refused/query_budget") == 1


@pytest.mark.parametrize(
    "value, seconds",
    [("1", 1.0), (b" 120 ", 120.0), ("0", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_values(value, seconds):
    assert retry_after_seconds(value) == seconds


def test_retry_after_http_date():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_an_engine_error_answer_heals_only_when_scrapy_would_retry_it():
    codes = ["500", "503"]  # as `-s RETRY_HTTP_CODES=500,503` gives them
    assert heals(503, codes) and not heals(502, codes) and not heals(404, codes)
    assert not heals(429, [429])  # an engine's 429 is a block


def _retry_mw(**settings):
    crawler = make_crawler(**settings)
    crawler.spider.crawler = crawler  # get_retry_request reads spider.crawler
    return crawler, RetryAfterMiddleware.from_crawler(crawler)


def test_retry_after_beyond_the_cap_is_not_retried():
    crawler, mw = _retry_mw(SERPWATCH_RETRY_AFTER_MAX=30)
    response = Response("http://x.example/", status=429, headers={"Retry-After": "3600"})
    out = asyncio.run(mw.process_response(Request("http://x.example/"), response))
    assert out is response
    assert crawler.stats.get_value("serpwatch/retry_after/too_long") == 1


def test_retry_after_within_the_cap_gives_a_retry():
    crawler, mw = _retry_mw()
    response = Response("http://x.example/", status=503, headers={"Retry-After": "0"})
    out = asyncio.run(mw.process_response(Request("http://x.example/"), response))
    assert isinstance(out, Request) and out.meta["retry_times"] == 1
