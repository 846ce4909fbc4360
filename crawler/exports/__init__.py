"""Exports of flagged (site, number) pairs: JSONL and CSV (DESIGN.md records)."""

from __future__ import annotations

import csv
import json
from typing import IO

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


def write_jsonl(records: list[dict], out: IO[str]) -> int:
    for r in records:
        out.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(records)


def write_csv(records: list[dict], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({**r, "reasons": "; ".join(r.get("reasons", []))})
    return len(records)


WRITERS = {"jsonl": write_jsonl, "csv": write_csv}
