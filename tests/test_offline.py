"""Offline by construction: importing serpwatch or running the demo touches nothing beyond loopback.

Each check runs in a fresh interpreter under an audit hook
(tests/servers/offline_hook.py) that refuses and logs every socket connect
and name lookup that is not loopback, with an empty tldextract cache, so a
library that fetches on first use (tldextract's Public Suffix List, as
Scrapy's cookies middleware would) shows up in the log.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from servers.crawl import ROOT, cli_env, run_cli


def _python(code: str, folder: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    env = cli_env(folder)
    prelude = textwrap.dedent(
        """
        import os
        from servers.offline_hook import install
        install(os.environ["SERPWATCH_NET_LOG"])
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = Path(env["SERPWATCH_NET_LOG"])
    return proc, log.read_text().splitlines() if log.exists() else []


def test_the_hook_catches_a_lookup_and_a_connection(tmp_path):
    proc, violations = _python(
        """
        import socket
        for call in (lambda: socket.getaddrinfo("example.com", 80),
                     lambda: socket.create_connection(("93.184.216.34", 80), timeout=1)):
            try:
                call()
            except OSError:
                pass
        socket.getaddrinfo("127.0.0.1", 80)  # loopback is fine
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(violations) == 2 and "example.com" in violations[0]


def test_scrapys_own_tldextract_would_fetch_the_suffix_list(tmp_path):
    # Without serpwatch's patch, the cookies middleware's first cookie fetches.
    proc, violations = _python(
        """
        from scrapy.downloadermiddlewares import cookies
        cookies._is_public_domain("example.co.uk")
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert violations, "expected tldextract to try the network"


def test_importing_every_module_opens_no_connection(tmp_path):
    proc, violations = _python(
        """
        import importlib, pkgutil
        import crawler, pipelines, spiders
        names = []
        for package in (crawler, pipelines, spiders):
            for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                importlib.import_module(info.name)
                names.append(info.name)
        from scrapy.downloadermiddlewares import cookies
        assert not cookies._is_public_domain("example.co.uk")
        assert cookies._is_public_domain("co.uk")
        import tldextract
        from crawler.domains import registrable_domain
        assert registrable_domain("https://scam.blogspot.com/x") == "scam.blogspot.com"
        print(len(names))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) > 10
    assert violations == []


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("offline-demo")
    proc = run_cli(["demo", "--out", str(folder / "out")], cli_env(folder))
    log = folder / "network-violations.log"
    return proc, folder, log.read_text().splitlines() if log.exists() else []


def test_the_demo_opens_no_connection_beyond_loopback(demo):
    proc, folder, violations = demo
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert violations == []
    records = [
        json.loads(line) for line in (folder / "out" / "flagged.jsonl").read_text().splitlines()
    ]
    assert "+31852081234" in {r["phone"] for r in records}
