"""The database schema as sqlite-utils migrations, applied when a database is opened.

`migrate(db)` brings any serpwatch database to the shape this code needs:
a new file gets every migration; a file made by an older release gets the
ones it lacks, each logged; a file made by a newer release (it records a
migration this code does not know) is refused with `SchemaTooNew`, because
writing to it with older code could lose what the newer code stores.

The first migration, `0001_baseline_0_1`, is the shape of release 0.1
(commit 6aa4400): it creates what is missing and adds the columns that 0.1
created on the fly (`alter=True` upserts, `add_column` on open), so a 0.1
database is recognised and upgraded, never re-created. Every later change
is a new named migration at the end of the list.

Ids are the migration names as stored in `_sqlite_migrations` (set
`serpwatch`): renaming one makes it pending again on every database.
"""

from __future__ import annotations

import logging

from sqlite_utils import Database, Migrations

logger = logging.getLogger(__name__)

SET = "serpwatch"
migrations = Migrations(SET)


class SchemaTooNew(Exception):
    """The database was written by a newer serpwatch: it has migrations this code lacks."""


class ForeignDatabase(Exception):
    """A SQLite database serpwatch did not make: migrating it would change another
    program's tables, so it is left as it is."""


def migrate(db: Database, *, label: str = "database") -> list[str]:
    """Apply the pending migrations; return their names. Refuse a newer database."""
    known = set(known_names())
    unknown = [name for name in applied_names(db) if name not in known]
    if unknown:
        raise SchemaTooNew(
            f"{label} was written by a newer serpwatch (schema migration"
            f"{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} unknown to this"
            " version); upgrade serpwatch to use it"
        )
    if not migrations.pending(db):
        return []
    refuse_foreign(db)
    fresh = not db.table_names()  # a new file: created, not upgraded; nothing to tell
    # One writer migrates: a second process opening the same new file waits
    # here (busy timeout), then finds nothing pending.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    for name in pending:
        logger.log(
            logging.DEBUG if fresh else logging.INFO, "%s: applied schema migration %s", label, name
        )
    return pending


def refuse_foreign(db: Database) -> None:
    """Raise `ForeignDatabase` for a SQLite database serpwatch did not make; before
    anything is written to it (even WAL mode, which `open_db` sets)."""
    foreign = _foreign_tables(db)
    if foreign:
        raise ForeignDatabase(
            f"not a serpwatch database (tables or columns serpwatch never makes:"
            f" {', '.join(foreign)}); check --db"
        )


def _foreign_tables(db: Database) -> list[str]:
    """Of a database no migration has touched, the tables (or their columns) that
    release 0.1 never made; none for a new file or a 0.1 database. A 0.1 table
    holds only columns the baseline knows: the baseline is what 0.1 made at most."""
    if applied_names(db):
        return []
    foreign = []
    for name in db.table_names():
        if name.startswith(("sqlite_", "_sqlite_migrations")):
            continue
        known = BASELINE_0_1.get(name, {}).get("columns", {})
        extra = [c for c in db[name].columns_dict if c not in known]
        if not known or extra:
            foreign += [f"{name}.{c}" for c in extra] if known else [name]
    return foreign


def applied_names(db: Database) -> list[str]:
    return [m.name for m in migrations.applied(db)]


def known_names() -> list[str]:
    return [m.name for m in migrations._migrations]


# ---------------------------------------------------------------------------
# The shape of release 0.1 (6aa4400). Frozen: the baseline migration reads it.

_EVIDENCE = {"ip": str, "warc_file": str, "warc_record_id": str, "payload_sha256": str}

BASELINE_0_1: dict[str, dict] = {
    "runs": {
        "columns": {
            "id": int,
            "profile": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "stats": str,
            "blocked_engines": str,
            "warnings": str,
            "host": str,
            "pid": int,
        },
        "pk": "id",
    },
    "serp_results": {
        "columns": {
            "id": str,
            "run_id": int,
            "engine": str,
            "query": str,
            "brand": str,
            "serp_url": str,
            "is_ad": int,
            "rank": int,
            "ad_position": int,
            "title": str,
            "url": str,
            "landing_url": str,
            "display_url": str,
            "snippet": str,
            "phones": str,
            "seen_at": str,
            "page": int,
        },
        "pk": "id",
        "indexes": [["run_id"]],
    },
    "pages": {
        "columns": {
            "id": str,
            "run_id": int,
            "url": str,
            "entry_url": str,
            "domain": str,
            "status": int,
            "title": str,
            "engine": str,
            "query": str,
            "brand": str,
            "is_ad": int,
            "rank": int,
            "ad_position": int,
            "serp_url": str,
            "redirects": str,
            "ip": str,
            "size": int,
            "sha256": str,
            "phones": int,
            "fetched_at": str,
            **_EVIDENCE,
            "engines": str,
            "appearances": str,
        },
        "pk": "id",
        "indexes": [["run_id"], ["domain"]],
    },
    "sightings": {
        "columns": {
            "id": str,
            "run_id": int,
            "page_id": str,
            "phone": str,
            "raw": str,
            "source": str,
            "is_fax": int,
            "domain": str,
            "url": str,
            "entry_url": str,
            "brand": str,
            "engine": str,
            "query": str,
            "is_ad": int,
            "rank": int,
            "official": int,
            "score": int,
            "risk": str,
            "reasons": str,
            "seen_at": str,
            **_EVIDENCE,
            "engines": str,
            "flagged": int,
            "facts": str,
        },
        "pk": "id",
        "indexes": [["run_id"], ["phone"], ["domain"]],
    },
    "numbers": {
        "columns": {
            "phone": str,
            "number_type": str,
            "country": str,
            "nl_category": str,
            "carrier": str,
            "official_for": str,
            "first_seen": str,
            "last_seen": str,
            "first_run": int,
            "last_run": int,
            "status": str,
        },
        "pk": "phone",
    },
    "sites": {
        "columns": {
            "domain": str,
            "first_seen": str,
            "last_seen": str,
            "first_run": int,
            "last_run": int,
            "status": str,
        },
        "pk": "domain",
    },
    # One row per (site, number) pair: what exports are made of.
    "site_numbers": {
        "columns": {
            "id": str,
            "domain": str,
            "phone": str,
            "url": str,
            "entry_url": str,
            "brand": str,
            "engine": str,
            "query": str,
            "is_ad": int,
            "rank": int,
            "score": int,
            "risk": str,
            "reasons": str,
            "flagged": int,
            "first_seen": str,
            "last_seen": str,
            "first_run": int,
            "last_run": int,
            "updated_at": str,
            **_EVIDENCE,
            "facts": str,
            "engines": str,
        },
        "pk": "id",
        "indexes": [["phone"], ["domain"]],
    },
    "triage": {
        "columns": {"id": int, "key": str, "action": str, "note": str, "at": str, "kind": str},
        "pk": "id",
        "indexes": [["key"]],
    },
    # The exports ledger: what was sent, when, to whom, and the file's SHA-256.
    "exports": {
        "columns": {
            "id": int,
            "recipient": str,
            "format": str,
            "since": str,
            "min_risk": str,
            "created_at": str,
            "file": str,
            "sha256": str,
            "records": int,
        },
        "pk": "id",
        "indexes": [["recipient"]],
    },
    # One row per item in an export: its key and a fingerprint of what was sent.
    "export_items": {
        "columns": {"id": int, "export_id": int, "recipient": str, "key": str, "fingerprint": str},
        "pk": "id",
        "foreign_keys": [("export_id", "exports", "id")],
        "indexes": [["recipient", "key"]],
    },
    # Executables and archives a page offered (crawler.middlewares); never stored.
    "downloads": {
        "columns": {
            "id": str,
            "run_id": int,
            "url": str,
            "entry_url": str,
            "domain": str,
            "kind": str,
            "reason": str,
            "content_type": str,
            "status": int,
            "engine": str,
            "query": str,
            "brand": str,
            "is_ad": int,
            "serp_url": str,
            "seen_at": str,
        },
        "pk": "id",
        "indexes": [["run_id"]],
    },
    # What changed between runs of a profile (crawler.history).
    "changes": {
        "columns": {
            "id": int,
            "run_id": int,
            "kind": str,  # number | site | pair
            "key": str,  # E.164, domain, or "domain phone"
            "event": str,  # new | back | gone
            "detail": str,
            "at": str,
        },
        "pk": "id",
        "indexes": [["run_id"], ["key"]],
    },
}


def _ensure_tables(db: Database, shape: dict[str, dict]) -> None:
    """Create missing tables; add missing columns to existing ones; create indexes."""
    for name, spec in shape.items():
        table = db[name]
        if not table.exists():
            table.create(spec["columns"], pk=spec["pk"], foreign_keys=spec.get("foreign_keys"))
        else:
            have = table.columns_dict
            for column, kind in spec["columns"].items():
                if column not in have:
                    table.add_column(column, kind)
        for columns in spec.get("indexes", []):
            table.create_index(columns, if_not_exists=True)


# ---------------------------------------------------------------------------
# The migrations. Append new migrations at the end; never edit a landed one
# (databases in the field have recorded it by name and will not run it again).


@migrations(name="0001_baseline_0_1")
def baseline_0_1(db: Database) -> None:
    """Release 0.1's shape: create it, or complete a 0.1 database that lacks
    columns 0.1 would have added on the fly."""
    _ensure_tables(db, BASELINE_0_1)


@migrations(name="0002_ledger_per_recipient_and_format")
def ledger_per_recipient_and_format(db: Database) -> None:
    """The exports ledger is keyed by recipient and format: each item row
    carries its export's format (filled in from `exports` for older rows)."""
    items = db["export_items"]
    if "format" not in items.columns_dict:
        items.add_column("format", str)
    db.execute(
        "update export_items set format ="
        " (select e.format from exports e where e.id = export_items.export_id)"
        " where format is null"
    )
    items.create_index(["recipient", "format", "key"], if_not_exists=True)


# Issue 16 (engines v2): result kinds, click strings and advertisers.
_SERP_V2 = {
    "kind": str,  # organic | ad | local | call
    "click_url": str,  # the engine's click string, as on the page
    "landing_from": str,  # link | decoded | display-url | ""
    "advertiser_name": str,
    "advertiser_location": str,
    "advertiser_url": str,  # the engine's "about this advertiser" page
}
_REACHED = {
    "reached_via": str,  # click | decoded | display-url | link
    "click_url": str,
    "advertiser_name": str,
    "advertiser_location": str,
}


@migrations(name="0003_engines_v2")
def engines_v2(db: Database) -> None:
    """Result kinds, click strings and advertisers on results; how each page was
    reached (pages, sightings, site_numbers carry it to the exports); local and
    call cards in their own table; result pages no parser recognised."""
    for table, columns in (
        ("serp_results", _SERP_V2),
        ("pages", _REACHED),
        ("sightings", _REACHED),
        ("site_numbers", _REACHED),
    ):
        have = db[table].columns_dict
        for column, kind in columns.items():
            if column not in have:
                db[table].add_column(column, kind)
    _ensure_tables(
        db,
        {
            # Local pack, business-profile and call cards: apart from the ranks
            # of organic results and the positions of ads.
            "serp_listings": {
                "columns": {
                    "id": str,
                    "run_id": int,
                    "engine": str,
                    "query": str,
                    "brand": str,
                    "serp_url": str,
                    "page": int,
                    "kind": str,
                    "position": int,
                    "title": str,
                    "url": str,
                    "landing_url": str,
                    "display_url": str,
                    "snippet": str,
                    "phones": str,
                    "address": str,
                    **{k: v for k, v in _SERP_V2.items() if k != "kind"},
                    "seen_at": str,
                },
                "pk": "id",
                "indexes": [["run_id"]],
            },
            # Result pages no parser recognised, kept whole for the maintainers
            # (`serpwatch serp unparsed`).
            "unparsed_pages": {
                "columns": {
                    "id": str,
                    "run_id": int,
                    "engine": str,
                    "kind": str,
                    "query": str,
                    "url": str,
                    "status": int,
                    "reason": str,
                    "size": int,
                    "sha256": str,
                    "body": bytes,
                    "seen_at": str,
                },
                "pk": "id",
                "indexes": [["run_id"]],
            },
        },
    )


_TRIAGE_PAIRS = """
    with pairs as (
        select p.*, n.number_type, n.country, n.carrier,
               case when 'dismissed' in (n.status, s.status) then 'dismissed'
                    when 'confirmed' in (n.status, s.status) then 'confirmed'
                    else 'new' end as pair_status
        from site_numbers p
        join numbers n on n.phone = p.phone
        join sites s on s.domain = p.domain
        where p.flagged = 1
           or (p.risk is not null and 'dismissed' in (n.status, s.status))
    ),
    ranked as (
        select *, row_number() over (
            partition by {key} order by pair_status = 'dismissed', score desc, {other}
        ) as rank_in_group
        from pairs
    ),
    grouped as (
        select {key} as group_key, group_concat({other}, ', ') as members,
               count(*) as member_count,
               min(first_seen) as first_seen, max(last_seen) as last_seen,
               case when min(pair_status = 'dismissed') then 'dismissed'
                    when max(pair_status = 'confirmed') then 'confirmed'
                    else 'new' end as status
        from pairs group by {key}
    )
"""
# The triage views Datasette shows (`serpwatch serve`, crawler/datasette): one
# row per flagged number, one per flagged site, dismissed ones included so the
# analyst sees the status (and can undo it). The strongest pair that is not
# dismissed gives the verdict, brand, engine, URL and evidence; the status is
# dismissed when every pair is, confirmed when one is, else new.
TRIAGE_VIEWS = {
    "flagged_numbers": _TRIAGE_PAIRS.format(key="phone", other="domain")
    + """
    select r.phone as number, r.risk || ' ' || r.score as verdict, r.risk, r.score,
           json_extract(r.reasons, '$[0]') as main_reason, r.brand,
           g.members as sites, g.member_count as site_count,
           g.first_seen, g.last_seen, g.status, r.engine,
           r.number_type, r.country, r.carrier, r.url, r.warc_file, r.warc_record_id
    from ranked r join grouped g on g.group_key = r.phone
    where r.rank_in_group = 1
    """,
    "flagged_sites": _TRIAGE_PAIRS.format(key="domain", other="phone")
    + """
    select r.domain as site, r.risk || ' ' || r.score as verdict, r.risk, r.score,
           json_extract(r.reasons, '$[0]') as main_reason, r.brand,
           g.members as numbers, g.member_count as number_count,
           g.first_seen, g.last_seen, g.status, r.engine,
           r.ip, r.url, r.warc_file, r.warc_record_id
    from ranked r join grouped g on g.group_key = r.domain
    where r.rank_in_group = 1
    """,
}


@migrations(name="0004_triage_views")
def triage_views(db: Database) -> None:
    """The views `flagged_numbers` and `flagged_sites` (Datasette's triage views)."""
    for name, sql in TRIAGE_VIEWS.items():
        db.create_view(name, sql.strip(), replace=True)


# Issue 17: the maintainers' lists kept true by evidence.
MAINTAINER_LISTS: dict[str, dict] = {
    # One row per `serpwatch brands check` (crawler/brandcheck.py).
    "brand_checks": {
        "columns": {
            "id": int,
            "at": str,
            "brands_file": str,
            "warc_file": str,
            "pages": int,
            "needs_look": int,
            "summary": str,
        },
        "pk": "id",
    },
    # Each source page a check fetched: ok | moved | failed | blocked, and its WARC record.
    "brand_check_pages": {
        "columns": {
            "id": int,
            "check_id": int,
            "brand": str,
            "url": str,
            "final_url": str,
            "http_status": int,
            "outcome": str,
            "detail": str,
            "ip": str,
            "warc_file": str,
            "warc_record_id": str,
            "payload_sha256": str,
            "fetched_at": str,
        },
        "pk": "id",
        "foreign_keys": [("check_id", "brand_checks", "id")],
        "indexes": [["check_id"]],
    },
    # Each number per brand and check: confirmed | stale | unlisted | unchecked.
    "brand_check_numbers": {
        "columns": {
            "id": int,
            "check_id": int,
            "brand": str,
            "phone": str,
            "state": str,
            "url": str,
            "context": str,
            "at": str,
        },
        "pk": "id",
        "foreign_keys": [("check_id", "brand_checks", "id")],
        "indexes": [["phone"]],
    },
    # `serpwatch queries retire / restore`: the latest action per query_key counts.
    "query_retirements": {
        "columns": {
            "id": int,
            "query": str,
            "query_key": str,
            "action": str,
            "reason": str,
            "at": str,
        },
        "pk": "id",
        "indexes": [["query_key"]],
    },
    # "Related searches", "people also ask" and suggestions of each result page.
    "related_searches": {
        "columns": {
            "id": str,
            "run_id": int,
            "engine": str,
            "query": str,
            "serp_url": str,
            "kind": str,
            "text": str,
            "position": int,
            "seen_at": str,
        },
        "pk": "id",
        "indexes": [["run_id"]],
    },
}


@migrations(name="0005_maintainer_lists")
def maintainer_lists(db: Database) -> None:
    """Brand-page checks, retired queries and related searches (issue 17)."""
    _ensure_tables(db, MAINTAINER_LISTS)


@migrations(name="0006_number_and_site_verdicts")
def number_and_site_verdicts(db: Database) -> None:
    """Issue 10: a verdict on each number and each site (score, risk, reasons,
    flagged), and `verdict_history`, one row per run and key, for `history KEY`.
    A database from before gets them filled by the next run or `serpwatch rescore`."""
    for table in ("numbers", "sites"):
        have = db[table].columns_dict
        for column, kind in (("score", int), ("risk", str), ("reasons", str), ("flagged", int)):
            if column not in have:
                db[table].add_column(column, kind)
    if not db["verdict_history"].exists():
        db["verdict_history"].create(
            {
                "id": int,
                "run_id": int,
                "kind": str,  # number | site | pair
                "key": str,  # E.164, domain, or "domain phone"
                "score": int,
                "risk": str,
                "reasons": str,
                "at": str,
            },
            pk="id",
        )
    db["verdict_history"].create_index(["key"], if_not_exists=True)
    db["verdict_history"].create_index(["run_id"], if_not_exists=True)


@migrations(name="0007_run_warcs")
def run_warcs(db: Database) -> None:
    """Distributed runs (issue 18): each worker writes its own WARC file; the run lists them."""
    if not db["run_warcs"].exists():
        db["run_warcs"].create(
            {"run_id": int, "warc_file": str, "worker": str},
            pk=("run_id", "warc_file"),
            foreign_keys=[("run_id", "runs", "id")],
        )


@migrations(name="0008_scheduled_watch")
def scheduled_watch(db: Database) -> None:
    """Scheduled watch (issue 15): a run's Scrapyd job id and live progress; the
    alerts ledger (one row per thing told to a channel, so it is never told twice)
    and every delivery to a channel, failed ones too."""
    _ensure_tables(
        db,
        {
            "runs": {
                "columns": {"job": str, "progress": str, "progress_at": str},
                "pk": "id",
            },
            "alerts": {
                "columns": {
                    "id": int,
                    "channel": str,  # a hash of the Apprise URL: no secrets in the database
                    "key": str,  # what was told: "number:+31...", "blocked:12:bing", ...
                    "kind": str,
                    "run_id": int,
                    "at": str,
                },
                "pk": "id",
                "indexes": [["run_id"]],
            },
            "alert_deliveries": {
                "columns": {
                    "id": int,
                    "run_id": int,
                    "channel": str,
                    "channel_name": str,  # the URL with its password masked
                    "ok": int,
                    "attempts": int,
                    "items": int,
                    "error": str,
                    "at": str,
                },
                "pk": "id",
                "indexes": [["run_id"]],
            },
        },
    )
    db["alerts"].create_index(["channel", "key"], unique=True, if_not_exists=True)


# Rendering in a browser (issue 13, crawler/render): one row per render, one per
# screenshot, and the viewport picture cited on pages, sightings and pairs.
RENDERS_13 = {
    "renders": {
        "columns": {
            "id": str,
            "run_id": int,
            "kind": str,  # page | serp
            "url": str,
            "final_url": str,
            "reason": str,
            "status": str,  # rendered | cut | failed
            "detail": str,
            "seconds": float,
            "behaviours": str,
            "cloaking": str,
            "rendered_only": str,
            "image_only": str,
            "dialogs": int,
            "downloads": str,
            "refused": str,
            "screenshot": str,
            "screenshot_sha256": str,
            "at": str,
        },
        "pk": "id",
        "indexes": [["run_id"], ["url"]],
    },
    "screenshots": {
        "columns": {
            "id": str,
            "run_id": int,
            "url": str,
            "kind": str,  # viewport | full
            "warc_file": str,
            "warc_record_id": str,
            "path": str,
            "sha256": str,
            "width": int,
            "height": int,
            "bytes": int,
            "note": str,
            "thumbnail": bytes,  # a JPEG, 320 px wide
            "taken_at": str,
        },
        "pk": "id",
        "indexes": [["url"], ["sha256"], ["run_id"]],
    },
}


@migrations(name="0009_renders_and_screenshots")
def renders_and_screenshots(db: Database) -> None:
    """Tables `renders` and `screenshots`; `screenshot`, `screenshot_sha256` on
    pages, sightings and site_numbers."""
    _ensure_tables(db, RENDERS_13)
    for table in ("pages", "sightings", "site_numbers"):
        have = db[table].columns_dict
        for column in ("screenshot", "screenshot_sha256"):
            if column not in have:
                db[table].add_column(column, str)


# The triage views again, with the verdicts of the number and of the site
# (migration 0006) beside the strongest pair's. 0004's SQL stays as it was.
_TRIAGE_PAIRS_V2 = _TRIAGE_PAIRS.replace(
    "select p.*, n.number_type, n.country, n.carrier,",
    "select p.*, n.number_type, n.country, n.carrier,"
    " n.score as number_score, n.risk as number_risk, n.reasons as number_reasons,"
    " s.score as site_score, s.risk as site_risk, s.reasons as site_reasons,",
)
TRIAGE_VIEWS_V2 = {
    "flagged_numbers": _TRIAGE_PAIRS_V2.format(key="phone", other="domain")
    + """
    select r.phone as number, r.risk || ' ' || r.score as verdict, r.risk, r.score,
           json_extract(r.reasons, '$[0]') as main_reason, r.brand,
           g.members as sites, g.member_count as site_count,
           g.first_seen, g.last_seen, g.status, r.engine,
           r.number_risk, r.number_score,
           json_extract(r.number_reasons, '$[0]') as number_reason,
           r.number_type, r.country, r.carrier, r.url, r.warc_file, r.warc_record_id
    from ranked r join grouped g on g.group_key = r.phone
    where r.rank_in_group = 1
    """,
    "flagged_sites": _TRIAGE_PAIRS_V2.format(key="domain", other="phone")
    + """
    select r.domain as site, r.risk || ' ' || r.score as verdict, r.risk, r.score,
           json_extract(r.reasons, '$[0]') as main_reason, r.brand,
           g.members as numbers, g.member_count as number_count,
           g.first_seen, g.last_seen, g.status, r.engine,
           r.site_risk, r.site_score, json_extract(r.site_reasons, '$[0]') as site_reason,
           r.ip, r.url, r.warc_file, r.warc_record_id
    from ranked r join grouped g on g.group_key = r.domain
    where r.rank_in_group = 1
    """,
}


@migrations(name="0010_triage_views_with_verdicts")
def triage_views_with_verdicts(db: Database) -> None:
    """The triage views with the number's and the site's own verdicts (issue 10)."""
    for name, sql in TRIAGE_VIEWS_V2.items():
        db.create_view(name, sql.strip(), replace=True)


@migrations(name="0011_run_outcomes_and_presence")
def run_outcomes_and_presence(db: Database) -> None:
    """Runs that tell the truth, history that is never falsified (issue 11).

    - `runs.engine_outcomes` (JSON: per engine answered | partial | failed |
      blocked | unfinished, with counts) and `runs.counts` (JSON: result
      pages, landing pages, sightings, flagged pairs, items lost).
    - `run_queries`: how each query went on each engine in a run; history
      trusts only the answered ones.
    - `presence`: per profile, number, site and pair, the last run that saw
      it and the run that recorded it gone (null while present). Filled from
      the sightings and the `changes` already recorded.
    """
    db["runs"].add_column("engine_outcomes", str)
    db["runs"].add_column("counts", str)
    db["run_queries"].create(
        {
            "id": str,
            "run_id": int,
            "engine": str,
            "query": str,
            "brand": str,
            "outcome": str,  # answered | blocked | failed
            "serp_pages": int,
            "results": int,
            "detail": str,
        },
        pk="id",
    )
    db["run_queries"].create_index(["run_id", "engine", "query"])
    db["presence"].create(
        {
            "profile": str,
            "kind": str,  # number | site | pair
            "key": str,  # E.164, domain, or "domain phone"
            "phone": str,
            "domain": str,
            "last_run": int,
            "gone_run": int,
        },
        pk=("profile", "kind", "key"),
    )
    db["presence"].create_index(["kind", "key"])
    db["presence"].create_index(["profile", "gone_run", "last_run"])
    seen = """
        from sightings s join runs r on r.id = s.run_id
        where s.official = 0 and s.is_fax = 0
    """
    db.execute(
        f"""insert into presence (profile, kind, key, phone, domain, last_run)
            select r.profile, 'number', s.phone, s.phone, null, max(s.run_id) {seen}
            group by r.profile, s.phone"""
    )
    db.execute(
        f"""insert into presence (profile, kind, key, phone, domain, last_run)
            select r.profile, 'site', s.domain, null, s.domain, max(s.run_id) {seen}
            group by r.profile, s.domain"""
    )
    db.execute(
        f"""insert into presence (profile, kind, key, phone, domain, last_run)
            select r.profile, 'pair', s.domain || ' ' || s.phone, s.phone, s.domain,
                   max(s.run_id) {seen}
            group by r.profile, s.domain, s.phone"""
    )
    # Gone already: a "gone" recorded by a run of the profile after the last sighting.
    db.execute(
        """update presence set gone_run = (
               select max(c.run_id) from changes c join runs r on r.id = c.run_id
               where c.kind = presence.kind and c.key = presence.key and c.event = 'gone'
                 and r.profile = presence.profile and c.run_id > presence.last_run)"""
    )


@migrations(name="0012_indexes_for_a_year")
def indexes_for_a_year(db: Database) -> None:
    """Indexes for a year of crawls (a million sightings), found with EXPLAIN QUERY PLAN
    on bench/storage.py's database: each names the query it serves."""
    for table, columns, where in (
        # history.close_run: the run's pairs, scored again.
        ("site_numbers", ["last_run"], None),
        # flags and exports: flagged pairs, highest score first, without a sort.
        ("site_numbers", ["flagged", "score desc", "phone", "domain"], None),
        # history.close_run: on how many unrelated domains each number was seen.
        ("sightings", ["phone", "domain"], "official = 0 and is_fax = 0"),
        # history.close_run: numbers a brand lists on its own site.
        (
            "sightings",
            ["phone"],
            "official = 0 and json_extract(facts, '$.brand_listing') = 1",
        ),
        # queries stats, ad exports: the numbers on a result's landing page.
        ("sightings", ["page_id"], None),
        ("pages", ["run_id", "entry_url"], None),
        ("pages", ["run_id", "url"], None),
        # queries stats: results per query and engine.
        ("serp_results", ["query", "engine"], None),
    ):
        name = f"idx_{table}_{'_'.join(c.split()[0] for c in columns)}"
        name += "_brand_listing" if where and "brand_listing" in where else "_live" if where else ""
        cols = ", ".join(f"[{c.split()[0]}] {' '.join(c.split()[1:])}".strip() for c in columns)
        db.execute(
            f"create index if not exists [{name}] on [{table}] ({cols})"
            + (f" where {where}" if where else "")
        )
    db.execute("analyze")


@migrations(name="0013_sightings_by_key_and_run")
def sightings_by_key_and_run(db: Database) -> None:
    """Sightings by number or site and run, for a year of history (issue 11).

    History's end of run joins `presence` to the sightings of one number (or
    site) in one run: with single-column indexes SQLite read every sighting of
    that run for each key (quadratic in the run's size). The two-column
    indexes also serve `history KEY` (runs of a number, in order) and replace
    the single-column ones they start with.
    """
    db.execute("create index if not exists idx_sightings_phone_run_id on sightings (phone, run_id)")
    db.execute(
        "create index if not exists idx_sightings_domain_run_id on sightings (domain, run_id)"
    )
    db.execute("drop index if exists idx_sightings_phone")
    db.execute("drop index if exists idx_sightings_domain")


# The triage views once more, with the strongest pair's screenshot, so the
# evidence is one click from the flag (the Datasette plugin shows a `screenshot`
# cell as its thumbnail linking to the WARC record). 0010's SQL stays as it was.
TRIAGE_VIEWS_V3 = {
    name: sql.replace(
        "r.url, r.warc_file, r.warc_record_id", "r.url, r.warc_file, r.warc_record_id, r.screenshot"
    )
    for name, sql in TRIAGE_VIEWS_V2.items()
}


@migrations(name="0014_triage_views_with_screenshots")
def triage_views_with_screenshots(db: Database) -> None:
    """The triage views with the strongest pair's screenshot (issue 14)."""
    for name, sql in TRIAGE_VIEWS_V3.items():
        db.create_view(name, sql.strip(), replace=True)


@migrations(name="0015_indexes_for_flags")
def indexes_for_flags(db: Database) -> None:
    """Indexes for `flags` at a year's size (issue 11), found with EXPLAIN QUERY PLAN.

    `flags` orders every flagged pair by new/back, seen, gone and score, then
    reads only the page it shows: the ordering reads these covering indexes
    (pairs, their presence, the few confirmed or dismissed numbers and sites)
    instead of the wide pair rows.
    """
    db.execute(
        "create index if not exists idx_site_numbers_attention on site_numbers"
        " (flagged, score desc, phone, domain, first_run, last_run, risk)"
    )
    db.execute(
        "create index if not exists idx_presence_kind_key_gone_run on presence"
        " (kind, key, gone_run)"
    )
    db.execute("create index if not exists idx_numbers_status on numbers (status)")
    db.execute("create index if not exists idx_sites_status on sites (status)")
    for index in (
        "idx_site_numbers_attention",
        "idx_presence_kind_key_gone_run",
        "idx_numbers_status",
        "idx_sites_status",
    ):
        db.execute(f"analyze [{index}]")  # these only: a whole ANALYZE reads every table


@migrations(name="0016_flagged_sightings_by_run")
def flagged_sightings_by_run(db: Database) -> None:
    """The report's chart of flagged numbers per run and brand (issue 11): it read
    every sighting of the history; this index holds only the flagged ones, in order."""
    db.execute(
        "create index if not exists idx_sightings_flagged_run_id on sightings"
        " (run_id, brand, phone, flagged) where flagged = 1"
    )
    db.execute("analyze [idx_sightings_flagged_run_id]")


@migrations(name="0017_indexes_for_queries_stats_and_report")
def indexes_for_queries_stats_and_report(db: Database) -> None:
    """Covering indexes for `queries stats` and `report` at a year's size (issue 11),
    found with EXPLAIN QUERY PLAN on bench/storage.py's database.

    `queries stats` follows every result to its landing page and the numbers on
    it: it read the whole row of each result, page and sighting (kilobytes each)
    for a few short columns. These indexes hold those columns; the three that
    serve lookups an older index served replace it (no more indexes to write).
    The report counts the numbers of every flagged pair from a partial index in
    number order, without a sort.
    """
    for name, table, columns, where in (
        # results per query and engine: runs, cost, yield (all from the index)
        (
            "idx_serp_results_query_engine_run",
            "serp_results",
            "query, engine, run_id, is_ad, seen_at, serp_url, landing_url",
            "",
        ),
        # a result's landing page: the page's id without reading the page
        ("idx_pages_run_id_entry_url_id", "pages", "run_id, entry_url, id", ""),
        # the numbers on a page: whether each is official, a fax, flagged
        (
            "idx_sightings_page_id_verdict",
            "sightings",
            "page_id, official, is_fax, phone, run_id, flagged, risk",
            "",
        ),
        # whether a run was a number's first
        ("idx_numbers_phone_first_run", "numbers", "phone, first_run", ""),
        # the report: how many numbers have a flagged pair
        (
            "idx_site_numbers_flagged_phone",
            "site_numbers",
            "phone, domain, risk, flagged",
            " where flagged = 1",
        ),
    ):
        db.execute(f"create index if not exists [{name}] on [{table}] ({columns}){where}")
    for old in (
        "idx_serp_results_query_engine",
        "idx_pages_run_id_entry_url",
        "idx_sightings_page_id",
    ):
        db.execute(f"drop index if exists [{old}]")


# The report's chart per run: (brand → numbers flagged) of each run, kept so that the
# chart does not count every flagged sighting of the history on every report.
# Triggers forget a run's counts whenever a sighting of it that is or was flagged is
# written (saved, rescored, deleted): nothing can leave them stale. The end of a run
# (`finish_crawl`) counts again the runs that have none; readers count those live.
_FLAG_COUNTS_SQL = """
insert or replace into run_flag_counts (run_id, counts)
select r.id, coalesce(
    (select json_group_object(brand, n) from (
        select coalesce(brand, '(no brand)') as brand, count(distinct phone) as n
        from sightings where run_id = r.id and flagged = 1
        group by coalesce(brand, '(no brand)'))),
    '{}')
from runs r
where r.id not in (select run_id from run_flag_counts)"""


@migrations(name="0018_flag_counts_per_run")
def flag_counts_per_run(db: Database) -> None:
    """Flagged numbers per run and brand, kept for the report's chart (issue 11)."""
    db.execute(
        "create table if not exists run_flag_counts"
        " (run_id integer primary key, counts text not null)"
    )
    forget = "delete from run_flag_counts where run_id in ({})"
    db.execute(
        "create trigger if not exists run_flag_counts_insert after insert on sightings"
        f" when new.flagged = 1 begin {forget.format('new.run_id')}; end"
    )
    db.execute(
        "create trigger if not exists run_flag_counts_delete after delete on sightings"
        f" when old.flagged = 1 begin {forget.format('old.run_id')}; end"
    )
    db.execute(
        "create trigger if not exists run_flag_counts_update"
        " after update of flagged, brand, phone, run_id on sightings"
        " when (old.flagged = 1 or new.flagged = 1)"
        " and (old.flagged is not new.flagged or old.brand is not new.brand"
        " or old.phone is not new.phone or old.run_id is not new.run_id)"
        f" begin {forget.format('old.run_id, new.run_id')}; end"
    )
    db.execute(_FLAG_COUNTS_SQL)


# `queries stats`: the numbers each run's results led to (query, engine, number, and
# whether flagged and new), kept per run so that it does not follow every result of
# the history to its page and numbers on every call. `query_hits_runs` lists the runs
# whose rows are kept; triggers drop a run from it whenever a result, page, sighting or
# number that its rows come from is written, so kept rows are never stale. The end of
# a run (`finish_crawl`) keeps the runs that are not; `queries stats` follows the rest
# live. A sighting's run is its page's (both keyed by the run: storage.saves).
QUERY_HITS_SQL = """
insert into query_hits (run_id, query, engine, phone, seen_run, flagged, new)
select distinct sr.run_id, sr.query, sr.engine, s.phone, s.run_id,
       coalesce(s.flagged, s.risk is not null), n.first_run = s.run_id
from serp_results sr
cross join pages p on p.run_id = sr.run_id and p.entry_url = sr.landing_url
cross join sightings s on s.page_id = p.id
cross join numbers n on n.phone = s.phone
where s.official = 0 and s.is_fax = 0 and sr.run_id = ?"""

_OF_PHONE = "select run_id from sightings where phone = {}.phone"
_LIVE = "({0}.official = 0 and {0}.is_fax = 0)"
# (trigger, when it fires, the runs whose kept rows it drops)
_QUERY_HITS_TRIGGERS = (
    (
        "sightings_insert",
        f"insert on sightings when {_LIVE.format('new')}",
        "new.run_id",
    ),
    (
        "sightings_delete",
        f"delete on sightings when {_LIVE.format('old')}",
        "old.run_id",
    ),
    (
        "sightings_update",
        "update of page_id, phone, run_id, official, is_fax, flagged, risk on sightings"
        f" when ({_LIVE.format('old')} or {_LIVE.format('new')}) and"
        " (old.page_id is not new.page_id or old.phone is not new.phone"
        " or old.run_id is not new.run_id or old.official is not new.official"
        " or old.is_fax is not new.is_fax or coalesce(old.flagged, old.risk is not null)"
        " is not coalesce(new.flagged, new.risk is not null))",
        "old.run_id, new.run_id",
    ),
    ("pages_insert", "insert on pages", "new.run_id"),
    ("pages_delete", "delete on pages", "old.run_id"),
    (
        "pages_update",
        "update of id, run_id, entry_url on pages when old.id is not new.id"
        " or old.run_id is not new.run_id or old.entry_url is not new.entry_url",
        "old.run_id, new.run_id",
    ),
    ("serp_results_insert", "insert on serp_results", "new.run_id"),
    ("serp_results_delete", "delete on serp_results", "old.run_id"),
    (
        "serp_results_update",
        "update of run_id, query, engine, landing_url on serp_results"
        " when old.run_id is not new.run_id or old.query is not new.query"
        " or old.engine is not new.engine or old.landing_url is not new.landing_url",
        "old.run_id, new.run_id",
    ),
    ("numbers_insert", "insert on numbers", _OF_PHONE.format("new")),
    ("numbers_delete", "delete on numbers", _OF_PHONE.format("old")),
    (
        "numbers_update",
        "update of phone, first_run on numbers when old.phone is not new.phone"
        " or old.first_run is not new.first_run",
        f"select old.first_run union select new.first_run union {_OF_PHONE.format('old')}"
        f" union {_OF_PHONE.format('new')}",
    ),
)


def keep_query_hits(db: Database) -> int:
    """Keep the query hits of every run that has none kept; returns how many runs."""
    runs = [
        r
        for (r,) in db.execute(
            "select id from runs where id not in (select run_id from query_hits_runs)"
        ).fetchall()
    ]
    for run_id in runs:
        db.execute("delete from query_hits where run_id = ?", [run_id])
        db.execute(QUERY_HITS_SQL, [run_id])
        db.execute("insert into query_hits_runs (run_id) values (?)", [run_id])
    return len(runs)


@migrations(name="0019_query_hits_per_run")
def query_hits_per_run(db: Database) -> None:
    """The numbers each run's results led to, kept for `queries stats` (issue 11)."""
    db.execute(
        "create table if not exists query_hits (run_id integer not null, query text,"
        " engine text, phone text, seen_run integer, flagged integer, new integer)"
    )
    db.execute("create index if not exists idx_query_hits_run_id on query_hits (run_id)")
    db.execute("create table if not exists query_hits_runs (run_id integer primary key)")
    for name, event, runs in _QUERY_HITS_TRIGGERS:
        db.execute(
            f"create trigger if not exists query_hits_{name} after {event}"
            f" begin delete from query_hits_runs where run_id in ({runs}); end"
        )
    keep_query_hits(db)


# What `export --since last` reads (issue 11): the columns of each table that an
# export row, or whether a pair is in an export at all, can depend on. A change to
# any of them stamps the row with the change clock's tick (migration 0020's
# triggers); the other columns (last seen, the strongest sighting's page, query
# and evidence) move on every run and no bundled recipient's delta looks at them.
CHANGE_TRACKED = {
    "site_numbers": (
        "phone",
        "domain",
        "brand",
        "score",
        "risk",
        "reasons",
        "flagged",
        "first_seen",
        "first_run",
        "facts",
    ),
    "numbers": (
        "number_type",
        "country",
        "nl_category",
        "carrier",
        "status",
        "score",
        "risk",
        "reasons",
    ),
    "sites": ("status", "score", "risk", "reasons"),
}


# The columns of a sighting an export row reads.
SIGHTING_SHOWN = (
    "phone",
    "domain",
    "url",
    "entry_url",
    "engine",
    "query",
    "is_ad",
    "rank",
    "seen_at",
    "ip",
    "warc_file",
    "warc_record_id",
    "payload_sha256",
)


@migrations(name="0020_change_tracking")
def change_tracking(db: Database) -> None:
    """Change tracking for `export --since last` at a year's size (issue 11).

    A one-row `change_clock` holds a tick; `changed_at` on site_numbers,
    numbers and sites is the tick at which the row was inserted or one of its
    `CHANGE_TRACKED` columns last changed, kept by triggers whatever code path
    writes. An export that will be recorded moves the clock on before it reads
    (under the write lock, so every change stamped with an earlier tick is
    committed and read) and records that tick (`exports.change_tick`) with a
    hash of the recipient's preset (`exports.preset_hash`): the next delta
    reads only the pairs stamped since. Sightings are only ever added (with a
    larger rowid each: `exports.sightings_mark` is the largest an export could
    read); the rare update of one (the same page again in its run, with a
    stronger verdict) stamps its pair. Rows older than this migration are
    stamped 0, and exports recorded before it have no tick: the first delta
    after the upgrade reads everything, as before.
    """
    db.execute("create table if not exists change_clock (id integer primary key, tick integer)")
    db.execute("insert or ignore into change_clock (id, tick) values (0, 1)")
    for table, columns in CHANGE_TRACKED.items():
        if "changed_at" not in db[table].columns_dict:
            # A constant default: SQLite adds the column without rewriting the rows.
            db.execute(f"alter table [{table}] add column changed_at integer not null default 0")
        stamp = (
            f"update [{table}] set changed_at = (select tick from change_clock where id = 0)"
            " where rowid = new.rowid;"
        )
        db.execute(
            f"create trigger if not exists [{table}_changed_on_insert] after insert on [{table}]"
            f" begin {stamp} end"
        )
        changed = " or ".join(f"old.[{c}] is not new.[{c}]" for c in columns)
        db.execute(
            f"create trigger if not exists [{table}_changed_on_update]"
            f" after update of {', '.join(f'[{c}]' for c in columns)} on [{table}]"
            f" when {changed} begin {stamp} end"
        )
        # Partial: the rows stamped before the migration (0) are never looked up.
        db.execute(
            f"create index if not exists [idx_{table}_changed_at] on [{table}] (changed_at)"
            " where changed_at > 0"
        )
    # What the exports read of a sighting (crawler.storage.reads.sightings_for_export);
    # the end of a run's new verdicts on sightings do not fire it.
    shown = SIGHTING_SHOWN
    db.execute(
        "create trigger if not exists [sightings_changed_on_update]"
        f" after update of {', '.join(f'[{c}]' for c in shown)} on sightings"
        f" when {' or '.join(f'old.[{c}] is not new.[{c}]' for c in shown)}"
        " begin update site_numbers set changed_at = (select tick from change_clock where id = 0)"
        " where phone = new.phone and domain = new.domain; end"
    )
    for column, kind in (("change_tick", int), ("preset_hash", str), ("sightings_mark", int)):
        if column not in db["exports"].columns_dict:
            db["exports"].add_column(column, kind)


@migrations(name="0021_pair_base_verdict")
def pair_base_verdict(db: Database) -> None:
    """A pair's own verdict before its number's raised it (crawler.history, issue 11):
    the end of a run takes it for the pairs whose facts did not change instead of
    scoring them again. Null until the pair is next scored (a run, `rescore`)."""
    have = db["site_numbers"].columns_dict
    for column, kind in (("base_score", int), ("base_signals", str)):
        if column not in have:
            db["site_numbers"].add_column(column, kind)
    # The numbers and sites that stopped being new on the scene since the run
    # before (storage.aged_out_phones): read at the end of every run, without
    # these by a scan of every number and every site.
    for table in ("numbers", "sites"):
        db.execute(
            f"create index if not exists idx_{table}_first_seen_day"
            f" on {table} (julianday(first_seen))"
        )


@migrations(name="0022_fewer_indexes_to_write")
def fewer_indexes_to_write(db: Database) -> None:
    """Three covering indexes of 0017 back to the narrower ones they replaced (issue 11).

    Since 0019 keeps every ended run's query hits, `queries stats` follows a
    result to its page, numbers and their first run only for the runs not kept
    (a few at most), and no longer needs to avoid reading those rows; every
    crawl paid for these indexes instead (wider entries for every page and
    sighting saved, and the sightings' index rewritten with each new verdict at
    the end of a run: about 0.2 s of CPU per 20,000 sightings at a year's size).
    """
    db.execute("create index if not exists [idx_sightings_page_id] on [sightings] ([page_id])")
    db.execute(
        "create index if not exists [idx_pages_run_id_entry_url] on [pages] ([run_id], [entry_url])"
    )
    for old in (
        "idx_sightings_page_id_verdict",
        "idx_pages_run_id_entry_url_id",
        "idx_numbers_phone_first_run",
    ):
        db.execute(f"drop index if exists [{old}]")


# What an export row reads of each table's tracked columns, as one value to compare
# (migration 0023): of a pair's facts only the three the exports read.
def _tracked_state(table: str, row: str) -> str:
    columns = [c for c in CHANGE_TRACKED[table] if c != "facts"]
    values = [f"{row}.[{c}]" for c in columns]
    if "facts" in CHANGE_TRACKED[table]:
        values += [
            f"case when json_valid({row}.facts) then json_extract({row}.facts, '$.{f}') end"
            for f in ("official_site", "third_party", "third_party_site")
        ]
    return f"json_array({', '.join(values)})"


@migrations(name="0023_net_change_stamps")
def net_change_stamps(db: Database) -> None:
    """A change undone before the next export leaves no stamp (issue 11).

    A crawl saves each pair with its page's verdict, and the end of the run
    scores it again, mostly back to what it was: 0020's triggers stamped
    every pair a run saw, so a delta after a run that saw the same pages read
    them all. Now the first change of a row after an export mark keeps the
    row's tracked state and stamp (`change_base`); a later change that brings
    the state back to it gives the row its old stamp again. `mark_changes`
    empties `change_base` (every row in it is then of an older tick).
    """
    db.execute(
        "create table if not exists change_base (tbl text not null, row integer not null,"
        " tick integer, prev integer, state text, primary key (tbl, row)) without rowid"
    )
    for table, columns in CHANGE_TRACKED.items():
        db.execute(f"drop trigger if exists [{table}_changed_on_update]")
        tick = "(select tick from change_clock where id = 0)"
        changed = " or ".join(f"old.[{c}] is not new.[{c}]" for c in columns)
        db.execute(
            f"create trigger [{table}_changed_on_update]"
            f" after update of {', '.join(f'[{c}]' for c in columns)} on [{table}]"
            f" when {changed} begin"
            f" insert or replace into change_base (tbl, row, tick, prev, state)"
            f" select '{table}', old.rowid, {tick}, old.changed_at, {_tracked_state(table, 'old')}"
            f" where not exists (select 1 from change_base b where b.tbl = '{table}'"
            f" and b.row = old.rowid and b.tick = {tick});"
            f" update [{table}] set changed_at = coalesce("
            f"(select b.prev from change_base b where b.tbl = '{table}' and b.row = new.rowid"
            f" and b.tick = {tick} and b.state = {_tracked_state(table, 'new')}), {tick})"
            " where rowid = new.rowid; end"
        )


def _tracked_state_v2(table: str, row: str) -> str:
    """`_tracked_state` reading the pair's facts once (0024's triggers and
    `storage.changes`), not once per fact."""
    columns = [c for c in CHANGE_TRACKED[table] if c != "facts"]
    values = [f"{row}.[{c}]" for c in columns]
    if "facts" in CHANGE_TRACKED[table]:
        paths = ", ".join(f"'$.{f}'" for f in ("official_site", "third_party", "third_party_site"))
        values.append(
            f"case when json_valid({row}.facts) then json_extract({row}.facts, {paths}) end"
        )
    return f"json_array({', '.join(values)})"


@migrations(name="0024_deferred_change_stamps")
def deferred_change_stamps(db: Database) -> None:
    """A change is stamped when an export marks the clock, not when it is written
    (issue 11): 0023 rewrote each wide pair row twice a run (stamped by the save,
    the stamp undone by the end of the run). Now the first change of a row after a
    mark only keeps its tracked state in `change_base`; `mark_changes` stamps the
    rows whose state differs from it, and a delta before that compares them itself
    (`changed_pairs`). Inserts are still stamped at once.
    """
    for table, columns in CHANGE_TRACKED.items():
        db.execute(f"drop trigger if exists [{table}_changed_on_update]")
        changed = " or ".join(f"old.[{c}] is not new.[{c}]" for c in columns)
        db.execute(
            f"create trigger [{table}_changed_on_update]"
            f" after update of {', '.join(f'[{c}]' for c in columns)} on [{table}]"
            f" when {changed} begin"
            " insert into change_base (tbl, row, tick, prev, state)"
            f" select '{table}', old.rowid, (select tick from change_clock where id = 0),"
            f" old.changed_at, {_tracked_state_v2(table, 'old')}"
            f" where not exists (select 1 from change_base b where b.tbl = '{table}'"
            " and b.row = old.rowid); end"
        )


# What the search engines' export (`exports.rows.ad_rows`) reads of an ad and of the
# page it led to: a change to any of them after the row was saved is logged.
AD_SHOWN = (
    "id",
    "run_id",
    "engine",
    "query",
    "is_ad",
    "ad_position",
    "title",
    "display_url",
    "landing_url",
    "seen_at",
    "click_url",
    "url",
    "advertiser_name",
    "advertiser_location",
    "advertiser_url",
)
AD_PAGE_SHOWN = (
    "id",
    "run_id",
    "url",
    "entry_url",
    "domain",
    "ip",
    "warc_file",
    "warc_record_id",
    "payload_sha256",
)


@migrations(name="0025_ad_change_tracking")
def ad_change_tracking(db: Database) -> None:
    """Change tracking for the search engines' `export --since last` (issue 11): an
    item is an ad's (engine, query, landing URL) with every showing of it.

    `ad_changes` logs the (engine, query, landing URL) of every ad saved, and of
    an ad or a page it led to changed after it was saved (before and after the
    change), with the change clock's tick; `change_tracking` records the tick at
    which the log began: an export recorded before it covers nothing. An index
    of the ads by run and landing URL leads from a changed pair's pages to the
    ads that showed it (only ads: a few a run to write).
    """
    db.execute(
        "create table if not exists ad_changes"
        " (tick integer not null, engine text, query text, landing_url text)"
    )
    db.execute("create index if not exists idx_ad_changes_tick on ad_changes (tick)")
    db.execute(
        "create table if not exists change_tracking (what text primary key, since_tick integer)"
    )
    db.execute(
        "insert or ignore into change_tracking (what, since_tick)"
        " select 'ads', tick from change_clock where id = 0"
    )
    db.execute(
        "create index if not exists idx_serp_results_ads on serp_results"
        " (run_id, landing_url) where is_ad = 1"
    )
    tick = "(select tick from change_clock where id = 0)"

    def logged(row: str) -> str:
        return (
            f"insert into ad_changes (tick, engine, query, landing_url)"
            f" select {tick}, {row}.engine, {row}.query, {row}.landing_url where {row}.is_ad = 1;"
        )

    db.execute(
        "create trigger if not exists [serp_results_ad_saved] after insert on serp_results"
        f" when new.is_ad = 1 begin {logged('new')} end"
    )
    have = db["serp_results"].columns_dict
    shown = [c for c in AD_SHOWN if c in have]
    db.execute(
        "create trigger if not exists [serp_results_ad_changed]"
        f" after update of {', '.join(f'[{c}]' for c in shown)} on serp_results"
        f" when (old.is_ad = 1 or new.is_ad = 1)"
        f" and ({' or '.join(f'old.[{c}] is not new.[{c}]' for c in shown)})"
        f" begin {logged('old')} {logged('new')} end"
    )
    have = db["pages"].columns_dict
    shown = [c for c in AD_PAGE_SHOWN if c in have]
    db.execute(
        "create trigger if not exists [pages_ad_changed]"
        f" after update of {', '.join(f'[{c}]' for c in shown)} on pages"
        f" when {' or '.join(f'old.[{c}] is not new.[{c}]' for c in shown)}"
        " begin insert into ad_changes (tick, engine, query, landing_url)"
        f" select {tick}, r.engine, r.query, r.landing_url from serp_results r"
        " where r.is_ad = 1 and r.run_id in (old.run_id, new.run_id)"
        " and r.landing_url in (old.url, old.entry_url, new.url, new.entry_url); end"
    )


@migrations(name="0026_one_index_of_pairs_by_score")
def one_index_of_pairs_by_score(db: Database) -> None:
    """Drop `idx_site_numbers_flagged_score_phone_domain` (issue 11): its columns
    are the first four of `idx_site_numbers_attention` (0015), which serves the
    same reads in the same order, and every pair whose score an end of run moves
    rewrote an entry in both."""
    db.execute("drop index if exists [idx_site_numbers_flagged_score_phone_domain]")


@migrations(name="0027_one_index_of_the_ledger")
def one_index_of_the_ledger(db: Database) -> None:
    """Drop `idx_export_items_recipient_key` (issue 11): every read of the ledger is by
    recipient, format and key, which 0002's index serves, and every item and pair
    an export records wrote an entry in both (a year's ledger: ~100 MB each)."""
    db.execute("drop index if exists [idx_export_items_recipient_key]")
