"""`python tests/servers/render_probe.py SPEC.json`: render URLs through the real stack.

A one-spider crawl (serpwatch's settings, downloader middlewares and
`crawler.render.handler.GuardedBrowserHandler`) whose spider hands each URL
of the spec to `crawler.render.renderer.Renderer._render`, the way the render
pipeline does, and prints one JSON object per URL with what the browser saw,
then one with the browser's processes. Runs under the offline audit hook.

SPEC: {"urls": [...], "settings": {...}, "allow_private": bool,
       "trusted": ["host:port", ...]}   (trusted: engine-like endpoints)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from servers.offline_hook import install

install(os.environ.get("SERPWATCH_NET_LOG"))

import scrapy  # noqa: E402
from scrapy.crawler import CrawlerProcess  # noqa: E402

from crawler.crawl import build_settings  # noqa: E402
from crawler.phones import extract_phones  # noqa: E402


class _Profile:
    name = "probe"
    region = "NL"
    language = "nl"
    render = "always"
    engines: list = []
    brands: list = []

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


class ProbeSpider(scrapy.Spider):
    name = "render-probe"

    def __init__(self, spec: dict, out: list, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec
        self.out = out
        self.profile = _Profile(spec.get("allow_private", False))

    async def start(self):
        from crawler.render.renderer import Renderer

        renderer = Renderer(self.crawler)
        for url in self.spec["urls"]:
            work, status = await renderer._render(
                url, "probe", trusted=bool(self.spec.get("trusted"))
            )
            self.out.append(_report(url, work, status))
        handler = self.crawler.engine.downloader.handlers._handlers.get("http")
        browser = getattr(handler, "_browser", None)
        pids = list(getattr(browser, "browser_pids", []) or [])
        self.out.append(
            {
                "browser_pids": pids,
                "cmdlines": [_cmdline(p) for p in pids],
                "budget_cut": renderer.budget.cut,
            }
        )
        return
        yield  # an async generator for Scrapy


def _report(url: str, work, status: str) -> dict:
    if work is None:
        return {"url": url, "status": "budget", "detail": status}
    numbers = sorted({h.phone for h in extract_phones(work.html or "", region="NL")})
    return {
        "url": url,
        "status": status,
        "error": work.error,
        "final_url": work.final_url,
        "title": work.title,
        "numbers": numbers,
        "behaviours": work.behaviours,
        "dialogs": work.dialogs,
        "downloads": work.downloads,
        "popups": work.popups,
        "navigations": work.navigations,
        "left_with_trap": work.left_with_trap,
        "refused": work.refused,
        "shots": [(s.kind, s.width, s.height, len(s.png)) for s in work.shots],
        "crops": len(work.crops),
        "seconds": round(work.seconds(), 2),
        "html_has_secret": "internal secret"
        in (work.html or "") + "".join(h for _, h in work.frames),
    }


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    settings = build_settings(spec.get("db", "/tmp/probe.db"), spec.get("settings"))
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    settings.set("SERPWATCH_TRUSTED_HOSTS", spec.get("trusted", []), priority="cmdline")
    settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    out: list = []
    process = CrawlerProcess(settings)
    process.crawl(ProbeSpider, spec=spec, out=out)
    process.start()
    for row in out:
        print(json.dumps(row, default=str))


if __name__ == "__main__":
    main()
