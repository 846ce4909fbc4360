"""The maintainers' query commands: `queries stats`, `try`, `suggest`, `retire`, `restore`.

Thin over crawler.queries (yield, one query tried, retirement) and
crawler.suggest (autocomplete and related searches).
"""

from __future__ import annotations

import json
import sys

import click

from crawler.cli.common import db_option, friendly
from crawler.tables import text_table


@click.group("queries")
def queries_group():
    """For maintainers: query yield, one query tried, new ones found, weak ones retired."""


@queries_group.command("stats")
@db_option
@click.option(
    "--last",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="N: a query with no new flagged number in its last N runs and nothing unique"
    " is a retirement candidate.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@friendly
def queries_stats(db_path, last, as_json):
    """Per query and engine: cost and yield, the most productive first.

    Runs, requests (result pages and landing pages), results, flagged numbers
    (new when found, new in the query's last N runs, unique: found by no other
    query), confirmed and dismissed. `retire?` marks candidates: no new flagged
    number in N runs and nothing unique; retired queries show their reason.

    Example: serpwatch queries stats --db nl.db --last 5
    """
    from crawler import queries, storage

    db = storage.open_db(db_path, create=False)
    rows = queries.stats(db, last=last)
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
        return
    if not rows:
        click.echo("No queries have run yet.")
        return
    head = ("query", "engine", "runs", "requests", "results", "ads", "flagged", "new")
    head += (f"new/{last}", "unique", "confirmed", "dismissed", "retire?")
    click.echo(
        text_table(
            head,
            [
                (
                    r["query"],
                    r["engine"],
                    r["runs"],
                    r["requests"],
                    r["results"],
                    r["ads"],
                    r["flagged"],
                    r["new_flagged"],
                    r["new_recent"],
                    f"{r['unique']} ({r['unique_share']:.0%})" if r["flagged"] else "0",
                    r["confirmed"],
                    r["dismissed"],
                    f"retired: {r['retired']}"
                    if r["retired"] is not None
                    else ("candidate" if r["retire"] else ""),
                )
                for r in rows
            ],
        )
    )


@queries_group.command("try")
@click.argument("profile_path", metavar="PROFILE.toml", type=click.Path(dir_okay=False))
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result.")
@friendly
def queries_try(profile_path, text, as_json):
    """Run one query on the profile's engines; print the results and their numbers.

    Goes through the normal crawl (engines, landing pages, extraction,
    scoring) into a throwaway database: nothing is stored.

    Example: serpwatch queries try profiles/nl.toml "ING klantenservice bellen"
    """
    from crawler.config import load_profile
    from crawler.queries import try_query
    from crawler.run_status import exit_code, try_status

    profile = load_profile(profile_path)
    seen = try_query(profile, text)
    if as_json:
        for r in seen["results"]:
            click.echo(json.dumps(r, ensure_ascii=False))
    else:
        _print_try(seen)
    for engine, reason in seen["blocked"].items():
        click.echo(f"BLOCKED: {engine}: {reason}", err=True)
    code = exit_code(try_status(seen["engines"], seen["blocked"]))
    if code:
        sys.exit(code)


@queries_group.command("retire")
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

    # Not created: a retirement written to a mistyped path would never reach the crawls.
    db = storage.open_db(db_path, create=False)
    try:
        row = queries.retire(db, text, reason)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="TEXT") from None
    if not _ran(db, row["query_key"]):
        click.echo(f"note: {text!r} has not run yet; crawls will skip it", err=True)
    click.echo(f"{row['at']}  retired  {row['query']}" + (f"  ({reason})" if reason else ""))


@queries_group.command("restore")
@click.argument("text")
@click.option("--reason", default="", help="Why it comes back.")
@db_option
@friendly
def queries_restore(text, reason, db_path):
    """Bring a retired query back into the crawls.

    Example: serpwatch queries restore "HP storing melden telefoon" --reason "new campaign"
    """
    from crawler import queries, storage

    db = storage.open_db(db_path, create=False)
    try:
        row = queries.restore(db, text, reason)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="TEXT") from None
    click.echo(f"{row['at']}  restored  {row['query']}" + (f"  ({reason})" if reason else ""))


@queries_group.command("suggest")
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
    if found.none_answered:
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


def _print_try(seen: dict) -> None:
    brand = f" (brand {seen['brand']})" if seen["brand"] else " (no brand named)"
    click.echo(f"query {seen['query']!r}{brand} on {', '.join(seen['engines'])}")
    for w in seen["warnings"]:
        click.echo(f"warning: {w}")
    if not seen["results"]:
        # A page no parser recognised is not "no results" (issue 16).
        unread = any("not recognised" in w for w in seen["warnings"])
        click.echo("nothing read: a result page was not recognised" if unread else "no results")
    for r in seen["results"]:
        where = f"ad {r['ad_position']}" if r["is_ad"] else f"#{r['rank']}"
        click.echo(f"{r['engine']:<10} {where:<6} {r['title']}")
        target = r["landing_url"]
        if r["url"] and r["url"] != target:
            target += f" -> {r['url']}"
        click.echo(f"{'':17} {target}" + ("" if r["fetched"] else "  (not fetched)"))
        for n in r["numbers"]:
            if n["official_for"]:
                verdict = f"official ({n['official_for']})"
            elif n["is_fax"]:
                verdict = "fax"
            else:
                verdict = f"{n['risk']} {n['score']}: {(n['reasons'] or ['-'])[0]}"
            click.echo(f"{'':19} {n['phone']:<15} {verdict}")
