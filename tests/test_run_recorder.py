"""The run recorder (crawler/run_recorder.py) on a real SQLite file, through Scrapy's signals.

The whole crawl with it: tests/test_runs_truth.py (statuses, exit codes, signals),
tests/test_faults.py (offered downloads), tests/test_db_handling.py (a full disk).
"""

from __future__ import annotations

from dataclasses import asdict
from types import SimpleNamespace

from scrapy import signals
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler import stats_keys, storage
from crawler.run_recorder import OFFERED_DOWNLOAD, OfferedDownload, RunRecorder

SETTINGS = {k: getattr(project_settings, k) for k in dir(project_settings) if k.isupper()}
# The recorder alone: the alerts and progress extensions would answer the signals too.
SETTINGS["EXTENSIONS"] = {"crawler.run_recorder.RunRecorder": 100}
SPIDER = SimpleNamespace(profile=SimpleNamespace(name="nl"), name="search")


def crawler_on(tmp_path, **settings):
    crawler = get_crawler(
        settings_dict={**SETTINGS, "SERPWATCH_DB": str(tmp_path / "r.db"), **settings}
    )
    crawler.stats.open_spider()
    return crawler


def offer(i: int) -> OfferedDownload:
    return OfferedDownload(
        url=f"http://scam.example/AnyDesk-{i}.exe",
        entry_url="http://scam.example/",
        domain="scam.example",
        kind="executable",
        reason="by name",
        engine="bing",
        query="q",
        is_ad=True,
    )


def run_row(tmp_path, run_id):
    db = storage.open_db(tmp_path / "r.db")
    try:
        return storage.get_run(db, run_id), [dict(r) for r in db["downloads"].rows]
    finally:
        db.close()


def test_the_run_opens_with_the_spider_and_closes_with_it(tmp_path):
    crawler = crawler_on(tmp_path)
    recorder = RunRecorder.of(crawler)
    assert recorder is not None and recorder.run_id is None
    crawler.signals.send_catch_log(signals.spider_opened, spider=SPIDER)
    run_id = recorder.run_id
    assert crawler.stats.get_value(stats_keys.RUN_ID) == run_id
    assert run_row(tmp_path, run_id)[0]["status"] == "running"
    crawler.signals.send_catch_log(OFFERED_DOWNLOAD, offer=offer(1))
    crawler.crawling = True  # still crawling when the spider closes: it finished
    crawler.signals.send_catch_log(signals.spider_closed, spider=SPIDER, reason="finished")
    run, downloads = run_row(tmp_path, run_id)
    assert run["status"] != "running" and run["finished_at"]
    assert [(d["url"], d["is_ad"], d["run_id"]) for d in downloads] == [
        ("http://scam.example/AnyDesk-1.exe", 1, run_id)
    ]
    assert recorder.db is None  # let go before the alerts and the lock's end


def test_a_crawl_stopped_by_a_signal_is_interrupted(tmp_path):
    crawler = crawler_on(tmp_path)
    crawler.signals.send_catch_log(signals.spider_opened, spider=SPIDER)
    crawler.crawling = False  # Crawler.stop() (SIGINT / SIGTERM) came first
    crawler.signals.send_catch_log(signals.spider_closed, spider=SPIDER, reason="shutdown")
    run, _ = run_row(tmp_path, RunRecorder.of(crawler).run_id)
    assert run["status"] == "interrupted"


def test_offers_are_capped_per_run(tmp_path):
    crawler = crawler_on(tmp_path, SERPWATCH_MAX_OFFERS_LISTED=2)
    crawler.signals.send_catch_log(signals.spider_opened, spider=SPIDER)
    for i in range(5):
        crawler.signals.send_catch_log(OFFERED_DOWNLOAD, offer=offer(i))
    recorder = RunRecorder.of(crawler)
    assert [o.url for o in recorder.offers] == [offer(0).url, offer(1).url]
    assert len(run_row(tmp_path, recorder.run_id)[1]) == 2


def test_a_distributed_worker_opens_no_run_and_lists_offers_for_the_writer(tmp_path):
    pipelines = {k: v for k, v in SETTINGS["ITEM_PIPELINES"].items() if "store" not in k}
    crawler = crawler_on(tmp_path, ITEM_PIPELINES=pipelines)
    crawler.signals.send_catch_log(signals.spider_opened, spider=SPIDER)
    crawler.signals.send_catch_log(OFFERED_DOWNLOAD, offer=offer(1))
    crawler.signals.send_catch_log(signals.spider_closed, spider=SPIDER, reason="finished")
    assert RunRecorder.of(crawler).run_id is None
    assert not (tmp_path / "r.db").exists()
    assert crawler.stats.get_value(stats_keys.OFFERED_DOWNLOAD_LIST) == [asdict(offer(1))]


def test_a_killed_run_whose_history_cannot_be_caught_up_is_still_ended(tmp_path, monkeypatch):
    """The catch-up failing (here made to) leaves the crawl running, and the killed run
    `interrupted`, not `running` beside the new one."""
    from crawler import history
    from crawler.run_recorder import open_run

    db = storage.open_db(tmp_path / "r.db")
    killed = storage.start_run(db, "nl")
    db["runs"].update(killed, {"pid": 2**22 + 1})  # above pid_max: no such process

    def broken(_db):
        raise RuntimeError("disk error while catching up")

    monkeypatch.setattr(history, "catch_up_killed_runs", broken)
    new = open_run(db, "nl")
    assert storage.get_run(db, killed)["status"] == "interrupted"
    assert storage.get_run(db, new)["status"] == "running"
    db.close()
