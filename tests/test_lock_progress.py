"""One crawl at a time per database, and progress: on a terminal (a real pty), in the
log without one, and in the database for `serpwatch runs`. Real crawls of a slowed
simulated web on 127.0.0.1."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from watchkit import FAST, ROOT, ChangingWeb, demo_profile, env_for, exe, serpwatch, wait_for

from crawler.lock import EXIT_BUSY, CrawlLock, CrawlRunning, current_holder

QUICK_PROGRESS = [
    "-s",
    "SERPWATCH_PROGRESS_INTERVAL=0.3",
    "-s",
    "SERPWATCH_PROGRESS_DB_INTERVAL=0.2",
]


def rows(db, sql, params=()):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def running_with_progress(db) -> bool:
    try:
        return bool(
            rows(db, "select id from runs where status = 'running' and progress is not null")
        )
    except sqlite3.OperationalError:  # the crawl is still creating the tables
        return False


@pytest.fixture(scope="module")
def overlap(tmp_path_factory):
    """A slow crawl, and what second crawls and readers saw while it ran."""
    tmp = tmp_path_factory.mktemp("overlap")
    db = tmp / "o.db"
    seen = {}
    with ChangingWeb(serp_delay=0.2) as web:
        web.gate.clear()  # the first crawl waits for its first result page until we are done
        profile = demo_profile(tmp, web)
        first = subprocess.Popen(
            [exe(), "crawl", str(profile), "--db", str(db), *FAST, *QUICK_PROGRESS],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(web),
        )
        wait_for(lambda: db.exists() and running_with_progress(db))
        # All at once, while the first crawl is surely still running.
        others = {
            "second": [exe(), "crawl", str(profile), "--db", str(db), *FAST],
            "scrapy": [exe("scrapy"), "crawl", "search", "-a", f"profile={profile}"]
            + ["-s", f"SERPWATCH_DB={db}"],
            "runs": [exe(), "runs", "--db", str(db)],
            "status": [exe(), "status", "--db", str(db)],
        }
        procs = {
            name: subprocess.Popen(
                args,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=env_for(web),
            )
            for name, args in others.items()
        }
        seen["holder"] = current_holder(db)
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=60)
            seen[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert first.poll() is None
        web.gate.set()
        out, err = first.communicate(timeout=120)
    return first, out, err, db, seen


def test_a_second_crawl_is_refused_naming_the_running_run(overlap):
    first, _, _, db, seen = overlap
    second = seen["second"]
    assert second.returncode == EXIT_BUSY
    msg = second.stderr.strip()
    assert msg.startswith(f"error: another crawl is running on {db}: run 1, profile demo")
    assert f"host {socket.gethostname()}" in msg and f"pid {first.pid}" in msg
    assert re.search(r"started 20\d\d-\d\d-\d\dT", msg)
    assert "Traceback" not in second.stderr
    assert seen["holder"].pid == first.pid and seen["holder"].run_id == 1


def test_scrapy_crawl_takes_the_same_lock(overlap):
    _, _, _, _, seen = overlap
    proc = seen["scrapy"]
    assert proc.returncode == EXIT_BUSY, proc.stderr[-2000:]
    assert "another crawl is running" in proc.stderr and "run 1, profile demo" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_refused_crawls_left_no_run_and_the_first_finished(overlap):
    first, _, err, db, _ = overlap
    assert first.returncode == 0, err[-3000:]
    assert [(r["id"], r["status"]) for r in rows(db, "select * from runs")] == [(1, "finished")]
    assert Path(f"{db}.lock").read_text() == "", "a clean exit leaves an empty lock file"
    assert current_holder(db) is None


def test_runs_shows_a_running_runs_progress(overlap):
    _, _, _, _, seen = overlap
    out = seen["runs"].stdout
    assert re.search(r"^\s+1\s+\S+\s+running\s+demo", out, re.M), out
    line = next(x for x in out.splitlines() if "progress (" in x)
    assert re.search(r"queries bing \d/7;", line) and "landing pages" in line
    assert "elapsed" in line and "left" in line


def test_status_while_the_first_run_is_running(overlap):
    _, _, _, _, seen = overlap
    assert seen["status"].returncode == 1
    assert "run 1 is running, none has finished yet" in seen["status"].stdout


def test_progress_lines_in_the_log_without_a_terminal(overlap):
    _, _, err, db, _ = overlap
    lines = [x for x in err.splitlines() if "[crawler.progress] INFO: progress: " in x]
    assert len(lines) >= 3, err[-3000:]
    assert re.search(r"queries bing \d/7;", lines[0])
    assert lines[-1].endswith("done")
    assert "queries bing 7/7;" in lines[-1] and "landing pages" in lines[-1]
    final = rows(db, "select progress from runs")[0]["progress"]
    assert '"finished": true' in final


def test_stale_lock_of_a_killed_crawl_is_taken_over(tmp_path):
    db = tmp_path / "s.db"
    code = (
        "import sys, time\nfrom crawler.lock import CrawlLock\n"
        f"CrawlLock({str(db)!r}).acquire(run_id=7, profile='demo')\n"
        "print('held', flush=True)\ntime.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(CrawlRunning, match=f"run 7, profile demo, host .*, pid {holder.pid}"):
        CrawlLock(db).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert f'"pid": {holder.pid}' in Path(f"{db}.lock").read_text()
    with ChangingWeb() as web:
        proc = serpwatch("crawl", demo_profile(tmp_path, web), "--db", db, *FAST, env=env_for(web))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(
        rf"took over a stale lock on {re.escape(str(db))} left by run 7, profile demo, host"
        rf" \S+, pid {holder.pid}",
        proc.stderr,
    )


def test_a_crawl_through_a_symlink_takes_the_same_lock(tmp_path):
    """The lock was `{--db}.lock`: a second crawl on `link.db -> l.db` took
    `link.db.lock` and wrote the same database at the same time."""
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "l.db"
    (tmp_path / "link.db").symlink_to(db)
    (tmp_path / "folder").symlink_to(tmp_path / "data", target_is_directory=True)
    lock = CrawlLock(db).acquire(run_id=3, profile="demo")
    try:
        for other in ("link.db", "folder/l.db", "data/../folder/l.db"):
            with pytest.raises(CrawlRunning, match="run 3, profile demo"):
                CrawlLock(tmp_path / other).acquire()
    finally:
        lock.release()


def test_lock_file_in_an_unwritable_folder_is_a_clear_error(tmp_path):
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    # Root writes into a 0555 folder; an immutable one (ext4's chattr +i) stops it too.
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(readonly)], check=True)
    try:
        with ChangingWeb() as web:
            profile = demo_profile(tmp_path / "p", web)
            proc = serpwatch("crawl", profile, "--db", readonly / "x.db", env=env_for(web))
            assert sum(web.asked.values()) == 0
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(readonly)], check=True)
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(
        rf"error: cannot create the lock file {re.escape(str(readonly))}/x\.db\.lock: "
        r"(Permission denied|Operation not permitted); the database's folder must be writable"
        r" \(or set SERPWATCH_LOCK_FILE to a writable path\)",
        proc.stderr.strip(),
    ), proc.stderr
    assert not list(readonly.iterdir())


def test_live_display_on_a_terminal(tmp_path):
    """`serpwatch crawl` under a pseudo-terminal draws and redraws the rich display."""
    db = tmp_path / "t.db"
    with ChangingWeb(delay=0.15) as web:
        profile = demo_profile(tmp_path, web)
        master, slave = pty.openpty()
        env = env_for(web, TERM="xterm-256color", COLUMNS="120", LINES="40")
        env.pop("NO_COLOR", None)
        proc = subprocess.Popen(
            [exe(), "crawl", str(profile), "--db", str(db), *FAST],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        chunks = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
        os.close(master)
    out = b"".join(chunks).decode("utf-8", "replace")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert proc.returncode == 0, plain[-3000:]
    # The display: a table per engine and a totals line, redrawn in place.
    assert "serpwatch crawl" in plain and "result pages" in plain
    assert re.search(r"bing\s*│\s*7/7\s*│", plain), plain[-3000:]
    assert plain.count("landing pages ") >= 3, "the display was drawn only once or twice"
    assert re.search(r"landing pages \d+/\d+\s+numbers \d+\s+flagged \d+\s+blocks 0", plain)
    assert "elapsed" in plain and "left" in plain and "done" in plain
    assert "\x1b[1A" in out or "\x1b[2K" in out, "no cursor movement: not a live display"
    # No progress log lines on a terminal: the display says it.
    assert "INFO: progress: " not in plain
    # The crawl's own summary still follows the display.
    assert "run 1: 7 result pages" in plain
