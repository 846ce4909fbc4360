"""The SSRF guard at the connection: the resolver's filter and timeout, the pool's peer check.

No network and no running reactor: a fake upstream resolver, a Clock and a
fake endpoint stand in for them.
"""

from __future__ import annotations

import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import succeed
from twisted.internet.task import Clock

from crawler.net.netguard import GuardContext, RefusedAddress, current_guard
from crawler.net.resolver import GuardedConnectionPool, GuardedResolver


class FakeUpstream:
    """Answers each name with the next list of addresses in `answers[name]`."""

    def __init__(self, answers: dict[str, list[list[str]]], never: set[str] = frozenset()):
        self.answers = answers
        self.never = never
        self.calls: list[str] = []

    def resolveHostName(self, receiver, name, portNumber=0, addressTypes=None, semantics="TCP"):
        self.calls.append(name)
        receiver.resolutionBegan(object())
        if name in self.never:
            return None  # a lookup that never comes back
        for host in self.answers[name].pop(0):
            cls = IPv6Address if ":" in host else IPv4Address
            receiver.addressResolved(cls("TCP", host, portNumber))
        receiver.resolutionComplete()


class Receiver:
    def __init__(self):
        self.addresses: list[str] = []
        self.complete = False

    def resolutionBegan(self, resolution):
        pass

    def addressResolved(self, address):
        self.addresses.append(address.host)

    def resolutionComplete(self):
        self.complete = True


def resolve(resolver, name, guard: GuardContext | None, port=80) -> Receiver:
    receiver = Receiver()
    token = current_guard.set(guard)
    try:
        resolver.resolveHostName(receiver, name, port)
    finally:
        current_guard.reset(token)
    return receiver


def make(answers, **kw):
    clock = Clock()
    upstream = FakeUpstream(answers, kw.pop("never", set()))
    return GuardedResolver(clock, upstream=upstream, **kw), upstream, clock


def test_guarded_lookup_drops_non_public_addresses():
    resolver, _, _ = make({"mixed.test": [["93.184.216.34", "127.0.0.1", "10.0.0.7", "::1"]]})
    guard = GuardContext(url="http://mixed.test/")
    got = resolve(resolver, "mixed.test", guard)
    assert got.addresses == ["93.184.216.34"] and got.complete
    assert {h for h, _ in guard.refused} == {"127.0.0.1", "10.0.0.7", "::1"}


def test_rebinding_name_is_judged_at_each_connection_not_at_first_sight():
    # Public when first looked up, loopback when looked up again (TTL 0):
    # each connection's own lookup is what is checked, so the second fails.
    answers = {"rebind.test": [["93.184.216.34"], ["127.0.0.1"]]}
    resolver, _, _ = make(answers, cache_size=0)
    first = resolve(resolver, "rebind.test", GuardContext(url="http://rebind.test/"))
    second = resolve(resolver, "rebind.test", GuardContext(url="http://rebind.test/"))
    assert first.addresses == ["93.184.216.34"]
    assert second.addresses == [] and second.complete


def test_cache_is_shared_but_the_filter_is_per_download():
    resolver, upstream, _ = make({"searx.lan": [["192.168.1.20"]]})
    trusted = resolve(resolver, "searx.lan", GuardContext(active=False))
    page = resolve(resolver, "searx.lan", GuardContext(url="http://searx.lan/"))
    assert trusted.addresses == ["192.168.1.20"]
    assert page.addresses == []
    assert upstream.calls == ["searx.lan"]  # the second answer came from the cache


def test_only_the_downloads_own_host_is_filtered():
    # A tunnel's proxy name is looked up later, from whatever context the
    # reactor is in: not the download's to judge (the proxy is trusted).
    resolver, _, _ = make({"proxy.corp": [["10.0.0.3"]], "x.test": [["127.0.0.1"]]})
    assert resolve(resolver, "proxy.corp", GuardContext(url="https://scam.example/")).addresses
    assert resolve(resolver, "x.test", None).addresses == ["127.0.0.1"]


def test_outside_a_download_the_pool_is_strict():
    assert "f" in connect("127.0.0.1", None)


def test_dns_lookups_time_out_after_dns_timeout():
    resolver, _, clock = make({}, never={"slow.test"}, timeout=3.0)
    guard = GuardContext(url="http://slow.test/")
    got = resolve(resolver, "slow.test", guard)
    clock.advance(2.9)
    assert not got.complete
    clock.advance(0.2)
    assert got.complete and got.addresses == [] and guard.dns_timed_out


def test_resolver_is_configured_from_settings():
    from servers.units import make_crawler

    crawler = make_crawler(DNS_TIMEOUT=4, DNSCACHE_SIZE=7)
    reactor = Clock()
    reactor.nameResolver = FakeUpstream({})
    resolver = GuardedResolver.from_crawler(crawler, reactor)
    assert (resolver.timeout, resolver.cache_size) == (4.0, 7)
    assert crawler.settings["TWISTED_DNS_RESOLVER"] == "crawler.net.resolver.GuardedResolver"


class FakeTransport:
    def __init__(self, host):
        self.peer = IPv4Address("TCP", host, 80)
        self.aborted = False

    def getPeer(self):
        return self.peer

    def abortConnection(self):
        self.aborted = True


class FakeProtocol:
    def __init__(self, host):
        self.transport = FakeTransport(host)


class FakeEndpoint:
    def __init__(self, host):
        self.host = host

    def connect(self, factory):
        return succeed(FakeProtocol(self.host))


def connect(peer: str, guard: GuardContext | None):
    pool = GuardedConnectionPool(Clock(), persistent=False)
    outcome = {}
    token = current_guard.set(guard)
    try:
        d = pool.getConnection(("http", b"x", 80), FakeEndpoint(peer))
    finally:
        current_guard.reset(token)

    def ok(protocol):
        outcome["protocol"] = protocol

    def failed(failure):
        outcome["f"] = failure

    d.addCallbacks(ok, failed)
    return outcome


def test_pool_refuses_a_connection_to_a_non_public_peer_before_any_request():
    outcome = connect("127.0.0.1", GuardContext(url="http://evil.example/"))
    failure = outcome["f"]
    assert failure.check(RefusedAddress)
    assert "connected to 127.0.0.1" in str(failure.value)


def test_pool_lets_public_peers_and_unguarded_downloads_through():
    assert "protocol" in connect("93.184.216.34", GuardContext(url="http://scam.example/"))
    assert "protocol" in connect("127.0.0.1", GuardContext(active=False))


@pytest.mark.parametrize("peer", ["169.254.169.254", "100.64.0.9", "0.0.0.0", "10.9.8.7"])
def test_pool_peer_check_covers_every_non_public_range(peer):
    assert "f" in connect(peer, GuardContext(url="http://evil.example/"))
