"""Run the search spider in this process and report on the run."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler import settings as default_settings
from crawler.config import Profile
from crawler.lock import hold

logger = logging.getLogger(__name__)


def build_settings(db: Path | str, overrides: dict | None = None) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.set("SERPWATCH_DB", str(db), priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def _skip_retired(profile: Profile, db: Path | str) -> Profile:
    """Leave out the queries retired in the database (`serpwatch queries retire`)."""
    from crawler import storage
    from crawler.queries import without_retired

    before = len(profile.queries())
    store = storage.open_db(db)
    try:
        profile = without_retired(profile, store)
    finally:
        store.close()
    skipped = before - len(profile.queries())
    if skipped:
        logger.warning("%d retired queries skipped (see serpwatch queries stats)", skipped)
    return profile


def run_crawl(
    profile: Profile, db: Path | str, overrides: dict | None = None, proxy: str | None = None
) -> dict:
    """Crawl `profile` into `db`; return Scrapy's final stats.

    `proxy` routes plain-http page fetches through an HTTP proxy, the way the
    standard `http_proxy` variable does (the demo web is such a proxy).
    """
    if proxy:
        os.environ["http_proxy"] = proxy
    settings = build_settings(db, overrides)
    # Taken here, before Scrapy starts, a refusal is one line and exit 75
    # (crawler.lock); the lock pipeline (RunGuard) finds this lock and keeps it.
    with hold(db, settings.get("SERPWATCH_LOCK_FILE") or None, profile=profile.name):
        profile = _skip_retired(profile, db)
        process = CrawlerProcess(settings)
        crawler = process.create_crawler("search")
        process.crawl(crawler, profile=profile)
        process.start()
    return crawler.stats.get_stats()
