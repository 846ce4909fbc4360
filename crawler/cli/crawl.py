"""`serpwatch demo` and `serpwatch crawl`: run the job and print what the run did.

The crawl itself is crawler.crawl (one process) or crawler.cli.scale (with
--redis); crawler.crawl.settle gives the run's end (status, exit code), and
crawler.cli.runs its summary lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler import stats_keys
from crawler.cli.common import db_option, friendly, setting_overrides, warc_dir
from crawler.tables import flag_table

DEMO_DIR = Path(__file__).parents[1] / "demo"


def _flag_table(records: list[dict]) -> str:
    return flag_table(records) if records else "No flagged numbers."


def _do_crawl(profile, db_path, overrides=None, proxy=None, redis_url=None) -> tuple[int, int]:
    """Crawl, print the run's summary; return the run id and the exit code it earned."""
    from crawler import storage
    from crawler.cli.runs import summary_lines
    from crawler.crawl import run_crawl, settle
    from crawler.run_status import exit_code

    if redis_url:  # distributed mode (crawler/cli/scale.py)
        from crawler.cli.scale import run_distributed

        stats = run_distributed(profile, db_path, overrides or {}, redis_url)
    else:
        stats = run_crawl(profile, db_path, overrides, proxy=proxy)
    end = settle(db_path, stats)
    if end is None and stats.get(stats_keys.SIGNAL):  # stopped before the spider opened a run
        click.echo(f"interrupted by {stats[stats_keys.SIGNAL]} before a run was opened", err=True)
        sys.exit(exit_code("interrupted", stats[stats_keys.SIGNAL]))
    if end is None:
        raise click.ClickException("the crawl did not start; see the log above")
    db = storage.open_db(db_path)
    for line in summary_lines(db, end.run_id):
        click.echo(line)
    if end.closed_here and _alerts_on(profile, db_path, overrides):
        _alert_run_closed_here(db, profile, end.run_id)
    db.close()
    if end.late_signal:
        click.echo(
            f"{end.late_signal} came after run {end.run_id} was recorded {end.status};"
            " the exit code is the run's",
            err=True,
        )
    return end.run_id, end.exit_code


def _alerts_on(profile, db_path, overrides) -> bool:
    """Does this crawl send the profile's alerts (`-s SERPWATCH_ALERTS=0` turns them off)?"""
    from crawler.crawl import build_settings

    on = build_settings(db_path, overrides).getbool("SERPWATCH_ALERTS", True)
    return on and profile.alerts is not None


def _alert_run_closed_here(db, profile, run_id: int) -> None:
    """The alert of a run stopped before Scrapy's engine started, which the crawl's end
    (crawler.alerts.AlertsExtension) never reached: that it did not finish. Tried once,
    as after any stop; a failed delivery is recorded and told at the next run."""
    from crawler.alerts import alert_run

    try:
        alert_run(db, profile.name, profile.alerts, run_id, reason="shutdown", retries=1)
    except Exception as exc:  # noqa: BLE001 - alerts never change the crawl's outcome
        click.echo(f"alerts for run {run_id} failed: {exc}", err=True)


@click.command("demo")
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
        run_id, code = _do_crawl(profile, db_path, overrides, proxy=web.proxy_url)
    if code in (130, 143):  # stopped by the user: what it stored stays, nothing more is made
        click.echo("demo interrupted: no exports or report written", err=True)
        sys.exit(code)
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
    click.echo(f"evidence: {warc_dir(db_path)}")
    click.echo(f"report:   {report}")
    if code:  # the run's own exit (an engine of the demo web failed): not a success
        sys.exit(code)


@click.command("crawl")
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
    overrides = setting_overrides(settings)
    if jobdir:
        overrides["JOBDIR"] = jobdir
    _, code = _do_crawl(profile, db_path, overrides, redis_url=redis_url)
    if code:
        sys.exit(code)
