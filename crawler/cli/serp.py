"""`serpwatch serp unparsed`: the result pages no parser recognised (issue 16).

A crawl keeps every such page whole (bytes, engine, query, time) instead of
reading it as "no results"; maintainers list them here and save them as new
golden fixtures (`tests/fixtures/serp/<engine>/<case>/`).
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("unparsed")
@click.option("--db", "db_path", default="serpwatch.db", show_default=True, type=click.Path())
@click.option("--run", "run_id", type=int, help="Only this run.")
@click.option("--limit", default=50, show_default=True, help="Newest pages shown.")
@click.option(
    "--save",
    "save_dir",
    type=click.Path(file_okay=False),
    help="Write each page's bytes to DIR/<engine>-<id>.html (to make a fixture of it).",
)
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
