"""The run's record in the database, for the whole crawl (a Scrapy extension).

`RunRecorder` opens the run when the spider opens (`open_run`: first the
history step of a run killed before, then `storage.start_run`) and closes it
when the spider closes: history's step, the engines' outcomes, the status and
the exit code's source (`close_run`, crawler/storage/). The distributed
store (crawler/scale_store.py) opens and closes its runs with the same two. The
pipelines ask for the run, `RunRecorder.of(crawler)`, instead of passing its
id to each other through the stats: the store pipeline saves into
`recorder.db` under `recorder.run_id`, the evidence pipeline names its WARC
file after it. The id also goes into the stats (`serpwatch/run_id`) when the
run opens, as the crawl's result: the lock, the progress line and the alerts
show it, and `serpwatch crawl` sums the run up from it once Scrapy has stopped.

Order, which the truthful status (issue 11) relies on: the lock pipeline
(pipelines/lock.py) takes the database's lock in `open_spider`, before the
`spider_opened` signal opens the run; the run is closed in `spider_closed`
before the progress and alerts extensions' handlers read it (this extension's
order, 100, is below theirs), and the lock is let go at `engine_stopped`. A
crawl stopped by SIGINT/SIGTERM is one whose crawler stopped crawling before
the spider closed: recorded `shutdown`, the run `interrupted`.

Offered downloads (executables and archives a page offered; never fetched)
reach it as the signal `OFFERED_DOWNLOAD` with a typed `OfferedDownload`,
from crawler/net/middlewares.py and the browser (crawler/render); the first
SERPWATCH_MAX_OFFERS_LISTED of a run are stored in its `downloads` table. In
a distributed worker, which stores nothing (crawler/distributed.py), they are
listed in the stats (`serpwatch/offered_download_list`) for the run's writer.

Enabled in `crawler.settings.EXTENSIONS`; reads SERPWATCH_DB,
SERPWATCH_DB_MAX_BYTES and SERPWATCH_MAX_OFFERS_LISTED.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.utils.defer import deferred_from_coro

from crawler import history, stats_keys, storage, testhook
from crawler.lock import scrapyd_job

logger = logging.getLogger(__name__)

# Signal: sent with `offer=OfferedDownload(...)` when a page offers a download.
OFFERED_DOWNLOAD = object()

_RECORDERS: WeakKeyDictionary = WeakKeyDictionary()

# What the run's closing adds to the crawl's stats: history's counts, storage's loss.
_RECORDED = (stats_keys.HISTORY.prefix, stats_keys.STORAGE_LOST.total, stats_keys.STORAGE_FAILED)


@dataclass(frozen=True)
class OfferedDownload:
    """An executable or archive a page offered: recorded, never downloaded (table `downloads`)."""

    url: str
    entry_url: str  # the landing page's first URL (the result's), else `url`
    domain: str
    kind: str  # executable | archive | ... | browser download
    reason: str
    content_type: str = ""
    status: int | None = None
    # The result behind the page (crawler.landing.LandingContext), when known.
    engine: str | None = None
    query: str | None = None
    brand: str | None = None
    is_ad: bool | None = None
    serp_url: str | None = None


class RunRecorder:
    """Opens the run at spider_opened, closes it at spider_closed (see the module doc)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stores = "pipelines.store.StorePipeline" in crawler.settings.getdict("ITEM_PIPELINES")
        self.max_offers = crawler.settings.getint("SERPWATCH_MAX_OFFERS_LISTED", 200)
        self.db = None
        self.run_id: int | None = None
        self.failed: str | None = None  # why storage failed (pipelines/store.py says so)
        self.offers: list[OfferedDownload] = []
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.offered, signal=OFFERED_DOWNLOAD)
        _RECORDERS[crawler] = self

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @classmethod
    def of(cls, crawler) -> RunRecorder | None:
        """The recorder of this crawl, if it has one."""
        return _RECORDERS.get(crawler)

    def spider_opened(self, spider):
        if not self.stores:
            return  # a distributed worker: the run's writer records it
        try:
            self.db = storage.open_db(self.crawler.settings.get("SERPWATCH_DB"))
            cap = self.crawler.settings.getint("SERPWATCH_DB_MAX_BYTES", 0)
            if cap:
                storage.cap_size(self.db, cap)
            self.run_id = open_run(self.db, spider.profile.name, job=scrapyd_job(spider))
            testhook.point("run.opened")
        except Exception:
            # No run, no crawl: nothing would be stored (the store pipeline counts it lost).
            logger.exception(
                "could not open the run in %s", self.crawler.settings.get("SERPWATCH_DB")
            )
            self.db = None
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_failed"))
            return
        # The crawl's result, read once Scrapy has stopped (crawler/cli, queries.py).
        self.crawler.stats.set_value(stats_keys.RUN_ID, self.run_id)

    def offered(self, offer: OfferedDownload):
        if len(self.offers) >= self.max_offers:
            return
        self.offers.append(offer)
        if not self.stores:  # a worker: listed for the run's writer (crawler/scale_store.py)
            self.crawler.stats.set_value(
                stats_keys.OFFERED_DOWNLOAD_LIST, [asdict(o) for o in self.offers]
            )
        elif self.db is not None:
            storage.save_offered_download(self.db, self.run_id, asdict(offer))

    def spider_closed(self, spider, reason):
        """Close the run before the progress and alerts extensions read it. Scrapy's
        finish_reason is not to be trusted for a stop: a crawl stopped by SIGINT /
        SIGTERM is one whose crawler stopped crawling before the spider closed."""
        if self.db is None:
            return
        stats = self.crawler.stats
        finish = "finished" if self.crawler.crawling else "shutdown"
        if self.failed:
            finish = "storage_failed"
        try:
            recorded = close_run(
                self.db, self.run_id, {**stats.get_stats(), "finish_reason": finish}
            )
            for name, value in recorded.items():
                if name.startswith(_RECORDED):
                    stats.set_value(name, value)
        except Exception as exc:
            failure = storage.storage_failure(exc)
            if failure is None:
                raise
            # The full record does not fit: the status alone may (a row updated in place).
            logger.error("could not record the run's end (%s)", failure)
            storage.mark_run_failed(self.db, self.run_id, failure)
        finally:
            self.db.close()
            self.db = None


def open_run(db, profile: str, job: str | None = None) -> int:
    """A new run, after the history step of every run of this host that was killed
    before its end (`history.catch_up_killed_runs`, which marks them interrupted): what
    only a killed run saw is new in it, not in this one. How both modes open a run: a
    crawl's recorder and the distributed store (crawler/scale_store.py, through
    pipelines/store.py). The connection is set up as the run's writer first: the
    catch-up is a run's end (`storage.start_run` sets it up too, for its other callers)."""
    storage.as_run_writer(db)
    try:
        caught = history.catch_up_killed_runs(db)
    except Exception:  # noqa: BLE001 - this crawl still runs
        logger.exception("could not record the history of a killed run")
        # Not left `running` beside this one (`runs`, `status` would say so): ended
        # without its history, as before the catch-up; the next opener tries none.
        storage.mark_interrupted(db)
    else:
        for run_id in caught:
            logger.warning("run %d was killed before its end: its history is recorded now", run_id)
    return storage.start_run(db, profile, job=job)


def close_run(db, run_id: int, stats: dict) -> dict:
    """Score the run again with its history, then close it; the stats as recorded.

    A run whose storage failed gets no history step: it records nothing as gone.
    Also the distributed writer's (crawler/scale_store.py, through pipelines/store.py).
    """
    stats = dict(stats)
    if not stats.get(stats_keys.STORAGE_FAILED):
        # History and triage first (crawler.history): their counts go into the run's stats.
        try:
            changes = history.close_run(db, run_id, stats)
        except Exception as exc:  # noqa: BLE001 - the run must still be closed and recorded
            failure = storage.storage_failure(exc)
            if failure:
                stats[stats_keys.STORAGE_FAILED] = failure
            else:
                logger.exception("scoring the run again with its history failed")
            changes = {"failed": 1}
        for name, value in changes.items():
            stats[stats_keys.HISTORY(name)] = value
    storage.finish_crawl(db, run_id, stats)
    return stats
