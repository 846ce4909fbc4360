"""Crash and concurrency at the crawl's level (issue 11): a crawl killed at any point
leaves an intact database without duplicates and a rerun ends with the same flagged
set; `--jobdir` resumes an interrupted crawl to the same flagged set; readers never
fail with "database is locked" while a crawl writes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from servers.crawl import ROOT, RUN_CLI, cli_env, write_profile
from servers.faultserver import FaultServer
from sqlite_utils import Database

from crawler import storage
from crawler.cli import main

PAGES = 12  # /slow/<n>: a quarter of a second each, its own number 085 208 1<nnn>


def _args(profile, db, *extra) -> list[str]:
    return [
        sys.executable,
        str(RUN_CLI),
        "crawl",
        str(profile),
        "--db",
        str(db),
        "-s",
        "SERPWATCH_ENGINE_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=2",
        *extra,
    ]


def _count(db, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return 0


def _flagged(db) -> set[tuple[str, str]]:
    return storage.flagged_pairs(Database(db))


def _duplicates(db) -> dict[str, int]:
    """Rows that share a natural key, per table (none may)."""
    return storage.duplicate_rows(Database(db))


def _intact(db) -> bool:
    return storage.integrity_problems(Database(db)) == []


@pytest.fixture(scope="module")
def web():
    with FaultServer() as server:
        server.results = [server.url(f"/slow/{n}") for n in range(PAGES)]
        yield server


@pytest.fixture(scope="module")
def clean(web, tmp_path_factory):
    """The flagged set of an uninterrupted crawl: what every recovery must reach."""
    folder = tmp_path_factory.mktemp("clean")
    profile = write_profile(folder, web.url("/search"), allow_private=True)
    db = folder / "clean.db"
    proc = subprocess.run(
        _args(profile, db), env=cli_env(folder), cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    flagged = _flagged(db)
    assert len(flagged) == PAGES
    return flagged


@pytest.mark.parametrize("after_pages", [0, 2, 7])
def test_a_crawl_killed_at_any_point_leaves_an_intact_database_and_reruns_to_the_same_flags(
    web, clean, tmp_path, after_pages
):
    profile = write_profile(tmp_path, web.url("/search"), allow_private=True)
    db = tmp_path / "crawl.db"
    env = cli_env(tmp_path)
    # Two requests at a time, so the pages come two per quarter second and the
    # crawl is still running when the kill point is reached (with the default
    # concurrency the last six came at once and an idle machine finished the run
    # before the poll saw them). The store commits the pages of the last 50 ms at
    # once (pipelines/store.py): one page per batch makes 7 of 12 a real state.
    extra = ["-s", "CONCURRENT_REQUESTS=2", "-s", "SERPWATCH_STORE_BATCH=1"]
    victim = subprocess.Popen(
        _args(profile, db, *extra),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and victim.poll() is None:
        if _count(db, "select count(*) from runs") and (
            _count(db, "select count(*) from pages") >= after_pages
        ):
            break
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    assert _intact(db)
    assert _duplicates(db) == dict.fromkeys(_duplicates(db), 0)
    rerun = subprocess.run(_args(profile, db), env=env, cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _duplicates(db) == dict.fromkeys(_duplicates(db), 0)
    assert _flagged(db) == clean
    with sqlite3.connect(db) as conn:
        statuses = [s for (s,) in conn.execute("select status from runs order by id")]
        # The killed run's history, recorded by the rerun before its own: each number
        # it saw first is new in it (it had none: never new, and never to be gone).
        seen = _numbers(conn, "select distinct phone from sightings where run_id = 1"
                        " and official = 0 and is_fax = 0")  # fmt: skip
        new = _numbers(conn, "select key from changes where run_id = 1"
                       " and kind = 'number' and event = 'new'")  # fmt: skip
        again = _numbers(conn, "select key from changes where run_id = 2"
                         " and kind = 'number' and event = 'new'")  # fmt: skip
    assert statuses == ["interrupted", "finished"]
    assert new == seen and not (again & seen), (seen, new, again)
    if seen:
        assert "run 1 was killed before its end: its history is recorded now" in rerun.stderr


def _numbers(conn, sql: str) -> set[str]:
    return {k for (k,) in conn.execute(sql)}


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_jobdir_ends_a_stopped_crawl_with_the_same_flagged_set(web, clean, tmp_path, stop):
    """SIGINT pauses: the next crawl resumes the JOBDIR. SIGKILL leaves Scrapy's disk
    queue cut mid-record and its seen file naming requests the queue lost: resumed
    as it was, a crawl hung on the queue or ended "finished" without the lost pages
    (an audit's 20-site crawl); the next crawl starts the JOBDIR over."""
    profile = write_profile(tmp_path, web.url("/search"), allow_private=True)
    db = tmp_path / "crawl.db"
    env = cli_env(tmp_path)
    job = tmp_path / "job"
    # Two requests at a time: the rest wait in the scheduler, which the jobdir keeps.
    args = _args(profile, db, "--jobdir", str(job), "-s", "CONCURRENT_REQUESTS=2")
    first = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while _count(db, "select count(*) from pages") < 3 and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()[1][-3000:]
        time.sleep(0.02)
    first.send_signal(stop)
    _, err = first.communicate(timeout=60)
    assert first.returncode == (130 if stop == signal.SIGINT else -stop), err[-3000:]
    assert _count(db, "select count(*) from pages") < PAGES  # stopped before the end
    resumed = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _flagged(db) == clean
    started_over = f"jobdir {job}: the crawl that used it last was killed"
    assert (started_over in resumed.stderr) == (stop == signal.SIGKILL), resumed.stderr[-3000:]
    assert not (job / "serpwatch-open").exists()  # closed cleanly: the next one resumes
    assert _duplicates(db) == dict.fromkeys(_duplicates(db), 0)
    with sqlite3.connect(db) as conn:
        statuses = [s for (s,) in conn.execute("select status from runs order by id")]
    assert statuses == ["interrupted", "finished"]


def test_readers_never_fail_with_database_is_locked_while_a_crawl_writes(web, tmp_path):
    profile = write_profile(tmp_path, web.url("/search"), allow_private=True)
    db = tmp_path / "crawl.db"
    crawl = subprocess.Popen(
        _args(profile, db),
        env=cli_env(tmp_path),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    reads = 0
    while not db.exists():
        time.sleep(0.02)
    time.sleep(0.3)  # the schema is in place
    commands = (
        ["flags", "--json"],
        ["runs"],
        ["export", "--format", "csv"],
        ["queries", "stats"],
        ["history", "+31852081000"],
    )
    while crawl.poll() is None:
        for args in commands:
            res = CliRunner().invoke(main, [*args, "--db", str(db)])
            assert res.exit_code == 0, res.output
            assert "locked" not in res.output
            reads += 1
        # A plain SQLite reader (Datasette reads like this) in the middle of the writes.
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            conn.execute("select count(*) from sightings").fetchone()
    _, err = crawl.communicate(timeout=60)
    assert crawl.returncode == 0, err[-3000:]
    assert "database is locked" not in err
    assert reads >= len(commands)  # the readers ran while the crawl wrote


def test_two_crawls_on_one_database_never_interleave(tmp_path):
    """The second crawl is refused (crawler.lock, exit 75) while the first writes: one
    run at a time, every row of the database from the first run."""
    from enginesim import EngineSim
    from test_runs_truth import SCAM, _start

    db = tmp_path / "crawl.db"
    with EngineSim(latency=8) as sim:  # the first crawl waits on a slow engine
        sim.serve("bing", {1: "ads-helpdesk-nl"})
        sim.sites["microsoft-hulpdesk.example"] = SCAM
        engines = [("bing", sim.url("bing"))]
        first = _start(tmp_path / "a", sim, engines, db)
        deadline = time.monotonic() + 60
        while not _count(db, "select count(*) from runs") and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _start(tmp_path / "b", sim, engines, db)
        out, err = second.communicate(timeout=120)
        # Refused only while the first holds the database (had it finished, this would crawl).
        assert second.returncode == 75, err[-3000:]
        assert first.poll() is None
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-3000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select id, status from runs").fetchall() == [(1, "finished")]
        for table in ("serp_results", "pages", "sightings", "run_queries"):
            runs = {r for (r,) in conn.execute(f"select distinct run_id from {table}")}
            assert runs == {1}, table
