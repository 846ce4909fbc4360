"""SQLite storage through sqlite-utils: `ensure_db_shape` and `save_*` functions.

No SQL lives in pipelines or the CLI: they call the functions here. Writes are
idempotent upserts keyed on natural ids, so a crawl that is killed and run
again adds no duplicates.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from crawler import schema, stats_keys
from crawler.risk import RISK_ORDER
from crawler.run_status import run_status

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
    try:
        db.execute(
            "update runs set status = 'failed', finished_at = ?, warnings = ? where id = ?",
            [now(), json.dumps([f"storage failed: {reason}"]), run_id],
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
    """Bring the database to this code's schema (crawler.schema migrations); safe on every open.

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
# Inside it each save is a savepoint, so one that fails is undone alone.


def _transaction(db: Database):
    """The transaction of one save: its own commit, or a savepoint in `save_many`'s."""
    return _savepoint(db) if getattr(db, "_serpwatch_batch", False) else db.conn


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


def save_many(db: Database, saves: list[tuple[Callable, tuple]]) -> list[tuple[int, Exception]]:
    """Run `saves` (a save function such as `save_page` or `save_serp_result` and its
    arguments after `db`) in one transaction: one commit for all.

    A save that fails with anything but a storage failure is undone alone (its
    savepoint) and returned with its index; the others are committed. A storage
    failure (`storage_failure`: disk full, I/O error...) rolls back the whole
    batch and is raised: nothing of it is stored.
    """
    errors: list[tuple[int, Exception]] = []
    if not saves:
        return errors
    conn = db.conn
    db._serpwatch_batch = True
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
                    errors.append((i, exc))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    finally:
        db._serpwatch_batch = False
    return errors


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# Facts that are empty (None, False, [], {}) take no room: Facts.from_dict gives
# them their defaults (tests/test_storage_scale.py checks the round trip).
def _empty(value) -> bool:
    return value is None or value is False or (type(value) in (list, dict) and not value)


def facts_json(facts: dict | None) -> str | None:
    """A verdict's facts as compact JSON: empty values left out, keys sorted."""
    if not facts:
        return None
    keep = {k: v for k, v in facts.items() if k in ("phone", "brand", "domain") or not _empty(v)}
    return json.dumps(keep, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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


def _save_sighting_row(db, sighting_id, run_id, page_id, page, v, seen) -> None:
    phone = v["phone"]
    _upsert(
        db,
        "sightings",
        {
            "id": sighting_id,
            "run_id": run_id,
            "page_id": page_id,
            "phone": phone,
            "raw": v.get("raw", ""),
            "source": v.get("source", ""),
            "is_fax": int(bool(v.get("is_fax"))),
            "domain": page["domain"],
            "url": page["url"],
            "entry_url": page.get("entry_url") or page["url"],
            "brand": page.get("brand"),
            "engine": page.get("engine"),
            "query": page.get("query"),
            "is_ad": int(bool(page.get("is_ad"))),
            "rank": page.get("rank") if not page.get("is_ad") else page.get("ad_position"),
            "official": int(bool(v.get("official"))),
            "score": v.get("score", 0),
            "risk": v.get("risk"),
            "reasons": _json(v.get("reasons", [])),
            "seen_at": seen,
            "engines": _json(_engines(page)),
            **{c: page.get(c) for c in _AD_COLUMNS},
            **{c: page.get(c) for c in EVIDENCE_COLUMNS},
            # The verdict and the facts behind it: crawler.history scores again at
            # the end of the run with what only the whole database knows.
            "flagged": int(bool(v.get("flagged"))),
            "facts": v["facts_json"],
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
    pair = {
        "id": pair_id,
        "domain": page["domain"],
        "phone": phone,
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
        "updated_at": seen,
        **{c: page.get(c) for c in EVIDENCE_COLUMNS},
        **{c: page.get(c) for c in _AD_COLUMNS},
        "facts": v["facts_json"] if "facts_json" in v else facts_json(v.get("facts")),
    }
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
    floor = RISK_ORDER[min_risk]
    risk_field = {"pair": "risk", "number": "number_risk", "site": "site_risk"}[by]
    where = "p.flagged = 1"
    if include_dismissed:
        where = "(p.flagged = 1 or (p.risk is not null and 'dismissed' in (n.status, s.status)))"
    params: list = []
    if run_id is not None:
        where += " and p.last_run = ?"
        params.append(run_id)
    rows = db.execute(
        f"""
        select p.*, n.number_type, n.country, n.nl_category, n.carrier,
               n.status as number_status, s.status as site_status,
               n.score as number_score, n.risk as number_risk, n.reasons as number_reasons,
               s.score as site_score, s.risk as site_risk, s.reasons as site_reasons
        from site_numbers p
        join numbers n on n.phone = p.phone
        join sites s on s.domain = p.domain
        where {where}
        order by p.score desc, p.phone, p.domain
        """,
        params,
    ).fetchall()
    cols = [d[0] for d in db.execute("select * from site_numbers limit 0").description]
    names = cols + [
        "number_type",
        "country",
        "nl_category",
        "carrier",
        "number_status",
        "site_status",
        *(f"{k}_{f}" for k in ("number", "site") for f in ("score", "risk", "reasons")),
    ]
    out = []
    for row in rows:
        r = dict(zip(names, row, strict=True))
        # Not yet re-scored (a database from before issue 10): the pair's risk floors.
        level = r[risk_field] if r[risk_field] is not None else r["risk"]
        if RISK_ORDER.get(level or "", 0) < floor:
            continue
        out.append(export_record(r))
    return out


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
        "reasons": json.loads(r["reasons"] or "[]"),
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
        "number_reasons": json.loads(r.get("number_reasons") or "[]"),
        "site_score": r.get("site_score"),
        "site_risk": r.get("site_risk"),
        "site_reasons": json.loads(r.get("site_reasons") or "[]"),
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


def pair_details(db: Database) -> list[dict]:
    """Per (site, number) pair: evidence, runs, facts, number details, page title."""
    extra = ", p.screenshot, p.screenshot_sha256" if _has(db, "site_numbers", "screenshot") else ""
    return list(
        db.query(
            f"""
            select p.id, p.ip, p.warc_file, p.warc_record_id, p.payload_sha256,
                   p.first_run, p.last_run, p.url, p.facts, n.nl_category, n.carrier,
                   p.click_url, p.advertiser_name, p.advertiser_location,
                   g.title as page_title{extra}
            from site_numbers p
            join numbers n on n.phone = p.phone
            left join pages g on g.run_id = p.last_run and g.url = p.url
            """
        )
    )


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
        "(coalesce(json_extract(facts, '$.number_status'), ''),"
        " coalesce(json_extract(facts, '$.site_status'), ''))"
    )
    flagged, dismissed, confirmed = db.execute(
        f"""select count(case when flagged = 1 then 1 end),
                   count(case when 'dismissed' in {status} then 1 end),
                   count(case when 'confirmed' in {status} then 1 end)
            from site_numbers
            where last_run = ? and facts is not null
              and json_extract(facts, '$.official_for') is null
              and not coalesce(json_extract(facts, '$.is_fax'), 0)""",
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
    status = run_status(outcomes, stats.get("finish_reason", "finished"))
    if stats.get(stats_keys.STORAGE_FAILED):
        status = "failed"
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


def gone_pairs(db: Database) -> set[str]:
    """Pairs ("domain phone") recorded gone by every profile that saw them."""
    return {
        k
        for (k,) in db.execute(
            "select key from presence where kind = 'pair' group by key"
            " having sum(gone_run is null) = 0"
        ).fetchall()
    }


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


def _in(column: str, values) -> tuple[str, list]:
    values = sorted(values)
    return f"{column} in ({', '.join('?' * len(values))})", values


def stored_pairs(db: Database, phones=None, domains=None) -> list[dict]:
    """(site, number) pairs with their stored facts: all, or those of these numbers or sites."""
    where, params = ["facts is not null"], []
    keys = []
    for column, values in (("phone", phones), ("domain", domains)):
        if values:
            clause, vals = _in(column, values)
            keys.append(clause)
            params += vals
    if phones is not None or domains is not None:
        where.append("(" + (" or ".join(keys) or "0") + ")")
    sql = f"select id, domain, phone, facts from site_numbers where {' and '.join(where)}"
    return [
        dict(zip(("id", "domain", "phone", "facts"), r, strict=True))
        for r in db.execute(sql, params)
    ]


def stored_sightings(db: Database, phones=None, domains=None, run_id=None) -> list[dict]:
    """Sightings with their stored facts, as `stored_pairs`; only a run's if `run_id`."""
    where, params, keys = ["facts is not null"], [], []
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    for column, values in (("phone", phones), ("domain", domains)):
        if values:
            clause, vals = _in(column, values)
            keys.append(clause)
            params += vals
    if phones is not None or domains is not None:
        where.append("(" + (" or ".join(keys) or "0") + ")")
    sql = f"select id, domain, phone, facts from sightings where {' and '.join(where)}"
    return [
        dict(zip(("id", "domain", "phone", "facts"), r, strict=True))
        for r in db.execute(sql, params)
    ]


def neighbours(db: Database, phones: set[str], domains: set[str]) -> tuple[set[str], set[str]]:
    """The numbers on these sites and the sites of these numbers, with the keys themselves."""
    phones, domains = set(phones), set(domains)
    if domains:
        clause, vals = _in("domain", domains)
        phones |= {
            p
            for (p,) in db.execute(f"select distinct phone from site_numbers where {clause}", vals)
        }
    if phones:
        clause, vals = _in("phone", phones)
        domains |= {
            d
            for (d,) in db.execute(f"select distinct domain from site_numbers where {clause}", vals)
        }
    return phones, domains


def history_context(db: Database, phones: set[str], domains: set[str]) -> dict:
    """What only the whole database knows about these numbers and sites (crawler.history)."""
    out: dict = {"domains_of": {}, "listed_by_brand": {}, "number_first": {}, "site_first": {}}
    first = db.execute("select min(started_at) from runs").fetchone()
    out["first_run_at"] = first[0] if first else None
    if phones:
        clause, vals = _in("phone", phones)
        out["domains_of"] = dict(
            db.execute(
                f"select phone, count(distinct domain) from sightings where official = 0"
                f" and is_fax = 0 and {clause} group by phone",
                vals,
            ).fetchall()
        )
        out["listed_by_brand"] = {
            phone: f"{brand}'s own site {domain}"
            for phone, brand, domain in db.execute(
                "select phone, json_extract(facts, '$.official_site'), min(domain) from sightings"
                f" where official = 0 and json_extract(facts, '$.brand_listing') = 1 and {clause}"
                " group by phone",
                vals,
            )
        }
        out["number_first"] = dict(
            db.execute(f"select phone, first_seen from numbers where {clause}", vals).fetchall()
        )
    if domains:
        clause, vals = _in("domain", domains)
        out["site_first"] = dict(
            db.execute(f"select domain, first_seen from sites where {clause}", vals).fetchall()
        )
    return out


def save_verdicts(db: Database, table: str, rows: list[dict]) -> None:
    """Write verdicts: `rows` hold the table's key (`id`, `phone` or `domain`) and
    score, risk, reasons (a list), flagged and, for pairs and sightings, facts."""
    pk = {"numbers": "phone", "sites": "domain"}.get(table, "id")
    # One statement per column set, run for all rows: sqlite-utils' update reads the
    # table's schema on every call, and the end of a run writes thousands of rows.
    batches: dict[tuple, list] = {}
    for row in rows:
        values = {k: v for k, v in row.items() if k != pk}
        values["reasons"] = _json(values.get("reasons") or [])
        if "flagged" in values:
            values["flagged"] = int(bool(values["flagged"]))
        if "facts" in values:
            values["facts"] = facts_json(values["facts"])
        batches.setdefault(tuple(values), []).append([*values.values(), row[pk]])
    with db.atomic():
        for columns, params in batches.items():
            sets = ", ".join(f"[{c}] = ?" for c in columns)
            db.conn.executemany(f"update [{table}] set {sets} where [{pk}] = ?", params)


def record_verdicts(db: Database, run_id: int | None, rows: list[dict]) -> None:
    """One `verdict_history` row per key whose verdict moved since its last row."""
    if not rows:
        return
    clause, vals = _in("key", {r["key"] for r in rows})
    last = {
        (k, key_): (score, risk)
        for k, key_, score, risk in db.execute(
            "select kind, key, score, risk from verdict_history where id in"
            f" (select max(id) from verdict_history where {clause} group by kind, key)",
            vals,
        )
    }
    at = now()
    new = [
        {**r, "run_id": run_id, "at": at, "reasons": json.dumps(r.get("reasons") or [])}
        for r in rows
        if last.get((r["kind"], r["key"])) != (r["score"], r["risk"])
    ]
    if new:
        db["verdict_history"].insert_all(new)


def verdict_history(db: Database, key: str) -> list[dict]:
    """How the verdicts on a number or site (and its pairs) moved over runs."""
    rows = db.execute(
        "select run_id, kind, key, score, risk, reasons, at from verdict_history"
        " where key = ? or key like ? or key like ? order by id",
        [key, f"{key} %", f"% {key}"],
    ).fetchall()
    names = ("run_id", "kind", "key", "score", "risk", "reasons", "at")
    return [{**dict(zip(names, r, strict=True)), "reasons": json.loads(r[5] or "[]")} for r in rows]


def entity_verdicts(db: Database, table: str, keys) -> dict[str, dict]:
    """The stored verdicts of these numbers or sites."""
    if not keys:
        return {}
    pk = "phone" if table == "numbers" else "domain"
    clause, vals = _in(pk, keys)
    rows = db.execute(
        f"select {pk}, score, risk, reasons, flagged from {table} where {clause}", vals
    )
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
