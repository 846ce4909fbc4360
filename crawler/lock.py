"""One crawl at a time per database: a lock file held for the whole run.

The lock is `<database>.lock` beside the database (or SERPWATCH_LOCK_FILE),
taken with `flock`, so the kernel drops it the moment the holding process dies,
however it dies. The file's content says who holds it (host, pid, start time,
run id, Scrapyd job), so a second crawl can name the running one. A clean exit
empties the file; content found by a process that did get the lock is a stale
lock left by a killed process, taken over with a warning.

The file is never deleted: a process that opened it just before a delete would
lock an orphaned inode while a third one locks a new file.

`serpwatch crawl` takes the lock before Scrapy starts (`hold`), so a refusal
is one clear line and exit code 75 (EX_TEMPFAIL: "try again later", which is
what cron and systemd should make of an overlap). `scrapy crawl` and Scrapyd
jobs take it when the spider opens (`RunGuard`, from the first pipeline,
pipelines/lock.py), before any pipeline opens the database; there the refused
job logs the same line and exits 75 without creating a run.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from crawler import stats_keys

logger = logging.getLogger(__name__)

EXIT_BUSY = 75  # sysexits.h EX_TEMPFAIL: another crawl holds the database


@dataclass
class Holder:
    """Who holds (or held) the lock."""

    host: str = ""
    pid: int = 0
    started_at: str = ""
    run_id: int | None = None
    job: str | None = None  # the Scrapyd job id, when the crawl is a Scrapyd job
    profile: str | None = None

    def describe(self) -> str:
        run = f"run {self.run_id}" if self.run_id else "a crawl (its run not yet recorded)"
        parts = [run]
        if self.profile:
            parts.append(f"profile {self.profile}")
        if self.job:
            parts.append(f"Scrapyd job {self.job}")
        parts += [f"host {self.host or '?'}", f"pid {self.pid or '?'}"]
        parts.append(f"started {self.started_at or '?'}")
        return ", ".join(parts)

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        known = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in known.items() if v is not None})


class LockError(Exception):
    """The lock file cannot be created or opened (an unwritable folder, say)."""


class CrawlRunning(Exception):
    """Another crawl holds the database's lock."""

    def __init__(self, db: str, path: Path, holder: Holder | None):
        self.db = db
        self.path = path
        self.holder = holder
        who = holder.describe() if holder else "a crawl that did not say who it is"
        super().__init__(
            f"another crawl is running on {db}: {who} (lock file {path}); "
            f"this one exits with code {EXIT_BUSY} and changes nothing"
        )


def lock_path_for(db: Path | str, override: str | None = None) -> Path:
    override = override or os.environ.get("SERPWATCH_LOCK_FILE")
    # Beside the file itself: a crawl through a symlink (or another spelling of
    # the path) takes the same lock as one on the file's own name.
    return Path(override) if override else Path(f"{os.path.realpath(db)}.lock")


class CrawlLock:
    """The lock on one database, held by this process."""

    def __init__(self, db: Path | str, path: Path | str | None = None):
        self.db = str(db)
        self.path = Path(path) if path else lock_path_for(db)
        self.fd: int | None = None
        self.holder = Holder()
        self.stale: Holder | None = None  # who left the lock we took over, if anyone

    def acquire(self, **info) -> CrawlLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LockError(
                f"cannot create the lock file {self.path}: {exc.strerror or exc}; the"
                " database's folder must be writable (or set SERPWATCH_LOCK_FILE to a"
                " writable path)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = Holder.parse(_read(fd))
            os.close(fd)
            raise CrawlRunning(self.db, self.path, holder) from None
        except OSError as exc:
            os.close(fd)
            raise LockError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        self.fd = fd
        left = _read(fd).strip()
        if left:
            # We got the lock, yet the file names a holder: it was killed before
            # it could clear the file (SIGKILL, power loss, OOM).
            self.stale = Holder.parse(left) or Holder()
            logger.warning(
                "took over a stale lock on %s left by %s (that process is gone)",
                self.db,
                self.stale.describe(),
            )
        self.holder = Holder(
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            **info,
        )
        self._write()
        _HELD[_key(self.path)] = self
        return self

    def update(self, **info) -> None:
        """Add what is learnt later (the run id) to the lock file."""
        for name, value in info.items():
            setattr(self.holder, name, value)
        self._write()

    def _write(self) -> None:
        if self.fd is None:
            return
        data = json.dumps(asdict(self.holder), sort_keys=True).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data + b"\n", 0)
        os.fsync(self.fd)

    def release(self) -> None:
        if self.fd is None:
            return
        _HELD.pop(_key(self.path), None)
        try:
            os.ftruncate(self.fd, 0)  # an empty file: released cleanly, nothing stale
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


_HELD: dict[str, CrawlLock] = {}


def _key(path: Path) -> str:
    return str(path.resolve())


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        return ""


def held(db: Path | str, path: Path | str | None = None) -> CrawlLock | None:
    """The lock on `db` if this process already holds it (the CLI took it before Scrapy)."""
    return _HELD.get(_key(Path(path) if path else lock_path_for(db)))


def current_holder(db: Path | str, path: Path | str | None = None) -> Holder | None:
    """Who holds the lock on `db` right now, or None when no crawl is running."""
    lock_path = Path(path) if path else lock_path_for(db)
    if held(db, path):
        return _HELD[_key(lock_path)].holder
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return Holder.parse(_read(fd)) or Holder()
    except OSError:
        return None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextmanager
def hold(db: Path | str, path: Path | str | None = None, **info):
    """Hold the lock on `db` for the block (re-entrant within this process)."""
    mine = held(db, path)
    if mine is not None:
        yield mine
        return
    lock = CrawlLock(db, path).acquire(**info)
    try:
        yield lock
    finally:
        lock.release()


class RunGuard:
    """The lock for one Scrapy crawl, whoever started it (CLI, `scrapy crawl`,
    Scrapyd): taken when the spider opens, before any pipeline touches the
    database (pipelines/lock.py opens first), held until the engine stops, after
    the run is stored and the alerts are sent. The CLI's own lock is reused.

    Not at crawler creation: tests and tools build crawlers that never crawl."""

    def __init__(self, crawler):
        from scrapy import signals

        self.crawler = crawler
        self.lock: CrawlLock | None = None
        self.owned = False
        crawler.signals.connect(self.run_started, signal=signals.spider_opened)
        crawler.signals.connect(self.stopped, signal=signals.engine_stopped)

    def acquire(self) -> None:
        settings = self.crawler.settings
        db = settings.get("SERPWATCH_DB")
        path = settings.get("SERPWATCH_LOCK_FILE") or None
        self.lock = held(db, path)
        if self.lock is not None:
            return
        try:
            self.lock = CrawlLock(db, path).acquire(job=scrapyd_job(self.crawler.spider))
        except (CrawlRunning, LockError) as exc:
            # One clear line and the documented exit code, not a traceback: no
            # pipeline has opened the database, so there is nothing to close.
            logger.error("%s", exc)
            for handler in logging.getLogger().handlers:
                handler.flush()
            raise SystemExit(EXIT_BUSY if isinstance(exc, CrawlRunning) else 2) from None
        self.owned = True

    def run_started(self, spider):
        if self.lock is None:
            return
        profile = getattr(getattr(spider, "profile", None), "name", None)
        self.lock.update(run_id=self.crawler.stats.get_value(stats_keys.RUN_ID), profile=profile)

    def stopped(self):
        if self.owned and self.lock is not None:
            self.lock.release()
            self.owned = False


def scrapyd_job(spider) -> str | None:
    """The Scrapyd job id: Scrapyd runs each job as `scrapy crawl ... -a _job=ID`
    (older versions also set SCRAPY_JOB)."""
    return getattr(spider, "_job", None) or os.environ.get("SCRAPY_JOB") or None
