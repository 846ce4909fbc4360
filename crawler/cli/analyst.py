"""The analysts' and maintainers' commands: triage, history, queries stats and try.

`register(main, friendly, db_option)` adds them to the `serpwatch` group
(crawler/cli.py calls it), so this module never imports the CLI module.
`attention_table` is the `serpwatch flags` table.
"""

from __future__ import annotations

import json
import sys

import click

from crawler.tables import flag_table, text_table


def attention_table(records: list[dict]) -> str:
    """Flagged pairs as a table: since (new/back/seen/gone), status, and the main reason."""
    if not records:
        return "Nothing needs attention."
    return flag_table(records, since=True)


def register(main: click.Group, friendly, db_option) -> None:  # noqa: C901, PLR0915 -- 2026-12-05: analyst commands are closures; the thin-CLI step of issue 12 splits them
    """Add triage, history and queries to the `serpwatch` group."""

    @main.command("triage")
    @click.argument("key")
    @click.option("--confirm", "action", flag_value="confirm", help="A scam: raise it everywhere.")
    @click.option("--dismiss", "action", flag_value="dismiss", help="Not a scam: stop flagging.")
    @click.option("--reset", "action", flag_value="reset", help="Forget the earlier decision.")
    @click.option("--note", default="", help="Why; kept with the decision.")
    @click.option("--region", default="NL", show_default=True, help="Region for national formats.")
    @db_option
    @friendly
    def triage_cmd(key, action, note, region, db_path):
        """Record an analyst's decision on a number (E.164) or a site (domain).

        A confirmed number or site raises the score wherever it reappears; a
        dismissed one is still recorded by later runs but no longer flagged.
        The latest decision counts; --reset forgets it.

        Example: serpwatch triage +31852081234 --confirm --note "called: asks for AnyDesk"
        """
        from crawler import storage, triage

        if action is None:
            raise click.UsageError("give one of --confirm, --dismiss or --reset")
        try:
            kind, value = triage.parse_key(key, region.upper())
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="KEY") from None
        db = storage.open_db(db_path, create=False)
        row = triage.record(db, kind, value, action, note)
        table, pk = ("numbers", "phone") if kind == "number" else ("sites", "domain")
        if not db[table].count_where(f"{pk} = ?", [value]):
            click.echo(
                f"note: {value} has not been seen yet; the decision applies when it appears",
                err=True,
            )
        click.echo(
            f"{row['at']}  {value}  {triage.STATUS[action]}" + (f"  ({note})" if note else "")
        )

    @main.command("history")
    @click.argument("key")
    @click.option("--region", default="NL", show_default=True, help="Region for national formats.")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object.")
    @db_option
    @friendly
    def history_cmd(key, region, as_json, db_path):
        """Show the story of a number or a site across runs.

        First and last seen, the runs it was seen in and those it was missing
        from, when it was new, gone or back, the analysts' decisions, and the
        sites (or numbers) it was seen with.

        Example: serpwatch history +31852081234
        """
        from crawler import history, storage, triage

        try:
            _kind, value = triage.parse_key(key, region.upper())
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="KEY") from None
        db = storage.open_db(db_path, create=False)
        t = history.timeline(db, value)
        checks = storage.brand_confirmations(db, value)  # serpwatch brands check
        if as_json:
            click.echo(json.dumps({**t, "brand_checks": checks}, ensure_ascii=False, default=str))
            return
        _print_brand_checks(value, checks)
        if not t["runs"] and not t["triage"]:
            if not checks:
                click.echo(f"{value}: never seen")
            return
        click.echo(f"{value}  ({t['kind']}, status {t['status'] or '-'})")
        click.echo(f"first seen {t['first_seen']}, last seen {t['last_seen']}")
        click.echo(f"seen in runs: {', '.join(map(str, t['runs'])) or '-'}")
        if t["missing_runs"]:
            click.echo(f"missing from runs: {', '.join(map(str, t['missing_runs']))}")
        for c in t["changes"]:
            what = c["kind"] if c["key"] == value else f"{c['kind']} {c['key']}"
            click.echo(f"  run {c['run_id']}: {what} {c['event']}: {c['detail']}")
        for v in t.get("verdicts", []):
            if v["key"] == value:
                why = (v["reasons"] or ["-"])[0]
                click.echo(
                    f"  run {v['run_id']}: {v['kind']} verdict {v['score']} {v['risk']}: {why}"
                )
        for d in t["triage"]:
            note = f" ({d['note']})" if d.get("note") else ""
            click.echo(f"  {d['at']}: {d['action']}{note}")
        other = "domain" if t["kind"] == "number" else "phone"
        for p in t["partners"]:
            state = "flagged" if p["flagged"] else "not flagged"
            click.echo(
                f"  with {p[other]}: score {p['score']} {p['risk'] or '-'}, {state},"
                f" {p['first_seen']} .. {p['last_seen']}"
            )

    @main.group("queries")
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

        profile = load_profile(profile_path)
        seen = try_query(profile, text)
        if as_json:
            for r in seen["results"]:
                click.echo(json.dumps(r, ensure_ascii=False))
        else:
            _print_try(seen)
        for engine, reason in seen["blocked"].items():
            click.echo(f"BLOCKED: {engine}: {reason}", err=True)
        if seen["blocked"] and set(seen["blocked"]) >= set(seen["engines"]):
            sys.exit(3)

    from crawler.cli.queries import register as register_queries

    register_queries(queries_group, friendly, db_option)


def _print_brand_checks(value: str, checks: list[dict]) -> None:
    """What `brands check` found about a number on the brands' own pages, newest first."""
    if not checks:
        return
    confirmed = next((c for c in checks if c["state"] == "confirmed"), None)
    if confirmed:
        click.echo(
            f"{value}: last confirmed on {confirmed['brand']}'s own page {confirmed['at']}"
            f" ({confirmed['url']})"
        )
        if confirmed.get("warc_record_id"):
            click.echo(f"  evidence: {confirmed['warc_file']} {confirmed['warc_record_id']}")
    else:
        click.echo(f"{value}: never confirmed on a brand's own page")
    words = {
        "confirmed": "on the page",
        "stale": "listed, NOT on the page",
        "unlisted": "on the page, not listed",
        "unchecked": "listed, page did not answer",
    }
    for c in checks:
        where = f" {c['url']}" if c["url"] else ""
        what = words.get(c["state"], c["state"])
        click.echo(f"  {c['at']}: brands check, {c['brand']}: {what}{where}")
    click.echo("")


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
