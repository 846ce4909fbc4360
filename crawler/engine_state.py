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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from crawler.engines import Engine, get_engine


@dataclass
class Block:
    """Why an engine is out for the run, and the queries it will not run."""

    reason: str
    dropped: list[int]


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

    @property
    def slot(self) -> str:
        return f"engine:{self.name}"

    @property
    def module(self) -> Engine:
        return get_engine(self.kind)

    @property
    def endpoint(self) -> str:
        return self.url or self.module.ENDPOINT

    def next_query(self) -> int | None:
        if self.blocked or not self.queue:
            return None
        return self.queue.pop(0)

    def backoff(self, retry_after: float | None, waited: float | None, cap: float) -> float | None:
        """Seconds to pause before asking once more, or None when the engine is to be blocked."""
        if self.blocked or waited is not None:
            return None  # blocked already, or waited once for this page
        if retry_after is None or retry_after > cap:
            return None
        self.paused_until = max(self.paused_until, self.clock() + retry_after)
        return retry_after

    def pause_left(self) -> float:
        """Seconds the engine is still paused for (0 when it is not)."""
        return max(0.0, self.paused_until - self.clock())

    def block(self, reason: str, retry_after: float | None, waited: float | None) -> Block | None:
        """Take the engine out for the run; None when it was out already."""
        if self.blocked:
            return None
        if waited is not None:
            reason = f"{reason} (again after waiting {waited:g} s)"
        elif retry_after is not None:
            reason = f"{reason} (Retry-After {retry_after:g} s is more than we wait)"
        self.blocked = reason
        dropped, self.queue = self.queue, []
        return Block(reason, dropped)
