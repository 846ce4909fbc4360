"""The run status and exit-code contract (crawler.run_status), as a table.

One rule for exit 3, "every engine we asked blocked us": a crawl run's status
and `serpwatch queries try` both go through `every_engine_blocked`.
"""

from __future__ import annotations

import pytest

from crawler.run_status import every_engine_blocked, exit_code, run_status, try_status


def _outcomes(*kinds: str) -> dict[str, dict]:
    return {f"engine{i}": {"outcome": kind} for i, kind in enumerate(kinds)}


# (engine outcomes, Scrapy's finish reason, signal) -> (status, exit code)
RUNS = [
    ((), "finished", None, "finished", 0),
    (("answered", "answered"), "finished", None, "finished", 0),
    (("answered",), "closespider_timeout", None, "partial", 1),
    (("blocked",), "finished", None, "blocked", 3),
    (("blocked", "blocked"), "finished", None, "blocked", 3),
    (("blocked", "answered"), "finished", None, "partial", 1),
    (("blocked", "partial"), "finished", None, "partial", 1),
    (("blocked", "failed"), "finished", None, "failed", 1),
    (("failed",), "finished", None, "failed", 1),
    (("unfinished",), "finished", None, "failed", 1),
    (("answered", "failed"), "finished", None, "partial", 1),
    (("answered",), "storage_failed", None, "failed", 1),
    (("blocked",), "storage_failed", None, "failed", 1),
    (("answered",), "shutdown", "SIGINT", "interrupted", 130),
    (("answered",), "shutdown", "SIGTERM", "interrupted", 143),
    (("blocked",), "shutdown", None, "interrupted", 130),
    # A signal after the run was recorded: the recorded status decides.
    (("blocked",), "finished", "SIGTERM", "blocked", 3),
    (("answered",), "finished", "SIGINT", "finished", 0),
]


@pytest.mark.parametrize(("kinds", "reason", "signal_name", "status", "code"), RUNS)
def test_a_runs_status_and_exit_code(kinds, reason, signal_name, status, code):
    assert run_status(_outcomes(*kinds), reason) == status
    assert exit_code(status, signal_name) == code


# The stat `serpwatch/storage_failed` (the database took no more writes) -> failed,
# whatever the engines did and however the crawl stopped; without it, as above.
STORAGE = [
    (("answered",), "finished", True, "failed"),
    (("blocked",), "finished", True, "failed"),
    (("answered",), "shutdown", True, "failed"),
    (("answered",), "storage_failed", False, "failed"),
    (("answered",), "shutdown", False, "interrupted"),
    (("answered",), "finished", False, "finished"),
]


@pytest.mark.parametrize(("kinds", "reason", "storage_failed", "status"), STORAGE)
def test_a_run_whose_storage_failed_failed(kinds, reason, storage_failed, status):
    assert run_status(_outcomes(*kinds), reason, storage_failed=storage_failed) == status


@pytest.mark.parametrize(
    ("status", "code"),
    [("finished", 0), ("blocked", 3), ("partial", 1), ("failed", 1), ("running", 1), (None, 1)],
)
def test_exit_codes_of_the_statuses(status, code):
    assert exit_code(status) == code


# (engines asked, engines that blocked) -> `queries try` exit code
TRIES = [
    ([], {}, 0),
    (["bing"], {}, 0),
    (["bing"], {"bing": "captcha"}, 3),
    (["bing", "google"], {"bing": "captcha"}, 0),
    (["bing", "google"], {"bing": "captcha", "google": "429"}, 3),
    ([], {"bing": "captcha"}, 3),
]


@pytest.mark.parametrize(("engines", "blocked", "code"), TRIES)
def test_a_tries_exit_code(engines, blocked, code):
    assert exit_code(try_status(engines, blocked)) == code
    # The rule it had before it moved here, kept as the oracle.
    assert (code == 3) == bool(blocked and set(blocked) >= set(engines))


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ({}, False),
        ({"bing": "blocked"}, True),
        ({"bing": "blocked", "google": "blocked"}, True),
        ({"bing": "blocked", "google": "answered"}, False),
        ({"bing": "failed"}, False),
    ],
)
def test_the_exit_3_rule(outcomes, expected):
    assert every_engine_blocked(outcomes) is expected
