"""serpwatch: find fake helpdesk numbers in search results.

Exit codes: 0 ok, 1 anything else, 2 bad usage or bad config, 3 blocked by
the engine, 75 another crawl holds the database (crawler.lock).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from crawler.cli.common import db_option, friendly
from crawler.risk import RISK_LEVELS
from crawler.tables import flag_table

DEMO_DIR = Path(__file__).parents[1] / "demo"


@click.group()
@click.version_option(package_name="serpwatch")
def main():
    """Find fake helpdesk numbers in search results.

    Run the queries victims type, follow the results and ads, flag every
    phone number that is not the brand's official contact.
    """
    _show_schema_log()


class _EchoHandler(logging.Handler):
    """Log records as lines on stderr, through click (so tests capture them)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"serpwatch: {record.getMessage()}", err=True)


def _show_schema_log() -> None:
    """Every command says when it upgraded a database's schema (crawler.schema)."""
    log = logging.getLogger("crawler.schema")
    if not any(isinstance(h, _EchoHandler) for h in log.handlers):
        log.addHandler(_EchoHandler())
    log.setLevel(logging.INFO)
    log.propagate = False  # one line, not a second one through Scrapy's root handler


def _flag_table(records: list[dict]) -> str:
    return flag_table(records) if records else "No flagged numbers."


def _warc_dir(db_path) -> Path:
    from crawler import settings
    from crawler.evidence import warc_dir_for

    return warc_dir_for(db_path, settings.SERPWATCH_WARC_DIR or None)


def _do_crawl(profile, db_path, overrides=None, proxy=None, redis_url=None) -> tuple[int, int]:
    """Crawl, print the run's summary; return the run id and the exit code it earned."""
    from crawler import storage
    from crawler.cli.runs import exit_code, summary_lines
    from crawler.crawl import run_crawl

    if redis_url:  # distributed mode (crawler/cli/scale.py)
        from crawler.cli.scale import run_distributed

        stats = run_distributed(profile, db_path, overrides or {}, redis_url)
    else:
        stats = run_crawl(profile, db_path, overrides, proxy=proxy)
    run_id = stats.get("serpwatch/run_id")
    if run_id is None:
        raise click.ClickException("the crawl did not start; see the log above")
    db = storage.open_db(db_path)
    if stats.get("serpwatch/forced") and storage.get_run(db, run_id)["status"] == "running":
        # A second signal stopped the reactor before the pipeline closed the run:
        # close it here from the crawl's stats (no history: the run covered too little).
        storage.finish_crawl(db, run_id, {**stats, "finish_reason": "shutdown"})
    for line in summary_lines(db, run_id):
        click.echo(line)
    code = exit_code(storage.get_run(db, run_id)["status"], stats.get("serpwatch/signal"))
    db.close()
    return run_id, code


@main.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Database file.")
@click.option(
    "--out",
    "out_dir",
    default="serpwatch-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the database and the exports.",
)
@friendly
def demo(db_path, out_dir):
    """Run the whole job on the embedded demo web and print what was flagged.

    Starts a search engine and a dozen sites on 127.0.0.1, crawls them with the
    bundled demo profile, prints the flagged numbers and writes the exports.

    Example: serpwatch demo --out /tmp/demo
    """
    from crawler import storage
    from crawler.config import load_profile
    from crawler.demo.web import DemoWeb
    from crawler.exports.core import default_floor, prepare_export
    from crawler.exports.recipients import load_presets
    from crawler.exports.report import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db_path = Path(db_path) if db_path else out / "demo.db"
    profile = load_profile(DEMO_DIR / "profile.toml")
    with DemoWeb() as web:
        for engine in profile.engines:
            engine.url = web.search_url
        click.echo(f"demo web on {web.base_url} (search engine and proxy for 12 sites)")
        # The demo's sites answer in a millisecond: AutoThrottle needs no head start.
        overrides = {
            "LOG_LEVEL": "WARNING",
            "AUTOTHROTTLE_START_DELAY": 0,
            # With a browser, every flagged page of the demo gets its picture.
            "SERPWATCH_RENDER_MIN_RISK": "low",
        }
        run_id, _ = _do_crawl(profile, db_path, overrides, proxy=web.proxy_url)
    db = storage.open_db(db_path)
    records = storage.flagged(db, run_id=run_id)
    click.echo("")
    click.echo(_flag_table(records))
    click.echo("")
    presets = load_presets()
    written = []
    for recipient, fmt, name in (
        ("default", "jsonl", "flagged.jsonl"),
        ("default", "csv", "flagged.csv"),
        ("default", "stix", "flagged.stix.json"),
        ("default", "misp", "flagged.misp.json"),
        ("hosting", "xarf", "hosting.xarf.jsonl"),
    ):
        preset = presets[recipient]
        floor = default_floor(preset, fmt)
        (out / name).write_bytes(
            prepare_export(db, preset, fmt, run_id=run_id, min_risk=floor).data
        )
        written.append(str(out / name))
    report = write_report(db, out / "report.html", run_id)
    click.echo(f"database: {db_path}")
    click.echo(f"exports:  {', '.join(written)}")
    click.echo(f"evidence: {_warc_dir(db_path)}")
    click.echo(f"report:   {report}")


@main.command()
@click.argument("profile_path", metavar="PROFILE.toml", type=click.Path(dir_okay=False))
@db_option
@click.option("--jobdir", type=click.Path(file_okay=False), help="Scrapy JOBDIR to pause/resume.")
@click.option(
    "-s", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting."
)
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    help="Distributed: seed a run in this Redis, store it and work on it; workers join.",
)
@friendly
def crawl(profile_path, db_path, jobdir, settings, redis_url):
    """Run a profile's queries on its engines and store what was found.

    Prints one line per engine. Exit 0 when every engine answered every query,
    3 when every engine blocked, 1 otherwise (some or all engines failed or
    blocked, or storage failed), 130 / 143 when stopped by SIGINT / SIGTERM
    (a second signal stops at once).

    With --redis the run goes into Redis and `serpwatch worker` processes on any
    machine share its work (README: More than one machine).

    Example: serpwatch crawl profiles/nl.toml --db nl.db -s DOWNLOAD_DELAY=2
    """
    from crawler.config import load_profile

    profile = load_profile(profile_path)
    overrides = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="-s")
        overrides[name] = value
    if jobdir:
        overrides["JOBDIR"] = jobdir
    _, code = _do_crawl(profile, db_path, overrides, redis_url=redis_url)
    if code:
        sys.exit(code)


@main.command()
@db_option
@click.option("--min-risk", type=click.Choice(RISK_LEVELS), default="low", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@friendly
def flags(db_path, min_risk, as_json):
    """List what needs attention: flagged (site, number) pairs, new since the last run first.

    Order: new or back in the last run, then still seen, then gone; confirmed
    ones after those; highest score first within each. Dismissed ones are left out.

    Example: serpwatch flags --min-risk high
    """
    from crawler import history, storage
    from crawler.cli.analyst import attention_table

    db = storage.open_db(db_path, create=False)
    records = history.attention(db, min_risk=min_risk)
    if as_json:
        for r in records:
            click.echo(json.dumps(r, ensure_ascii=False))
    else:
        click.echo(attention_table(records))


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "stix", "misp", "xarf"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "--recipient",
    default="default",
    show_default=True,
    help="Recipient preset: default, regulator, operator, search-engine, hosting, or one "
    "from --presets.",
)
@click.option(
    "--since",
    metavar="last|DATE",
    help="last: only what is new or changed since the last export to this recipient; "
    "DATE: only what was seen on or after it.",
)
@click.option(
    "--min-risk",
    type=click.Choice(RISK_LEVELS),
    default=None,
    help="Lowest risk exported [default: the recipient's, low for default].",
)
@db_option
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="File (default stdout).")
@click.option(
    "--presets",
    "presets_path",
    type=click.Path(dir_okay=False),
    help="TOML file with more recipient presets (added to the bundled ones).",
)
@click.option("--dry-run", is_flag=True, help="Write the export but leave the ledger alone.")
@click.option(
    "--record",
    is_flag=True,
    help="Record an export to stdout in the ledger as delivered (a file with --out always is).",
)
@friendly
def export(fmt, recipient, since, min_risk, db_path, out_file, presets_path, dry_run, record):
    """Export flagged numbers and sites for a recipient as JSONL, CSV, STIX 2.1, MISP or XARF.

    A delivered export (written with --out, or to stdout with --record) is
    recorded in the exports ledger (recipient, format, time, file, SHA-256,
    the items sent), so `--since last` gives only what is new or changed
    since the last export to that recipient in that format, dismissals
    included. A preview on stdout is not recorded. CSV cells never start a
    formula: a cell starting with = + - @ or a tab gets a leading apostrophe.
    STIX and MISP carry indicators at medium risk and up unless --min-risk
    says otherwise; XARF is one abuse report per site for hosts.

    Example: serpwatch export --recipient regulator --since last --format csv --out nl.csv
    """
    from crawler import storage
    from crawler.exports.core import default_floor, parse_since, prepare_export, record_export
    from crawler.exports.recipients import load_presets

    presets = load_presets(presets_path)
    if recipient not in presets:
        raise click.BadParameter(
            f"unknown recipient {recipient!r}; use one of {', '.join(sorted(presets))}",
            param_hint="--recipient",
        )
    try:
        parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    if dry_run and record:
        raise click.UsageError("--dry-run and --record contradict each other")
    db = storage.open_db(db_path, create=False)
    preset = presets[recipient]
    floor = min_risk or default_floor(preset, fmt)
    result = prepare_export(db, preset, fmt, since=since, min_risk=floor)
    if out_file:
        Path(out_file).write_bytes(result.data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(result.data)
        sys.stdout.flush()
    if (out_file or record) and not dry_run:
        record_export(db, result, file=str(out_file) if out_file else "-")
    what = " new or changed" if since else ""
    where = f" written to {out_file}" if out_file else ""
    if not out_file and not record and not dry_run:
        where = " (a preview, not recorded: --out FILE or --record records it)"
    click.echo(
        f"{len(result.items)}{what} records for {recipient}{where} (sha256 {result.sha256})",
        err=True,
    )


@main.command()
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


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
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
    args = serve_args(Path(db_path), _warc_dir(db_path), host, port)
    os.execv(sys.executable, args)


def _port_free(host: str, port: int) -> None:
    """Datasette would fail with a traceback on a busy port: say so first (exit 1)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}"
                " (another `serpwatch serve`?); choose another with --port"
            ) from None


@main.group("serp")
def serp_group():
    """Work with saved search result pages."""


@serp_group.command("parse")
@click.option("--engine", "kind", required=True, help="Engine kind: bing, duckduckgo, ...")
@click.option("--url", default=None, help="URL the page was fetched from (resolves links).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@friendly
def serp_parse(kind, url, file):
    """Parse a saved result page; print one JSON object per result.

    Ads, organic results, then local and call cards (`kind`). Exits 3 when
    the page is a block or captcha page, or a page the parser does not
    recognise (the message names the markers it missed); a page that says
    itself that nothing was found prints nothing and says so on stderr.

    Example: serpwatch serp parse --engine bing saved.html
    """
    from crawler.engines import ENGINES

    if kind not in ENGINES:
        raise click.BadParameter(
            f"unknown engine {kind!r}; use one of {', '.join(sorted(ENGINES))}",
            param_hint="--engine",
        )
    module = ENGINES[kind]
    page = module.parse(Path(file).read_bytes(), url or module.ENDPOINT)
    if page.blocked:
        click.echo(f"{file}: blocked by {kind}: {page.blocked}", err=True)
        sys.exit(3)
    if page.unrecognised:
        click.echo(f"{file}: unrecognised {kind} page: {page.unrecognised}", err=True)
        sys.exit(3)
    for result in page.results + page.listings:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    if page.no_results:
        click.echo(f"{file}: the page says {kind} found nothing for the query", err=True)


from crawler.cli.serp import serp_unparsed  # noqa: E402

serp_unparsed.callback = friendly(serp_unparsed.callback)  # one line per error, no traceback
serp_group.add_command(serp_unparsed)


@main.group()
def phones():
    """Work with phone numbers on saved pages."""


@phones.command("extract")
@click.option("--region", default="NL", show_default=True, help="Region for national formats.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@friendly
def phones_extract(region, file):
    """Extract phone numbers from a saved HTML page; one JSON object per number.

    Example: serpwatch phones extract --region NL page.html
    """
    from crawler.phones import extract_phones

    for hit in extract_phones(Path(file).read_bytes(), region=region.upper()):
        click.echo(json.dumps(hit.to_dict(), ensure_ascii=False))


# triage, history, queries stats / try (crawler/cli/analyst.py)
from crawler.cli.analyst import register as _register_analyst  # noqa: E402

_register_analyst(main, friendly, db_option)
from crawler.cli.brands import register as _register_brands  # noqa: E402

_register_brands(main, friendly, db_option)  # brands check (crawler/cli/brands.py)
from crawler.cli import scale as cli_scale  # noqa: E402

main.add_command(cli_scale.worker)
main.add_command(cli_scale.store)

# runs (crawler/cli/runs.py)
from crawler.cli.runs import register as _register_runs  # noqa: E402

_register_runs(main, friendly, db_option)

from crawler.cli.scoring import rescore  # noqa: E402

main.add_command(rescore)

# Scheduled watch (crawler/cli/watch.py)
from crawler.cli import watch as cli_watch  # noqa: E402

main.add_command(cli_watch.status)
main.add_command(cli_watch.watch)
main.add_command(cli_watch.alerts)

# evidence KEY (crawler/cli/evidence.py)
from crawler.cli.evidence import evidence as _evidence  # noqa: E402

main.add_command(_evidence)
