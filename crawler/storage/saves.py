"""What a crawl writes: pages, sightings and (site, number) pairs, result
pages and cards, renders, unparsed pages, offered downloads, query
outcomes, and the exports ledger. Writes are idempotent upserts keyed on
natural ids (a crawl killed and run again adds no duplicates), batched in
one transaction with a savepoint per save (`save_many`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from sqlite_utils import Database

from crawler.storage.connection import key, now, storage_failure
from crawler.storage.facts import _json, facts_json, same_page_facts

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


def save_brand_check(db: Database, check: dict, pages: list[dict], numbers: list[dict]) -> int:
    """One `brands check`: its pages and the state of every number, in one transaction."""
    with db.conn:
        check_id = db["brand_checks"].insert(check).last_pk
        for page in pages:
            db["brand_check_pages"].insert({**page, "check_id": check_id})
        for number in numbers:
            db["brand_check_numbers"].insert({**number, "check_id": check_id})
    return check_id


def record_retirement(db: Database, query: str, key: str, action: str, reason: str) -> dict:
    """Keep a retire or restore action on a query text; the latest one counts."""
    row = {"query": query, "query_key": key, "action": action, "reason": reason, "at": now()}
    db["query_retirements"].insert(row)
    return row


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


def save_offered_download(db: Database, run_id: int, row: dict) -> str:
    """Record that a page offered an executable or archive (it was not downloaded)."""
    rid = key(run_id, row["url"])
    record = {**row, "id": rid, "run_id": run_id, "is_ad": int(bool(row.get("is_ad")))}
    record.setdefault("seen_at", now())
    db["downloads"].upsert(record, pk="id")
    return rid


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
    _save_pair(db, run_id, page, v, seen, before[0] if before else None)


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


def _save_pair(db: Database, run_id: int, page: dict, v: dict, seen: str, shown) -> None:
    """`shown`: the page's score this run's sighting of it had before this save (None
    when it had none)."""
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
    columns = ("last_run", "score", "engines", "is_ad", "brand", "query", "url", *_BEFORE[2:])
    found = db.conn.execute(
        f"select {', '.join(columns)} from site_numbers where id = ?", [pair_id]
    ).fetchone()
    existing = dict(zip(columns, found, strict=True)) if found else None
    if existing is None:
        pair.update({"first_seen": seen, "first_run": run_id})
    elif existing["last_run"] == run_id and _evidence_rank(
        _as_shown(db, run_id, phone, existing, page, shown)
    ) <= _evidence_rank(pair):
        # Seen again in this run with weaker evidence (another query, or
        # organic after an ad): keep the strongest evidence.
        pair = {"id": pair_id}
    page_facts = None
    if _keeps_verdict(existing, pair):
        # The same page as the pair's verdict was scored from (its history aside): the
        # verdict stays, and the end of the run (crawler.history.rescore_run) keeps it
        # unless the history changed. Writing the page's own verdict here, to be
        # written back at the end, rewrote every such pair twice a run.
        page_facts = pair["facts"]
        for column in _VERDICT:
            del pair[column]
    if existing is not None and existing["last_run"] != run_id:
        # (Stronger evidence later in the run that keeps the verdict shows the same
        # page facts: the page's JSON of them is the same.)
        _keep_before(db, run_id, pair_id, existing, page_facts)
    engines = _engines(page)
    if existing is not None and existing["last_run"] == run_id:
        # Every engine that showed the pair in this run, whichever evidence is kept.
        before = json.loads(existing.get("engines") or "[]")
        engines = before + [e for e in engines if e not in before]
    pair.update({"last_seen": seen, "last_run": run_id, "engines": _json(engines)})
    if "facts" in pair:  # the page's own verdict now: its verdict with history is unknown
        pair.update({"base_score": None, "base_signals": None})
    _upsert(db, "site_numbers", pair, "id")


# A pair's verdict as its save writes it (`_shown`), and the page's own score.
_VERDICT = ("score", "risk", "reasons", "flagged", "facts")


def _keeps_verdict(existing: dict | None, pair: dict) -> bool:
    """Whether a save leaves the pair's verdict as it is: the pair has a verdict made
    with its history (`base_score`, its own verdict, is kept with it) from the very
    page facts the save brings."""
    return (
        existing is not None
        and "facts" in pair
        and existing["base_score"] is not None
        and same_page_facts(existing["facts"], pair["facts"])
    )


def _as_shown(db: Database, run_id: int, phone: str, existing: dict, page: dict, shown) -> dict:
    """A pair this run saved before, with the page's own score (`_evidence_rank`): a pair
    that kept its verdict (`_keeps_verdict`) has its page's score in the run's sighting
    of it (`shown` when that is this page: read before this save wrote it)."""
    if existing["base_score"] is None:  # the page's own verdict: written by this run
        return existing
    if existing["url"] == page["url"]:
        score = shown
    else:
        found = db.conn.execute(
            "select score from sightings where id = ?",
            [key(run_id, existing["url"], phone)],
        ).fetchone()
        score = found[0] if found else None
    return existing if score is None else {**existing, "score": score}


# The verdict and facts a pair had before this run saved it again (the save replaces
# them with the page's own, or keeps them: `_keeps_verdict`, and then `page` holds
# the page facts it was saved with): the end of the run (crawler.history.rescore_run)
# finds the pairs nothing changed for by them. A temporary table: per connection,
# gone with it; a run whose end finds none (resumed elsewhere) scores its pairs again.
_BEFORE = ("run_id", "id", "facts", "risk", "reasons", "flagged", "base_score", "base_signals")


def _keep_before(db: Database, run_id: int, pair_id: str, existing: dict, page) -> None:
    values = [run_id, pair_id, *(existing[c] for c in _BEFORE[2:]), existing["score"], page]
    insert = f"insert or ignore into temp.pair_before ({', '.join(_BEFORE)}, score, page) values"
    insert += f" ({', '.join('?' * (len(_BEFORE) + 2))})"
    outside = not db.conn.in_transaction
    try:
        db.conn.execute(insert, values)
    except sqlite3.OperationalError:  # the first in this connection: make the table
        db.conn.execute(
            f"create temp table if not exists pair_before ({', '.join(_BEFORE)}, score, page,"
            " primary key (run_id, id))"
        )
        db.conn.execute(insert, values)
    if outside:  # only the temporary table changed: leave no transaction open
        db.conn.commit()


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


def save_run_warcs(db: Database, run_id: int, files: dict[str, str]) -> None:
    """Record the run's WARC files: path → the worker that wrote it."""
    db["run_warcs"].upsert_all(
        [{"run_id": run_id, "warc_file": path, "worker": w} for path, w in files.items()],
        pk=("run_id", "warc_file"),
    )
