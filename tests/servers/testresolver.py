"""A `crawler.net.resolver.GuardedResolver` whose DNS knows the names under `.test`.

Every `*.test` name resolves to 127.0.0.1, in process, the way a hostile
zone would point a public-looking name at our loopback (DNS rebinding).
Names under `unfiltered.test` skip the resolver's filter, as with a resolver
that does not filter at all, so that only the connection pool's peer check
stands between them and loopback.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHostnameResolver
from zope.interface import implementer

from crawler.net.resolver import GuardedResolver


class _Resolution:
    def __init__(self, name):
        self.name = name

    def cancel(self):
        pass


@implementer(IHostnameResolver)
class FakeDNS:
    def __init__(self, fallback):
        self.fallback = fallback
        self.lookups: list[str] = []

    def resolveHostName(
        self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"
    ):
        if not hostName.endswith(".test"):
            return self.fallback.resolveHostName(
                receiver, hostName, portNumber, addressTypes, transportSemantics
            )
        self.lookups.append(hostName)
        resolution = _Resolution(hostName)
        receiver.resolutionBegan(resolution)
        receiver.addressResolved(IPv4Address("TCP", "127.0.0.1", portNumber))
        receiver.resolutionComplete()
        return resolution


class TestResolver(GuardedResolver):
    def __init__(self, reactor, **kwargs):
        super().__init__(reactor, upstream=FakeDNS(reactor.nameResolver), **kwargs)

    def resolveHostName(
        self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"
    ):
        if hostName.endswith("unfiltered.test"):
            return self.upstream.resolveHostName(
                receiver, hostName, portNumber, addressTypes, transportSemantics
            )
        return super().resolveHostName(
            receiver, hostName, portNumber, addressTypes, transportSemantics
        )
