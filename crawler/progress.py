"""How far a crawl is: a live display on a terminal, log lines without, and the database.

`ProgressExtension` (a Scrapy extension, so `serpwatch crawl`, `scrapy crawl`
and Scrapyd jobs all have it) takes a `Progress` snapshot from the spider and
Scrapy's stats:

- on a terminal (SERPWATCH_PROGRESS = "auto" and stderr a TTY, or "live"):
  a rich live display, redrawn twice a second, with the log above it;
- otherwise ("auto" without a TTY, or "log"): one summary line in the log
  every SERPWATCH_PROGRESS_INTERVAL seconds, and one at the end;
- always, every SERPWATCH_PROGRESS_DB_INTERVAL seconds: the snapshot as JSON
  in `runs.progress`, so `serpwatch runs`, or Datasette, in another terminal
  shows a running run's progress.

"off" turns the display and the lines off; the database still gets it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field

from crawler import stats_keys, storage
from crawler.items import PageItem

logger = logging.getLogger(__name__)


@dataclass
class EngineProgress:
    name: str
    done: int  # queries this engine is finished with (answered, failed or dropped)
    total: int
    serp_pages: int = 0
    blocked: str | None = None


@dataclass
class Progress:
    """One snapshot of a running crawl."""

    engines: list[EngineProgress] = field(default_factory=list)
    landing_done: int = 0  # landing pages fetched (or failed)
    landing_total: int = 0  # landing pages requested so far
    numbers: int = 0  # distinct numbers found on landing pages (official ones too)
    flagged: int = 0  # distinct numbers flagged on some page
    blocks: int = 0  # block pages met
    elapsed: float = 0.0
    eta: float | None = None  # a rough guess at the seconds left
    finished: bool = False

    @property
    def serp_pages(self) -> int:
        return sum(e.serp_pages for e in self.engines)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Progress:
        engines = [EngineProgress(**e) for e in data.get("engines") or []]
        rest = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "engines"}
        return cls(engines=engines, **rest)

    def line(self) -> str:
        """One line for a log or `serpwatch runs`."""
        engines = " ".join(
            f"{e.name} {e.done}/{e.total}" + (" BLOCKED" if e.blocked else "") for e in self.engines
        )
        left = "done" if self.finished else f"~{duration(self.eta)} left"
        return (
            f"queries {engines}; {self.serp_pages} result pages, "
            f"{self.landing_done}/{self.landing_total} landing pages; "
            f"{self.numbers} numbers, {self.flagged} flagged; {self.blocks} blocks; "
            f"{duration(self.elapsed)} elapsed, {left}"
        )


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def snapshot(spider, stats: dict, counts: dict, started: float) -> Progress:
    """Progress from the search spider's state and the crawl's stats."""
    total = len(getattr(spider, "queries", []) or [])
    merges = getattr(spider, "merges", []) or []
    engines = []
    for name, run in (getattr(spider, "engines", {}) or {}).items():
        done = sum(1 for m in merges if name not in m.waiting)
        engines.append(
            EngineProgress(
                name=name,
                done=done,
                total=total,
                serp_pages=stats.get(stats_keys.SERP_PAGES(name), 0),
                blocked=run.blocked,
            )
        )
    landing_done = (
        counts["pages"]
        + stats.get(stats_keys.PAGES_FAILED.total, 0)
        # Pages that are not HTML, or that the guards refused, are done with too.
        + stats.get(stats_keys.PAGES_NOT_HTML, 0)
    )
    landing_total = max(stats.get(stats_keys.LANDING_PAGES, 0), landing_done)
    blocks = sum(stats_keys.BLOCKED_PAGES.parts(stats).values())
    elapsed = time.monotonic() - started
    return Progress(
        engines=engines,
        landing_done=landing_done,
        landing_total=landing_total,
        numbers=len(counts["numbers"]),
        flagged=len(counts["flagged"]),
        blocks=blocks,
        elapsed=elapsed,
        eta=_eta(engines, landing_done, landing_total, elapsed),
    )


def _eta(engines, landing_done: int, landing_total: int, elapsed: float) -> float | None:
    """Seconds left, guessed from the work done so far: queries still to ask, and the
    landing pages they will bring at the rate the finished queries brought them."""
    q_done = sum(e.done for e in engines)
    q_total = sum(e.total for e in engines)
    if q_done == 0:
        return None
    per_query = landing_total / q_done
    work_total = q_total + landing_total + per_query * (q_total - q_done)
    work_done = q_done + landing_done
    if work_done <= 0:
        return None
    return max(0.0, elapsed * (work_total - work_done) / work_done)


def render(progress: Progress):
    """The live display: a table of engines and a line of totals (rich)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title="serpwatch crawl", title_justify="left", expand=False)
    table.add_column("engine")
    table.add_column("queries", justify="right")
    table.add_column("result pages", justify="right")
    table.add_column("state")
    for e in progress.engines:
        state = f"BLOCKED: {e.blocked}" if e.blocked else ("done" if e.done >= e.total else "")
        table.add_row(e.name, f"{e.done}/{e.total}", str(e.serp_pages), state)
    left = "done" if progress.finished else f"~{duration(progress.eta)} left"
    totals = Text(
        f"landing pages {progress.landing_done}/{progress.landing_total}  "
        f"numbers {progress.numbers}  flagged {progress.flagged}  blocks {progress.blocks}  "
        f"elapsed {duration(progress.elapsed)}  {left}"
    )
    return Group(table, totals)


class ProgressExtension:
    """Scrapy extension: the live display or log lines, and `runs.progress`."""

    def __init__(self, crawler):
        from scrapy import signals

        self.crawler = crawler
        settings = crawler.settings
        mode = (settings.get("SERPWATCH_PROGRESS") or "auto").lower()
        if mode == "auto":
            tty = sys.stderr.isatty() and not settings.get("LOG_FILE")
            mode = "live" if tty else "log"
        self.mode = mode
        self.interval = settings.getfloat("SERPWATCH_PROGRESS_INTERVAL", 30.0)
        self.db_interval = settings.getfloat("SERPWATCH_PROGRESS_DB_INTERVAL", 5.0)
        self.counts: dict = {"pages": 0, "numbers": set(), "flagged": set()}
        self.started = time.monotonic()
        self.last_log = self.last_db = self.started
        self.db = None
        self.loop = None
        self.live = None
        self._streams: list = []
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def opened(self, spider):
        from twisted.internet import task

        self.started = time.monotonic()
        self.last_log = self.last_db = self.started
        if self.mode == "live":
            self._start_live()
        self.loop = task.LoopingCall(self.tick)
        step = 0.5 if self.mode == "live" else min(self.interval, self.db_interval, 1.0)
        self.loop.start(max(step, 0.05), now=False)

    def scraped(self, item, spider):
        if not isinstance(item, PageItem):
            return
        self.counts["pages"] += 1
        for v in item.verdicts:
            self.counts["numbers"].add(v.phone)
            if v.flagged:
                self.counts["flagged"].add(v.phone)

    def current(self) -> Progress:
        spider = self.crawler.spider
        return snapshot(spider, self.crawler.stats.get_stats(), self.counts, self.started)

    def tick(self, final: bool = False) -> None:
        try:
            progress = self.current()
        except Exception:  # noqa: BLE001 - progress must never break a crawl
            logger.debug("progress snapshot failed", exc_info=True)
            return
        progress.finished = final
        now = time.monotonic()
        if self.live is not None:
            self.live.update(render(progress), refresh=True)
        elif self.mode == "log" and (final or now - self.last_log >= self.interval):
            self.last_log = now
            logger.info("progress: %s", progress.line())
        if final or now - self.last_db >= self.db_interval:
            self.last_db = now
            self._save(progress)

    def _save(self, progress: Progress) -> None:
        run_id = self.crawler.stats.get_value(stats_keys.RUN_ID)
        if run_id is None:
            return
        try:
            if self.db is None:
                self.db = storage.open_db(self.crawler.settings.get("SERPWATCH_DB"))
            storage.save_progress(self.db, run_id, progress.to_dict())
        except Exception:  # noqa: BLE001 - a locked or busy database must not stop the crawl
            logger.warning("could not write the run's progress", exc_info=True)

    def closed(self, spider, reason):
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.tick(final=True)
        self._stop_live()
        if self.db is not None:
            self.db.close()
            self.db = None

    # -- the live display ------------------------------------------------------

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=sys.stderr)
        self.live = Live(
            render(Progress()), console=console, auto_refresh=False, redirect_stderr=True
        )
        self.live.start()
        # Scrapy's log handler holds the real stderr: send its lines through the
        # display, which prints them above itself.
        for handler in logging.getLogger().handlers:
            stream = getattr(handler, "stream", None)
            if stream is sys.__stderr__ or stream is console.file:
                self._streams.append((handler, stream))
                handler.setStream(sys.stderr)

    def _stop_live(self) -> None:
        if self.live is None:
            return
        self.live.stop()
        for handler, stream in self._streams:
            handler.setStream(stream)
        self._streams = []
        self.live = None


def progress_line(raw: str | None) -> str | None:
    """The one-line form of a stored `runs.progress`, or None."""
    if not raw:
        return None
    try:
        return Progress.from_dict(json.loads(raw)).line()
    except (ValueError, TypeError):
        return None
