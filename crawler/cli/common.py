"""What every command shares: the default database, the --db option,
`friendly`, which turns a user's error into one line and an exit code, and
where a database's evidence lives.

Command modules import these from here, never from crawler.cli, which
imports them to register their commands (no import cycles).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from pathlib import Path

import click

from crawler.lock import EXIT_BUSY, CrawlRunning, LockError
from crawler.storage import DatabaseUnusable
from crawler.storage.connection import storage_failure, unusable
from crawler.storage.schema import SchemaTooNew
from crawler.tomllines import ConfigError

DEFAULT_DB = "serpwatch.db"


def friendly(func):
    """Turn user errors into one clear line and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ConfigError, SchemaTooNew, DatabaseUnusable) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except BrokenPipeError:
            quiet_broken_pipe()
        except KeyboardInterrupt:  # Ctrl-C outside a crawl (a crawl handles its own signals)
            sys.exit(130)
        except CrawlRunning as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_BUSY)
        except LockError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except sqlite3.Error as exc:
            _unusable_after_open(exc, kwargs.get("db_path"))
        except Exception as exc:  # noqa: BLE001 - last line of defence for users
            _unexpected(exc)

    return wrapper


def _unusable_after_open(exc: sqlite3.Error, db_path) -> None:
    """A database that opened but failed later (a damaged page, a read-only file, a
    full disk): exit 2 naming the file, as `open_db` does for one that cannot open.
    Any other SQLite error is ours, not the user's: exit 1, as for every other."""
    reason = storage_failure(exc)
    if reason is None or os.environ.get("SERPWATCH_DEBUG"):
        _unexpected(exc)
    click.echo(f"error: {unusable(db_path or 'the database', reason)}", err=True)
    sys.exit(2)


def _unexpected(exc: Exception) -> None:
    if os.environ.get("SERPWATCH_DEBUG"):
        raise exc
    click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
    click.echo("(set SERPWATCH_DEBUG=1 for the full traceback)", err=True)
    sys.exit(1)


def quiet_broken_pipe() -> None:
    """The reader went away (`serpwatch flags | head -1`): stop quietly with 0, like Unix tools.

    Python would complain again when it flushes stdout at exit: point stdout at
    /dev/null first (the recipe in Python's signal documentation).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def setting_overrides(settings) -> dict:
    """The `-s NAME=VALUE` options as a dict; a malformed one is bad usage (exit 2)."""
    out = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="-s")
        out[name] = value
    return out


db_option = click.option(
    "--db",
    "db_path",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite database file.",
)


def warc_dir(db_path) -> Path:
    """The folder of a database's WARC files (SERPWATCH_WARC_DIR, or beside the database)."""
    from crawler import settings
    from crawler.evidence import warc_dir_for

    return warc_dir_for(db_path, settings.SERPWATCH_WARC_DIR or None)
