"""Waiting without blocking the crawl: one helper for the spider and the middlewares.

`time.sleep` would stop the reactor and with it every download; this waits on
the reactor's clock (Twisted's `deferLater`) as an awaitable, so an engine
that asked for a Retry-After pause waits while the rest of the crawl goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic

from scrapy.utils.defer import maybe_deferred_to_future


async def sleep(seconds: float) -> None:
    """Wait `seconds` on the running reactor (used under Scrapy's asyncio reactor too)."""
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds))


async def sleep_unless(seconds: float, stop: Callable[[], bool], step: float = 0.5) -> None:
    """`sleep`, cut short once `stop()` is true (asked every `step` seconds): a crawl
    stopped by SIGINT or SIGTERM does not wait out an engine's Retry-After first."""
    end = monotonic() + seconds
    while not stop() and (left := end - monotonic()) > 0:
        await sleep(min(left, step))
