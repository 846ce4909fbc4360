"""`serpwatch crawl` tells the truth: exit codes, run status, per-engine lines, signals,
and history that a bad run cannot falsify. Real crawls (the CLI in a subprocess)
against tests/enginesim.py on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from enginesim import EngineSim

BRANDS = """
[[brands]]
name = "Microsoft"
keywords = ["microsoft", "outlook"]
domains = ["microsoft.com"]
phones = ["+31 20 500 1005"]
"""


def _closed_port_url() -> str:
    """An engine URL nobody answers on: connection refused, at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/search"


def _profile(folder: Path, engines: list[tuple[str, str]], tail: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brands.toml").write_text(BRANDS)
    blocks = "".join(
        f'\n[[engines]]\nkind = "{k}"\nurl = "{url}"\ndelay = 0\n' for k, url in engines
    )
    path = folder / "profile.toml"
    path.write_text(
        'name = "truth"\nbrands = "brands.toml"\nregion = "NL"\nlanguage = "nl"\n'
        "results_per_query = 5\nfollow_ads = true\nallow_private = true\n"
        f'{blocks}\n[queries]\ntemplates = ["{{brand}} helpdesk telefoonnummer"]\n{tail}'
    )
    return path


def _start(
    folder: Path, sim: EngineSim, engines, db: Path, *extra, tail: str = "", proxy: str = ""
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proxy = proxy or sim.proxy_url  # the sites are reached through it, the engines not
    env.update(http_proxy=proxy, https_proxy=proxy, no_proxy="127.0.0.1")
    exe = Path(sys.executable).with_name("serpwatch")
    args = [str(exe), "crawl", str(_profile(folder, engines, tail)), "--db", str(db)]
    args += ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "RETRY_TIMES=0", *extra]
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def crawl(folder: Path, sim: EngineSim, engines, db: Path | None = None, *extra):
    db = db or folder / "crawl.db"
    proc = _start(folder, sim, engines, db, *extra)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err, db


def q(db: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def last_run(db: Path) -> dict:
    (row,) = q(db, "select status, engine_outcomes, counts from runs order by id desc limit 1")
    return {"status": row[0], "engines": json.loads(row[1] or "{}"), "counts": json.loads(row[2])}


SCAM = (
    "<!DOCTYPE html><html><head><title>Microsoft Helpdesk Nederland</title></head>"
    "<body><h1>Microsoft helpdesk</h1><p>Computer geblokkeerd? Bel direct "
    '<a href="tel:+31852081234">085 208 1234</a>.</p></body></html>'
)


@pytest.fixture
def sim():
    with EngineSim() as s:
        s.serve("bing", {1: "ads-helpdesk-nl"})
        s.serve("duckduckgo", {1: "ads-helpdesk-nl"})
        s.sites["microsoft-hulpdesk.example"] = SCAM
        yield s


# -- exit codes and status -------------------------------------------------------------


def test_every_engine_answered_exits_0_finished(tmp_path, sim):
    code, out, err, db = crawl(tmp_path, sim, [("bing", sim.url("bing"))])
    assert code == 0, err[-2000:]
    assert "engine bing: answered, 1 of 1 queries answered" in out
    run = last_run(db)
    assert run["status"] == "finished" and run["engines"]["bing"]["outcome"] == "answered"
    assert run["counts"]["landing_pages"] > 0 and run["counts"]["flagged_pairs"] > 0


def test_no_engine_answered_exits_1_failed_never_success(tmp_path, sim):
    code, out, err, db = crawl(tmp_path, sim, [("bing", _closed_port_url())])
    assert code == 1, err[-2000:]
    assert "engine bing: FAILED, 0 of 1 queries answered" in out
    assert "ConnectionRefusedError" in out or "refused" in out.lower()
    assert last_run(db)["status"] == "failed"


def test_one_engine_failing_exits_1_partial_with_a_line_per_engine(tmp_path, sim):
    engines = [("bing", sim.url("bing")), ("duckduckgo", _closed_port_url())]
    code, out, err, db = crawl(tmp_path, sim, engines)
    assert code == 1, err[-2000:]
    assert "engine bing: answered, 1 of 1 queries answered" in out
    assert "engine duckduckgo: FAILED, 0 of 1 queries answered" in out
    run = last_run(db)
    assert run["status"] == "partial"
    assert {e: o["outcome"] for e, o in run["engines"].items()} == {
        "bing": "answered",
        "duckduckgo": "failed",
    }


def test_a_run_that_read_no_landing_page_says_so(tmp_path, sim):
    """The engines answered (exit 0), but every site failed: it said nothing."""
    db = tmp_path / "crawl.db"
    proc = _start(tmp_path, sim, [("bing", sim.url("bing"))], db, proxy="http://127.0.0.1:9")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert re.search(r"no landing page was read: all (\d+) failed \(.+ \1\)", out), out
    (tmp_path / "ok").mkdir()
    code, ok, _, _ = crawl(tmp_path / "ok", sim, [("bing", sim.url("bing"))])
    assert code == 0 and "no landing page was read" not in ok, ok


def test_every_engine_blocked_exits_3_blocked(tmp_path, sim):
    sim.block("bing", "rate-limited-429")
    code, out, _, db = crawl(tmp_path, sim, [("bing", sim.url("bing"))])
    assert code == 3
    assert "engine bing: BLOCKED" in out and last_run(db)["status"] == "blocked"


def test_a_wrong_engine_url_is_a_failure_not_a_block(tmp_path, sim):
    """A 404 from a wrong URL is no block by the engine: the queries failed, with the status."""
    code, out, err, db = crawl(tmp_path, sim, [("bing", sim.base_url + "/nosuch/search")])
    assert code == 1, out + err[-2000:]
    assert "engine bing: FAILED, 0 of 1 queries answered" in out and "HTTP 404" in out
    assert "BLOCKED" not in out and "got no answer" not in out
    assert "warning: bing: 1 result page failed (last: HTTP 404)" in out, out
    run = last_run(db)
    assert run["status"] == "failed" and run["engines"]["bing"]["outcome"] == "failed"


def test_a_server_error_fails_and_a_403_still_blocks(tmp_path, sim):
    sim.serve("bing", {1: "server-error-503"})
    sim.block("duckduckgo", "challenge-403")
    engines = [("bing", sim.url("bing")), ("duckduckgo", sim.url("duckduckgo"))]
    code, out, err, db = crawl(tmp_path, sim, engines)
    assert code == 1, out + err[-2000:]
    assert "engine bing: FAILED, 0 of 1 queries answered" in out and "HTTP 503" in out
    assert "engine duckduckgo: BLOCKED" in out
    assert last_run(db)["status"] == "failed"


RETRIES = ("-s", "RETRY_TIMES=2")  # crawler.settings (the other tests ask once)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_once_is_asked_again_and_the_run_finishes(tmp_path, sim, status):
    """A result page's 5xx may pass: asked again, the query is answered (it failed the run)."""
    sim.fail("bing", status, times=1)
    code, out, err, db = crawl(tmp_path, sim, [("bing", sim.url("bing"))], None, *RETRIES)
    assert code == 0, out + err[-2000:]
    assert [h["status"] for h in sim.engine_hits("bing") if h["page"] == 1] == [status, 200]
    assert "engine bing: answered, 1 of 1 queries answered" in out
    assert last_run(db)["status"] == "finished"


@pytest.mark.parametrize(
    ("status", "asked", "code", "said"),
    [
        (503, 3, 1, "FAILED"),
        (404, 1, 1, "FAILED"),
        (410, 1, 1, "FAILED"),
        (403, 1, 3, "BLOCKED"),
        (429, 1, 3, "BLOCKED"),
    ],
)
def test_only_an_error_that_may_pass_is_asked_again(tmp_path, sim, status, asked, code, said):
    """A 5xx is asked RETRY_TIMES more times; a wrong URL's 404 or 410 won't heal, and a
    403 or 429 is a block (the engine's own handling): asked once."""
    sim.fail("bing", status)
    got, out, err, db = crawl(tmp_path, sim, [("bing", sim.url("bing"))], None, *RETRIES)
    assert got == code, out + err[-2000:]
    assert len(sim.engine_hits("bing")) == asked
    assert f"engine bing: {said}, 0 of 1 queries answered" in out, out


def test_runs_shows_status_counts_and_engine_outcomes(tmp_path, sim):
    engines = [("bing", sim.url("bing")), ("duckduckgo", _closed_port_url())]
    _, _, _, db = crawl(tmp_path, sim, engines)
    exe = Path(sys.executable).with_name("serpwatch")
    out = subprocess.run(
        [str(exe), "runs", "--db", str(db)], capture_output=True, text=True, check=True
    ).stdout
    assert "partial" in out.splitlines()[0]
    assert "landing pages" in out and "flagged (site, number) pairs" in out
    assert "engine bing: answered" in out and "engine duckduckgo: FAILED" in out


# -- signals ---------------------------------------------------------------------------


def _wait_for_run(db: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        try:
            if (
                q(db, "select count(*) from run_queries")[0][0]
                or q(db, "select count(*) from runs where status = 'running'")[0][0]
            ):
                return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.1)
    raise AssertionError("the crawl never started")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_gracefully_interrupted_with_128_plus_signal(tmp_path, sig, code):
    with EngineSim(latency=1.5) as sim:
        sim.serve("bing", {1: "ads-helpdesk-nl"})
        db = tmp_path / "crawl.db"
        proc = _start(tmp_path, sim, [("bing", sim.url("bing"))], db)
        _wait_for_run(db, proc)
        time.sleep(0.5)  # the first result page is on its way
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err
    assert last_run(db)["status"] == "interrupted"
    assert out.startswith("run 1: ") and out.splitlines()[0].endswith("; interrupted")


def test_a_signal_does_not_wait_out_an_engines_retry_after(tmp_path):
    """A 429 asking for 25 s: the crawl slept them out before it stopped (22 s after
    Ctrl-C in an audit)."""
    with EngineSim() as sim:
        sim.serve("bing", {1: "ads-helpdesk-nl"})
        sim.block("bing", "rate-limited-429", retry_after=25, times=1)
        db = tmp_path / "crawl.db"
        proc = _start(tmp_path, sim, [("bing", sim.url("bing"))], db)
        end = time.monotonic() + 60
        while not sim.engine_hits("bing") and time.monotonic() < end:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(1)  # the 429 is read: the engine pauses
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    assert proc.returncode == 130, err[-2000:]
    assert took < 10, f"took {took:.1f} s after the signal"
    assert last_run(db)["status"] == "interrupted"


def test_a_second_signal_stops_at_once(tmp_path):
    with EngineSim(latency=30) as sim:  # a result page that takes 30 s
        sim.serve("bing", {1: "ads-helpdesk-nl"})
        db = tmp_path / "crawl.db"
        proc = _start(tmp_path, sim, [("bing", sim.url("bing"))], db)
        _wait_for_run(db, proc)
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        time.sleep(1)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    assert took < 15, f"took {took:.1f} s after the second signal"
    assert proc.returncode == 130, err[-2000:]
    assert last_run(db)["status"] == "interrupted"


def _wait_for_status(db: Path, proc: subprocess.Popen, status: str, timeout=60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        try:
            if q(db, "select count(*) from runs where status = ?", [status])[0][0]:
                return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.1)
    raise AssertionError(f"the run never became {status}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_after_the_run_was_recorded_exits_by_its_status(tmp_path, sim, sig):
    """Alerts retry after the run is recorded finished: a signal then stops the
    retries, but the exit code is the recorded run's (0), not 130/143."""
    alerts = f'\n[alerts]\nurls = ["json://{_closed_port_url()[7:-7]}"]\nmin_risk = "low"\n'
    db = tmp_path / "crawl.db"
    retries = ("-s", "SERPWATCH_ALERT_RETRIES=3", "-s", "SERPWATCH_ALERT_RETRY_DELAY=3")
    proc = _start(tmp_path, sim, [("bing", sim.url("bing"))], db, *retries, tail=alerts)
    _wait_for_status(db, proc, "finished")
    time.sleep(0.3)  # the first alert fails; its retry waits
    started = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - started
    # The retries are given up (each message waited 3 + 6 s more before): told next run.
    assert took < 5, f"took {took:.1f} s after the signal"
    assert q(db, "select ok from alert_deliveries") and not any(
        ok for (ok,) in q(db, "select ok from alert_deliveries")
    )
    assert last_run(db)["status"] == "finished"
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert "after run 1 was recorded finished" in err


def _signalled_at(tmp_path, sim, db, point: str, sig, tail: str = ""):
    """A crawl held at a test hold point (crawler/testhook.py) and sent `sig` there;
    (the process, its stdout, its stderr) once it ended."""
    hold = tmp_path / "hold"
    os.environ.update(SERPWATCH_TEST_HOLD=point, SERPWATCH_TEST_HOLD_FILE=str(hold))
    try:
        proc = _start(tmp_path, sim, [("bing", sim.url("bing"))], db, tail=tail)
    finally:
        del os.environ["SERPWATCH_TEST_HOLD"], os.environ["SERPWATCH_TEST_HOLD_FILE"]
    end = time.monotonic() + 60
    while not hold.exists():
        assert proc.poll() is None and time.monotonic() < end, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(sig)
    time.sleep(0.3)
    hold.unlink()
    out, err = proc.communicate(timeout=60)
    return proc, out, err


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_start_up_stops_with_one_line(tmp_path, sim, sig, code):
    """A signal while the crawler is made (inside process.crawl, before Scrapy's own
    handlers): before, a Deferred traceback, "the crawl did not start" and exit 1."""
    db = tmp_path / "crawl.db"
    proc, out, err = _signalled_at(tmp_path, sim, db, "spider.created", sig)
    assert proc.returncode == code, out + err[-3000:]
    assert "Traceback" not in err and "did not start" not in err
    assert q(db, "select count(*) from runs where status = 'running'") == [(0,)]
    assert not sim.engine_hits("bing"), "a stopped crawl asks no engine"


# -- history through real crawls -------------------------------------------------------


def test_an_unreachable_engine_marks_nothing_gone_and_the_next_run_nothing_back(tmp_path, sim):
    """The issue's story: run 2's engine is unreachable; before, every number went
    "gone" and came "back" in run 3."""
    db = tmp_path / "history.db"
    good = [("bing", sim.url("bing"))]
    code, *_ = crawl(tmp_path / "1", sim, good, db)
    assert code == 0
    seen = q(db, "select count(*) from changes where run_id = 1 and event = 'new'")[0][0]
    assert seen > 0
    code, *_ = crawl(tmp_path / "2", sim, [("bing", _closed_port_url())], db)
    assert code == 1
    assert q(db, "select count(*) from changes where run_id = 2 and event = 'gone'")[0][0] == 0
    code, *_ = crawl(tmp_path / "3", sim, good, db)
    assert code == 0
    assert q(db, "select count(*) from changes where run_id = 3")[0][0] == 0  # no "back"
    # And a good run that no longer shows the scam site records it gone.
    sim.serve("bing", {1: "no-results"})
    crawl(tmp_path / "4", sim, good, db)
    gone = q(db, "select kind, key from changes where run_id = 4 and event = 'gone'")
    assert ("site", "microsoft-hulpdesk.example") in gone


def test_an_unrecognised_result_page_is_a_failed_query_not_an_answer(tmp_path, sim):
    sim.serve("bing", {1: "unrecognised-layout"})
    code, out, _, db = crawl(tmp_path, sim, [("bing", sim.url("bing"))])
    assert code == 1
    assert "engine bing: FAILED, 0 of 1 queries answered" in out and "not recognised" in out
    assert q(db, "select outcome from run_queries") == [("failed",)]


def test_a_failed_engine_line_says_why_and_gets_no_no_results_warning(tmp_path, sim):
    """Before: an unrecognised page gave a FAILED line without a reason, and a failed
    engine also the warning "returned no results for any query"."""
    sim.serve("bing", {1: "unrecognised-layout"})
    engines = [("bing", sim.url("bing")), ("duckduckgo", sim.base_url + "/nosuch/search")]
    code, out, err, _ = crawl(tmp_path, sim, engines)
    assert code == 1, err[-2000:]
    bing = next(line for line in out.splitlines() if line.startswith("engine bing:"))
    assert bing.startswith("engine bing: FAILED, 0 of 1 queries answered")
    assert "result page not recognised" in bing
    assert "returned no results for any query" not in out


@pytest.mark.parametrize(
    ("stats_extra", "status", "code"),
    [
        # A first SIGTERM that lands before the engine has started: the reactor
        # stops without spider_closed, so nothing else closes the run.
        ({"serpwatch/signal": "SIGTERM"}, "interrupted", 143),
        ({"serpwatch/signal": "SIGINT", "serpwatch/forced": True}, "interrupted", 130),
    ],
)
def test_a_stopped_crawl_whose_run_was_left_open_is_closed_as_interrupted(
    tmp_path, stats_extra, status, code
):
    from crawler import stats_keys, storage
    from crawler.crawl import settle

    db_path = tmp_path / "s.db"
    db = storage.open_db(db_path)
    run_id = storage.start_run(db, "p")
    db.close()
    end = settle(db_path, {stats_keys.RUN_ID: run_id, **stats_extra})
    assert (end.status, end.exit_code) == (status, code)
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("select status, finished_at from runs where id = ?", [run_id]).fetchone()
    assert row[0] == status and row[1], "the run is closed, not left running"


def test_an_unstopped_crawl_keeps_the_status_its_pipeline_recorded(tmp_path):
    from crawler import stats_keys, storage
    from crawler.crawl import settle

    db_path = tmp_path / "s.db"
    db = storage.open_db(db_path)
    run_id = storage.start_run(db, "p")
    storage.finish_crawl(db, run_id, {"finish_reason": "finished"})
    db.close()
    end = settle(db_path, {stats_keys.RUN_ID: run_id})
    assert (end.status, end.exit_code) == ("finished", 0)


# -- what an interrupted run stored, counted -------------------------------------------


def _serp_row(engine: str, query: str, page: int, rank: int) -> dict:
    return {
        "engine": engine,
        "query": query,
        "brand": "Microsoft",
        "serp_url": f"http://127.0.0.1/{engine}/search?q={query}&p={page}",
        "page": page,
        "is_ad": False,
        "rank": rank,
        "title": f"result {rank}",
        "url": f"https://site{rank}.example/",
        "landing_url": f"https://site{rank}.example/",
    }


def _stored_run(db_path: Path) -> int:
    """A run that stored: bing answered query a (1 page, 2 results) and was on page 2 of
    query b (2 pages, 3 results stored, not finished); duckduckgo finished nothing."""
    from crawler import storage

    db = storage.open_db(db_path)
    run_id = storage.start_run(db, "truth")
    for page, rank in [(1, 1), (1, 2)]:
        storage.save_serp_result(db, run_id, _serp_row("bing", "a", page, rank))
    for page, rank in [(1, 1), (1, 2), (2, 3)]:
        storage.save_serp_result(db, run_id, _serp_row("bing", "b", page, rank))
    row = {"engine": "bing", "query": "a", "outcome": "answered", "serp_pages": 1, "results": 2}
    storage.save_query_outcome(db, run_id, row)
    progress = {
        "engines": [
            {"name": n, "done": d, "total": 2, "blocked": False, "serp_pages": p}
            for n, d, p in [("bing", 1, 3), ("duckduckgo", 0, 0)]
        ]
    }
    storage.save_progress(db, run_id, progress)
    db.close()
    return run_id


def test_a_killed_run_marked_interrupted_is_counted_from_what_it_stored(tmp_path):
    """SIGKILL: the next crawl marks the run interrupted; before, no engine lines and
    "0 result pages" although it stored results."""
    from crawler import storage
    from crawler.cli.runs import summary_lines

    db_path = tmp_path / "k.db"
    run_id = _stored_run(db_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with sqlite3.connect(db_path) as conn:
        conn.execute("update runs set pid = ? where id = ?", [int(dead.stdout), run_id])
    db = storage.open_db(db_path)
    assert storage.mark_interrupted(db) == [run_id]
    lines = summary_lines(db, run_id)
    db.close()
    assert lines[0].startswith(f"run {run_id}: 3 result pages,") and lines[0].endswith(
        "; interrupted"
    )
    assert "engine bing: UNFINISHED, 1 of 2 queries answered (3 result pages, 5 results)" in lines
    assert (
        "engine duckduckgo: UNFINISHED, 0 of 2 queries answered (0 result pages, 0 results)"
        in lines
    )


def test_an_interrupted_runs_engine_lines_count_what_was_stored(tmp_path):
    """A graceful stop: the engine line counts the pages of the unfinished query too,
    as the run line does."""
    from crawler import stats_keys, storage
    from crawler.cli.runs import summary_lines

    db_path = tmp_path / "i.db"
    run_id = _stored_run(db_path)
    stats = {
        "finish_reason": "shutdown",
        stats_keys.ENGINES: ["bing", "duckduckgo"],
        stats_keys.QUERIES: 2,
        stats_keys.SERP_PAGES.total: 3,
        stats_keys.SERP_PAGES("bing"): 3,
        stats_keys.RESULTS("bing"): 5,
    }
    db = storage.open_db(db_path)
    storage.finish_crawl(db, run_id, stats)
    lines = summary_lines(db, run_id)
    db.close()
    assert lines[0].startswith(f"run {run_id}: 3 result pages,") and lines[0].endswith(
        "; interrupted"
    )
    assert "engine bing: UNFINISHED, 1 of 2 queries answered (3 result pages, 5 results)" in lines
    assert not [line for line in lines if "returned no results" in line]  # stopped, not empty


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_before_the_engine_starts_still_alerts_that_the_run_did_not_finish(
    tmp_path, sim, sig, code
):
    """The run opened, Scrapy's engine not started: the stop closes the run outside the
    crawl's end (`crawler.crawl.settle`), and its alert was never sent."""
    from watchkit import Webhook

    db = tmp_path / "crawl.db"
    with Webhook() as hook:
        alerts = f'\n[alerts]\nurls = ["{hook.url}"]\nmin_risk = "low"\n'
        proc, out, err = _signalled_at(tmp_path, sim, db, "run.opened", sig, alerts)
    assert proc.returncode == code, out + err[-3000:]
    assert last_run(db)["status"] == "interrupted"
    assert hook.posts, ("no alert", err[-3000:])
    assert "run 1 did not finish: interrupted" in hook.posts[0]["message"]
