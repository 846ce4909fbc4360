"""A grouped export's aggregates made in SQL (`exports.items._aggregated_items`).

The operators' items are number ranges of thousands of numbers: making one from
every member's export row costs about 50 µs a pair in Python. For a recipient
whose columns are all group fields or aggregates of plain pair, number and site
fields, SQLite gives each group's distinct values of each field instead, and
the exports apply the preset's rules to those.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from crawler.storage.reads import _DISMISSED, _flagged_where

# `crawler.exports.rows.number_range` in SQL (tests/test_exports_delta.py holds
# the two to the same values).
NUMBER_RANGE = (
    "case when p.phone is null or p.phone = '' or substr(p.phone, 1, 1) <> '+'"
    " or length(p.phone) < 8 then p.phone"
    " else substr(p.phone, 1, length(p.phone) - 4) || 'XXXX' end"
)

# A pair's export row fields (`exports.rows.export_row`) as SQL over the pair p,
# its number n and its site s; `carrier` as stored (the row makes an empty one None).
FIELD_SQL = {
    "phone": "p.phone",
    "domain": "p.domain",
    "brand": "p.brand",
    "score": "p.score",
    "risk": "p.risk",
    "first_seen": "p.first_seen",
    "last_seen": "p.last_seen",
    "first_run": "p.first_run",
    "last_run": "p.last_run",
    "number_type": "n.number_type",
    "country": "n.country",
    "nl_category": "n.nl_category",
    "carrier": "n.carrier",
    "number_score": "n.score",
    "number_risk": "n.risk",
    "site_score": "s.score",
    "site_risk": "s.risk",
    "number_range": NUMBER_RANGE,
}


def grouped_distinct(
    db: Database,
    phones: list[str] | None,
    group: list[str],
    fields: list[str],
    *,
    min_risk: str,
    by: str,
    rowids: bool = False,
    withdrawable: bool = False,
) -> list[tuple]:
    """For the pairs of these numbers (None: of every number) an export reads (flagged
    or dismissed, at or above `min_risk` of `by`'s verdict, as
    `flagged_rows(include_dismissed=True)`):
    one row per group (the `group` fields' values) and dismissed or not (1, 0):
    the group's values, the flag, then each of `fields`' distinct values (a list,
    in no order); with `rowids`, last the rowids of the group's pairs (a list).
    `withdrawable` (a delta): every pair of these numbers, those the rest would not
    read (no longer flagged, or below `min_risk`) flagged 1 with the dismissed, as
    `flagged_rows(withdrawable=True)` reads them: a delta withdraws those it sent."""
    where, params = _flagged_where(
        min_risk, None, False, by, base=f"(p.flagged = 1 or ({_DISMISSED}))"
    )
    keys = [FIELD_SQL[f] for f in group]
    values = ", ".join(f"json_group_array(distinct {FIELD_SQL[f]})" for f in fields)
    if rowids:
        values += ", json_group_array(p.rowid)"
    dismissed = "coalesce('dismissed' in (n.status, s.status), 0)"
    flag_params: list = []
    if withdrawable:
        dismissed = f"({dismissed} or coalesce(not ({where}), 1))"
        where, flag_params, params = "1", params, []
    # Every pair read by number, as a list of numbers reads them: at a year's size a
    # third less time than in the table's own order (1.1 against 1.6-1.9 s).
    pairs, numbers = "site_numbers p indexed by idx_site_numbers_phone", []
    if phones is not None:
        pairs = "json_each(?) j cross join site_numbers p on p.phone = j.value"
        numbers = [json.dumps(phones)]
    rows = db.execute(
        f"""select {", ".join(keys)}, {dismissed}, {values}
            from {pairs}
            join numbers n on n.phone = p.phone join sites s on s.domain = p.domain
            where {where}
            group by {", ".join(str(i) for i in range(1, len(keys) + 2))}""",
        [*flag_params, *numbers, *params],
    ).fetchall()
    n = len(keys) + 1
    return [(*row[:n], *(json.loads(v) for v in row[n:])) for row in rows]


def pair_keys(db: Database, rowids: list[int]) -> list[tuple[int, str, str, object]]:
    """(rowid, domain, phone, score) of these pairs: the order a writer puts them
    in, without reading their rows."""
    return db.execute(
        """select p.rowid, p.domain, p.phone, p.score from json_each(?) j
           cross join site_numbers p on p.rowid = j.value""",
        [json.dumps(rowids)],
    ).fetchall()
