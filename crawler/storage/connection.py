"""Opening a serpwatch database: WAL and the busy timeout, the schema's
migrations on open (crawler.storage.schema), what counts as a storage
failure, and the small helpers every part of storage uses (time, keys).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from crawler.storage import schema

# How long a write waits for another writer (a crawl, a migration) before failing.
BUSY_TIMEOUT_MS = 30_000


# SQLite result codes that mean "this database takes no more writes".
_STORAGE_FAILURES = {
    sqlite3.SQLITE_FULL: "disk full",
    sqlite3.SQLITE_IOERR: "disk I/O error",
    sqlite3.SQLITE_READONLY: "database is read-only",
    sqlite3.SQLITE_CANTOPEN: "cannot open the database file",
    sqlite3.SQLITE_CORRUPT: "database file is corrupt",
    sqlite3.SQLITE_NOTADB: "not a SQLite database",
}


def storage_failure(exc: BaseException) -> str | None:
    """Why the database cannot be written, for an error that says so; else None."""
    if isinstance(exc, OSError) and getattr(exc, "errno", None) == 28:  # ENOSPC
        return "disk full"
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return _STORAGE_FAILURES.get(code & 0xFF)
    text = str(exc).lower()
    for words, reason in (
        ("disk is full", "disk full"),
        ("disk i/o", "disk I/O error"),
        ("readonly", "database is read-only"),
        ("read-only", "database is read-only"),
    ):
        if words in text:
            return reason
    return None


def cap_size(db: Database, max_bytes: int) -> None:
    """Let this connection grow the file to `max_bytes` at most (SERPWATCH_DB_MAX_BYTES);
    past that, writes fail as on a full disk."""
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    db.execute(f"PRAGMA max_page_count = {max(1, int(max_bytes) // page_size)}")


# The page cache of the connection that writes a run (`as_run_writer`), in KiB. A run's
# saves and its end read and rewrite the same pages all run long: its pairs, numbers
# and sites and their indexes, scattered over a year's file (about 200 MB of pages
# for 20,000 sightings in 1M). SQLite's default, 2 MB, let them fall out and be read
# again from the file by nearly every statement: with other jobs pushing the file out
# of the OS's cache, the end of a run's wall time ran seconds ahead of its CPU
# (docs/SCALE.md). Taken as needed, up to this size.
WRITER_CACHE_KIB = 256 * 1024
# How many WAL pages the run's writer lets gather before it copies them into the file
# (SQLite's default: 1,000). A run commits a batch of saves at a time and each batch
# rewrites the same hot pages (the pairs' and sightings' indexes): checkpointed every
# 1,000 pages, they were copied and synced again and again, a third of a year-sized
# run's saving time (docs/SCALE.md). About 40 MB of WAL at most; the end of the run
# folds it in (`fold_wal`), so the next command does not inherit it.
WRITER_CHECKPOINT_PAGES = 10_000


def as_run_writer(db: Database) -> None:
    """Set up the connection that writes a run (the store): a page cache to match, its
    temporary files in memory, and a WAL checkpointed every `WRITER_CHECKPOINT_PAGES`.
    A statement's journal (a trigger that writes, as the change tracking's do, makes
    every UPDATE keep one) spilled into a temporary file past 64 KiB and was written
    there, a few pages a row, at every row the end of a run rewrites (docs/SCALE.md)."""
    db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}")


def fold_wal(db: Database) -> None:
    """Copy what the WAL holds into the database file now (a passive checkpoint: it waits
    for no reader, and a reader's snapshot keeps the pages it still reads). Only a
    saving of time for the next connection to write: what was committed is safe in
    the WAL either way, so a failure here (a full disk) is not the run's. Not inside
    a transaction: its writes are not in the WAL yet (and SQLite refuses)."""
    if db.conn.in_transaction:
        return
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:
        if storage_failure(exc) is None:
            raise


@contextmanager
def in_transaction(db: Database) -> Iterator[None]:
    """A transaction for a batch of writes: the caller's when one is open (its commit or
    rollback takes the batch with the rest), its own otherwise; never a savepoint.

    SQLite copies every page a savepoint changes into a sub-journal, a temporary
    file past 64 KiB, and, under a trigger that writes (the change tracking of
    schema 0024), each updated row's pages again, for the statement: inside
    sqlite-utils' nested `atomic()` the end of a run's 20,000 pair updates cost
    twice their own time (docs/SCALE.md)."""
    if db.conn.in_transaction:
        yield
    else:
        with db.atomic():
            yield


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_time(at: str | None) -> datetime | None:
    """A stored ISO timestamp as an aware datetime (UTC when it has no zone); None if unreadable."""
    if not at:
        return None
    try:
        t = datetime.fromisoformat(at)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def key(*parts) -> str:
    """Stable short id from natural-key parts."""
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:20]


class DatabaseUnusable(Exception):
    """The database file is missing (for a read command), unreadable, or not a database."""


def open_db(path: Path | str, *, create: bool = True) -> Database:
    """Open (and migrate) the database; `create=False` for commands that only read.

    Raises `DatabaseUnusable` with a one-line reason naming the file when it
    is missing (and `create` is false), cannot be created or opened, or is
    not a SQLite database; `schema.SchemaTooNew` when a newer serpwatch wrote it.
    """
    path = Path(path)
    if not create and not path.exists():
        raise DatabaseUnusable(
            f"{path}: file not found: no such database (check --db; a crawl or"
            " `serpwatch demo` creates one)"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        # WAL lets analysts read while a crawl writes; the busy timeout makes a
        # writer wait for a reader's checkpoint instead of failing.
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        schema.refuse_foreign(db)
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        ensure_db_shape(db, label=str(path))
    except (OSError, sqlite3.Error, schema.ForeignDatabase) as exc:
        reason = storage_failure(exc) or (exc.strerror if isinstance(exc, OSError) else str(exc))
        raise DatabaseUnusable(unusable(path, reason)) from exc
    return db


def unusable(path, reason: str) -> str:
    """The one line that says why a database cannot be used, and what to do."""
    hint = _WHAT_TO_DO.get(reason)
    return f"{path}: cannot use this database: {reason}" + (
        f"; {hint.format(path=path)}" if hint else ""
    )


_WHAT_TO_DO = {
    "database file is corrupt": "`sqlite3 {path} 'pragma integrity_check'` shows where;"
    " restore the file from a backup",
    "database is read-only": "make the file and its folder writable, or work on a copy",
    "disk full": "free some space and run the command again; what was stored is kept",
}


def db_file(db: Database) -> Path | None:
    """The file of a database (None in memory)."""
    for _seq, name, file in db.execute("pragma database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def ensure_db_shape(db: Database, *, label: str = "database") -> list[str]:
    """Bring the database to this code's schema (schema.py's migrations); safe on every open.

    Returns the names of the migrations applied; raises `schema.SchemaTooNew`
    for a database written by a newer serpwatch.
    """
    return schema.migrate(db, label=label)


def _has(db: Database, table: str, column: str) -> bool:
    return table in db.table_names() and column in db[table].columns_dict


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
