"""The `serpwatch flags` list: the flagged pairs that need an analyst, new since
the last run first.

Apart from crawler.history (which scores) so that `flags` reads without
importing the scorer, phonenumbers and tldextract: a fifth of its start-up.
"""

from __future__ import annotations

from sqlite_utils import Database

from crawler import storage


def attention(db: Database, min_risk: str = "low", limit: int | None = None) -> list[dict]:
    """Flagged pairs an analyst should look at: dismissed ones left out, new and back
    in the last run first, then the rest still seen, then the gone; confirmed ones
    last (already handled); highest score first within each group. Each record is
    an export record plus `since` (new | back | seen | gone) and `last_run`.
    `limit`: only the first so many (the order is made in SQL, over every pair)."""
    return list(iter_attention(db, min_risk=min_risk, limit=limit))


_SINCE = {1: "seen", 2: "gone"}


def iter_attention(db: Database, min_risk: str = "low", limit: int | None = None):
    """`attention`, one record at a time as the database gives them."""
    storage.ensure_db_shape(db)
    last = storage.latest_run_id(db)
    # Only the columns a flag shows (not the facts and evidence an export carries).
    for raw in storage.attention_rows(db, last, min_risk=min_risk, limit=limit):
        r = storage.export_record(raw)
        group = raw["since_group"]
        since = ("back" if raw["back"] else "new") if group == 0 else _SINCE[group]
        yield {**r, "since": since, "last_run": raw["last_run"]}


def attention_count(db: Database, min_risk: str = "low") -> int:
    """How many pairs `attention` lists without a limit."""
    storage.ensure_db_shape(db)
    return storage.attention_count(db, min_risk=min_risk)
