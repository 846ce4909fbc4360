"""The engine state machine on its own: queue, Retry-After pause, block. A fake clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from crawler.engine_state import Block, EngineState, engine_slots, engine_states


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


@dataclass
class Configured:
    """An [[engines]] entry of a profile, as crawler.config gives it."""

    kind: str
    url: str | None = None
    delay: float | None = None


def test_engines_are_named_by_kind_and_numbered() -> None:
    engines = [Configured("google"), Configured("searxng"), Configured("searxng", "http://x/")]
    states = engine_states(engines, ["q1", "q2"])
    assert list(states) == ["google", "searxng", "searxng-2"]
    assert [s.order for s in states.values()] == [0, 1, 2]
    assert states["searxng-2"].url == "http://x/" and states["searxng-2"].slot == "engine:searxng-2"
    assert all(s.queue == [0, 1] for s in states.values())


# (SERPWATCH_ENGINE_DELAY, the profile's delay) → the engine's delay; the kind's default is 8
DELAYS = [
    pytest.param(None, None, 8.0, id="kind-default"),
    pytest.param("", None, 8.0, id="empty-override-is-unset"),
    pytest.param(None, 2.5, 2.5, id="profile-delay"),
    pytest.param(None, 0, 0.0, id="profile-delay-zero"),
    pytest.param("0", 2.5, 0.0, id="override-wins"),
]


@pytest.mark.parametrize("override, own, expected", DELAYS)
def test_engine_delay_and_slot(override, own, expected) -> None:
    states = engine_states([Configured("google", delay=own)], ["q"])
    slots = engine_slots(
        states,
        [Configured("google", delay=own)],
        override=override,
        defaults={"google": 8.0},
        fallback=1.0,
        lanes=2,
        slots={},
    )
    assert states["google"].delay == expected
    assert slots == {"engine:google": {"concurrency": 2, "delay": expected}}


def test_an_operators_own_slot_wins_and_other_slots_stay() -> None:
    engines = [Configured("bing"), Configured("yahoo")]
    states = engine_states(engines, ["q"])
    mine = {"engine:bing": {"delay": 60.0}, "other": {"concurrency": 9}}
    slots = engine_slots(
        states, engines, override=None, defaults={}, fallback=1.5, lanes=1, slots=mine
    )
    assert slots["engine:bing"] == {"concurrency": 1, "delay": 60.0}
    assert slots["engine:yahoo"] == {"concurrency": 1, "delay": 1.5}
    assert slots["other"] == {"concurrency": 9}
    assert mine == {"engine:bing": {"delay": 60.0}, "other": {"concurrency": 9}}  # not changed
