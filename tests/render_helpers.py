"""Shared by the rendering tests: a real Chromium and tesseract, or a clear failure under CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from servers.crawl import ROOT, cli_env

from crawler.render.browser import find_browser
from crawler.render.ocr import tesseract

IN_CI = bool(os.environ.get("CI"))


def need_browser() -> str:
    """The Chromium binary; without one, fail under CI (.ci/run installs it), else skip."""
    found = find_browser(None)
    if found is None:
        message = "Chromium not installed: apt-get install chromium (.ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def need_tesseract() -> str:
    found = tesseract()
    if found is None:
        message = "tesseract not installed: apt-get install tesseract-ocr tesseract-ocr-nld"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def probe(folder: Path, urls: list[str], **spec) -> tuple[list[dict], dict, list[str]]:
    """Render `urls` through the real stack (tests/servers/render_probe.py).

    Returns (one report per URL, the browser report, network-violation log).
    """
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"urls": urls, "db": str(folder / "probe.db"), **spec}
    spec["settings"] = {"SERPWATCH_RENDER": "always", **spec.get("settings", {})}
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    env = cli_env(folder)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "servers" / "render_probe.py"), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    log = Path(env["SERPWATCH_NET_LOG"])
    violations = log.read_text().splitlines() if log.exists() else []
    return rows[:-1], rows[-1], violations
