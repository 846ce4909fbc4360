"""Keep every landing page as a WARC record (reads SERPWATCH_DB, SERPWATCH_WARC_DIR).

Runs after scoring and before storing, so the store can record where each
page's evidence is: `PageItem.warc_file`, `warc_record_id`, `payload_sha256`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from crawler import stats_keys
from crawler.evidence import WarcStore, warc_dir_for
from crawler.items import PageItem, SerpShotItem
from crawler.render.shots import write_render_evidence
from crawler.run_recorder import RunRecorder
from crawler.storage import key


class EvidencePipeline:
    """Writes each PageItem to the run's WARC file with `crawler.evidence.WarcStore`."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.folder = warc_dir_for(
            settings.get("SERPWATCH_DB"), settings.get("SERPWATCH_WARC_DIR") or None
        )
        self.store: WarcStore | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _run(self) -> str | int:
        """The run the WARC file and the pages' ids are named after: the database's run
        (crawler.run_recorder), or in a distributed worker `<run token>-<worker>`."""
        recorder = RunRecorder.of(self.crawler)
        if recorder is not None and recorder.run_id is not None:
            return recorder.run_id
        settings = self.crawler.settings
        if settings.get("SERPWATCH_RUN") and settings.get("SERPWATCH_WORKER"):
            return f"{settings.get('SERPWATCH_RUN')}-{settings.get('SERPWATCH_WORKER')}"
        raise RuntimeError("no run to keep evidence for: crawler.run_recorder.RunRecorder is off")

    def _store(self) -> WarcStore:
        if self.store is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            self.store = WarcStore(self.folder, f"serpwatch-run{self._run()}-{stamp}.warc.gz")
        return self.store

    def process_item(self, item):
        if isinstance(item, PageItem):
            ev = self._store().write_page(
                url=item.url,
                status=item.status,
                headers=item.headers,
                body=item.body or item.html,
                ip=item.ip,
                fetched_at=item.fetched_at,
                request_headers=item.request_headers,
                method=item.method,
                page_id=key(self._run(), item.url),
                context={
                    "entry_url": item.entry_url,
                    "redirects": [*item.redirects, item.url] if item.redirects else [],
                    "serp_url": item.serp_url,
                    "engine": item.engine,
                    "query": item.query,
                    "brand": item.brand,
                    "is_ad": item.is_ad,
                    "rank": item.rank,
                    "ad_position": item.ad_position,
                    "engines": item.engines,
                    "appearances": item.appearances,
                },
            )
            item.warc_file = ev.warc_file
            item.warc_record_id = ev.warc_record_id
            item.payload_sha256 = ev.payload_sha256
            self.crawler.stats.inc_value(stats_keys.WARC_RECORDS)
            if not ev.stored:
                self.crawler.stats.inc_value(stats_keys.WARC_NOT_STORED)
            write_render_evidence(self._store(), item, ev.warc_record_id, item.fetched_at)
        elif isinstance(item, SerpShotItem) and item.render_work is not None:
            # A pictured result page: its bytes, then its pictures linked to them.
            ev = self._store().write_page(
                url=item.serp_url,
                status=item.status,
                headers=item.headers,
                body=item.body,
                ip=item.ip,
                fetched_at=item.fetched_at,
                context={"engine": item.engine, "query": item.query, "brand": item.brand},
            )
            item.warc_file = ev.warc_file
            item.warc_record_id = ev.warc_record_id
            item.payload_sha256 = ev.payload_sha256
            write_render_evidence(self._store(), item, ev.warc_record_id, item.fetched_at)
        return item

    def close_spider(self):
        if self.store is not None:
            self.store.close()
