"""Scrapy settings for serpwatch (`scrapy.cfg`: settings = crawler.settings)."""

BOT_NAME = "serpwatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Scam sites cloak: they show the scam only to visitors who look like a
# victim's browser arriving from a result page.
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7",
}
ROBOTSTXT_OBEY = False

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 8
RETRY_TIMES = 2
AUTOTHROTTLE_ENABLED = False

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPhonesPipeline": 100,
    "pipelines.score.ScorePipeline": 200,
    "pipelines.store.StorePipeline": 300,
}

# Where results go; the CLI sets these from its options.
SERPWATCH_DB = "serpwatch.db"

TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
