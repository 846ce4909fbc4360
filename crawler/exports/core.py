"""Build a recipient's export: its items (`items`: rows from `rows`, shaped by its
preset in `shaping`) written in its format, whole or streamed as read.

`prepare_export` makes the file's content without writing anything; once the
caller has delivered it, `ledger.record_export` writes the exports ledger (what was
sent, when, to whom, the file's SHA-256 and each item's fingerprint). With
`since="last"`, an item goes out only when it was never sent to that
recipient or its row changed since it was last sent; so the same export run
twice gives an empty second delta.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from sqlite_utils import Database

from crawler import storage
from crawler.evidence import warc_dir_for
from crawler.exports import PAIR_FORMATS
from crawler.exports.changed_pairs import BELOW_FLOOR, BY_PAIR, WITHDRAWN, ChangedPairs
from crawler.exports.delta import delta_plan, preset_hash, withdraws
from crawler.exports.evidence_files import EvidenceFiles
from crawler.exports.items import made_items, read_pairs
from crawler.exports.ledger import Export, Written, parse_since, sent_fingerprints
from crawler.exports.recipients import Preset
from crawler.exports.rows import ReadOptions, export_row, raw_pair_rows
from crawler.exports.rowtext import StreamedRows, key_function
from crawler.exports.shaping import FINGERPRINT_JSON, kept_fingerprint, matches
from crawler.exports.spool import Spool, SpooledItem
from crawler.risk import RISK_ORDER

# Formats whose records are indicators a machine acts on: nothing below medium
# unless the recipient or --min-risk asks for it.
INDICATOR_FLOOR = {"stix": "medium", "misp": "medium", "xarf": "medium"}


class _Hashing:
    """A text stream that writes UTF-8 bytes to `out` as they come and keeps their SHA-256."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.hash = hashlib.sha256()

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.hash.update(data)
        self.out.write(data)
        return len(text)


def prepare_export(
    db: Database,
    preset: Preset,
    fmt: str,
    *,
    since: str | None = None,
    min_risk: str = "low",
    run_id: int | None = None,
    mark: bool = False,
) -> Export:
    """Build `preset`'s export in `fmt` in memory; nothing is recorded yet.

    `mark`: the export will be recorded; move the change clock on first
    (`storage.mark_changes`) so that the next delta reads only what changed after."""
    from crawler.exports import write_rows

    since = parse_since(since)
    tick, seen = storage.mark_changes(db) if mark else (None, None)
    items, withdrawn = made_items(
        db, preset, fmt, since=since, min_risk=min_risk, run_id=run_id, spool=None
    )
    buf = io.StringIO()
    pairs = _changed_pairs(db, preset, fmt, since)
    files = EvidenceFiles(warc_dir(db))
    picked = _picked(preset, fmt, min_risk, pairs)
    n = write_rows(fmt, items + withdrawn, buf, preset.columns, files, picked)
    return Export(
        recipient=preset.name,
        fmt=fmt,
        since=since or "",
        min_risk=min_risk,
        content=buf.getvalue(),
        items=items,
        change_tick=tick,
        preset_hash=preset_hash(preset),
        sightings_mark=seen,
        pair_ledger=pairs.ledger if pairs else [],
        written=n,
    )


def _picked(preset: Preset, fmt: str, min_risk: str, pairs: ChangedPairs | None):
    """What picks the pair records a format of pairs writes: those at or above the
    floor by their own risk (`pair_floor`), then, for a grouped preset in STIX or
    MISP, those `pairs` sends (and records; in a delta, with those it withdraws for
    falling below the floor); None when every record is written."""
    floored = pair_floor(preset, fmt, min_risk)
    if pairs is not None and pairs.judge and floored is not None:
        # Floored as judged: a pair sent that fell below the floor is withdrawn.
        return lambda records: pairs.changed(records, RISK_ORDER[min_risk])
    if floored is None:
        return pairs and pairs.changed
    if pairs is None:
        return floored
    return lambda records: pairs.changed(floored(records))


def pair_floor(preset: Preset, fmt: str, min_risk: str):
    """For a preset floored by its number's or site's verdict, in a format of pairs
    (STIX, MISP, XARF): a filter of the pair records whose own risk reaches
    `min_risk`. The verdict picks the items; each indicator is still one pair's, and
    a news site warning about a scam number is a low-risk pair of a high-risk
    number, not an indicator (README, Exports). None when the rows are floored by
    the pair's risk already (or the format writes rows, not pairs)."""
    if fmt not in PAIR_FORMATS or preset.verdict == "pair":
        return None
    least = RISK_ORDER[min_risk]

    def floored(records: Iterable[dict]) -> Iterator[dict]:
        return (r for r in records if RISK_ORDER.get(r.get("risk"), 0) >= least)

    return floored


def _changed_pairs(db: Database, preset: Preset, fmt: str, since: str | None):
    """For a grouped preset in STIX or MISP: what records the pairs it sends and, for
    `--since last`, picks them, those new or changed since sent (`changed_pairs`);
    None otherwise."""
    if not preset.group_by or fmt not in BY_PAIR:
        return None
    return ChangedPairs(db, preset.name, fmt, kept_fingerprint, judge=since == "last")


def write_export(
    db: Database,
    preset: Preset,
    fmt: str,
    out: IO[bytes],
    *,
    since: str | None = None,
    min_risk: str = "low",
    run_id: int | None = None,
    mark: bool = False,
) -> Written:
    """Write `preset`'s export in `fmt` to `out` (bytes); nothing is recorded yet.

    A recipient of flagged pairs, one row each, in the database's order (the
    default recipient) is streamed: each row is written as it is read, so
    memory stays flat however many pairs there are; only the ledger's (key,
    fingerprint) pairs are kept. Other presets group or order rows: their rows
    and items are made in a temporary file (`shape_spooled`), and only each
    item's key, fingerprint and sort fields are held; ads, which `ad_rows` reads
    whole, are grouped in memory. `mark`: as for `prepare_export`."""
    from crawler.exports import write_pair_records, write_rows

    since = parse_since(since)
    sink = _Hashing(out)
    tick, seen = storage.mark_changes(db) if mark else (None, None)
    pairs = None
    if streams(preset, fmt):
        ledger, n = _stream_pairs(
            db, preset, fmt, sink, since=since, min_risk=min_risk, run_id=run_id
        )
    else:
        pairs = _changed_pairs(db, preset, fmt, since)
        sent = _picked(preset, fmt, min_risk, pairs)
        with Spool() as spool:
            items, withdrawn = made_items(
                db, preset, fmt, since=since, min_risk=min_risk, run_id=run_id, spool=spool
            )
            files = EvidenceFiles(warc_dir(db))
            every = items + withdrawn  # the ledger's items, the pairs of both
            if every and all(_made_in_sql(it) for it in every):
                # Only the pairs that may have changed are read (`ChangedPairs.candidates`).
                judged = pairs is not None and pairs.judge
                rowids = [r for it in every for r in it.rowids] if judged else []
                gone = {r for it in every if it.gone for r in it.rowids} if judged else set()
                only = pairs.candidates(rowids, gone) if judged else None
                records = read_pairs(
                    db, preset, fmt, every, min_risk=min_risk, only=only, since=since
                )
                n = write_pair_records(fmt, sent(records) if sent else records, sink, files)
            else:
                n = write_rows(fmt, every, sink, preset.columns, files, sent)
        ledger = [(it.key, it.fingerprint) for it in items]
    return Written(
        preset.name,
        fmt,
        since or "",
        min_risk,
        sink.hash.hexdigest(),
        ledger,
        change_tick=tick,
        preset_hash=preset_hash(preset),
        sightings_mark=seen,
        pair_ledger=pairs.ledger if pairs else [],
        written=n,
    )


def _made_in_sql(item) -> bool:
    """An item made in SQL (`items._aggregated_items`) names its pairs by rowid, read
    when written; every other item holds its pairs' rows."""
    return isinstance(item, SpooledItem) and item.rowids is not None


# The order `storage.flagged_rows` gives: a preset that asks for it is streamed.
_DATABASE_ORDER = ["-score", "phone", "domain"]
# STIX too: its bundle is written object by object (crawler.exports.stix.write_stix);
# MISP attribute by attribute (crawler.exports.misp.write_misp); XARF a site's
# report at a time, from the pairs read in site order.
STREAMED_FORMATS = ("jsonl", "csv", "stix", "misp", "xarf")


def streams(preset: Preset, fmt: str) -> bool:
    """Is this export written row by row as read? Flagged pairs, ungrouped, one item
    per pair (its key names the pair), in the database's order."""
    return (
        fmt in STREAMED_FORMATS
        and preset.source == "pairs"
        and not preset.group_by
        and {"domain", "phone"} <= set(preset.key)
        and preset.order_by == _DATABASE_ORDER
    )


def _stream_pairs(
    db: Database, preset: Preset, fmt: str, out, *, since, min_risk, run_id
) -> tuple[list[tuple[str, str]], int]:
    """`prepare_export` for a streamed preset (`streams`), written to `out` as read.

    The same items in the same order: rows come highest score first, then by
    number and site (the preset's order), and each item is one pair, so a
    dismissed pair is withdrawn (sent with `since="last"`) exactly when it was
    sent before. XARF reads the same items in site order (its reports are per
    site, by site), so its ledger lists them in that order. Returns the ledger's
    entries and what the writer wrote (`ledger.written_count`)."""
    from crawler.exports import _JSONL, COLUMNS, _cell

    plan = (
        delta_plan(db, preset, fmt, min_risk=min_risk, run_id=run_id) if since == "last" else None
    )
    if plan:
        sent = plan.sent
    else:
        sent = sent_fingerprints(db, preset.name, fmt) if since == "last" else {}
    ledger: list[tuple[str, str]] = []
    # A row's fingerprint (`fingerprint`) read off the row: the counted columns
    # in key order (the encoder sorts them anyway; sorted, that costs nothing),
    # its stored reasons spliced in (`rowtext`).
    ignored = set(preset.ignore_in_delta)
    counted = sorted({c for c in preset.columns if c not in ignored})
    columns, where, since_last = preset.columns, preset.where, since == "last"
    if fmt == "csv":
        columns = columns or COLUMNS  # as write_csv
    made = StreamedRows(
        fmt, columns, counted, {*where, *preset.key}, (FINGERPRINT_JSON, _JSONL), _cell
    )
    decisions = storage.latest_decisions(db)
    key_of = key_function(preset)
    # The page's title only when the preset writes, filters or keys by it: the pair
    # formats' writers never read it (tests/test_exports_stream.py), and looking up
    # each pair's page is a tenth of a delta's read.
    # A delta in STIX or MISP reads the pairs below the floor too, and floors them
    # itself: one it sent live goes out once more, withdrawn (`changed_pairs.withdrawn`).
    least = RISK_ORDER[min_risk] if since_last and fmt in BY_PAIR else 0
    reads = ReadOptions(
        min_risk="low" if least and preset.verdict == "pair" else min_risk,
        run_id=run_id,
        include_dismissed=True,
        by=preset.verdict,
        only=plan.rowids if plan else None,
        title="page_title" in {*columns, *where, *preset.key},
        withdrawable=since_last and withdraws(fmt),
    )

    raws = raw_pair_rows(db, reads, by_site=fmt == "xarf")
    # Before the ledger: a pair left out is not sent.
    floored = None if least else pair_floor(preset, fmt, min_risk)

    def rows():
        """What the writer takes of each row sent (`StreamedRows.item`), as read; each
        one's key and fingerprint go to the ledger."""
        for raw in floored(raws) if floored else raws:
            row = export_row(raw, decisions, made.decode)
            if where and not matches(row, where):
                continue
            dismissed = row["status"] == "dismissed"
            if dismissed and not since_last:
                continue
            key = key_of(row)
            fp = hashlib.sha256(made.fingerprint(raw, row).encode("utf-8")).hexdigest()
            if since_last:
                below = RISK_ORDER.get(row.get("risk"), 0) < least
                if below or row["status"] == WITHDRAWN:
                    if sent.get(key, WITHDRAWN) == WITHDRAWN:
                        continue  # never sent live, or withdrawn already
                    row, fp = ({**row, BELOW_FLOOR: True} if below else row), WITHDRAWN
                elif (dismissed and key not in sent) or sent.get(key) == fp:
                    continue
            elif since and (row.get("last_seen") or "") < since:
                continue
            ledger.append((key, fp))
            yield made.item(raw, row)

    n = _write_streamed(fmt, rows(), out, EvidenceFiles(warc_dir(db)), columns)
    return ledger, n


def _write_streamed(fmt: str, items, out, files: EvidenceFiles, columns: list[str]) -> int:
    """Write a streamed export's items (`StreamedRows.item`) as they come; return what
    the writer wrote (reports, pairs or rows)."""
    from crawler.exports import pair_writer, write_csv_cells

    if fmt == "xarf":
        from crawler.exports.xarf import write_xarf

        return write_xarf(items, out, files=files, by_site=True)
    if fmt in PAIR_FORMATS:
        # Each item is one pair (`streams`): its pairs go to the writer as they come.
        return pair_writer(fmt)(items, out, files)
    if fmt == "csv":  # most rows joined without csv's writer (`write_csv_cells`)
        return write_csv_cells(items, out, columns)
    n = 0
    for line in items:  # JSONL
        out.write(line + "\n")
        n += 1
    return n


def warc_dir(db: Database) -> Path | None:
    """The WARC folder of a database file (the crawl's setting, else beside it)."""
    from crawler import settings

    path = storage.db_file(db)
    if path is None:
        return None
    return warc_dir_for(path, settings.SERPWATCH_WARC_DIR or None)


def default_floor(preset: Preset, fmt: str) -> str:
    """The lowest risk exported when --min-risk is not given: the recipient's,
    raised to the format's floor for indicator formats (STIX, MISP, XARF)."""
    floor = INDICATOR_FLOOR.get(fmt, "low")
    return max(preset.min_risk, floor, key=lambda r: RISK_ORDER[r])
