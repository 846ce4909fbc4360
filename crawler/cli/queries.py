"""The maintainers' query commands: `queries suggest`, `queries retire`, `queries restore`.

`register(group, friendly, db_option)` adds them to the `serpwatch queries`
group that crawler/cli/analyst.py defines, so neither module imports the CLI.
"""

from __future__ import annotations

import json
import sys

import click

from crawler.tables import text_table


def register(group: click.Group, friendly, db_option) -> None:
    """Add suggest, retire and restore to the `queries` group."""

    @group.command("retire")
    @click.argument("text")
    @click.option("--reason", default="", help="Why; shown by `queries stats`.")
    @db_option
    @friendly
    def queries_retire(text, reason, db_path):
        """Retire a query: later crawls skip it; the profile file is left as written.

        TEXT is the query as crawled (case and extra spaces do not matter): a
        template with the brand filled in, or an `extra` query.

        Example: serpwatch queries retire "HP storing melden telefoon" --reason "nothing in 5 runs"
        """
        from crawler import queries, storage

        db = storage.open_db(db_path)
        try:
            row = queries.retire(db, text, reason)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="TEXT") from None
        if not _ran(db, row["query_key"]):
            click.echo(f"note: {text!r} has not run yet; crawls will skip it", err=True)
        click.echo(f"{row['at']}  retired  {row['query']}" + (f"  ({reason})" if reason else ""))

    @group.command("restore")
    @click.argument("text")
    @click.option("--reason", default="", help="Why it comes back.")
    @db_option
    @friendly
    def queries_restore(text, reason, db_path):
        """Bring a retired query back into the crawls.

        Example: serpwatch queries restore "HP storing melden telefoon" --reason "new campaign"
        """
        from crawler import queries, storage

        db = storage.open_db(db_path)
        try:
            row = queries.restore(db, text, reason)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="TEXT") from None
        click.echo(f"{row['at']}  restored  {row['query']}" + (f"  ({reason})" if reason else ""))

    @group.command("suggest")
    @click.argument("profile_path", metavar="PROFILE.toml", type=click.Path(dir_okay=False))
    @click.option(
        "--engine",
        "engines",
        multiple=True,
        type=click.Choice(["bing", "duckduckgo", "google"]),
        help="Autocomplete endpoints to ask (default: all three, or the profile's [suggest]).",
    )
    @click.option(
        "--brand",
        "brand_names",
        multiple=True,
        metavar="NAME",
        help="Only these brands' keywords as seeds (each autocomplete request costs time).",
    )
    @click.option("--no-fetch", is_flag=True, help="Only what crawled result pages showed.")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
    @click.option(
        "--add",
        "add",
        multiple=True,
        metavar="N|TEXT|all",
        help="Write candidates into the profile's queries.extra (by rank number, text, or"
        " all new ones); comments and order in the file are kept.",
    )
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per candidate.")
    @db_option
    @friendly
    def queries_suggest(profile_path, engines, brand_names, no_fetch, limit, add, as_json, db_path):
        """Find queries victims are offered: autocomplete and related searches.

        Asks the engines' autocomplete endpoints (Bing, DuckDuckGo, Google suggest
        JSON) for each brand keyword with the helpdesk words of the profile's
        language packs, and reads the "related searches" and "people also ask"
        blocks of the result pages already crawled into --db. Ranks candidates by
        how many engines offered them, leaves out what a template or extra already
        covers, and marks those a template would cover with another brand.

        Example: serpwatch queries suggest profiles/nl.toml --db nl.db --add 1 --add 3
        """
        _suggest(profile_path, engines, brand_names, no_fetch, limit, add, as_json, db_path)


def _suggest(profile_path, engines, brand_names, no_fetch, limit, add, as_json, db_path) -> None:
    from pathlib import Path

    from crawler import storage
    from crawler.config import load_profile
    from crawler.suggest import add_to_profile, collect, rank

    profile = load_profile(profile_path)
    seeded = _only_brands(profile, brand_names) if brand_names else profile
    related = []
    if Path(db_path).exists():
        related = storage.related_searches(storage.open_db(db_path))
    found = collect(seeded, engines=engines, fetch=not no_fetch, related=related)
    candidates = rank(profile, found.offers)[:limit]
    for failure in found.failures:
        click.echo(f"warning: {failure}", err=True)
    if as_json:
        for c in candidates:
            click.echo(json.dumps(c.to_dict(), ensure_ascii=False))
    else:
        _print_candidates(candidates)
    if add:
        chosen = _chosen(candidates, add)
        written = add_to_profile(profile.path, [c.text for c in chosen])
        for text in written:
            click.echo(f"added to {profile.path} queries.extra: {text}", err=True)
        if not written:
            click.echo("nothing new to add", err=True)
    if found.asked and found.failed == found.asked:
        sys.exit(1)  # no endpoint answered: the list above is only the crawled pages'


def _only_brands(profile, names: tuple[str, ...]):
    """The profile with only the named brands as autocomplete seeds."""
    from dataclasses import replace

    wanted = {n.casefold() for n in names}
    brands = [b for b in profile.brands if b.name.casefold() in wanted]
    unknown = wanted - {b.name.casefold() for b in brands}
    if unknown:
        raise click.BadParameter(
            f"no brand {sorted(unknown)[0]!r} in {profile.brands_path}", param_hint="--brand"
        )
    return replace(profile, brands=brands)


def _ran(db, key: str) -> bool:
    from crawler import storage
    from crawler.config import query_key

    return any(query_key(q) == key for q in storage.query_runs(db))


def _chosen(candidates, picks: tuple[str, ...]):
    out = []
    for pick in picks:
        if pick == "all":
            out.extend(c for c in candidates if not c.covered)
            continue
        if pick.isdigit() and 1 <= int(pick) <= len(candidates):
            out.append(candidates[int(pick) - 1])
            continue
        match = [c for c in candidates if c.text.casefold() == pick.casefold()]
        if not match:
            raise click.BadParameter(
                f"{pick!r} is neither a rank number (1..{len(candidates)}) nor a candidate",
                param_hint="--add",
            )
        out.extend(match)
    return out


def _print_candidates(candidates) -> None:
    if not candidates:
        click.echo("No candidates.")
        return
    rows = [
        (
            str(i),
            c.text,
            str(c.score),
            ",".join(c.engines) or "-",
            ",".join(c.kinds),
            c.covered or c.brand or "-",
        )
        for i, c in enumerate(candidates, 1)
    ]
    click.echo(text_table(("#", "candidate", "score", "engines", "from", "covered / brand"), rows))
