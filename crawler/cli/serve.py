"""`serpwatch report` and `serpwatch serve`: a run's HTML report, the database in Datasette.

The work is crawler.exports.report and crawler.datasette.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from crawler.cli.common import db_option, friendly, warc_dir


@click.command("report")
@click.option(
    "--run", "run", default="last", show_default=True, metavar="last|ID", help="Run to report on."
)
@db_option
@click.option(
    "--out",
    "out_file",
    default="serpwatch-report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="HTML file to write.",
)
@friendly
def report(run, db_path, out_file):
    """Write a self-contained HTML report on a crawl run.

    Counts, the new flags, a chart of flagged numbers over time per brand,
    the top sites and numbers. No scripts or external assets; page text is
    escaped.

    Example: serpwatch report --run last --db nl.db --out report.html
    """
    from crawler import storage
    from crawler.exports.report import write_report

    db = storage.open_db(db_path, create=False)
    if not storage.runs(db):
        click.echo(f"{db_path}: no crawl runs yet; nothing to report")
        return
    try:
        path = write_report(db, out_file, run)
    except LookupError as exc:
        raise click.BadParameter(str(exc), param_hint="--run") from None
    click.echo(f"report: {path}")


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@friendly
def serve(db_path, host, port):
    """Browse the database in Datasette for triage (read while a crawl writes).

    With the project's views and metadata: flagged numbers and flagged sites
    (facets on brand, risk, status, engine), the query "new since last run",
    scam URLs as text, and each WARC record viewable as evidence.

    Example: serpwatch serve --db nl.db --port 8001
    """
    from crawler import storage
    from crawler.datasette import serve_args

    # Tables, views and WAL in place before readers arrive; a missing file is an
    # error (exit 2), a busy port too (exit 1), before Datasette starts.
    storage.open_db(db_path, create=False).close()
    _port_free(host, port)
    args = serve_args(Path(db_path), warc_dir(db_path), host, port)
    os.execv(sys.executable, args)


def _port_free(host: str, port: int) -> None:
    """Datasette would fail with a traceback on a busy port: say so first (exit 1)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except socket.gaierror as exc:  # not a busy port: no such host here
            raise click.BadParameter(
                f"{host}: {exc.strerror or exc}", param_hint="--host"
            ) from None
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}"
                " (another `serpwatch serve`?); choose another with --port"
            ) from None
