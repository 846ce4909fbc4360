"""Scrapy components built in isolation on the project's settings."""

from __future__ import annotations

from types import SimpleNamespace

from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.config import Engine


def project_settings_dict(**overrides) -> dict:
    values = {k: getattr(project_settings, k) for k in dir(project_settings) if k.isupper()}
    values.update(overrides)
    return values


def make_crawler(*, allow_private: bool = False, engines=None, **settings):
    """A crawler on the project's settings whose spider has a minimal profile."""
    crawler = get_crawler(settings_dict=project_settings_dict(**settings))
    profile = SimpleNamespace(
        allow_private=allow_private,
        engines=engines
        if engines is not None
        else [Engine("bing", "http://127.0.0.1:8888/search")],
        language="nl",
        region="NL",
    )
    crawler.spider = SimpleNamespace(profile=profile, name="search")
    if crawler.stats is None or not hasattr(crawler.stats, "inc_value"):  # pragma: no cover
        raise RuntimeError("get_crawler gave a crawler without stats")
    return crawler
