"""Nothing lost: readers never block the crawl, a killed crawl leaves a sound database.

- WAL: an analyst's long read transaction does not stop a writer.
- busy timeout: two writers take turns instead of failing with "database is locked".
- SIGKILL in the middle of a crawl leaves a database that passes
  `PRAGMA integrity_check`; running the crawl again adds no duplicates.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from servers.crawl import ROOT, RUN_CLI, cli_env, write_profile
from servers.faultserver import FaultServer

from crawler import storage

PAGES = 16  # /slow/<n>, each with its own number 085 208 1<nnn>


def _page(n: int) -> dict:
    return {
        "url": f"http://scam{n}.example/",
        "entry_url": f"http://scam{n}.example/",
        "domain": f"scam{n}.example",
        "status": 200,
        "title": "t",
    }


def _writes(path, count: int, errors: list, done: threading.Event):
    try:
        db = storage.open_db(path)
        run_id = storage.start_run(db, "w")
        for n in range(count):
            storage.save_page(db, run_id, _page(n), [])
        db.close()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        errors.append(exc)
    finally:
        done.set()


def test_a_long_read_transaction_does_not_block_the_writer(tmp_path):
    path = tmp_path / "w.db"
    storage.open_db(path).close()
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("begin")
    before = reader.execute("select count(*) from pages").fetchone()[0]
    errors: list = []
    done = threading.Event()
    threading.Thread(target=_writes, args=(path, 50, errors, done), daemon=True).start()
    try:
        # Without WAL the writer would wait for this reader (then fail: locked).
        assert done.wait(10), "the writer was blocked by a reader"
        assert errors == []
        # The reader still sees its snapshot; a new reader sees the writes.
        assert reader.execute("select count(*) from pages").fetchone()[0] == before
    finally:
        reader.execute("rollback")
        reader.close()
    assert sqlite3.connect(path).execute("select count(*) from pages").fetchone()[0] == 50


def test_a_second_writer_waits_instead_of_failing(tmp_path):
    path = tmp_path / "w.db"
    storage.open_db(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("begin immediate")  # another process holds the write lock
    other.execute("insert into triage (key, action, note, at) values ('x', 'confirm', '', '')")
    releaser = threading.Timer(1.0, lambda: other.execute("commit"))
    releaser.start()
    try:
        db = storage.open_db(path)
        started = time.monotonic()
        run_id = storage.start_run(db, "second writer")
        storage.save_page(db, run_id, _page(1), [])
        assert time.monotonic() - started >= 0.5  # it waited for the lock
        db.close()
    finally:
        releaser.join()
        other.close()


def _pages(path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("select count(*) from pages").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def killed_then_rerun(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sigkill")
    with FaultServer() as server:
        server.results = [server.url(f"/slow/{n}") for n in range(PAGES)]
        profile = write_profile(folder, server.url("/search"), allow_private=True)
        db = folder / "crawl.db"
        args = [
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
        ]
        env = cli_env(folder)
        victim = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while _pages(db) < 3 and time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.05)
        stored_when_killed = _pages(db)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        integrity = sqlite3.connect(db).execute("pragma integrity_check").fetchall()

        # Run again, with an analyst holding a read transaction the whole time.
        reader = sqlite3.connect(db, isolation_level=None)
        reader.execute("begin")
        reader.execute("select count(*) from pages").fetchone()
        try:
            rerun = subprocess.run(
                args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
            )
        finally:
            reader.execute("rollback")
            reader.close()
    return {
        "db": db,
        "killed_after": stored_when_killed,
        "integrity": integrity,
        "rerun": rerun,
        "server": server,
    }


def test_sigkill_mid_crawl_leaves_a_sound_database(killed_then_rerun):
    assert 0 < killed_then_rerun["killed_after"] < PAGES, "the kill should land mid-crawl"
    assert killed_then_rerun["integrity"] == [("ok",)]


def test_the_rerun_completes_beside_a_long_reader(killed_then_rerun):
    rerun = killed_then_rerun["rerun"]
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "database is locked" not in rerun.stderr
    assert "Traceback" not in rerun.stderr


def test_the_killed_run_is_marked_interrupted_by_the_rerun(killed_then_rerun):
    conn = sqlite3.connect(killed_then_rerun["db"])
    statuses = [s for (s,) in conn.execute("select status from runs order by id")]
    assert statuses == ["interrupted", "finished"]


def test_the_rerun_adds_no_duplicates(killed_then_rerun):
    conn = sqlite3.connect(killed_then_rerun["db"])
    port = killed_then_rerun["server"].port
    (last_run,) = conn.execute("select max(id) from runs").fetchone()
    urls = [u for (u,) in conn.execute("select url from pages where run_id = ?", [last_run])]
    assert sorted(urls) == sorted(f"http://127.0.0.1:{port}/slow/{n}" for n in range(PAGES))
    expected = {f"+31852081{n:03d}" for n in range(PAGES)}
    phones = [p for (p,) in conn.execute("select phone from numbers")]
    assert sorted(phones) == sorted(expected)  # one row each, over both runs
    pairs = conn.execute("select domain, phone from site_numbers").fetchall()
    assert len(pairs) == len(set(pairs)) == PAGES
    assert conn.execute("select count(*) from sites").fetchone()[0] == 1
    assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
