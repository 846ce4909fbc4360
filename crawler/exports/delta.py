"""What a `--since last` delta reads (schema 0020: change tracking).

A delivered export marks the change clock and records its preset's hash
(`preset_hash`); a delta to the same recipient then reads only the pairs,
numbers or sites stamped since the covering export (`delta_plan`), or every
pair when there is none. crawler.exports.items (and core, for a streamed
export) compares the fingerprints as for a full scan, so the records are the
same either way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from sqlite_utils import Database

from crawler import storage
from crawler.exports.recipients import Preset
from crawler.exports.rowtext import key_function
from crawler.risk import RISK_ORDER

# Bump when an export row or its fingerprint changes shape for the same preset
# (export_record, the pair row's fields, `fingerprint`): every recipient's next
# delta then reads everything once, as the ledger's fingerprints were made the old way.
RECORD_VERSION = 1

# The fields of a row that are its number's (its site's): the same in every row of
# a group of one number (one site), whichever is the group's most recent.
OF_THE_NUMBER = frozenset(
    {
        "phone",
        "number_type",
        "country",
        "nl_category",
        "carrier",
        "number_range",
        "number_score",
        "number_risk",
        "number_reasons",
    }
)
OF_THE_SITE = frozenset({"domain", "site_score", "site_risk", "site_reasons"})

# The fields of a pair row (`iter_pair_rows`) made only of columns whose changes
# the database stamps (storage.CHANGE_TRACKED): a delta whose fingerprints and
# filter read nothing else need only read the pairs stamped since the last export.
TRACKED_FIELDS = frozenset(
    {
        # site_numbers
        "brand",
        "score",
        "risk",
        "reasons",
        "first_seen",
        "first_run",
        "brand_site",  # facts
        "third_party",  # facts
        # numbers' and sites' statuses
        "status",
    }
    | OF_THE_NUMBER  # numbers (and the phone)
    | OF_THE_SITE  # sites (and the domain)
)

# The fields of a sighting row (`sighting_rows`) that come from the sighting, not
# its pair: a new sighting is found by its rowid (exports.sightings_mark); those
# of a page's latest sighting besides its url and dates are storage's.
SIGHTING_FIELDS = frozenset({"url", "first_seen", "last_seen", *storage.PAGE_FROM_LATEST})


def preset_hash(preset: Preset) -> str:
    """What makes a preset's rows and fingerprints: its definition (not its
    description or default floor) and the record's version."""
    spec = {k: v for k, v in asdict(preset).items() if k not in ("description", "min_risk")}
    spec["record_version"] = RECORD_VERSION
    blob = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _reads(preset: Preset) -> set[str]:
    """The row fields a preset's items, keys and fingerprints depend on."""
    read = set(preset.where) | set(preset.group_by) | set(preset.key)
    constant = _constant(preset)
    for column in preset.columns:
        if column in preset.ignore_in_delta:
            continue
        rule = preset.aggregate.get(column, "latest") if preset.group_by else None
        if rule == "latest" and column in constant:
            read.add(column)  # the same in every row of the group
        elif rule == "latest":  # the group's most recent row (`_recency`)
            read |= {column, "last_seen", "score"}
        elif rule and rule.startswith(("collect:", "count:")):
            read |= {f.strip() for f in rule.split(":", 1)[1].split(",") if f.strip()}
        else:
            read.add(column)
    return read


def _constant(preset: Preset) -> frozenset[str]:
    """The fields whose value is the same in every row of any one group: those of the
    number (site) when each group is of one number (site)."""
    constant = frozenset(preset.group_by)
    if "phone" in preset.group_by:
        constant |= OF_THE_NUMBER
    if "domain" in preset.group_by:
        constant |= OF_THE_SITE
    return constant


def anchored(preset: Preset) -> str | None:
    """For a grouped preset of pairs or sightings whose groups are each of one number
    or one site (the regulator's, hosting's): `phone` or `domain`, when everything its
    fingerprints read is tracked (pairs, numbers and sites stamped, sightings added);
    a delta then makes again only the groups of the numbers or sites that changed."""
    if preset.source not in ("pairs", "sightings"):
        return None
    allowed = TRACKED_FIELDS | (SIGHTING_FIELDS if preset.source == "sightings" else set())
    for anchor in ("phone", "domain"):
        if anchor in preset.group_by and _reads(preset) <= allowed:
            return anchor
    return None


def of_ranges(preset: Preset) -> bool:
    """For a grouped preset of pairs whose groups are of number ranges (the
    operators'): every group field is the number's, `number_range` among them, and
    everything it reads is tracked. A delta then makes again every group of the
    ranges of the numbers whose pairs changed (all of a range's numbers: a number
    whose carrier changed leaves a group of its range for another)."""
    return (
        preset.source == "pairs"
        and "number_range" in preset.group_by
        and set(preset.group_by) <= OF_THE_NUMBER - {"phone"}
        and _reads(preset) <= TRACKED_FIELDS
    )


def _page_fields(preset: Preset) -> tuple[str, ...] | None:
    """For a preset of sightings: the fields of a page's row, taken from its latest
    sighting, that its items read besides the page's URL and first seen (a sighting
    that repeats the page's latest in these changes nothing it reads); None when its
    items read the last seen (every new sighting moves it)."""
    read = _reads(preset)
    if "last_seen" in read:
        return None
    return tuple(sorted(read & set(storage.PAGE_FROM_LATEST)))


# The fields of an ad's row (`exports.rows.ad_rows`) that are the ad's or its
# landing page's, not its pair's: changes to them are logged (schema 0025).
AD_FIELDS = frozenset(storage.AD_ROW_FIELDS)


def of_ads(preset: Preset) -> bool:
    """Can a delta of this preset of ads, grouped by ad (engine, query, landing URL),
    make again only the groups that changed? When everything it reads is tracked:
    the ads and their pages (schema 0025) and the pairs (0020)."""
    return (
        preset.source == "ads"
        and {"engine", "query", "landing_url"} <= set(preset.group_by)
        and _reads(preset) <= TRACKED_FIELDS | AD_FIELDS
    )


def chunkable(preset: Preset) -> bool:
    """Are an `anchored` preset's items made the same a few numbers (sites) at a time?
    Yes when its items come in one order whatever order they are made in: each
    item's key is its group's fields, and it is ordered by them (no two items tie)."""
    names = {spec.lstrip("-") for spec in preset.order_by}
    anchor = anchored(preset)
    return bool(anchor) and set(preset.key) == set(preset.group_by) <= names


def tracked(preset: Preset) -> bool:
    """Can a delta of this preset read only what changed? One item per flagged pair
    (its key names the pair), and fingerprints and filter of tracked fields only."""
    read = (set(preset.columns) - set(preset.ignore_in_delta)) | set(preset.where)
    return (
        preset.source == "pairs"
        and not preset.group_by
        and set(preset.key) == {"domain", "phone"}
        and read <= TRACKED_FIELDS
    )


def withdraws(fmt: str) -> bool:
    """Does a delta in `fmt` read its candidates no longer flagged, or below the floor
    (`ReadOptions.withdrawable`), to withdraw those it sent? Every format but XARF,
    whose reports are never withdrawn."""
    return fmt != "xarf"


@dataclass
class DeltaPlan:
    """A delta's candidates: rowids of the pairs to read and, for one item per pair,
    their fingerprints as last sent; for a grouped preset, `of` names the groups
    made again (their items' fingerprints are read once made): ("phone" or
    "domain", the numbers or sites of an `anchored` one; no rowids when they are
    made a few at a time, `chunkable`), ("ads", the (engine, query, landing URL)
    of `of_ads`), ("number_range", the numbers whose ranges, `of_ranges`);
    `changed` the (site, number) of the pairs stamped since, for an `anchored` one."""

    rowids: list[int] | None
    sent: dict[str, str] | None = None
    of: tuple[str, list[str]] | None = None
    changed: frozenset[tuple[str, str]] = frozenset()


def covering_export(db: Database, preset: Preset, fmt: str, min_risk: str) -> dict | None:
    """The latest export to this recipient in this format after which every item it
    could send had its fingerprint in the ledger: one that covered everything
    (`since` empty or last) with this preset's definition, at this floor (or below,
    for items of one pair each: their rows do not depend on the floor); every export
    since must have the same definition, and for grouped items the same floor (their
    fingerprints were made the same way). None when there is none."""
    want = preset_hash(preset)
    floor = RISK_ORDER[min_risk]
    for e in storage.export_marks(db, preset.name, fmt):
        level = RISK_ORDER.get(e["min_risk"], floor + 1)
        if e["preset_hash"] != want or (preset.group_by and level != floor):
            return None
        if e["change_tick"] is not None and e["since"] in ("", "last") and level <= floor:
            return e
    return None


def delta_plan(
    db: Database, preset: Preset, fmt: str, *, min_risk: str, run_id: int | None = None
) -> DeltaPlan | None:
    """What a `--since last` delta must read: the pairs stamped (schema 0020) since
    the covering export (`covering_tick`) and every pair of a dismissed number or
    site, with their last sent fingerprints. None when the delta must read every
    pair (no covering export, a preset changed since or not `tracked`).

    A superset of what changed: an item not among them is as it was when the
    covering export read it, so its fingerprint is the one last sent, and the
    fingerprint comparison that follows drops the candidates that did not change."""
    anchor = anchored(preset)
    ads = of_ads(preset)
    ranges = not anchor and of_ranges(preset)
    if run_id is not None or not (tracked(preset) or anchor or ads or ranges):
        return None
    e = covering_export(db, preset, fmt, min_risk)
    if e is None or (preset.source != "pairs" and e["sightings_mark"] is None):
        return None
    if ads:  # marked before the ads' changes were logged (schema 0025): not covered
        since = storage.ads_tracked_since(db)
        if since is None or e["change_tick"] <= since:
            return None
    pairs = storage.changed_pairs(db, e["change_tick"])
    if ads:
        groups = storage.changed_ad_groups(db, e["change_tick"], e["sightings_mark"], pairs)
        return DeltaPlan(None, of=("ads", groups))
    if ranges:  # the numbers that changed: their ranges are made again
        return DeltaPlan(None, of=("number_range", sorted({p for _, _, p in pairs})))
    if not anchor:
        key_of = key_function(preset)
        keys = sorted({key_of({"domain": d, "phone": p}) for _, d, p in pairs})
        return DeltaPlan(
            [r for r, _, _ in pairs], storage.sent_for_keys(db, preset.name, fmt, keys)
        )
    # Every group of a number (site) that changed, had a pair change or a new sighting.
    side = 0 if anchor == "domain" else 1
    values = {pair[1 + side] for pair in pairs}
    if preset.source == "sightings":
        known = (anchor, sorted(values))  # made again whatever their sightings
        new = storage.sightings_since(db, e["sightings_mark"], _page_fields(preset), known)
        values |= {s[side] for s in new}
    keys = sorted(values)
    # Made a few at a time (`chunkable`), each chunk reading its own pairs.
    rowids = None if chunkable(preset) else storage.pairs_of(db, anchor, keys)
    return DeltaPlan(rowids, of=(anchor, keys), changed=frozenset((d, p) for _, d, p in pairs))
