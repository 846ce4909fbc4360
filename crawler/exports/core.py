"""Build a recipient's export: rows from the database, shaped by its preset, delta, ledger.

`prepare_export` makes the file's content without writing anything; once the
caller has delivered it, `record_export` writes the exports ledger (what was
sent, when, to whom, the file's SHA-256 and each item's fingerprint). With
`since="last"`, an item goes out only when it was never sent to that
recipient or its row changed since it was last sent; so the same export run
twice gives an empty second delta.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlite_utils import Database

from crawler import storage
from crawler.evidence import warc_dir_for
from crawler.exports import PAIR_FORMATS
from crawler.exports.changed_pairs import BY_PAIR, ChangedPairs
from crawler.exports.csvsafe import escape_cell
from crawler.exports.delta import chunkable, delta_plan, preset_hash
from crawler.exports.evidence_files import EvidenceFiles
from crawler.exports.recipients import Preset
from crawler.exports.rowtext import (
    REASONS_FIELDS,
    StreamedRows,
    csv_line,
    encode_function,
    key_function,
)
from crawler.exports.spool import Spool, SpooledItem
from crawler.risk import RISK_ORDER

# Formats whose records are indicators a machine acts on: nothing below medium
# unless the recipient or --min-risk asks for it.
INDICATOR_FLOOR = {"stix": "medium", "misp": "medium", "xarf": "medium"}
STATUS_ORDER = {"confirmed": 3, "new": 2, "dismissed": 1}


@dataclass
class Item:
    """One export row, the key that names it and the flagged pairs behind it."""

    key: str
    row: dict
    pairs: list[dict] = field(default_factory=list)
    fingerprint: str = ""


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

    @property
    def count(self) -> int:
        return len(self.ledger)


class _Hashing:
    """A text stream that writes UTF-8 bytes to `out` as they come and keeps their SHA-256."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.hash = hashlib.sha256()

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.hash.update(data)
        self.out.write(data)
        return len(text)


# ---------------------------------------------------------------------------
# Row sources


def number_range(e164: str | None) -> str | None:
    """The block a number belongs to: its last four digits masked (`+3185208XXXX`).

    Dutch geographic and 085/088 numbers are allocated in blocks of 10,000, so
    this is the range an operator holds; elsewhere it is a useful grouping.
    """
    if not e164 or not e164.startswith("+") or len(e164) < 8:
        return e164
    return e164[:-4] + "XXXX"


def _numbers_of_ranges(db: Database, phones: list[str]) -> list[str]:
    """Every number of the ranges (`number_range`) of these numbers."""
    ranges = {number_range(p) for p in phones}
    spans = []
    for r in ranges:
        masked = r and r.startswith("+") and r.endswith("XXXX") and len(r) >= 8
        low = r[:-4] if masked else r
        if low:  # every number starting as the range does (the range itself at least)
            spans.append((low, low[:-1] + chr(ord(low[-1]) + 1)))
    return sorted(p for p in storage.numbers_between(db, spans) if number_range(p) in ranges)


def pair_rows(
    db: Database,
    *,
    min_risk: str = "low",
    run_id: int | None = None,
    include_dismissed: bool = False,
    by: str = "pair",
    only: list[int] | None = None,
) -> list[dict]:
    """Flagged (site, number) pairs: the DESIGN.md record plus evidence and number facts;
    `min_risk` floors the verdict named by `by` (pair, number or site).

    With `include_dismissed`, also the pairs dismissed by an analyst
    (`status: dismissed`): deltas send them as withdrawn.
    """
    return list(
        iter_pair_rows(
            db,
            min_risk=min_risk,
            run_id=run_id,
            include_dismissed=include_dismissed,
            by=by,
            only=only,
        )
    )


def iter_pair_rows(
    db: Database,
    *,
    min_risk: str = "low",
    run_id: int | None = None,
    include_dismissed: bool = False,
    by: str = "pair",
    seen_in_run: int | None = None,
    by_site: bool = False,
    only: list[int] | None = None,
    decode: frozenset[str] = REASONS_FIELDS,
    title: bool = True,
):
    """`pair_rows` one at a time, as the database gives them (highest score first,
    then number, then site): an export streams them without holding them all.
    `seen_in_run`: only the pairs that run saw; `by_site`: ordered by site first;
    `only`: only the pairs with these rowids (a delta's candidates, `delta_plan`);
    `decode`: the reasons fields decoded (`_export_row`: the others are None);
    `title`: the page's title read (False: `page_title` None)."""
    decisions = storage.latest_decisions(db)
    for raw in _raw_pair_rows(
        db,
        min_risk=min_risk,
        run_id=run_id,
        include_dismissed=include_dismissed,
        by=by,
        seen_in_run=seen_in_run,
        by_site=by_site,
        only=only,
        title=title,
    ):
        yield _export_row(raw, decisions, decode)


def _raw_pair_rows(db: Database, **kw):
    """The stored rows `iter_pair_rows` makes its rows of (`_export_row`)."""
    return storage.flagged_rows(db, details=True, export=True, **kw)


def _export_row(
    raw: dict, decisions: dict[str, dict], decode: frozenset[str] = REASONS_FIELDS
) -> dict:
    """A pair's export row: `storage.export_record(raw)`, then the pair's evidence, runs,
    number details and page title, and what the exports decide with, made as one
    dict in that order (a delta makes tens of thousands; tests/test_exports_stream.py
    holds it to export_record). Reasons fields not in `decode` are None: decoding
    them is most of the row's time, and a streamed row splices their stored text
    (`rowtext.RowTexts`) or is written by a writer that does not read them."""
    phone = raw["phone"]
    screenshot = raw["screenshot"]
    row = {
        "phone": phone,
        "number_type": raw["number_type"],
        "country": raw["country"],
        "domain": raw["domain"],
        "url": raw["url"],
        "entry_url": raw["entry_url"],
        "brand": raw["brand"],
        "score": raw["score"],
        "risk": raw["risk"],
        # A pair's own reasons are its own (decoded as they come); its number's and
        # site's repeat on their other pairs (decoded once, `storage.reasons_list`).
        "reasons": storage.loads_json(raw["reasons"] or "[]") if "reasons" in decode else None,
        "is_ad": bool(raw["is_ad"]),
        "engine": raw["engine"],
        "query": raw["query"],
        "rank": raw["rank"],
        "first_seen": raw["first_seen"],
        "last_seen": raw["last_seen"],
        "status": storage.pair_status(raw["number_status"], raw["site_status"]),
        "number_score": raw["number_score"],
        "number_risk": raw["number_risk"],
        "number_reasons": (
            storage.reasons_list(raw["number_reasons"]) if "number_reasons" in decode else None
        ),
        "site_score": raw["site_score"],
        "site_risk": raw["site_risk"],
        "site_reasons": (
            storage.reasons_list(raw["site_reasons"]) if "site_reasons" in decode else None
        ),
        "screenshot": storage.loads_json(screenshot) if screenshot else None,
        "screenshot_sha256": raw["screenshot_sha256"],
        "ip": raw["ip"],
        "warc_file": raw["warc_file"],
        "warc_record_id": raw["warc_record_id"],
        "payload_sha256": raw["payload_sha256"],
        "first_run": raw["first_run"],
        "last_run": raw["last_run"],
        "nl_category": raw["nl_category"],
        # An empty carrier is none.
        "carrier": raw["carrier"] or None,
        "page_title": raw["page_title"],
        "click_url": raw["click_url"],
        "advertiser_name": raw["advertiser_name"],
        "advertiser_location": raw["advertiser_location"],
        "number_range": number_range(phone),
        # A number posted on the brand's own site (a forum) is flagged, but
        # the brand's host is not the partner to ask for a takedown.
        "brand_site": bool(raw["official_site"]),
        # A known legitimate third party (brands file): never an indicator.
        "third_party": raw["third_party"] or raw["third_party_site"],
    }
    # When the status was decided: a withdrawal's time in STIX and MISP.
    row["status_at"] = _status_at(row, decisions) if decisions else None
    return row


def _status_at(row: dict, decisions: dict[str, dict]) -> str | None:
    """When the decision behind the row's status was made (None for new)."""
    for key in (row["phone"], row["domain"]):
        d = decisions.get(key)
        if d and d["status"] == row["status"]:
            return d["at"]
    return None


def ad_rows(
    db: Database,
    *,
    min_risk: str = "low",
    run_id: int | None = None,
    include_dismissed: bool = False,
    by: str = "pair",
    groups: list | None = None,
) -> list[dict]:
    """Ads whose landing page showed a flagged number: one row per ad shown and number.

    An ad leads to the page fetched from its landing URL in the same run (the
    page's `entry_url`, or its `url` when there was no redirect); the numbers
    are those sighted on that page. `groups`: only the ads of these (engine,
    query, landing URL) (a delta's candidates, `delta_plan`).
    """
    # The ads first (a few per query and run), then only the pairs they led to:
    # a year holds hundreds of thousands of flagged pairs, and few were advertised.
    showings = list(storage.ad_showings(db, run_id, groups=groups))
    wanted = sorted({(ad["domain"], ad["phone"]) for ad in showings}, key=str)
    pairs = {
        (p["domain"], p["phone"]): p
        for p in iter_pair_rows(
            db,
            min_risk=min_risk,
            include_dismissed=include_dismissed,
            by=by,
            only=storage.rowids_of_pairs(db, wanted),
        )
    }
    out = []
    done = set()
    for ad in showings:
        pair = pairs.get((ad["domain"], ad["phone"]))
        if pair is None or (ad["serp_id"], ad["phone"]) in done:
            continue
        done.add((ad["serp_id"], ad["phone"]))
        row = {**pair}
        row.update(
            {
                "run_id": ad["run_id"],
                "engine": ad["engine"],
                "query": ad["query"],
                "ad_position": ad["ad_position"],
                "title": ad["title"],
                "display_url": ad["display_url"],
                "landing_url": ad["landing_url"],
                "click_url": ad["click_url"],
                "advertiser_name": ad["advertiser_name"] or "",
                "advertiser_location": ad["advertiser_location"] or "",
                "advertiser_url": ad["advertiser_url"] or "",
                "seen_at": ad["seen_at"],
                "first_seen": ad["seen_at"],
                "last_seen": ad["seen_at"],
                "url": ad["page_url"],
                "ip": ad["page_ip"],
                "warc_file": ad["page_warc_file"],
                "warc_record_id": ad["page_warc_record_id"],
                "payload_sha256": ad["page_payload_sha256"],
            }
        )
        out.append(row)
    return out


def sighting_rows(
    db: Database,
    *,
    min_risk: str = "low",
    run_id: int | None = None,
    include_dismissed: bool = False,
    by: str = "pair",
    only: list[int] | None = None,
    of: tuple[str, list[str]] | None = None,
    decode: frozenset[str] = REASONS_FIELDS,
    title: bool = True,
) -> Iterator[dict]:
    """Every page on which a flagged pair's number was seen: one row per (page URL, number).

    Each row is the pair's record with the page's own URL, evidence and server
    address from its latest sighting, and first/last seen over all its sightings.
    A delta's candidates (`delta_plan`): `only` the pairs with these rowids and
    the sightings `of` these numbers or sites (("phone", [...]) or ("domain", [...])).
    `decode`, `title`: what of the pairs' rows is read, as `iter_pair_rows`.

    Made a site at a time, as read: the pairs and the sightings both come ordered
    by site, so only one site's are held (a year has a million sightings).
    """
    pairs = itertools.groupby(
        iter_pair_rows(
            db,
            min_risk=min_risk,
            include_dismissed=include_dismissed,
            by=by,
            only=only,
            by_site=True,
            decode=decode,
            title=title,
        ),
        key=_site_order,
    )
    sightings = storage.sightings_for_export(db, run_id, of=of, by_site=True)
    pending = next(pairs, None)
    for site, seen in itertools.groupby(sightings, key=_site_order):
        while pending is not None and pending[0] < site:
            pending = next(pairs, None)
        if pending is None:
            return
        if pending[0] == site:
            of_site = {(p["domain"], p["phone"]): p for p in pending[1]}
            pending = next(pairs, None)
            yield from _page_rows(of_site, seen)


def _site_order(row: dict) -> tuple[bool, str]:
    """A row's site as SQLite orders it: no site first, then by the text's bytes."""
    return (row["domain"] is not None, row["domain"] or "")


def _page_rows(pairs: dict[tuple, dict], sightings) -> Iterator[dict]:
    """One site's rows of `sighting_rows`, from its flagged pairs and its sightings."""
    first: dict[tuple, str] = {}  # (url, number) -> its first sighting's time
    latest: dict[tuple, tuple] = {}  # the same -> its latest sighting and its pair
    for s in sightings:
        pair = pairs.get((s["domain"], s["phone"]))
        if pair is None:
            continue
        k = (s["url"], s["phone"])
        if k not in first:
            first[k] = s["seen_at"]
        latest[k] = (s, pair)
    # A page's row is made once, from its latest sighting (a page is seen most runs).
    for k, at in first.items():
        s, pair = latest[k]
        yield {
            **pair,
            **{name: s[name] for name in ("url", "entry_url", "engine", "query", "rank")},
            **{name: s[name] for name in ("ip", "warc_file", "warc_record_id", "payload_sha256")},
            "is_ad": bool(s["is_ad"]),
            "first_seen": at,
            "last_seen": s["seen_at"],
        }


SOURCES = {"pairs": iter_pair_rows, "sightings": sighting_rows, "ads": ad_rows}


# ---------------------------------------------------------------------------
# Shaping


def _matches(row: dict, where: dict) -> bool:
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
    fields = _rule_fields(spec)
    if len(fields) == 1:
        name = fields[0]
        found = _distinct([m.get(name) for m in members])
    else:
        found = _distinct([{f: m.get(f) for f in fields} for m in members])
    return len(found) if kind == "count" else found


@functools.lru_cache(maxsize=256)
def _rule_fields(spec: str) -> tuple[str, ...]:
    """The fields of a collect:/count: rule (`spec`, after the colon)."""
    return tuple(f.strip() for f in spec.split(",") if f.strip())


def _recency(row: dict):
    return (row.get("last_seen") or "", row.get("score") or 0)


def shape(rows: list[dict], preset: Preset) -> list[Item]:
    """Filter, group and project rows into the preset's items."""
    groups: dict = {}
    for n, r in enumerate(rows):
        if _matches(r, preset.where):
            groups.setdefault(_group_of(r, preset, n), []).append(r)
    items = []
    make = _item_rows(preset)
    for members in groups.values():
        out, key = make(members)
        items.append(Item(key=key, row=out, pairs=members, fingerprint=fingerprint(out, preset)))
    return order(items, preset)


def _group_of(row: dict, preset: Preset, n: int):
    """The group a row belongs to: its `group_by` values, or its own (`n`) when ungrouped."""
    if preset.group_by:
        return json.dumps([row.get(f) for f in preset.group_by], default=str)
    return n


# How `_item_rows` makes a column: its latest member's value, one value picked by a
# rule (min, max, max-risk, status), the distinct values of one field or of several.
_LATEST, _PICK, _ONE, _SEVERAL = range(4)


def _item_rows(preset: Preset, skip: frozenset[str] = frozenset()):
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
            fields = _rule_fields(spec)
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
        was_dismissed = r.get("status") == "dismissed"
        if (was_dismissed and not dismissed) or not _matches(r, preset.where):
            continue
        group = _group_of(r, preset, n)
        (gone if was_dismissed else live).setdefault(group, []).append(spool.put(r))
    return _spooled_items(live, preset, spool), _spooled_items(gone, preset, spool)


def _spooled_items(groups: dict, preset: Preset, spool: Spool) -> list[SpooledItem]:
    items = []
    make = _item_rows(preset)
    for offsets in groups.values():
        members = [spool.get(at) for at in offsets]
        out, key = make(members)
        items.append(_spooled(spool, preset, out, key, fingerprint(out, preset), members, offsets))
    return order(items, preset)


def _spooled(spool, preset, out, key, fp, members, offsets, row: bool = True) -> SpooledItem:
    """An item whose row and members (at `offsets`) are in `spool`, its row put there now;
    without `row`, none put (a format of pairs never reads it: `exports._write_pairs`),
    `out` giving only its sort fields."""
    head = {n: out[n] if n in out else members[0].get(n) for n in _sort_fields(preset)}
    last = max((p.get("last_seen") or "" for p in members), default="")
    return SpooledItem(key, fp, head, last, spool, spool.put(out) if row else None, offsets)


def _anchored_items(
    db: Database, preset: Preset, fmt: str, of: tuple[str, list[str]], *, min_risk, spool
) -> list:
    """The items of a `--since last` delta of a preset grouped by number or site
    (`delta.anchored`) whose items come in a total order (`delta.chunkable`): the
    groups of the numbers or sites `of` made again, a few hundred at a time, and
    only those whose fingerprint differs from the one last sent kept (in `spool`
    when given). The same items as a full scan's delta: a group's rows are those
    of its number (site) only, in the order a full scan reads them."""
    anchor, values = of
    skip = frozenset(preset.ignore_in_delta) - set(preset.key)
    part_of, whole = _item_rows(preset, skip), _item_rows(preset)
    # Written out (`spool`): only what is written is read; the items made whole keep
    # their pairs' rows as every other export makes them.
    decode = _decoded(preset, fmt) if spool is not None else REASONS_FIELDS
    title = spool is None or _reads_title(preset, fmt)
    # A format of pairs writes the items' pairs, never their rows: a spooled item's
    # row is not made whole when the part its fingerprint reads holds its sort fields.
    rowless = spool is not None and fmt in PAIR_FORMATS and not skip & _sort_fields(preset)
    live: set[str] = set()
    kept: list = []
    gone: list = []
    for chunk in _chunked(values, 500):
        rows = SOURCES[preset.source](
            db,
            min_risk=min_risk,
            include_dismissed=True,
            by=preset.verdict,
            only=storage.pairs_of(db, anchor, chunk),
            decode=decode,
            title=title,
            **({"of": (anchor, chunk)} if preset.source == "sightings" else {}),
        )
        groups: tuple[dict, dict] = ({}, {})  # live, dismissed
        for r in rows:
            if _matches(r, preset.where):
                dismissed = r.get("status") == "dismissed"
                groups[dismissed].setdefault(_group_key(r, preset), []).append(r)
        made = [[(*part_of(m), m) for m in g.values()] for g in groups]
        sent = storage.sent_for_keys(
            db, preset.name, fmt, sorted({key for both in made for _, key, _ in both})
        )
        for dismissed, both in enumerate(made):
            for part, key, members in both:
                if not dismissed:
                    live.add(key)
                fp = fingerprint(part, preset)  # the columns it ignores left out
                if sent.get(key) == fp or (dismissed and key not in sent):
                    continue
                # Rowless: its sort fields from `part`, no row spooled (never read).
                out = part if rowless else whole(members, part)[0]
                if spool is None:
                    item = Item(key=key, row=out, pairs=members, fingerprint=fp)
                else:  # the pairs are kept for the formats made of them
                    item = _spooled(spool, preset, out, key, fp, members, [], not rowless)
                    if fmt in PAIR_FORMATS:
                        _keep_pairs(item, members)
                (gone if dismissed else kept).append(item)
    return order(kept + [it for it in gone if it.key not in live], preset)


def _sort_fields(preset: Preset) -> set[str]:
    return {spec.lstrip("-") for spec in preset.order_by}


def _fields_read(preset: Preset, fmt: str) -> set[str]:
    """The row fields a grouped export reads: those its columns, filter, groups, key,
    order and rules name, and the pair's reasons in a format of pairs (their writers
    read no number's or site's reasons, nor the page's title:
    tests/test_exports_rowtext.py, tests/test_exports_stream.py)."""
    read = {*preset.columns, *preset.where, *preset.group_by, *preset.key}
    read |= _sort_fields(preset)
    for rule in preset.aggregate.values():
        read |= set(_rule_fields(rule.partition(":")[2]))
    if fmt in PAIR_FORMATS:
        read.add("reasons")
    return read


def _decoded(preset: Preset, fmt: str) -> frozenset[str]:
    """The reasons fields (`rowtext.REASONS_FIELDS`) a grouped export reads of its rows
    (`_fields_read`). A row decodes only those (`_export_row`)."""
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


def _group_key(row: dict, preset: Preset):
    """`_group_of` without JSON when the group's values are text (its numbers, its
    sites): the same rows share a key either way."""
    values = tuple(row.get(f) for f in preset.group_by)
    if all(type(v) is str for v in values):
        return values
    return _group_of(row, preset, 0)


def _chunked(values: list, size: int):
    for i in range(0, len(values), size):
        yield values[i : i + size]


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
    return _fingerprint({k: v for k, v in row.items() if k not in ignored})


# json.dumps(kept, sort_keys=True, default=str, ensure_ascii=False), the ledger's
# form: one encoder, not one made per call (json.dumps makes one for any option).
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False)
_FINGERPRINT = encode_function(_FINGERPRINT_JSON)  # its encode, made once


def _fingerprint(kept: dict) -> str:
    """The fingerprint of a row's fields that count (`fingerprint`)."""
    return hashlib.sha256(_FINGERPRINT(kept).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------
# Since, ledger


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
            "records": len(export.ledger),
            "change_tick": export.change_tick,
            "preset_hash": export.preset_hash,
            "sightings_mark": export.sightings_mark,
        },
        export.ledger + export.pair_ledger,
    )


# ---------------------------------------------------------------------------
# The whole export


def _made_items(
    db: Database,
    preset: Preset,
    fmt: str,
    *,
    since: str | None,
    min_risk: str,
    run_id: int | None,
    spool: Spool | None,
) -> list:
    """The items of an export made whole (not streamed), in order: in memory, or
    with `spool` in a temporary file (`shape_spooled`), the same items either way."""
    plan = (
        delta_plan(db, preset, fmt, min_risk=min_risk, run_id=run_id) if since == "last" else None
    )
    if plan and plan.of and plan.of[0] != "ads" and chunkable(preset):
        return _anchored_items(db, preset, fmt, plan.of, min_risk=min_risk, spool=spool)
    made = None
    if plan and plan.of and plan.of[0] == "number_range" and spool is not None:
        phones = _numbers_of_ranges(db, plan.of[1])
        made = _aggregated_items(db, preset, fmt, phones, min_risk=min_risk, spool=spool)
    items, gone = made or _shaped(db, preset, plan, since, min_risk, run_id, spool)
    if since == "last":
        if plan is None:
            sent = sent_fingerprints(db, preset.name, fmt)
        elif plan.sent is None:  # the groups made again: their fingerprints as last sent
            keys = sorted({it.key for it in items + gone})
            sent = storage.sent_for_keys(db, preset.name, fmt, keys)
        else:
            sent = plan.sent
        live = {it.key for it in items}
        withdrawn = [it for it in gone if it.key in sent and it.key not in live]
        items = order(
            [it for it in items + withdrawn if sent.get(it.key) != it.fingerprint], preset
        )
    elif since:
        items = [it for it in items if (it.row.get("last_seen") or _last(it)) >= since]
    return items


def _shaped(db, preset, plan, since, min_risk, run_id, spool) -> tuple[list, list]:
    """The items of the rows an export reads (all, or a delta's candidates `plan`),
    live and dismissed, made in memory or in `spool`."""
    only: dict = {}
    if plan and plan.of and plan.of[0] == "ads":
        only["groups"] = plan.of[1]
    elif plan and plan.of and plan.of[0] == "number_range":
        only["only"] = storage.pairs_of(db, "phone", _numbers_of_ranges(db, plan.of[1]))
    elif plan:
        only["only"] = plan.rowids
        if plan.of and preset.source == "sightings":
            only["of"] = plan.of
    rows = SOURCES[preset.source](
        db, min_risk=min_risk, run_id=run_id, include_dismissed=True, by=preset.verdict, **only
    )
    # Dismissed pairs are no longer flagged: a delta tells a recipient who had
    # them (status dismissed, a revoked indicator in STIX); nobody else gets them.
    if spool is not None:
        return shape_spooled(rows, preset, spool, dismissed=since == "last")
    rows = list(rows)
    items = shape([r for r in rows if r.get("status") != "dismissed"], preset)
    gone = shape([r for r in rows if r.get("status") == "dismissed"], preset)
    return items, gone


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
    once the items that changed are known (`_read_pairs`)."""
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


def _aggregated_items(db, preset, fmt, phones, *, min_risk, spool) -> tuple[list, list] | None:
    """`_shaped` for the groups of these numbers' pairs from their distinct values
    (`_aggregable`), in `spool`; None when the preset is not aggregable, or a rule's
    result would depend on the order of the rows (`_tie`). In a format of pairs
    each item holds the rowids of its pairs (`SpooledItem.rowids`), not the pairs."""
    fields = _aggregable(preset, fmt)
    if fields is None:
        return None
    group = preset.group_by
    pairs = fmt in PAIR_FORMATS
    found = storage.grouped_distinct(
        db, phones, group, fields, min_risk=min_risk, by=preset.verdict, rowids=pairs
    )
    merged: dict = {}  # (dismissed, the group as `_group_of` names it) -> field -> values
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
        made[bool(at[0])].append(item)
    return order(made[0], preset), order(made[1], preset)


def _read_pairs(
    db: Database, preset: Preset, fmt: str, items: list, *, min_risk: str, only: set | None = None
):
    """The pairs behind items made in SQL (`_aggregated_items`: their `rowids`), read
    from the database now, in the order `exports._write_pairs` gives the pairs of
    items made of rows: STIX item by item, each item's pairs as the database orders
    them (the order they were read and grouped in); MISP strongest first; XARF a
    site's pairs together, sites in order. Only the items sent are read, and of
    their pairs those in `only` when given."""
    decode, title = _decoded(preset, fmt), _reads_title(preset, fmt)

    def read(rowids: list[int], by_site: bool = False):
        return iter_pair_rows(
            db,
            min_risk=min_risk,
            include_dismissed=True,
            by=preset.verdict,
            only=rowids,
            by_site=by_site,
            decode=decode,
            title=title,
        )

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
    """A value as the export row has it (`_export_row`: an empty carrier is None)."""
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


def prepare_export(
    db: Database,
    preset: Preset,
    fmt: str,
    *,
    since: str | None = None,
    min_risk: str = "low",
    run_id: int | None = None,
    mark: bool = False,
) -> Export:
    """Build `preset`'s export in `fmt` in memory; nothing is recorded yet.

    `mark`: the export will be recorded; move the change clock on first
    (`storage.mark_changes`) so that the next delta reads only what changed after."""
    from crawler.exports import write_rows

    since = parse_since(since)
    tick, seen = storage.mark_changes(db) if mark else (None, None)
    items = _made_items(db, preset, fmt, since=since, min_risk=min_risk, run_id=run_id, spool=None)
    buf = io.StringIO()
    pairs = _changed_pairs(db, preset, fmt, since)
    files = EvidenceFiles(warc_dir(db))
    write_rows(fmt, items, buf, preset.columns, files, pairs and pairs.changed)
    return Export(
        recipient=preset.name,
        fmt=fmt,
        since=since or "",
        min_risk=min_risk,
        content=buf.getvalue(),
        items=items,
        change_tick=tick,
        preset_hash=preset_hash(preset),
        sightings_mark=seen,
        pair_ledger=pairs.ledger if pairs else [],
    )


def _changed_pairs(db: Database, preset: Preset, fmt: str, since: str | None):
    """For a grouped preset in STIX or MISP: what records the pairs it sends and, for
    `--since last`, picks them, those new or changed since sent (`changed_pairs`);
    None otherwise."""
    if not preset.group_by or fmt not in BY_PAIR:
        return None
    return ChangedPairs(db, preset.name, fmt, _fingerprint, judge=since == "last")


def write_export(
    db: Database,
    preset: Preset,
    fmt: str,
    out: IO[bytes],
    *,
    since: str | None = None,
    min_risk: str = "low",
    run_id: int | None = None,
    mark: bool = False,
) -> Written:
    """Write `preset`'s export in `fmt` to `out` (bytes); nothing is recorded yet.

    A recipient of flagged pairs, one row each, in the database's order (the
    default recipient) is streamed: each row is written as it is read, so
    memory stays flat however many pairs there are; only the ledger's (key,
    fingerprint) pairs are kept. Other presets group or order rows: their rows
    and items are made in a temporary file (`shape_spooled`), and only each
    item's key, fingerprint and sort fields are held. `mark`: as for
    `prepare_export`."""
    from crawler.exports import write_pair_records, write_rows

    since = parse_since(since)
    sink = _Hashing(out)
    tick, seen = storage.mark_changes(db) if mark else (None, None)
    pairs = None
    if streams(preset, fmt):
        ledger = _stream_pairs(db, preset, fmt, sink, since=since, min_risk=min_risk, run_id=run_id)
    else:
        pairs = _changed_pairs(db, preset, fmt, since)
        sent = pairs and pairs.changed
        with Spool() as spool:
            items = _made_items(
                db, preset, fmt, since=since, min_risk=min_risk, run_id=run_id, spool=spool
            )
            files = EvidenceFiles(warc_dir(db))
            if items and all(it.rowids is not None for it in items):
                # Only the pairs that may have changed are read (`ChangedPairs.candidates`).
                judged = pairs is not None and pairs.judge
                every = [r for it in items for r in it.rowids] if judged else []
                only = pairs.candidates(every) if judged else None
                records = _read_pairs(db, preset, fmt, items, min_risk=min_risk, only=only)
                write_pair_records(fmt, sent(records) if sent else records, sink, files)
            else:
                write_rows(fmt, items, sink, preset.columns, files, sent)
        ledger = [(it.key, it.fingerprint) for it in items]
    return Written(
        preset.name,
        fmt,
        since or "",
        min_risk,
        sink.hash.hexdigest(),
        ledger,
        change_tick=tick,
        preset_hash=preset_hash(preset),
        sightings_mark=seen,
        pair_ledger=pairs.ledger if pairs else [],
    )


# The order `storage.flagged_rows` gives: a preset that asks for it is streamed.
_DATABASE_ORDER = ["-score", "phone", "domain"]
# STIX too: its bundle is written object by object (crawler.exports.stix.write_stix);
# MISP attribute by attribute (crawler.exports.misp.write_misp); XARF a site's
# report at a time, from the pairs read in site order.
STREAMED_FORMATS = ("jsonl", "csv", "stix", "misp", "xarf")


def streams(preset: Preset, fmt: str) -> bool:
    """Is this export written row by row as read? Flagged pairs, ungrouped, one item
    per pair (its key names the pair), in the database's order."""
    return (
        fmt in STREAMED_FORMATS
        and preset.source == "pairs"
        and not preset.group_by
        and {"domain", "phone"} <= set(preset.key)
        and preset.order_by == _DATABASE_ORDER
    )


def _stream_pairs(
    db: Database, preset: Preset, fmt: str, out, *, since, min_risk, run_id
) -> list[tuple[str, str]]:
    """`prepare_export` for a streamed preset (`streams`), written to `out` as read.

    The same items in the same order: rows come highest score first, then by
    number and site (the preset's order), and each item is one pair, so a
    dismissed pair is withdrawn (sent with `since="last"`) exactly when it was
    sent before. XARF reads the same items in site order (its reports are per
    site, by site), so its ledger lists them in that order."""
    from crawler.exports import _JSONL, COLUMNS, _cell

    plan = (
        delta_plan(db, preset, fmt, min_risk=min_risk, run_id=run_id) if since == "last" else None
    )
    if plan:
        sent = plan.sent
    else:
        sent = sent_fingerprints(db, preset.name, fmt) if since == "last" else {}
    ledger: list[tuple[str, str]] = []
    # A row's fingerprint (`fingerprint`) read off the row: the counted columns
    # in key order (the encoder sorts them anyway; sorted, that costs nothing),
    # its stored reasons spliced in (`rowtext`).
    ignored = set(preset.ignore_in_delta)
    counted = sorted({c for c in preset.columns if c not in ignored})
    columns, where, since_last = preset.columns, preset.where, since == "last"
    if fmt == "csv":
        columns = columns or COLUMNS  # as write_csv
    made = StreamedRows(
        fmt, columns, counted, {*where, *preset.key}, (_FINGERPRINT_JSON, _JSONL), _cell
    )
    decisions = storage.latest_decisions(db)
    key_of = key_function(preset)
    # The page's title only when the preset writes, filters or keys by it: the pair
    # formats' writers never read it (tests/test_exports_stream.py), and looking up
    # each pair's page is a tenth of a delta's read.
    title = "page_title" in {*columns, *where, *preset.key}

    def rows():
        """What the writer takes of each row sent (`StreamedRows.item`), as read; each
        one's key and fingerprint go to the ledger."""
        for raw in _raw_pair_rows(
            db,
            min_risk=min_risk,
            run_id=run_id,
            include_dismissed=True,
            by=preset.verdict,
            by_site=fmt == "xarf",
            only=plan.rowids if plan else None,
            title=title,
        ):
            row = _export_row(raw, decisions, made.decode)
            if where and not _matches(row, where):
                continue
            dismissed = row.get("status") == "dismissed"
            if dismissed and not since_last:
                continue
            key = key_of(row)
            fp = hashlib.sha256(made.fingerprint(raw, row).encode("utf-8")).hexdigest()
            if since_last:
                if (dismissed and key not in sent) or sent.get(key) == fp:
                    continue
            elif since and (row.get("last_seen") or "") < since:
                continue
            ledger.append((key, fp))
            yield made.item(raw, row)

    _write_streamed(fmt, rows(), out, EvidenceFiles(warc_dir(db)), columns)
    return ledger


def _write_streamed(fmt: str, items, out, files: EvidenceFiles, columns: list[str]) -> None:
    """Write a streamed export's items (`StreamedRows.item`) as they come."""
    from crawler.exports import pair_writer

    if fmt == "xarf":
        from crawler.exports.xarf import write_xarf

        write_xarf(items, out, files=files, by_site=True)
    elif fmt in PAIR_FORMATS:
        # Each item is one pair (`streams`): its pairs go to the writer as they come.
        pair_writer(fmt)(items, out, files)
    elif fmt == "jsonl":
        for line in items:
            out.write(line + "\n")
    else:  # CSV: write_csv's header and rows, most rows joined without csv's writer
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([escape_cell(c) for c in columns])
        for cells in items:
            line = csv_line(cells)
            if line is None:
                writer.writerow(cells)
            else:
                out.write(line)


def warc_dir(db: Database) -> Path | None:
    """The WARC folder of a database file (the crawl's setting, else beside it)."""
    from crawler import settings

    path = storage.db_file(db)
    if path is None:
        return None
    return warc_dir_for(path, settings.SERPWATCH_WARC_DIR or None)


def default_floor(preset: Preset, fmt: str) -> str:
    """The lowest risk exported when --min-risk is not given: the recipient's,
    raised to the format's floor for indicator formats (STIX, MISP, XARF)."""
    floor = INDICATOR_FLOOR.get(fmt, "low")
    return max(preset.min_risk, floor, key=lambda r: RISK_ORDER[r])


def _last(item: Item | SpooledItem) -> str:
    if isinstance(item, SpooledItem):
        return item.last
    return max((p.get("last_seen") or "" for p in item.pairs), default="")
