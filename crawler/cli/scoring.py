"""`serpwatch rescore`: score a database again with this version's rules.

Registered on the `serpwatch` group by crawler/cli/__init__.py. The work is
`crawler.history.rescore`, which the end of every crawl also runs for what the
crawl saw; this command runs it for the whole database (or some keys), so a
database from an older serpwatch gets the number and site verdicts at once.
"""

from __future__ import annotations

import click

from crawler.cli.common import db_option, friendly


@click.command("rescore")
@click.argument("keys", nargs=-1)
@db_option
@friendly
def rescore(keys, db_path):
    """Score every stored (site, number) pair, number and site again with the current rules.

    Uses the facts each sighting stored, the history and the analysts'
    decisions; nothing is fetched and nothing is lost. Every sighting of
    every run is scored again too. Give KEYS (E.164
    numbers or domains) to re-score only those and what they touch.

    Example: serpwatch rescore --db nl.db
    """
    from pathlib import Path

    from crawler import history, storage

    if not Path(db_path).is_file():
        raise click.BadParameter(f"{db_path}: file not found", param_hint="--db")
    db = storage.open_db(db_path)
    done = history.rescore(db, set(keys) or None, all_sightings=True)
    storage.keep_run_summaries(db)  # the runs whose sightings it scored differently
    click.echo(
        f"re-scored {done['pairs']} (site, number) pairs, {done['numbers']} numbers"
        f" ({done['numbers_high']} high) and {done['sites']} sites ({done['sites_high']} high)"
    )
