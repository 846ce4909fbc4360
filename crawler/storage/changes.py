"""Change tracking for `export --since last` (schema 0020): the change clock, the
pairs that may have changed since an export, and their last sent fingerprints.

Triggers stamp every row of site_numbers, numbers and sites with the clock's
tick when it is inserted or one of its `schema.CHANGE_TRACKED` columns
changes. An export that will be recorded moves the clock on first
(`mark_changes`): every row stamped below the new tick was committed before
the export read, so the next delta need read only the rows stamped at or
after it (`changed_pairs`), whatever wrote them (a crawl's saves, the end of
a run, triage, rescore).
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from crawler.storage.connection import _chunks
from crawler.storage.schema import CHANGE_TRACKED, _tracked_state_v2

__all__ = [
    "CHANGE_TRACKED",
    "PAGE_FROM_LATEST",
    "ads_tracked_since",
    "changed_ad_groups",
    "changed_pairs",
    "export_marks",
    "mark_changes",
    "moved_pairs",
    "numbers_between",
    "pair_stamps",
    "pairs_of",
    "rowids_of_pairs",
    "sent_for_keys",
    "sent_ticks",
    "sightings_since",
]


def mark_changes(db: Database) -> tuple[int, int]:
    """Move the change clock on; return the new tick and the largest sighting rowid.

    Taken under the write lock (`BEGIN IMMEDIATE` waits for a crawl's open
    transaction to commit): a change stamped with an older tick, and every
    sighting up to that rowid, is then committed, so a read that starts after
    this sees it; a later change is stamped with this tick or a later one, a
    later sighting gets a larger rowid (sightings are never deleted)."""
    if db.conn.in_transaction:
        db.conn.commit()
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        # The rows changed since the last mark whose tracked state is not what it
        # was then (schema 0024) are stamped with the tick that ends here.
        for table in CHANGE_TRACKED:
            db.conn.execute(
                f"update [{table}] set changed_at = (select tick from change_clock where id = 0)"
                f" where rowid in ({_moved(table)})"
            )
        db.conn.execute("update change_clock set tick = tick + 1 where id = 0")
        (tick,) = db.conn.execute("select tick from change_clock where id = 0").fetchone()
        (sightings,) = db.conn.execute("select coalesce(max(rowid), 0) from sightings").fetchone()
        # The states kept are of the tick that ended (schemas 0023, 0024).
        db.conn.execute("delete from change_base")
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    return tick, sightings


def export_marks(db: Database, recipient: str, fmt: str) -> list[dict]:
    """Every export recorded to `recipient` in `fmt`, latest first: id, since,
    min_risk, change_tick and sightings_mark (None before schema 0020), preset_hash."""
    cursor = db.execute(
        "select id, since, min_risk, change_tick, preset_hash, sightings_mark from exports"
        " where recipient = ? and format = ? order by id desc",
        [recipient, fmt],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _moved(table: str) -> str:
    """The rowids of `table`'s rows changed since the last mark whose tracked state is
    not the one kept at their first change (`change_base`, schema 0024): not yet
    stamped."""
    return (
        f"select b.row from change_base b join [{table}] x on x.rowid = b.row"
        f" where b.tbl = '{table}' and b.state is not {_tracked_state_v2(table, 'x')}"
    )


# The pairs stamped at or after a tick, through their own row, their number's or
# their site's (each from its partial index on changed_at: `changed_at > 0` is
# repeated so that SQLite may use it), those changed since the last mark (not yet
# stamped), and every pair of a dismissed number or site.
_CHANGED = """
    select rowid from site_numbers where changed_at > 0 and changed_at >= :tick
    union {moved_pairs}
    union select p.rowid from numbers n join site_numbers p on p.phone = n.phone
          where n.rowid in ({moved_numbers})
    union select p.rowid from sites s join site_numbers p on p.domain = s.domain
          where s.rowid in ({moved_sites})
    union select p.rowid from numbers n join site_numbers p on p.phone = n.phone
          where n.changed_at > 0 and n.changed_at >= :tick
    union select p.rowid from sites s join site_numbers p on p.domain = s.domain
          where s.changed_at > 0 and s.changed_at >= :tick
    union select p.rowid from numbers n indexed by idx_numbers_status
          join site_numbers p on p.phone = n.phone where n.status = 'dismissed'
    union select p.rowid from sites s indexed by idx_sites_status
          join site_numbers p on p.domain = s.domain where s.status = 'dismissed'
"""


def changed_pairs(db: Database, tick: int) -> list[tuple[int, str, str]]:
    """(rowid, domain, phone) of every pair that may have changed since `tick`: the pair,
    its number or its site stamped at or after it or changed since the last mark (not
    stamped yet, `_moved`), and the pairs of every dismissed
    number or site (a delta withdraws those it sent, however long ago they changed)."""
    changed = _CHANGED.format(
        moved_pairs=_moved("site_numbers"),
        moved_numbers=_moved("numbers"),
        moved_sites=_moved("sites"),
    )
    return db.execute(
        f"select rowid, domain, phone from site_numbers where rowid in ({changed})",
        {"tick": tick},
    ).fetchall()


# The columns of a sighting a page's export row takes from its latest sighting
# (crawler.exports.rows._page_rows), besides its url, first and last seen.
PAGE_FROM_LATEST = (
    "entry_url",
    "engine",
    "query",
    "rank",
    "is_ad",
    "ip",
    "warc_file",
    "warc_record_id",
    "payload_sha256",
)


def sightings_since(
    db: Database,
    mark: int,
    same: tuple[str, ...] | None = None,
    known: tuple[str, list[str]] | None = None,
) -> list[tuple[str, str]]:
    """(domain, phone) of every sighting added after rowid `mark` (`mark_changes`).

    With `same` (columns of `PAGE_FROM_LATEST`): only the sightings that may change
    their page's row (one per page URL and number) in those columns or its first
    seen: not those that come after the page's latest sighting up to `mark` with the
    same values in `same` (a page seen again, as it was). Latest and after are in
    the order the export reads a site's sightings (seen_at, id). `known`: ("phone",
    [...]) or ("domain", [...]), numbers or sites whose sightings need no looking
    at (their groups are made again anyway)."""
    # `not indexed`: the sightings after the mark by rowid (a run's, at the end of the
    # table); SQLite otherwise walked the whole index by site (a year's million rows)
    # for its order, which DISTINCT does not need.
    if same is None:
        return db.execute(
            "select distinct domain, phone from sightings not indexed where rowid > ?", [mark]
        ).fetchall()
    unknown = set(same) - set(PAGE_FROM_LATEST)
    if unknown:
        raise ValueError(f"sightings_since: {sorted(unknown)} not among {PAGE_FROM_LATEST}")
    equal = "".join(f" and o.[{c}] is s.[{c}]" for c in same)
    skip = ""
    if known is not None:
        column = {"phone": "phone", "domain": "domain"}[known[0]]
        skip = f"and s.{column} not in (select value from json_each(:known))"
    # The page's latest sighting up to the mark: found through the site's
    # sightings (index on domain), a few per site.
    return db.execute(
        f"""select distinct s.domain, s.phone from sightings s not indexed
            where s.rowid > :mark {skip}
            and not exists (
                select 1 from sightings o where o.rowid = (
                    select b.rowid from sightings b
                    where b.phone = s.phone and b.domain = s.domain and b.url = s.url
                      and b.rowid <= :mark
                    order by b.seen_at desc, b.id desc limit 1)
                and (o.seen_at < s.seen_at or (o.seen_at = s.seen_at and o.id < s.id))
                {equal})""",
        {"mark": mark, "known": json.dumps(known[1] if known else [])},
    ).fetchall()


def pairs_of(db: Database, column: str, values: list[str]) -> list[int]:
    """Rowids of the pairs of these numbers (`column` phone) or sites (domain)."""
    if column not in ("phone", "domain"):
        raise ValueError(f"pairs_of: {column!r} is neither phone nor domain")
    return [
        r
        for (r,) in db.execute(
            f"select rowid from site_numbers where {column} in (select value from json_each(?))",
            [json.dumps(values)],
        )
    ]


def numbers_between(db: Database, spans: list[tuple[str, str]]) -> list[str]:
    """The numbers (phone) from each span's low (included) to its high (excluded)."""
    return [
        p
        for (p,) in db.execute(
            """select distinct n.phone from json_each(?) j cross join numbers n
               on n.phone >= j.value ->> 0 and n.phone < j.value ->> 1""",
            [json.dumps([list(s) for s in spans])],
        )
    ]


def rowids_of_pairs(db: Database, pairs: list[tuple[str, str]]) -> list[int]:
    """Rowids of these (domain, phone) pairs (those that exist)."""
    return [
        r
        for (r,) in db.execute(
            """select p.rowid from json_each(?) j cross join site_numbers p
               on p.phone = j.value ->> 1 and p.domain = j.value ->> 0""",
            [json.dumps([list(pair) for pair in pairs])],
        )
    ]


def sent_for_keys(db: Database, recipient: str, fmt: str, keys: list[str]) -> dict[str, str]:
    """The fingerprint each of `keys` was last sent with to `recipient` in `fmt`
    (keys never sent are absent), read from the ledger's index for these keys only."""
    return _last_sent(db, recipient, fmt, keys, "i.fingerprint")


def sent_ticks(db: Database, recipient: str, fmt: str, keys: list[str]) -> dict[str, int | None]:
    """The change tick of the export that last sent each of `keys` to `recipient` in
    `fmt` (`exports.change_tick`: None when it marked none); keys never sent absent."""
    return _last_sent(db, recipient, fmt, keys, "e.change_tick")


def _last_sent(db: Database, recipient: str, fmt: str, keys: list[str], what: str) -> dict:
    """`what` (of the ledger entry `i` and its export `e`) of each key's latest entry."""
    found: dict = {}
    for chunk in _chunks(keys, 500):
        marks = ", ".join("?" * len(chunk))
        found.update(
            db.execute(
                f"""select i.key, {what} from export_items i
                    join exports e on e.id = i.export_id
                    where i.id in (
                        select max(id) from export_items
                        where recipient = ? and format = ? and key in ({marks})
                        group by key)""",
                [recipient, fmt, *chunk],
            ).fetchall()
        )
    return found


def pair_stamps(db: Database, rowids: list[int]) -> list[tuple]:
    """(rowid, domain, phone, stamp, dismissed) of these pairs: `stamp` the latest tick
    the pair, its number or its site was stamped with (`changed_at`), `dismissed`
    whether its number or site is (a delta withdraws those however long ago)."""
    return db.execute(
        """select p.rowid, p.domain, p.phone,
                  max(p.changed_at, coalesce(n.changed_at, 0), coalesce(s.changed_at, 0)),
                  coalesce(n.status = 'dismissed', 0) or coalesce(s.status = 'dismissed', 0)
           from site_numbers p
           left join numbers n on n.phone = p.phone
           left join sites s on s.domain = p.domain
           where p.rowid in (select value from json_each(?))""",
        [json.dumps(rowids)],
    ).fetchall()


def moved_pairs(db: Database) -> set[int]:
    """The rowids of the pairs changed since the last mark through their own row, their
    number or their site, not stamped yet (`_moved`): few, at most a run's."""
    rows = db.execute(
        f"""select rowid from site_numbers where rowid in ({_moved("site_numbers")})
            union select p.rowid from numbers n join site_numbers p on p.phone = n.phone
                  where n.rowid in ({_moved("numbers")})
            union select p.rowid from sites s join site_numbers p on p.domain = s.domain
                  where s.rowid in ({_moved("sites")})"""
    ).fetchall()
    return {r for (r,) in rows}


def ads_tracked_since(db: Database) -> int | None:
    """The tick from which every change to an ad is logged (schema 0025): an export
    marked before it does not cover the search engines' items."""
    row = db.execute("select since_tick from change_tracking where what = 'ads'").fetchone()
    return row[0] if row else None


def changed_ad_groups(
    db: Database, tick: int, mark: int, pairs: list[tuple[int, str, str]]
) -> list[tuple[str, str, str]]:
    """(engine, query, landing URL) of every ad group whose showings may have changed
    since `tick`: an ad of it saved or changed, or a page it led to changed, since
    (schema 0025), an ad of a run with sightings after rowid `mark`, or a showing of
    one of the `pairs` that may have changed (`changed_pairs`)."""
    found = db.execute(
        """select engine, query, landing_url from ad_changes where tick >= :tick
           union select engine, query, landing_url from serp_results
           where is_ad = 1 and run_id in (
               select distinct run_id from sightings indexed by idx_sightings_run_id
               where rowid > :mark)""",
        {"tick": tick, "mark": mark},
    ).fetchall()
    # From each pair's sightings to their pages, and to the ads of the page's run
    # that led there (by the page's entry or final URL).
    found += db.execute(
        """with cp(domain, phone) as materialized (
               select value ->> 0, value ->> 1 from json_each(:pairs))
           select distinct r.engine, r.query, r.landing_url
           from cp cross join sightings s on s.phone = cp.phone and s.domain = cp.domain
           cross join pages g on g.id = s.page_id
           cross join serp_results r indexed by idx_serp_results_ads
               on r.run_id = g.run_id and r.is_ad = 1 and r.landing_url in (g.entry_url, g.url)""",
        {"pairs": json.dumps([[d, p] for _, d, p in pairs])},
    ).fetchall()
    return sorted(set(found), key=lambda g: tuple("" if v is None else str(v) for v in g))
