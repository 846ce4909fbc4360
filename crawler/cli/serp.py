"""`serpwatch serp parse` and `serp unparsed`: saved result pages.

`parse` runs an engine's parser (crawler.engines) on a saved page. `unparsed`
lists the result pages no parser recognised (issue 16): a crawl keeps every
such page whole (bytes, engine, query, time) instead of reading it as "no
results"; maintainers list them here and save them as new golden fixtures
(`tests/fixtures/serp/<engine>/<case>/`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crawler.cli.common import friendly


@click.group("serp")
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
    # Exit 3 for both, as DESIGN.md's contract says ("`serp parse`: a block or
    # unrecognised page"): neither gives results to read, and scripts that keep
    # fixtures tell them apart by the message, never by the code.
    if page.blocked:
        click.echo(f"{file}: blocked by {kind}: {page.blocked}", err=True)
        sys.exit(3)
    if page.unrecognised:
        click.echo(
            f"{file}: unrecognised {kind} page (not a block; a layout the parser"
            f" does not know): {page.unrecognised}",
            err=True,
        )
        sys.exit(3)
    for result in page.results + page.listings:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    if page.no_results:
        click.echo(f"{file}: the page says {kind} found nothing for the query", err=True)


@serp_group.command("unparsed")
@click.option("--db", "db_path", default="serpwatch.db", show_default=True, type=click.Path())
@click.option("--run", "run_id", type=int, help="Only this run.")
@click.option("--limit", default=50, show_default=True, help="Newest pages shown.")
@click.option(
    "--save",
    "save_dir",
    type=click.Path(file_okay=False),
    help="Write each page's bytes to DIR/<engine>-<id>.html (to make a fixture of it).",
)
@friendly  # one line per error, no traceback
def serp_unparsed(db_path, run_id, limit, save_dir):
    """List result pages that no engine parser recognised, newest first.

    Each line: when, run, engine, HTTP status, query, size, and which markers
    the parser missed. Such pages count as a warning of their run, never as
    "no results".

    Example: serpwatch serp unparsed --db nl.db --save /tmp/unparsed
    """
    from crawler import storage

    if not Path(db_path).exists():
        raise click.BadParameter(f"{db_path}: file not found", param_hint="--db")
    db = storage.open_db(db_path)
    pages = storage.unparsed_pages(db, run_id=run_id, limit=limit)
    if not pages:
        click.echo("No unrecognised result pages.")
        return
    for page in pages:
        click.echo(
            f"{page['seen_at']}  run {page['run_id']}  {page['engine']:<10} HTTP {page['status']}"
            f"  {page['query']!r}  {page['size']} bytes"
        )
        click.echo(f"    {page['url']}")
        click.echo(f"    {page['reason']}")
        if save_dir:
            out = Path(save_dir)
            out.mkdir(parents=True, exist_ok=True)
            target = out / f"{page['engine']}-{page['id']}.html"
            target.write_bytes(storage.unparsed_body(db, page["id"]) or b"")
            click.echo(f"    saved: {target}")
