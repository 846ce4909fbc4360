"""The items an export made whole (not streamed) sends: all of them, those seen
since a date, or, for `--since last`, those new or changed since last sent.

A delta reads only what may have changed (`delta.delta_plan`) and makes its items
the cheapest way its preset allows (a few hundred groups at a time, or aggregates
made in SQL), each way giving exactly the items a full scan's delta would.
"""

from __future__ import annotations

import json
from dataclasses import replace

from sqlite_utils import Database

from crawler import storage
from crawler.exports import PAIR_FORMATS
from crawler.exports.changed_pairs import BY_PAIR, WITHDRAWN
from crawler.exports.delta import DeltaPlan, chunkable, delta_plan, withdraws
from crawler.exports.ledger import sent_fingerprints
from crawler.exports.recipients import Preset
from crawler.exports.rows import SOURCES, ReadOptions, iter_pair_rows, numbers_of_ranges
from crawler.exports.rowtext import REASONS_FIELDS
from crawler.exports.shaping import (
    GONE,
    Item,
    aggregate,
    fingerprint,
    group_key,
    item_rows,
    matches,
    order,
    rule_fields,
    shape,
    shape_spooled,
    sort_fields,
    spooled,
)
from crawler.exports.spool import Spool, SpooledItem
from crawler.risk import RISK_ORDER


def made_items(
    db: Database,
    preset: Preset,
    fmt: str,
    *,
    since: str | None,
    min_risk: str,
    run_id: int | None,
    spool: Spool | None,
) -> tuple[list, list]:
    """The items of an export made whole (not streamed), in order: in memory, or
    with `spool` in a temporary file (`shape_spooled`), the same items either way.
    And, for a `--since last` delta in STIX or MISP, the dismissed part of items
    still live (`_withdrawn`) and the items made again that did not change
    (`_judges`): not items of their own (the ledger names an item once), only
    pairs to withdraw or judge."""
    plan = (
        delta_plan(db, preset, fmt, min_risk=min_risk, run_id=run_id) if since == "last" else None
    )
    if plan and plan.of and plan.of[0] != "ads" and chunkable(preset):
        return _anchored_items(db, preset, fmt, plan, min_risk=min_risk, spool=spool)
    made = None
    if plan and plan.of and plan.of[0] == "number_range" and spool is not None:
        phones = numbers_of_ranges(db, plan.of[1])
        made = _aggregated_items(
            db, preset, fmt, phones, min_risk=min_risk, spool=spool, withdrawable=withdraws(fmt)
        )
    elif plan is None and run_id is None and spool is not None:
        # Every group (a full export, or a delta with nothing to go by) made in SQL:
        # an operator's full export in about 2 s instead of 13 at a year's size.
        withdrawable = since == "last" and withdraws(fmt)
        made = _aggregated_items(
            db, preset, fmt, None, min_risk=min_risk, spool=spool, withdrawable=withdrawable
        )
    items, gone = made or _shaped(db, preset, fmt, plan, since, min_risk, run_id, spool)
    withdrawn: list = []
    if since == "last":
        if plan is None:
            sent = sent_fingerprints(db, preset.name, fmt)
        elif plan.sent is None:  # the groups made again: their fingerprints as last sent
            keys = sorted({it.key for it in items + gone})
            sent = storage.sent_for_keys(db, preset.name, fmt, keys)
        else:
            sent = plan.sent
        live = {it.key for it in items}
        # Withdrawn once already (`changed_pairs.WITHDRAWN`), or never sent: not again.
        whole = [it for it in gone if _was_live(sent, it.key) and it.key not in live]
        withdrawn = _withdrawn(fmt, [it for it in gone if it.key in sent], live)
        if _judges(fmt, preset):
            withdrawn += order([it for it in items if sent.get(it.key) == it.fingerprint], preset)
        items = order([it for it in items + whole if sent.get(it.key) != it.fingerprint], preset)
    elif since:
        items = [it for it in items if (it.row.get("last_seen") or _last(it)) >= since]
    return items, withdrawn


def _was_live(sent: dict[str, str], key: str) -> bool:
    """Was this item last sent live (not withdrawn, `changed_pairs.WITHDRAWN`)?"""
    return sent.get(key, WITHDRAWN) != WITHDRAWN


def _withdrawn(fmt: str, gone: list, live: set[str]) -> list:
    """Of the dismissed groups of items that were sent (`gone`, in order), those whose
    item is still live, by other pairs: in STIX and MISP, whose records are each one
    pair's indicator, their pairs go out revoked (those sent before and not yet
    withdrawn: `changed_pairs`) whatever the live item does. A number still flagged
    on one site is no reason to keep an indicator on another an analyst dismissed.
    JSONL and CSV have the item's row, which no longer lists them; XARF never
    withdraws."""
    if fmt not in BY_PAIR:
        return []
    return [it for it in gone if it.key in live]


def _judges(fmt: str, preset: Preset) -> bool:
    """Does a delta send the pairs of the items it made again that did not change,
    for STIX and MISP to judge one by one (`changed_pairs`)? An item's fingerprint
    does not say which of its pairs reach the floor: a pair may rise above it, or
    fall below it, while its item stays the same."""
    return fmt in BY_PAIR and bool(preset.group_by)


def _shaped(db, preset, fmt, plan, since, min_risk, run_id, spool) -> tuple[list, list]:
    """The items of the rows an export reads (all, or a delta's candidates `plan`),
    live and dismissed, made in memory or in `spool`."""
    reads = ReadOptions(
        min_risk=min_risk,
        run_id=run_id,
        include_dismissed=True,
        by=preset.verdict,
        withdrawable=since == "last" and withdraws(fmt),
    )
    if spool is not None:  # written out: only what is written is read (`_fields_read`)
        reads = replace(reads, decode=_decoded(preset, fmt), title=_reads_title(preset, fmt))
    candidates: dict = {}
    if plan and plan.of and plan.of[0] == "ads":
        candidates["groups"] = plan.of[1]
    elif plan and plan.of and plan.of[0] == "number_range":
        phones = numbers_of_ranges(db, plan.of[1])
        reads = replace(reads, only=storage.pairs_of(db, "phone", phones))
    elif plan:
        reads = replace(reads, only=plan.rowids)
        if plan.of and preset.source == "sightings":
            candidates["of"] = plan.of
    rows = SOURCES[preset.source](db, reads, **candidates)
    # Dismissed pairs are no longer flagged: a delta tells a recipient who had
    # them (status dismissed, a revoked indicator in STIX); nobody else gets them.
    # Ads (a few per query and run) come whole from `ad_rows`: spooled as well, each
    # would cost a pickle and save no memory.
    if spool is not None and preset.source != "ads":
        return shape_spooled(rows, preset, spool, dismissed=since == "last")
    rows = list(rows)
    items = shape([r for r in rows if r.get("status") not in GONE], preset)
    gone = shape([r for r in rows if r.get("status") in GONE], preset)
    return items, gone


def _anchored_items(
    db: Database, preset: Preset, fmt: str, plan: DeltaPlan, *, min_risk, spool
) -> tuple[list, list]:
    """The items of a `--since last` delta of a preset grouped by number or site
    (`delta.anchored`) whose items come in a total order (`delta.chunkable`): the
    groups of the numbers or sites `plan.of` made again, a few hundred at a time, and
    only those whose fingerprint differs from the one last sent kept (in `spool`
    when given), and the dismissed groups of those still live (`_withdrawn`). The
    same items as a full scan's delta: a group's rows are those of its number
    (site) only, in the order a full scan reads them. Of an item that did not change,
    only the pairs stamped since (`plan.changed`) can have, and only they are judged
    (`_judges`)."""
    anchor, values = plan.of
    skip = frozenset(preset.ignore_in_delta) - set(preset.key)
    part_of, whole = item_rows(preset, skip), item_rows(preset)
    # Written out (`spool`): only what is written is read; the items made whole keep
    # their pairs' rows as every other export makes them.
    reads = ReadOptions(
        min_risk=min_risk,
        include_dismissed=True,
        by=preset.verdict,
        decode=_decoded(preset, fmt) if spool is not None else REASONS_FIELDS,
        title=spool is None or _reads_title(preset, fmt),
        withdrawable=withdraws(fmt),
    )
    # A format of pairs writes the items' pairs, never their rows: a spooled item's
    # row is not made whole when the part its fingerprint reads holds its sort fields.
    rowless = spool is not None and fmt in PAIR_FORMATS and not skip & sort_fields(preset)
    live: set[str] = set()
    kept: list = []
    gone: list = []
    same: list = []  # live and unchanged: only their pairs are judged (`_judges`)
    judges = _judges(fmt, preset)
    for chunk in _chunked(values, 500):
        rows = SOURCES[preset.source](
            db,
            replace(reads, only=storage.pairs_of(db, anchor, chunk)),
            **({"of": (anchor, chunk)} if preset.source == "sightings" else {}),
        )
        groups: tuple[dict, dict] = ({}, {})  # live, dismissed
        for r in rows:
            if matches(r, preset.where):
                dismissed = r.get("status") in GONE
                groups[dismissed].setdefault(group_key(r, preset), []).append(r)
        made = [[(*part_of(m), m) for m in g.values()] for g in groups]
        sent = storage.sent_for_keys(
            db, preset.name, fmt, sorted({key for both in made for _, key, _ in both})
        )
        for dismissed, both in enumerate(made):
            for part, key, members in both:
                if not dismissed:
                    live.add(key)
                fp = fingerprint(part, preset)  # the columns it ignores left out
                unchanged = sent.get(key) == fp
                pairs = members
                if unchanged:
                    pairs = _stamped(members, plan.changed) if judges and not dismissed else []
                if (unchanged and not pairs) or (dismissed and not _was_live(sent, key)):
                    continue
                # Rowless: its sort fields from `part`, no row spooled (never read).
                out = part if rowless else whole(members, part)[0]
                if spool is None:
                    item = Item(key=key, row=out, pairs=pairs, fingerprint=fp)
                else:  # the pairs are kept for the formats made of them
                    item = spooled(spool, preset, out, key, fp, members, [], not rowless)
                    if fmt in PAIR_FORMATS:
                        _keep_pairs(item, pairs)
                (gone if dismissed else same if unchanged else kept).append(item)
    withdrawn = _withdrawn(fmt, order(gone, preset), live) + order(same, preset)
    return order(kept + [it for it in gone if it.key not in live], preset), withdrawn


def _stamped(members: list[dict], changed: frozenset) -> list[dict]:
    """The rows of the pairs stamped since the covering export (`DeltaPlan.changed`)."""
    return [m for m in members if (m["domain"], m["phone"]) in changed]


def _fields_read(preset: Preset, fmt: str) -> set[str]:
    """The row fields a grouped export reads: those its columns, filter, groups, key,
    order and rules name, and the pair's reasons in a format of pairs (their writers
    read no number's or site's reasons, nor the page's title:
    tests/test_exports_rowtext.py, tests/test_exports_stream.py)."""
    read = {*preset.columns, *preset.where, *preset.group_by, *preset.key}
    read |= sort_fields(preset)
    for rule in preset.aggregate.values():
        read |= set(rule_fields(rule.partition(":")[2]))
    if fmt in PAIR_FORMATS:
        read.add("reasons")
    return read


def _decoded(preset: Preset, fmt: str) -> frozenset[str]:
    """The reasons fields (`rowtext.REASONS_FIELDS`) a grouped export reads of its rows
    (`_fields_read`). A row decodes only those (`export_row`)."""
    return REASONS_FIELDS & _fields_read(preset, fmt)


def _reads_title(preset: Preset, fmt: str) -> bool:
    """Does a grouped export read the page's title? Looking up each pair's page is a
    tenth of a delta's read of pairs."""
    return "page_title" in _fields_read(preset, fmt)


def _keep_pairs(item: SpooledItem, members: list[dict]) -> None:
    """Put in the spool only the rows of an anchored item's pairs a format of pairs
    writes (`exports._write_pairs`: each pair's first row of its latest sighting,
    pairs in the order first met; an anchored group holds all of a pair's rows),
    with what `_write_pairs` orders them by (`SpooledItem.pair_heads`)."""
    latest: dict[tuple, dict] = {}
    for m in members:
        k = (m["domain"], m["phone"])
        if k not in latest or (m.get("last_seen") or "") > (latest[k].get("last_seen") or ""):
            latest[k] = m
    item.pairs_at = [item.spool.put(m) for m in latest.values()]
    item.pair_heads = [
        (m["domain"], m["phone"], m.get("last_seen") or "", m.get("score") or 0)
        for m in latest.values()
    ]


def _chunked(values: list, size: int):
    for i in range(0, len(values), size):
        yield values[i : i + size]


# Rules whose result depends only on the set of values of a group's rows (and,
# for the first three, on which of equal values comes first: see `_tie`).
_SET_RULES = {"min", "max", "max-risk"}
_ROW_FORMATS = ("jsonl", "csv")


def _aggregable(preset: Preset, fmt: str) -> list[str] | None:
    """The pair fields whose distinct values make a written-out item of `preset` (its
    groups' fields first) when each column is a group field or a set rule (min, max,
    max-risk, collect:/count: of one field) of a field SQL gives
    (`storage.FIELD_SQL`), items named and ordered by their group fields; None
    otherwise. In a format of pairs (STIX, MISP, XARF) the items' pairs are read
    once the items that changed are known (`read_pairs`)."""
    names = {spec.lstrip("-") for spec in preset.order_by}
    group = preset.group_by
    if not (
        fmt in _ROW_FORMATS + PAIR_FORMATS
        and preset.source == "pairs"
        and group
        and not preset.where
        and set(preset.key) == set(group) <= names <= set(preset.columns)
    ):
        return None
    fields = list(group)
    for column in preset.columns:
        rule = preset.aggregate.get(column, "latest")
        kind, _, spec = rule.partition(":")
        field = column if rule in _SET_RULES else spec.strip()
        if column in group and rule == "latest":
            continue
        if not (rule in _SET_RULES or (kind in ("collect", "count") and "," not in spec)):
            return None
        if field not in storage.FIELD_SQL:
            return None
        fields += [] if field in fields else [field]
    return fields


def _aggregated_items(
    db, preset, fmt, phones, *, min_risk, spool, withdrawable=False
) -> tuple[list, list] | None:
    """`_shaped` for the groups of these numbers' pairs (None: of every number) from
    their distinct values (`_aggregable`), in `spool`; None when the preset is not
    aggregable, or a rule's result would depend on the order of the rows (`_tie`).
    In a format of pairs each item holds the rowids of its pairs
    (`SpooledItem.rowids`), not the pairs. `withdrawable` (a delta): the pairs no
    longer flagged, or below the floor, are read too, gone as the dismissed are
    (`storage.grouped_distinct`), for `made_items` to withdraw those sent."""
    fields = _aggregable(preset, fmt)
    if fields is None:
        return None
    group = preset.group_by
    pairs = fmt in PAIR_FORMATS
    found = storage.grouped_distinct(
        db,
        phones,
        group,
        fields,
        min_risk=min_risk,
        by=preset.verdict,
        rowids=pairs,
        withdrawable=withdrawable,
    )
    # (gone: dismissed or withdrawn, the group named as `shaping.shape` names it: its
    # values as JSON) -> field -> values
    merged: dict = {}
    rowids: dict = {}  # the same -> the rowids of its pairs
    for row in found:
        values = dict(zip(group, row[: len(group)], strict=True))
        values = {f: _as_row(f, v) for f, v in values.items()}
        at = (row[len(group)], json.dumps([values[f] for f in group], default=str))
        into = merged.setdefault(at, {f: [] for f in fields} | {"": values})
        distincts = row[len(group) + 1 : len(group) + 1 + len(fields)]
        for f, distinct in zip(fields, distincts, strict=True):
            into[f] += [_as_row(f, v) for v in distinct]
        if pairs:
            rowids.setdefault(at, []).extend(row[-1])
    made: tuple[list, list] = ([], [])
    for at, values in merged.items():
        out = {}
        for column in preset.columns:
            rule = preset.aggregate.get(column, "latest")
            if column in group and rule == "latest":
                out[column] = values[""][column]
                continue
            field = column if rule in _SET_RULES else rule.partition(":")[2].strip()
            if rule in _SET_RULES and _tie(rule, values[field]):
                return None
            out[column] = aggregate(rule, column, [{field: v} for v in values[field]], {})
        key = preset.item_key(values[""])
        last = max((v for v in values.get("last_seen", []) if v), default="")
        head = {n.lstrip("-"): out[n.lstrip("-")] for n in preset.order_by}
        item = SpooledItem(key, fingerprint(out, preset), head, last, spool, spool.put(out))
        item.rowids = rowids.get(at) if pairs else None
        item.gone = bool(at[0])
        made[bool(at[0])].append(item)
    return order(made[0], preset), order(made[1], preset)


def read_pairs(
    db: Database,
    preset: Preset,
    fmt: str,
    items: list,
    *,
    min_risk: str,
    only: set | None = None,
    since: str | None = None,
):
    """The pairs behind items made in SQL (`_aggregated_items`: their `rowids`), read
    from the database now, in the order `exports._write_pairs` gives the pairs of
    items made of rows: STIX item by item, each item's pairs as the database orders
    them (the order they were read and grouped in); MISP strongest first; XARF a
    site's pairs together, sites in order. Only the items sent are read, and of
    their pairs those in `only` when given; in a delta (`since` last) those no
    longer flagged too, status `withdrawn`, as their items were made."""
    reads = ReadOptions(
        min_risk=min_risk,
        include_dismissed=True,
        by=preset.verdict,
        decode=_decoded(preset, fmt),
        title=_reads_title(preset, fmt),
        withdrawable=since == "last" and withdraws(fmt),
    )

    def read(rowids: list[int], by_site: bool = False):
        return iter_pair_rows(db, replace(reads, only=rowids), by_site=by_site)

    def kept(rowids: list[int]) -> list[int]:
        return rowids if only is None else [r for r in rowids if r in only]

    if fmt == "stix":
        for item in items:
            yield from read(kept(item.rowids))
        return
    every = kept([r for item in items for r in item.rowids])
    if fmt == "xarf":  # a site's report orders its pairs itself (`xarf.report`)
        yield from read(every, by_site=True)
        return
    # MISP: `_write_pairs`' sort, a chunk of that order read at a time.
    keys = storage.pair_keys(db, every)
    keys.sort(key=lambda k: (-(k[3] or 0), k[2], k[1]))
    for chunk in _chunked(keys, 1000):
        rows = list(read([k[0] for k in chunk]))
        yield from sorted(rows, key=lambda r: (-(r.get("score") or 0), r["phone"], r["domain"]))


def _as_row(field: str, value):
    """A value as the export row has it (`export_row`: an empty carrier is None)."""
    return (value or None) if field == "carrier" else value


def _tie(rule: str, values: list) -> bool:
    """Would `aggregate`'s result depend on which of these distinct values a group's
    rows give first? When two that are not the same compare equal at the top."""
    present = [v for v in values if v is not None]
    if not present:
        return False
    rank = (lambda v: RISK_ORDER.get(v, 0)) if rule == "max-risk" else (lambda v: v)
    top = (min if rule == "min" else max)(rank(v) for v in present)
    return len({json.dumps(v) for v in present if rank(v) == top}) > 1


def _last(item: Item | SpooledItem) -> str:
    if isinstance(item, SpooledItem):
        return item.last
    return max((p.get("last_seen") or "" for p in item.pairs), default="")
