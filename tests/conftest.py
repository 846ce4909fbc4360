from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    # Tests talk only to servers they start; a proxy from the developer's
    # shell would silently reroute them.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield


def pytest_configure(config):
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    # Crawls in tests render nothing unless they ask (-s SERPWATCH_RENDER=auto):
    # the browser is tested in tests/test_render_*.py.
    os.environ.setdefault("SERPWATCH_RENDER", "never")
