"""A crawl run's status and the exit code it earns: the contract of DESIGN.md.

| status      | meaning                                                 | exit |
|-------------|---------------------------------------------------------|------|
| finished    | every engine answered every query                       | 0    |
| blocked     | every engine blocked                                    | 3    |
| partial     | some engines or queries failed or were blocked          | 1    |
| failed      | no engine answered, or storage failed (disk full)       | 1    |
| interrupted | SIGINT / SIGTERM (or the process died)                  | 130 / 143 |

The exit-3 rule, "every engine we asked blocked us", is `every_engine_blocked`,
used by a crawl run's status (crawler.storage stores it) and by `serpwatch
queries try`, which only reports: it exits 3 when every engine blocked and 0
otherwise. Pure: no Scrapy, no database.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping

EXIT = {"finished": 0, "blocked": 3, "partial": 1, "failed": 1, "running": 1}
SIGNAL_EXIT = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}


def every_engine_blocked(outcomes: Mapping[str, str]) -> bool:
    """The exit-3 rule: engines were asked (engine → outcome) and each one blocked us."""
    return bool(outcomes) and set(outcomes.values()) == {"blocked"}


def run_status(
    outcomes: dict[str, dict], finish_reason: str, *, storage_failed: bool = False
) -> str:
    """The run's status from its engines' outcomes and Scrapy's finish reason.

    `storage_failed`: the database took no more writes during the run (the
    stat `serpwatch/storage_failed`): what it kept is incomplete, so the run
    failed, whatever else happened, even when a signal stopped it after that.
    """
    if storage_failed or finish_reason == "storage_failed":
        return "failed"
    if finish_reason == "shutdown":  # SIGINT / SIGTERM (Scrapy's graceful stop)
        return "interrupted"
    kinds = {o["outcome"] for o in outcomes.values()}
    if not kinds or kinds == {"answered"}:
        return "finished" if finish_reason == "finished" else "partial"
    if every_engine_blocked({e: o["outcome"] for e, o in outcomes.items()}):
        return "blocked"
    if not kinds & {"answered", "partial"}:
        return "failed"
    return "partial"


def try_status(engines: Iterable[str], blocked: Iterable[str]) -> str:
    """`queries try`'s status: blocked when every engine blocked it, else finished."""
    outcomes = {e: "answered" for e in engines} | {e: "blocked" for e in blocked}
    return "blocked" if every_engine_blocked(outcomes) else "finished"


def exit_code(status: str | None, signal_name: str | None = None) -> int:
    """The exit code of a run (or a try) that ended with `status`.

    The recorded status decides: a signal that came after the run was recorded
    (while alerts were sent, say) changes nothing the run did, so it exits by its
    status; `signal_name` says which 128 + N an interrupted run earns (SIGINT
    when unknown: the process died and the next crawl marked it)."""
    if status == "interrupted":
        return SIGNAL_EXIT.get(signal_name or "SIGINT", SIGNAL_EXIT["SIGINT"])
    return EXIT.get(status or "running", 1)
