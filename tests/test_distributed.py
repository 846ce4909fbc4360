"""Distributed mode on a real Redis server: the same findings, nothing lost, nothing twice.

Parts first (the merge tables of test_merge.py on the Redis-backed state, the
leased queue, the shared rate limit), then whole runs through the real CLI on
the simulated web of tests/simweb with two engines: a seeding `crawl --redis`
plus a `worker`, compared with a single-process crawl of the same web, also
when a worker is killed with SIGKILL mid-run, when the store is, and when
Redis restarts (persistence on).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from redisserver import RedisServer
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler
from simweb.web import SimWeb
from test_merge import STEPS, show
from warcio.archiveiterator import ArchiveIterator

from crawler.config import ConfigError
from crawler.distributed import (
    _RATE,
    Fenced,
    Keys,
    LeasedQueue,
    RedisMerges,
    ack,
    connect,
    create_run,
    item_record,
    reap,
    record_item,
    renew,
    worker_settings,
)
from crawler.items import PageItem, RelatedItem, SerpItem, UnparsedItem
from crawler.landing import LANDING_META, LandingContext
from crawler.merge import merge_key
from crawler.scale_store import merge_stats
from crawler.scoring import Facts, verdict_record

SIMWEB = Path(__file__).parent / "simweb"
EXE = str(Path(sys.executable).with_name("serpwatch"))
FAST = [
    "-s",
    "SERPWATCH_ENGINE_DELAY=0",
    "-s",
    "AUTOTHROTTLE_START_DELAY=0",
    "-s",
    "LOG_LEVEL=INFO",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as rs:
        yield rs


@pytest.fixture
def r(server):
    client = connect(server.url)
    client.flushall()
    return client


# -- the merge state in Redis: the same tables -------------------------------------


SAME_AS_MEMORY = [(n, s) for n, s in STEPS if not n.startswith("done twice")]


@pytest.mark.parametrize(
    "steps", [s for _, s in SAME_AS_MEMORY], ids=[n for n, _ in SAME_AS_MEMORY]
)
def test_redis_merge_state_follows_the_same_table(r, steps):
    merges = RedisMerges(r, "t", ["bing", "google"])
    rank = 0
    for op, engine, qi, url, expected in steps:
        if op == "add":
            rank += 1
            out = merges.add(qi, show(engine, rank, url=url))
        else:
            out = merges.done(engine, qi)
        got = [(merge_key(x.best.landing_url), len(x.showings)) for x in out]
        assert got == [(merge_key(u), n) for u, n in expected], (op, engine, qi, url)


def test_a_redelivered_request_gets_its_landings_again_and_nothing_else(r):
    """The worker that released a query may have died before queueing the landings."""
    a, b = "https://a.example/", "https://b.example/"
    merges = RedisMerges(r, "t", ["bing", "google"])
    first = show("bing", 1, url=a)
    assert merges.add(0, first) == [] and merges.add(0, first) == []  # the same showing once
    merges.done("bing", 0)
    merges.add(0, show("google", 2, url=a))
    (released,) = merges.done("google", 0)
    assert len(released.showings) == 2 and released.best.engine == "bing"
    assert merges.done("google", 0) == [released]  # google's request, redelivered
    assert merges.done("bing", 0) == []  # not the engine that released it
    late = show("google", 3, url=b)
    assert len(merges.add(0, late)) == 1 and len(merges.add(0, late)) == 1  # redelivered
    assert merges.add(0, show("bing", 4, url=b)) == []


def test_workers_share_one_merge(server):
    """Two clients (two workers): one page shown by both engines is released once."""
    one, two = connect(server.url), connect(server.url)
    one.flushall()
    m1, m2 = RedisMerges(one, "t", ["bing", "google"]), RedisMerges(two, "t", ["bing", "google"])
    m1.add(5, show("bing", 1, url="https://a.example/?utm_source=x"))
    m2.add(5, show("google", 1, url="https://a.example/", serp="https://other/"))
    assert m1.done("bing", 5) == []
    (landing,) = m2.done("google", 5)
    assert landing.engines == ("bing", "google") and landing.qi == 5


# -- the leased queue --------------------------------------------------------------


def queue_for(r, token="t", worker="w1", lease=30.0):
    settings = {
        "SERPWATCH_RUN": token,
        "SERPWATCH_WORKER": worker,
        "SERPWATCH_LEASE_SECONDS": lease,
    }
    spider = Spider.from_crawler(get_crawler(Spider, settings), name="search")
    return LeasedQueue(r, spider, Keys(token).requests)


def test_a_popped_request_is_leased_until_acknowledged(r):
    q = queue_for(r)
    for n in range(3):
        q.push(Request(f"https://a.example/{n}", priority=n))
    first = q.pop()
    assert first.url == "https://a.example/2"  # the highest priority first
    lease = first.meta["serpwatch_lease"]
    keys = Keys("t")
    assert len(q) == 2 and r.hlen(keys.leases) == 1
    assert r.hget(keys.lease_owner, lease) == b"w1"
    ack(r, keys, [lease])
    assert r.hlen(keys.leases) == 0 and r.zcard(keys.lease_exp) == 0 and len(q) == 2


def test_an_expired_lease_goes_back_to_the_queue_with_its_priority(r):
    dead = queue_for(r, worker="dead", lease=0.05)
    dead.push(Request("https://a.example/low", priority=-5))
    dead.push(Request("https://a.example/high", priority=5))
    taken = dead.pop()
    assert taken.url.endswith("/high") and len(dead) == 1
    time.sleep(0.1)
    assert reap(r, Keys("t"), 50) == 1
    alive = queue_for(r, worker="alive")
    assert [alive.pop().url, alive.pop().url] == [
        "https://a.example/high",
        "https://a.example/low",
    ]
    assert r.hget(Keys("t").lease_owner, alive.held.pop()) == b"alive"


def test_a_silent_owner_is_fenced_but_one_that_lost_a_pop_reply_is_not(r):
    """Both leases expire; only the worker that stopped beating is shut out of the run."""
    keys = Keys("t")
    stalled = queue_for(r, worker="stalled", lease=0.05)
    lost = queue_for(r, worker="lost", lease=0.05)
    for n in range(3):
        stalled.push(Request(f"https://a.example/{n}"))
    stalled.pop()  # then silent: a long computation, a paused machine
    lost.pop()
    lost.held.clear()  # its reply was lost (a Redis restart): it never knew the lease
    time.sleep(0.1)
    renew(r, keys, "lost", lost.held, 50)  # it beats on, renewing what it knows: nothing
    assert reap(r, keys, 50) == 2 and len(stalled) == 3
    assert r.smembers(keys.fenced) == {b"stalled"}
    assert stalled.pop() is None  # a fenced worker gets nothing
    with pytest.raises(Fenced):
        stalled.push(Request("https://b.example/"))
    assert len(stalled) == 3 and lost.pop() is not None


def test_a_redirect_of_a_leased_request_is_queued_without_the_lease(r):
    q = queue_for(r)
    q.push(Request("https://a.example/"))
    leased = q.pop()
    q.push(leased.replace(url="https://b.example/"))
    assert "serpwatch_lease" in leased.meta
    (queued,) = r.zrange(Keys("t").requests, 0, -1)
    assert "serpwatch_lease" not in q._decode_request(queued).meta


def test_the_engine_rate_limit_is_one_for_all_workers(server):
    """Three workers asking as fast as they can: granted 100 ms apart, by Redis's clock."""
    import threading

    connect(server.url).flushall()
    granted: list[int] = []

    def worker():
        client = connect(server.url)
        script = client.register_script(_RATE)
        while len(granted) < 8:
            wait = script(keys=["serpwatch:t:rate:bing"], args=[100])
            if wait <= 0:
                granted.append(-wait)  # the moment of the grant in ms, Redis's clock
            else:
                time.sleep(wait / 1000)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    granted.sort()
    gaps = [b - a for a, b in zip(granted, granted[1:], strict=False)]
    assert len(granted) >= 8 and min(gaps) >= 100, gaps


def test_the_browser_budget_is_the_runs_not_each_workers(server, tmp_path):
    """Two workers' render budgets are one: 3 pages and 30 browser seconds for the run.

    Each with its own budget, two workers rendered up to twice the pages of a
    single crawl, so which pages got the browser (and what it found) depended
    on how many workers joined."""
    from scrapy.settings import Settings
    from scrapy.utils.misc import load_object

    from crawler.render.policy import RenderBudget

    connect(server.url).flushall()
    caps = {"max_pages": 3, "max_seconds": 30, "page_seconds": 20}
    made = []
    for _ in range(2):
        s = Settings(worker_settings(server.url, "t", None, seed=False, warc_dir=str(tmp_path)))
        made.append(load_object(s["SERPWATCH_RENDER_BUDGET"])(RenderBudget(**caps), s))
    a, b = made
    assert [a.admit("1", "r"), b.admit("2", "r"), a.admit("3", "r")] == [None] * 3
    assert "page budget spent (3 renders" in b.admit("4", "flagged")
    assert b.cut == [{"url": "4", "reason": "flagged", "cut": b.cut[0]["cut"]}] and a.cut == []
    a.spend(12.5)
    assert b.page_deadline() == 17.5  # what the run has left, not b's own 30 s
    b.spend(20)
    c = load_object(s["SERPWATCH_RENDER_BUDGET"])(RenderBudget(max_pages=9, max_seconds=30), s)
    assert "time budget spent (32 of 30 s" in c.admit("5", "r")


def test_items_survive_the_stream_as_the_same_records():
    serp = SerpItem("bing", "q", "Norton", "https://s/", True, "T", "https://u/", "https://l/")
    page = PageItem(
        url="https://l/x",
        entry_url="https://l/",
        status=200,
        html="<html>",
        engine="bing",
        query="q",
        brand=None,
        is_ad=False,
        serp_url="https://s/",
        body=b"<html>",
        verdicts=[{"phone": "+31852301001", "score": 80, "reasons": ["x"]}],
        appearances=[{"engine": "bing", "rank": 1}],
    )
    unparsed = UnparsedItem(
        "bing", "unrecognised", "q", "https://s/", 200, "no markers", b"\x00<html>"
    )
    assert record_item("UnparsedItem", item_record(unparsed)["body"]) == unparsed
    related = RelatedItem("bing", "q", "https://s/", [("related", "norton bellen")])
    assert record_item("RelatedItem", item_record(related)["body"]) == related
    for item in (serp, page):
        rec = item_record(item)
        back = record_item(rec["kind"], rec["body"])
        assert type(back) is type(item)
    assert record_item("SerpItem", item_record(serp)["body"]) == serp
    back = record_item("PageItem", item_record(page)["body"])
    assert back.verdicts == page.verdicts and back.appearances == page.appearances
    assert back.body == b"" and back.html == ""  # the evidence is in the worker's WARC


def test_stats_of_workers_add_up():
    merged = merge_stats(
        [
            {"serpwatch/serp_pages": 3, "serpwatch/engines": ["bing"], "elapsed_time_seconds": 5.0,
             "serpwatch/blocked_reason/bing": "captcha", "serpwatch/offered_download_list": [1]},
            {"serpwatch/serp_pages": 4, "serpwatch/engines": ["bing"], "elapsed_time_seconds": 7.0,
             "serpwatch/offered_download_list": [2]},
        ]
    )  # fmt: skip
    assert merged["serpwatch/serp_pages"] == 7 and merged["serpwatch/engines"] == ["bing"]
    assert merged["elapsed_time_seconds"] == 7.0
    assert merged["serpwatch/blocked_reason/bing"] == "captcha"
    assert merged["serpwatch/offered_download_list"] == [1, 2]


# -- whole runs on the simulated web -----------------------------------------------


class SlowSimWeb(SimWeb):
    """The simulated web with a latency per landing page, so a kill lands mid-run."""

    def __init__(self, latency: float):
        super().__init__()
        self.latency = latency

    def site_file(self, host, path):
        time.sleep(self.latency)
        return super().site_file(host, path)


def profile(tmp: Path, web) -> Path:
    text = (SIMWEB / "profile.toml").read_text()
    text = text.replace('brands = "brands.toml"', f'brands = "{SIMWEB}/brands.toml"')
    # Two engines on the same simulated engine: every result is shown twice, merged once.
    engine = f'[[engines]]\nkind = "bing"\nurl = "{web.search_url}"\ndelay = 0\n'
    head, _, rest = text.partition("[[engines]]")
    rest = rest.split("\n\n", 1)[1]
    (tmp / "p.toml").write_text(head + engine + "\n" + engine + "\n" + rest)
    return tmp / "p.toml"


def env_for(web) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["http_proxy"] = web.proxy_url
    return env


def start(args, tmp: Path, name: str, env) -> subprocess.Popen:
    out = open(tmp / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([EXE, *args], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)


def finish(proc: subprocess.Popen, tmp: Path, name: str, timeout=180) -> str:
    proc.wait(timeout)
    log = (tmp / f"{name}.log").read_text()
    assert proc.returncode == 0, log[-4000:]
    return log


def flagged(db: Path) -> tuple[set, dict]:
    """The flagged (site, number) pairs, and each number's strongest verdict.

    What one pair is attributed to when several brands' queries led to the
    same page (its query, brand and so its score) depends on the order the
    pages are stored, in a single crawl too (storage keeps the first of equal
    verdicts): compared here are the pairs and each number's best score and
    risk, which do not.
    """
    exe = subprocess.run([EXE, "flags", "--json", "--db", str(db)], capture_output=True, text=True)
    assert exe.returncode == 0, exe.stderr
    rows = [json.loads(line) for line in exe.stdout.splitlines()]
    best: dict[str, tuple] = {}
    for r in rows:
        verdict = (r["score"], r["risk"])
        best[r["phone"]] = max(best.get(r["phone"], verdict), verdict)
    return {(r["phone"], r["domain"], r["url"]) for r in rows}, best


def counts(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        tables = ("pages", "serp_results", "sightings", "numbers", "sites")
        out = {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
        out["page_urls"] = conn.execute("select count(distinct url) from pages").fetchone()[0]
        out["runs"] = [tuple(x) for x in conn.execute("select id, status from runs")]
    return out


def run_stats(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        return json.loads(conn.execute("select stats from runs").fetchone()[0])


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("single")
    with SimWeb() as web:
        proc = start(
            ["crawl", str(profile(tmp, web)), "--db", "single.db", *FAST], tmp, "c", env_for(web)
        )
        finish(proc, tmp, "c")
    result = flagged(tmp / "single.db")
    assert len(result[0]) > 50
    return result, counts(tmp / "single.db")


def wait_for(check, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def token_of(r) -> str:
    return wait_for(lambda: [t.decode() for t in r.zrange("serpwatch:runs", 0, -1)], what="a run")[
        0
    ]


def worker_of(proc, names) -> bytes | None:
    """The name (host-pid-random) of the worker process `proc` among `names`."""
    prefix = f"{socket.gethostname()}-{proc.pid}-".encode()
    return next((n for n in names if n.startswith(prefix)), None)


def assert_same_as_single(db: Path, single):
    expected, expected_counts = single
    assert flagged(db) == expected
    got = counts(db)
    assert got["runs"] == [(1, "finished")]
    for table in ("pages", "serp_results", "sightings", "numbers", "sites"):
        assert got[table] == expected_counts[table], table
    assert got["pages"] == got["page_urls"]  # never a page twice


def test_two_workers_find_what_one_process_finds(tmp_path, server, single):
    r = connect(server.url)
    r.flushall()
    with SlowSimWeb(0.05) as web:
        env = env_for(web)
        p = str(profile(tmp_path, web))
        worker = start(["worker", "--redis", server.url, "--warc-dir", "w"], tmp_path, "w", env)
        crawl = start(
            ["crawl", p, "--db", "d.db", "--redis", server.url, *FAST], tmp_path, "c", env
        )
        log = finish(crawl, tmp_path, "c")
        wlog = finish(worker, tmp_path, "w")
    assert "run 1:" in log and "joining run" in wlog
    assert_same_as_single(tmp_path / "d.db", single)
    stats = run_stats(tmp_path / "d.db")
    assert stats["serpwatch/distributed/workers"] == 2
    # The second engine's showings were merged into the first's: one fetch each.
    assert stats["serpwatch/showings_merged"] >= stats["serpwatch/landing_pages"]
    # Each worker kept its own WARC file, listed with the run; every page is in one.
    with sqlite3.connect(tmp_path / "d.db") as conn:
        warcs = [w for (w,) in conn.execute("select warc_file from run_warcs")]
        pages = {u for (u,) in conn.execute("select warc_record_id from pages")}
    assert len(warcs) == 2
    records = set()
    for path in warcs:
        with open(path, "rb") as f:
            records |= {
                rec.rec_headers.get_header("WARC-Record-ID")
                for rec in ArchiveIterator(f)
                if rec.rec_type == "response"
            }
    assert pages <= records


# -- killed or stalled at an exact step (crawler/testhook.py) ------------------------

# Short, so a killed worker's leases come back soon; long enough that a loaded
# machine (load 30 seen) does not stall a live worker past it.
LEASE = ["-s", "SERPWATCH_LEASE_SECONDS=5"]


def held(env: dict, tmp: Path, point: str) -> tuple[dict, Path]:
    """The environment that stops a process at `point`, and the file it writes there."""
    path = tmp / f"held-{point}"
    return {**env, "SERPWATCH_TEST_HOLD": point, "SERPWATCH_TEST_HOLD_FILE": str(path)}, path


def wait_held(path: Path, proc: subprocess.Popen, tmp: Path, name: str) -> None:
    def there():
        if proc.poll() is not None:
            log = (tmp / f"{name}.log").read_text()
            raise AssertionError(f"{name} ended before {path.name}:\n{log[-3000:]}")
        return path.exists()

    wait_for(there, timeout=90, what=f"{name} at {path.name}")


def crawl_args(tmp: Path, web, url: str, *more: str) -> list[str]:
    return ["crawl", str(profile(tmp, web)), "--db", "d.db", "--redis", url, *FAST, *more]


WORKER_KILLS = [
    pytest.param("worker.popped@1", id="before-its-first-item"),
    pytest.param("worker.popped@3", id="holding-three-leases"),
    pytest.param("worker.push@2", id="mid-stream"),
    pytest.param("worker.ack@1", id="between-pushing-items-and-acking"),
]


@pytest.mark.parametrize("point", WORKER_KILLS)
def test_a_worker_killed_at_any_step_loses_nothing(point, tmp_path, server, single):
    """SIGKILL at `point`; the seeding crawl (a worker too) takes its leases after 5 s."""
    r = connect(server.url)
    r.flushall()
    with SlowSimWeb(0.1) as web:
        env = env_for(web)
        wenv, hold = held(env, tmp_path, point)
        worker = start(["worker", "--redis", server.url, "--wait", "60"], tmp_path, "w", wenv)
        # Pushes of 4 items at most: a worker whose items all came within one
        # heartbeat pushed once and never reached "mid-stream" (its second push).
        flush = ["-s", "SERPWATCH_STREAM_FLUSH_AT=4"]
        crawl = start(crawl_args(tmp_path, web, server.url, *LEASE, *flush), tmp_path, "c", env)
        wait_held(hold, worker, tmp_path, "w")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        finish(crawl, tmp_path, "c")
    assert_same_as_single(tmp_path / "d.db", single)
    stats = run_stats(tmp_path / "d.db")
    assert stats["serpwatch/distributed/leases_requeued"] >= 1
    assert r.xlen(Keys(stats["serpwatch/distributed/token"]).items) == 0


STORE_KILLS = [
    pytest.param("store.read@2", id="mid-stream-read-not-written"),
    pytest.param("store.committed@2", id="written-not-acknowledged"),
    pytest.param("store.finish@1", id="while-closing-the-run"),
]


@pytest.mark.parametrize("point", STORE_KILLS)
def test_a_store_killed_at_any_step_resumes_and_writes_nothing_twice(
    point, tmp_path, server, single
):
    r = connect(server.url)
    r.flushall()
    with SlowSimWeb(0.02) as web:
        env = env_for(web)
        no_store = ["-s", "SERPWATCH_STORE=0", *LEASE]
        crawl = start(crawl_args(tmp_path, web, server.url, *no_store), tmp_path, "c", env)
        token = token_of(r)
        keys = Keys(token)
        senv, hold = held(env, tmp_path, point)
        store_args = ["store", "--redis", server.url, "--db", "d.db", "--run", token]
        store = start(store_args, tmp_path, "s1", senv)
        wait_held(hold, store, tmp_path, "s1")
        store.send_signal(signal.SIGKILL)
        store.wait(10)
        group = _group(r, keys)
        acked = group["entries-read"] - group["pending"]
        # The dead store's lock runs out after 5 s; the new one waits for it.
        again = start(store_args, tmp_path, "s2", env)
        slog = finish(again, tmp_path, "s2")
        finish(crawl, tmp_path, "c")
    total = r.xinfo_stream(keys.items)["entries-added"]
    assert r.xlen(keys.items) == 0  # stored entries leave Redis, the dead store's too
    stored = int(slog.split("stored ", 1)[1].split()[0])
    if point == "store.finish@1":
        # All stored and the database run closed: only Redis was still to be told.
        assert stored == 0 and acked == total
    else:  # resumed: the entries read but never acknowledged, then the rest
        assert stored == total - acked, (stored, total, acked)
    assert_same_as_single(tmp_path / "d.db", single)


SCAM = "+31852301001"


def _scam_page() -> PageItem:
    """A landing page with one flagged number on it, as a worker pushes it."""
    url, domain = "http://scam-helpdesk.example/", "scam-helpdesk.example"
    hit = {"phone": SCAM, "raw": "085 230 1001", "source": "text", "number_type": "voip"}
    facts = Facts(phone=SCAM, brand="Norton", domain=domain)
    return PageItem(
        url=url,
        entry_url=url,
        status=200,
        html="",
        engine="bing",
        query="Norton helpdesk bellen",
        brand="Norton",
        is_ad=False,
        serp_url="https://www.bing.com/search?q=x",
        rank=1,
        domain=domain,
        fetched_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        verdicts=[verdict_record({**hit, "country": "NL"}, facts)],
    )


def test_a_store_records_a_killed_runs_history_before_opening_its_run_once(tmp_path, server):
    """Scale mode catches up a killed run as a single crawl does (crawler/history.py).

    A store killed (SIGKILL) once it had written a page leaves its database run
    `running`; its Redis run is given up. The store of the next run on the host
    marks it interrupted and runs the history step it never reached before it
    opens its own run: the number only the killed run saw is new in it. The
    store of the run after does not do it again. Before, the killed run had no
    history step: its number was never new and could never be gone.
    """
    r = connect(server.url)
    r.flushall()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    killed = create_run(r, SimpleNamespace(name="p"), {})
    record = item_record(_scam_page())
    r.xadd(Keys(killed).items, {"kind": record["kind"], "body": record["body"]})
    senv, hold = held(env, tmp_path, "store.committed")
    store = start(
        ["store", "--redis", server.url, "--db", "d.db", "--run", killed], tmp_path, "s1", senv
    )
    wait_held(hold, store, tmp_path, "s1")
    store.send_signal(signal.SIGKILL)
    store.wait(10)

    def next_run(name: str) -> str:
        token = create_run(r, SimpleNamespace(name="p"), {})
        r.hset(Keys(token).meta, "seeded", 1)  # nothing to crawl: it closes at once
        args = ["store", "--redis", server.url, "--db", "d.db", "--run", token]
        return finish(start(args, tmp_path, name, env), tmp_path, name, timeout=60)

    def recorded() -> tuple[list, list, dict]:
        with sqlite3.connect(tmp_path / "d.db") as conn:
            sql = "select run_id, kind, key, event from changes order by id"
            events = [tuple(row) for row in conn.execute(sql)]
            statuses = [s for (s,) in conn.execute("select status from runs order by id")]
            (stats,) = conn.execute("select stats from runs where id = 1").fetchone()
        return events, statuses, json.loads(stats or "{}")

    second = next_run("s2")
    events, statuses, stats = recorded()
    # New in the killed run, with its site and pair; nothing in the store's own run.
    assert (1, "number", SCAM, "new") in events and {e[0] for e in events} == {1}, events
    assert stats["serpwatch/history/new_numbers"] == 1
    assert statuses == ["interrupted", "finished"]
    assert "run 1 was killed before its end: its history is recorded now" in second, second
    third = next_run("s3")
    assert "killed before its end" not in third, third
    assert recorded() == (events, [*statuses, "finished"], stats)  # once: nothing again
    # The killed run's Redis run resumed after all (`store --run`): its database run had
    # its history step, and a second one would count it twice; it stays interrupted.
    r.hset(Keys(killed).meta, "seeded", 1)
    args = ["store", "--redis", server.url, "--db", "d.db", "--run", killed]
    finish(start(args, tmp_path, "s4", env), tmp_path, "s4", timeout=60)
    assert recorded() == (events, [*statuses, "finished"], stats)


def test_a_stalled_worker_cannot_add_to_the_run_after_it_closed(tmp_path, server, single):
    """The gap between a worker's work and its writes, made as wide as the whole run.

    The worker stops (its whole process, as a long computation or a paused VM
    would stop it) just before it pushes its first item. Its lease runs out,
    the seeding crawl does its request again and finishes the run, the store
    closes it; then the worker wakes up and pushes. The push must be refused:
    the run was closed on the rule "nothing queued, nothing leased, stream
    drained", which a late write would make false.
    """
    r = connect(server.url)
    r.flushall()
    # Pages slow enough that the run outlasts the worker's start: at 0.05 s an
    # idle machine's crawl did every page itself before the worker joined.
    with SlowSimWeb(0.2) as web:
        env = env_for(web)
        wenv, hold = held(env, tmp_path, "worker.push@1")
        worker = start(["worker", "--redis", server.url, "--wait", "60"], tmp_path, "w", wenv)
        crawl = start(crawl_args(tmp_path, web, server.url, *LEASE), tmp_path, "c", env)
        wait_held(hold, worker, tmp_path, "w")
        token = token_of(r)
        finish(crawl, tmp_path, "c")  # the run closes while the worker stands still
        keys = Keys(token)
        assert r.hget(keys.meta, "state") == b"closed"
        added = r.xinfo_stream(keys.items)["entries-added"]
        hold.unlink()  # it wakes up
        worker.wait(60)
        wlog = (tmp_path / "w.log").read_text()
    assert r.xinfo_stream(keys.items)["entries-added"] == added, "a write after the close"
    assert r.xlen(keys.items) == 0 and r.zcard(keys.requests) == 0
    # It said why, and rejoined as a new worker, which found the run closed.
    assert "silent longer than its lease" in wlog and "Rejoining" in wlog, wlog[-3000:]
    assert worker.returncode == 0 and "is closed; nothing to join" in wlog, wlog[-3000:]
    assert_same_as_single(tmp_path / "d.db", single)
    assert run_stats(tmp_path / "d.db")["serpwatch/distributed/leases_requeued"] >= 1


def _group(r, keys) -> dict:
    groups = [g for g in r.xinfo_groups(keys.items) if g["name"] == b"store"]
    return groups[0] if groups else {"entries-read": 0, "pending": 0}


def _added(r, keys) -> int:
    try:
        return r.xinfo_stream(keys.items)["entries-added"]
    except redis.ResponseError:  # no stream yet
        return 0


def test_a_redis_restart_with_persistence_loses_nothing(tmp_path_factory, single):
    folder = tmp_path_factory.mktemp("redis-aof")
    tmp = tmp_path_factory.mktemp("restart")
    with RedisServer(folder, persist=True) as server, SlowSimWeb(0.2) as web:
        r = connect(server.url)
        env = env_for(web)
        p = str(profile(tmp, web))
        crawl = start(["crawl", p, "--db", "d.db", "--redis", server.url, *FAST], tmp, "c", env)
        token = token_of(r)
        worker = start(["worker", "--redis", server.url, "--run", token], tmp, "w", env)
        wait_for(lambda: worker_of(worker, r.hkeys(Keys(token).workers)), what="the worker")
        wait_for(lambda: _added(r, Keys(token)) >= 30, what="items in the stream")
        server.restart(down=1.0)
        finish(worker, tmp, "w")
        finish(crawl, tmp, "c")
        assert r.hget(Keys(token).meta, "state") == b"closed"
        # The closed run's working state is gone from Redis; its record stays a while.
        left = {k.decode().split(":", 2)[2] for k in r.scan_iter(f"serpwatch:{token}:*")}
        assert left <= {"meta", "wstats", "warcs", "items", "fenced"}, left
    assert_same_as_single(tmp / "d.db", single)


# -- settings and the command line ---------------------------------------------------


def test_per_worker_limits_leaves_the_engines_to_each_workers_own_slots(tmp_path):
    from scrapy.exceptions import NotConfigured

    from crawler.config import load_profile
    from crawler.distributed import EngineRateLimit, worker_settings

    (tmp_path / "b.toml").write_text('[[brands]]\nname = "Nn"\nkeywords = ["nn"]\n')
    body = 'brands = "b.toml"\n[[engines]]\nkind = "bing"\n[queries]\nextra = ["q"]\n'
    (tmp_path / "own.toml").write_text("per_worker_limits = true\n" + body)
    (tmp_path / "shared.toml").write_text(body)
    (tmp_path / "bad.toml").write_text('per_worker_limits = "yes"\n' + body)
    own, shared = load_profile(tmp_path / "own.toml"), load_profile(tmp_path / "shared.toml")
    assert own.per_worker_limits and not shared.per_worker_limits
    with pytest.raises(ConfigError) as exc:
        load_profile(tmp_path / "bad.toml")
    assert "per_worker_limits" in str(exc.value) and "bad.toml:1" in str(exc.value)
    settings = worker_settings("redis://127.0.0.1:1/0", "t", own, seed=False, warc_dir=tmp_path)
    chosen = {k: settings[k] for k in ("SERPWATCH_REDIS_URL", "SERPWATCH_PER_WORKER_LIMITS")}
    with pytest.raises(NotConfigured):
        EngineRateLimit.from_crawler(get_crawler(Spider, chosen))
    assert "crawler.distributed.StreamPipeline" in settings["ITEM_PIPELINES"]
    assert (
        "pipelines.store.StorePipeline" not in settings["ITEM_PIPELINES"]
    )  # workers never write SQLite


def test_a_worker_without_a_run_says_so_and_leaves(server):
    connect(server.url).flushall()
    out = subprocess.run(
        [EXE, "worker", "--redis", server.url, "--wait", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "no open run" in out.stderr


def test_an_unreachable_redis_is_one_clear_line(tmp_path):
    from redisserver import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    out = subprocess.run(
        [EXE, "store", "--redis", url, "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and f"cannot reach Redis at {url}" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_queue_takes_a_landing_page_once_per_query_but_its_redirects_always(r, server):
    from crawler.distributed import RunScheduler

    settings = {
        "SERPWATCH_REDIS_URL": server.url,
        "REDIS_URL": server.url,
        "SERPWATCH_RUN": "t",
        "SERPWATCH_WORKER": "w1",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": Keys("t").requests,
        "SCHEDULER_DUPEFILTER_KEY": Keys("t").dupefilter,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    }
    crawler = get_crawler(Spider, settings)
    spider = Spider.from_crawler(crawler, name="search")
    scheduler = RunScheduler.from_crawler(crawler)
    scheduler.open(spider)

    def landing(query, url, **meta):
        ctx = LandingContext(
            engine="bing",
            engines=("bing",),
            appearances=(),
            query=query,
            brand=None,
            is_ad=False,
            rank=1,
            ad_position=None,
            serp_url="https://www.bing.com/search?q=x",
            entry_url=url,
        )
        return Request(url, dont_filter=True, meta={LANDING_META: ctx, **meta})

    assert scheduler.enqueue_request(landing("q1", "https://a.example/?utm_source=x"))
    assert not scheduler.enqueue_request(landing("q1", "https://a.example/"))  # redelivered
    assert scheduler.enqueue_request(landing("q2", "https://a.example/"))  # another query
    redirect = landing("q1", "https://a.example/", redirect_urls=["https://a.example/"])
    assert scheduler.enqueue_request(redirect)
    assert len(scheduler.queue) == 3
