"""The analysts' commands: `flags`, `triage`, `history`.

Thin over crawler.history (what needs attention, a key's story) and
crawler.triage (the analysts' decisions). `attention_table` is the `flags` table.
"""

from __future__ import annotations

import json
import sys

import click

from crawler.cli.common import db_option, friendly
from crawler.risk import RISK_LEVELS
from crawler.tables import flag_table


def attention_table(records: list[dict]) -> str:
    """Flagged pairs as a table: since (new/back/seen/gone), status, and the main reason."""
    if not records:
        return "Nothing needs attention."
    return flag_table(records, since=True)


# How many pairs `flags` shows by default: a year of crawls has hundreds of thousands.
FLAGS_SHOWN = 50


@click.command("flags")
@db_option
@click.option("--min-risk", type=click.Choice(RISK_LEVELS), default="low", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (all of them).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help=f"Show the first N pairs (default: {FLAGS_SHOWN} in the table, all with --json).",
)
@click.option("--all", "show_all", is_flag=True, help="Show every flagged pair in the table.")
@friendly
def flags(db_path, min_risk, as_json, limit, show_all):
    """List what needs attention: flagged (site, number) pairs, new since the last run first.

    Order: new or back in the last run, then still seen, then gone; confirmed
    ones after those; highest score first within each. Dismissed ones are left out.
    The table shows the first 50 pairs and says how many there are (--limit N,
    --all for more); --json writes every one unless --limit is given.

    Example: serpwatch flags --min-risk high
    """
    from crawler import flags as flag_list
    from crawler import storage

    db = storage.open_db(db_path, create=False)
    if show_all or (as_json and limit is None):
        limit = None
    elif limit is None:
        limit = FLAGS_SHOWN
    if as_json:
        # One encoder and one buffered stream: click.echo flushes every line, which
        # was a quarter of the time of a year's 443k lines.
        line = json.JSONEncoder(ensure_ascii=False).encode
        out = sys.stdout
        for r in flag_list.iter_attention(db, min_risk=min_risk, limit=limit):
            out.write(line(r) + "\n")
        out.flush()
        return
    records = flag_list.attention(db, min_risk=min_risk, limit=limit)
    click.echo(attention_table(records))
    if limit is not None and len(records) == limit:
        total = flag_list.attention_count(db, min_risk=min_risk)
        if total > limit:
            click.echo(
                f"Showing the first {limit:,} of {total:,} flagged pairs;"
                " --limit N for more, --all for every one."
            )


@click.command("triage")
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
    if storage.entity(db, kind, value) is None:
        click.echo(
            f"note: {value} has not been seen yet; the decision applies when it appears",
            err=True,
        )
    click.echo(f"{row['at']}  {value}  {triage.STATUS[action]}" + (f"  ({note})" if note else ""))


@click.command("history")
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
    if t["runs"]:
        click.echo(f"first seen {t['first_seen']}, last seen {t['last_seen']}")
        click.echo(f"seen in runs: {', '.join(map(str, t['runs']))}")
    else:  # decided on before any run saw it
        click.echo("not seen in any run yet")
    if t["missing_runs"]:
        click.echo(f"missing from runs: {', '.join(map(str, t['missing_runs']))}")
    for c in t["changes"]:
        what = c["kind"] if c["key"] == value else f"{c['kind']} {c['key']}"
        click.echo(f"  run {c['run_id']}: {what} {c['event']}: {c['detail']}")
    for v in t.get("verdicts", []):
        if v["key"] == value:
            why = (v["reasons"] or ["-"])[0]
            click.echo(f"  run {v['run_id']}: {v['kind']} verdict {v['score']} {v['risk']}: {why}")
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
