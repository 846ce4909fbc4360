"""A crawl of a broken and hostile web finishes, retries within bounds, stores no half page.

One crawl (allow_private = true: the fault server is on 127.0.0.1) follows a
result page whose every result misbehaves in its own way; the assertions
read the server's request log, the stored pages and the run's stats.
"""

from __future__ import annotations

import pytest
from servers.crawl import run_crawl
from servers.faultserver import FaultServer

RETRY_TIMES = 2  # crawler.settings
TIMEOUT = 4.0  # DOWNLOAD_TIMEOUT: hangs cost seconds, and a loaded CI machine still
# downloads and decompresses the bombs well within it

STORED = ["/ok/a", "/ok/b", "/ratelimit-once", "/charset-wrong", "/charset-unknown", "/large-3mb"]
# path → (at most this many requests, the failure stat that must be counted)
FAILING = {
    "/status/500": (3, "serpwatch/pages_failed/http_500"),
    "/status/404": (1, "serpwatch/pages_failed/http_404"),
    "/status/410": (1, "serpwatch/pages_failed/http_410"),
    "/status/502": (3, "serpwatch/pages_failed/http_502"),
    "/status/503": (3, "serpwatch/pages_failed/http_503"),
    "/status/504": (3, "serpwatch/pages_failed/http_504"),
    "/always-429": (3, "serpwatch/pages_failed/http_429"),
    "/retry-after-long": (1, "serpwatch/retry_after/too_long"),
    "/drop": (3, "retry/reason_count/scrapy.exceptions.DownloadFailedError"),
    "/partial": (3, "serpwatch/pages_failed/ResponseDataLossError"),
    "/hang-after-headers": (3, "serpwatch/pages_failed/DownloadTimeoutError"),
    "/hang": (3, "serpwatch/pages_failed/DownloadTimeoutError"),
    "/drip": (3, "serpwatch/pages_failed/DownloadTimeoutError"),
    "/redirect-loop": (9, "serpwatch/pages_failed/IgnoreRequest"),
    "/chunked-broken": (3, "serpwatch/pages_failed"),
    "/chunked-truncated": (3, "serpwatch/pages_failed/ResponseDataLossError"),
    "/big-10mb": (3, "serpwatch/pages_failed/DownloadCancelledError"),
    "/big-10mb-chunked": (3, "serpwatch/pages_failed"),
    "/nested": (1, "serpwatch/refused/too_deep"),
    "/bomb/gzip": (1, "serpwatch/refused/decompressed_too_large"),
    "/bomb/deflate": (1, "serpwatch/refused/decompressed_too_large"),
    "/bomb/br": (1, "serpwatch/refused/decompressed_too_large"),
    "/bomb/zstd": (1, "serpwatch/refused/decompressed_too_large"),
    "/download/setup.exe": (0, "serpwatch/offered_downloads/executable"),
    "/download/by-type": (1, "serpwatch/offered_downloads/executable"),
    "/download/attachment": (1, "serpwatch/offered_downloads/executable"),
    "/download/sniffed": (1, "serpwatch/offered_downloads/archive"),
}


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    with FaultServer() as server:
        server.results = [server.url(p) for p in STORED + list(FAILING)]
        server.per_query = {
            "budget two": [server.url("/ok/budget-two")],
            "budget three": [server.url("/ok/budget-three")],
        }
        result = run_crawl(
            tmp_path_factory.mktemp("faults"),
            server.url("/search"),
            allow_private=True,
            settings={
                "DOWNLOAD_TIMEOUT": TIMEOUT,
                "SERPWATCH_MAX_QUERIES": 2,
                "SERPWATCH_MAX_PAGES_PER_SITE": 500,  # every fault is on 127.0.0.1
            },
            queries=("fault test", "budget two", "budget three"),
        )
    return server, result


def test_the_crawl_finishes_and_stays_offline(crawl):
    _, result = crawl
    assert result.proc.returncode == 0, result.proc.stderr[-3000:]
    assert result.run["status"] == "finished"
    assert "Traceback" not in result.proc.stderr
    assert result.violations == []


@pytest.mark.parametrize("path", STORED)
def test_good_and_odd_but_whole_pages_are_stored(crawl, path):
    server, result = crawl
    assert server.url(path) in result.stored_urls()


@pytest.mark.parametrize("path", FAILING)
def test_failures_store_nothing_and_retry_within_bounds(crawl, path):
    server, result = crawl
    most, _ = FAILING[path]
    assert server.url(path) not in result.stored_urls()
    assert server.count(path) <= most
    assert not [u for u in result.stored_urls() if path in u]


@pytest.mark.parametrize("path", FAILING)
def test_every_failure_is_in_the_run_stats(crawl, path):
    _, result = crawl
    _, stat = FAILING[path]
    assert result.stats.get(stat), f"{stat} missing for {path}"


def test_failures_add_up(crawl):
    _, result = crawl
    stats = result.stats
    page_failures = sum(v for k, v in stats.items() if k.startswith("serpwatch/pages_failed/"))
    assert stats["serpwatch/pages_failed"] == page_failures == len(FAILING)
    assert stats["retry/count"] <= RETRY_TIMES * len(FAILING)


@pytest.mark.parametrize("path", [p for p in FAILING if p.startswith("/status/")])
def test_a_server_error_is_asked_again_a_missing_page_is_not(crawl, path):
    """A 5xx may pass: asked RETRY_TIMES more times; a 404 or 410 won't heal: asked once."""
    server, _ = crawl
    assert server.count(path) == FAILING[path][0]


def test_retry_after_is_honoured(crawl):
    server, _ = crawl
    first, second, *_ = server.times("/ratelimit-once")
    assert second - first >= 0.9  # Retry-After: 1
    times = server.times("/always-429")
    assert len(times) == 1 + RETRY_TIMES
    assert all(b - a >= 0.9 for a, b in zip(times, times[1:], strict=False))


def test_long_retry_after_is_not_waited_for(crawl):
    server, _ = crawl
    assert server.count("/retry-after-long") == 1


def test_redirect_loops_stop_at_the_redirect_limit(crawl):
    server, _ = crawl
    assert server.count("/redirect-loop") == 8 + 1  # REDIRECT_MAX_TIMES + the first


def test_downloads_are_never_downloaded_and_are_recorded(crawl):
    server, result = crawl
    assert server.count("/download/setup.exe") == 0  # refused by its name
    assert server.completed == set()  # the others were cut off after headers or bytes
    rows = result.rows("select url, kind, reason from downloads order by url")
    assert {url.rsplit("/", 1)[1] for url, _, _ in rows} == {
        "setup.exe",
        "by-type",
        "attachment",
        "sniffed",
    }
    assert result.stats["serpwatch/offered_downloads"] == 4


def test_hung_requests_end_at_the_download_timeout(crawl):
    _, result = crawl
    # 3 tries of a hung request at TIMEOUT each, in parallel with everything
    # else; the rest is start-up and a few Retry-After seconds.
    assert result.seconds < (RETRY_TIMES + 1) * TIMEOUT + 25


def test_queries_per_run_are_capped(crawl):
    server, result = crawl
    assert server.count("/search") == 2
    assert server.count("/ok/budget-three") == 0
    assert result.stats["serpwatch/refused/query_budget"] == 1
