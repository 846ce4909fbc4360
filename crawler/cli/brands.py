"""`serpwatch brands check`: the official numbers against the brands' own pages.

The work is in crawler.brandcheck
(fetch, compare, evidence, record) and crawler.tomledit (the proposals).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crawler.cli.common import db_option, friendly


@click.group("brands")
def brands_group():
    """For maintainers: keep the brands' official numbers true."""


@brands_group.command("check")
@click.argument("brands_path", metavar="BRANDS.toml", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="Also write the report here (JSON when the name ends in .json, else text).",
)
@click.option(
    "--propose",
    "propose_file",
    type=click.Path(dir_okay=False),
    help="Write a new brands file with the proposals marked REVIEW (the original is"
    " never touched).",
)
@click.option("--region", default="NL", show_default=True, help="Region for national formats.")
@click.option(
    "--language", default="nl", show_default=True, help="Accept-Language of the requests."
)
@click.option(
    "--max-age",
    type=click.IntRange(min=0),
    default=None,
    help="Days a listed number may go unconfirmed before it is reported"
    " [default: SERPWATCH_OFFICIAL_MAX_AGE_DAYS, 180].",
)
@db_option
@friendly
def brands_check(brands_path, out_file, propose_file, region, language, max_age, db_path):
    """Fetch each brand's `source` pages and compare their numbers with the listed ones.

    Per brand: numbers listed and on the page, listed but gone (stale?), on
    the page but not listed (missing?, with the sentence around it), and
    pages that failed, moved or blocked us; numbers not confirmed for more
    than --max-age days. Each page is kept in a WARC file and each check is
    recorded in the database, so `serpwatch history NUMBER` shows when the
    brand's own page last showed it. Exit 0 when everything agrees, 1 when
    something needs a look, 2 for a bad brands file.

    Example: serpwatch brands check profiles/brands-nl.toml --propose brands-new.toml
    """
    import datetime as dt

    from crawler import settings
    from crawler.brandcheck import render, run_check
    from crawler.config import ConfigError

    path = Path(brands_path)
    if propose_file and Path(propose_file).resolve() == path.resolve():
        raise click.BadParameter(
            "must be a new file: the original is never overwritten", param_hint="--propose"
        )
    if max_age is None:
        max_age = settings.SERPWATCH_OFFICIAL_MAX_AGE_DAYS
    report = run_check(path, db_path, region=region.upper(), max_age=max_age, language=language)
    text = render(report)
    click.echo(text)
    if out_file:
        if out_file.endswith(".json"):
            data = json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
            Path(out_file).write_text(data + "\n", encoding="utf-8")
        else:
            Path(out_file).write_text(text + "\n", encoding="utf-8")
        click.echo(f"report: {out_file}", err=True)
    if propose_file:
        from crawler.config import load_brands
        from crawler.tomledit import propose_brands

        proposed = propose_brands(
            path.read_text(encoding="utf-8"), report, dt.date.fromisoformat(report.at[:10])
        )
        Path(propose_file).write_text(proposed, encoding="utf-8")
        try:
            load_brands(propose_file, region.upper())
        except ConfigError as exc:  # never leave a proposal that does not load
            raise click.ClickException(f"the proposal does not load: {exc}") from None
        click.echo(f"proposals: {propose_file} (lines marked REVIEW)", err=True)
    sys.exit(1 if report.needs_look else 0)
