"""SQLite storage through sqlite-utils: `ensure_db_shape` and `save_*` functions.

No SQL lives in pipelines or the CLI: they call the functions here. Writes are
idempotent upserts keyed on natural ids, so a crawl that is killed and run
again adds no duplicates.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from crawler import stats_keys
from crawler.risk import RISK_ORDER
from crawler.run_status import run_status
from crawler.scoring.facts import Facts
from crawler.storage import schema

# How long a write waits for another writer (a crawl, a migration) before failing.
BUSY_TIMEOUT_MS = 30_000
# Where a page's evidence is (pipelines/evidence.py) and the server's address,
# carried by pages, sightings and site_numbers so every export row can cite it.
EVIDENCE_COLUMNS = {
    "ip": str,
    "warc_file": str,
    "warc_record_id": str,
    "payload_sha256": str,
    # The viewport screenshot of a rendered page (crawler.render.shots; migration
    # 0009_renders_and_screenshots).
    "screenshot": str,
    "screenshot_sha256": str,
}


# SQLite result codes that mean "this database takes no more writes".
_STORAGE_FAILURES = {
    sqlite3.SQLITE_FULL: "disk full",
    sqlite3.SQLITE_IOERR: "disk I/O error",
    sqlite3.SQLITE_READONLY: "database is read-only",
    sqlite3.SQLITE_CANTOPEN: "cannot open the database file",
    sqlite3.SQLITE_CORRUPT: "database file is corrupt",
    sqlite3.SQLITE_NOTADB: "not a SQLite database",
}


def storage_failure(exc: BaseException) -> str | None:
    """Why the database cannot be written, for an error that says so; else None."""
    if isinstance(exc, OSError) and getattr(exc, "errno", None) == 28:  # ENOSPC
        return "disk full"
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return _STORAGE_FAILURES.get(code & 0xFF)
    text = str(exc).lower()
    for words, reason in (
        ("disk is full", "disk full"),
        ("disk i/o", "disk I/O error"),
        ("readonly", "database is read-only"),
        ("read-only", "database is read-only"),
    ):
        if words in text:
            return reason
    return None


def cap_size(db: Database, max_bytes: int) -> None:
    """Let this connection grow the file to `max_bytes` at most (SERPWATCH_DB_MAX_BYTES);
    past that, writes fail as on a full disk."""
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    db.execute(f"PRAGMA max_page_count = {max(1, int(max_bytes) // page_size)}")


def mark_run_failed(db: Database, run_id: int, reason: str) -> None:
    """The smallest record of a run that storage failed under: its status and why."""
    status = run_status({}, "storage_failed", storage_failed=True)  # the one rule: failed
    try:
        db.execute(
            "update runs set status = ?, finished_at = ?, warnings = ? where id = ?",
            [status, now(), json.dumps([f"storage failed: {reason}"]), run_id],
        )
    except sqlite3.Error:
        pass  # nothing fits: the next crawl marks the run interrupted


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_time(at: str | None) -> datetime | None:
    """A stored ISO timestamp as an aware datetime (UTC when it has no zone); None if unreadable."""
    if not at:
        return None
    try:
        t = datetime.fromisoformat(at)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def key(*parts) -> str:
    """Stable short id from natural-key parts."""
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:20]


class DatabaseUnusable(Exception):
    """The database file is missing (for a read command), unreadable, or not a database."""


def open_db(path: Path | str, *, create: bool = True) -> Database:
    """Open (and migrate) the database; `create=False` for commands that only read.

    Raises `DatabaseUnusable` with a one-line reason naming the file when it
    is missing (and `create` is false), cannot be created or opened, or is
    not a SQLite database; `schema.SchemaTooNew` when a newer serpwatch wrote it.
    """
    path = Path(path)
    if not create and not path.exists():
        raise DatabaseUnusable(
            f"{path}: file not found: no such database (check --db; a crawl or"
            " `serpwatch demo` creates one)"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        # WAL lets analysts read while a crawl writes; the busy timeout makes a
        # writer wait for a reader's checkpoint instead of failing.
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        ensure_db_shape(db, label=str(path))
    except (OSError, sqlite3.Error) as exc:
        reason = storage_failure(exc) or (exc.strerror if isinstance(exc, OSError) else str(exc))
        raise DatabaseUnusable(f"{path}: cannot use this database: {reason}") from exc
    return db


def db_file(db: Database) -> Path | None:
    """The file of a database (None in memory)."""
    for _seq, name, file in db.execute("pragma database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def ensure_db_shape(db: Database, *, label: str = "database") -> list[str]:
    """Bring the database to this code's schema (schema.py's migrations); safe on every open.

    Returns the names of the migrations applied; raises `schema.SchemaTooNew`
    for a database written by a newer serpwatch.
    """
    return schema.migrate(db, label=label)


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


def save_render(db: Database, run_id: int, kind: str, row: dict, shots: list[dict]) -> str:
    """Record one render (crawler.render) and its screenshots; return the render's id."""
    rid = key(run_id, kind, row["url"])
    at = now()
    with db.conn:
        record = {**row, "id": rid, "run_id": run_id, "kind": kind, "at": at}
        for name in ("behaviours", "rendered_only", "image_only", "downloads", "refused"):
            record[name] = json.dumps(row.get(name) or [])
        db["renders"].upsert(record, pk="id", alter=True)
        for shot in shots:
            db["screenshots"].upsert(
                {
                    **shot,
                    "id": key(run_id, shot["warc_record_id"]),
                    "run_id": run_id,
                    "taken_at": at,
                },
                pk="id",
                alter=True,
            )
    return rid


# -- brand checks (crawler/brandcheck.py) -------------------------------------------


def save_brand_check(db: Database, check: dict, pages: list[dict], numbers: list[dict]) -> int:
    """One `brands check`: its pages and the state of every number, in one transaction."""
    with db.conn:
        check_id = db["brand_checks"].insert(check).last_pk
        for page in pages:
            db["brand_check_pages"].insert({**page, "check_id": check_id})
        for number in numbers:
            db["brand_check_numbers"].insert({**number, "check_id": check_id})
    return check_id


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


def record_retirement(db: Database, query: str, key: str, action: str, reason: str) -> dict:
    """Keep a retire or restore action on a query text; the latest one counts."""
    row = {"query": query, "query_key": key, "action": action, "reason": reason, "at": now()}
    db["query_retirements"].insert(row)
    return row


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


# -- related searches (engines' "related searches" and "people also ask") -----------


def save_related(db: Database, run_id: int, row: dict) -> None:
    """The related-search texts of one result page (`row["texts"]`: (kind, text) pairs;
    none is fine)."""
    seen = row.get("seen_at") or now()
    records = [
        {
            "id": key(run_id, row["engine"], row["query"], kind, text),
            "run_id": run_id,
            "engine": row["engine"],
            "query": row["query"],
            "serp_url": row.get("serp_url"),
            "kind": kind,
            "text": text,
            "position": i + 1,
            "seen_at": seen,
        }
        for i, (kind, text) in enumerate(row["texts"])
    ]
    db["related_searches"].upsert_all(records, pk="id")


def related_searches(db: Database) -> list[dict]:
    """Every related-search text stored: text, kind, engine, query, run_id, seen_at."""
    return list(
        db["related_searches"].rows_where(
            select="text, kind, engine, query, run_id, seen_at", order_by="run_id, id"
        )
    )


# How a page was reached and, for ads, the click string and the advertiser:
# carried by pages, sightings and site_numbers for the exports (issue 16).
_AD_COLUMNS = ("reached_via", "click_url", "advertiser_name", "advertiser_location")


def save_serp_listing(db: Database, run_id: int, row: dict) -> str:
    """Store one local or call card of a result page."""
    rid = key(run_id, row["engine"], row["query"], row.get("page", 1), row["kind"], row["position"])
    record = {k: v for k, v in row.items() if k not in ("is_ad", "rank", "ad_position")}
    record.update({"id": rid, "run_id": run_id, "phones": json.dumps(row.get("phones") or [])})
    record.setdefault("seen_at", now())
    db["serp_listings"].upsert(record, pk="id")
    return rid


def save_card(db: Database, run_id: int, row: dict, verdicts: list[dict]) -> str:
    """Store a local or call card without a website, and its numbers' verdicts.

    Its numbers are sightings of a pair without a site: `domain` "" and `url`
    the card's listing on the engine (`row["listing_url"]`); `page_id` names the
    card's serp_listings row, `reached_via` is "card" (nothing was fetched), and
    the evidence is the card as stored, not a WARC record (issue 16)."""
    row = dict(row)
    listing = row.pop("listing_url")
    seen = row.setdefault("seen_at", now())
    is_call = row["kind"] == "call"
    page = {
        "url": listing,
        "entry_url": row.get("serp_url") or listing,
        "domain": "",
        "brand": row.get("brand"),
        "engine": row["engine"],
        "query": row["query"],
        "is_ad": is_call,
        "rank": row.get("position"),
        "ad_position": row.get("position") if is_call else None,
        "engines": [row["engine"]],
        "reached_via": "card",
        **{c: row.get(c) or "" for c in _AD_COLUMNS if c != "reached_via"},
    }
    with db.conn:
        card_id = save_serp_listing(db, run_id, row)
        _touch(db, "sites", "domain", "", run_id, seen, {})
        for v in verdicts:
            save_sighting(db, run_id, card_id, page, v, seen)
    return card_id


def save_unparsed_page(db: Database, run_id: int, row: dict) -> str:
    """Keep a result page that no parser recognised: its bytes, engine, query, time."""
    body = row.get("body") or b""
    digest = hashlib.sha256(body).hexdigest()
    rid = key(run_id, row["engine"], row["url"], digest)
    record = {**row, "id": rid, "run_id": run_id, "size": len(body), "sha256": digest}
    record.setdefault("seen_at", now())
    db["unparsed_pages"].upsert(record, pk="id")
    return rid


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


def save_offered_download(db: Database, run_id: int, row: dict) -> str:
    """Record that a page offered an executable or archive (it was not downloaded)."""
    rid = key(run_id, row["url"])
    record = {**row, "id": rid, "run_id": run_id, "is_ad": int(bool(row.get("is_ad")))}
    record.setdefault("seen_at", now())
    db["downloads"].upsert(record, pk="id")
    return rid


def start_run(db: Database, profile: str, job: str | None = None) -> int:
    """A new run; `job` is the Scrapyd job id when Scrapyd started the crawl."""
    mark_interrupted(db)
    return (
        db["runs"]
        .insert(
            {
                "profile": profile,
                "started_at": now(),
                "status": "running",
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "job": job,
            },
        )
        .last_pk
    )


def save_progress(db: Database, run_id: int, progress: dict) -> None:
    """A running run's progress (crawler.progress), for `serpwatch runs` and Datasette."""
    db["runs"].update(
        run_id, {"progress": json.dumps(progress, sort_keys=True), "progress_at": now()}
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def mark_interrupted(db: Database) -> list[int]:
    """Runs left "running" by a crawl that died (SIGKILL, power loss) on this host.

    Only this host's runs can be judged: another worker sharing the database
    may still be crawling.
    """
    host = socket.gethostname()
    dead = [
        row["id"]
        for row in db["runs"].rows_where("status = 'running' and host = ?", [host])
        if row["pid"] and not _alive(row["pid"])
    ]
    for run_id in dead:
        db["runs"].update(run_id, {"status": "interrupted"})
    return dead


def finish_run(
    db: Database,
    run_id: int,
    stats: dict,
    *,
    status: str = "finished",
    blocked: dict | None = None,
    warnings: list[str] | None = None,
    outcomes: dict | None = None,
    counts: dict | None = None,
) -> None:
    db["runs"].update(
        run_id,
        {
            "finished_at": now(),
            "status": status,
            "stats": json.dumps(stats, sort_keys=True, default=str),
            "blocked_engines": json.dumps(blocked or {}, sort_keys=True),
            "warnings": json.dumps(warnings or []),
            "engine_outcomes": json.dumps(outcomes or {}, sort_keys=True),
            "counts": json.dumps(counts or {}, sort_keys=True),
        },
    )


# Saving is on the crawl's hot path (thousands of rows a minute): plain SQL with
# statements cached per column set, not sqlite-utils' upsert, which reads the
# table's schema on every call.
_UPSERT_SQL: dict[tuple, str] = {}


def _upsert(db: Database, table: str, record: dict, pk: str, keep: tuple = ()) -> None:
    """Insert `record`, or update the row with its `pk`: every given column but `keep`."""
    cols = tuple(record)
    sql = _UPSERT_SQL.get((table, cols, pk, keep))
    if sql is None:
        names = ", ".join(f"[{c}]" for c in cols)
        marks = ", ".join("?" for _ in cols)
        sets = ", ".join(f"[{c}] = excluded.[{c}]" for c in cols if c != pk and c not in keep)
        sql = f"insert into [{table}] ({names}) values ({marks}) on conflict([{pk}]) do " + (
            f"update set {sets}" if sets else "nothing"
        )
        _UPSERT_SQL[(table, cols, pk, keep)] = sql
    db.conn.execute(sql, [record[c] for c in cols])


# -- one commit for many saves (pipelines/store.py batches the crawl's items) --------
#
# A commit costs about a millisecond (bench/throughput.py), more than storing a
# page's rows: the store pipeline keeps the pages and results of the last 50 ms
# (SERPWATCH_STORE_BATCH_SECONDS) in memory and stores them with `save_many`,
# one transaction for all of them.
# Each save runs plain inside it; when one fails, the batch is rolled back and run
# again with each save in a savepoint of its own, so that one is undone alone
# (a savepoint costs two more statements per save: a tenth of storing a page).


def _transaction(db: Database):
    """The transaction of one save: its own commit, or its part of `save_many`'s."""
    batch = getattr(db, "_serpwatch_batch", None)
    if batch is None:
        return db.conn
    return _savepoint(db) if batch == "savepoints" else nullcontext()


@contextmanager
def _savepoint(db: Database) -> Iterator[None]:
    db.conn.execute("savepoint one_save")
    try:
        yield
    except BaseException:
        try:
            db.conn.execute("rollback to one_save")
            db.conn.execute("release one_save")
        except sqlite3.Error:
            pass  # the whole transaction is rolled back by save_many
        raise
    db.conn.execute("release one_save")


class _SaveFailed(Exception):
    """A save of a batch run without savepoints failed: run it again with them."""


def save_many(db: Database, saves: list[tuple[Callable, tuple]]) -> list[tuple[int, Exception]]:
    """Run `saves` (a save function such as `save_page` or `save_serp_result` and its
    arguments after `db`) in one transaction: one commit for all.

    A save that fails with anything but a storage failure is undone alone and
    returned with its index; the others are committed. A storage failure
    (`storage_failure`: disk full, I/O error...) rolls back the whole batch and
    is raised: nothing of it is stored.
    """
    if not saves:
        return []
    if db.conn.in_transaction:  # begun before: a save that fails cannot be run again
        return _run_batch(db, saves, "savepoints")
    try:
        return _run_batch(db, saves, "plain")
    except _SaveFailed:
        return _run_batch(db, saves, "savepoints")


def _run_batch(db: Database, saves, mode: str) -> list[tuple[int, Exception]]:
    errors: list[tuple[int, Exception]] = []
    conn = db.conn
    db._serpwatch_batch = mode
    try:
        if not conn.in_transaction:
            # The write lock at once: no other writer can slip in between the reads
            # (a sighting's score before) and the writes of a save.
            conn.execute("begin immediate")
        try:
            for i, (save, args) in enumerate(saves):
                try:
                    save(db, *args)
                except Exception as exc:
                    if storage_failure(exc) is not None:
                        raise
                    if mode == "plain":
                        raise _SaveFailed from exc
                    errors.append((i, exc))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    finally:
        db._serpwatch_batch = None
    return errors


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# Facts that are empty (None, False, [], {}) take no room: Facts.from_dict gives
# them their defaults (tests/test_storage_scale.py checks the round trip).
def _empty(value) -> bool:
    return value is None or value is False or (type(value) in (list, dict) and not value)


def facts_json(facts: dict | Facts | None) -> str | None:
    """A verdict's facts (a dict or `Facts`) as compact JSON: empty values left out,
    keys sorted."""
    if not facts:
        return None
    if isinstance(facts, Facts):
        # A shallow read, not dataclasses.asdict: its deep copy of every value was
        # most of the end-of-run step's time, and JSON copies anyway.
        keep = {
            name: value
            for name in _FACTS_FIELDS
            if not _empty(value := getattr(facts, name)) or name in _ALWAYS_KEPT
        }
    else:
        keep = {k: v for k, v in facts.items() if k in _ALWAYS_KEPT or not _empty(v)}
    return json.dumps(keep, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_ALWAYS_KEPT = frozenset(("phone", "brand", "domain"))


# The `Facts` fields SQL reads from a `facts` JSON column (sightings, site_numbers).
# `facts_field` is the only place that turns a field into a JSON path;
# tests/test_storage_sql.py checks these names against the dataclass, so a
# renamed field fails there instead of reading null here.
_FACTS_FIELDS = tuple(f.name for f in fields(Facts))
FACTS_READ_BY_SQL = (
    "official_site",
    "brand_listing",
    "official_for",
    "is_fax",
    "number_status",
    "site_status",
    "third_party",
    "third_party_site",
)


def facts_field(name: str, column: str = "facts") -> str:
    """SQL for one `Facts` field of a facts JSON column: `json_extract(facts, '$.name')`."""
    if name not in FACTS_READ_BY_SQL or name not in _FACTS_FIELDS:
        raise KeyError(f"{name!r} is not a Facts field read by SQL (FACTS_READ_BY_SQL)")
    return f"json_extract({column}, '$.{name}')"


def save_serp_result(db: Database, run_id: int, row: dict) -> str:
    """Store one result of a result page; `row` has the SerpResult fields plus context."""
    # Ad positions restart on each result page, so the page is part of the key.
    rid = key(
        run_id,
        row["engine"],
        row["query"],
        row.get("page", 1),
        row["is_ad"],
        row.get("rank"),
        row.get("ad_position"),
    )
    # Cards' own fields (position, address) live in serp_listings.
    record = {k: v for k, v in row.items() if k not in ("position", "address")}
    record.update({"id": rid, "run_id": run_id, "is_ad": int(bool(row["is_ad"]))})
    record["phones"] = _json(row.get("phones") or [])
    record.setdefault("seen_at", now())
    with _transaction(db):
        _upsert(db, "serp_results", record, "id")
    return rid


_TOUCH_SQL: dict[tuple, str] = {}


def _touch(db: Database, table: str, pk: str, value: str, run_id: int, seen: str, extra: dict):
    """Upsert an entity keeping its first sighting and moving its last one."""
    record = {
        pk: value,
        **extra,
        "last_seen": seen,
        "last_run": run_id,
        "first_seen": seen,
        "first_run": run_id,
        "status": "new",
    }
    _upsert(db, table, record, pk, keep=("first_seen", "first_run", "status"))


def save_page(db: Database, run_id: int, page: dict, verdicts: list[dict]) -> str:
    """Store a fetched landing page, its numbers and their verdicts in one transaction.

    `page` holds url, entry_url, domain, status, title and the SERP context;
    each verdict holds the PhoneHit fields plus official, score, risk, reasons.
    """
    seen = page.get("fetched_at") or now()
    page_id = key(run_id, page["url"])
    with _transaction(db):
        record = {k: v for k, v in page.items() if k != "html"}
        record.update(
            {
                "id": page_id,
                "run_id": run_id,
                "is_ad": int(bool(page.get("is_ad"))),
                "redirects": _json(page.get("redirects") or []),
                "phones": len(verdicts),
                "fetched_at": seen,
                # Every engine that showed the page for the query, and each showing.
                "engines": _json(_engines(page)),
                "appearances": _json(page.get("appearances") or []),
            }
        )
        _upsert(db, "pages", record, "id")
        _touch(db, "sites", "domain", page["domain"], run_id, seen, {})
        for v in verdicts:
            save_sighting(db, run_id, page_id, page, v, seen)
    return page_id


def _engines(page: dict) -> list[str]:
    return list(page.get("engines") or ([page["engine"]] if page.get("engine") else []))


def save_sighting(db: Database, run_id: int, page_id: str, page: dict, v: dict, seen: str):
    phone = v["phone"]
    v = {**v, "facts_json": facts_json(v.get("facts"))}  # once for the sighting and the pair
    sighting_id = key(run_id, page["url"], phone)
    before = db.conn.execute("select score from sightings where id = ?", [sighting_id]).fetchone()
    if before is None or (before[0] or 0) < v.get("score", 0):
        _save_sighting_row(db, sighting_id, run_id, page_id, page, v, seen)
    # else: the same page fetched again in this run (for another query) with a
    # verdict no stronger: keep the first fetch, as the pair does, so that
    # every export cites the same WARC record for it.
    _save_pair(db, run_id, page, v, seen)


def _shown(page: dict, v: dict) -> dict:
    """What a sighting and its pair both record: where the number was shown, how the
    page was reached, its evidence, and the verdict with the facts behind it."""
    return {
        "domain": page["domain"],
        "phone": v["phone"],
        "url": page["url"],
        "entry_url": page.get("entry_url") or page["url"],
        "brand": page.get("brand"),
        "engine": page.get("engine"),
        "query": page.get("query"),
        "is_ad": int(bool(page.get("is_ad"))),
        "rank": page.get("rank") if not page.get("is_ad") else page.get("ad_position"),
        "score": v.get("score", 0),
        "risk": v.get("risk"),
        "reasons": _json(v.get("reasons", [])),
        "flagged": int(bool(v.get("flagged"))),
        **{c: page.get(c) for c in _AD_COLUMNS},
        **{c: page.get(c) for c in EVIDENCE_COLUMNS},
        # The verdict and the facts behind it: crawler.history scores again at
        # the end of the run with what only the whole database knows.
        "facts": v["facts_json"] if "facts_json" in v else facts_json(v.get("facts")),
    }


def _save_sighting_row(db, sighting_id, run_id, page_id, page, v, seen) -> None:
    _upsert(
        db,
        "sightings",
        {
            "id": sighting_id,
            "run_id": run_id,
            "page_id": page_id,
            "raw": v.get("raw", ""),
            "source": v.get("source", ""),
            "is_fax": int(bool(v.get("is_fax"))),
            "official": int(bool(v.get("official"))),
            "seen_at": seen,
            "engines": _json(_engines(page)),
            **_shown(page, v),
        },
        "id",
    )


def _save_pair(db: Database, run_id: int, page: dict, v: dict, seen: str) -> None:
    phone = v["phone"]
    _touch(
        db,
        "numbers",
        "phone",
        phone,
        run_id,
        seen,
        {
            "number_type": v.get("number_type"),
            "country": v.get("country"),
            "nl_category": v.get("nl_category"),
            "carrier": v.get("carrier"),
            "official_for": v.get("official_for"),
        },
    )
    pair_id = key(page["domain"], phone)
    pair = {"id": pair_id, **_shown(page, v), "updated_at": seen}
    columns = ("last_run", "score", "engines", "is_ad", "brand", "query", "url")
    found = db.conn.execute(
        f"select {', '.join(columns)} from site_numbers where id = ?", [pair_id]
    ).fetchone()
    existing = dict(zip(columns, found, strict=True)) if found else None
    if existing is None:
        pair.update({"first_seen": seen, "first_run": run_id})
    elif existing["last_run"] == run_id and _evidence_rank(existing) <= _evidence_rank(pair):
        # Seen again in this run with weaker evidence (another query, or
        # organic after an ad): keep the strongest evidence.
        pair = {"id": pair_id}
    engines = _engines(page)
    if existing is not None and existing["last_run"] == run_id:
        # Every engine that showed the pair in this run, whichever evidence is kept.
        before = json.loads(existing.get("engines") or "[]")
        engines = before + [e for e in engines if e not in before]
    pair.update({"last_seen": seen, "last_run": run_id, "engines": _json(engines)})
    _upsert(db, "site_numbers", pair, "id")


def _evidence_rank(pair: dict) -> tuple:
    """Order of the evidence kept for a pair seen several times in one run:
    the higher score, then an ad over an organic result, then a fixed order on
    brand, query and URL, so the kept row never depends on which page was
    stored first (pages arrive in a different order from run to run)."""
    return (
        -(pair["score"] or 0),
        -(pair["is_ad"] or 0),
        pair["brand"] or "",
        pair["query"] or "",
        pair["url"] or "",
    )


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
):
    """The rows behind `flagged`, one at a time as read (nothing held in memory),
    highest score first, then by number and site: `site_numbers` columns plus the
    number's and site's. With `details`, also the page's title (`page_title`) and
    the facts `official_site`, `third_party`, `third_party_site`; with
    `seen_in_run`, only the pairs that run saw; `brief`: only the pair's columns an
    export record (`export_record`) and its runs need, not the facts and evidence.
    `by_site`: ordered by site first (then score, number), each site's pairs together."""
    extra, join = _FLAGGED_EXTRA, ""
    pair = ", ".join(f"p.{c}" for c in _BRIEF) if brief else "p.*"
    if details:
        extra += ", g.title as page_title" + "".join(
            f", {facts_field(f, 'p.facts')} as {f}" for f in _EXPORT_FACTS
        )
        join = "left join pages g on g.run_id = p.last_run and g.url = p.url"
    # The flagged pairs read in the order of their index (no sort of wide rows: the
    # first row comes at once), merged with the few pairs dismissed by an analyst.
    # One WHERE with an OR of both made SQLite read and sort every pair first.
    by_score = run_id is None and seen_in_run is None and not by_site
    arms = [("p.flagged = 1", _BY_SCORE if by_score else "")]
    if include_dismissed:
        arms.append((_DISMISSED, ""))
    selects, params = [], []
    for base, indexed in arms:
        where, more = _flagged_where(min_risk, run_id, False, by, seen_in_run, base=base)
        selects.append(
            f"""select {pair}, {extra}
                from site_numbers p {indexed}
                join numbers n on n.phone = p.phone
                join sites s on s.domain = p.domain
                {join}
                where {where}"""
        )
        params += more
    # A compound SELECT orders by its result columns; one SELECT by the pair's.
    columns = ("domain", "score desc", "phone") if by_site else ("score desc", "phone", "domain")
    prefix = "" if len(selects) > 1 else "p."
    order = ", ".join(prefix + c for c in columns)
    cursor = db.execute(" union all ".join(selects) + f" order by {order}", params)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


_BY_SCORE = "indexed by idx_site_numbers_flagged_score_phone_domain"
# Not flagged only because an analyst dismissed the number or the site (schema 0015
# indexes the statuses).
_DISMISSED = """coalesce(p.flagged, 0) != 1 and p.risk is not null
    and (p.phone in (select phone from numbers where status = 'dismissed')
         or p.domain in (select domain from sites where status = 'dismissed'))"""


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
    whole = limit is None or limit > _ATTENTION_PAGE_MAX
    # A page: its order from the covering indexes, then only its rows read whole.
    # Every pair (--json): one pass over the rows, sorted by SQLite.
    columns = f"{pair}, {_FLAGGED_EXTRA}" if whole else "p.rowid as row"
    joins = (
        "join numbers n on n.phone = p.phone join sites s on s.domain = p.domain"
        if whole
        else "indexed by idx_site_numbers_attention"
    )
    order = f"""
        with back as (
            select key from changes where run_id = :last and kind = 'pair' and event = 'back')
        select {columns}, {_ATTENTION_GROUP} as since_group,
               p.domain || ' ' || p.phone in back as back
        from site_numbers p {joins}
        where {where}
          and p.phone not in {decided["numbers", "dismissed"]}
          and p.domain not in {decided["sites", "dismissed"]}
        order by (p.phone in {decided["numbers", "confirmed"]}
                  or p.domain in {decided["sites", "confirmed"]}),
                 since_group, p.score desc, p.phone, p.domain
        limit :limit"""
    cursor = db.execute(order, {**named, "last": last_run, "limit": -1 if limit is None else limit})
    if whole:
        names = [d[0] for d in cursor.description]
        for r in cursor:
            yield dict(zip(names, r, strict=True))
        return
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


# Above this many pairs `attention_rows` reads them in one pass instead of by rowid.
_ATTENTION_PAGE_MAX = 5000


def attention_count(db: Database, min_risk: str = "low") -> int:
    """How many pairs `attention_rows` gives without a limit."""
    where, params = _flagged_where(min_risk, None, False, "pair")
    (n,) = db.execute(
        f"""select count(*) from site_numbers p indexed by idx_site_numbers_attention
            where {where}
              and p.phone not in (select phone from numbers where status = 'dismissed')
              and p.domain not in (select domain from sites where status = 'dismissed')""",
        params,
    ).fetchone()
    return n


def flagged_number_count(db: Database, min_risk: str = "low") -> int:
    """How many numbers have a flagged pair that no analyst dismissed."""
    where, params = _flagged_where(min_risk, None, False, "pair")
    # From the covering index of `flags` (schema 0015), not the wide pair rows.
    (n,) = db.execute(
        f"""select count(distinct p.phone) from site_numbers p
            indexed by idx_site_numbers_attention
            where {where}
              and p.phone not in (select phone from numbers where status = 'dismissed')
              and p.domain not in (select domain from sites where status = 'dismissed')""",
        params,
    ).fetchone()
    return n


# Facts the exports read: a brand's own site (not the partner for a takedown) and
# known legitimate third parties (never an indicator).
_EXPORT_FACTS = ("official_site", "third_party", "third_party_site")


@functools.lru_cache(maxsize=8192)
def _reasons_tuple(text: str | None) -> tuple:
    return tuple(json.loads(text or "[]"))


def _reasons_list(text: str | None) -> list:
    """Stored reasons (JSON) as a new list; a number's or site's reasons repeat on
    each of its pairs, so they are decoded once."""
    return list(_reasons_tuple(text))


def export_record(r: dict) -> dict:
    """The DESIGN.md export record for one (site, number) pair."""
    # A dismissal of the number or the site ends the flag, whatever else was confirmed.
    statuses = (r.get("number_status"), r.get("site_status"))
    status = next((s for s in ("dismissed", "confirmed") if s in statuses), "new")
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
        "reasons": _reasons_list(r["reasons"]),
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
        "number_reasons": _reasons_list(r.get("number_reasons")),
        "site_score": r.get("site_score"),
        "site_risk": r.get("site_risk"),
        "site_reasons": _reasons_list(r.get("site_reasons")),
        # A picture of the page, where one was taken (crawler.render.shots).
        "screenshot": json.loads(r["screenshot"]) if r.get("screenshot") else None,
        "screenshot_sha256": r.get("screenshot_sha256"),
    }


# An analyst's action and the status it gives (crawler.triage records them).
DECISION_STATUS = {"confirm": "confirmed", "dismiss": "dismissed", "reset": "new"}


def latest_decisions(db: Database) -> dict[str, dict]:
    """key → the latest triage decision (confirm or dismiss); a reset clears it."""
    out: dict[str, dict] = {}
    if "triage" not in db.table_names():
        return out
    for row in db.execute("select key, action, note, at from triage order by at, id").fetchall():
        key, action, note, at = row
        if action == "reset":
            out.pop(key, None)
        else:
            out[key] = {"action": action, "status": DECISION_STATUS[action], "note": note, "at": at}
    return out


def record_export(db: Database, export: dict, items) -> int:
    """The exports ledger: one `exports` row and one `export_items` row per (key,
    fingerprint) in `items`, in one transaction; returns the export's id."""
    with db.conn:
        export_id = db["exports"].insert(export).last_pk
        db.conn.executemany(
            "insert into export_items (export_id, recipient, format, key, fingerprint)"
            " values (?, ?, ?, ?, ?)",
            ((export_id, export["recipient"], export["format"], k, fp) for k, fp in items),
        )
    return export_id


def sent_fingerprints(db: Database, recipient: str, fmt: str) -> list[tuple[str, str]]:
    """(key, fingerprint) of each item as last sent to `recipient` in `fmt`."""
    return db.execute(
        """
        select key, fingerprint from export_items
        where id in (
            select max(i.id) from export_items i join exports e on e.id = i.export_id
            where e.recipient = ? and e.format = ? group by i.key
        )
        """,
        [recipient, fmt],
    ).fetchall()


def _has(db: Database, table: str, column: str) -> bool:
    return table in db.table_names() and column in db[table].columns_dict


def run_phones_and_domains(db: Database, run_id: int) -> set[str]:
    """Every number (E.164) and site (domain) a run saw: what its end re-scores."""
    rows = db.execute(
        "select distinct phone, domain from sightings where run_id = ?", [run_id]
    ).fetchall()
    return {p for p, _ in rows} | {d for _, d in rows}


def run_pair_counts(db: Database, run_id: int) -> dict:
    """The run's (site, number) pairs, official numbers and faxes left out: how many are
    flagged, and how many an analyst confirmed or dismissed (the number or the site)."""
    status = (
        f"(coalesce({facts_field('number_status')}, ''),"
        f" coalesce({facts_field('site_status')}, ''))"
    )
    flagged, dismissed, confirmed = db.execute(
        f"""select count(case when flagged = 1 then 1 end),
                   count(case when 'dismissed' in {status} then 1 end),
                   count(case when 'confirmed' in {status} then 1 end)
            from site_numbers
            where last_run = ? and facts is not null
              and {facts_field("official_for")} is null
              and not coalesce({facts_field("is_fax")}, 0)""",
        [run_id],
    ).fetchone()
    return {"flagged_pairs": flagged, "dismissed_pairs": dismissed, "confirmed_pairs": confirmed}


def runs(db: Database) -> list[dict]:
    return list(db["runs"].rows_where(order_by="id desc"))


def get_run(db: Database, run_id: int) -> dict:
    return db["runs"].get(run_id)


def save_query_outcome(db: Database, run_id: int, row: dict) -> None:
    """How one query went on one engine (crawler.items.QueryOutcome as a dict)."""
    db["run_queries"].upsert(
        {
            "id": key(run_id, row["engine"], row["query"]),
            "run_id": run_id,
            "engine": row["engine"],
            "query": row["query"],
            "brand": row.get("brand"),
            "outcome": row["outcome"],
            "serp_pages": row.get("serp_pages", 0),
            "results": row.get("results", 0),
            "detail": row.get("detail", ""),
        },
        pk="id",
    )


# Run statuses: finished (every engine answered every query), partial (some
# engines or queries failed or were blocked), blocked (every engine blocked),
# failed (no engine answered, or storage failed), interrupted (a signal, or the
# process died), running.


@dataclass(frozen=True)
class RunSummary:
    """How a run ended, as `finish_crawl` recorded it in `runs` (its JSON decoded once)."""

    status: str | None  # finished | partial | blocked | failed | interrupted | running
    blocked: dict[str, str]  # engine: why it was blocked
    warnings: list[str]
    engines: dict[str, dict]  # engine: outcome and counts (`engine_outcomes`)
    counts: dict | None  # `run_counts`; None for a run recorded before they were kept
    stats: dict  # the crawl's stats as kept

    @classmethod
    def from_row(cls, run: dict) -> RunSummary:
        return cls(
            status=run.get("status"),
            blocked=json.loads(run.get("blocked_engines") or "{}"),
            warnings=json.loads(run.get("warnings") or "[]"),
            engines=json.loads(run.get("engine_outcomes") or "{}"),
            counts=json.loads(run.get("counts") or "null"),
            stats=json.loads(run.get("stats") or "{}"),
        )


def engine_outcomes(db: Database, run_id: int, stats: dict) -> dict[str, dict]:
    """Per engine: answered | partial | failed | blocked | unfinished, with counts and why."""
    engines = list(stats.get(stats_keys.ENGINES) or [])
    empty = {"answered": 0, "failed": 0, "blocked": 0, "skipped": 0, "serp_pages": 0}
    per: dict[str, dict] = {e: {**empty, "results": 0} for e in engines}
    for engine, outcome, n, pages, results in db.execute(
        """select engine, outcome, count(*), sum(serp_pages), sum(results) from run_queries
           where run_id = ? group by engine, outcome""",
        [run_id],
    ).fetchall():
        row = per.setdefault(engine, {**empty, "results": 0})
        row[outcome] = row.get(outcome, 0) + n
        row["serp_pages"] += pages or 0
        row["results"] += results or 0
    for engine, row in per.items():
        done = row["answered"] + row["failed"] + row["blocked"] + row["skipped"]
        row["queries"] = stats.get(stats_keys.QUERIES) or done
        if stats.get(stats_keys.BLOCKED(engine)):
            row["outcome"] = "blocked"
            row["detail"] = stats.get(stats_keys.BLOCKED_REASON(engine), "")
        elif row["answered"] and row["answered"] + row["skipped"] >= row["queries"]:
            # Queries the run's own budget refused were never asked: not the engine's fault.
            row["outcome"] = "answered"
        elif row["answered"]:
            row["outcome"] = "partial"
        elif row["failed"]:
            row["outcome"] = "failed"
        else:
            row["outcome"] = "unfinished"
        if row["failed"] and "detail" not in row:
            row["detail"] = stats.get(stats_keys.SERP_FAILED_REASON(engine), "")
    return per


def outcome_line(engine: str, o: dict) -> str:
    """One line per engine for the crawl's summary and `serpwatch runs`."""
    asked = f"{o['answered']} of {o['queries']} queries answered"
    if o.get("skipped"):
        asked += f", {o['skipped']} skipped by the query budget"
    pages = f"{o['serp_pages']} result pages, {o['results']} results"
    why = f": {o['detail']}" if o.get("detail") else ""
    word = {
        "answered": "answered",
        "partial": "PARTIAL",
        "failed": "FAILED",
        "blocked": "BLOCKED",
        "unfinished": "UNFINISHED",
    }.get(o["outcome"], o["outcome"])
    return f"engine {engine}: {word}, {asked} ({pages}){why}"


def run_counts(db: Database, run_id: int, stats: dict) -> dict:
    """What a run stored, counted once at its end (so `serpwatch runs` stays fast)."""
    (pages,) = db.execute("select count(*) from pages where run_id = ?", [run_id]).fetchone()
    (sightings, flagged) = db.execute(
        "select count(*), count(distinct case when flagged = 1 then domain || ' ' || phone end)"
        " from sightings where run_id = ?",
        [run_id],
    ).fetchone()
    return {
        "serp_pages": stats.get(stats_keys.SERP_PAGES.total, 0),
        "landing_pages": pages,
        "sightings": sightings,
        "flagged_pairs": flagged,
        "lost_items": stats.get(stats_keys.STORAGE_LOST.total, 0),
    }


def finish_crawl(db: Database, run_id: int, stats: dict) -> RunSummary:
    """Close a run from Scrapy's stats: what was blocked, what came back empty."""
    blocked = {
        engine: stats.get(stats_keys.BLOCKED_REASON(engine), "")
        for engine in stats_keys.BLOCKED.parts(stats)
    }
    engines = stats.get(stats_keys.ENGINES) or []
    # A page no parser recognised is a warning of its own, never "no results".
    unrecognised = {e: stats.get(stats_keys.UNRECOGNISED(e), 0) for e in engines}
    warnings = [
        f"{e} returned no results for any query"
        for e in engines
        if e not in blocked
        and not unrecognised[e]
        and not stats.get(stats_keys.RESULTS(e))
        and not stats.get(stats_keys.LISTINGS(e))
    ]
    warnings += [
        f"{e}: {n} result pages not recognised (changed layout?);"
        " kept for `serpwatch serp unparsed`"
        for e, n in unrecognised.items()
        if n
    ]
    warnings += [
        f"{e}: {stats[stats_keys.SERP_FAILED(e)]} result pages got no answer"
        f" (last: {stats.get(stats_keys.SERP_FAILED_REASON(e), '?')})"
        for e in engines
        if stats.get(stats_keys.SERP_FAILED(e))
    ]
    keep = {
        k: v
        for k, v in stats.items()
        if k.startswith((stats_keys.PREFIX, "downloader/response_status_count", "item_"))
        or k.startswith(("retry/", "httperror/", "downloader/exception_type_count/"))
        or k in ("finish_reason", "log_count/ERROR", "elapsed_time_seconds")
    }
    for offer in stats.get(stats_keys.OFFERED_DOWNLOAD_LIST) or []:
        save_offered_download(db, run_id, offer)
    outcomes = engine_outcomes(db, run_id, stats)
    status = run_status(
        outcomes,
        stats.get("finish_reason", "finished"),
        storage_failed=bool(stats.get(stats_keys.STORAGE_FAILED)),
    )
    if stats.get(stats_keys.STORAGE_FAILED):
        warnings.append(
            f"storage failed ({stats[stats_keys.STORAGE_FAILED]}):"
            f" {stats.get(stats_keys.STORAGE_LOST.total, 0)} item(s) could not be stored"
        )
    counts = run_counts(db, run_id, stats)
    finish_run(
        db,
        run_id,
        keep,
        status=status,
        blocked=blocked,
        warnings=warnings,
        outcomes=outcomes,
        counts=counts,
    )
    # No PRAGMA optimize here: with analysis_limit its sampled statistics misled the
    # planner at a year's size (`history KEY` 1.3 s -> 5.4 s, bench/storage.py), and
    # without it, it may ANALYZE gigabytes at the end of a run. Migration 0012's
    # ANALYZE stands.
    return RunSummary(
        status=status,
        blocked=blocked,
        warnings=warnings,
        engines=outcomes,
        counts=counts,
        stats=keep,
    )


# ---------------------------------------------------------------------------
# History's presence bookkeeping (crawler.history): what a run covered, who is
# present, who is gone. A key is a number (E.164), a site (domain) or a pair
# ("domain phone"); presence is kept per profile.

KINDS = ("number", "site", "pair")


def run_keys(db: Database, run_id: int) -> dict[str, set[str]]:
    """Numbers, sites and pairs a run saw (official numbers and faxes left out)."""
    rows = db.execute(
        "select distinct phone, domain from sightings where run_id = ? and official = 0"
        " and is_fax = 0",
        [run_id],
    ).fetchall()
    return {
        "number": {p for p, _ in rows},
        "site": {d for _, d in rows},
        "pair": {f"{d} {p}" for p, d in rows},
    }


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def presence_of(db: Database, kind: str, keys: set[str]) -> dict[str, list[tuple]]:
    """key → [(profile, last_run, gone_run)] for the keys already known (any profile)."""
    out: dict[str, list[tuple]] = {}
    for chunk in _chunks(sorted(keys)):
        marks = ",".join("?" * len(chunk))
        for k, profile, last_run, gone_run in db.execute(
            f"select key, profile, last_run, gone_run from presence"
            f" where kind = ? and key in ({marks})",
            [kind, *chunk],
        ).fetchall():
            out.setdefault(k, []).append((profile, last_run, gone_run))
    return out


def mark_present(db: Database, profile: str, run_id: int, keys: dict[str, set[str]]) -> None:
    """The run saw these keys: present, last seen in this run."""
    rows = []
    for kind, found in keys.items():
        for k in found:
            domain, _, phone = k.partition(" ") if kind == "pair" else ("", "", "")
            rows.append(
                {
                    "profile": profile,
                    "kind": kind,
                    "key": k,
                    "phone": phone or (k if kind == "number" else None),
                    "domain": domain or (k if kind == "site" else None),
                    "last_run": run_id,
                    "gone_run": None,
                }
            )
    db.conn.executemany(
        """insert into presence (profile, kind, key, phone, domain, last_run, gone_run)
           values (:profile, :kind, :key, :phone, :domain, :last_run, null)
           on conflict(profile, kind, key) do update
           set last_run = excluded.last_run, gone_run = null""",
        rows,
    )


def gone_candidates(db: Database, profile: str, run_id: int) -> dict[tuple[str, str], dict]:
    """Keys present for `profile` but not seen by `run_id`, with what showed them last.

    (kind, key) → {"last_run": id, "showings": {(engine, query, domain), ...}}: every
    engine and query that showed the key in the last run that saw it.
    """
    out: dict[tuple[str, str], dict] = {}
    joins = {
        "number": "s.phone = p.phone",
        "site": "s.domain = p.domain",
        "pair": "s.domain = p.domain and s.phone = p.phone",
    }
    for kind, on in joins.items():
        for k, last_run, engine, engines, query, domain in db.execute(
            f"""select p.key, p.last_run, s.engine, s.engines, s.query, s.domain
                from presence p
                join sightings s on s.run_id = p.last_run and {on}
                where p.profile = ? and p.kind = ? and p.gone_run is null and p.last_run < ?
                  and s.official = 0 and s.is_fax = 0""",
            [profile, kind, run_id],
        ).fetchall():
            entry = out.setdefault((kind, k), {"last_run": last_run, "showings": set()})
            for e in json.loads(engines or "[]") or [engine]:
                entry["showings"].add((e, query, domain))
    return out


def mark_gone(db: Database, profile: str, run_id: int, keys: list[tuple[str, str]]) -> None:
    with db.atomic():
        db.conn.executemany(
            "update presence set gone_run = ? where profile = ? and kind = ? and key = ?",
            [(run_id, profile, kind, k) for kind, k in keys],
        )


def answered_queries(db: Database, run_id: int) -> set[tuple[str, str]]:
    """(engine, query) pairs whose every result page came back in the run."""
    return {
        (e, q)
        for e, q in db.execute(
            "select engine, query from run_queries where run_id = ? and outcome = 'answered'",
            [run_id],
        ).fetchall()
    }


def run_domains(db: Database, run_id: int) -> set[str]:
    """Sites whose pages the run stored (with or without numbers on them)."""
    return {
        d for (d,) in db.execute("select distinct domain from pages where run_id = ?", [run_id])
    }


def shown_but_not_fetched(db: Database, run_id: int) -> set[tuple[str, str, str]]:
    """(engine, query, domain): a result the run saw whose landing page it did not store.

    The page failed, was not followed (beyond results_per_query), or the run
    stopped first: what was on it is unknown, so nothing on it is gone.
    """
    from crawler.domains import registrable_domain

    fetched = set()
    for query, url, entry in db.execute(
        "select query, url, entry_url from pages where run_id = ?", [run_id]
    ).fetchall():
        for u in (url, entry):
            if u:
                fetched.add((query, registrable_domain(u)))
    out = set()
    for engine, query, landing in db.execute(
        "select distinct engine, query, landing_url from serp_results where run_id = ?",
        [run_id],
    ).fetchall():
        domain = registrable_domain(landing or "")
        if (query, domain) not in fetched:
            out.add((engine, query, domain))
    return out


# -- scheduled watch: what alerts read and record (crawler/alerts.py) ------------------


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def alert_pairs(db: Database, run_id: int) -> list[dict]:
    """Flagged (site, number) pairs seen in the run, with their evidence columns, the
    number's and site's first run and triage status, and the number's own verdict
    (number_score, number_risk, number_reasons); highest score first."""
    return _dicts(
        db.execute(
            """
            select p.*, n.number_type, n.country, n.first_run as number_first_run,
                   n.status as number_status, s.first_run as site_first_run,
                   s.status as site_status, n.score as number_score,
                   n.risk as number_risk, n.reasons as number_reasons
            from site_numbers p
            join numbers n on n.phone = p.phone
            join sites s on s.domain = p.domain
            where p.flagged = 1 and p.last_run = ?
            order by p.score desc, p.phone, p.domain
            """,
            [run_id],
        )
    )


def run_changes(db: Database, run_id: int, kind: str, event: str) -> dict[str, str]:
    """key → detail of the run's recorded changes (crawler.history) of one kind and event."""
    if "changes" not in db.table_names():
        return {}
    rows = db.execute(
        "select key, detail from changes where run_id = ? and kind = ? and event = ?",
        [run_id, kind, event],
    ).fetchall()
    return dict(rows)


def previous_run(db: Database, run_id: int) -> dict | None:
    """The profile's last finished run before `run_id`."""
    run = db["runs"].get(run_id)
    rows = list(
        db["runs"].rows_where(
            "id < ? and profile = ? and status = 'finished'",
            [run_id, run["profile"]],
            order_by="id desc",
            limit=1,
        )
    )
    return rows[0] if rows else None


def flagged_in_run(db: Database, run_id: int) -> int:
    """Flagged (site, number) pairs seen in the run."""
    return db["site_numbers"].count_where("flagged = 1 and last_run = ?", [run_id])


def alerted_keys(db: Database, channel: str) -> set[str]:
    """What the alerts ledger says a channel was already told."""
    return {k for (k,) in db.execute("select key from alerts where channel = ?", [channel])}


def record_alerts(db: Database, channel: str, run_id: int, items: list[tuple[str, str]]) -> None:
    """Put (key, kind) pairs sent to `channel` in the ledger (a key already there stays)."""
    at = now()
    with db.conn:
        for key_, kind in items:
            db.execute(
                "insert or ignore into alerts (channel, key, kind, run_id, at)"
                " values (?, ?, ?, ?, ?)",
                [channel, key_, kind, run_id, at],
            )


def record_delivery(db: Database, row: dict) -> None:
    db["alert_deliveries"].insert({**row, "at": row.get("at") or now()})


def last_run(db: Database) -> dict | None:
    rows = list(db["runs"].rows_where(order_by="id desc", limit=1))
    return rows[0] if rows else None


def last_finished_run(db: Database) -> dict | None:
    rows = list(db["runs"].rows_where("finished_at is not null", order_by="id desc", limit=1))
    return rows[0] if rows else None


# ---------------------------------------------------------------------------
# Verdicts of numbers and sites (crawler.history.rescore)
#
# Set-based: the numbers and sites a rescore is about go into temporary tables
# that the queries join, instead of IN lists of tens of thousands of values.


def _key_table(db: Database, name: str, values) -> str:
    """A temporary table `name` (one column `k`) holding `values`; returns its name.

    Inside the caller's transaction when there is one; otherwise committed at once
    (only the temporary table changed), so no transaction is left open."""
    outside = not db.conn.in_transaction
    db.conn.execute(f"create temp table if not exists [{name}] (k text primary key)")
    db.conn.execute(f"delete from temp.[{name}]")
    db.conn.executemany(
        f"insert or ignore into temp.[{name}] (k) values (?)", ((v,) for v in values)
    )
    if outside:
        db.conn.commit()
    return f"temp.[{name}]"


def _keys_where(db: Database, phones, domains) -> str:
    """`phone in (...) or domain in (...)` over temporary tables, for rows of these
    numbers or sites; "1" for every row when both are None."""
    if phones is None and domains is None:
        return "1"
    p = _key_table(db, "rescore_phones", phones or ())
    d = _key_table(db, "rescore_domains", domains or ())
    return f"(phone in (select k from {p}) or domain in (select k from {d}))"


_VERDICT_COLUMNS = ("id", "domain", "phone", "facts", "score", "risk", "reasons", "flagged")


def stored_pairs(db: Database, phones=None, domains=None) -> list[dict]:
    """(site, number) pairs with their stored facts and verdict: all, or those of these
    numbers or sites."""
    where = _keys_where(db, phones, domains)
    columns = ", ".join(_VERDICT_COLUMNS)
    sql = f"select {columns} from site_numbers where facts is not null and {where}"
    return [dict(zip(_VERDICT_COLUMNS, r, strict=True)) for r in db.execute(sql)]


def stored_sightings(db: Database, phones=None, domains=None, run_id=None) -> list[dict]:
    """Sightings with their stored facts and verdict, as `stored_pairs`; only a run's
    if `run_id`."""
    where = _keys_where(db, phones, domains)
    params: list = []
    if run_id is not None:
        where += " and run_id = ?"
        params.append(run_id)
    sql = f"select {', '.join(_VERDICT_COLUMNS)} from sightings where facts is not null and {where}"
    return [dict(zip(_VERDICT_COLUMNS, r, strict=True)) for r in db.execute(sql, params)]


def neighbours(db: Database, phones: set[str], domains: set[str]) -> tuple[set[str], set[str]]:
    """The numbers on these sites and the sites of these numbers, with the keys themselves."""
    phones, domains = set(phones), set(domains)
    if domains:
        d = _key_table(db, "neighbour_domains", domains)
        phones |= {
            p
            for (p,) in db.execute(
                f"select distinct phone from site_numbers where domain in (select k from {d})"
            )
        }
    if phones:
        p = _key_table(db, "neighbour_phones", phones)
        domains |= {
            d
            for (d,) in db.execute(
                f"select distinct domain from site_numbers where phone in (select k from {p})"
            )
        }
    return phones, domains


# On how many unrelated domains each number was seen: the partial covering index of
# migration 0012 answers it without reading a sighting (named, because on a fresh
# database SQLite would pick the (phone, run_id) index and read every sighting).
DOMAINS_OF_SQL = (
    "select phone, count(distinct domain) from sightings"
    " indexed by idx_sightings_phone_domain_live"
    " where official = 0 and is_fax = 0 and phone in (select k from {keys}) group by phone"
)


def history_context(db: Database, phones: set[str], domains: set[str]) -> dict:
    """What only the whole database knows about these numbers and sites (crawler.history)."""
    out: dict = {"domains_of": {}, "listed_by_brand": {}, "number_first": {}, "site_first": {}}
    first = db.execute("select min(started_at) from runs").fetchone()
    out["first_run_at"] = first[0] if first else None
    if phones:
        keys = _key_table(db, "context_phones", phones)
        out["domains_of"] = dict(db.execute(DOMAINS_OF_SQL.format(keys=keys)).fetchall())
        # The partial index idx_sightings_phone_brand_listing (migration 0012) has
        # this very condition.
        out["listed_by_brand"] = {
            phone: f"{brand}'s own site {domain}"
            for phone, brand, domain in db.execute(
                f"select phone, {facts_field('official_site')}, min(domain) from sightings"
                f" where official = 0 and {facts_field('brand_listing')} = 1"
                f" and phone in (select k from {keys}) group by phone"
            )
        }
        out["number_first"] = dict(
            db.execute(
                f"select phone, first_seen from numbers where phone in (select k from {keys})"
            ).fetchall()
        )
    if domains:
        keys = _key_table(db, "context_domains", domains)
        out["site_first"] = dict(
            db.execute(
                f"select domain, first_seen from sites where domain in (select k from {keys})"
            ).fetchall()
        )
    return out


def _verdict_values(row: dict, pk: str) -> dict:
    """A verdict row's columns as stored: reasons and facts as JSON, flagged as 0/1."""
    values = {k: v for k, v in row.items() if k != pk}
    values["reasons"] = _json(values.get("reasons") or [])
    if "flagged" in values:
        values["flagged"] = int(bool(values["flagged"]))
    if "facts" in values and not isinstance(values["facts"], str):
        values["facts"] = facts_json(values["facts"])
    return values


def save_verdicts(db: Database, table: str, rows: list[dict], stored: dict | None = None) -> int:
    """Write verdicts: `rows` hold the table's key (`id`, `phone` or `domain`) and
    score, risk, reasons (a list), flagged and, for pairs and sightings, facts (a
    dict, a `Facts`, or JSON made by `facts_json`). A row equal to its `stored`
    row (key → the row as read by `stored_pairs`) is not written again. Returns
    how many rows were written."""
    pk = {"numbers": "phone", "sites": "domain"}.get(table, "id")
    # One statement per column set, run for all rows: sqlite-utils' update reads the
    # table's schema on every call, and the end of a run writes thousands of rows.
    batches: dict[tuple, list] = {}
    written = 0
    for row in rows:
        values = _verdict_values(row, pk)
        before = (stored or {}).get(row[pk])
        if before is not None and all(before.get(k) == v for k, v in values.items()):
            continue
        batches.setdefault(tuple(values), []).append([*values.values(), row[pk]])
        written += 1
    with db.atomic():
        for columns, params in batches.items():
            sets = ", ".join(f"[{c}] = ?" for c in columns)
            db.conn.executemany(f"update [{table}] set {sets} where [{pk}] = ?", params)
    return written


def record_verdicts(db: Database, run_id: int | None, rows: list[dict]) -> None:
    """One `verdict_history` row per key whose verdict moved since its last row."""
    if not rows:
        return
    keys = _key_table(db, "verdict_keys", {r["key"] for r in rows})
    last = {
        (k, key_): (score, risk)
        for k, key_, score, risk in db.execute(
            "select kind, key, score, risk from verdict_history where id in"
            " (select max(id) from verdict_history"
            f" where key in (select k from {keys}) group by kind, key)"
        )
    }
    at = now()
    db.conn.executemany(
        "insert into verdict_history (run_id, kind, key, score, risk, reasons, at)"
        " values (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                r["kind"],
                r["key"],
                r["score"],
                r["risk"],
                json.dumps(r.get("reasons") or []),
                at,
            )
            for r in rows
            if last.get((r["kind"], r["key"])) != (r["score"], r["risk"])
        ],
    )


def _reasons(row: dict) -> str:
    return json.dumps(row.get("reasons") or [])


def verdict_history(db: Database, key: str) -> list[dict]:
    """How the verdicts on a number or site (and its pairs) moved over runs."""
    rows = db.execute(
        "select run_id, kind, key, score, risk, reasons, at from verdict_history"
        " where key = ? or key like ? or key like ? order by id",
        [key, f"{key} %", f"% {key}"],
    ).fetchall()
    names = ("run_id", "kind", "key", "score", "risk", "reasons", "at")
    return [{**dict(zip(names, r, strict=True)), "reasons": json.loads(r[5] or "[]")} for r in rows]


def entity_verdicts(db: Database, table: str, keys, *, raw: bool = False) -> dict[str, dict]:
    """The stored verdicts of these numbers or sites (with `raw`, as stored:
    reasons as JSON text, for `save_verdicts` to compare)."""
    if not keys:
        return {}
    pk = "phone" if table == "numbers" else "domain"
    t = _key_table(db, f"entity_{table}", keys)
    rows = db.execute(
        f"select {pk}, score, risk, reasons, flagged from {table} where {pk} in (select k from {t})"
    )
    if raw:
        return {k: {"score": s, "risk": r, "reasons": rs, "flagged": f} for k, s, r, rs, f in rows}
    return {
        k: {"score": s, "risk": r, "reasons": json.loads(rs or "[]"), "flagged": f}
        for k, s, r, rs, f in rows
    }


# -- distributed mode (crawler/scale_store.py): one store for many workers -------------


def resume_run(db: Database, run_id: int) -> None:
    """A store that took over a run (its predecessor died) marks it running again, as its own."""
    db["runs"].update(
        run_id, {"status": "running", "host": socket.gethostname(), "pid": os.getpid()}
    )


def save_run_warcs(db: Database, run_id: int, files: dict[str, str]) -> None:
    """Record the run's WARC files: path → the worker that wrote it."""
    db["run_warcs"].upsert_all(
        [{"run_id": run_id, "warc_file": path, "worker": w} for path, w in files.items()],
        pk=("run_id", "warc_file"),
    )


def run_warcs(db: Database, run_id: int) -> list[str]:
    return [r["warc_file"] for r in db["run_warcs"].rows_where("run_id = ?", [run_id])]


# ===========================================================================
# Read queries of history, triage, flags (crawler.history, crawler.triage)
#
# Every module above storage asks here; none writes SQL of its own
# (tests/test_storage_sql.py).


def run_profile(db: Database, run_id: int) -> str:
    (profile,) = db.execute("select profile from runs where id = ?", [run_id]).fetchone()
    return profile


def latest_run_id(db: Database) -> int | None:
    """The newest run's id (None before the first run)."""
    return db.execute("select max(id) from runs").fetchone()[0]


def last_seen_before(db: Database, kind: str, key: str, run_id: int) -> tuple | None:
    """(run id, time) of the last sighting of a number, site or pair before `run_id`."""
    where = {"number": "phone = ?", "site": "domain = ?", "pair": "domain = ? and phone = ?"}
    params = key.split(" ") if kind == "pair" else [key]
    found = db.execute(
        f"select max(run_id), max(seen_at) from sightings where {where[kind]} and run_id < ?"
        " and official = 0 and is_fax = 0",
        [*params, run_id],
    ).fetchone()
    return found if found and found[0] is not None else None


def record_changes(db: Database, run_id: int, events: list[tuple], at: str) -> None:
    """The run's changes: (kind, key, event, detail) each."""
    db.conn.executemany(
        "insert into changes (run_id, kind, key, event, detail, at) values (?, ?, ?, ?, ?, ?)",
        [(run_id, kind, k, event, detail, at) for kind, k, event, detail in events],
    )


def entity(db: Database, kind: str, key: str) -> dict | None:
    """The `numbers` (kind "number") or `sites` row of a key, None if never seen."""
    table, pk = ("numbers", "phone") if kind == "number" else ("sites", "domain")
    rows = list(db[table].rows_where(f"{pk} = ?", [key]))
    return rows[0] if rows else None


def runs_of(db: Database, kind: str, key: str) -> list[int]:
    """The runs that saw a number or a site, in order."""
    column = "phone" if kind == "number" else "domain"
    return [
        r
        for (r,) in db.execute(
            f"select distinct run_id from sightings where {column} = ? order by run_id", [key]
        )
    ]


def run_ids(db: Database, first: int, last: int) -> list[int]:
    """Ids of the runs from `first` to `last`, in order."""
    return [
        r
        for (r,) in db.execute(
            "select id from runs where id between ? and ? order by id", [first, last]
        )
    ]


def changes_of(db: Database, key: str) -> list[dict]:
    """Every change recorded for a number or site and the pairs it is in, in run order."""
    names = ("run_id", "kind", "key", "event", "detail")
    return [
        dict(zip(names, row, strict=True))
        for row in db.execute(
            "select run_id, kind, key, event, detail from changes where key = ? or key like ?"
            " or key like ? order by run_id, id",
            [key, f"{key} %", f"% {key}"],
        )
    ]


def partners(db: Database, kind: str, key: str) -> list[dict]:
    """The sites of a number (or the numbers of a site), with the pair's verdict."""
    column, other = ("phone", "domain") if kind == "number" else ("domain", "phone")
    names = (other, "score", "risk", "flagged", "first_seen", "last_seen", "last_run")
    return [
        dict(zip(names, row, strict=True))
        for row in db.execute(
            f"select {other}, score, risk, flagged, first_seen, last_seen, last_run"
            f" from site_numbers where {column} = ? order by score desc",
            [key],
        )
    ]


def record_decision(db: Database, row: dict) -> None:
    """One analyst's decision (crawler.triage), in the caller's transaction."""
    db["triage"].insert(row)


def decisions_of(db: Database, key: str) -> list[dict]:
    """Every decision on `key`, oldest first."""
    if "triage" not in db.table_names():
        return []
    return list(db["triage"].rows_where("key = ?", [key], order_by="at, id"))


def mirror_decisions(db: Database, decisions: dict[str, dict]) -> None:
    """`numbers.status` and `sites.status` as the latest decisions say (others `new`)."""
    with db.atomic():
        for table, pk in (("numbers", "phone"), ("sites", "domain")):
            db.execute(
                f"update [{table}] set status = 'new' where status in ('confirmed', 'dismissed')"
            )
            db.conn.executemany(
                f"update [{table}] set status = ? where [{pk}] = ?",
                [(d["status"], key) for key, d in decisions.items()],
            )


# -- exports (crawler.exports.core) and the report (crawler.exports.report) ----------


# CROSS JOIN fixes the join order below: from the results, through the pages
# they led to (indexes on pages (run_id, entry_url) and (run_id, url); the two
# URLs as a UNION, which SQLite does not make of an OR here), to their sightings.
# Left to itself, SQLite (without statistics on a new database) read every
# sighting and then every result of its run: hours at a year's size.


def ad_showings(db: Database, run_id: int | None = None):
    """Each ad and number on the page fetched from its landing URL in the same run
    (the page's `entry_url`, or its `url` when there was no redirect), as read."""
    where = "r.is_ad = 1"
    params: list = []
    if run_id is not None:
        where += " and r.run_id = ?"
        params.append(run_id)
    yield from db.query(
        f"""
        select r.id as serp_id, r.run_id, r.engine, r.query, r.ad_position, r.title,
               r.display_url, r.landing_url, r.seen_at,
               coalesce(nullif(r.click_url, ''), r.url) as click_url,
               r.advertiser_name, r.advertiser_location, r.advertiser_url,
               s.phone, g.domain, g.url as page_url, g.ip as page_ip,
               g.warc_file as page_warc_file, g.warc_record_id as page_warc_record_id,
               g.payload_sha256 as page_payload_sha256
        from serp_results r
        cross join pages g on g.id in (
            select id from pages where run_id = r.run_id and entry_url = r.landing_url
            union select id from pages where run_id = r.run_id and url = r.landing_url)
        cross join sightings s on s.page_id = g.id
        where {where}
        order by r.seen_at, r.id, g.id
        """,
        params,
    )


def sightings_for_export(db: Database, run_id: int | None = None):
    """Every sighting (of a run, or all) with its page's evidence, oldest first, as read."""
    where, params = ("where run_id = ?", [run_id]) if run_id is not None else ("", [])
    yield from db.query(
        f"""
        select phone, domain, url, entry_url, engine, query, is_ad, rank, seen_at,
               ip, warc_file, warc_record_id, payload_sha256
        from sightings {where}
        order by seen_at, id
        """,
        params,
    )


def find_run(db: Database, run_id: int | None = None) -> dict | None:
    """A run by id, or the newest with None; None when there is no such run."""
    if run_id is None:
        return last_run(db)
    rows = list(db["runs"].rows_where("id = ?", [run_id]))
    return rows[0] if rows else None


def runs_up_to(db: Database, run_id: int) -> list[dict]:
    """Runs up to `run_id`, oldest first."""
    return list(db["runs"].rows_where("id <= ?", [run_id], order_by="id"))


def flagged_numbers_per_run(db: Database, up_to_run: int) -> list[dict]:
    """(run_id, brand, n): distinct numbers flagged in each run and brand, as that run
    closed (the sightings' verdicts; later triage changes the flags, not this)."""
    return list(
        db.query(
            """
            select s.run_id, coalesce(s.brand, '(no brand)') as brand, count(distinct s.phone) as n
            from sightings s
            where s.run_id <= ? and s.flagged = 1
            group by s.run_id, coalesce(s.brand, '(no brand)')
            """,
            [up_to_run],
        )
    )


def run_page_count(db: Database, run_id: int) -> int:
    """Landing pages a run stored."""
    return db.execute("select count(*) from pages where run_id = ?", [run_id]).fetchone()[0]


# -- queries (crawler.queries): what each query costs and brings ------------------------


def serp_result_counts(db: Database) -> list[tuple]:
    """(query, engine, runs, results, ads, last seen) of every query on every engine."""
    return db.execute(
        """select query, engine, count(distinct run_id), count(*), sum(is_ad), max(seen_at)
           from serp_results group by query, engine"""
    ).fetchall()


def query_number_hits(db: Database):
    """(query, engine, phone, run_id, flagged, new) for each number on a landing page a
    result led to in the same run (official numbers and faxes left out), distinct;
    `new`: the run was the number's first."""
    yield from db.execute(
        """select distinct sr.query, sr.engine, s.phone, s.run_id,
                  coalesce(s.flagged, s.risk is not null), n.first_run = s.run_id
           from serp_results sr
           cross join pages p on p.run_id = sr.run_id and p.entry_url = sr.landing_url
           cross join sightings s on s.page_id = p.id
           cross join numbers n on n.phone = s.phone
           where s.official = 0 and s.is_fax = 0"""
    )


def decided_numbers(db: Database, decisions: dict[str, dict]) -> dict[str, set[str]]:
    """status → the numbers it applies to: decided on themselves, or seen on a site
    decided so (`confirmed`, `dismissed`)."""
    out: dict[str, set[str]] = {"confirmed": set(), "dismissed": set()}
    for key, d in decisions.items():
        if d["status"] not in out:
            continue
        if key.startswith("+"):
            out[d["status"]].add(key)
        else:
            out[d["status"]] |= {
                p
                for (p,) in db.execute(
                    "select distinct phone from sightings where domain = ?", [key]
                )
            }
    return out


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
