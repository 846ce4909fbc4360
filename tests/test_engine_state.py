"""The engine state machine on its own: queue, Retry-After pause, block. A fake clock."""

from __future__ import annotations

import pytest

from crawler.engine_state import Block, EngineState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state(queue=(0, 1, 2)) -> tuple[EngineState, Clock]:
    clock = Clock()
    run = EngineState("bing", "bing", None, 4.0, 0, queue=list(queue), clock=clock)
    return run, clock


def test_queries_come_in_order_until_the_queue_is_empty() -> None:
    run, _ = state()
    assert [run.next_query() for _ in range(4)] == [0, 1, 2, None]


# (Retry-After, waited before for this page, cap) → seconds to wait or None (block)
BACKOFF = [
    pytest.param(10.0, None, 30.0, 10.0, id="short-retry-after-waits"),
    pytest.param(30.0, None, 30.0, 30.0, id="exactly-the-cap-waits"),
    pytest.param(31.0, None, 30.0, None, id="longer-than-cap-blocks"),
    pytest.param(None, None, 30.0, None, id="no-retry-after-blocks"),
    pytest.param(5.0, 5.0, 30.0, None, id="second-block-after-waiting-blocks"),
    pytest.param(0.0, None, 30.0, 0.0, id="zero-retry-after-asks-again-at-once"),
]


@pytest.mark.parametrize("retry_after, waited, cap, expected", BACKOFF)
def test_backoff(retry_after, waited, cap, expected) -> None:
    run, clock = state()
    assert run.backoff(retry_after, waited, cap) == expected
    if expected:
        assert run.pause_left() == expected
        clock.now += expected / 2
        assert run.pause_left() == expected / 2
        clock.now += expected
        assert run.pause_left() == 0.0
    else:
        assert run.pause_left() == 0.0


def test_a_pause_never_shrinks() -> None:
    run, _ = state()
    run.backoff(20.0, None, 30.0)
    run.backoff(5.0, None, 30.0)
    assert run.pause_left() == 20.0


# (reason, Retry-After, waited) → recorded reason
BLOCKS = [
    pytest.param("captcha", None, None, "captcha", id="plain"),
    pytest.param(
        "HTTP 429",
        3600.0,
        None,
        "HTTP 429 (Retry-After 3600 s is more than we wait)",
        id="retry-after-too-long",
    ),
    pytest.param("HTTP 429", 5.0, 5.0, "HTTP 429 (again after waiting 5 s)", id="again"),
]


@pytest.mark.parametrize("reason, retry_after, waited, recorded", BLOCKS)
def test_block_drops_the_remaining_queries_once(reason, retry_after, waited, recorded) -> None:
    run, _ = state()
    assert run.next_query() == 0
    assert run.block(reason, retry_after, waited) == Block(recorded, [1, 2])
    assert run.blocked == recorded
    assert run.next_query() is None
    assert run.block("again", None, None) is None  # once out, out
    assert run.backoff(1.0, None, 30.0) is None  # a blocked engine never waits
