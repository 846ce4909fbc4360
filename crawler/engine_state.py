"""One engine during a crawl: its queue of queries, its Retry-After pause, its block.

Pure: no Scrapy, no reactor. The clock is passed in, so the state machine is
tested with a fake one. The spider asks it what to do and does the I/O:

- `next_query()`: the next query index, or None when blocked or done;
- `backoff(retry_after, waited, cap)`: after a block page, the seconds to
  wait before asking once more (the engine is paused that long), or None:
  the engine gave no short Retry-After, or we waited once already;
- `block(reason, retry_after, waited)`: the engine is out for the run; the
  first call returns the reason as recorded and the dropped queries, later
  calls None.

In the crawl (spiders/search.py) an engine is named by its kind, a second
engine of the same kind `kind-2` (`engine_states`). Its requests share the
download slot `engine:<name>` (`engine_slots`), which AutoThrottle leaves
alone (it paces the landing pages), and are never retried by RetryMiddleware
(`dont_retry`): every status reaches the parser, which tells a block page from
a result page. A blocked engine's queries are dropped; `serpwatch/blocked/<name>`
and `serpwatch/blocked_reason/<name>` go into the run's stats.

Several processes (distributed mode) share one block and one pause per
engine through `shared`, a `SharedEngines` (crawler.distributed keeps it in
Redis): the first process to block an engine records it, every other one
sees it and asks the engine no more; a pause is one moment for all, on the
shared store's clock. The rules stay here; the store only keeps the state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from crawler.engines import Engine, get_engine


@dataclass
class Block:
    """Why an engine is out for the run, and the queries it will not run."""

    reason: str
    dropped: list[int]


class SharedEngines(Protocol):
    """Engines' blocks and pauses held outside this process, shared by every worker."""

    def blocked(self, engine: str) -> str | None:
        """Why `engine` is out for the run, or None."""

    def block(self, engine: str, reason: str) -> bool:
        """Record the block unless one is recorded already: True for the first."""

    def pause(self, engine: str, seconds: float) -> None:
        """Pause `engine` until at least `seconds` from now (a pause never shrinks)."""

    def pause_left(self, engine: str) -> float:
        """Seconds `engine` is still paused for."""


@dataclass
class EngineState:
    """One engine of the profile during a crawl: its politeness and its state."""

    name: str
    kind: str
    url: str | None
    delay: float
    order: int
    queue: list[int] = field(default_factory=list)  # query indexes not yet started
    blocked: str | None = None
    paused_until: float = 0.0
    clock: Callable[[], float] = time.monotonic
    shared: SharedEngines | None = None  # distributed mode: block and pause of all workers

    @property
    def slot(self) -> str:
        return f"engine:{self.name}"

    @property
    def module(self) -> Engine:
        return get_engine(self.kind)

    @property
    def endpoint(self) -> str:
        return self.url or self.module.ENDPOINT

    def search_request(self, query: str, page: int, language: str, region: str):
        """The engine's request for result page `page` (1-based) of `query`."""
        return self.module.build_request(
            query, language=language, region=region, page=page, base_url=self.url
        )

    def public_url(self, url: str) -> str:
        """The URL as stored: an engine that carries a key in it (SerpApi) drops the key."""
        public = getattr(self.module, "public_url", None)
        return public(url) if public else url

    def is_blocked(self) -> bool:
        """Out for the run: blocked here, or (shared) by another process."""
        if not self.blocked and self.shared is not None:
            self.blocked = self.shared.blocked(self.name)
            if self.blocked:
                self.queue = []  # not asked: another process saw the block
        return bool(self.blocked)

    def next_query(self) -> int | None:
        if self.is_blocked() or not self.queue:
            return None
        return self.queue.pop(0)

    def backoff(self, retry_after: float | None, waited: float | None, cap: float) -> float | None:
        """Seconds to pause before asking once more, or None when the engine is to be blocked."""
        if self.is_blocked() or waited is not None:
            return None  # blocked already, or waited once for this page
        if retry_after is None or retry_after > cap:
            return None
        if self.shared is not None:
            self.shared.pause(self.name, retry_after)
        else:
            self.paused_until = max(self.paused_until, self.clock() + retry_after)
        return retry_after

    def pause_left(self) -> float:
        """Seconds the engine is still paused for (0 when it is not)."""
        if self.shared is not None:
            return self.shared.pause_left(self.name)
        return max(0.0, self.paused_until - self.clock())

    def block(self, reason: str, retry_after: float | None, waited: float | None) -> Block | None:
        """Take the engine out for the run; None when it was out already (here or elsewhere)."""
        if self.is_blocked():
            return None
        if waited is not None:
            reason = f"{reason} (again after waiting {waited:g} s)"
        elif retry_after is not None:
            reason = f"{reason} (Retry-After {retry_after:g} s is more than we wait)"
        if self.shared is not None and not self.shared.block(self.name, reason):
            self.is_blocked()  # another process was first: its reason is the run's
            return None
        self.blocked = reason
        dropped, self.queue = self.queue, []
        return Block(reason, dropped)


def engine_states(engines: Sequence, queries: Sequence) -> dict[str, EngineState]:
    """One state per engine of the profile, named by its kind (a second one of the
    same kind is `kind-2`), each with every query in its queue; delays come later."""
    states: dict[str, EngineState] = {}
    for order, engine in enumerate(engines):
        name, n = engine.kind, 1
        while name in states:
            n += 1
            name = f"{engine.kind}-{n}"
        states[name] = EngineState(
            name=name,
            kind=engine.kind,
            url=engine.url,
            delay=0.0,
            order=order,
            queue=list(range(len(queries))),
        )
    return states


def engine_slots(
    states: Mapping[str, EngineState],
    engines: Sequence,
    *,
    override: object,
    defaults: Mapping[str, float],
    fallback: float,
    lanes: int,
    slots: Mapping[str, dict],
) -> dict[str, dict]:
    """Set each engine's delay, and return DOWNLOAD_SLOTS with one slot per engine.

    The delay: `override` (SERPWATCH_ENGINE_DELAY) when set, not None or empty;
    else the profile's `delay` for the engine; else `defaults` for its kind
    (SERPWATCH_ENGINE_DELAYS); else `fallback` (DOWNLOAD_DELAY). The slot has
    `lanes` requests in flight, `delay` apart; an operator's own DOWNLOAD_SLOTS
    entry for the slot wins.
    """
    out = dict(slots)
    for engine, run in zip(engines, states.values(), strict=True):
        if override not in (None, ""):
            run.delay = float(override)
        elif engine.delay is not None:
            run.delay = float(engine.delay)
        else:
            run.delay = float(defaults.get(run.kind, fallback))
        out[run.slot] = {"concurrency": lanes, "delay": run.delay} | dict(out.get(run.slot, {}))
    return out
