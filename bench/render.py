"""Rendering's cost, measured against baselines in the same run.

    .venv/bin/python bench/render.py [--pages 40] [--static-pages 400]

Prints:

1. static vs rendered landing pages per minute: two `serpwatch crawl`s of the
   same local web (engine plus landing pages with a script-written number),
   one with `render = "never"`, one with `render = "always"`;
2. memory per browser page: Chromium launched as the crawler launches it,
   the unique memory (USS) of all its processes with no page, then with K
   pages open at once (each in its own context, as renders are);
3. OCR time per image: tesseract on number banners of three sizes;
4. a crawl without rendering against the same crawl with the render stack
   taken out (handler, spider middleware and pipeline as before issue 13):
   rendering must cost nothing when nothing is rendered.

Throughput against Scrapy's own bench is bench/throughput.py's: the web here
serves the landing pages from the engine's own host, which the spider paces
like the engine (one request at a time), so its pages per minute are no
measure of a crawl's throughput, only of the two crawls against each other.

Numbers depend on the machine and its load; the ratios are the point.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.demo.web import bing_page  # noqa: E402

PAGE = """<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">
<title>Microsoft helpdesk {n}</title></head><body><h1>Microsoft helpdesk</h1>
<p>Bel ons: 020 794 {n:04d}</p><p id="x"></p>
<script>document.getElementById('x').textContent = 'Of bel ' + ['085', '208', '{n:04d}'].join(' ');
</script>{filler}</body></html>"""
FILLER = "<p>" + "Windows hulp, computerhulp en ondersteuning. " * 40 + "</p>"


class _Web(BaseHTTPRequestHandler):
    def do_GET(self):
        parts = urlsplit(self.path)
        base = f"http://127.0.0.1:{self.server.server_port}"
        if parts.path == "/search":
            q = parse_qs(parts.query).get("q", ["q"])[0]
            organic = [
                (f"{base}/p/{n}", f"Helpdesk {n}", f"{base}/p/{n}", "")
                for n in range(self.server.pages)
            ]
            body = bing_page(q, organic, []).encode()
        elif parts.path.startswith("/p/"):
            n = int(parts.path.rsplit("/", 1)[1])
            body = PAGE.format(n=n, filler=FILLER * 3).encode()
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(pages: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Web)
    server.daemon_threads = True
    server.pages = pages
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def crawl(folder: Path, port: int, pages: int, settings: dict) -> dict:
    """One `serpwatch crawl`; returns landing pages, seconds and pages/min."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brands.toml").write_text(
        '[[brands]]\nname = "Microsoft"\nkeywords = ["microsoft", "windows"]\n'
        'domains = ["microsoft.com"]\nphones = ["+31 20 500 1005"]\n'
    )
    profile = folder / "profile.toml"
    profile.write_text(
        f'name = "bench"\nbrands = "brands.toml"\nresults_per_query = {pages}\n'
        "allow_private = true\n\n"
        f'[[engines]]\nkind = "bing"\nurl = "http://127.0.0.1:{port}/search"\n\n'
        '[queries]\nextra = ["microsoft helpdesk"]\n'
    )
    db = folder / "bench.db"
    base = {
        "LOG_LEVEL": "WARNING",
        "SERPWATCH_ENGINE_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "SERPWATCH_MAX_PAGES_PER_SITE": 0,
        "SERPWATCH_RENDER_MAX_PAGES": 100000,
        "SERPWATCH_RENDER_MAX_SECONDS": 100000,
    }
    exe = str(Path(sys.executable).with_name("serpwatch"))
    args = [exe, "crawl", str(profile), "--db", str(db)]
    for name, value in {**base, **settings}.items():
        args += ["-s", f"{name}={value if not isinstance(value, dict) else json.dumps(value)}"]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("SERPWATCH_RENDER", None)
    start = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed:\n{proc.stderr[-3000:]}")
    with sqlite3.connect(db) as conn:
        landing = conn.execute("select count(distinct url) from pages").fetchone()[0]
        stats = json.loads(conn.execute("select stats from runs").fetchone()[0])
        rendered = conn.execute(
            "select count(*), avg(seconds) from renders where status = 'rendered'"
        ).fetchone()
    # The crawl's own time: the process's wall time less a crawl of nothing
    # (start-up, the result page, closing), measured the same way.
    elapsed = max(0.001, wall - STARTUP.get("seconds", 0.0))
    return {
        "landing": landing,
        "seconds": elapsed,
        "per_min": 60 * landing / elapsed if elapsed else 0.0,
        "rendered": rendered[0],
        "render_seconds_avg": rendered[1],
        "numbers_rendered": stats.get("serpwatch/render/numbers_rendered", 0),
    }


STARTUP: dict[str, float] = {}


def measure_startup(folder: Path) -> None:
    """Wall time of a crawl whose result page has no results (subtracted from the others)."""
    empty = serve(0)
    STARTUP["seconds"] = 0.0
    times = [
        crawl(folder / f"empty{i}", empty.server_port, 1, {"SERPWATCH_RENDER": "never"})["seconds"]
        for i in range(2)
    ]
    STARTUP["seconds"] = min(times)
    empty.shutdown()


BEFORE_13 = {
    # The stack as it was before rendering existed.
    "DOWNLOAD_HANDLERS": {
        "http": "crawler.net.resolver.GuardedHTTP11DownloadHandler",
        "https": "crawler.net.resolver.GuardedHTTP11DownloadHandler",
        "file": None,
        "data": None,
        "ftp": None,
        "s3": None,
    },
    "SPIDER_MIDDLEWARES": {"crawler.render.serp.SerpShotMiddleware": None},
    "ITEM_PIPELINES": {
        "pipelines.extract.ExtractPhonesPipeline": 100,
        "pipelines.score.ScorePipeline": 200,
        "pipelines.evidence.EvidencePipeline": 250,
        "pipelines.store.StorePipeline": 300,
    },
}


async def browser_memory(k: int) -> dict:
    """USS of Chromium's processes with no page, then with k pages (own contexts) open."""
    import psutil
    from playwright.async_api import async_playwright

    from crawler.render.browser import find_browser, launch_options
    from crawler.render.proxy import GuardProxy, TapPolicy

    def uss() -> int:
        total = 0
        for p in psutil.Process().children(recursive=True):
            try:
                if "chrom" in p.name().lower():
                    total += p.memory_full_info().uss
            except psutil.Error:
                pass
        return total

    proxy = GuardProxy()
    tap = proxy.open_tap(TapPolicy(allow_private=True))
    server = serve(1)
    url = f"http://127.0.0.1:{server.server_port}/p/0"
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(**launch_options(find_browser(), tap.proxy_url))
            ctx0 = await browser.new_context(proxy={"server": tap.proxy_url})
            page0 = await ctx0.new_page()
            await page0.goto(url)
            await asyncio.sleep(1.0)
            one = uss()
            contexts = []
            for _ in range(k):
                ctx = await browser.new_context(proxy={"server": tap.proxy_url})
                page = await ctx.new_page()
                await page.goto(url)
                contexts.append(ctx)
            await asyncio.sleep(1.5)
            many = uss()
            await browser.close()
    finally:
        server.shutdown()
        proxy.stop()
    return {"one_page_mb": one / 2**20, "per_page_mb": (many - one) / k / 2**20, "k": k}


def ocr_times(repeat: int = 5) -> dict:
    from PIL import Image, ImageDraw, ImageFont

    from crawler.render.ocr import read_png

    out = {}
    for label, (w, h, size) in {
        "banner 520x90": (520, 90, 48),
        "small 260x40": (260, 40, 22),
        "large 1200x300": (1200, 300, 110),
    }.items():
        img = Image.new("RGB", (w, h), "white")
        ImageDraw.Draw(img).text(
            (8, 4), "Bel 088 123 4567", fill=(0, 0, 80), font=ImageFont.load_default(size=size)
        )
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        times, ok = [], 0
        for _ in range(repeat):
            result = read_png(buf.getvalue())
            times.append(result.seconds)
            ok += "088 123 4567" in result.text
        out[label] = (statistics.median(times), ok, repeat)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40, help="landing pages, rendered crawl")
    parser.add_argument("--static-pages", type=int, default=400, help="landing pages, static")
    parser.add_argument("--memory-pages", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        measure_startup(tmp)
        print(f"(start-up of a crawl, subtracted: {STARTUP['seconds']:.1f} s)")
        small = serve(args.pages)
        static = crawl(tmp / "static", small.server_port, args.pages, {"SERPWATCH_RENDER": "never"})
        rendered = crawl(
            tmp / "rendered", small.server_port, args.pages, {"SERPWATCH_RENDER": "always"}
        )
        small.shutdown()
        print(f"1. landing pages per minute, {args.pages} pages (same web, same run):")
        print(f"   static    {static['per_min']:8.0f}/min  ({static['seconds']:.1f} s)")
        print(
            f"   rendered  {rendered['per_min']:8.0f}/min  ({rendered['seconds']:.1f} s,"
            f" {rendered['rendered']} renders, {rendered['render_seconds_avg'] or 0:.2f} s each,"
            f" {rendered['numbers_rendered']} script-written numbers found)"
        )
        print(f"   ratio static/rendered {static['per_min'] / max(rendered['per_min'], 1e-9):.1f}x")
        mem = asyncio.run(browser_memory(args.memory_pages))
        print("2. memory (unique set size of Chromium's processes):")
        print(
            f"   browser with one page {mem['one_page_mb']:.0f} MB;"
            f" each further page in its own context {mem['per_page_mb']:.0f} MB (k={mem['k']})"
        )
        print("3. OCR time per image (tesseract nld+eng, median of 5; read right/tries):")
        for label, (seconds, ok, n) in ocr_times().items():
            print(f"   {label:16s} {seconds * 1000:6.0f} ms   {ok}/{n}")
        big = serve(args.static_pages)
        now_ = crawl(tmp / "now", big.server_port, args.static_pages, {"SERPWATCH_RENDER": "never"})
        before = crawl(tmp / "before", big.server_port, args.static_pages, BEFORE_13)
        big.shutdown()
        print(f"4. crawl without rendering, {args.static_pages} landing pages:")
        print(f"   serpwatch, render = never         {now_['per_min']:8.0f} pages/min")
        print(
            f"   serpwatch, render stack taken out {before['per_min']:8.0f} pages/min"
            f"  (never/before = {now_['per_min'] / before['per_min']:.2f})"
        )


if __name__ == "__main__":
    main()
