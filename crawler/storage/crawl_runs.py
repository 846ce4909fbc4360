"""A crawl run's record: opened, progress, interrupted, closed from Scrapy's
stats (`finish_crawl`: its engines' outcomes, warnings and counts, the
status by crawler.run_status), and the runs as read back (`RunSummary`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from dataclasses import dataclass

from sqlite_utils import Database

from crawler import stats_keys
from crawler.run_status import run_status
from crawler.storage.connection import as_run_writer, fold_wal, now, storage_failure
from crawler.storage.run_report import refresh_flag_counts
from crawler.storage.saves import save_offered_download
from crawler.storage.schema import keep_query_hits


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


def start_run(db: Database, profile: str, job: str | None = None) -> int:
    """A new run; `job` is the Scrapyd job id when Scrapyd started the crawl. This
    connection writes the run: it is set up as the writer (`as_run_writer`). The runs
    a killed crawl left `running` are the opener's (`crawler.run_recorder.open_run`
    marks them interrupted and records their history first, for both modes)."""
    as_run_writer(db)
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
    may still be crawling. Such a run kept no stats: its engines' outcomes and
    its counts come from what it stored and its last progress line.
    """
    host = socket.gethostname()
    dead = [
        row
        for row in db["runs"].rows_where("status = 'running' and host = ?", [host])
        if row["pid"] and not _alive(row["pid"])
    ]
    for row in dead:
        stats = _stats_of_a_dead_run(row)
        db["runs"].update(
            row["id"],
            {
                "status": "interrupted",
                "engine_outcomes": json.dumps(engine_outcomes(db, row["id"], stats)),
                "counts": json.dumps(run_counts(db, row["id"], stats), sort_keys=True),
            },
        )
    return [row["id"] for row in dead]


def dead_run_stats(db: Database, run_id: int) -> dict:
    """`_stats_of_a_dead_run` of a run in the database (marked interrupted)."""
    return _stats_of_a_dead_run(db["runs"].get(run_id))


def history_recorded(db: Database, run_id: int) -> bool:
    """Whether the run's end recorded its history: its new, back and gone events are
    written together or not at all (crawler.history), so a run without one did not."""
    sql = "select exists(select 1 from changes where run_id = ?)"
    return bool(db.execute(sql, [run_id]).fetchone()[0])


def last_sighting_at(db: Database, run_id: int) -> str | None:
    """When the run saw its last number (None for a run that saw none)."""
    return db.execute("select max(seen_at) from sightings where run_id = ?", [run_id]).fetchone()[0]


def add_run_stats(db: Database, run_id: int, more: dict) -> None:
    """Add these stats to the run's record (what `runs` reads of its history step)."""
    (kept,) = db.execute("select stats from runs where id = ?", [run_id]).fetchone()
    stats = {**json.loads(kept or "{}"), **more}
    db["runs"].update(run_id, {"stats": json.dumps(stats, sort_keys=True, default=str)})


def _stats_of_a_dead_run(run: dict) -> dict:
    """What the stats would have said of a run that died: stopped, its engines and
    their queries as its last progress line had them (crawler.progress)."""
    engines = (json.loads(run.get("progress") or "{}") or {}).get("engines") or []
    stats: dict = {"finish_reason": "shutdown"}
    if engines:
        stats[stats_keys.ENGINES] = [e["name"] for e in engines]
        stats[stats_keys.QUERIES] = max(e.get("total", 0) for e in engines)
    return stats


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


def runs(db: Database) -> list[dict]:
    return list(db["runs"].rows_where(order_by="id desc"))


def get_run(db: Database, run_id: int) -> dict:
    return db["runs"].get(run_id)


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


def _stored_serp_pages(db: Database, run_id: int) -> dict[str, tuple[int, int]]:
    """Per engine, the result pages and results the run stored (pages without a
    result leave no row): for a run whose stats were never kept."""
    return {
        engine: (pages, results)
        for engine, pages, results in db.execute(
            """select engine, count(distinct query || ' ' || coalesce(page, 1)), count(*)
               from serp_results where run_id = ? group by engine""",
            [run_id],
        )
    }


def engine_outcomes(db: Database, run_id: int, stats: dict) -> dict[str, dict]:
    """Per engine: answered | partial | failed | blocked | unfinished, with counts and why.

    The result pages and results are all the engine's, its unfinished queries'
    too (as the run line counts them): from the stats, else from what was stored."""
    stored = _stored_serp_pages(db, run_id)
    engines = list(stats.get(stats_keys.ENGINES) or stored)
    empty = {"answered": 0, "failed": 0, "blocked": 0, "skipped": 0}
    per: dict[str, dict] = {e: dict(empty) for e in engines}
    why_failed: dict[str, str] = {}
    for engine, outcome, n, detail in db.execute(
        """select engine, outcome, count(*), max(detail) from run_queries
           where run_id = ? group by engine, outcome""",
        [run_id],
    ).fetchall():
        row = per.setdefault(engine, dict(empty))
        row[outcome] = row.get(outcome, 0) + n
        if outcome == "failed" and detail:
            why_failed[engine] = detail
    stopped = stats.get("finish_reason") == "shutdown"
    for engine, row in per.items():
        pages, results = stored.get(engine, (0, 0))
        row["serp_pages"] = stats.get(stats_keys.SERP_PAGES(engine), pages)
        row["results"] = stats.get(stats_keys.RESULTS(engine), results)
        done = row["answered"] + row["failed"] + row["blocked"] + row["skipped"]
        row["queries"] = stats.get(stats_keys.QUERIES) or done
        if stats.get(stats_keys.BLOCKED(engine)):
            row["outcome"] = "blocked"
            row["detail"] = stats.get(stats_keys.BLOCKED_REASON(engine), "")
        elif stopped and done < row["queries"]:
            # The run was stopped before this engine was done: not its failure.
            row["outcome"] = "unfinished"
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
            # The last page that got no answer, else a failed query's own reason
            # (an unrecognised page says so only there).
            last = stats.get(stats_keys.SERP_FAILED_REASON(engine))
            row["detail"] = last or why_failed.get(engine, "")
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
    if stats_keys.SERP_PAGES.total in stats:
        serp_pages = stats[stats_keys.SERP_PAGES.total]
    else:  # no stats kept (a run that died): what it stored
        serp_pages = sum(pages for pages, _ in _stored_serp_pages(db, run_id).values())
    return {
        "serp_pages": serp_pages,
        "landing_pages": pages,
        "sightings": sightings,
        "flagged_pairs": flagged,
        "lost_items": stats.get(stats_keys.STORAGE_LOST.total, 0),
    }


def _pages(n: int) -> str:
    return f"{n} result page{'' if n == 1 else 's'}"


def _no_landing_page(stats: dict) -> list[str]:
    """A warning when not one landing page was read: the engines answered, so the run
    is not failed, but it saw no site (a proxy or DNS down, say) and found nothing."""
    asked = stats.get(stats_keys.LANDING_PAGES, 0)
    failed = {k: v for k, v in stats_keys.PAGES_FAILED.parts(stats).items() if v}
    if not asked or stats.get(stats_keys.PAGES_FAILED.total, 0) < asked:
        return []
    why = ", ".join(f"{k} {v}" for k, v in sorted(failed.items()))
    return [f"no landing page was read: all {asked} failed ({why})"]


def finish_crawl(db: Database, run_id: int, stats: dict) -> RunSummary:
    """Close a run from Scrapy's stats: what was blocked, what came back empty."""
    blocked = {
        engine: stats.get(stats_keys.BLOCKED_REASON(engine), "")
        for engine in stats_keys.BLOCKED.parts(stats)
    }
    engines = stats.get(stats_keys.ENGINES) or []
    outcomes = engine_outcomes(db, run_id, stats)
    # A page no parser recognised is a warning of its own, never "no results"; an
    # engine that failed, blocked or was stopped unfinished has its own line saying so.
    unrecognised = {e: stats.get(stats_keys.UNRECOGNISED(e), 0) for e in engines}
    said = {"failed", "blocked"} | (
        {"unfinished"} if stats.get("finish_reason") == "shutdown" else set()
    )
    warnings = [
        f"{e} returned no results for any query"
        for e in engines
        if outcomes.get(e, {}).get("outcome") not in said
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
        # "failed", not "got no answer": an error answer (a 404, a 5xx) fails a page too.
        f"{e}: {_pages(stats[stats_keys.SERP_FAILED(e)])} failed"
        f" (last: {stats.get(stats_keys.SERP_FAILED_REASON(e), '?')})"
        for e in engines
        if stats.get(stats_keys.SERP_FAILED(e))
    ]
    warnings += _no_landing_page(stats)
    keep = {
        k: v
        for k, v in stats.items()
        if k.startswith((stats_keys.PREFIX, "downloader/response_status_count", "item_"))
        or k.startswith(("retry/", "httperror/", "downloader/exception_type_count/"))
        or k in ("finish_reason", "log_count/ERROR", "elapsed_time_seconds")
    }
    for offer in stats.get(stats_keys.OFFERED_DOWNLOAD_LIST) or []:
        save_offered_download(db, run_id, offer)
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
    # What the read commands keep per run, for this run (and any run written since).
    keep_run_summaries(db)
    # The run's last WAL pages into the file, not left to the next command's first write.
    fold_wal(db)
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


def keep_run_summaries(db: Database) -> None:
    """Keep what the read commands read per run (the report's chart counts, the numbers
    `queries stats` follows results to) for every run that has none kept: the run that
    just ended, runs written since. Only a shortcut: on a full disk nothing is kept
    (the run stays recorded as it is), and those runs are counted live."""
    try:
        refresh_flag_counts(db)
        with db.atomic():
            keep_query_hits(db)
    except sqlite3.Error as exc:
        if storage_failure(exc) is None:
            raise


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


def last_run(db: Database) -> dict | None:
    rows = list(db["runs"].rows_where(order_by="id desc", limit=1))
    return rows[0] if rows else None


def last_finished_run(db: Database) -> dict | None:
    rows = list(db["runs"].rows_where("finished_at is not null", order_by="id desc", limit=1))
    return rows[0] if rows else None


# -- distributed mode (crawler/scale_store.py): one store for many workers -------------


def resume_run(db: Database, run_id: int) -> None:
    """A store that took over a run (its predecessor died) marks it running again, as its own
    (set up as the writer, as `start_run`)."""
    as_run_writer(db)
    db["runs"].update(
        run_id, {"status": "running", "host": socket.gethostname(), "pid": os.getpid()}
    )


def run_warcs(db: Database, run_id: int) -> list[str]:
    return [r["warc_file"] for r in db["run_warcs"].rows_where("run_id = ?", [run_id])]


def run_profile(db: Database, run_id: int) -> str:
    (profile,) = db.execute("select profile from runs where id = ?", [run_id]).fetchone()
    return profile


def latest_run_id(db: Database) -> int | None:
    """The newest run's id (None before the first run)."""
    return db.execute("select max(id) from runs").fetchone()[0]


def run_ids(db: Database, first: int, last: int) -> list[int]:
    """Ids of the runs from `first` to `last`, in order."""
    return [
        r
        for (r,) in db.execute(
            "select id from runs where id between ? and ? order by id", [first, last]
        )
    ]


def find_run(db: Database, run_id: int | None = None) -> dict | None:
    """A run by id, or the newest with None; None when there is no such run."""
    if run_id is None:
        return last_run(db)
    rows = list(db["runs"].rows_where("id = ?", [run_id]))
    return rows[0] if rows else None


def runs_up_to(db: Database, run_id: int) -> list[dict]:
    """Runs up to `run_id`, oldest first."""
    return list(db["runs"].rows_where("id <= ?", [run_id], order_by="id"))


def run_page_count(db: Database, run_id: int) -> int:
    """Landing pages a run stored."""
    return db.execute("select count(*) from pages where run_id = ?", [run_id]).fetchone()[0]
