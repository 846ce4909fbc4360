"""The least an export file's bytes cost to make: the stdlib encoding its records and hashing them.

An export writes records, and a recorded one keeps the file's SHA-256 in the ledger.
Whatever reads the database and builds the records, the records still have to be
encoded and the bytes hashed: this times that for a file an export wrote. Its
records are read back first (not timed), then each encoded again (a JSON line, STIX
object or MISP attribute by `json.dumps`, a CSV row by `csv.writer`) and the file's
bytes hashed (timed). JSON is encoded without indent, so by json's C encoder, the
fastest the stdlib has, into fewer bytes than a STIX file's (written indented, as
stix2 prints it: `crawler/exports/stix.py`): a floor, not the format's own cost.
`bench/storage.py` prints it beside each export it times: an export whose floor is
over its target cannot meet the target by any change to how it reads, only by
writing fewer or smaller records.

    python bench/floor.py FILE FORMAT        # prints: SECONDS MB RECORDS
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def records_of(path: Path, fmt: str) -> list:
    """The file's records as Python values: its lines, CSV rows, STIX objects or MISP
    attributes and objects."""
    with open(path, encoding="utf-8", newline="") as f:
        if fmt in ("jsonl", "xarf"):
            return [json.loads(line) for line in f if line.strip()]
        if fmt == "csv":
            csv.field_size_limit(sys.maxsize)  # a cell of an operator's range lists every number
            return list(csv.reader(f))
        doc = json.load(f)
    if fmt == "stix":
        return doc.get("objects", [])
    event = doc.get("Event", doc) if isinstance(doc, dict) else {}
    return [*event.get("Attribute", []), *event.get("Object", [])]


def encoded(records: list, fmt: str) -> Iterator[bytes]:
    """Each record encoded as the floor encodes it: a CSV row, or compact JSON and a newline."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        for row in records:
            writer.writerow(row)
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    else:
        for rec in records:
            yield (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")


def encode(records: list, fmt: str) -> float:
    """Seconds to encode `records` one at a time (`encoded`), to nowhere."""
    t = time.perf_counter()
    for _ in encoded(records, fmt):
        pass
    return time.perf_counter() - t


def hashed(path: Path) -> float:
    """Seconds to SHA-256 the file's bytes (read first, not timed)."""
    data = path.read_bytes()
    t = time.perf_counter()
    hashlib.sha256(data).hexdigest()
    return time.perf_counter() - t


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.splitlines()[-1].strip(), file=sys.stderr)
        return 2
    path, fmt = Path(sys.argv[1]), sys.argv[2]
    records = records_of(path, fmt)
    seconds = encode(records, fmt) + hashed(path)
    print(f"{seconds:.3f} {path.stat().st_size / 1e6:.1f} {len(records)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
