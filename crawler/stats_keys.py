"""Every serpwatch key in a run's Scrapy stats: built here, and parsed here (pure).

Scrapy's stats are the run's counters: they are shown by `serpwatch runs`,
stored with the run (`runs.stats`) and read back by the run's status, its
warnings and the progress line. A key is written in one place and read in
others, so each has one spelling here:

- run-wide keys are constants (`RUN_ID`, `LANDING_PAGES`, ...);
- a `Family` is a set of keys `serpwatch/<name>/<part>`: one per engine
  (`BLOCKED("bing")` is `serpwatch/blocked/bing`), per kind of refusal, per
  render outcome, ... `Family.total` is the run-wide key of the same name
  where there is one (`serpwatch/serp_pages` beside `serpwatch/serp_pages/bing`),
  and `Family.parts(stats)` reads the family back: {part: value}, e.g. which
  engines were blocked.

Engine names are never cut out of keys anywhere else (REVIEW L6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "serpwatch/"


@dataclass(frozen=True)
class Family:
    """The stats keys `serpwatch/<name>/<part>`."""

    name: str

    def __call__(self, part: object) -> str:
        return f"{PREFIX}{self.name}/{part}"

    @property
    def total(self) -> str:
        """The run-wide key of the same name (`serpwatch/<name>`)."""
        return f"{PREFIX}{self.name}"

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.name}/"

    def parts(self, stats: Mapping) -> dict[str, object]:
        """The family's keys in `stats`, by part (an engine's name, a kind, ...)."""
        return {k[len(self.prefix) :]: v for k, v in stats.items() if k.startswith(self.prefix)}


# -- the run ------------------------------------------------------------------------
RUN_ID = f"{PREFIX}run_id"  # the database's run id (distributed workers: token-worker)
ENGINES = f"{PREFIX}engines"  # the engines' names, in profile order
QUERIES = f"{PREFIX}queries"  # queries per engine
SIGNAL = f"{PREFIX}signal"  # the signal that stopped the crawl (crawler/crawl.py)
FORCED = f"{PREFIX}forced"  # a second signal stopped it at once
STORAGE_FAILED = f"{PREFIX}storage_failed"  # why the database took no more writes
HISTORY = Family("history")  # the history step's counts (crawler/history.py)
STORAGE_LOST = Family("storage_lost")  # items not stored after that, by kind
STORAGE_ERRORS = f"{PREFIX}storage_errors"  # items a save failed on (a bug), not stored
ALERTS = Family("alerts")  # alerts sent or failed, by channel (crawler/alerts.py)
DISTRIBUTED = Family("distributed")  # distributed mode's counts (crawler/distributed.py)

# -- per engine (spiders/search.py) ------------------------------------------------------
SERP_PAGES = Family("serp_pages")  # result pages read (total and per engine)
RESULTS = Family("results")  # results and ads on them
LISTINGS = Family("listings")  # local and call cards on them
UNRECOGNISED = Family("unrecognised")  # result pages no parser recognised
SERP_FAILED = Family("serp_failed")  # result pages that got no answer
SERP_FAILED_REASON = Family("serp_failed_reason")  # ... the last one's reason
BACKOFF = Family("backoff")  # Retry-After waits
BACKOFF_SECONDS = Family("backoff_seconds")
BLOCKED_PAGES = Family("blocked_pages")  # block pages seen
BLOCKED = Family("blocked")  # 1: the engine is blocked for the run
BLOCKED_REASON = Family("blocked_reason")
QUERIES_DROPPED = Family("queries_dropped")  # queries a block left unasked

# -- landing pages ----------------------------------------------------------------------
LANDING_PAGES = f"{PREFIX}landing_pages"  # requested once their query was merged
LANDING_PAGES_MERGED = f"{PREFIX}landing_pages_merged"  # ... shown more than once
SHOWINGS_MERGED = f"{PREFIX}showings_merged"  # fetches the merge saved
ADS_TARGET_UNKNOWN = f"{PREFIX}ads_target_unknown"  # ads whose click URL hides the site
PAGES_FAILED = Family("pages_failed")  # total, and by failure kind or http_<status>
PAGES_NOT_HTML = f"{PREFIX}pages_not_html"
WARC_RECORDS = f"{PREFIX}warc_records"
WARC_NOT_STORED = f"{PREFIX}warc_not_stored"

# -- safety (crawler/net/middlewares.py, crawler/render) --------------------------------------
REFUSED = Family("refused")  # total, and by why (address, scheme, site_budget, ...)
OFFERED_DOWNLOADS = Family("offered_downloads")  # total, and by kind
OFFERED_DOWNLOAD_LIST = f"{PREFIX}offered_download_list"  # distributed workers' offers
RETRY_AFTER = Family("retry_after")  # waits, seconds, too_long
RENDER = Family("render")  # the browser's counts (crawler/render)
