"""Scale-out benchmark: 1, 2 and 4 workers on one Redis, against a simulated web on loopback.

    .venv/bin/python bench/scale.py [--templates 5] [--workers 1,2,4] [--mode latency|cpu|both]
                                    [--render never|auto] [--repeat 1]

The simulated web (one threaded server in this process): two search engines
(`/e1/search`, `/e2/search`, Bing's HTML) that show the same results in
another order (so the per-query merge has work), and a site per result,
served as an HTTP proxy with a fixed latency per page. Two modes:

- latency: small pages, 500 ms per page, 2 requests in flight per worker:
  the crawl waits on the network, so workers should add up linearly.
- cpu: big pages (lots of text and number-like strings for the phone
  extractor and the scorer), 5 ms per page, 16 requests in flight per
  worker: the crawl is bound by extraction, so N workers need N cores (the
  target: 2 workers >= 1.7x one on 2 cores). A worker should use close to
  a whole core here; the per-worker line says how much each one got.

Every crawl runs with the browser off (`--render never`, the default):
what a render finds depends on time (a page cut at its time limit counts
as hanging) and each process has its own render budget (50 pages), so with
the browser on, the comparison below measures the machine, not the design;
and Chromium's own processes would share the cores with the workers.
`--render auto` turns it on for a look.

Per worker count it prints landing pages per minute (site fetches between the
first and the last one, seen by the server), the speed-up over one worker,
the store's lag (time from a worker's XADD to the store's commit), and each
engine's request rate against its limit (the server's own clock, busiest
1-second window and the smallest gap), then compares the flagged pairs and
each number's best verdict with a single-process crawl of the same web: they
must be identical. Workers are pinned to cores with os.sched_setaffinity when
the machine has them; the store, Redis and the web are not pinned.

The machine may be shared: CPU figures are noisy; run it twice.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import shutil
import signal
import socket
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
sys.path.insert(0, str(ROOT / "tests"))

from crawler.demo.web import bing_page  # noqa: E402

EXE = str(Path(sys.executable).with_name("serpwatch"))
BRANDS = ["Norton", "Nordbank", "Odido", "PostNL"]
TEMPLATES = [
    "{brand} klantenservice telefoonnummer",
    "{brand} helpdesk bellen",
    "{brand} storing nummer",
    "{brand} contact opnemen",
    "{brand} hulp bellen",
]
OFFICIAL = {
    "Norton": "020 794 9400",
    "Nordbank": "020 451 7700",
    "Odido": "0800 7112",
    "PostNL": "088 868 6868",
}
ENGINE_DELAY = 0.1  # seconds between two requests to one engine: its limit is 10 a second
FILLER = (
    "Bestelnummer 2026-{n:06d}, factuur {n:08d}, datum 12-03-2026, prijs EUR {p},95. "
    "Onze medewerkers helpen u graag verder met uw vraag over het account, de rekening, "
    "de levering of de installatie; lees eerst de veelgestelde vragen hieronder. "
)


class Web:
    """Search engines and sites on one loopback server; logs every request with its time."""

    def __init__(self, queries: list[tuple[str, str]], latency: float, filler: int):
        self.queries = {q: (brand, i) for i, (brand, q) in enumerate(queries)}
        self.templates = len(queries) // len(BRANDS)
        self.latency = latency
        self.filler = filler
        self.log: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.pages: dict[str, bytes] = {}
        web = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                web.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def results(self, query: str) -> tuple[list, list]:
        if query not in self.queries:
            print("unknown query", repr(query), file=sys.stderr)
        brand, qi = self.queries.get(query, (BRANDS[0], 0))
        organic, ads = [], []
        for i in range(10):
            shared = i % 4 == 3  # some sites answer several queries
            host = f"shared-{brand.lower()}-{i}.example" if shared else f"q{qi}-s{i}.example"
            organic.append(
                (f"http://{host}/", f"{brand} hulp {i}", host, f"{brand} klantenservice {i}")
            )
        for i in range(2):
            host = f"q{qi}-ad{i}.example"
            ads.append((f"http://{host}/", f"{brand} Helpdesk", host, f"Bel {brand} nu", ""))
        return organic, ads

    def serp(self, path: str, query: str) -> str:
        organic, ads = self.results(query)
        if path.startswith("/e2/"):
            rnd = random.Random(query)  # the other engine: same results, another order
            rnd.shuffle(organic)
        return bing_page(query, organic, ads)

    def page(self, host: str) -> bytes:
        if host in self.pages:
            return self.pages[host]
        rnd = random.Random(host)
        brand = next((b for b in BRANDS if b.lower() in host), rnd.choice(BRANDS))
        if host.startswith("shared-") or rnd.random() < 0.5:
            number, text = OFFICIAL[brand], f"Officiële klantenservice van {brand}."
        else:
            number = f"085 {rnd.randint(200, 899)} {rnd.randint(1000, 9999)}"
            text = f"{brand} Helpdesk Nederland, 24/7 bereikbaar. Bel direct de {brand} helpdesk"
        filler = "".join(
            f"<p>{FILLER.format(n=rnd.randint(0, 999999), p=rnd.randint(10, 99))}</p>"
            for _ in range(self.filler)
        )
        body = (
            f"<!DOCTYPE html><html lang='nl'><head><title>{html.escape(brand)} helpdesk"
            f"</title></head><body><h1>{html.escape(text)}</h1><p>Bel {number}</p>{filler}"
            f"<p>Telefoon: <a href='tel:{number.replace(' ', '')}'>{number}</a></p></body></html>"
        ).encode()
        self.pages[host] = body
        return body

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        arrived = time.time()  # the engine's own clock: when the request reached it
        parts = urlsplit(h.path)
        host = (parts.hostname or "").lower()
        if host in ("", "127.0.0.1") and parts.path.endswith("/search"):
            kind = parts.path.split("/")[1]
            body = self.serp(parts.path, parse_qs(parts.query).get("q", [""])[0]).encode()
        else:
            kind = "site"
            time.sleep(self.latency)
            body = self.page(host)
        with self.lock:
            self.log.append((arrived, kind))
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def __enter__(self) -> Web:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_profile(folder: Path, web: Web) -> Path:
    brands = "".join(
        f'[[brands]]\nname = "{b}"\nkeywords = ["{b.lower()}"]\ndomains = ["{b.lower()}.nl"]\n'
        f'phones = ["{OFFICIAL[b]}"]\n\n'
        for b in BRANDS
    )
    (folder / "brands.toml").write_text(brands)
    engines = "".join(
        f'[[engines]]\nkind = "bing"\nurl = "{web.base}/{e}/search"\ndelay = {ENGINE_DELAY}\n\n'
        for e in ("e1", "e2")
    )
    templates = ", ".join(f'"{t}"' for t in TEMPLATES[: web.templates])
    (folder / "p.toml").write_text(
        f'name = "bench"\nbrands = "brands.toml"\nregion = "NL"\nlanguage = "nl"\n'
        f"results_per_query = 10\nfollow_ads = true\nallow_private = true\n\n{engines}"
        f"[queries]\ntemplates = [{templates}]\n"
    )
    return folder / "p.toml"


def queries_for(templates: int) -> list[tuple[str, str]]:
    """brands × the first `templates` templates, in the profile's order."""
    return [(b, t.replace("{brand}", b)) for b in BRANDS for t in TEMPLATES[:templates]]


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def reap(proc: subprocess.Popen) -> float:
    """Wait for a child; its own CPU seconds (user + system), exactly (wait4's rusage)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def redis_cpu(url: str) -> float:
    import redis

    info = redis.Redis.from_url(url).info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def own_cpu() -> float:
    """This process's CPU seconds: the simulated web's threads (the main one only waits)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Sampler:
    """Each process's CPU seconds, read from /proc every 0.1 s while it runs, so
    the cores it used can be taken over the crawl itself (between the first and
    the last landing page), without start-up and the end of run.

    Also the seconds its main thread (Scrapy's reactor) was ready to run but
    waited for a core (/proc/PID/schedstat): on a shared machine a worker that
    uses 0.6 cores may be CPU-bound all the same, starved by other jobs; its
    CPU plus its wait ("wanted") near 1.0 says so."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, procs: list[subprocess.Popen]):
        self.samples: dict[int, list[tuple[float, float]]] = {p.pid: [] for p in procs}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for pid, out in self.samples.items():
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                try:
                    wait = int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
                except (OSError, IndexError, ValueError):
                    wait = 0.0
                if fields[0] != "Z":  # a zombie has no more CPU to add
                    cpu = (int(fields[11]) + int(fields[12])) / self.TICK
                    out.append((time.time(), cpu, wait))
            self.stop.wait(0.1)

    def cores(self, pid: int, t0: float, t1: float, column: int = 1) -> float:
        """CPU seconds of `pid` between t0 and t1 over (t1 - t0): the cores it used
        (column 2: the seconds it waited for a core, over the same)."""
        pts = self.samples[pid]
        if len(pts) < 2 or t1 <= t0:
            return 0.0

        def at(t: float) -> float:
            for a, b in zip(pts, pts[1:], strict=False):
                if a[0] <= t <= b[0]:
                    return a[column] + (b[column] - a[column]) * (t - a[0]) / max(b[0] - a[0], 1e-9)
            return pts[0][column] if t < pts[0][0] else pts[-1][column]

        return (at(t1) - at(t0)) / (t1 - t0)

    def wanted(self, pid: int, t0: float, t1: float) -> float:
        """Cores used plus cores waited for: what the process would have used alone."""
        return self.cores(pid, t0, t1) + self.cores(pid, t0, t1, column=2)


def pinned(core: int | None):
    def pin():
        if core is not None:
            os.sched_setaffinity(0, {core})

    return pin


def spawn(args, log: Path, env, core=None) -> subprocess.Popen:
    return subprocess.Popen(
        [EXE, *args],
        stdout=open(log, "w"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        env=env,
        cwd=log.parent,
        preexec_fn=pinned(core),
    )


RENDER = "never"  # --render


LANES = {"latency": 1, "cpu": 4}  # queries in flight per engine, by mode
MODE = ["latency"]  # the mode being measured


def settings(concurrency: int) -> list[str]:
    return [
        "-s", f"SERPWATCH_ENGINE_CONCURRENCY={LANES[MODE[0]]}",
        "-s", "LOG_LEVEL=WARNING",
        "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", f"CONCURRENT_REQUESTS={concurrency}",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
        "-s", f"SERPWATCH_RENDER={RENDER}",
    ]  # fmt: skip


def flagged(db: Path) -> tuple[set, dict]:
    out = subprocess.run([EXE, "flags", "--json", "--db", str(db)], capture_output=True, text=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    best: dict = {}
    for r in rows:
        best[r["phone"]] = max(
            best.get(r["phone"], (r["score"], r["risk"])), (r["score"], r["risk"])
        )
    return {(r["phone"], r["domain"], r["url"]) for r in rows}, best


def window(log, t0: float, t1: float, kind: str) -> tuple[int, float]:
    """Busiest 1-second window and the smallest gap between two requests of `kind`."""
    times = sorted(t for t, k in log if k == kind and t0 <= t <= t1)
    busiest, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        busiest = max(busiest, i - j + 1)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return busiest, min(gaps) if gaps else float("inf")


def crawl_phase(web: Web, since: float) -> tuple[int, float, float]:
    sites = [t for t, k in web.log if k == "site" and t >= since]
    return len(sites), min(sites), max(sites)


def run_single(folder: Path, profile: Path, env, concurrency: int, web: Web) -> dict:
    since = time.time()
    web_before = own_cpu()
    proc = spawn(
        ["crawl", str(profile), "--db", "single.db", *settings(concurrency)],
        folder / "single.log",
        env,
        0,
    )
    sampler = Sampler([proc])
    cpu = reap(proc)
    sampler.stop.set()
    n, first, last = crawl_phase(web, since)
    cores = sampler.cores(proc.pid, first, last)
    result = {"pages": n, "seconds": last - first, "flagged": flagged(folder / "single.db")}
    result["wanted"] = sampler.wanted(proc.pid, first, last)
    return {**result, "cores": cores, "cpu": {"crawl": cpu, "web": own_cpu() - web_before}}


def run_distributed(
    folder: Path, profile: Path, env, n: int, concurrency: int, web: Web, url: str
) -> dict:
    import redis

    redis.Redis.from_url(url).flushall()
    cores = os.sched_getaffinity(0)
    ncores = len(cores)
    core_list = sorted(cores)
    db = folder / f"d{n}.db"
    since = time.time()
    redis_before, web_before = redis_cpu(url), own_cpu()
    store = spawn(
        ["store", "--redis", url, "--db", str(db), "--wait", "60"], folder / f"store{n}.log", env
    )
    seed = spawn(
        ["crawl", str(profile), "--db", str(db), "--redis", url, "-s", "SERPWATCH_STORE=0",
         *settings(concurrency)],
        folder / f"seed{n}.log", env, core_list[0] if ncores > 1 else None,
    )  # fmt: skip
    time.sleep(0.3)
    workers = [
        spawn(["worker", "--redis", url, "--wait", "60", *settings(concurrency)],
              folder / f"worker{n}-{i}.log", env, core_list[i % ncores] if ncores > 1 else None)
        for i in range(1, n)
    ]  # fmt: skip
    sampler = Sampler([seed, *workers, store])
    each = [reap(p) for p in [seed, *workers]]
    worker_cpu = sum(each)
    store_cpu = reap(store)
    sampler.stop.set()
    cpu = {
        "workers": worker_cpu,
        "store": store_cpu,
        "redis": redis_cpu(url) - redis_before,
        "web": own_cpu() - web_before,
    }
    slog = (folder / f"store{n}.log").read_text()
    if store.returncode or seed.returncode:
        raise SystemExit(
            f"{n} workers failed:\n{slog[-2000:]}\n{(folder / f'seed{n}.log').read_text()[-3000:]}"
        )
    pages, first, last = crawl_phase(web, since)
    # Cores used while the landing pages were fetched (start-up and the end of
    # run left out): each worker's, and the workers' and the store's together.
    per_worker = [
        (sampler.cores(p.pid, first, last), sampler.wanted(p.pid, first, last))
        for p in [seed, *workers]
    ]
    cores_used = sum(c for c, _ in per_worker) + sampler.cores(store.pid, first, last)
    lag = (
        json.loads(slog.split("store lag: ", 1)[1].splitlines()[0]) if "store lag: " in slog else {}
    )
    rates = {e: window(web.log, since, time.time(), e) for e in ("e1", "e2")}
    return {
        "pages": pages,
        "seconds": last - first,
        "lag": lag,
        "rates": rates,
        "flagged": flagged(db),
        "cores": cores_used,
        "cpu": cpu,
        "per_worker": per_worker,
    }


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (5 min {five:.1f})"


def cpu_line(cpu: dict, pages: int) -> str:
    """CPU milliseconds per landing page, per part: where the work goes."""
    parts = ", ".join(f"{k} {v * 1000 / max(pages, 1):.0f}" for k, v in cpu.items())
    return f"CPU ms per landing page: {parts}"


def bench(
    mode: str, templates: int, counts: list[int], folder: Path, url: str, repeat: int = 1
) -> dict:
    """Print one mode's table; its speed-ups by worker count (and the load while measured)."""
    latency, filler, concurrency = (0.5, 4, 2) if mode == "latency" else (0.005, 1500, 16)
    queries = queries_for(templates)
    nq = len(queries)
    MODE[0] = mode
    speedups: dict[int, float] = {}
    costs: dict[int, tuple[float, float]] = {}
    with Web(queries, latency, filler) as web:
        sub = folder / mode
        sub.mkdir()
        profile = write_profile(sub, web)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["http_proxy"] = web.base
        size = len(web.page("q0-s0.example")) // 1024
        print(f"\n== {mode}-bound: {nq} queries x 2 engines, {latency * 1000:g} ms per page, "
              f"pages ~{size} KB, {concurrency} requests in flight per worker, "
              f"engine limit {1 / ENGINE_DELAY:g}/s each; browser {RENDER}; {load()}")  # fmt: skip
        single = run_single(sub, profile, env, concurrency, web)
        base_rate = single["pages"] / single["seconds"] * 60
        print(f"baseline, single process (same run): {single['pages']} landing pages in "
              f"{single['seconds']:.1f} s = {base_rate:.0f}/min, used {single['cores']:.2f} "
              f"cores while fetching them (wanted {single['wanted']:.2f}); "
              f"{cpu_line(single['cpu'], single['pages'])}; {load()}")  # fmt: skip
        print(f"{'workers':>7} {'pages/min':>9} {'speed-up':>8} {'lag p50':>8} {'lag p95':>8} "
              f"{'lag max':>8}  engine: busiest 1 s (limit {1 / ENGINE_DELAY:g}), min gap; "
              "same flags")  # fmt: skip
        rounds: dict[int, list[float]] = {}
        one = 1.0
        for n, first in [(n, i == 0) for _ in range(repeat) for i, n in enumerate(counts)]:
            res = run_distributed(sub, profile, env, n, concurrency, web, url)
            rate = res["pages"] / res["seconds"] * 60
            one = rate if first else one  # each round against its own first count
            rounds.setdefault(n, []).append(rate / one)
            speedups[n] = statistics.median(rounds[n])
            costs[n] = cpu_costs(res["cpu"], res["pages"])
            lag = res["lag"]
            rates = ", ".join(
                f"{e} {b}/s gap {g * 1000:.0f} ms{' OK' if b <= 1 / ENGINE_DELAY else ' OVER'}"
                for e, (b, g) in res["rates"].items()
            )
            same = res["flagged"] == single["flagged"]
            print(f"{n:>7} {rate:>9.0f} {rate / one:>7.2f}x {lag.get('p50', 0):>7.2f}s "
                  f"{lag.get('p95', 0):>7.2f}s {lag.get('max', 0):>7.2f}s  {rates}; "
                  f"{'identical' if same else 'DIFFERENT'} "
                  f"({len(res['flagged'][0])} pairs)")  # fmt: skip
            per = ", ".join(f"{c:.2f} (wanted {w:.2f})" for c, w in res["per_worker"])
            print(f"{'':>7} cores used while fetching: {res['cores']:.2f}, workers + store; "
                  f"each worker: {per}; "
                  f"{cpu_line(res['cpu'], res['pages'])}; {load()}")  # fmt: skip
            if not same:
                a, b = res["flagged"], single["flagged"]
                best = {
                    phone: (a[1].get(phone), b[1].get(phone))
                    for phone in a[1].keys() | b[1].keys()
                    if a[1].get(phone) != b[1].get(phone)
                }
                print(
                    "   only distributed:",
                    sorted(a[0] - b[0])[:5],
                    "only single:",
                    sorted(b[0] - a[0])[:5],
                    "best verdict (distributed, single):",
                    dict(sorted(best.items())[:5]),
                )
    if mode == "cpu" and 1 in costs:
        print(idle_projection(costs, len(os.sched_getaffinity(0))))
    return speedups


def cpu_costs(cpu: dict, pages: int) -> tuple[float, float]:
    """CPU seconds per landing page: in the workers, and in the store, Redis and the web."""
    n = max(pages, 1)
    return cpu["workers"] / n, (cpu["store"] + cpu["redis"] + cpu["web"]) / n


def idle_projection(costs: dict[int, tuple[float, float]], cores: int) -> str:
    """The speed-up the CPU per page measured here gives on an idle machine.

    n workers, each at most one core, and everything together at most `cores`:
    pages/s = min(n / w, cores / (w + o)), with w the workers' and o the store's,
    Redis's and the web's CPU seconds per page, as measured with n workers. On a
    shared machine the measured speed-up is the share of the cores the workers
    won; this says what the design gives when they are all ours."""
    w1, o1 = costs[1]

    def speedups(c: float) -> str:
        base = min(1 / w1, c / (w1 + o1))
        return ", ".join(
            f"{n} workers {min(n / w, c / (w + o)) / base:.2f}x" for n, (w, o) in costs.items()
        )

    return (
        f"projected from the CPU per page measured above (workers {w1 * 1000:.0f} ms, store + "
        f"Redis + web {o1 * 1000:.0f} ms with 1 worker; the workers' own with more): on an idle "
        f"{cores}-core machine {speedups(cores)}; with a core to spare for the store, Redis "
        f"and the web {speedups(cores + 1)}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--templates", type=int, default=5, help="queries = 4 brands x this")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--mode", choices=["latency", "cpu", "both"], default="both")
    ap.add_argument("--render", choices=["never", "auto"], default="never")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of the worker counts, interleaved (1,2,1,2); the summary gives the median",
    )
    args = ap.parse_args()
    global RENDER
    RENDER = args.render
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    counts = [int(x) for x in args.workers.split(",")]
    started = load()
    print(f"cores available: {len(os.sched_getaffinity(0))}; {started}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="serpwatch-scale-") as tmp:
        folder = Path(tmp)
        redis_proc, url = start_redis(folder)
        try:
            for mode in ["latency", "cpu"] if args.mode == "both" else [args.mode]:
                results[mode] = bench(mode, args.templates, counts, folder, url, args.repeat)
        finally:
            redis_proc.send_signal(signal.SIGTERM)
            redis_proc.wait(10)
    print("\n== summary (speed-up over one worker, measured in this run)")
    for mode, speedups in results.items():
        target = {"cpu": "target: 2 workers >= 1.7x", "latency": "target: linear"}[mode]
        figures = ", ".join(f"{n} workers {x:.2f}x" for n, x in speedups.items())
        print(f"{mode}-bound: {figures}  ({target}; median of {args.repeat} round(s))")
    print(
        f"machine: {os.cpu_count()} cores; {started} at the start, {load()} at the end"
        " (other jobs on the same cores make the CPU-bound figures low and noisy)"
    )


if __name__ == "__main__":
    main()
