"""Verdicts of numbers and sites (crawler.history.rescore): the stored pairs
and sightings a rescore reads, their neighbours, and the verdicts written
back. Set-based: the keys go into temporary tables, not long IN lists.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from crawler.storage.connection import in_transaction, now
from crawler.storage.facts import _json, facts_field, facts_json
from crawler.storage.history import with_pair_keys

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
# A pair's own verdict before its number's raised it (migration 0021).
_PAIR_COLUMNS = (*_VERDICT_COLUMNS, "base_score", "base_signals")


def stored_pairs(db: Database, phones=None, domains=None) -> list[dict]:
    """(site, number) pairs with their stored facts and verdict (and their own verdict
    before their number's: `base_score`, `base_signals`, None when not known): all, or
    those of these numbers or sites."""
    where = _keys_where(db, phones, domains)
    columns = ", ".join(_PAIR_COLUMNS)
    sql = f"select {columns} from site_numbers where facts is not null and {where}"
    return [dict(zip(_PAIR_COLUMNS, r, strict=True)) for r in db.execute(sql)]


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
        # this very condition; named, because with a year's statistics SQLite read
        # every sighting of the numbers by their (phone, run_id) index instead.
        out["listed_by_brand"] = {
            phone: f"{brand}'s own site {domain}"
            for phone, brand, domain in db.execute(
                f"select phone, {facts_field('official_site')}, min(domain) from sightings"
                " indexed by idx_sightings_phone_brand_listing"
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
    """A verdict row's columns as stored: reasons and facts as JSON (unless they are
    already), flagged as 0/1."""
    values = {k: v for k, v in row.items() if k != pk}
    if not isinstance(values.get("reasons"), str):
        values["reasons"] = _json(values.get("reasons") or [])
    if "flagged" in values:
        values["flagged"] = int(bool(values["flagged"]))
    if "facts" in values and not isinstance(values["facts"], str):
        values["facts"] = facts_json(values["facts"])
    return values


def save_verdicts(db: Database, table: str, rows: list[dict], stored: dict | None = None) -> int:
    """Write verdicts: `rows` hold the table's key (`id`, `phone` or `domain`) and
    score, risk, reasons (a list), flagged and, for pairs and sightings, facts (a
    dict, a `Facts`, or JSON made by `facts_json`). Of a row with a `stored` row
    (key → the row as read by `stored_pairs`), only the columns that differ from it
    are written (an index on an unchanged column is left alone), and nothing when
    none does. Returns how many rows were written."""
    pk = {"numbers": "phone", "sites": "domain"}.get(table, "id")
    # One statement per column set, run for all rows: sqlite-utils' update reads the
    # table's schema on every call, and the end of a run writes thousands of rows.
    batches: dict[tuple, list] = {}
    written = 0
    for row in rows:
        values = _verdict_values(row, pk)
        before = (stored or {}).get(row[pk])
        if before is not None:
            values = {k: v for k, v in values.items() if k not in before or before[k] != v}
            if not values:
                continue
        batches.setdefault(tuple(values), []).append([*values.values(), row[pk]])
        written += 1
    with in_transaction(db):
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
        " where key in (select value from json_each(?)) order by id",
        [with_pair_keys(db, key)],
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
