"""`serpwatch export`: flagged numbers and sites for a recipient, and the exports ledger.

The work is crawler.exports (presets, formats, the ledger); this module reads
the options and writes the bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli.common import db_option, friendly
from crawler.risk import RISK_LEVELS


@click.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "stix", "misp", "xarf"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "--recipient",
    default="default",
    show_default=True,
    help="Recipient preset: default, regulator, operator, search-engine, hosting, or one "
    "from --presets.",
)
@click.option(
    "--since",
    metavar="last|DATE",
    help="last: only what is new or changed since the last export to this recipient; "
    "DATE: only what was seen on or after it.",
)
@click.option(
    "--min-risk",
    type=click.Choice(RISK_LEVELS),
    default=None,
    help="Lowest risk exported [default: the recipient's, low for default].",
)
@db_option
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="File (default stdout).")
@click.option(
    "--presets",
    "presets_path",
    type=click.Path(dir_okay=False),
    help="TOML file with more recipient presets (added to the bundled ones).",
)
@click.option("--dry-run", is_flag=True, help="Write the export but leave the ledger alone.")
@click.option(
    "--record",
    is_flag=True,
    help="Record an export to stdout in the ledger as delivered (a file with --out always is).",
)
@friendly
def export(fmt, recipient, since, min_risk, db_path, out_file, presets_path, dry_run, record):
    """Export flagged numbers and sites for a recipient as JSONL, CSV, STIX 2.1, MISP or XARF.

    A delivered export (written with --out, or to stdout with --record) is
    recorded in the exports ledger (recipient, format, time, file, SHA-256,
    the items sent), so `--since last` gives only what is new or changed
    since the last export to that recipient in that format, dismissals
    included. A preview on stdout is not recorded. CSV cells never start a
    formula: a cell starting with = + - @ or a tab gets a leading apostrophe.
    STIX and MISP carry indicators at medium risk and up unless --min-risk
    says otherwise; XARF is one abuse report per site for hosts.

    Example: serpwatch export --recipient regulator --since last --format csv --out nl.csv
    """
    from crawler import storage
    from crawler.exports.core import default_floor, write_export
    from crawler.exports.ledger import parse_since, record_export
    from crawler.exports.recipients import load_presets

    presets = load_presets(presets_path)
    if recipient not in presets:
        raise click.BadParameter(
            f"unknown recipient {recipient!r}; use one of {', '.join(sorted(presets))}",
            param_hint="--recipient",
        )
    try:
        parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    if dry_run and record:
        raise click.UsageError("--dry-run and --record contradict each other")
    db = storage.open_db(db_path, create=False)
    preset = presets[recipient]
    floor = min_risk or default_floor(preset, fmt)
    # A recorded export moves the change clock on before it reads (the next
    # `--since last` then reads only what changed after); a preview does not write.
    mark = bool(out_file or record) and not dry_run
    if out_file:
        # Written as read (streamed), under a temporary name until complete.
        partial = Path(f"{out_file}.partial")
        try:
            with open(partial, "wb") as out:
                result = write_export(db, preset, fmt, out, since=since, min_risk=floor, mark=mark)
        except BaseException:
            # Half an export is no export: a later run or a partner's script must not
            # find it (Ctrl-C and a broken database alike).
            partial.unlink(missing_ok=True)
            raise
        partial.replace(out_file)
    else:
        sys.stdout.flush()
        result = write_export(
            db, preset, fmt, sys.stdout.buffer, since=since, min_risk=floor, mark=mark
        )
        sys.stdout.flush()
    if (out_file or record) and not dry_run:
        record_export(db, result, file=str(out_file) if out_file else "-")
    what = " new or changed" if since else ""
    where = f" written to {out_file}" if out_file else ""
    if not out_file and not record and not dry_run:
        where = " (a preview, not recorded: --out FILE or --record records it)"
    # STIX and MISP hold a recipient's records as indicators, one per pair: both told.
    pairs = f" ({_counted(result.written, 'indicator')})" if fmt in ("stix", "misp") else ""
    records = _counted(result.count, "record").replace(" ", f"{what} ", 1)
    click.echo(f"{records}{pairs} for {recipient}{where} (sha256 {result.sha256})", err=True)


def _counted(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"
