"""Exports of flagged (site, number) pairs for people and partners.

Formats: JSONL and CSV (DESIGN.md's records; the CSV is spreadsheet-safe, see
`csvsafe`), STIX 2.1 bundles (`stix`), MISP events (`misp`) and XARF reports
(`xarf`). Recipients are presets in
`recipients.toml` (`recipients`); `core` builds an export (its rows from `rows`, its
items from `shaping` and `items`) and its delta since the last one to that
recipient, and `ledger` records it in the exports ledger.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO

from crawler.exports.csvsafe import LIST_SEPARATOR, escape_cell, unescape_cell
from crawler.exports.rowtext import csv_line
from crawler.exports.spool import SpooledItem

COLUMNS = [
    "phone",
    "number_type",
    "country",
    "domain",
    "url",
    "entry_url",
    "brand",
    "score",
    "risk",
    "reasons",
    "is_ad",
    "engine",
    "query",
    "rank",
    "first_seen",
    "last_seen",
    "status",
]
FORMATS = ("jsonl", "csv", "stix", "misp", "xarf")

__all__ = [
    "COLUMNS",
    "FORMATS",
    "WRITERS",
    "csv_cell",
    "escape_cell",
    "unescape_cell",
    "write_csv",
    "write_jsonl",
    "write_rows",
    "write_stix",
]


def write_jsonl(records: Iterable[dict], out: IO[str], columns: list[str] | None = None) -> int:
    """One JSON object per record and line (only `columns`, in order, when given);
    each written as it comes."""
    n = 0
    encode = _JSONL.encode
    for r in records:
        if columns is not None:
            r = {c: r.get(c) for c in columns}
        out.write(encode(r) + "\n")
        n += 1
    return n


# json.dumps(r, ensure_ascii=False): one encoder, not one made per record.
_JSONL = json.JSONEncoder(ensure_ascii=False)


# A cell starting with none of these is safe as it is (`escape_cell`).
_SAFE_START = frozenset("'= +-@\t\r\n")


def _cell(value) -> str:
    """`csv_cell`, with the common cells (text, numbers, empty) made without its checks."""
    kind = type(value)
    if value is None:
        return ""
    if kind is str:
        text = value
    elif kind is int or kind is bool:
        text = str(value)
    elif kind is list and all([type(v) is str for v in value]):
        text = LIST_SEPARATOR.join(value)  # a grouped item's distinct values
    else:
        return csv_cell(value)
    if text and text[0] in _SAFE_START:
        return escape_cell(text)
    return text


def csv_cell(value) -> str:
    """A value as a spreadsheet-safe CSV cell.

    Lists of strings are joined with "; ", lists of objects written as JSON,
    missing values left empty; the result never starts a formula.
    """
    if value is None:
        text = ""
    elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        text = LIST_SEPARATOR.join("" if v is None else str(v) for v in value)
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return escape_cell(text)


def write_csv(records: Iterable[dict], out: IO[str], columns: list[str] | None = None) -> int:
    """A header and one row per record, each written as it comes; every cell through
    `csv_cell`."""
    columns = columns or COLUMNS
    return write_csv_cells(([_cell(r.get(c)) for c in columns] for r in records), out, columns)


def write_csv_cells(rows: Iterable[list[str]], out: IO[str], columns: list[str]) -> int:
    """The header of `columns`, then each row of cells (already `csv_cell`s) as it
    comes; the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([escape_cell(c) for c in columns])
    n = 0
    for cells in rows:
        # csv.writer scans every character of every cell; `csv_line` the joined line.
        line = csv_line(cells)
        if line is None:
            writer.writerow(cells)
        else:
            out.write(line)
        n += 1
    return n


def write_stix(records: list[dict], out: IO[str], columns: list[str] | None = None) -> int:
    """One STIX 2.1 bundle for flagged-pair records (`columns` is not used)."""
    from crawler.exports.stix import write_stix as _write

    return _write(records, out)


WRITERS = {"jsonl": write_jsonl, "csv": write_csv, "stix": write_stix}
# Formats made of the flagged pairs behind a recipient's rows, not of the rows:
# one writer function per format module.
PAIR_FORMATS = ("stix", "misp", "xarf")


def pair_writer(fmt: str):
    if fmt == "stix":
        from crawler.exports.stix import write_stix as writer

        return lambda records, out, files: writer(records, out)
    if fmt == "misp":
        from crawler.exports.misp import write_misp as writer
    else:
        from crawler.exports.xarf import write_xarf as writer
    return lambda records, out, files: writer(records, out, files=files)


def write_rows(fmt: str, items, out: IO[str], columns: list[str], files=None, sent=None) -> int:
    """Write a recipient's items (`shaping.Item`, or `spool.SpooledItem`) in `fmt`.

    STIX, MISP and XARF are made of the flagged pairs behind the items (each
    pair once, its latest sighting); `files` reads their evidence bytes, and
    `sent`, when given, picks the pairs written (`changed_pairs.ChangedPairs.changed`).
    """
    if fmt in PAIR_FORMATS:
        return _write_pairs(fmt, items, out, files, sent)
    return WRITERS[fmt]((item.row for item in items), out, columns=columns)


def _write_pairs(fmt: str, items: list, out: IO[str], files, sent=None) -> int:
    """The flagged pairs behind the items, each once (its latest sighting), in the
    order each writer makes of a whole list (those `sent` keeps); a spooled item's
    pairs are read back from the spool one at a time as they are written."""
    latest: dict[tuple, tuple] = {}  # (domain, phone) -> (last_seen, score, pair or offset)
    for item in items:
        spooled = isinstance(item, SpooledItem)
        if spooled and item.pair_heads is not None:  # read back only to be written
            for ref, head in zip(item.pairs_at, item.pair_heads, strict=True):
                k, seen, score = head[:2], head[2], head[3]
                if k not in latest or seen > latest[k][0]:
                    latest[k] = (seen, score, ref)
            continue
        for ref in item.pairs_at if spooled else item.pairs:
            p = item.spool.get(ref) if spooled else ref
            k = (p["domain"], p["phone"])
            seen = p.get("last_seen") or ""
            if k not in latest or seen > latest[k][0]:
                latest[k] = (seen, p.get("score") or 0, ref)
    keys = list(latest)
    if fmt == "misp":  # strongest first: a number's object is its strongest pair's
        keys.sort(key=lambda k: (-latest[k][1], k[1], k[0]))
    elif fmt == "xarf":  # a site's pairs together, sites in order: one report each
        keys.sort(key=lambda k: k[0] or "")
    spool = items[0].spool if items and isinstance(items[0], SpooledItem) else None
    records = (
        spool.get(latest[k][2]) if isinstance(latest[k][2], int) else latest[k][2] for k in keys
    )
    return write_pair_records(fmt, sent(records) if sent else records, out, files)


def write_pair_records(fmt: str, records: Iterable[dict], out: IO[str], files) -> int:
    """Flagged-pair records, each once and in the order `_write_pairs` gives them
    (XARF: a site's together, sites in order), written in `fmt` as they come."""
    if fmt == "xarf":
        from crawler.exports.xarf import write_xarf

        return write_xarf(records, out, files=files, by_site=True)
    return pair_writer(fmt)(records, out, files)
