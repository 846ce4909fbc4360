"""Search engines: one module per engine kind, looked up by `ENGINES[kind]`."""

from __future__ import annotations

from crawler.engines import bing
from crawler.engines.base import Blocked, SearchRequest, SerpPage, SerpResult

ENGINES = {"bing": bing}

__all__ = ["ENGINES", "Blocked", "SearchRequest", "SerpPage", "SerpResult"]
