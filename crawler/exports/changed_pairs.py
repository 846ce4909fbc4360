"""Which pairs a grouped recipient's `--since last` sends in STIX and MISP.

STIX and MISP records are indicators, one per flagged (site, number) pair. A
grouped recipient's item (the regulator's number, hosting's site, an operator's
number range) changes when any of its pairs does; its delta in these formats
sends, of the pairs behind the items that changed, only those new or changed
since they were last sent to it (DESIGN.md: "what is new or changed since the
last export to that recipient"). Without this an operator's range of 10,000
numbers went out whole whenever one of its numbers changed.

A pair has changed when what its indicator says has (`PAIR_CHANGE`), not what
moves on every run (its last sighting, its page, its evidence): the default
recipient's delta judges a pair the same way. The ledger keeps each pair sent
under its own key (`PAIR_KEY` and the pair), next to the items'; a pair never
recorded (before this, or an item's first delivery) counts as changed.

An item's fingerprint does not say which of its pairs reach the recipient's floor
(`core.pair_floor`): a delta judges the pairs of every item it made again, changed
or not (`items.made_items`), so a pair that rose above the floor goes out as a new
indicator, and one sent that fell below it is withdrawn once, written as a
dismissed pair is (`withdrawn`) and recorded as `WITHDRAWN`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from json.encoder import encode_basestring

from sqlite_utils import Database

from crawler import storage
from crawler.risk import RISK_ORDER

# Formats whose records are each one pair's indicator (XARF's are a site's report,
# sent whole when the site's item changed).
BY_PAIR = ("stix", "misp")

# What a pair's indicator says, less what moves every run.
PAIR_CHANGE = (
    "phone",
    "number_type",
    "country",
    "carrier",
    "domain",
    "brand",
    "score",
    "risk",
    "reasons",
    "first_seen",
    "status",
)

# Before a pair's key in the ledger: never an item's key, whatever a preset keys by.
PAIR_KEY = "pair "

# A pair's fingerprint in the ledger once withdrawn (fallen below the floor, or no
# longer flagged: its status `storage.WITHDRAWN`, the same word): not told again
# until it comes back (any live fingerprint differs).
WITHDRAWN = storage.WITHDRAWN
# Set on a record sent to withdraw a pair that fell below the floor.
BELOW_FLOOR = "below_floor"

# Pairs looked up in the ledger this many at a time.
_CHUNK = 500


class ChangedPairs:
    """`changed(records)`: the records of pairs new or changed since last sent to this
    recipient in this format (with `judge`, a `--since last` delta; otherwise every
    record: a full or `--since DATE` export sends them all), in their order;
    `ledger` the (key, fingerprint) of each one given, for the ledger
    (`ledger.record_export`): every export that sends a pair records it."""

    def __init__(
        self,
        db: Database,
        recipient: str,
        fmt: str,
        fingerprint: Callable[[dict], str],
        judge: bool = True,
    ):
        self.db, self.recipient, self.fmt = db, recipient, fmt
        self.fingerprint = fingerprint
        self.judge = judge
        self.ledger: list[tuple[str, str]] = []

    def changed(self, records: Iterable[dict], least: int | None = None) -> Iterator[dict]:
        """`least`: the floor's rank (`RISK_ORDER`), for records not floored yet: one
        below it goes out only to withdraw a pair sent live (`BELOW_FLOOR`)."""
        if not self.judge:
            for r in records:
                self.ledger.append(self._entry(r))
                yield r
            return
        batch: list[dict] = []
        for r in records:
            batch.append(r)
            if len(batch) == _CHUNK:
                yield from self._unsent(batch, least)
                batch = []
        yield from self._unsent(batch, least)

    def candidates(self, rowids: list[int], gone: Collection[int] = ()) -> set[int]:
        """Of these pairs (rowids), those whose fingerprint may differ from the one last
        sent, for `changed` to judge: never sent (unless `gone` and not dismissed: no
        longer flagged, or below the floor, there is nothing to withdraw), sent by an
        export that marked no tick, dismissed, or stamped at or after the tick of the
        export that last sent it (or changed since the last mark, not stamped yet).
        Every field of `PAIR_CHANGE` is stamped when it changes
        (`storage.CHANGE_TRACKED`), so the others are as that export read them: an
        operator's delta reads only these of its changed ranges' pairs, not every one."""
        stamps = storage.pair_stamps(self.db, rowids)
        keys = [pair_key(domain, phone) for _, domain, phone, _, _ in stamps]
        ticks = storage.sent_ticks(self.db, self.recipient, self.fmt, sorted(set(keys)))
        moved = storage.moved_pairs(self.db)
        found = set()
        for (rowid, _, _, stamp, dismissed), key in zip(stamps, keys, strict=True):
            tick = ticks.get(key)
            if tick is None and rowid in gone and not dismissed:
                continue
            if tick is None or dismissed or rowid in moved or stamp >= tick:
                found.add(rowid)
        return found

    def _unsent(self, batch: list[dict], least: int | None) -> Iterator[dict]:
        made = [(r, *self._entry(r)) for r in batch]
        keys = sorted({key for _, key, _ in made})
        sent = storage.sent_for_keys(self.db, self.recipient, self.fmt, keys) if keys else {}
        for r, key, fp in made:
            last = sent.get(key)
            below = least is not None and RISK_ORDER.get(r.get("risk"), 0) < least
            if below or r.get("status") == WITHDRAWN:
                if last is None or last == WITHDRAWN:
                    continue  # never sent live, or withdrawn already
                r, fp = ({**r, BELOW_FLOOR: True} if below else r), WITHDRAWN
            elif last == fp or (last == WITHDRAWN and r.get("status") == "dismissed"):
                continue
            self.ledger.append((key, fp))
            yield r

    def _entry(self, r: dict) -> tuple[str, str]:
        """A pair record's key and fingerprint in the ledger."""
        counted = {f: r.get(f) for f in PAIR_CHANGE}
        return pair_key(r.get("domain"), r["phone"]), self.fingerprint(counted)


def withdrawn(r: dict) -> bool:
    """Is this pair record a withdrawal (STIX: revoked; MISP: `to_ids` off)? Dismissed
    by an analyst, no longer flagged or its item below the floor since sent (status
    `WITHDRAWN`), or fallen below the floor by its own risk (`BELOW_FLOOR`)."""
    return r.get("status") in ("dismissed", WITHDRAWN) or r.get(BELOW_FLOOR) is True


def pair_key(domain: str | None, phone: str) -> str:
    """A pair's key in the ledger: `PAIR_KEY` and its site and number as JSON
    (json.dumps(..., ensure_ascii=False); two strings written directly, as
    `Preset.item_key` writes them: a delta makes tens of thousands)."""
    if type(domain) is str and type(phone) is str:
        return f"{PAIR_KEY}[{encode_basestring(domain)}, {encode_basestring(phone)}]"
    return PAIR_KEY + json.dumps([domain, phone], ensure_ascii=False)
