"""The rows an export is made of, read from the database: one per flagged pair, per
page a flagged number was seen on, or per ad that led to one (a preset's `source`).

Every export reads its rows here, streamed or shaped, whole or a delta's candidates,
so a pair's row is the same whichever way its export was made.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace

from sqlite_utils import Database

from crawler import storage
from crawler.exports.rowtext import REASONS_FIELDS


def number_range(e164: str | None) -> str | None:
    """The block a number belongs to: its last four digits masked (`+3185208XXXX`).

    Dutch geographic and 085/088 numbers are allocated in blocks of 10,000, so
    this is the range an operator holds; elsewhere it is a useful grouping.
    """
    if not e164 or not e164.startswith("+") or len(e164) < 8:
        return e164
    return e164[:-4] + "XXXX"


def numbers_of_ranges(db: Database, phones: list[str]) -> list[str]:
    """Every number of the ranges (`number_range`) of these numbers."""
    ranges = {number_range(p) for p in phones}
    spans = []
    for r in ranges:
        masked = r and r.startswith("+") and r.endswith("XXXX") and len(r) >= 8
        low = r[:-4] if masked else r
        if low:  # every number starting as the range does (the range itself at least)
            spans.append((low, low[:-1] + chr(ord(low[-1]) + 1)))
    return sorted(p for p in storage.numbers_between(db, spans) if number_range(p) in ranges)


@dataclass(frozen=True)
class ReadOptions:
    """Which flagged pairs a row source reads, and how much of each: one record
    for every source (`SOURCES`), so an export's reads are the same whichever
    source its preset names, varied with `dataclasses.replace`.

    `min_risk` floors the verdict named by `by` (pair, number or site); `run_id`:
    only the pairs last seen in that run (`sighting_rows`, `ad_rows`: the
    sightings, the ads of that run); `include_dismissed`: also the pairs dismissed
    by an analyst (`status: dismissed`), which deltas send as withdrawn; `only`:
    only the pairs with these rowids (a delta's candidates, `delta_plan`);
    `decode`: the reasons fields decoded (`export_row`: the others are None);
    `title`: the page's title read (False: `page_title` None); `withdrawable` (a
    delta, with `only`): of those pairs, also the ones no longer flagged or below
    the floor, status `withdrawn` (`storage.pair_status`), for a delta to withdraw
    those it sent.
    """

    min_risk: str = "low"
    run_id: int | None = None
    include_dismissed: bool = False
    by: str = "pair"
    only: list[int] | None = None
    decode: frozenset[str] = REASONS_FIELDS
    title: bool = True
    withdrawable: bool = False


def pair_rows(db: Database, options: ReadOptions = ReadOptions()) -> list[dict]:
    """Flagged (site, number) pairs: the DESIGN.md record plus evidence and number facts."""
    return list(iter_pair_rows(db, options))


def iter_pair_rows(
    db: Database,
    options: ReadOptions = ReadOptions(),
    *,
    seen_in_run: int | None = None,
    by_site: bool = False,
):
    """`pair_rows` one at a time, as the database gives them (highest score first,
    then number, then site): an export streams them without holding them all.
    `seen_in_run`: only the pairs that run saw; `by_site`: ordered by site first."""
    decisions = storage.latest_decisions(db)
    for raw in raw_pair_rows(db, options, seen_in_run=seen_in_run, by_site=by_site):
        yield export_row(raw, decisions, options.decode)


def raw_pair_rows(
    db: Database,
    options: ReadOptions = ReadOptions(),
    *,
    seen_in_run: int | None = None,
    by_site: bool = False,
):
    """The stored rows `iter_pair_rows` makes its rows of (`export_row`, which
    decodes `options.decode`)."""
    return storage.flagged_rows(
        db,
        details=True,
        export=True,
        min_risk=options.min_risk,
        run_id=options.run_id,
        include_dismissed=options.include_dismissed,
        by=options.by,
        seen_in_run=seen_in_run,
        by_site=by_site,
        only=options.only,
        title=options.title,
        withdrawable=options.withdrawable,
    )


def export_row(
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
        "status": storage.pair_status(
            raw["number_status"], raw["site_status"], raw.get("withdrawn")
        ),
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
    row["status_at"] = status_at(row, decisions) if decisions else None
    return row


def status_at(row: dict, decisions: dict[str, dict]) -> str | None:
    """When the decision behind the row's status was made (None for new)."""
    for key in (row["phone"], row["domain"]):
        d = decisions.get(key)
        if d and d["status"] == row["status"]:
            return d["at"]
    return None


def ad_rows(
    db: Database, options: ReadOptions = ReadOptions(), *, groups: list | None = None
) -> list[dict]:
    """Ads whose landing page showed a flagged number: one row per ad shown and number.

    An ad leads to the page fetched from its landing URL in the same run (the
    page's `entry_url`, or its `url` when there was no redirect); the numbers
    are those sighted on that page. `options.run_id`: only the ads shown in that
    run; `groups`: only the ads of these (engine, query, landing URL) (a delta's
    candidates, `delta_plan`). The pairs read are those the ads led to, whatever
    `options.only` says.
    """
    # The ads first (a few per query and run), then only the pairs they led to:
    # a year holds hundreds of thousands of flagged pairs, and few were advertised.
    showings = storage.ad_showings(db, options.run_id, groups=groups)
    wanted = sorted({(s[-2], s[-1]) for s in showings}, key=str)
    # An ad of the run may lead to a pair last seen in another.
    reads = replace(options, run_id=None, only=storage.rowids_of_pairs(db, wanted))
    pairs = {(p["domain"], p["phone"]): p for p in iter_pair_rows(db, reads)}
    out = []
    done = set()
    fields = storage.AD_ROW_FIELDS
    for s in showings:
        serp_id, domain, phone = s[-3:]
        pair = pairs.get((domain, phone))
        if pair is None or (serp_id, phone) in done:
            continue
        done.add((serp_id, phone))
        row = pair.copy()
        row.update(zip(fields, s, strict=False))  # the pair's record, with the ad's and its page's
        out.append(row)
    return out


def sighting_rows(
    db: Database,
    options: ReadOptions = ReadOptions(),
    *,
    of: tuple[str, list[str]] | None = None,
) -> Iterator[dict]:
    """Every page on which a flagged pair's number was seen: one row per (page URL, number).

    Each row is the pair's record with the page's own URL, evidence and server
    address from its latest sighting, and first/last seen over all its sightings.
    `options.run_id`: only the sightings of that run. A delta's candidates
    (`delta_plan`): `options.only` the pairs with these rowids and the sightings
    `of` these numbers or sites (("phone", [...]) or ("domain", [...])).

    Made a site at a time, as read: the pairs and the sightings both come ordered
    by site, so only one site's are held (a year has a million sightings).
    """
    # A page seen in the run may show a pair last seen in another.
    pairs = itertools.groupby(
        iter_pair_rows(db, replace(options, run_id=None), by_site=True), key=_site_order
    )
    sightings = storage.sightings_for_export(db, options.run_id, of=of, by_site=True)
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
