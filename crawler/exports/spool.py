"""Rows kept in a temporary file, not in memory, until an export writes them.

A grouped recipient (the regulator's numbers, hosting's sites, the operators'
ranges) is made of every flagged pair or sighting of a year, grouped and then
ordered by a column only known once a group is whole. `Spool` holds the rows
in a temporary file, read back by offset; `spooled_items` groups and shapes
them there, keeping in memory only each item's key, fingerprint and sort
fields: a year's export then costs tens of megabytes, not gigabytes.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field

# json.dumps(value, ensure_ascii=False, default=str): one encoder, not one per value.
_JSON = json.JSONEncoder(ensure_ascii=False, default=str)


class Spool:
    """JSON values in a temporary file (deleted when closed), read back by offset."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()

    def put(self, value) -> int:
        self.file.seek(0, 2)
        offset = self.file.tell()
        self.file.write(_JSON.encode(value).encode("utf-8"))
        self.file.write(b"\n")
        return offset

    def get(self, offset: int):
        self.file.seek(offset)
        return json.loads(self.file.readline())

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class SpooledItem:
    """An export item whose row and pairs stay in the spool until read.

    `head` holds the fields the items are ordered by (`core.order`) and `last`
    the pairs' latest sighting, so ordering and date filters read nothing back."""

    key: str
    fingerprint: str
    head: dict
    last: str  # the latest last_seen of its pairs
    spool: Spool
    row_at: int
    pairs_at: list[int] = field(default_factory=list)

    @property
    def row(self) -> dict:
        return self.spool.get(self.row_at)

    @property
    def pairs(self) -> list[dict]:
        return [self.spool.get(at) for at in self.pairs_at]
