"""Landing-page throughput without rendering, against a link-following baseline.

    .venv/bin/python bench/throughput.py [--pages 600] [--profile] [--no-scrapy-bench]

One local web on 127.0.0.1, served from this process, plays an HTTP proxy for
`--pages` sites (`http://helpdesk-N.nl/`, as the demo web does) and a Bing
result page listing all of them. Each site's page is a realistic scam or
clean helpdesk page of about 5 KB: title, navigation, text, two to four phone
numbers in several formats, a tel: link, a footer with links to ten other
sites. In the same run, against the same web:

1. baseline: Scrapy's own bench spider (`scrapy bench`: a LinkExtractor that
   follows every link), with Scrapy's default settings, crawling the sites'
   pages through their links (a tree, so every site is reached once);
2. serpwatch: `serpwatch crawl` of one query whose result page lists every
   site, with `render = "never"`, AutoThrottle off and 16 requests at once (as
   the baseline); every page is extracted, scored, written to the WARC and
   stored;
3. (for reference) `scrapy bench` itself, on its own server and its tiny pages.

Both crawls run with a probe extension (this file, imported by the crawl
process) that times the steady state: from the first landing page's response
to the last page done (the baseline: its last response; serpwatch: its last
PageItem through the pipelines), and the crawl process's CPU time in that
window. It also times serpwatch's stages per page (spider callback, each
pipeline, the downloader middlewares, the store's end-of-crawl flush).
`--profile` runs the serpwatch crawl once more under cProfile and prints the
top functions by own time.

Figures depend on the machine and its load (printed); the ratio is the point.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
FANOUT = 10  # links from one site to the next ones (the baseline's tree)

# -- the web ---------------------------------------------------------------------

_SCAM = """<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">
<title>{brand} Helpdesk Nederland | Bel {local} | 24/7 bereikbaar</title>
<meta name="description" content="Officiele {brand} helpdesk. Bel ons voor hulp bij Windows,
Outlook en virussen. Direct een gecertificeerde technicus aan de lijn.">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/style.css"></head><body>
<header><div class="top"><img src="/logo.png" alt="{brand} Windows Helpdesk"></div>
<nav><a href="/">Home</a> <a href="/diensten">Diensten</a> <a href="/tarieven">Tarieven</a>
<a href="/over-ons">Over ons</a> <a href="/contact">Contact</a></nav></header>
<main><h1>{brand} Helpdesk Nederland</h1>
<p>Problemen met Windows, Outlook of uw printer? Onze gecertificeerde {brand} technici helpen
u direct, ook in het weekend. Wij lossen virussen, trage computers, vergeten wachtwoorden en
foutmeldingen op afstand op, meestal binnen een half uur.</p>
<p class="call">Bel nu: <a href="tel:{e164}">{local}</a> (lokaal tarief)</p>
<h2>Zo werkt het</h2>
<ol><li>Bel ons op {local}</li><li>Download <a href="/anydesk.exe">AnyDesk</a> voor hulp op
afstand</li><li>Wij lossen het probleem op terwijl u meekijkt</li></ol>
<h2>Waarmee wij helpen</h2>
<ul><li>Outlook start niet of verstuurt geen mail</li><li>Windows update blijft hangen</li>
<li>Virus- en malwareverwijdering</li><li>Printer en scanner installeren</li>
<li>Microsoft 365 en Office activeren</li><li>Wachtwoord van uw account vergeten</li></ul>
<p>{filler}</p>
<p>Liever gebeld worden? Laat uw nummer achter of bel onze spoedlijn
<strong>{intl}</strong>. Buiten kantoortijden: {other}.</p>
<p>{filler}</p></main>
<footer><p>KvK {kvk} &middot; Bankrekening NL91ABNA0417164300 &middot;
<a href="/privacy">Privacy</a> &middot; <a href="/voorwaarden">Voorwaarden</a></p>
<p>Ook bekend van: {links}</p>
<p>Wij zijn geen onderdeel van {brand} Corporation.</p></footer></body></html>"""

_CLEAN = """<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">
<title>PC Reparatie {n} Utrecht - computerhulp aan huis</title>
<meta name="description" content="Uw Windows computer traag of kapot? Wij repareren laptops en
pc's in Utrecht en omgeving."></head><body>
<header><nav><a href="/">Home</a> <a href="/reparatie">Reparatie</a>
<a href="/contact">Contact</a></nav></header>
<main><h1>PC Reparatie {n}</h1>
<p>Uw computer traag of kapot? Wij komen bij u thuis in Utrecht en omgeving. Geen
voorrijkosten binnen de ring, vaste prijzen, en een jaar garantie op onderdelen.</p>
<p>{filler}</p><p>{filler}</p>
<table><tr><th>Dienst</th><th>Prijs</th></tr><tr><td>Diagnose</td><td>&euro; 25</td></tr>
<tr><td>Virus verwijderen</td><td>&euro; 49</td></tr><tr><td>Windows herinstallatie</td>
<td>&euro; 79</td></tr><tr><td>Data terugzetten</td><td>&euro; 59</td></tr></table>
<p>Bel ons op {local} of mail naar info@pcreparatie{n}.nl. Werkplaats: Oudegracht {n},
3511 AB Utrecht. Geopend ma-vr 9:00-17:30, za 10:00-16:00.</p>
<p>{filler}</p></main>
<footer><p>KvK {kvk} &middot; BTW NL00{kvk}B01</p><p>Partners: {links}</p></footer>
</body></html>"""

_FILLER = (
    "Onze helpdesk is er voor particulieren en kleine bedrijven. Wij werken met vaste "
    "tarieven en u betaalt pas als het probleem is opgelost. Heeft u vragen over uw "
    "computer, tablet of telefoon, neem dan gerust contact op. "
) * 3


def host(n: int) -> str:
    return f"helpdesk-{n}.nl"


def site_page(n: int, total: int) -> str:
    """Site n's page: a scam helpdesk (four in five) or a clean repair shop."""
    kids = [m for m in range(FANOUT * n + 1, FANOUT * n + FANOUT + 1) if m < total]
    links = " ".join(f'<a href="http://{host(m)}/">{host(m)}</a>' for m in kids) or "-"
    a, b = 1000 + n % 9000, 2000 + (n * 7) % 8000
    values = {
        "n": n,
        "brand": ("Microsoft", "Apple", "KPN", "Ziggo")[n % 4],
        "local": f"085 208 {a:04d}",
        "e164": f"+3185208{a:04d}",
        "intl": f"+31 20 794 {b:04d}",
        "other": f"0900-{1000 + n % 9000:04d}",
        "kvk": 80000000 + n,
        "filler": _FILLER,
        "links": links,
    }
    return (_CLEAN if n % 5 == 4 else _SCAM).format(**values)


def serp(total: int) -> str:
    from crawler.demo.web import bing_page

    organic = [
        (f"http://{host(n)}/", f"Helpdesk {n} | Bel ons", host(n), "24/7 hulp bij uw computer.")
        for n in range(total)
    ]
    return bing_page("microsoft helpdesk", organic, [])


class _Web(BaseHTTPRequestHandler):
    """Proxy-form requests get a site's page; path-form ones the result page."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = urlsplit(self.path)
        name = (parts.hostname or "127.0.0.1").lower()
        m = re.fullmatch(r"helpdesk-(\d+)\.nl", name)
        if m and int(m.group(1)) < self.server.pages:
            # Any path of a site is its page: the baseline follows the navigation too.
            body = self.server.cache.get(int(m.group(1)))
        elif parts.path == "/search" and "q" in parse_qs(parts.query):
            body = self.server.serp
        else:
            body = None
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
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
    server.cache = {n: site_page(n, pages).encode() for n in range(pages)}
    server.serp = serp(pages).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# -- the probe (runs inside the crawl process, as a Scrapy extension) --------------

# Stages timed per page in serpwatch's crawl: "module:Class.method".
STAGES = {
    "spider callback (parse_page)": ["spiders.search:SearchSpider.parse_page"],
    "extraction (pipelines/extract)": ["pipelines.extract:ExtractPhonesPipeline.process_item"],
    "scoring (pipelines/score)": ["pipelines.score:ScorePipeline.process_item"],
    "render pipeline (never: a no-op)": ["pipelines.render:RenderPipeline.process_item"],
    "WARC (pipelines/evidence)": ["pipelines.evidence:EvidencePipeline.process_item"],
    # The store keeps rows in a batch and writes them later (a delayed call): its
    # row building and the writes are timed, not process_item (it holds a flush).
    "SQLite (pipelines/store)": [
        "pipelines.store:batched_save",
        "pipelines.store:save_item",
        "crawler.storage:save_many",
    ],
    "downloader middlewares": [
        f"crawler.middlewares:{cls}.{meth}"
        for cls in (
            "RetryAfterMiddleware",
            "HostilePageMiddleware",
            "DecompressionMiddleware",
            "OfflineCookiesMiddleware",
            "NetGuardMiddleware",
            "DownloadOfferMiddleware",
            "CrawlBudgetMiddleware",
        )
        for meth in ("process_request", "process_response")
    ],
}
END_STAGES = {
    "store close (final flush, end-of-run step)": ["pipelines.store:StorePipeline.close_spider"],
}


class Probe:
    """Steady-state timing of a crawl; writes JSON to $BENCH_PROBE_OUT at the end."""

    def __init__(self, crawler):
        from scrapy import signals

        self.crawler = crawler
        self.out = os.environ["BENCH_PROBE_OUT"]
        self.only = os.environ.get("BENCH_PROBE_SKIP_HOST", "")
        self.first = self.last = None
        self.cpu_first = self.cpu_last = 0.0
        self.pages = 0
        self.timers: dict[str, list[float]] = {}
        if os.environ.get("BENCH_PROBE_STAGES"):
            for label, targets in {**STAGES, **END_STAGES}.items():
                for target in targets:
                    self._wrap(label, target)
        crawler.signals.connect(self.response, signal=signals.response_received)
        crawler.signals.connect(self.item, signal=signals.item_scraped)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @staticmethod
    def _cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def _wrap(self, label: str, target: str) -> None:
        import importlib

        module, _, attr = target.partition(":")
        cls_name, _, meth = attr.rpartition(".")
        try:
            owner = importlib.import_module(module)
            cls = getattr(owner, cls_name) if cls_name else owner
        except (ImportError, AttributeError):
            return
        fn = cls.__dict__.get(meth) if cls_name else getattr(owner, meth, None)
        if fn is None:
            return
        acc = self.timers.setdefault(label, [0.0, 0])
        # CPU time of the crawl's thread, not wall time: on a shared machine
        # the wall clock also counts the time other processes had the core.
        clock = time.thread_time
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def wrapper(*a, **k):
                gen = fn(*a, **k)
                while True:
                    t = clock()
                    try:
                        value = next(gen)
                    except StopIteration:
                        acc[0] += clock() - t
                        acc[1] += 1
                        return
                    acc[0] += clock() - t
                    yield value

        elif inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def wrapper(*a, **k):
                t = clock()
                try:
                    return await fn(*a, **k)
                finally:
                    acc[0] += clock() - t
                    acc[1] += 1

        else:

            @functools.wraps(fn)
            def wrapper(*a, **k):
                t = clock()
                try:
                    return fn(*a, **k)
                finally:
                    acc[0] += clock() - t
                    acc[1] += 1

        setattr(cls, meth, wrapper)

    def _landing(self, url: str) -> bool:
        return not self.only or urlsplit(url).hostname != self.only

    def response(self, response, request, spider):
        if self.first is None and self._landing(response.url):
            self.first, self.cpu_first = time.monotonic(), self._cpu()
        if not self.only and self._landing(response.url):
            self._done()

    def item(self, item, response, spider):
        if self.only and type(item).__name__ == "PageItem":
            self._done()

    def _done(self) -> None:
        self.pages += 1
        self.last, self.cpu_last = time.monotonic(), self._cpu()

    def closed(self, spider, reason):
        Path(self.out).write_text(
            json.dumps(
                {
                    "pages": self.pages,
                    "seconds": (self.last or 0) - (self.first or 0),
                    "cpu": self.cpu_last - self.cpu_first,
                    "after_last": time.monotonic() - (self.last or time.monotonic()),
                    "timers": self.timers,
                }
            )
        )


# -- the crawls --------------------------------------------------------------------

_BASELINE_SPIDER = '''
import scrapy
from scrapy.linkextractors import LinkExtractor


class Follow(scrapy.Spider):
    """scrapy bench's spider (scrapy/commands/bench.py): follows every link."""

    name = "follow"
    link_extractor = LinkExtractor()

    async def start(self):
        yield scrapy.Request("http://helpdesk-0.nl/", dont_filter=True)

    def parse(self, response):
        for link in self.link_extractor.extract_links(response):
            yield scrapy.Request(link.url, callback=self.parse)
'''


def _env(port: int, out: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("SERPWATCH_RENDER", None)
    env.update(
        {
            "http_proxy": f"http://127.0.0.1:{port}",
            "no_proxy": "",
            "BENCH_PROBE_OUT": str(out),
            "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
            **extra,
        }
    )
    return env


def _result(out: Path, proc: subprocess.CompletedProcess) -> dict:
    if proc.returncode not in (0,) or not out.exists():
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    r = json.loads(out.read_text())
    r["per_min"] = 60 * max(r["pages"] - 1, 0) / r["seconds"] if r["seconds"] > 0 else 0.0
    r["cpu_ms"] = 1000 * r["cpu"] / max(r["pages"] - 1, 1)
    return r


def baseline(folder: Path, port: int, pages: int) -> dict:
    """scrapy bench's spider and settings over the sites' pages."""
    folder.mkdir(parents=True, exist_ok=True)
    spider = folder / "follow.py"
    spider.write_text(_BASELINE_SPIDER)
    out = folder / "probe.json"
    args = [sys.executable, "-m", "scrapy", "runspider", str(spider)]
    for name, value in {
        "LOG_LEVEL": "WARNING",
        "EXTENSIONS": json.dumps({"throughput.Probe": 0}),
        "TELNETCONSOLE_ENABLED": False,
        "CLOSESPIDER_PAGECOUNT": pages,
    }.items():
        args += ["-s", f"{name}={value}"]
    proc = subprocess.run(
        args, capture_output=True, text=True, cwd=folder, env=_env(port, out), timeout=1800
    )
    return _result(out, proc)


def _profile_files(folder: Path, port: int, pages: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brands.toml").write_text(
        '[[brands]]\nname = "Microsoft"\nkeywords = ["microsoft", "windows"]\n'
        'domains = ["microsoft.com"]\nphones = ["+31 20 500 1005"]\n'
    )
    profile = folder / "profile.toml"
    profile.write_text(
        f'name = "bench"\nbrands = "brands.toml"\nresults_per_query = {pages}\n'
        'render = "never"\nallow_private = true\n\n'
        f'[[engines]]\nkind = "bing"\nurl = "http://127.0.0.1:{port}/search"\n\n'
        '[queries]\nextra = ["microsoft helpdesk"]\n'
    )
    return profile, folder / "bench.db"


def serpwatch(
    folder: Path, port: int, pages: int, *, stages: bool, profile_to=None, extra=()
) -> dict:
    """`serpwatch crawl` of the sites' result page, render = never."""
    profile, db = _profile_files(folder, port, pages)
    from crawler import settings as project

    extensions = {**project.EXTENSIONS, "throughput.Probe": 0}
    out = folder / "probe.json"
    settings = {
        "LOG_LEVEL": "WARNING",
        "SERPWATCH_RENDER": "never",
        "SERPWATCH_ENGINE_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "SERPWATCH_MAX_PAGES_PER_SITE": 0,
        "SERPWATCH_PROGRESS": "off",
        "EXTENSIONS": json.dumps(extensions),
        **dict(item.split("=", 1) for item in extra),
    }
    head = [sys.executable]
    if profile_to:
        head += ["-m", "cProfile", "-o", str(profile_to)]
    args = [*head, "-m", "crawler.cli", "crawl", str(profile), "--db", str(db)]
    for name, value in settings.items():
        args += ["-s", f"{name}={value}"]
    env = _env(port, out, BENCH_PROBE_SKIP_HOST="127.0.0.1")
    if stages:
        env["BENCH_PROBE_STAGES"] = "1"
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"serpwatch crawl failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return _result(out, proc)


def scrapy_bench(seconds: int = 10) -> float:
    """`scrapy bench` itself: its mean logged rate after the first interval."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "scrapy", "bench", "-s", f"CLOSESPIDER_TIMEOUT={seconds}"],
            capture_output=True,
            text=True,
            cwd=tmp,
            timeout=seconds * 10,
            env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
        )
    rates = [int(m) for m in re.findall(r"\(at (\d+) pages/min\)", proc.stderr)][1:]
    return sum(rates) / len(rates) if rates else 0.0


def _line(label: str, r: dict) -> str:
    return (
        f"   {label:36s} {r['per_min']:7.0f} pages/min  ({r['pages']} pages in"
        f" {r['seconds']:.1f} s)  CPU {r['cpu_ms']:.2f} ms/page"
    )


def _stages(staged: dict) -> None:
    print("serpwatch per stage (a crawl with timers; CPU ms per landing page):")
    n = max(staged["pages"], 1)
    total = 0.0
    for label in STAGES:
        seconds = staged["timers"].get(label, [0.0, 0])[0]
        total += seconds
        print(f"   {label:44s} {1000 * seconds / n:7.3f}")
    print(f"   {'sum of the stages':44s} {1000 * total / n:7.3f}")
    rest = staged["cpu_ms"] - 1000 * total / n
    print(f"   {'the rest: Scrapy, downloader, reactor':44s} {rest:7.3f}  (CPU per page - stages)")
    print(f"   {'all':44s} {staged['cpu_ms']:7.3f}")
    for label in END_STAGES:
        seconds = staged["timers"].get(label, [0.0, 0])[0]
        print(f"   {label:44s} {1000 * seconds:7.0f} ms, once")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=600, help="sites (landing pages)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each crawl (best kept)")
    parser.add_argument("--profile", action="store_true", help="also a cProfile of serpwatch")
    parser.add_argument("--no-scrapy-bench", action="store_true")
    parser.add_argument(
        "-s",
        dest="extra",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the serpwatch crawls (to try one)",
    )
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
    web = serve(args.pages)
    port = web.server_port
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base, ours = [], []
        for i in range(args.rounds):  # interleaved, so load changes hit both alike
            base.append(baseline(tmp / f"base{i}", port, args.pages))
            ours.append(
                serpwatch(tmp / f"ours{i}", port, args.pages, stages=False, extra=args.extra)
            )
        staged = serpwatch(tmp / "staged", port, args.pages, stages=True, extra=args.extra)
        b = max(base, key=lambda r: r["per_min"])
        s = max(ours, key=lambda r: r["per_min"])
        size = sum(len(v) for v in web.cache.values()) / args.pages
        print(f"{args.pages} sites, pages of {size / 1024:.1f} KB; best of {args.rounds} rounds:")
        print(_line("baseline (scrapy bench's spider)", b))
        print(_line('serpwatch crawl, render = "never"', s))
        print(
            f"   ratio, pages/min:  {s['per_min'] / b['per_min']:.2f}"
            f"   (rounds: baseline {[round(r['per_min']) for r in base]},"
            f" serpwatch {[round(r['per_min']) for r in ours]})"
        )
        cpu_b = min(r["cpu_ms"] for r in base)
        cpu_s = min(r["cpu_ms"] for r in ours)
        print(
            f"   ratio, CPU per page: {cpu_b / cpu_s:.2f}   (baseline {cpu_b:.2f} ms,"
            f" serpwatch {cpu_s:.2f} ms: the throughput of each on an idle core)"
        )
        print(
            f"   CPU ms per page, rounds: baseline {[round(r['cpu_ms'], 2) for r in base]},"
            f" serpwatch {[round(r['cpu_ms'], 2) for r in ours]}"
        )
        _stages(staged)
        if not args.no_scrapy_bench:
            print(f"scrapy bench itself (its server, tiny pages): {scrapy_bench():.0f} pages/min")
        if args.profile:
            prof = tmp / "crawl.prof"
            serpwatch(
                tmp / "prof", port, args.pages, stages=False, profile_to=prof, extra=args.extra
            )
            print("cProfile of the serpwatch crawl, top 30 by own time:")
            pstats.Stats(str(prof)).sort_stats("tottime").print_stats(30)
    web.shutdown()
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
