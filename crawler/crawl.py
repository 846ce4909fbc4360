"""Run the search spider in this process and report on the run."""

from __future__ import annotations

import os
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler import settings as default_settings
from crawler.config import Profile
from crawler.lock import hold


def build_settings(db: Path | str, overrides: dict | None = None) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.set("SERPWATCH_DB", str(db), priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


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
        process = CrawlerProcess(settings)
        crawler = process.create_crawler("search")
        process.crawl(crawler, profile=profile)
        process.start()
    return crawler.stats.get_stats()
