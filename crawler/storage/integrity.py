"""What a killed crawl must leave behind: a file SQLite finds intact, and no two
rows with one natural key (the keys `saves` upserts on). The crash tests and
`bench/crash.py` (the same promise at a year's size) ask these."""

from __future__ import annotations

from sqlite_utils import Database

# Per table, the rows beyond one per natural key.
_DUPLICATES = {
    "pages": "select count(*) - count(distinct run_id || ' ' || url) from pages",
    "sightings": "select count(*) - count(distinct run_id || ' ' || url || ' ' || phone)"
    " from sightings",
    "site_numbers": "select count(*) - count(distinct domain || ' ' || phone) from site_numbers",
    "serp_results": "select count(*) - count(distinct run_id || ' ' || engine || ' ' ||"
    " query || ' ' || page || ' ' || is_ad || ' ' || coalesce(rank, '') || ' ' ||"
    " coalesce(ad_position, '')) from serp_results",
    "run_queries": "select count(*) - count(distinct run_id || ' ' || engine || ' ' || query)"
    " from run_queries",
}


def duplicate_rows(db: Database) -> dict[str, int]:
    """Rows that share a natural key, per table: none may."""
    return {table: db.execute(sql).fetchone()[0] for table, sql in _DUPLICATES.items()}


def integrity_problems(db: Database) -> list[str]:
    """SQLite's `integrity_check`: an empty list when the file is intact."""
    found = [row[0] for row in db.execute("pragma integrity_check")]
    return [] if found == ["ok"] else found


def flagged_pairs(db: Database) -> set[tuple[str, str]]:
    """(domain, phone) of every flagged pair: what a rerun after a kill must reach."""
    return set(db.execute("select domain, phone from site_numbers where flagged = 1").fetchall())
