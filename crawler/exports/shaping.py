"""From rows to a recipient's items: filtered, grouped and aggregated by its preset,
ordered, and fingerprinted.

No database here, only the rows and the preset: an item is the same whether it is
made in memory (`shape`), in a spool (`shape_spooled`) or a few groups at a time by
a delta, and its fingerprint is what `--since last` compares with the ledger's.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from crawler.exports.recipients import Preset
from crawler.exports.rowtext import encode_function
from crawler.exports.spool import Spool, SpooledItem
from crawler.risk import RISK_ORDER
from crawler.storage import WITHDRAWN

STATUS_ORDER = {"confirmed": 3, "new": 2, "dismissed": 1, WITHDRAWN: 0}

# The statuses of a pair no longer flagged that a delta tells a recipient who had it:
# an analyst's dismissal, or a verdict that no longer flags it (`storage.pair_status`).
GONE = ("dismissed", WITHDRAWN)


@dataclass
class Item:
    """One export row, the key that names it and the flagged pairs behind it."""

    key: str
    row: dict
    pairs: list[dict] = field(default_factory=list)
    fingerprint: str = ""


def matches(row: dict, where: dict) -> bool:
    for name, want in where.items():
        have = row.get(name)
        if isinstance(want, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


def _distinct(values: list) -> list:
    """The distinct non-empty values (lists flattened), sorted. Deduplicated by hash,
    not by list search: a number range's group can hold 100,000 numbers."""
    flat: list = []
    for value in values:
        if isinstance(value, list):
            flat += value
        else:
            flat.append(value)
    present = [v for v in flat if v is not None and v != ""]
    if len(present) < 2:  # a group of one row: nothing to merge or order
        return present
    if all(type(v) is str for v in present):  # text (most columns): itself, sorted
        return sorted(set(present))
    seen: dict = {}
    for v in present:
        key = _SORTED(v) if isinstance(v, dict | list) else v
        seen.setdefault(key, v)
    found = list(seen.values())
    try:
        return sorted(found)
    except TypeError:  # objects: by their JSON, json.dumps(v, sort_keys=True)
        return sorted(found, key=_SORT_KEY)


# json.dumps(v, sort_keys=True, default=str) and json.dumps(v, sort_keys=True), each
# encoder's encode made once (`encode_function`): a grouped delta's items call them
# tens of thousands of times, and JSONEncoder.encode makes its C encoder each call.
_SORTED = encode_function(json.JSONEncoder(sort_keys=True, default=str))
_SORT_KEY = encode_function(json.JSONEncoder(sort_keys=True))

# The rules that pick one of a group's values, and the order of those ranked.
_PICKED = {"min": None, "max": None, "max-risk": RISK_ORDER, "status": STATUS_ORDER}


def aggregate(rule: str, column: str, members: list[dict], latest: dict):
    """Apply one `aggregate` rule of a preset to the rows of a group."""
    if rule == "latest":
        return latest.get(column)
    if rule in _PICKED:
        present = [v for m in members if (v := m.get(column)) is not None]
        if rule == "min":
            return min(present, default=None)
        ranks = _PICKED[rule]
        if ranks is None:
            return max(present, default=None)
        return max(present, key=lambda v: ranks.get(v, 0), default=None)
    kind, _, spec = rule.partition(":")
    fields = rule_fields(spec)
    if len(fields) == 1:
        name = fields[0]
        found = _distinct([m.get(name) for m in members])
    else:
        found = _distinct([{f: m.get(f) for f in fields} for m in members])
    return len(found) if kind == "count" else found


@functools.lru_cache(maxsize=256)
def rule_fields(spec: str) -> tuple[str, ...]:
    """The fields of a collect:/count: rule (`spec`, after the colon)."""
    return tuple(f.strip() for f in spec.split(",") if f.strip())


def _recency(row: dict):
    return (row.get("last_seen") or "", row.get("score") or 0)


def shape(rows: list[dict], preset: Preset) -> list[Item]:
    """Filter, group and project rows into the preset's items."""
    groups: dict = {}
    for n, r in enumerate(rows):
        if matches(r, preset.where):
            groups.setdefault(_group_of(r, preset, n), []).append(r)
    items = []
    make = item_rows(preset)
    for members in groups.values():
        out, key = make(members)
        items.append(Item(key=key, row=out, pairs=members, fingerprint=fingerprint(out, preset)))
    return order(items, preset)


def _group_of(row: dict, preset: Preset, n: int):
    """The group a row belongs to: its `group_by` values (`group_key`), or its own
    (`n`) when ungrouped."""
    return group_key(row, preset) if preset.group_by else n


# How `item_rows` makes a column: its latest member's value, one value picked by a
# rule (min, max, max-risk, status), the distinct values of one field or of several.
_LATEST, _PICK, _ONE, _SEVERAL = range(4)


def item_rows(preset: Preset, skip: frozenset[str] = frozenset()):
    """What makes a group's item: `make(members, made=None)` gives the row (its latest
    member, aggregated by the preset's rules), projected to the preset's columns,
    and the key that names it. `skip`: columns left out (not made), e.g. those its
    fingerprint ignores; `made`: columns already made (a row made with `skip`).
    Each column's rule is looked up once, not per group (a delta makes tens of
    thousands of groups, most of one or two rows)."""
    rules = preset.aggregate if preset.group_by else {}
    ops = []
    for column in preset.columns:
        if column in skip:
            continue
        rule = rules.get(column)
        if not rule or rule == "latest":
            ops.append((column, _LATEST, None))
        elif rule in _PICKED:
            ops.append((column, _PICK, rule))
        else:
            kind, _, spec = rule.partition(":")
            fields = rule_fields(spec)
            how = _ONE if len(fields) == 1 else _SEVERAL
            ops.append((column, how, (kind == "count", fields)))
    key = preset.key

    def make(members: list[dict], made: dict | None = None) -> tuple[dict, str]:
        latest = max(members, key=_recency) if len(members) > 1 else members[0]
        out = {}
        for column, how, arg in ops:
            if made is not None and column in made:
                out[column] = made[column]
            elif how == _LATEST:
                out[column] = latest.get(column)
            elif how == _PICK:  # of one row: its value (min, max of one)
                one = len(members) == 1
                out[column] = (
                    members[0].get(column) if one else aggregate(arg, column, members, latest)
                )
            else:
                count, fields = arg
                if how == _ONE:
                    name = fields[0]
                    found = _distinct([m.get(name) for m in members])
                else:
                    found = _distinct([{f: m.get(f) for f in fields} for m in members])
                out[column] = len(found) if count else found
        named = {}
        for k in key:
            if k in out:
                named[k] = out[k]
            else:  # a key field not among the columns made: made as `aggregate` would
                rule = rules.get(k)
                named[k] = aggregate(rule, k, members, latest) if rule else latest.get(k)
        return out, preset.item_key(named)

    return make


def shape_spooled(
    rows: Iterable[dict], preset: Preset, spool: Spool, dismissed: bool = False
) -> tuple[list[SpooledItem], list[SpooledItem]]:
    """`shape` made in `spool`, in one pass over the rows: the items of the live rows
    and (with `dismissed`) those of the dismissed ones, each the same items in the
    same order as `shape` makes; only keys, fingerprints and sort fields are held."""
    live: dict = {}
    gone: dict = {}
    for n, r in enumerate(rows):
        was_dismissed = r.get("status") in GONE
        if (was_dismissed and not dismissed) or not matches(r, preset.where):
            continue
        group = _group_of(r, preset, n)
        (gone if was_dismissed else live).setdefault(group, []).append(spool.put(r))
    return _spooled_items(live, preset, spool), _spooled_items(gone, preset, spool)


def _spooled_items(groups: dict, preset: Preset, spool: Spool) -> list[SpooledItem]:
    items = []
    make = item_rows(preset)
    for offsets in groups.values():
        members = [spool.get(at) for at in offsets]
        out, key = make(members)
        items.append(spooled(spool, preset, out, key, fingerprint(out, preset), members, offsets))
    return order(items, preset)


def spooled(spool, preset, out, key, fp, members, offsets, row: bool = True) -> SpooledItem:
    """An item whose row and members (at `offsets`) are in `spool`, its row put there now;
    without `row`, none put (a format of pairs never reads it: `exports._write_pairs`),
    `out` giving only its sort fields."""
    head = {n: out[n] if n in out else members[0].get(n) for n in sort_fields(preset)}
    last = max((p.get("last_seen") or "" for p in members), default="")
    return SpooledItem(key, fp, head, last, spool, spool.put(out) if row else None, offsets)


def sort_fields(preset: Preset) -> set[str]:
    return {spec.lstrip("-") for spec in preset.order_by}


def group_key(row: dict, preset: Preset):
    """A row's group by its `group_by` values: a tuple of them when they are text
    (numbers, sites, queries), their JSON otherwise (a list, say). The same rows
    share a key either way, and a tuple is hashed without encoding a thing."""
    values = tuple(row.get(f) for f in preset.group_by)
    if all(type(v) is str for v in values):
        return values
    return json.dumps(values, default=str)


def order(items: list[Item], preset: Preset) -> list[Item]:
    """Items in the preset's `order_by` order."""
    for spec in reversed(preset.order_by):
        name, reverse = (spec[1:], True) if spec.startswith("-") else (spec, False)
        items.sort(key=lambda it, n=name: _orderable(_field(it, n)), reverse=reverse)
    return items


def _field(item: Item | SpooledItem, name: str):
    if isinstance(item, SpooledItem):
        return item.head.get(name)
    if name in item.row:
        return item.row[name]
    return item.pairs[0].get(name) if item.pairs else None


def _orderable(value):
    """Sort key that puts missing values first and compares lists as text."""
    if isinstance(value, list | dict):
        value = json.dumps(value, sort_keys=True, default=str)
    return (value is not None, value if value is not None else "")


def fingerprint(row: dict, preset: Preset) -> str:
    """What changed means for `--since last`: a hash of the row less the volatile fields."""
    ignored = frozenset(preset.ignore_in_delta)
    return kept_fingerprint({k: v for k, v in row.items() if k not in ignored})


# json.dumps(kept, sort_keys=True, default=str, ensure_ascii=False), the ledger's
# form: one encoder, not one made per call (json.dumps makes one for any option).
FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False)
_FINGERPRINT = encode_function(FINGERPRINT_JSON)  # its encode, made once


def kept_fingerprint(kept: dict) -> str:
    """The fingerprint of a row's fields that count (`fingerprint`)."""
    return hashlib.sha256(_FINGERPRINT(kept).encode("utf-8")).hexdigest()
