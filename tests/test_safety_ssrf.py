"""The SSRF guard end to end: a real crawl of a result page full of attacks.

The fault server is the engine (trusted: configured in the profile), the
HTTP proxy (trusted: the operator's) and every site. Its result page links
to loopback, metadata, private and CGNAT addresses in every literal form,
to internal names, and to public-looking sites that redirect or meta-refresh
inside; two `.test` names resolve to 127.0.0.1 at connect time (DNS
rebinding), one past the resolver's filter so that only the connection
pool's peer check stands in the way.

The same crawl with `allow_private = true` is the control: there the server
does receive every one of these requests, so each "never requested" below
is the guard at work and not a test that cannot fail.
"""

from __future__ import annotations

import pytest
from servers.crawl import run_crawl
from servers.faultserver import FaultServer

RESOLVER = {"TWISTED_DNS_RESOLVER": "servers.testresolver.TestResolver"}

# tag → URL template ({p}: the server's port). Each URL carries /secret/<tag>.
VECTORS = {
    "literal": "http://127.0.0.1:{p}/secret/literal",
    "integer": "http://2130706433:{p}/secret/integer",
    "hex": "http://0x7f000001:{p}/secret/hex",
    "hex-dotted": "http://0x7f.0x0.0x0.0x1:{p}/secret/hex-dotted",
    "octal": "http://0177.0.0.01:{p}/secret/octal",
    "short": "http://127.1:{p}/secret/short",
    "ipv6": "http://[::1]:{p}/secret/ipv6",
    "ipv4-mapped": "http://[::ffff:127.0.0.1]:{p}/secret/ipv4-mapped",
    "metadata": "http://169.254.169.254/secret/metadata",
    "cgnat": "http://100.64.0.1/secret/cgnat",
    "private": "http://10.0.0.1/secret/private",
    "unspecified": "http://0.0.0.0:{p}/secret/unspecified",
    "localhost": "http://localhost:{p}/secret/localhost",
    "internal-name": "http://metadata.google.internal/secret/internal-name",
    "engine-host-from-page": "http://127.0.0.1:{p}/search?q=secret/engine-host-from-page",
    "redirect": "http://redirect.example/redirect/literal",
    "redirect-integer": "http://redirect.example/redirect/integer",
    "redirect-to-engine": "http://redirect.example/redirect/engine",
    "meta-refresh": "http://refresh.example/refresh/ipv6",
    "meta-refresh-metadata": "http://refresh.example/refresh/metadata",
    "dns-rebinding": "http://a.rebind.test:{p}/secret/dns-rebinding",
    "peer-check": "http://b.unfiltered.test:{p}/secret/peer-check",
}
REDIRECTS = {
    "/redirect/literal": "http://127.0.0.1:{p}/secret/redirect",
    "/redirect/integer": "http://2130706433:{p}/secret/redirect-integer",
    "/redirect/engine": "http://127.0.0.1:{p}/search?q=secret/redirect-to-engine",
    "/refresh/ipv6": "http://[::1]:{p}/secret/meta-refresh",
    "/refresh/metadata": "http://169.254.169.254/secret/meta-refresh-metadata",
    "/redirect/file": "file:///etc/passwd",
    "/refresh/ftp": "ftp://127.0.0.1:{p}/secret/ftp",
    "/refresh/data": "data:text/html,<p>secret/data</p>",
}
SCHEME_TRAPS = [
    "http://redirect.example/redirect/file",
    "http://refresh.example/refresh/ftp",
    "http://refresh.example/refresh/data",
]
PUBLIC = "http://public.example/ok/public"


def _crawl(folder, *, allow_private: bool):
    with FaultServer() as server:
        p = server.port
        server.results = [u.format(p=p) for u in VECTORS.values()] + SCHEME_TRAPS + [PUBLIC]
        server.redirects = {k: v.format(p=p) for k, v in REDIRECTS.items()}
        proxy = server.base if allow_private else f"http://proxy.test:{p}"
        result = run_crawl(
            folder,
            server.url("/search"),
            allow_private=allow_private,
            settings=RESOLVER,
            # Sites through the proxy, like the demo; the .test names directly.
            # The guarded crawl names its proxy: a name that resolves to
            # loopback, trusted because the operator configured it.
            env={"http_proxy": proxy, "no_proxy": "rebind.test,unfiltered.test"},
        )
    assert result.proc.returncode == 0, result.proc.stderr[-3000:]
    return server, result


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    return _crawl(tmp_path_factory.mktemp("ssrf-guarded"), allow_private=False)


@pytest.fixture(scope="module")
def control(tmp_path_factory):
    return _crawl(tmp_path_factory.mktemp("ssrf-control"), allow_private=True)


@pytest.mark.parametrize("tag", VECTORS)
def test_attack_never_reaches_the_network(guarded, control, tag):
    server, _ = guarded
    control_server, _ = control
    secret = f"secret/{tag}"
    assert control_server.seen(secret), f"the control crawl should reach {secret}"
    assert not server.seen(secret), f"{secret} was requested despite the guard"


def test_trusted_engine_and_proxy_still_work(guarded):
    server, result = guarded
    assert result.stats["serpwatch/serp_pages"] == 1
    assert PUBLIC in result.stored_urls()
    assert not [u for u in result.stored_urls() if "secret" in u]


def test_every_refusal_is_in_the_run_stats(guarded):
    _, result = guarded
    stats = result.stats
    assert stats["serpwatch/refused/address"] >= 15
    assert stats["serpwatch/refused/connection"] == 2  # rebinding and the peer check
    assert stats["serpwatch/pages_failed"] >= len(VECTORS)


def test_redirects_to_other_schemes_go_nowhere_even_with_allow_private(control):
    # Scrapy's redirect middlewares drop non-http(s) targets; NetGuardMiddleware
    # and the missing file/data/ftp/s3 handlers are the layers behind that
    # (tests/test_safety_netguard.py).
    server, result = control
    assert not server.seen("secret/ftp")
    assert all(u.startswith("http://") for u in result.stored_urls())


def test_the_attack_crawl_stays_offline(guarded, control):
    assert guarded[1].violations == [] and control[1].violations == []
