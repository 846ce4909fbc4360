"""The SSRF guard's policy and its downloader middleware, in isolation.

Every literal form of a non-public address is refused, internal names too;
only http and https pass; engine requests to a configured engine endpoint
are trusted, and nothing else is, not even a redirect of an engine request.
"""

from __future__ import annotations

import pytest
from scrapy import Request
from servers.units import make_crawler

from crawler.config import Engine
from crawler.net.middlewares import NetGuardMiddleware
from crawler.net.netguard import (
    NetGuard,
    RefusedRequest,
    host_problem,
    parse_ip,
    url_problem,
)

REFUSED_HOSTS = {
    "loopback": "127.0.0.1",
    "loopback-other": "127.8.9.10",
    "integer": "2130706433",
    "hex": "0x7f000001",
    "hex-dotted": "0x7f.0x0.0x0.0x1",
    "octal": "0177.0.0.01",
    "short": "127.1",
    "short-private": "10.1",
    "trailing-dot": "127.0.0.1.",
    "fullwidth": "１２７.０.０.１",
    "ipv6-loopback": "[::1]",
    "ipv4-mapped": "[::ffff:127.0.0.1]",
    "ipv4-mapped-hex": "[::ffff:7f00:1]",
    "ipv4-mapped-metadata": "[::ffff:169.254.169.254]",
    "nat64": "[64:ff9b::a00:1]",
    "6to4": "[2002:a00:1::]",
    "metadata": "169.254.169.254",
    "metadata-int": "2852039166",
    "link-local-v6": "[fe80::1%25eth0]",
    "cgnat": "100.64.0.1",
    "cgnat-top": "100.127.255.254",
    "private-10": "10.0.0.1",
    "private-172": "172.16.5.4",
    "private-192": "192.168.1.1",
    "unique-local-v6": "[fd00::1]",
    "unspecified": "0.0.0.0",
    "unspecified-zero": "0",
    "unspecified-v6": "[::]",
    "multicast": "224.0.0.1",
    "broadcast": "255.255.255.255",
    "reserved": "240.0.0.1",
    "benchmark": "198.18.0.1",
    "localhost": "localhost",
    "localhost-sub": "evil.localhost",
    "internal": "metadata.google.internal",
    "local": "printer.local",
    "home-arpa": "router.home.arpa",
    "single-label": "intranet",
    "numeric-invalid": "1.2.3.4.5",
    "numeric-tld": "evil.0x7f",
    "octal-invalid": "09.1.1.1",
}
ALLOWED_HOSTS = {
    "public-v4": "93.184.216.34",
    "public-v6": "[2606:2800:220:1:248:1893:25c8:1946]",
    "mapped-public": "[::ffff:93.184.216.34]",
    "name": "microsoft-helpdesk-bellen.nl",
    "idn": "xn--mnchen-3ya.de",
    "digits-in-name": "0800-helpdesk.nl",
}


@pytest.mark.parametrize("host", REFUSED_HOSTS.values(), ids=REFUSED_HOSTS.keys())
def test_non_public_hosts_are_refused_in_every_form(host):
    assert host_problem(host)
    assert url_problem(f"http://{host}:8080/x")


@pytest.mark.parametrize("host", ALLOWED_HOSTS.values(), ids=ALLOWED_HOSTS.keys())
def test_public_hosts_pass(host):
    assert host_problem(host) is None
    assert url_problem(f"https://{host}/contact") is None


@pytest.mark.parametrize(
    "form", ["2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "127.0.1", "0x7F.00.0.1"]
)
def test_every_inet_aton_form_parses_to_the_same_address(form):
    assert str(parse_ip(form)) == "127.0.0.1"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://ftp.example.com/pub",
        "data:text/html,<h1>x</h1>",
        "s3://bucket/key",
        "gopher://example.com:70/",
        "javascript:alert(1)",
        "http://user:pw@example.com/",  # who is the host?
        "http://example.com\\@127.0.0.1/",
        "http://example.com:99999/",
    ],
)
def test_other_schemes_and_confusing_urls_are_refused(url):
    assert url_problem(url)


def _request(url, *, trusted=False, proxy=None, **meta):
    if trusted:
        meta["serpwatch_trusted"] = True
    if proxy:
        meta["proxy"] = proxy
    return Request(url, meta=meta)


@pytest.fixture
def guarded():
    crawler = make_crawler(allow_private=False)
    return crawler, NetGuardMiddleware.from_crawler(crawler)


def test_middleware_refuses_a_literal_address_and_counts_it(guarded):
    crawler, mw = guarded
    with pytest.raises(RefusedRequest, match="loopback"):
        mw.process_request(_request("http://2130706433:8080/admin"))
    assert crawler.stats.get_value("serpwatch/refused/address") == 1


def test_literal_addresses_are_checked_behind_a_proxy_too(guarded):
    _, mw = guarded
    with pytest.raises(RefusedRequest):
        mw.process_request(_request("http://169.254.169.254/latest/", proxy="http://proxy:3128"))
    # A public name behind the proxy goes: the proxy resolves it.
    assert mw.process_request(_request("http://scam.example/", proxy="http://proxy:3128")) is None


def test_engine_requests_to_the_configured_endpoint_are_trusted(guarded):
    _, mw = guarded
    assert mw.process_request(_request("http://127.0.0.1:8888/search?q=x", trusted=True)) is None


@pytest.mark.parametrize(
    "url, trusted",
    [
        pytest.param("http://127.0.0.1:8888/search?q=x", False, id="engine-host-from-a-page"),
        pytest.param("http://127.0.0.1:22/", True, id="engine-flag-other-port"),
        pytest.param("http://10.0.0.5:8888/search", True, id="engine-flag-other-host"),
    ],
)
def test_trust_needs_both_the_engine_flag_and_the_configured_endpoint(guarded, url, trusted):
    # A redirect keeps the engine request's meta; it only keeps trust on the endpoint.
    _, mw = guarded
    with pytest.raises(RefusedRequest):
        mw.process_request(_request(url, trusted=trusted, redirect_urls=["http://x/"]))


def test_default_engine_endpoints_are_trusted_when_no_url_is_configured():
    crawler = make_crawler(engines=[Engine("bing", None)])
    guard = NetGuard.for_crawler(crawler)
    assert ("www.bing.com", 443) in guard.trusted


def test_trusted_hosts_setting_adds_endpoints():
    crawler = make_crawler(SERPWATCH_TRUSTED_HOSTS=["searx.lan:8080"])
    mw = NetGuardMiddleware.from_crawler(crawler)
    assert mw.process_request(_request("http://searx.lan:8080/search", trusted=True)) is None


def test_allow_private_turns_the_address_check_off_but_never_the_scheme_check():
    crawler = make_crawler(allow_private=True)
    mw = NetGuardMiddleware.from_crawler(crawler)
    assert mw.process_request(_request("http://127.0.0.1:9000/")) is None
    with pytest.raises(RefusedRequest, match="scheme"):
        mw.process_request(_request("file:///etc/passwd"))
    assert crawler.stats.get_value("serpwatch/refused/scheme") == 1


def test_only_http_and_https_download_handlers_exist():
    crawler = make_crawler()
    handlers = crawler.settings.getdict("DOWNLOAD_HANDLERS")
    assert {k for k, v in handlers.items() if v} == {"http", "https"}
    assert {"file", "data", "ftp", "s3"} <= {k for k, v in handlers.items() if v is None}


def test_connection_guard_is_off_for_trusted_proxied_and_allowed():
    guard = NetGuard.for_crawler(make_crawler())
    assert guard.connection_guard(_request("http://scam.example/")).active
    assert not guard.connection_guard(_request("http://scam.example/", proxy="http://p:1")).active
    assert not guard.connection_guard(_request("http://127.0.0.1:8888/search", trusted=True)).active
    off = NetGuard.for_crawler(make_crawler(allow_private=True))
    assert not off.connection_guard(_request("http://scam.example/")).active
