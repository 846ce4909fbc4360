"""Search engines: one module per engine kind, looked up by `ENGINES[kind]`.

Each module has `build_request(query, *, language, region, page, base_url)` and a
pure `parse(body, url, status=200, *, region=None, rank_offset=None) -> SerpPage`.
"""

from __future__ import annotations

from crawler.engines import (
    bing,
    brave,
    duckduckgo,
    ecosia,
    google,
    searxng,
    serpapi,
    startpage,
    yahoo,
)
from crawler.engines.base import Engine, SearchRequest, SerpPage, SerpResult

ENGINES: dict[str, Engine] = {
    "bing": bing,
    "duckduckgo": duckduckgo,
    "google": google,
    "searxng": searxng,
    "brave": brave,
    "startpage": startpage,
    "ecosia": ecosia,
    "yahoo": yahoo,
    "serpapi": serpapi,
}


def get_engine(kind: str) -> Engine:
    """The engine module for a kind; KeyError names the known kinds."""
    try:
        return ENGINES[kind]
    except KeyError:
        raise KeyError(f"unknown engine {kind!r}; known: {', '.join(sorted(ENGINES))}") from None


__all__ = ["ENGINES", "Engine", "SearchRequest", "SerpPage", "SerpResult", "get_engine"]
