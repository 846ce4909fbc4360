"""The sizes behind docs/SCALE.md: SQLite's sustained write rate, Redis bytes, WARC bytes.

    .venv/bin/python bench/scale_sizes.py [--pages 3000]

- SQLite: the store's own write path (pipelines.store.save_item into
  crawler.storage, WAL, one transaction per page) for landing pages with two
  numbers each and result rows, sustained over --pages pages into a fresh file.
- Redis: used_memory before and after queueing typical requests (scrapy-redis's
  pickled form), pushing typical stream entries (a page with two verdicts) and
  keeping the merge state of queries (two engines, 12 showings each).
- WARC: bytes per landing page kept as evidence (gzip), on the pages of the
  simulated web in tests/simweb.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler import storage  # noqa: E402
from crawler.evidence import WarcStore  # noqa: E402
from crawler.items import PageItem, SerpItem  # noqa: E402
from crawler.landing import LANDING_META, LandingContext  # noqa: E402
from crawler.scoring import SightingVerdict  # noqa: E402
from pipelines.store import save_item  # noqa: E402

VERDICT = {
    "phone": "+31852301001",
    "raw": "085 230 1001",
    "source": "text",
    "number_type": "voip",
    "country": "NL",
    "official": False,
    "score": 85,
    "risk": "high",
    "flagged": True,
    "reasons": ["shown in a paid ad (+15)", "not an official number of Norton (+30)"],
    "facts": {"brand": "Norton", "ad": True, "title_brand": True, "words": ["helpdesk"]},
}


def page(i: int) -> PageItem:
    url = f"http://site-{i % 5000}.example/p/{i}"
    showing = {
        "engine": "bing",
        "is_ad": False,
        "rank": 3,
        "serp_url": "https://www.bing.com/search?q=x",
        "url": url,
        "landing_url": url,
        "title": "Norton helpdesk",
        "snippet": "Bel ons",
        "phones": [],
    }
    return PageItem(
        url=url,
        entry_url=url,
        status=200,
        html="",
        engine="bing",
        query=f"Norton helpdesk bellen {i % 500}",
        brand="Norton",
        is_ad=False,
        serp_url="https://www.bing.com/search?q=x",
        rank=3,
        domain=f"site-{i % 5000}.example",
        title="Norton Helpdesk Nederland",
        engines=["bing", "google"],
        appearances=[showing, {**showing, "engine": "google"}],
        verdicts=[
            SightingVerdict.from_dict({**VERDICT, "phone": f"+3185{2300000 + i % 90000:07d}"}),
            SightingVerdict.from_dict(
                {**VERDICT, "phone": "+31207949400", "official": True, "score": 0, "flagged": False}
            ),
        ],
        fetched_at="2026-12-05T10:00:00+00:00",
    )


def sqlite_rate(folder: Path, n: int) -> None:
    db = storage.open_db(folder / "rate.db")
    run_id = storage.start_run(db, "bench")
    t = time.perf_counter()
    for i in range(n):
        save_item(db, run_id, page(i))
    pages = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(n):
        item = SerpItem(
            "bing",
            f"q{i % 500}",
            "Norton",
            "https://s/",
            False,
            "T",
            f"https://u/{i}",
            f"https://l/{i}",
            rank=i % 10 + 1,
            page=i // 5000 + 1,
        )
        save_item(db, run_id, item)
    serps = time.perf_counter() - t
    size = (folder / "rate.db").stat().st_size
    print(
        f"SQLite (WAL, synchronous=NORMAL, one transaction per page): {n / pages:.0f} landing "
        f"pages/s with 2 numbers each ({pages / n * 1000:.2f} ms each), {n / serps:.0f} result "
        f"rows/s; {size / n / 1024:.1f} KB of database per page+result"
    )


def redis_sizes(folder: Path, n: int) -> None:
    import redis
    from scrapy import Request, Spider
    from scrapy.utils.test import get_crawler

    from crawler.distributed import Keys, LeasedQueue, RedisMerges, item_record
    from crawler.merge import Showing

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        r = None
        for _ in range(100):
            try:
                r = redis.Redis(port=port)
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)

        def used() -> int:
            return r.info("memory")["used_memory"]

        spider = Spider.from_crawler(
            get_crawler(Spider, {"SERPWATCH_RUN": "b", "SERPWATCH_WORKER": "w"}), name="search"
        )
        queue = LeasedQueue(r, spider, Keys("b").requests)
        before = used()
        for i in range(n):
            shown = Showing.from_dict(page(i).appearances[0])
            ctx = LandingContext(
                engine="bing",
                engines=("bing", "google"),
                query="Norton helpdesk bellen",
                appearances=(shown, shown),
                brand="Norton",
                is_ad=False,
                rank=3,
                ad_position=None,
                serp_url="https://www.bing.com/search?q=x",
                entry_url=f"http://site-{i}.example/",
            )
            queue.push(Request(f"http://site-{i}.example/", meta={LANDING_META: ctx}))
        per_request = (used() - before) / n
        before = used()
        for i in range(n):
            r.xadd("serpwatch:b:items", {**item_record(page(i)), "worker": "host-1234"})
        per_entry = (used() - before) / n
        before = used()
        merges = RedisMerges(r, "b", ["bing", "google"])
        for qi in range(n // 10):
            for engine in ("bing", "google"):
                for rank in range(1, 13):
                    url = f"http://q{qi}-s{rank}.example/"
                    merges.add(
                        qi, Showing(engine, False, rank, None, "https://s/", url, url, "T", "S")
                    )
                merges.done(engine, qi)
        per_query = (used() - before) / (n // 10)
        print(
            f"Redis: {per_request:.0f} B per queued landing request, {per_entry:.0f} B per stream "
            f"entry (a page, 2 verdicts), {per_query:.0f} B of merge state per query "
            f"(2 engines x 12 results)"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def warc_sizes(folder: Path) -> None:
    sites = sorted((ROOT / "tests" / "simweb" / "sites").rglob("*.html"))
    store = WarcStore(folder, "b.warc.gz")
    for path in sites:
        body = path.read_bytes()
        store.write_page(
            url=f"http://{path.parent.name}/",
            status=200,
            headers={"Content-Type": "text/html"},
            body=body,
            ip="127.0.0.1",
            fetched_at="2026-12-05T10:00:00+00:00",
            context={"query": "q", "engines": ["bing"], "appearances": []},
        )
    store.close()
    size = (folder / "b.warc.gz").stat().st_size
    raw = sum(p.stat().st_size for p in sites)
    print(
        f"WARC: {size / len(sites) / 1024:.1f} KB per page gzipped ({len(sites)} simulated "
        f"pages of {raw / len(sites) / 1024:.1f} KB on average; real pages are larger)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=3000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="serpwatch-sizes-") as tmp:
        folder = Path(tmp)
        sqlite_rate(folder, args.pages)
        if shutil.which("redis-server"):
            redis_sizes(folder, args.pages)
        warc_sizes(folder)
    print(json.dumps({"note": "a shared machine makes these figures noisy; run twice"}))


if __name__ == "__main__":
    main()
