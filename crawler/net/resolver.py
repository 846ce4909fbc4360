"""The SSRF guard at the connection: a DNS resolver and an HTTP download handler.

Settings: TWISTED_DNS_RESOLVER = "crawler.net.resolver.GuardedResolver" (reads
DNS_TIMEOUT, DNSCACHE_ENABLED, DNSCACHE_SIZE) and DOWNLOAD_HANDLERS http/https
= "crawler.net.resolver.GuardedHTTP11DownloadHandler".

The check is made on the addresses the connection really uses, not on a
lookup of its own, so DNS rebinding (a name that is public when checked and
private when used) gains nothing:

1. `GuardedResolver` drops every non-public address from the lookup of a
   guarded download's host, made while that download opens its connection,
   so no TCP connection to such an address is even tried. It also puts a
   hard timeout (DNS_TIMEOUT) on every lookup.
2. `GuardedConnectionPool` checks the peer address of every connection,
   new or reused from the pool, before a single byte of the request is
   written, and closes it if it is not public. This holds whatever resolver
   is installed.

Which download is guarded comes from `crawler.net.netguard.NetGuard`: engine
requests to configured engine endpoints, requests through the configured
proxy, and crawls with `allow_private = true` are not.
"""

from __future__ import annotations

from collections import OrderedDict

import attr
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from twisted.web.client import HTTPConnectionPool
from zope.interface import implementer

from crawler.net.netguard import (
    GuardContext,
    NetGuard,
    RefusedAddress,
    active_guard,
    current_guard,
)


@implementer(IResolutionReceiver)
class _Collector:
    """Collects one upstream lookup; hands the addresses over once."""

    def __init__(self, done):
        self.done = done
        self.addresses = []
        self.finished = False

    def resolutionBegan(self, resolution) -> None:
        pass

    def addressResolved(self, address) -> None:
        if not self.finished:
            self.addresses.append(address)

    def resolutionComplete(self) -> None:
        if not self.finished:
            self.finished = True
            self.done(self.addresses, timed_out=False)


class _Resolution:
    def __init__(self, name: str):
        self.name = name

    def cancel(self) -> None:  # pragma: no cover - nothing calls it
        pass


@implementer(IHostnameResolver)
class GuardedResolver:
    """Caching resolver that refuses non-public addresses for guarded downloads."""

    def __init__(self, reactor, *, timeout: float = 10.0, cache_size: int = 10000, upstream=None):
        self.reactor = reactor
        self.upstream = upstream or reactor.nameResolver
        self.timeout = timeout
        self.cache_size = cache_size
        self.cache: OrderedDict[str, list] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler, reactor):
        settings = crawler.settings
        size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, timeout=settings.getfloat("DNS_TIMEOUT"), cache_size=size)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    def resolveHostName(
        self,
        resolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes=None,
        transportSemantics: str = "TCP",
    ):
        # Read now: later callbacks run outside the download's context.
        guard = current_guard.get()
        if guard is None or not guard.covers_lookup(hostName):
            guard = GuardContext(url="", active=False)
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        cacheable = addressTypes is None and self.cache_size > 0
        if cacheable and hostName in self.cache:
            self.cache.move_to_end(hostName)
            self._deliver(resolutionReceiver, self.cache[hostName], portNumber, guard)
            return resolution

        timer = None

        def done(addresses, *, timed_out):
            if timer is not None and timer.active():
                timer.cancel()
            if timed_out:
                guard.dns_timed_out = True
            elif cacheable and addresses:
                self.cache[hostName] = [_with_port(a, 0) for a in addresses]
                while len(self.cache) > self.cache_size:
                    self.cache.popitem(last=False)
            self._deliver(resolutionReceiver, addresses, portNumber, guard)

        collector = _Collector(done)

        def expire():
            if not collector.finished:
                collector.finished = True
                done([], timed_out=True)

        if self.timeout:
            timer = self.reactor.callLater(self.timeout, expire)
        self.upstream.resolveHostName(
            collector, hostName, portNumber, addressTypes, transportSemantics
        )
        return resolution

    @staticmethod
    def _deliver(receiver, addresses, port: int, guard: GuardContext) -> None:
        for address in addresses:
            if guard.check(address.host) is None:
                receiver.addressResolved(_with_port(address, port))
        receiver.resolutionComplete()


def _with_port(address, port: int):
    if getattr(address, "port", port) == port:
        return address
    return attr.evolve(address, port=port)


class GuardedConnectionPool(HTTPConnectionPool):
    """Connection pool that checks each connection's peer address before use."""

    def getConnection(self, key, endpoint):
        guard = active_guard()
        d = super().getConnection(key, endpoint)
        if guard.active:
            d.addCallback(self._check_peer, guard)
        return d

    @staticmethod
    def _check_peer(protocol, guard: GuardContext):
        peer = protocol.transport.getPeer()
        host = getattr(peer, "host", "")
        problem = guard.check(host)
        if problem:
            protocol.transport.abortConnection()
            raise RefusedAddress(
                guard.url, f"connected to {host}, which is {problem}", stat="connection"
            )
        return protocol


def _is_dns_failure(exc: BaseException) -> bool:
    return isinstance(exc, DNSLookupError) or isinstance(exc.__cause__, DNSLookupError)


class GuardedHTTP11DownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler on a `GuardedConnectionPool`, guarded per request."""

    def __init__(self, crawler):
        super().__init__(crawler)
        from twisted.internet import reactor

        pool = GuardedConnectionPool(reactor, persistent=True)
        pool.maxPersistentPerHost = self._pool.maxPersistentPerHost
        pool._factory = self._pool._factory
        self._pool = pool

    async def download_request(self, request):
        guard = NetGuard.for_crawler(self._crawler).connection_guard(request)
        # This download runs in its own task: the value is seen by the resolver
        # and the pool while the connection is opened, and by nothing else.
        current_guard.set(guard)
        try:
            return await super().download_request(request)
        except RefusedAddress:
            raise
        except Exception as exc:
            if not _is_dns_failure(exc):
                raise
            if guard.refused:
                hosts = ", ".join(f"{h} ({why})" for h, why in guard.refused[:4])
                reason = f"resolved only to non-public addresses: {hosts}"
                raise RefusedAddress(request.url, reason, stat="connection") from exc
            if guard.dns_timed_out:
                raise TimeoutError(f"DNS lookup timed out for {request.url}") from exc
            raise
        finally:
            current_guard.set(None)
