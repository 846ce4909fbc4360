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

Several processes (distributed mode) share one block and one pause per
engine through `shared`, a `SharedEngines` (crawler.distributed keeps it in
Redis): the first process to block an engine records it, every other one
sees it and asks the engine no more; a pause is one moment for all, on the
shared store's clock. The rules stay here; the store only keeps the state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
