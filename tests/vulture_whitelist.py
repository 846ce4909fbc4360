"""Names that look unused to vulture but are called by name from outside the code.

Every entry says who calls it. `make lint` runs vulture with this file; a name
that is really dead is deleted, not added here.
"""

# ruff: noqa: B018, F821
# Scrapy finds these through crawler/settings.py (ITEM_PIPELINES,
# DOWNLOADER_MIDDLEWARES, DOWNLOAD_HANDLERS, SPIDER_MODULES).
EvidencePipeline
ExtractPhonesPipeline
ScorePipeline
StorePipeline
RunLockPipeline
SearchSpider
custom_settings
NetGuardMiddleware
DownloadOfferMiddleware
CrawlBudgetMiddleware
HostilePageMiddleware
RetryAfterMiddleware
DecompressionMiddleware
OfflineCookiesMiddleware
# Distributed mode: crawler.distributed.worker_settings names them for Scrapy.
RunScheduler
EngineRateLimit
SharedEngineGate
StreamPipeline
WorkerExtension
run_render_budget  # SERPWATCH_RENDER_BUDGET, loaded by crawler.render.renderer
enqueue_request  # Scrapy's engine calls these on the SCHEDULER (RunScheduler)
next_request
GuardedResolver
GuardedHTTP11DownloadHandler
install_on_reactor  # Scrapy calls it on the TWISTED_DNS_RESOLVER class
# Scrapy builds these from EXTENSIONS in crawler/settings.py.
ProgressExtension
AlertsExtension
JobdirGuard
# click calls a ParamType's convert (crawler/cli/watch.py Duration).
convert
# The standard library's http.server reads these class attributes.
server_version
daemon_threads
# warcio calls this hook on its writer subclass.
_create_digester
# Scrapy's cookie middleware reads this module attribute; we replace it so
# tldextract never reaches the network.
_split_domain
# A signal handler's argument, named by Scrapy.
body_length
# Public API for people who check evidence by hand (README, Evidence).
verify
# Facts fields read back from stored JSON by SQL (crawler/history.py) and the
# scoring rebuild of issue 10.
brand_listing
brand_keywords
# crawler.items.QueryOutcome fields: stored by name through dataclasses.asdict
# (pipelines/store.py → storage.save_query_outcome).
serp_pages
# Rendering (crawler/render): classes named in settings, Scrapy's spider
# middleware hooks, and scrapy-playwright's handler attributes that we set.
GuardedBrowserHandler
SerpShotMiddleware
process_spider_output
process_spider_output_async
RenderPipeline
browser_type_name
target_closed_max_retries
context_semaphore
BROWSER_SIGNALS  # read by tests/test_scoring_pages.py
# Item fields stored through dataclasses.asdict (pipelines/store.py), read by SQL.
seen_at
reached_via
# PyMISP serialises these attributes of its objects by name (crawler/exports/misp.py).
first_seen
last_seen
distribution
analysis
threat_level_id
# Datasette calls the plugin's hooks by name (crawler/datasette/plugins).
render_cell
register_routes
asgi_wrapper
# evidence._offsets: parts of its lru_cache key, never read.
mtime_ns
# STIX bundles made of stix2's own objects, each parsed and checked: the reference the
# tests hold the written bundles to (crawler/exports/stix.py writes them without stix2).
bundle
row_factory  # read by sqlite3 from a cursor (storage.reads.sightings_for_export)
