"""Read queries: flagged pairs and their export records, evidence and
screenshots, and the questions of the CLI, the reports, `queries stats`
and the exports (ads, sightings, runs).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from json.scanner import c_make_scanner

from sqlite_utils import Database

from crawler.risk import RISK_ORDER
from crawler.storage.facts import facts_field


def run_screenshots(db: Database, run_id: int) -> list[dict]:
    """The viewport screenshots of a run, one per URL, pages before result pages."""
    if "screenshots" not in db.table_names():
        return []
    return list(
        db.query(
            """
            select s.* from screenshots s
            where s.run_id = ? and s.kind = 'viewport'
            and s.rowid = (select min(rowid) from screenshots t
                           where t.run_id = s.run_id and t.url = s.url and t.kind = s.kind)
            order by (select count(*) from renders r where r.run_id = s.run_id
                      and r.url = s.url and r.kind = 'serp'), s.url
            """,
            [run_id],
        )
    )


def evidence_rows(db: Database, kind: str, key: str, max_pages: int = 20) -> dict:
    """What `serpwatch evidence` needs for a number or a site: flagged pairs, the
    pages they were seen on (newest first), their screenshots and renders."""
    column = "phone" if kind == "number" else "domain"
    pairs = list(
        db.query(
            f"select * from site_numbers where {column} = ? and flagged = 1 order by score desc",
            [key],
        )
    )
    pages = list(
        db.query(
            f"""
            select g.url, g.entry_url, g.domain, g.status, g.title, g.redirects, g.ip,
                   g.fetched_at, g.run_id, g.warc_file, g.warc_record_id, g.payload_sha256
            from pages g
            where g.id in (select page_id from sightings where {column} = ?)
            order by g.fetched_at desc, g.url
            limit ?
            """,
            [key, max_pages],
        )
    )
    urls = sorted({p["url"] for p in pages})
    marks = ",".join("?" * len(urls))
    shots, renders = [], []
    if urls and "screenshots" in db.table_names():
        shots = list(
            db.query(
                f"select * from screenshots where url in ({marks}) and rowid in"
                f" (select min(rowid) from screenshots where url in ({marks})"
                " group by sha256) order by url, kind desc",
                urls + urls,
            )
        )
        renders = list(
            db.query(f"select * from renders where url in ({marks}) order by at desc", urls)
        )
    return {"pairs": pairs, "pages": pages, "screenshots": shots, "renders": renders}


# -- brand checks (crawler/brandcheck.py) -------------------------------------------


def brand_confirmations(db: Database, phone: str) -> list[dict]:
    """Every check that looked for `phone` on a brand's own page, newest first."""
    rows = db.execute(
        """select n.at, n.brand, n.state, n.url, n.context, c.brands_file, p.warc_file,
                  p.warc_record_id
           from brand_check_numbers n join brand_checks c on c.id = n.check_id
           left join brand_check_pages p on p.check_id = n.check_id and p.brand = n.brand
               and (p.final_url = n.url or p.url = n.url)
           where n.phone = ? order by n.at desc, n.id desc""",
        [phone],
    ).fetchall()
    names = ("at", "brand", "state", "url", "context", "brands_file", "warc_file")
    return [dict(zip((*names, "warc_record_id"), r, strict=True)) for r in rows]


def last_confirmed(db: Database) -> dict[str, str]:
    """E.164 → when a brand's own page last showed it (ISO time)."""
    return dict(
        db.execute(
            "select phone, max(at) from brand_check_numbers where state = 'confirmed'"
            " group by phone"
        ).fetchall()
    )


# -- retired queries (serpwatch queries retire / restore) ---------------------------


def retired_queries(db: Database) -> dict[str, dict]:
    """query key → the retire action (query, reason, at) for every query retired now."""
    latest: dict[str, dict] = {}
    for row in db["query_retirements"].rows_where(order_by="id"):
        latest[row["query_key"]] = row
    return {k: r for k, r in latest.items() if r["action"] == "retire"}


def query_requests(db: Database) -> dict[tuple[str, str], int]:
    """(query, engine) → requests it cost: its result pages, plus the landing pages fetched.

    Result pages that brought no result are not stored, and a landing page two
    engines showed for the query counts for each: an estimate, not a ledger.
    """
    out: dict[tuple[str, str], int] = {}
    for query, engine, n in db.execute(
        """select query, engine, count(distinct run_id || ' ' || serp_url)
           from serp_results group by query, engine"""
    ).fetchall():
        out[(query, engine)] = n
    for query, engine, n in db.execute(
        """select sr.query, sr.engine, count(distinct sr.run_id || ' ' || sr.landing_url)
           from serp_results sr
           where exists (select 1 from pages p
                         where p.run_id = sr.run_id and p.entry_url = sr.landing_url)
           group by sr.query, sr.engine"""
    ).fetchall():
        out[(query, engine)] = out.get((query, engine), 0) + n
    return out


def query_runs(db: Database) -> dict[str, list[int]]:
    """query text → the runs it took part in, newest first."""
    out: dict[str, list[int]] = {}
    for query, run_id in db.execute(
        "select distinct query, run_id from serp_results order by run_id desc"
    ).fetchall():
        out.setdefault(query, []).append(run_id)
    return out


def related_searches(db: Database) -> list[dict]:
    """Every related-search text stored: text, kind, engine, query, run_id, seen_at."""
    return list(
        db["related_searches"].rows_where(
            select="text, kind, engine, query, run_id, seen_at", order_by="run_id, id"
        )
    )


def unparsed_pages(db: Database, *, run_id: int | None = None, limit: int = 50) -> list[dict]:
    """Unrecognised result pages, newest first, without their bytes."""
    where, params = ("run_id = ?", [run_id]) if run_id is not None else (None, [])
    columns = "id, run_id, engine, kind, query, url, status, reason, size, sha256, seen_at"
    return list(
        db["unparsed_pages"].rows_where(
            where, params, select=columns, order_by="seen_at desc, id", limit=limit
        )
    )


def unparsed_body(db: Database, page_id: str) -> bytes | None:
    rows = list(db["unparsed_pages"].rows_where("id = ?", [page_id], select="body"))
    return rows[0]["body"] if rows else None


# -- one commit for many saves (pipelines/store.py batches the crawl's items) --------
#
# A commit costs about a millisecond (bench/throughput.py), more than storing a
# page's rows: the store pipeline keeps the pages and results of the last 50 ms
# (SERPWATCH_STORE_BATCH_SECONDS) in memory and stores them with `save_many`,
# one transaction for all of them.
# Each save runs plain inside it; when one fails, the batch is rolled back and run
# again with each save in a savepoint of its own, so that one is undone alone
# (a savepoint costs two more statements per save: a tenth of storing a page).


def flagged(
    db: Database,
    *,
    min_risk: str = "low",
    run_id: int | None = None,
    include_dismissed: bool = False,
    by: str = "pair",
) -> list[dict]:
    """Flagged (site, number) pairs as export records, highest score first; `min_risk`
    floors the verdict named by `by`: the pair's (default), the number's or the site's.

    With `include_dismissed`, also the pairs that are not flagged only because
    an analyst dismissed the number or the site (they keep their score and
    risk): the exports' deltas tell partners about them (`status: dismissed`).
    """
    return [
        export_record(r)
        for r in flagged_rows(
            db, min_risk=min_risk, run_id=run_id, include_dismissed=include_dismissed, by=by
        )
    ]


# What a flagged pair's row carries besides `site_numbers`: the number's details,
# both statuses and verdicts, the page's title, and the facts the exports need.
_FLAGGED_EXTRA = (
    "n.number_type, n.country, n.nl_category, n.carrier,"
    " n.status as number_status, s.status as site_status,"
    " n.score as number_score, n.risk as number_risk, n.reasons as number_reasons,"
    " s.score as site_score, s.risk as site_risk, s.reasons as site_reasons"
)


def flagged_rows(
    db: Database,
    *,
    min_risk: str = "low",
    run_id: int | None = None,
    include_dismissed: bool = False,
    by: str = "pair",
    details: bool = False,
    seen_in_run: int | None = None,
    brief: bool = False,
    by_site: bool = False,
    only: list[int] | None = None,
    export: bool = False,
    title: bool = True,
    withdrawable: bool = False,
):
    """The rows behind `flagged`, one at a time as read (nothing held in memory),
    highest score first, then by number and site: `site_numbers` columns plus the
    number's and site's. With `details`, also the page's title (`page_title`) and
    the facts `official_site`, `third_party`, `third_party_site`; with
    `seen_in_run`, only the pairs that run saw; `brief`: only the pair's columns an
    export record (`export_record`) and its runs need, not the facts and evidence.
    `by_site`: ordered by site first (then score, number), each site's pairs together.
    `only`: only the pairs with these rowids (`changed_pairs`), in the same order.
    `export`: only the pair's columns an export row reads (`_EXPORT_PAIR`; with
    `details`), not its facts and signals: a delta reads tens of thousands.
    `title`: with `details`, the page's title read (False: `page_title` None, and
    the pages not looked up, a tenth of the read of a delta that reads no title).
    `withdrawable`: every pair (of `only`), flagged or not, each with `withdrawn` 1
    when it is not what the rest would read (no longer flagged, or its verdict below
    `min_risk`): a delta withdraws those it sent (`pair_status`)."""
    extra, join = _FLAGGED_EXTRA, ""
    pair = ", ".join(f"p.{c}" for c in _BRIEF) if brief else "p.*"
    if export:  # named, for a compound SELECT's ORDER BY
        pair = ", ".join(f"p.{c} as {c}" for c in _EXPORT_PAIR)
    if details:
        extra += (", g.title" if title else ", null") + " as page_title"
        extra += "".join(f", {facts_field(f, 'p.facts')} as {f}" for f in _EXPORT_FACTS)
        if title:
            join = "left join pages g on g.run_id = p.last_run and g.url = p.url"
    # The flagged pairs read in the order of their index (no sort of wide rows: the
    # first row comes at once), merged with the few pairs dismissed by an analyst.
    # One WHERE with an OR of both made SQLite read and sort every pair first.
    by_score = run_id is None and seen_in_run is None and not by_site and only is None
    arms = [("p.flagged = 1", _BY_SCORE if by_score else "")]
    if include_dismissed and only is not None:
        # Looked up by rowid: one pass with an OR reads each pair once (two arms
        # looked each up twice), and the few rows are sorted either way.
        arms = [(f"(p.flagged = 1 or ({_DISMISSED}))", "")]
    elif include_dismissed:
        arms.append((_DISMISSED, ""))
    selects, params, wheres = [], [], []
    for base, indexed in arms:
        where, more = _flagged_where(min_risk, run_id, False, by, seen_in_run, base=base)
        live = ", 0 as withdrawn" if withdrawable else ""
        if withdrawable and only is not None:
            # Only a delta's candidates: the unflagged among them are few. A WHERE that
            # is NULL (a pair with no flag and a risk) read nothing: withdrawn too.
            live, where = f", coalesce(not ({where}), 1) as withdrawn", "1"
        if only is not None:  # looked up by rowid (no index walk), then the few rows sorted
            where += " and p.rowid in (select value from json_each(?))"
            more = [*more, json.dumps(only)]
            indexed = "not indexed"
        wheres.append(where)
        selects.append(
            f"""select {pair}, {extra}{live}
                from site_numbers p {indexed}
                join numbers n on n.phone = p.phone
                join sites s on s.domain = p.domain
                {join}
                where {where}"""
        )
        params += more
    if withdrawable and only is None:
        selects.append(_withdrawable_select(pair, extra, join, wheres, params))
    # A compound SELECT orders by its result columns; one SELECT by the pair's.
    columns = ("domain", "score desc", "phone") if by_site else ("score desc", "phone", "domain")
    prefix = "" if len(selects) > 1 else "p."
    order = ", ".join(prefix + c for c in columns)
    cursor = db.execute(" union all ".join(selects) + f" order by {order}", params)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


_BY_SCORE = "indexed by idx_site_numbers_attention"


def _withdrawable_select(pair: str, extra: str, join: str, wheres: list, params: list) -> str:
    """`flagged_rows(withdrawable=True)` reading every pair (a delta with no change
    stamps to go by): a SELECT of the pairs no other arm reads (none of `wheres`),
    `withdrawn` 1; the arms' parameters are added to `params` again for it."""
    params += list(params)
    return f"""select {pair}, {extra}, 1 as withdrawn
                from site_numbers p
                join numbers n on n.phone = p.phone
                join sites s on s.domain = p.domain
                {join}
                where coalesce(not ({" or ".join(f"({w})" for w in wheres)}), 1)"""


# Not flagged only because an analyst dismissed the number or the site (schema 0015
# indexes the statuses; named, since SQLite read every number and site when the
# statuses were all empty as they were analysed).
_DISMISSED = """coalesce(p.flagged, 0) != 1 and p.risk is not null
    and (p.phone in (select phone from numbers indexed by idx_numbers_status
                     where status = 'dismissed')
         or p.domain in (select domain from sites indexed by idx_sites_status
                         where status = 'dismissed'))"""


# The pair's columns of an export record (and its runs), for `flagged_rows(brief=True)`.
# Not crawler.exports.COLUMNS: those are the record's fields (number_type, country
# and status come from numbers and sites); these are site_numbers columns that
# `export_record` reads (tests/test_storage.py checks the two agree).
_BRIEF = (
    "phone",
    "domain",
    "url",
    "entry_url",
    "brand",
    "score",
    "risk",
    "reasons",
    "is_ad",
    "engine",
    "query",
    "rank",
    "first_seen",
    "last_seen",
    "first_run",
    "last_run",
    "screenshot",
    "screenshot_sha256",
)

# The pair's columns an export row reads (`flagged_rows(export=True)`,
# crawler.exports.rows.iter_pair_rows): `export_record`'s and the evidence's.
_EXPORT_PAIR = (
    "id",  # the pair row's own id (tests count the rows read by it)
    *_BRIEF,
    "ip",
    "warc_file",
    "warc_record_id",
    "payload_sha256",
    "click_url",
    "advertiser_name",
    "advertiser_location",
)


def _flagged_where(
    min_risk, run_id, include_dismissed, by, seen_in_run=None, base="p.flagged = 1"
) -> tuple[str, list]:
    """The WHERE of flagged pairs over site_numbers p, numbers n, sites s (`base`: which)."""
    risk_field = {"pair": "p.risk", "number": "n.risk", "site": "s.risk"}[by]
    where = base
    if include_dismissed:
        where = "(p.flagged = 1 or (p.risk is not null and 'dismissed' in (n.status, s.status)))"
    params: list = []
    if run_id is not None:
        where += " and p.last_run = ?"
        params.append(run_id)
    if seen_in_run is not None:
        where += (
            " and (p.phone, p.domain) in (select phone, domain from sightings where run_id = ?)"
        )
        params.append(seen_in_run)
    # Not yet re-scored (a database from before issue 10): the pair's risk floors.
    level = f"coalesce({risk_field}, p.risk)"
    ranks = " ".join(f"when '{k}' then {v}" for k, v in RISK_ORDER.items() if k)
    where += f" and coalesce(case {level} {ranks} end, 0) >= ?"
    params.append(RISK_ORDER[min_risk])
    return where, params


# `flags`' groups: new or back in the last run (0), still seen (1), gone (2). A pair is
# gone when every profile that saw it recorded it gone (presence.gone_run).
_ATTENTION_GROUP = """
    case when p.domain || ' ' || p.phone in back then 0
         when p.first_run = :last then 0
         when p.last_run = :last then 1
         when (select min(g.gone_run is not null) from presence g
               where g.kind = 'pair' and g.key = p.domain || ' ' || p.phone) then 2
         else 1 end"""


_DECIDED = "(select {pk} from {table} where status = '{status}')"


def attention_rows(db: Database, last_run: int | None, *, min_risk: str = "low", limit=None):
    """Flagged pairs for `flags`, in its order, `limit` of them (None: all), one at a
    time: `flagged_rows(brief=True)`'s columns plus `since_group` (0 new or back in
    `last_run`, 1 still seen, 2 gone) and `back` (1 when back in `last_run`).

    Dismissed numbers and sites are left out; confirmed ones come last, then
    by group, highest score first, then by number and site. The order is made
    from covering indexes (schema 0015) over every flagged pair; only the rows
    shown are read whole.
    """
    where, params = _flagged_where(min_risk, None, False, "pair")
    decided = {
        (table, status): _DECIDED.format(pk=pk, table=table, status=status)
        for table, pk in (("numbers", "phone"), ("sites", "domain"))
        for status in ("confirmed", "dismissed")
    }
    named = dict(zip((f"w{i}" for i in range(len(params))), params, strict=True))
    for i in range(len(params)):
        where = where.replace("?", f":w{i}", 1)
    pair = ", ".join(f"p.{c}" for c in _BRIEF)
    # The order from the covering indexes, then the rows read whole by rowid, a
    # chunk at a time: sorting every pair's wide row instead spills hundreds of MB
    # to a temporary b-tree (at 443k pairs, 34 s against 3.3 s for the order).
    order = f"""
        with back as (
            select key from changes where run_id = :last and kind = 'pair' and event = 'back')
        select p.rowid as row, {_ATTENTION_GROUP} as since_group,
               p.domain || ' ' || p.phone in back as back
        from site_numbers p indexed by idx_site_numbers_attention
        where {where}
          and p.phone not in {decided["numbers", "dismissed"]}
          and p.domain not in {decided["sites", "dismissed"]}
        order by (p.phone in {decided["numbers", "confirmed"]}
                  or p.domain in {decided["sites", "confirmed"]}),
                 since_group, p.score desc, p.phone, p.domain
        limit :limit"""
    cursor = db.execute(order, {**named, "last": last_run, "limit": -1 if limit is None else limit})
    while chunk := cursor.fetchmany(500):
        marks = ",".join("?" * len(chunk))
        found = db.execute(
            f"""select p.rowid, {pair}, {_FLAGGED_EXTRA}
                from site_numbers p
                join numbers n on n.phone = p.phone
                join sites s on s.domain = p.domain
                where p.rowid in ({marks})""",
            [row for row, _, _ in chunk],
        )
        names = [d[0] for d in found.description]
        rows = {r[0]: dict(zip(names, r, strict=True)) for r in found}
        for row, group, back in chunk:
            yield {**rows[row], "since_group": group, "back": back}


def _undismissed_count(db: Database, what: str, min_risk: str) -> int:
    """count(`what`) over the flagged pairs `flags` shows, from its covering
    index (schema 0015), not the wide pair rows."""
    where, params = _flagged_where(min_risk, None, False, "pair")
    (n,) = db.execute(
        f"""select count({what}) from site_numbers p indexed by idx_site_numbers_attention
            where {where}
              and p.phone not in (select phone from numbers where status = 'dismissed')
              and p.domain not in (select domain from sites where status = 'dismissed')""",
        params,
    ).fetchone()
    return n


def attention_count(db: Database, min_risk: str = "low") -> int:
    """How many pairs `attention_rows` gives without a limit."""
    return _undismissed_count(db, "*", min_risk)


def flagged_number_count(db: Database, min_risk: str = "low") -> int:
    """How many numbers have a flagged pair that no analyst dismissed."""
    # The flagged pairs in number order (partial index of migration 0017): counted
    # without a sort. The statuses' indexes are named: with every status empty when
    # they were analysed, SQLite would read every number and site instead.
    where, params = _flagged_where(min_risk, None, False, "pair")
    (n,) = db.execute(
        f"""select count(*) from (
              select 1 from site_numbers p indexed by idx_site_numbers_flagged_phone
              where {where}
                and p.phone not in
                    (select phone from numbers indexed by idx_numbers_status
                     where status = 'dismissed')
                and p.domain not in
                    (select domain from sites indexed by idx_sites_status
                     where status = 'dismissed')
              group by p.phone)""",
        params,
    ).fetchone()
    return n


# Facts the exports read: a brand's own site (not the partner for a takedown) and
# known legitimate third parties (never an indicator).
_EXPORT_FACTS = ("official_site", "third_party", "third_party_site")


def loads_json(text: str | bytes):
    """json.loads(text) for stored JSON text, without its Python layers: the C scanner
    it ends in, on text whose value starts at once and ends it; any other text
    (leading whitespace, a BOM, trailing text, an error, bytes) through json.loads.
    A delta decodes tens of thousands of reasons lists, and the layers cost a third
    of a short one's decoding. tests/test_exports_fast.py holds it to json.loads."""
    if _SCAN is not None and type(text) is str:
        try:
            value, end = _SCAN(text, 0)
        except StopIteration:  # no value at the start: json.loads' value or error
            return json.loads(text)
        if end == len(text):
            return value
    return json.loads(text)


# json.loads' decoder's scanner (JSONDecoder's defaults), where the C one is built.
_SCAN = c_make_scanner(json.JSONDecoder()) if c_make_scanner is not None else None


@functools.lru_cache(maxsize=8192)
def _reasons_tuple(text: str | None) -> tuple:
    return tuple(loads_json(text or "[]"))


def reasons_list(text: str | None) -> list:
    """Stored reasons (JSON) as a new list; a number's or site's reasons repeat on
    each of its pairs, so they are decoded once."""
    return list(_reasons_tuple(text))


def pair_status(number_status: str | None, site_status: str | None, withdrawn=False) -> str:
    """A pair's status from its number's and site's: a dismissal of either ends the
    flag, whatever else was confirmed. `withdrawn`: a pair a delta read that is no
    longer flagged (or below its floor, `flagged_rows(withdrawable=True)`) and that no
    analyst dismissed: `WITHDRAWN`, which no analyst decided."""
    statuses = (number_status, site_status)
    if withdrawn and "dismissed" not in statuses:
        return WITHDRAWN
    return next((s for s in ("dismissed", "confirmed") if s in statuses), "new")


# The status of a pair sent that stopped being flagged (`pair_status`).
WITHDRAWN = "withdrawn"


def export_record(r: dict) -> dict:
    """The DESIGN.md export record for one (site, number) pair."""
    status = pair_status(r.get("number_status"), r.get("site_status"))
    return {
        "phone": r["phone"],
        "number_type": r["number_type"],
        "country": r["country"],
        "domain": r["domain"],
        "url": r["url"],
        "entry_url": r["entry_url"],
        "brand": r["brand"],
        "score": r["score"],
        "risk": r["risk"],
        "reasons": reasons_list(r["reasons"]),
        "is_ad": bool(r["is_ad"]),
        "engine": r["engine"],
        "query": r["query"],
        "rank": r["rank"],
        "first_seen": r["first_seen"],
        "last_seen": r["last_seen"],
        "status": status,
        # The verdicts of the number (over all its sightings) and of the site (issue 10).
        # A database not yet re-scored has none: null until the next run or `rescore`.
        "number_score": r.get("number_score"),
        "number_risk": r.get("number_risk"),
        "number_reasons": reasons_list(r.get("number_reasons")),
        "site_score": r.get("site_score"),
        "site_risk": r.get("site_risk"),
        "site_reasons": reasons_list(r.get("site_reasons")),
        # A picture of the page, where one was taken (crawler.render.shots).
        "screenshot": json.loads(r["screenshot"]) if r.get("screenshot") else None,
        "screenshot_sha256": r.get("screenshot_sha256"),
    }


def sent_fingerprints(db: Database, recipient: str, fmt: str) -> list[tuple[str, str]]:
    """(key, fingerprint) of each item as last sent to `recipient` in `fmt`.

    Each ledger row carries its export's recipient and format (schema 0002), so the
    latest entry of each key is found in the (recipient, format, key) index alone:
    joined to `exports`, SQLite scanned every entry of every recipient (a year's
    ledger holds millions) and sorted them by key."""
    return db.execute(
        """
        select key, fingerprint from export_items
        where id in (
            select max(id) from export_items
            where recipient = ? and format = ? group by key
        )
        """,
        [recipient, fmt],
    ).fetchall()


# -- exports (crawler.exports) and the report (crawler.exports.report) ---------------


# The fields of an ad's export row (`exports.rows.ad_rows`) `ad_showings` gives, in
# order, before the showing's serp result id, site and number.
AD_ROW_FIELDS = (
    "run_id",
    "engine",
    "query",
    "ad_position",
    "title",
    "display_url",
    "landing_url",
    "click_url",
    "advertiser_name",
    "advertiser_location",
    "advertiser_url",
    "seen_at",
    "first_seen",
    "last_seen",
    "url",
    "ip",
    "warc_file",
    "warc_record_id",
    "payload_sha256",
)


# CROSS JOIN fixes the join order below: from the results, through the pages
# they led to (indexes on pages (run_id, entry_url) and (run_id, url); the two
# URLs as a UNION, which SQLite does not make of an OR here), to their sightings.
# Left to itself, SQLite (without statistics on a new database) read every
# sighting and then every result of its run: hours at a year's size.


def ad_showings(db: Database, run_id: int | None = None, groups: list | None = None) -> list[tuple]:
    """Each ad and number on the page fetched from its landing URL in the same run
    (the page's `entry_url`, or its `url` when there was no redirect), as read:
    its `AD_ROW_FIELDS`, then the serp result's id, the page's site and the number.
    Tuples, not dicts: a year's full export reads a hundred thousand.
    `groups`: only the ads of these distinct (engine, query, landing URL)."""
    where = "r.is_ad = 1"
    params: list = []
    if run_id is not None:
        where += " and r.run_id = ?"
        params.append(run_id)
    if groups is not None:  # looked up by query and engine (the results' index)
        # (IN matches no null: a group with one takes every ad with a null.)
        null = " or r.query is null or r.engine is null or r.landing_url is null"
        where += (
            " and ((r.query, r.engine, r.landing_url) in"
            " (select value ->> 1, value ->> 0, value ->> 2 from json_each(?))"
            f"{null if any(None in g for g in groups) else ''})"
        )
        params.append(json.dumps([list(g) for g in groups]))
    return db.execute(
        f"""
        select r.run_id, r.engine, r.query, r.ad_position, r.title,
               r.display_url, r.landing_url,
               coalesce(nullif(r.click_url, ''), r.url),
               coalesce(r.advertiser_name, ''), coalesce(r.advertiser_location, ''),
               coalesce(r.advertiser_url, ''),
               r.seen_at, r.seen_at, r.seen_at,
               g.url, g.ip, g.warc_file, g.warc_record_id, g.payload_sha256,
               r.id, g.domain, s.phone
        from serp_results r
        cross join pages g on g.id in (
            select id from pages where run_id = r.run_id and entry_url = r.landing_url
            union select id from pages where run_id = r.run_id and url = r.landing_url)
        cross join sightings s on s.page_id = g.id
        where {where}
        order by r.seen_at, r.id, g.id
        """,
        params,
    ).fetchall()


def sightings_for_export(
    db: Database,
    run_id: int | None = None,
    of: tuple[str, list[str]] | None = None,
    by_site: bool = False,
):
    """Every sighting (of a run, or all) with its page's evidence, oldest first, as read;
    `of`: only those of these numbers (("phone", [...])) or sites (("domain", [...]));
    `by_site`: ordered by site first (then oldest first), each site's together.
    Each a `sqlite3.Row` (its columns read by name)."""
    terms, params = [], []
    if run_id is not None:
        terms.append("run_id = ?")
        params.append(run_id)
    if of is not None:
        column = {"phone": "phone", "domain": "domain"}[of[0]]
        terms.append(f"{column} in (select value from json_each(?))")
        params.append(json.dumps(of[1]))
    where = f"where {' and '.join(terms)}" if terms else ""
    # Rows read by name (sqlite3.Row), not dicts: a delta reads tens of thousands.
    cursor = db.conn.cursor()
    cursor.row_factory = sqlite3.Row
    yield from cursor.execute(
        f"""
        select phone, domain, url, entry_url, engine, query, is_ad, rank, seen_at,
               ip, warc_file, warc_record_id, payload_sha256
        from sightings {where}
        order by {"domain, " if by_site else ""}seen_at, id
        """,
        params,
    )


# -- queries (crawler.queries): what each query costs and brings ------------------------


def serp_result_counts(db: Database) -> list[tuple]:
    """(query, engine, runs, results, ads, last seen) of every query on every engine."""
    return db.execute(
        """select query, engine, count(distinct run_id), count(*), sum(is_ad), max(seen_at)
           from serp_results group by query, engine"""
    ).fetchall()


def query_number_hits(db: Database):
    """(query, engine, phone, run_id, flagged, new) for each number on a landing page a
    result led to in the same run (official numbers and faxes left out), some more
    than once; `new`: the run was the number's first.

    The rows each run keeps (`query_hits`, migration 0019); a run without them (one
    still open, interrupted, or written since) is followed live."""
    yield from db.execute(
        "select query, engine, phone, seen_run, flagged, new from query_hits"
        " where run_id in (select run_id from query_hits_runs)"
    )
    live = [
        r
        for (r,) in db.execute(
            "select distinct run_id from serp_results"
            " where run_id not in (select run_id from query_hits_runs)"
        ).fetchall()
    ]
    if live:
        yield from db.execute(
            """select sr.query, sr.engine, s.phone, s.run_id,
                      coalesce(s.flagged, s.risk is not null), n.first_run = s.run_id
               from serp_results sr
               cross join pages p on p.run_id = sr.run_id and p.entry_url = sr.landing_url
               cross join sightings s on s.page_id = p.id
               cross join numbers n on n.phone = s.phone
               where s.official = 0 and s.is_fax = 0
                 and sr.run_id in (select value from json_each(?))""",
            [json.dumps(live)],
        )


def run_serp_results(db: Database, run_id: int) -> list[dict]:
    """A run's results, by engine, ads first (by position), then organic by rank."""
    return list(
        db["serp_results"].rows_where(
            "run_id = ?", [run_id], order_by="engine, is_ad desc, ad_position, rank"
        )
    )


def page_entered_at(db: Database, run_id: int, urls: list[str]) -> dict | None:
    """The run's landing page entered at one of these URLs."""
    marks = ", ".join("?" for _ in urls)
    rows = db["pages"].rows_where(f"run_id = ? and entry_url in ({marks})", [run_id, *urls])
    return next(iter(rows), None)


def page_sightings(db: Database, page_id: str) -> list[dict]:
    """The numbers on a page, strongest first, with the `official_for` fact."""
    return list(
        db.query(
            f"select *, {facts_field('official_for')} as official_for from sightings"
            " where page_id = ? order by score desc",
            [page_id],
        )
    )
