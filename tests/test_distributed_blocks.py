"""A block one worker sees holds for all (crawler.distributed.RedisEngines), on a real Redis.

The engine simulator (tests/enginesim.py) blocks DuckDuckGo from its first
answer on and asks for a 1 s pause on Bing's first. A seeding `crawl --redis`
and a `worker` share the run: DuckDuckGo must be asked once in all (not once
per worker, nor once per query taken from the shared queue), Bing not again
before its pause ends, whichever worker asks; and the run's record (status,
blocked engines, every query's outcome) must be the one a single-process
crawl of the same engines writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from enginesim import EngineSim
from redisserver import RedisServer

from crawler.distributed import RedisEngines, connect
from crawler.engine_state import EngineState

EXE = str(Path(sys.executable).with_name("serpwatch"))
BRANDS = """
[[brands]]
name = "Microsoft"
keywords = ["microsoft", "outlook"]
domains = ["microsoft.com"]
phones = ["+31 20 500 1005"]
"""
TEMPLATES = [
    "{brand} helpdesk telefoonnummer",
    "{brand} klantenservice",
    "{brand} hulp bellen",
    "{brand} storing",
    "{brand} support nummer",
    "{brand} contact",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as rs:
        yield rs


def test_one_workers_block_and_pause_hold_for_the_others(server):
    r = connect(server.url)
    r.flushall()
    shared = RedisEngines(r, "t")
    a, b = (EngineState("ddg", "duckduckgo", None, 0, 0, queue=[1, 2], shared=shared) for _ in "ab")
    assert a.block("captcha", None, None).reason == "captcha"
    assert b.is_blocked() and b.blocked == "captcha" and b.next_query() is None
    assert b.block("HTTP 429", None, None) is None  # recorded once, by the first
    assert a.block("captcha", None, None) is None
    bing_a, bing_b = (EngineState("bing", "bing", None, 0, 0, shared=shared) for _ in "ab")
    assert bing_a.backoff(1.0, None, 30.0) == 1.0
    assert 0.8 < bing_b.pause_left() <= 1.0  # Redis's clock, one moment for both
    bing_b.backoff(0.2, None, 30.0)  # a shorter pause asked later does not shorten it
    assert bing_a.pause_left() > 0.5
    time.sleep(1.05)
    assert bing_a.pause_left() == 0.0 and not bing_b.is_blocked()


def crawl(folder: Path, sim: EngineSim, url: str | None, *, name: str = "c"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brands.toml").write_text(BRANDS)
    engines = "".join(
        f'\n[[engines]]\nkind = "{k}"\nurl = "{sim.url(k)}"\ndelay = {d}\n'
        for k, d in (("bing", 0.2), ("duckduckgo", 1.0))
    )
    templates = ", ".join(f'"{t}"' for t in TEMPLATES)
    (folder / "profile.toml").write_text(
        f'name = "sim"\nbrands = "brands.toml"\nregion = "NL"\nlanguage = "nl"\n'
        f"results_per_query = 5\nfollow_ads = true\nallow_private = true\n"
        f"{engines}\n[queries]\ntemplates = [{templates}]\n"
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(http_proxy=sim.proxy_url, https_proxy=sim.proxy_url, no_proxy="127.0.0.1")
    args = [EXE, "crawl", str(folder / "profile.toml"), "--db", str(folder / "crawl.db")]
    args += ["-s", "AUTOTHROTTLE_START_DELAY=0"]
    if url:
        args += ["--redis", url]
    log = open(folder / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)


def simulator() -> EngineSim:
    sim = EngineSim()
    sim.serve("bing", {1: "ads-helpdesk-nl"})
    sim.block("bing", "rate-limited-429", retry_after=1, times=1)  # then fine
    sim.block("duckduckgo", "anomaly-202")  # for good
    return sim


def run_record(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        run = dict(conn.execute("select * from runs").fetchone())
    return {
        "status": run["status"],
        "blocked": json.loads(run["blocked_engines"]),
        "outcomes": json.loads(run["engine_outcomes"]),
        "stats": json.loads(run["stats"]),
    }


def test_a_block_seen_by_one_worker_stops_the_engine_for_all(tmp_path, server):
    with simulator() as sim:
        proc = crawl(tmp_path / "single", sim, None)
        proc.wait(120)
        single = run_record(tmp_path / "single" / "crawl.db")
    assert single["status"] == "partial" and set(single["blocked"]) == {"duckduckgo"}

    r = connect(server.url)
    r.flushall()
    folder = tmp_path / "two"
    folder.mkdir()
    with simulator() as sim:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(http_proxy=sim.proxy_url, https_proxy=sim.proxy_url, no_proxy="127.0.0.1")
        wlog = open(folder / "w.log", "w")  # noqa: SIM115 - closed with the process
        worker = subprocess.Popen(
            [EXE, "worker", "--redis", server.url, "--wait", "60", "--warc-dir", "w"],
            stdout=wlog, stderr=subprocess.STDOUT, env=env, cwd=folder,
        )  # fmt: skip
        proc = crawl(folder, sim, server.url)
        proc.wait(120)
        worker.wait(60)
        ddg, bing = sim.engine_hits("duckduckgo"), sim.engine_hits("bing")
    log = (folder / "c.log").read_text()
    assert proc.returncode == 1, log[-3000:]  # an engine blocked: partial, as a single crawl
    assert worker.returncode == 0, (folder / "w.log").read_text()[-3000:]
    # Asked once: the other five queries of either worker were not asked.
    assert len(ddg) == 1, [e["status"] for e in ddg]
    # Bing said 429 with Retry-After: 1; asked again after that, by whichever worker.
    assert [e["status"] for e in bing[:2]] == [429, 200]
    assert bing[1]["start"] - bing[0]["end"] >= 0.9
    two = run_record(folder / "crawl.db")
    stats = two["stats"]
    assert stats["serpwatch/distributed/workers"] == 2
    assert stats["serpwatch/blocked/duckduckgo"] == 1  # blocked once, for the run
    assert stats["serpwatch/queries_dropped/duckduckgo"] == len(TEMPLATES) - 1
    assert stats["serpwatch/backoff/bing"] == 1
    for key in ("status", "blocked", "outcomes"):
        assert two[key] == single[key], key
