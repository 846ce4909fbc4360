"""The downloader middlewares, by the path DESIGN.md names and settings use.

They live in crawler/net/middlewares.py with the rest of the guard (crawler.net);
`crawler.settings.DOWNLOADER_MIDDLEWARES` names them here, so a deployment's
override of one (`crawler.middlewares.X: None`) still finds it.
"""

from __future__ import annotations

from crawler.net.middlewares import (
    CrawlBudgetMiddleware,
    DecompressionMiddleware,
    DownloadOfferMiddleware,
    HostilePageMiddleware,
    NetGuardMiddleware,
    OfflineCookiesMiddleware,
    RetryAfterMiddleware,
)

__all__ = [
    "CrawlBudgetMiddleware",
    "DecompressionMiddleware",
    "DownloadOfferMiddleware",
    "HostilePageMiddleware",
    "NetGuardMiddleware",
    "OfflineCookiesMiddleware",
    "RetryAfterMiddleware",
]
