"""Scrapy settings for serpwatch (`scrapy.cfg`: settings = crawler.settings)."""

from crawler.net.headers import CHROME_UA, browser_headers
from crawler.net.limits import MAX_NESTING

BOT_NAME = "serpwatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Scam sites cloak: they show the scam only to visitors who look like a
# victim's browser arriving from a result page. One browser identity for the
# engines and the landing pages (crawler/net/headers.py).
USER_AGENT = CHROME_UA
DEFAULT_REQUEST_HEADERS = {
    name: value
    for name, value in browser_headers("nl", "NL").items()
    if name in ("Accept", "Accept-Language")
}
ROBOTSTXT_OBEY = False

CONCURRENT_REQUESTS = 16
# Items of one response handled at once. Scrapy starts this many asyncio tasks
# for every response, and a landing page gives one item: its default of 100 cost
# about 1.3 ms of CPU per page (bench/throughput.py). Pipelines that wait (the
# render pipeline) still run in parallel across responses.
CONCURRENT_ITEMS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0
# Landing pages: AutoThrottle paces each site by its latency. Engines are left
# alone (their requests set autothrottle_dont_adjust_delay) and paced below.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# --- Search engines (spiders/search.py): one download slot per engine. ---
# Seconds between two requests to an engine of this kind, unless the profile's
# [[engines]] table says `delay = ...`; Scrapy varies each wait by ±50%.
SERPWATCH_ENGINE_DELAYS = {
    "google": 8.0,
    "bing": 4.0,
    "duckduckgo": 4.0,
    "brave": 1.1,  # the Search API's free plan allows one query a second
    "searxng": 1.0,  # an instance the operator runs
    "startpage": 8.0,  # Google's results through a proxy that blocks as fast as Google
    "ecosia": 4.0,
    "yahoo": 4.0,
    "serpapi": 1.0,  # a paid API: the plan's own rate limit applies
}
# A delay for every engine, over the profile and the defaults (e.g. -s SERPWATCH_ENGINE_DELAY=0).
SERPWATCH_ENGINE_DELAY = None
SERPWATCH_ENGINE_CONCURRENCY = 1  # requests in flight per engine
SERPWATCH_MAX_SERP_PAGES = 10  # result pages per query and engine

# --- Safety and bounds (docs/SECURITY.md). Pages are written by criminals. ---
DOWNLOAD_TIMEOUT = 20  # seconds per request, headers and body together
DNS_TIMEOUT = 10  # enforced by crawler.net.resolver.GuardedResolver
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024  # bytes on the wire and again after decompression
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True  # a truncated body is a failure, never a page
REDIRECT_MAX_TIMES = 8
METAREFRESH_MAXDELAY = 30
RETRY_TIMES = 2
SERPWATCH_RETRY_AFTER_MAX = 30  # longest Retry-After honoured (s); longer is not retried
SERPWATCH_MAX_PAGES_PER_SITE = 25  # requests per registrable domain per run
SERPWATCH_MAX_QUERIES = 1000  # distinct (engine, query) pairs per run
SERPWATCH_MAX_NESTING = MAX_NESTING  # deeper HTML is a parser time bomb: refused
SERPWATCH_MAX_OFFERS_LISTED = 200  # offered downloads recorded per run (table downloads)
# The SSRF guard: on unless the profile says allow_private = true (or this is on).
SERPWATCH_ALLOW_PRIVATE = False
SERPWATCH_TRUSTED_HOSTS: list[str] = []  # "host[:port]" trusted like engine endpoints
# Scrapy 2.19's remote control runs Python sent over HTTP; a crawler of hostile
# pages keeps no such door open (like the telnet console below).
REMOTE_CONTROL_ENABLED = False
TWISTED_DNS_RESOLVER = "crawler.net.resolver.GuardedResolver"
# Guarded HTTP/1.1 for pages; render requests go to a guarded Chromium (crawler.render).
DOWNLOAD_HANDLERS = {
    "http": "crawler.render.handler.GuardedBrowserHandler",
    "https": "crawler.render.handler.GuardedBrowserHandler",
    "file": None,
    "data": None,
    "ftp": None,
    "s3": None,
}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    "crawler.middlewares.HostilePageMiddleware": 585,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.DecompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "crawler.middlewares.OfflineCookiesMiddleware": 700,
    # After HttpProxyMiddleware (750), so they know whether a proxy is used.
    "crawler.middlewares.NetGuardMiddleware": 760,
    "crawler.middlewares.DownloadOfferMiddleware": 770,
    "crawler.middlewares.CrawlBudgetMiddleware": 780,
}

SPIDER_MIDDLEWARES = {
    # A result page that showed ads is pictured (when rendering is on).
    "crawler.render.serp.SerpShotMiddleware": 950,
}

ITEM_PIPELINES = {
    "pipelines.lock.RunLockPipeline": 10,  # first: one crawl per database (crawler/lock.py)
    "pipelines.extract.ExtractPhonesPipeline": 100,
    "pipelines.score.ScorePipeline": 200,
    "pipelines.render.RenderPipeline": 220,
    "pipelines.evidence.EvidencePipeline": 250,
    "pipelines.store.StorePipeline": 300,
}

# Scheduled watch (crawler/lock.py, progress.py, alerts.py): one crawl at a time
# per database, progress on a terminal / in the log / in `runs.progress`, and
# the profile's [alerts] after each run. Extensions, so `scrapy crawl` and
# Scrapyd jobs get them as `serpwatch crawl` does.
EXTENSIONS = {
    # A JOBDIR a killed crawl left is started over (crawler/jobdir.py).
    "crawler.jobdir.JobdirGuard": 50,
    # Opens the run when the spider opens, closes it when it closes, before the
    # progress and the alerts read it (crawler/run_recorder.py).
    "crawler.run_recorder.RunRecorder": 100,
    "crawler.progress.ProgressExtension": 500,
    "crawler.alerts.AlertsExtension": 600,
}
SERPWATCH_LOCK_FILE = ""  # empty: `<database>.lock` beside the database
SERPWATCH_PROGRESS = "auto"  # auto | live | log | off (auto: live on a terminal, else log)
SERPWATCH_PROGRESS_INTERVAL = 30  # seconds between two progress lines in the log
SERPWATCH_PROGRESS_DB_INTERVAL = 5  # seconds between two writes of runs.progress
SERPWATCH_ALERTS = True  # send the profile's [alerts] after each run
SERPWATCH_ALERT_RETRIES = 3  # tries per channel and message
SERPWATCH_ALERT_RETRY_DELAY = 2.0  # seconds before the second try, doubled after

# Distributed mode (crawler/distributed.py, `serpwatch worker`): a worker silent
# this long is gone, and the requests it held go back to the shared queue.
SERPWATCH_LEASE_SECONDS = 30.0
# Items a worker collects before it pushes them to the stream without waiting
# for its next heartbeat (one push per beat otherwise).
SERPWATCH_STREAM_FLUSH_AT = 500

# `serpwatch brands check`: a listed official number not confirmed on the
# brand's own page for more than this many days is reported (--max-age).
SERPWATCH_OFFICIAL_MAX_AGE_DAYS = 180

# --- Rendering in a real browser (crawler/render, docs/RENDERING.md). ---
# scrapy-playwright needs the asyncio reactor (Scrapy's default since 2.13).
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
SERPWATCH_RENDER = ""  # auto | always | never; empty: the profile's `render` (default auto)
SERPWATCH_BROWSER = ""  # the Chromium binary; empty: auto-detect /usr/lib/chromium/chromium
SERPWATCH_RENDER_MAX_PAGES = 50  # renders per run
SERPWATCH_RENDER_MAX_SECONDS = 600  # browser seconds per run
SERPWATCH_RENDER_CONCURRENCY = 2  # pages in the browser at once
SERPWATCH_RENDER_PAGE_SECONDS = 20  # one page: navigation, waiting, reading, pictures
SERPWATCH_RENDER_SETTLE = 6  # longest wait for a page's short timers and requests (s)
SERPWATCH_RENDER_MIN_RISK = "medium"  # flagged pages of this risk and up are pictured
SERPWATCH_SCREENSHOT_MAX_HEIGHT = 4000  # full-page screenshots are cut there (px)
SERPWATCH_OCR_MAX_IMAGES = 8  # images and canvases read by OCR per rendered page
# The browser's SSRF guard resolves names with this (crawler.render.proxy).
SERPWATCH_BROWSER_RESOLVER = "crawler.render.proxy.system_resolve"

# Where results go; the CLI sets these from its options.
SERPWATCH_DB = "serpwatch.db"
# Folder for the WARC evidence files; empty means `<db name>-warc/` next to the DB.
SERPWATCH_WARC_DIR = ""
# A cap on the database file in bytes (0: none). Reaching it is handled like a
# full disk: the run ends `failed`, what was stored stays, what was lost is counted.
SERPWATCH_DB_MAX_BYTES = 0
# Pages and results are stored this many at a time, or after this many seconds,
# in one transaction (pipelines/store.py): a commit per page cost more than the
# page's rows. A SIGKILL loses at most this batch. 1: each item at once.
SERPWATCH_STORE_BATCH = 50
SERPWATCH_STORE_BATCH_SECONDS = 0.05

TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
