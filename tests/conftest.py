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


# What `--rerecord` rewrote in this run (tests/golden.py), listed at the end.
_REWRITTEN: list[str] = []


def pytest_addoption(parser):
    parser.addoption(
        "--rerecord",
        action="store_true",
        default=False,
        help="golden fixtures (tests/golden.py): write each case's expected.json from what "
        "the code makes of it now instead of comparing; review the diff before committing",
    )


@pytest.fixture(scope="session")
def golden(request):
    """`golden(case, output)`: compare with case/expected.json, or record it (--rerecord)."""
    from golden import Golden

    return Golden(request.config.getoption("--rerecord"), _REWRITTEN)


def pytest_terminal_summary(terminalreporter, config):
    if config.getoption("--rerecord"):
        terminalreporter.write_sep("-", f"--rerecord: {len(_REWRITTEN)} expected.json rewritten")
        for path in _REWRITTEN:
            terminalreporter.write_line(f"rewritten: {path}")


def pytest_configure(config):
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    # Crawls in tests render nothing unless they ask (-s SERPWATCH_RENDER=auto):
    # the browser is tested in tests/test_render_*.py.
    os.environ.setdefault("SERPWATCH_RENDER", "never")


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory):
    """`serpwatch demo` run once for the session: its folder (db, WARC, exports, report)."""
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path_factory.mktemp("demo-out")
    exe = Path(sys.executable).with_name("serpwatch")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run(
        [str(exe), "demo", "--out", str(out)], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="session")
def web_db(tmp_path_factory):
    """`web_db(name)`: the database of one crawl of a simulated web (`simweb`,
    `simweb3`) or the demo, crawled once per session through the CLI."""
    cache: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in cache:
            from snapshots.webs import crawl_db

            cache[name] = crawl_db(name, tmp_path_factory.mktemp(name))
        return cache[name]

    return get
