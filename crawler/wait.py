"""Waiting without blocking the crawl: one helper for the spider and the middlewares.

`time.sleep` would stop the reactor and with it every download; this waits on
the reactor's clock (Twisted's `deferLater`) as an awaitable, so an engine
that asked for a Retry-After pause waits while the rest of the crawl goes on.
"""

from __future__ import annotations

from scrapy.utils.defer import maybe_deferred_to_future


async def sleep(seconds: float) -> None:
    """Wait `seconds` on the running reactor (used under Scrapy's asyncio reactor too)."""
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds))
