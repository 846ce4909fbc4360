"""Rows kept in a temporary file, not in memory, until an export writes them.

A grouped recipient (the regulator's numbers, hosting's sites, the operators'
ranges) is made of every flagged pair or sighting of a year, grouped and then
ordered by a column only known once a group is whole. `Spool` holds the rows
in a temporary file, read back by offset; `spooled_items` groups and shapes
them there, keeping in memory only each item's key, fingerprint and sort
fields: a year's export then costs tens of megabytes, not gigabytes.
"""

from __future__ import annotations

import pickle
import struct
import tempfile
from dataclasses import dataclass, field

_LENGTH = struct.Struct("<Q")


class Spool:
    """Values in a temporary file (deleted when closed), read back by offset.

    Pickled, each after its length: the rows are the program's own, read back
    by the process that wrote them, and a delta puts and gets tens of thousands
    (pickle takes a few microseconds a row, JSON several times that)."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()
        self.end = 0

    def put(self, value) -> int:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        offset = self.end
        self.file.seek(offset)
        self.file.write(_LENGTH.pack(len(data)) + data)
        self.end += _LENGTH.size + len(data)
        return offset

    def get(self, offset: int):
        self.file.seek(offset)
        (size,) = _LENGTH.unpack(self.file.read(_LENGTH.size))
        return pickle.loads(self.file.read(size))

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class SpooledItem:
    """An export item whose row and pairs stay in the spool until read.

    `head` holds the fields the items are ordered by (`shaping.order`) and `last`
    the pairs' latest sighting, so ordering and date filters read nothing back."""

    key: str
    fingerprint: str
    head: dict
    last: str  # the latest last_seen of its pairs
    spool: Spool
    # None for an item of a format of pairs whose row is never written (`shaping.spooled`).
    row_at: int | None
    pairs_at: list[int] = field(default_factory=list)
    # (domain, phone, last seen, score) of each of `pairs_at`, when known: what a
    # format of pairs orders them by, without reading them back (`items._keep_pairs`).
    pair_heads: list[tuple] | None = None
    # Or, for an item made in SQL (`items._aggregated_items`), the rowids of its pairs:
    # read from the database when written, only if the item is sent.
    rowids: list[int] | None = None
    # Made of pairs no longer flagged (dismissed, withdrawn): the never sent among them
    # need not be read (`ChangedPairs.candidates`).
    gone: bool = False

    @property
    def row(self) -> dict:
        return self.spool.get(self.row_at)

    @property
    def pairs(self) -> list[dict]:
        return [self.spool.get(at) for at in self.pairs_at]
