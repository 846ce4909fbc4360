"""`serpwatch watch` and alerts, end to end: a simulated web that changes between
crawls, a real SMTP server (aiosmtpd) and a webhook receiver, all on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from watchkit import (
    FAST,
    NEW_NUMBER,
    ChangingWeb,
    Smtp,
    Webhook,
    demo_profile,
    env_for,
    exe,
    serpwatch,
    text_of,
    wait_for,
)

from crawler.alerts import AlertItem, compose, defang, for_channel
from crawler.cli.watch import parse_duration
from crawler.config import ConfigError, load_profile
from crawler.lock import CrawlLock

# The demo's numbers that score high on the first crawl (tests/test_demo_e2e.py).
HIGH = {
    "+31852081234",
    "+18442173090",
    "+319001234567",
    "+442038071234",
    "+31881234567",
    "+31854019876",
}
PHONE = re.compile(r"\+\d{9,15}")


def rows(db, sql, params=()):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def running(db) -> bool:
    try:
        return bool(rows(db, "select id from runs where status = 'running'"))
    except sqlite3.OperationalError:  # the crawl is still creating the tables
        return False


def headline_numbers(text: str, section: str) -> set[str]:
    """The numbers on the '- ' lines of one section of an alert message."""
    out, inside = set(), False
    for line in text.splitlines():
        if line.isupper() and line.strip():
            inside = line.strip() == section
        elif inside and line.startswith("- "):
            out |= set(PHONE.findall(line))
    return out


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """`watch --cycles 3`: crawl 1 the demo, crawl 2 plus one new scam, crawl 3 blocked."""
    tmp = tmp_path_factory.mktemp("watch")
    with ChangingWeb(block_from=3) as web, Webhook() as hook, Smtp() as smtp:
        profile = demo_profile(tmp, web, alerts=[hook.url, smtp.url])
        db = tmp / "watch.db"
        proc = serpwatch(
            "watch", profile, "--every", "1s", "--cycles", "3", "--db", db, *FAST,
            env=env_for(web), timeout=180,
        )  # fmt: skip
        return proc, db, hook.posts, smtp.messages


def test_watch_runs_three_cycles_with_their_exit_codes(watched):
    proc, db, _, _ = watched
    exits = re.findall(r"cycle (\d): crawl exit (\d+)", proc.stdout)
    assert exits == [("1", "0"), ("2", "0"), ("3", "3")], proc.stdout
    # A scheduler running `watch --cycles N` learns that a crawl was blocked (it exited 0).
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "done after 3 cycles" in proc.stdout
    # Run 3's engine blocked every query: recorded `blocked`, not `finished` (issue 11).
    assert [r["status"] for r in rows(db, "select status from runs order by id")] == [
        "finished",
        "finished",
        "blocked",
    ]


def test_first_run_alerts_every_high_number_once_on_both_channels(watched):
    _, _, posts, mails = watched
    assert len(posts) == 3 and len(mails) == 3
    first = posts[0]
    assert first["title"].startswith("serpwatch demo, run 1: ")
    assert headline_numbers(first["message"], "NEW NUMBERS") == HIGH
    # The mail says the same as the webhook.
    assert mails[0]["Subject"] == first["title"]
    assert headline_numbers(text_of(mails[0]), "NEW NUMBERS") == HIGH


def test_alert_is_defanged_with_score_reasons_and_evidence(watched):
    _, db, posts, _ = watched
    text = posts[0]["message"]
    assert "hxxp://microsoft-helpdesk-bellen[.]nl/" in text
    assert "http://" not in text and "microsoft-helpdesk-bellen.nl" not in text
    assert re.search(r"score \d+ \(high\)", text)
    assert "why: " in text
    evidence = re.findall(r"evidence: (\S+) record (<urn:uuid:[0-9a-f-]+>)", text)
    assert evidence
    for path, record in evidence:
        assert Path(path).parent == db.parent / "watch-warc"
        # The record is in that WARC file, read with warcio.
        with open(path, "rb") as stream:
            ids = {r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(stream)}
        assert record in ids


def test_second_run_alerts_only_what_changed(watched):
    _, _, posts, mails = watched
    second = posts[1]["message"]
    told = set(PHONE.findall(second))
    assert NEW_NUMBER in headline_numbers(second, "NEW NUMBERS")
    assert not told & HIGH, "a number already alerted was alerted again"
    assert "hxxp://windows-hulplijn-24[.]nl/" in second
    assert headline_numbers(text_of(mails[1]), "NEW NUMBERS") == headline_numbers(
        second, "NEW NUMBERS"
    )


def test_blocked_run_alerts_the_block_and_the_empty_run(watched):
    _, _, posts, _ = watched
    third = posts[2]
    assert "ENGINES THAT BLOCKED THE RUN" in third["message"]
    assert re.search(r"^- bing: .*captcha", third["message"], re.M | re.I)
    assert "run 3 flagged nothing; the last run (2) flagged" in third["message"]
    assert not PHONE.findall(third["message"])


def test_ledger_holds_each_item_once_per_channel(watched):
    _, db, _, _ = watched
    ledger = rows(db, "select channel, key, run_id from alerts")
    assert len({r["channel"] for r in ledger}) == 2
    per_channel = {}
    for r in ledger:
        per_channel.setdefault(r["channel"], []).append(r["key"])
    for keys in per_channel.values():
        assert len(keys) == len(set(keys))
        assert {f"number:{p}" for p in HIGH | {NEW_NUMBER}} <= set(keys)
    deliveries = rows(db, "select run_id, ok, attempts from alert_deliveries order by id")
    assert [(d["run_id"], d["ok"], d["attempts"]) for d in deliveries] == [
        (1, 1, 1),
        (1, 1, 1),
        (2, 1, 1),
        (2, 1, 1),
        (3, 1, 1),
        (3, 1, 1),
    ]


def test_status_after_the_blocked_run_says_why(watched):
    _, db, _, _ = watched
    proc = serpwatch("status", "--db", db)
    assert proc.returncode == 1
    assert proc.stdout.startswith("PROBLEM: run 3 (demo) finished")
    assert "blocked by bing" in proc.stdout
    data = json.loads(serpwatch("status", "--db", db, "--json").stdout)
    assert data["ok"] is False and data["run_id"] == 3 and "bing" in data["blocked"]


def test_status_ok_and_too_old(tmp_path):
    with ChangingWeb() as web:
        profile = demo_profile(tmp_path, web)
        db = tmp_path / "s.db"
        crawl = serpwatch("crawl", profile, "--db", db, *FAST, env=env_for(web))
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    ok = serpwatch("status", "--db", db, "--max-age", "1h")
    assert ok.returncode == 0 and ok.stdout.startswith("OK: run 1 (demo) finished"), ok.stdout
    assert len(ok.stdout.strip().splitlines()) == 1
    time.sleep(1.5)
    old = serpwatch("status", "--db", db, "--max-age", "1s")
    assert old.returncode == 1 and "more than --max-age allows" in old.stdout
    bad = serpwatch("status", "--db", db, "--max-age", "soon")
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    missing = serpwatch("status", "--db", tmp_path / "none.db")
    assert missing.returncode == 2 and "no such database" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    # A second crawl running now has seen run 1's pairs again: run 1 still flagged them.
    flagged = re.search(r", (\d+) flagged pairs", ok.stdout)
    assert flagged and int(flagged.group(1)) > 0, ok.stdout
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("insert into runs (id, status, started_at) values (2, 'running', '2026-01')")
        conn.execute("update site_numbers set last_run = 2")
    conn.close()
    lock = CrawlLock(db).acquire(run_id=2, profile="demo")
    try:
        during = serpwatch("status", "--db", db, "--max-age", "1h")
    finally:
        lock.release()
    assert f", {flagged.group(1)} flagged pairs" in during.stdout, during.stdout


# -- failing channels ----------------------------------------------------------------


def test_failing_channel_is_retried_recorded_and_told_next_run(tmp_path):
    with ChangingWeb() as web, Webhook(fail=True) as bad, Webhook() as good:
        profile = demo_profile(tmp_path, web, alerts=[bad.url, good.url])
        db = tmp_path / "f.db"
        first = serpwatch("crawl", profile, "--db", db, *FAST, env=env_for(web))
        assert first.returncode == 0, first.stderr[-3000:]
        assert bad.hits == 3 and len(good.posts) == 1
        assert (
            "alert to json://127.0.0.1" in first.stderr and "failed after 3 tries" in first.stderr
        )
        failed = rows(db, "select * from alert_deliveries where ok = 0")
        assert len(failed) == 1 and failed[0]["attempts"] == 3 and failed[0]["error"]
        assert rows(db, "select status from runs")[0]["status"] == "finished"
        bad.fail = False
        second = serpwatch("crawl", profile, "--db", db, *FAST, env=env_for(web))
        assert second.returncode == 0, second.stderr[-3000:]
    # The channel that failed gets what it missed; the other only what is new.
    assert headline_numbers(bad.posts[0]["message"], "NEW NUMBERS") == HIGH | {NEW_NUMBER}
    assert headline_numbers(good.posts[1]["message"], "NEW NUMBERS") == {NEW_NUMBER}


def test_alerts_test_command(tmp_path):
    with ChangingWeb() as web, Webhook() as hook, Smtp() as smtp, Webhook(fail=True) as bad:
        ok = serpwatch("alerts", "test", demo_profile(tmp_path, web, alerts=[hook.url, smtp.url]))
        assert ok.returncode == 0, ok.stderr
        assert len(hook.posts) == 1 and len(smtp.messages) == 1
        assert "test alert" in hook.posts[0]["title"]
        assert "hxxp://scam-helpdesk[.]example[.]nl/" in text_of(smtp.messages[0])
        failing = serpwatch("alerts", "test", demo_profile(tmp_path, web, alerts=[bad.url]))
        assert failing.returncode == 1 and "FAILED: json://127.0.0.1" in failing.stderr
        none = serpwatch("alerts", "test", demo_profile(tmp_path, web))
        assert none.returncode == 1 and "no [alerts] table" in none.stderr


# -- bad [alerts] config --------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "field", "message"),
    [
        ('urls = ["foo://x"]', "alerts.urls[0]", "unknown scheme 'foo'"),
        ('urls = ["json://"]', "alerts.urls[0]", "is not a valid json:// URL"),
        ('urls = ["not a url"]', "alerts.urls[0]", "is not an Apprise URL"),
        ('urls = "json://127.0.0.1/x"\nmin_risk = "extreme"', "alerts.min_risk", "must be one of"),
        ("urls = []", "alerts.urls", "needs at least one"),
        ('url = ["json://127.0.0.1/x"]', "alerts.url", "unknown key 'url'; did you mean urls?"),
    ],
)
def test_bad_alerts_table_names_file_line_and_field(tmp_path, table, field, message):
    with ChangingWeb() as web:
        path = demo_profile(tmp_path, web)
    path.write_text(path.read_text() + f"\n[alerts]\n{table}\n")
    key = field.split(".")[1].split("[")[0]
    lines = path.read_text().splitlines()
    # The key's line in the [alerts] table (the engines' table has a `url =` too).
    line = max(i for i, text in enumerate(lines, 1) if text.startswith(f"{key} ="))
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert f"{path}:{line} [{field}]: " in str(err.value)
    assert message in str(err.value)


def test_bad_alert_url_exits_2_before_crawling_and_hides_the_password(tmp_path):
    with ChangingWeb() as web:
        path = demo_profile(tmp_path, web, alerts=["mailto://bob:hunter2@127.0.0.1:25"])
        proc = serpwatch("crawl", path, "--db", tmp_path / "x.db", env=env_for(web))
        assert sum(web.asked.values()) == 0
    assert proc.returncode == 2
    assert "[alerts.urls[0]]" in proc.stderr and "hunter2" not in proc.stderr
    assert "bob:***@" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists()


# -- watch and signals ----------------------------------------------------------------


def _watch(profile, db, web, every="1h", extra=(), **popen):
    return subprocess.Popen(
        [exe(), "watch", str(profile), "--every", every, "--db", str(db), *FAST, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(web),
        **popen,
    )


def test_sigterm_while_sleeping_stops_at_once(tmp_path):
    with ChangingWeb() as web:
        proc = _watch(demo_profile(tmp_path, web), tmp_path / "w.db", web)
        first = ""
        for line in proc.stdout:
            first += line
            if "next crawl in" in line:
                break
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        out, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 5
    assert proc.returncode == 0, err[-2000:]
    assert "cycle 1: crawl exit 0" in first and "watch: stopped" in out


@pytest.mark.parametrize(
    ("signum", "to_group", "code"),
    [
        (signal.SIGTERM, False, 143),
        # Ctrl-C on a terminal, `kill -TERM -PGID`: the whole foreground process group.
        (signal.SIGINT, True, 130),
        (signal.SIGTERM, True, 143),
        # The terminal closed: watch stops its crawl as for SIGTERM and ends 128 + SIGHUP.
        (signal.SIGHUP, False, 129),
    ],
)
def test_a_signal_during_a_crawl_stops_it_gracefully(tmp_path, signum, to_group, code):
    db = tmp_path / "w.db"
    with ChangingWeb(delay=0.4) as web, Webhook() as hook:
        proc = _watch(
            demo_profile(tmp_path, web, alerts=[hook.url]), db, web, start_new_session=True
        )
        # Under way: a result page answered. A signal before the engine starts closes
        # the run without its end (crawler.crawl.settle): no history step.
        wait_for(lambda: db.exists() and running(db) and web.asked)
        if to_group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, (out, err[-2000:])
    assert "stopped during a crawl" in out
    # One signal reached the crawl, not the terminal's and watch's: a graceful stop.
    assert "forcing unclean shutdown" not in err
    (run,) = rows(db, "select * from runs")
    assert run["status"] == "interrupted" and run["finished_at"]
    # ... which alerted that it did not finish (an unclean stop sends nothing).
    assert hook.posts, ("no alert was posted", out, err[-3000:])
    assert "run 1 did not finish: interrupted" in hook.posts[0]["message"]


def test_watch_refuses_a_bad_every_and_a_bad_profile(tmp_path):
    with ChangingWeb() as web:
        profile = demo_profile(tmp_path, web)
    bad_every = serpwatch("watch", profile, "--every", "0s")
    assert bad_every.returncode == 2 and "more than 0" in bad_every.stderr
    bad_setting = serpwatch("watch", profile, "--every", "6h", "-s", "DOWNLOAD_DELAY", timeout=30)
    assert (
        bad_setting.returncode == 2 and "'DOWNLOAD_DELAY' is not NAME=VALUE" in bad_setting.stderr
    )
    assert "cycle 1" not in bad_setting.stdout, "a malformed -s was found by the first crawl"
    # A database the crawl refuses: watch stops with its 2, not sleeping 6h to repeat it.
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("create table invoices (id integer)").connection.close()
    refused = serpwatch("watch", profile, "--every", "6h", "--db", foreign, timeout=60)
    assert refused.returncode == 2, refused.stdout
    assert "cycle 1: crawl exit 2" in refused.stdout and "next crawl in" not in refused.stdout
    profile.write_text("name = 1\n")
    bad_profile = serpwatch("watch", profile, "--every", "6h")
    assert bad_profile.returncode == 2 and "[name]" in bad_profile.stderr


# -- small parts ----------------------------------------------------------------------


def test_defang():
    assert defang("see https://a.example.nl/x?y=1 and http://b.nl") == (
        "see hxxps://a[.]example[.]nl/x?y=1 and hxxp://b[.]nl"
    )
    assert defang("posted on microsoft.com's forum") == "posted on microsoft[.]com's forum"
    assert defang("score 2.5 of 10") == "score 2.5 of 10"


def test_durations():
    assert parse_duration("6h") == 6 * 3600
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90") == 90
    assert parse_duration("2d") == 172800
    for bad in ("", "h", "6x", "-1h", "0"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_site_under_a_number_in_the_same_message_is_covered_not_repeated():
    number = AlertItem("number:+31", "number", "+31 new", subject="+31")
    site = AlertItem("site:a.nl", "site", "a[.]nl shows +31", subject="+31")
    other = AlertItem("site:b.nl", "site", "b[.]nl shows +32", subject="+32")
    send, covered = for_channel([number, site, other, number], told={"site:b.nl"})
    assert send == [number] and covered == [site]


def test_a_title_counts_one_in_the_singular():
    run = {"id": 7, "status": "interrupted"}
    one = [AlertItem("run:7", "run", "run 7 did not finish: interrupted")]
    two = [AlertItem(f"number:+3{i}", "number", f"+3{i} new", subject=f"+3{i}") for i in (1, 2)]
    site = [AlertItem("site:a.nl", "site", "a[.]nl shows +39", subject="+39")]
    assert compose("nl", run, one + site)[0] == (
        "serpwatch nl, run 7: 1 run problem, 1 new site for a known number"
    )
    assert compose("nl", run, two)[0] == "serpwatch nl, run 7: 2 new numbers"


def test_queries_try_sends_no_alerts(tmp_path):
    with ChangingWeb() as web, Webhook() as hook:
        profile = demo_profile(tmp_path, web, alerts=[hook.url], min_risk="low")
        proc = serpwatch(
            "queries", "try", profile, "Microsoft helpdesk telefoonnummer", env=env_for(web)
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "+31852081234" in proc.stdout
    assert hook.posts == [] and hook.hits == 0
