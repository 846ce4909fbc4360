"""What was sent to whom: an export as prepared or written, the `--since` it was made
for, and the exports ledger its delivery records.

The ledger holds each item's key and fingerprint per recipient and format: the next
`--since last` sends an item again only when its fingerprint is not the one sent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlite_utils import Database

from crawler import storage
from crawler.exports.shaping import Item


@dataclass
class Export:
    """A prepared export: its content and what the ledger will record."""

    recipient: str
    fmt: str
    since: str
    min_risk: str
    content: str
    items: list[Item]
    # What the next `--since last` needs (`delta_plan`): the change clock's tick
    # and the last sighting's rowid, taken before reading (None when not asked to
    # mark, `storage.mark_changes`), and the preset's hash.
    change_tick: int | None = None
    preset_hash: str | None = None
    sightings_mark: int | None = None
    # The (key, fingerprint) of each pair sent to a grouped recipient in STIX or MISP
    # (`changed_pairs`): recorded in the ledger with the items'.
    pair_ledger: list[tuple[str, str]] = field(default_factory=list)
    # What the writer wrote (`written_count`).
    written: int | None = None

    @property
    def count(self) -> int:
        return written_count(self.fmt, self.ledger, self.written)

    @property
    def data(self) -> bytes:
        return self.content.encode("utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def ledger(self) -> list[tuple[str, str]]:
        return [(it.key, it.fingerprint) for it in self.items]


@dataclass
class Written:
    """An export written out (`write_export`): what the ledger will record, not the
    content. `ledger` is (key, fingerprint) per item, in the order written."""

    recipient: str
    fmt: str
    since: str
    min_risk: str
    sha256: str
    ledger: list[tuple[str, str]]
    change_tick: int | None = None
    preset_hash: str | None = None
    sightings_mark: int | None = None
    pair_ledger: list[tuple[str, str]] = field(default_factory=list)  # as Export's
    written: int | None = None  # as Export's

    @property
    def count(self) -> int:
        return written_count(self.fmt, self.ledger, self.written)


def written_count(fmt: str, ledger: list, written: int | None) -> int:
    """The records an export holds, as the command reports them and the ledger's
    `records` says: the items (the recipient's rows), one each in JSONL and CSV; in
    XARF the reports written, one per site whatever the items (an ad, a number
    range) were. `written` is what the format's writer wrote: in XARF reports, in
    STIX and MISP pairs (the indicators, reported beside the items)."""
    if fmt == "xarf" and written is not None:
        return written
    return len(ledger)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_since(value: str | None) -> str | None:
    """`None`, `"last"`, or a date/time turned into the database's UTC ISO form."""
    if value is None or value == "last":
        return value
    text = value.strip()
    if not _DATE.match(text):
        raise ValueError(f"{value!r} is neither 'last' nor a date like 2026-11-01")
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")


def sent_fingerprints(db: Database, recipient: str, fmt: str) -> dict[str, str]:
    """Each item key's fingerprint as last sent to `recipient` in `fmt`.

    The ledger is per recipient and format: a partner who takes CSV and STIX
    gets each change in both.
    """
    return dict(storage.sent_fingerprints(db, recipient, fmt))


def record_export(db: Database, export: Export | Written, file: str = "-") -> int:
    """Write the ledger for a delivered export; return its id."""
    return storage.record_export(
        db,
        {
            "recipient": export.recipient,
            "format": export.fmt,
            "since": export.since or "",
            "min_risk": export.min_risk,
            "created_at": storage.now(),
            "file": file,
            "sha256": export.sha256,
            "records": export.count,
            "change_tick": export.change_tick,
            "preset_hash": export.preset_hash,
            "sightings_mark": export.sightings_mark,
        },
        export.ledger + export.pair_ledger,
    )
