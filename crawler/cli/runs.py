"""What a crawl run did, told truthfully: its summary lines and `serpwatch runs`.

A run's status and the exit code it earns are crawler.run_status (the
contract of DESIGN.md). The summary has one line per engine with its outcome,
so a scheduler's log says which engine let the run down.
"""

from __future__ import annotations

import click

from crawler import stats_keys
from crawler.cli.common import db_option, friendly


def summary_lines(db, run_id: int) -> list[str]:
    """The run's status and counts, one line per engine, history, blocks and warnings."""
    from crawler import storage

    summary = storage.RunSummary.from_row(storage.get_run(db, run_id))
    stats = summary.stats
    counts = summary.counts or storage.run_counts(db, run_id, stats)
    lines = [
        f"run {run_id}: {counts.get('serp_pages', 0)} result"
        f" pages, {counts.get('landing_pages', 0)} landing pages,"
        f" {counts.get('sightings', 0)} numbers seen,"
        f" {counts.get('flagged_pairs', 0)} flagged (site, number) pairs;"
        f" {summary.status or 'running'}"
    ]
    if counts.get("lost_items"):
        lost = stats_keys.STORAGE_LOST.parts(stats)
        n = counts["lost_items"]
        lines.append(
            f"LOST: {n} item{'s' if n != 1 else ''} could not be stored ("
            + ", ".join(f"{v} {k}" for k, v in sorted(lost.items()))
            + "); everything stored before stays"
        )
    for engine, outcome in summary.engines.items():
        lines.append(storage.outcome_line(engine, outcome))
    if stats_keys.HISTORY("new_numbers") in stats:
        h = stats_keys.HISTORY.parts(stats)
        lines.append(
            f"history: {h.get('new_numbers', 0)} new numbers, {h.get('back_numbers', 0)} back"
            f" after an absence, {h.get('gone_numbers', 0)} gone; {h.get('new_sites', 0)} new"
            f" sites; {h.get('confirmed_pairs', 0)} confirmed and"
            f" {h.get('dismissed_pairs', 0)} dismissed pairs seen again"
        )
    from crawler.render.record import summary_lines as render_summary

    lines += render_summary(stats)
    for engine, reason in summary.blocked.items():
        lines.append(f"BLOCKED: {engine}: {reason}")
    for warning in summary.warnings:
        lines.append(f"warning: {warning}")
    return lines


@click.command("runs")
@db_option
@friendly
def runs_cmd(db_path):
    """List crawl runs, newest first: status, counts and each engine's outcome.

    Status: finished (every engine answered), partial, blocked, failed,
    interrupted, or running. A running run shows its progress (written every
    few seconds by the crawl); a run started by Scrapyd shows its job id.

    Example: serpwatch runs --db nl.db
    """
    from crawler import storage
    from crawler.progress import progress_line

    db = storage.open_db(db_path, create=False)
    runs = storage.runs(db)
    if not runs:
        click.echo("No runs yet.")
    for run in runs:
        job = f"  job {run['job']}" if run.get("job") else ""
        status = run["status"] or "-"
        # As wide as the widest status, `interrupted`: the profiles line up.
        click.echo(f"{run['id']:>4}  {run['started_at']}  {status:<11}  {run['profile']}{job}")
        if run["status"] == "running" and progress_line(run.get("progress")):
            click.echo(f"      progress ({run['progress_at']}): {progress_line(run['progress'])}")
        for line in summary_lines(db, run["id"]):
            click.echo(f"      {line}")
