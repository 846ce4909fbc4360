"""Run the search spider in this process and report on the run.

SIGINT and SIGTERM stop the crawl gracefully (Scrapy closes the spider, the
pipelines close the run `interrupted`); a second signal stops it at once.
The returned stats say which signal (`serpwatch/signal`) and whether the
stop was forced (`serpwatch/forced`); `settle` turns them into the run's end
(status and exit code, crawler.run_status), which the CLI prints.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.ossignal import signal_names

from crawler import settings as default_settings
from crawler import stats_keys
from crawler.config import Profile
from crawler.lock import hold
from crawler.run_status import exit_code

logger = logging.getLogger(__name__)


def build_settings(db: Path | str, overrides: dict | None = None) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.set("SERPWATCH_DB", str(db), priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


class _Process(CrawlerProcess):
    """Scrapy's process, remembering the signal that stopped it."""

    signum: int | None = None
    forced = False

    def _signal_shutdown(self, signum, frame) -> None:
        from crawler.alerts import STOP_RETRIES

        if self.signum is None:
            self.signum = signum
        STOP_RETRIES.set()
        super()._signal_shutdown(signum, frame)

    def _signal_kill(self, signum, frame) -> None:
        self.forced = True
        super()._signal_kill(signum, frame)


class _EarlySignals:
    """SIGINT / SIGTERM that come before Scrapy installs its handlers (while the
    lock is taken, the queries read, the crawler made): noted, not raised (a
    KeyboardInterrupt inside `process.crawl` is lost in a Deferred and the crawl
    "did not start"), then replayed once the reactor runs, so they stop the crawl
    as Scrapy's own handlers would: the run interrupted, exit 130 / 143."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.before = {s: signal.signal(s, self._note) for s in (signal.SIGINT, signal.SIGTERM)}

    def _note(self, signum, frame) -> None:
        self.seen.append(signum)

    def replay_when_running(self, process: _Process) -> None:
        from twisted.internet import reactor

        # Timed calls run after the reactor's startup triggers, Scrapy's handlers among them.
        reactor.callLater(0, self._replay, process)

    def _replay(self, process: _Process) -> None:
        if self.seen:
            process._signal_shutdown(self.seen[0], None)
        if len(self.seen) > 1:  # a second signal: stop at once
            process._signal_kill(self.seen[1], None)

    def restore(self) -> None:
        for signum, handler in self.before.items():
            signal.signal(signum, handler)


def _skip_retired(profile: Profile, db: Path | str) -> Profile:
    """Leave out the queries retired in the database (`serpwatch queries retire`)."""
    from crawler import storage
    from crawler.queries import without_retired

    before = len(profile.queries())
    store = storage.open_db(db)
    try:
        profile = without_retired(profile, store)
    finally:
        store.close()
    skipped = before - len(profile.queries())
    if before and skipped == before:  # no run: a run of nothing would be recorded "failed"
        from crawler.tomllines import ConfigError

        raise ConfigError(
            profile.path,
            f"every one of its {before} queries is retired in {db}: nothing to crawl;"
            " `serpwatch queries restore TEXT` brings one back (`queries stats` lists them)",
        )
    if skipped:
        logger.warning("%d retired queries skipped (see serpwatch queries stats)", skipped)
    return profile


def run_crawl(
    profile: Profile, db: Path | str, overrides: dict | None = None, proxy: str | None = None
) -> dict:
    """Crawl `profile` into `db`; return Scrapy's final stats.

    `proxy` routes plain-http page fetches through an HTTP proxy, the way the
    standard `http_proxy` variable does (the demo web is such a proxy).
    """
    if proxy:
        os.environ["http_proxy"] = proxy
    settings = build_settings(db, overrides)
    from crawler.alerts import STOP_RETRIES

    STOP_RETRIES.clear()  # a crawl before it in this process may have been stopped
    early = _EarlySignals()
    # Taken here, before Scrapy starts, a refusal is one line and exit 75
    # (crawler.lock); the lock pipeline (RunGuard) finds this lock and keeps it.
    try:
        with hold(db, settings.get("SERPWATCH_LOCK_FILE") or None, profile=profile.name):
            profile = _skip_retired(profile, db)
            process = _Process(settings)
            crawler = process.create_crawler("search")
            process.crawl(crawler, profile=profile)
            early.replay_when_running(process)
            process.start()
    finally:
        early.restore()
    stats = dict(crawler.stats.get_stats())
    if process.signum is not None:
        stats[stats_keys.SIGNAL] = signal_names.get(process.signum, str(process.signum))
        stats[stats_keys.FORCED] = process.forced
    return stats


@dataclass(frozen=True)
class RunEnd:
    """How a crawl ended: its run, the run's status and the exit code it earned."""

    run_id: int
    status: str
    exit_code: int
    # A signal that came after the run was recorded (it earns no 130/143).
    late_signal: str | None = None
    # Closed here, not by the crawl's end (a stop before the engine started): its
    # alert is still to be sent.
    closed_here: bool = False


def settle(db: Path | str, stats: dict) -> RunEnd | None:
    """The end of the crawl whose final stats are `stats`; None when it opened no run.

    A second signal, or a first one that lands before the engine has started,
    stops the reactor without spider_closed, so nothing closed the run: it is
    closed here from the crawl's stats (no history: it covered too little), so
    no stopped run stays "running".
    """
    from crawler import storage

    run_id = stats.get(stats_keys.RUN_ID)
    if run_id is None:
        return None
    conn = storage.open_db(db)
    try:
        signal_name = stats.get(stats_keys.SIGNAL)
        stopped = stats.get(stats_keys.FORCED) or signal_name
        closed_here = bool(stopped) and storage.get_run(conn, run_id)["status"] == "running"
        if closed_here:
            storage.finish_crawl(conn, run_id, {**stats, "finish_reason": "shutdown"})
        status = storage.get_run(conn, run_id)["status"]
    finally:
        conn.close()
    late = signal_name if signal_name and status != "interrupted" else None
    return RunEnd(run_id, status, exit_code(status, signal_name), late, closed_here)
