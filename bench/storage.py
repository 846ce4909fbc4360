"""Bench storage at a year's size: saving, the end-of-run step, and every analyst command.

A year of crawls every six hours is about a million sightings. This script
generates such a database with the project's own save functions
(`storage.start_run`, `save_serp_result` and `save_page` in batches through
`storage.save_many` as the store pipeline does, `history.close_run`,
`storage.finish_crawl`), then times the analyst's commands against it, each in
its own process as a user runs them (wall time and peak memory):

    flags, flags --json, export (every format x every recipient, --dry-run),
    queries stats, history KEY, report, runs

and, on a copy, one more crawl run: the saving rate (sightings/s) and the
end-of-run step (`history.close_run` + `storage.finish_crawl`).

Targets (issue 11): every command under 2 s, end-of-run under 5 s, saving at
least 2,000 sightings/s. As a yardstick measured in the same run, every
figure is also printed as a ratio to one full scan of the sightings table, and
each export's beside its floor: what the bytes it wrote cost the stdlib to
encode and hash at the least (`bench/floor.py`).

The generated database is cached (`--cache DIR`, default /tmp/serpwatch-bench)
and reused by later runs with the same size; measurements run on a copy.

    python bench/storage.py                      # 1M sightings, 50 runs
    python bench/storage.py --runs 10            # 200k sightings (20k a run)
    python bench/storage.py --scale 0.1          # 100k sightings, 50 runs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler import history, settings, storage  # noqa: E402
from crawler.scoring import Facts, verdict_record  # noqa: E402

ENGINES = ("bing", "duckduckgo")
BRANDS = ("Microsoft", "Apple", "ING", "KPN", "Ziggo", "Rabobank", "PostNL", "DigiD")
TEMPLATES = ("{} helpdesk telefoonnummer", "{} klantenservice bellen", "{} storing nummer")
RECIPIENTS = ("default", "regulator", "operator", "search-engine", "hosting")
FORMATS = ("jsonl", "csv", "stix", "misp", "xarf")
START = datetime(2026, 1, 1, tzinfo=UTC)
# The fraction of pages whose content changes in a run (Site): a site keeps its
# brand and its page, and one page in fifty is another from one run to the next.
CHURN = 0.02


class Shape:
    """How big: runs, pages per run, numbers and sites over the year."""

    def __init__(self, scale: float, runs: int):
        self.runs = runs
        self.per_run = int(20_000 * scale)  # sightings per run (1M / 50 at scale 1)
        self.pages = self.per_run // 2  # two numbers per page
        self.sites = int(100_000 * scale * runs / 50)
        self.shared = max(1, self.sites)  # a second pool of numbers, shared by sites
        self.window = self.pages  # each run sees a sliding window of sites
        self.step = max(1, (self.sites - self.window) // max(1, runs - 1))

    @property
    def sightings(self) -> int:
        return self.per_run * self.runs

    def name(self) -> str:
        return f"bench-{self.sightings}-{self.runs}-churn{CHURN}.db"


# Page kinds, each a different page (so a page that changes kind changes its
# facts): two of ten look harmless (a repair shop), the rest pose as the brand's
# helpdesk in their own way.
KINDS = (
    {"harmless": True, "voip": True},
    {"voip": True},
    {"voip": False},
    {"voip": True, "remote": "AnyDesk"},
    {"voip": False, "claims": False},
    {"harmless": True, "voip": False},
    {"voip": True, "claims": False},
    {"voip": False, "remote": "AnyDesk"},
    {"voip": True, "remote": "TeamViewer"},
    {"voip": False, "remote": "TeamViewer", "claims": False},
)


def _facts(kind: int, phone: str, brand: str, domain: str, is_ad: bool) -> Facts:
    """A plausible page's facts, of page kind `kind` (KINDS)."""
    k = KINDS[kind]
    harmless = k.get("harmless", False)
    voip = k["voip"]
    return Facts(
        phone=phone,
        brand=brand,
        domain=domain,
        title=f"{brand} helpdesk bellen" if not harmless else "Computerwinkel",
        number_type="voip" if voip else "fixed_line",
        country="NL",
        nl_category="085 (VoIP)" if voip else None,
        is_ad=is_ad,
        domain_match=None
        if harmless
        else {"kind": "helpdesk", "brand": brand, "keyword": brand.lower()},
        claims_official=None
        if harmless or not k.get("claims", True)
        else "officiële klantenservice",
        remote_tool=k.get("remote"),
        trade="reparatie" if harmless else None,
    )


class Verdicts:
    """Scoring is not what is benched: one verdict per page kind, reused with new numbers."""

    def __init__(self):
        self.cache: dict[tuple, dict] = {}

    def get(self, kind: int, phone: str, brand: str, domain: str, is_ad: bool) -> dict:
        key = (kind, is_ad, brand)
        if key not in self.cache:
            f = _facts(kind, "+31850000000", brand, "x.nl", is_ad)
            hit = {"phone": "", "raw": "", "source": "text", "number_type": f.number_type}
            self.cache[key] = verdict_record({**hit, "country": "NL"}, f).as_dict()
        v = json.loads(json.dumps(self.cache[key]))
        v["phone"] = v["facts"]["phone"] = phone
        v["raw"] = phone
        v["facts"]["domain"] = domain
        return v


class Site:
    """What a site is across runs: its brand, query, engine, whether it advertises,
    and its page (KINDS), which changes now and then: each site's page changes
    once every 1/CHURN runs, the sites staggered so that CHURN of them change in
    every run. `worst`: every page is another kind than in the run before
    (whether that run was `worst` or not)."""

    def __init__(self, site: int, r: int, queries: list[tuple[str, str]], worst: bool = False):
        self.brand, self.query = queries[site % len(queries)]
        self.engine = ENGINES[(site // len(queries)) % len(ENGINES)]
        self.is_ad = site % 10 == 0
        self.domain = f"{self.brand.lower()}-hulp-{site}.nl"
        period = round(1 / CHURN)
        version = (r + site % period) // period  # consecutive versions: other kinds
        kind = site * 3 + version
        if worst:  # 1 or 3 kinds on: never the kind of the run before, either way
            kind += 1 + 2 * (r % 2)
        self.kinds = tuple((kind + j) % len(KINDS) for j in range(2))


def _queries() -> list[tuple[str, str]]:
    return [(b, t.format(b)) for b in BRANDS for t in TEMPLATES]


def _queries() -> list[tuple[str, str]]:
    return [(b, t.format(b)) for b in BRANDS for t in TEMPLATES]


# Saves per transaction, as the store pipeline batches them: SERPWATCH_STORE_BATCH
# items (here two saves each, a page and its result).
BATCH = 2 * settings.SERPWATCH_STORE_BATCH


def _save(db, batch: list) -> float:
    """Store a batch the way the store pipeline does (`storage.save_many`); its seconds."""
    t = time.perf_counter()
    errors = storage.save_many(db, batch)
    if errors:
        raise errors[0][1]
    return time.perf_counter() - t


def one_run(db, shape: Shape, r: int, verdicts: Verdicts, worst: bool = False) -> dict:
    """One crawl run's worth of saving and its end-of-run step; returns the timings.

    `worst`: every page changed since the run before (`Site`), so every pair seen
    again comes with other facts; otherwise CHURN of them did."""
    at = (START + timedelta(hours=6 * r)).isoformat(timespec="seconds")
    run_id = storage.start_run(db, "bench")
    db.execute("update runs set started_at = ? where id = ?", [at, run_id])
    queries = _queries()
    save = 0.0
    sightings = 0
    results: dict[str, int] = {}
    batch: list = []
    # Each run sees a window of sites that slides by `step`: most of the run
    # before's sites again, and some new ones (runs after the generated year go
    # on to new sites, not back to the first: those would all come "back").
    first = r * shape.step
    for i in range(shape.pages):
        site = first + i
        s = Site(site, r, queries, worst)
        engine, brand, query, is_ad, domain = s.engine, s.brand, s.query, s.is_ad, s.domain
        rank = None if is_ad else 1 + (i // len(queries)) % 10
        url = f"https://{domain}/contact"
        # The site's own number, and one from a pool that two sites share at a
        # time and that moves every ten runs (a scam line reused elsewhere), a
        # tenth of the pairs of sites in each run.
        pooled = (site // 2 + ((r + (site // 2) % 10) // 10) * 997) % shape.shared
        phones = [f"+3185{site:07d}", f"+3188{pooled:07d}"]
        page = {
            "url": url,
            "entry_url": url,
            "domain": domain,
            "status": 200,
            "title": f"{brand} helpdesk",
            "engine": engine,
            "engines": [engine],
            "appearances": [],
            "query": query,
            "brand": brand,
            "is_ad": is_ad,
            "rank": rank,
            "ad_position": 1 if is_ad else None,
            "serp_url": f"https://{engine}.example/search?q={query}",
            "redirects": [],
            "fetched_at": at,
        }
        result = {
            "engine": engine,
            "query": query,
            "brand": brand,
            "serp_url": page["serp_url"],
            "is_ad": is_ad,
            "title": f"{brand} helpdesk",
            "url": url,
            "landing_url": url,
            "rank": rank,
            "ad_position": (i // len(queries)) + 1 if is_ad else None,
            "display_url": domain,
            "snippet": f"Bel {brand}",
            "phones": [],
            "page": 1,
            "seen_at": at,
        }
        vs = [verdicts.get(s.kinds[j], p, brand, domain, is_ad) for j, p in enumerate(phones)]
        batch += [
            (storage.save_serp_result, (run_id, result)),
            (storage.save_page, (run_id, page, vs)),
        ]
        if len(batch) >= BATCH or i == shape.pages - 1:
            save += _save(db, batch)
            batch = []
        sightings += len(vs)
        results[engine] = results.get(engine, 0) + 1
    stats = {
        "serpwatch/engines": list(ENGINES),
        "serpwatch/serp_pages": len(queries) * len(ENGINES),
        "finish_reason": "finished",
        **{f"serpwatch/results/{e}": n for e, n in results.items()},
        **{f"serpwatch/serp_pages/{e}": len(queries) for e in ENGINES},
    }
    if hasattr(storage, "save_query_outcome"):  # 0.1 had no per-query outcomes
        for e in ENGINES:
            for brand, query in queries:
                storage.save_query_outcome(
                    db,
                    run_id,
                    {"engine": e, "query": query, "brand": brand, "outcome": "answered"},
                )
    t, c = time.perf_counter(), time.process_time()
    changes = history.close_run(db, run_id, stats, at=at)
    stats.update({f"serpwatch/history/{k}": v for k, v in changes.items()})
    storage.finish_crawl(db, run_id, stats)
    end, cpu = time.perf_counter() - t, time.process_time() - c
    return {"run": run_id, "sightings": sightings, "save_s": save, "end_s": end, "end_cpu": cpu}


def generate(path: Path, shape: Shape, start: Path | None = None) -> None:
    """Generate `shape`'s runs into `path`; from a copy of `start` (a smaller generated
    database, e.g. the first half) when given: only the runs it lacks are added."""
    tmp = path.with_suffix(".partial")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    if start is not None:
        shutil.copyfile(start, tmp)
    db = storage.open_db(tmp)
    verdicts = Verdicts()
    t0 = time.perf_counter()
    done = db.execute("select count(*) from runs").fetchone()[0]
    for r in range(done, shape.runs):
        t = one_run(db, shape, r, verdicts)
        print(
            f"  run {t['run']:>3}: {t['sightings']} sightings at"
            f" {t['sightings'] / t['save_s']:,.0f}/s, end of run {t['end_s']:.2f} s"
            f"  ({time.perf_counter() - t0:,.0f} s so far)",
            flush=True,
        )
    db.execute("pragma wal_checkpoint(truncate)")
    db.close()
    tmp.rename(path)


def _measure(
    argv: list[str], env: dict, timeout: float, stdout: Path | None = None
) -> tuple[float, float, int, list[str]]:
    """Run one command in its own process: wall seconds, peak MB, exit code, stderr tail.

    A command still running after `timeout` seconds is killed (exit code -9). Its
    output goes to `stdout`, or nowhere."""
    t = time.perf_counter()
    err_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-storage-{os.getpid()}.err"
    with open(err_file, "wb") as err, open(stdout or os.devnull, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=ROOT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = err_file.read_text(errors="replace").strip().splitlines()[-1:]
    err_file.unlink()
    return wall, usage.ru_maxrss / 1024, proc.returncode, tail


def commands(db: Path, out: Path, key: str) -> list[tuple[str, list[str]]]:
    # The console script, as a user runs it (`python -m crawler.cli` trips on the
    # CLI modules importing each other).
    cli = [str(Path(sys.executable).with_name("serpwatch"))]
    d = ["--db", str(db)]
    cmds = [
        ("flags", [*cli, "flags", *d]),
        ("flags --json", [*cli, "flags", "--json", *d]),
        ("queries stats", [*cli, "queries", "stats", *d]),
        (f"history {key}", [*cli, "history", key, *d]),
        ("report", [*cli, "report", *d, "--out", str(out / "report.html")]),
        ("runs", [*cli, "runs", *d]),
    ]
    # The common case: the delta since the last export to the default recipient
    # (one recorded export first, so the delta is of a real ledger).
    for fmt in FORMATS:
        record = [*cli, "export", "--format", fmt, "--out", str(out / f"sent.{fmt}"), *d]
        delta = [*record[:-4], "--since", "last", "--dry-run", "--out", str(out / "d"), *d]
        cmds.append((f"export {fmt} default (recorded)", record))
        cmds.append((f"export {fmt} default --since last", delta))
    for fmt in FORMATS:
        for rcpt in RECIPIENTS:
            cmds.append(
                (
                    f"export {fmt} {rcpt}",
                    [
                        *cli,
                        "export",
                        "--format",
                        fmt,
                        "--recipient",
                        rcpt,
                        "--dry-run",
                        "--out",
                        str(out / f"x.{fmt}"),
                        *d,
                    ],
                )
            )
    return cmds


def _written(argv: list[str], wall: float, out: Path | None = None) -> str:
    """What a command wrote to its --out file (or to `out`): size, rate and, for records
    (an export's, `flags --json`'s), their floor (`_floor`); the report is a page."""
    records = out is not None or "export" in argv
    out = out or _out_file(argv)
    if out is None:
        return ""
    size = out.stat().st_size / 1e6
    floor = _floor(out, _format(argv)) if records else ""
    return f" peak; wrote {size:,.1f} MB, {size / wall:,.1f} MB/s" + floor


def _out_file(argv: list[str]) -> Path | None:
    if "--out" not in argv:
        return None
    out = Path(argv[argv.index("--out") + 1])
    return out if out.is_file() else None


def _format(argv: list[str]) -> str:
    """The format a command writes in (JSON lines when it names none: `flags --json`)."""
    return argv[argv.index("--format") + 1] if "--format" in argv else "jsonl"


def _floor(out: Path, fmt: str) -> str:
    """What the bytes a command wrote cost at the least (bench/floor.py: the stdlib
    encoding its records and hashing the file), in its own process: a full export of
    a year is bound by the bytes it writes (every flagged pair, evidence included)."""
    floor = Path(__file__).with_name("floor.py")
    done = subprocess.run(
        [sys.executable, str(floor), str(out), fmt], capture_output=True, text=True, check=False
    )
    if done.returncode:
        return f"; floor: {done.stderr.strip().splitlines()[-1:]}"
    seconds = float(done.stdout.split()[0])
    over = ", over the target by its bytes alone" if seconds >= 2 else ""
    return f"; floor {seconds:.2f} s{over}"


def yardstick(path: Path) -> float:
    """One full scan of the sightings table: what this machine and file cost to read."""
    conn = sqlite3.connect(path)
    t = time.perf_counter()
    conn.execute("select count(*), sum(length(reasons)) from sightings").fetchone()
    s = time.perf_counter() - t
    conn.close()
    return s


def crawl_run(work: Path, shape: Shape, scan: float) -> list[tuple]:
    """More crawl runs on the measured copy: the saving rate and the end-of-run step.

    First two runs that settle the copy (a database made by an older generator
    differs in more than CHURN of the pages; one made by older code has no pair's
    own verdict kept, `base_score`, until its numbers are scored again); then the
    realistic run (CHURN of the pages changed since the run before), then the
    worst case (every page changed: every pair seen again comes with other facts).
    """
    db = storage.open_db(work)
    out = []
    cases = (
        ("settle 1", False, shape.runs),
        ("settle 2", False, shape.runs + 1),
        (f"realistic ({CHURN:.0%} of pages change)", False, shape.runs + 2),
        ("worst (every page changes)", True, shape.runs + 3),
    )
    for name, worst, r in cases:
        t = one_run(db, shape, r, Verdicts(), worst)
        rate = t["sightings"] / t["save_s"]
        # CPU beside wall: on a shared machine the wall time is also other jobs' time.
        print(
            f"  {name}: saving {rate:,.0f}/s, end of run {t['end_s']:.2f} s"
            f" (CPU {t['end_cpu']:.2f} s, load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        if name.startswith("settle"):
            continue
        out += [
            (f"saving, {name}", f"{rate:,.0f} sightings/s", ">= 2,000/s", rate >= 2000, ""),
            (
                f"end of run, {name}",
                f"{t['end_s']:.2f} s",
                "< 5 s",
                t["end_s"] < 5,
                f"x{t['end_s'] / scan:.1f} scan; CPU {t['end_cpu']:.2f} s",
            ),
        ]
    db.close()
    return out


def _timed(
    name: str, argv: list[str], env: dict, scan: float, timeout: float, base: str = ""
) -> tuple:
    """Time one command; `base`: what the same command took with other code (`_base`)."""
    wall, mb, code, err = _measure(argv, env, timeout)
    note = (
        f"exit {code}: {err[0] if err else ''}" if code else f"{mb:,.0f} MB" + _written(argv, wall)
    )
    note += base
    print(f"  {name:<60} {wall:7.2f} s  x{wall / scan:6.1f} scan  {note}", flush=True)
    ok = wall < 2 and code == 0
    return (name, f"{wall:.2f} s", "< 2 s", ok, f"x{wall / scan:.1f} scan; {note}")


# What differs between two makings of the same export: STIX, MISP and XARF ids, and
# MISP's date.
_IDS = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _masked(path: Path) -> str:
    data = _IDS.sub(b"U", path.read_bytes())
    return hashlib.sha256(re.sub(rb'"date": "[0-9-]+"', b"D", data)).hexdigest()


def _base(argv: list[str], out: Path, env: dict, base: Path, timeout: float) -> str:
    """Run a delta with the code in `base` first (`--base`): its time, and whether the
    code measured next writes the same bytes (checked by `_same`)."""
    at = [*argv, "--out", f"{out}.base"]
    wall, _, code, _ = _measure(at, {**env, "PYTHONPATH": str(base)}, timeout)
    return f"; base {wall:.2f} s" + (f" (exit {code})" if code else "")


def _same(out: Path) -> str:
    base = Path(f"{out}.base")
    if not (base.exists() and out.exists()):
        return ""
    return ", same bytes" if _masked(base) == _masked(out) else ", OTHER BYTES than base"


def _copy_ledger(work: Path, export_id: int, fmt: str) -> None:
    """Record export `export_id`'s ledger again as sent in `fmt`: the ledger of a
    recipient's full export is the same (key, fingerprint) set in every format
    (the fingerprint is of the row, not of the format's bytes), and a full STIX
    or MISP export of a year takes minutes, so the bench records one JSONL per
    floor and copies its ledger to the other formats."""
    conn = sqlite3.connect(work)
    cols = [r[1] for r in conn.execute("pragma table_info(exports)") if r[1] != "id"]
    picked = ", ".join("?" if c == "format" else c for c in cols)
    with conn:
        new = conn.execute(
            f"insert into exports ({', '.join(cols)}) select {picked} from exports where id = ?",
            [fmt, export_id],
        ).lastrowid
        conn.execute(
            "insert into export_items (export_id, recipient, format, key, fingerprint)"
            " select ?, recipient, ?, key, fingerprint from export_items where export_id = ?",
            [new, fmt, export_id],
        )
    conn.close()


def _deliver(rows, cli, work, out, floors, since, env, scan, timeout) -> None:
    """Record one JSONL export per recipient and floor (`since`: None for everything,
    "last" for a delta), its ledger copied to the recipient's other formats at that
    floor (`_copy_ledger`); except STIX and MISP of a grouped recipient, whose ledger
    also records each pair sent (crawler/exports/changed_pairs.py): those recorded
    as written."""
    from crawler.exports.changed_pairs import BY_PAIR
    from crawler.exports.recipients import load_presets

    presets = load_presets()
    d = ["--db", str(work)]
    # The highest floor first: a recipient's JSONL ledger ends with its own floor's.
    for (rcpt, floor), fmts in sorted(floors.items(), key=lambda f: f[0][1] == "low"):
        argv = [*cli, "export", "--recipient", rcpt, "--min-risk", floor]
        argv += ["--since", since] if since else []
        what = f" --since {since}" if since else ""
        rows.append(
            _timed(
                f"export jsonl {rcpt} --min-risk {floor}{what} (recorded)",
                [*argv, "--out", str(out / f"sent.{rcpt}.{floor}.jsonl"), *d],
                env,
                scan,
                timeout,
            )
        )
        conn = sqlite3.connect(work)
        (export_id,) = conn.execute("select max(id) from exports").fetchone()
        conn.close()
        for fmt in fmts:
            if fmt in BY_PAIR and presets[rcpt].group_by:
                rows.append(
                    _timed(
                        f"export {fmt} {rcpt} --min-risk {floor}{what} (recorded)",
                        [*argv, "--format", fmt, "--out", str(out / f"sent.{rcpt}.{fmt}"), *d],
                        env,
                        scan,
                        timeout,
                    )
                )
            elif fmt != "jsonl":
                _copy_ledger(work, export_id, fmt)


def _delta_run(work: Path, shape: Shape, r: int, name: str, worst: bool = False) -> list[tuple]:
    """One more crawl run on the measured copy (`one_run`); its saving and end of run."""
    db = storage.open_db(work)
    t = one_run(db, shape, r, Verdicts(), worst)
    db.close()
    rate = t["sightings"] / t["save_s"]
    print(
        f"  {name}: saving {rate:,.0f}/s, end of run {t['end_s']:.2f} s"
        f" (CPU {t['end_cpu']:.2f} s, load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return [
        (f"saving, {name}", f"{rate:,.0f} sightings/s", ">= 2,000/s", rate >= 2000, ""),
        (f"end of run, {name}", f"{t['end_s']:.2f} s", "< 5 s", t["end_s"] < 5, ""),
    ]


def delta_bench(work: Path, out: Path, shape: Shape, scan: float, env: dict, args) -> list[tuple]:
    """`export --since last` as scheduled: two runs that settle the copy (as
    `crawl_run`'s), a full export recorded to each recipient in each format
    (`_deliver`), a realistic run (CHURN of the pages changed), then the delta of
    each (--dry-run, so the ledger stays as it was); then the deltas delivered, the
    worst run (every page changed: most pairs' verdicts move) and the deltas again."""
    from crawler.exports.core import default_floor
    from crawler.exports.recipients import load_presets

    presets = load_presets()
    cli = [str(Path(sys.executable).with_name("serpwatch"))]
    d = ["--db", str(work)]
    pairs = [
        (fmt, rcpt)
        for rcpt in RECIPIENTS
        for fmt in FORMATS
        if not args.only or any(o and o in f"export {fmt} {rcpt}" for o in args.only.split(","))
    ]
    rows: list[tuple] = []
    floors: dict[tuple[str, str], list[str]] = {}
    for fmt, rcpt in pairs:
        floors.setdefault((rcpt, default_floor(presets[rcpt], fmt)), []).append(fmt)
    for i in (0, 1):
        _delta_run(work, shape, shape.runs + i, f"settle {i + 1}")
    _deliver(rows, cli, work, out, floors, None, env, scan, max(args.timeout, 600))
    runs = (
        (f"realistic run, {CHURN:.0%} of pages change", shape.runs + 2, False),
        ("worst run, every page changes", shape.runs + 3, True),
    )
    for after, r, worst in runs:
        if worst:
            _deliver(rows, cli, work, out, floors, "last", env, scan, args.timeout)
        rows += _delta_run(work, shape, r, after, worst)
        if args.keep_realistic and not worst:
            conn = sqlite3.connect(work)  # its WAL folded in first: one file to copy
            conn.execute("pragma wal_checkpoint(truncate)")
            conn.close()
            shutil.copyfile(work, args.keep_realistic)
        for fmt, rcpt in pairs:
            argv = [*cli, "export", "--format", fmt, "--recipient", rcpt, "--since", "last"]
            argv += ["--dry-run", *d]
            sent = out / f"delta.{rcpt}.{fmt}"
            base = _base(argv, sent, env, args.base, args.timeout) if args.base else ""
            rows.append(
                _timed(
                    f"export {fmt} {rcpt} --since last ({after.split(',')[0]})",
                    [*argv, "--out", str(sent)],
                    env,
                    scan,
                    args.timeout,
                    base,
                )
            )
            if args.base:
                same = _same(sent)
                print(f"    {same[2:]}", flush=True)
                rows[-1] = (*rows[-1][:4], rows[-1][4] + same)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0: 20k sightings a run")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/serpwatch-bench"))
    ap.add_argument(
        "--db",
        type=Path,
        help="the generated database: reused when it exists, generated there when not"
        " (default: CACHE/bench-SIGHTINGS-RUNS.db)",
    )
    ap.add_argument(
        "--extend",
        type=Path,
        help="generate by adding the missing runs to a copy of this smaller generated database",
    )
    ap.add_argument("--generate-only", action="store_true", help="generate, measure nothing")
    ap.add_argument(
        "--no-run", action="store_true", help="time the commands only, not a crawl run's saving"
    )
    ap.add_argument(
        "--only",
        default="",
        help="time only commands whose name contains this (several: comma-separated)",
    )
    ap.add_argument("--timeout", type=float, default=120, help="seconds before a command is killed")
    ap.add_argument(
        "--delta",
        action="store_true",
        help="time `export --since last` after one more crawl run: a recorded full export"
        " per format and recipient (those --only names), the run, then each delta",
    )
    ap.add_argument(
        "--base",
        type=Path,
        help="with --delta: time each delta first with the code in this directory (a"
        " `git archive` of main, say) and compare the bytes",
    )
    ap.add_argument(
        "--keep-realistic",
        type=Path,
        help="with --delta: copy the database here after the realistic run (its full"
        " exports recorded, no delta): a state to time one delta on again and again",
    )
    args = ap.parse_args()
    shape = Shape(args.scale, args.runs)
    args.cache.mkdir(parents=True, exist_ok=True)
    base = args.db or args.cache / shape.name()
    print(
        f"size: {shape.sightings:,} sightings in {shape.runs} runs, {shape.per_run:,} a run;"
        f" ~{2 * shape.sites:,} numbers, ~{shape.sites:,} sites"
    )
    if not base.exists():
        print(f"generating {base} with the project's save functions ...")
        generate(base, shape, args.extend)
    else:
        print(f"reusing {base} (delete it to generate again)")
    if args.generate_only:
        return 0
    work = args.cache / "work.db"
    for p in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
        p.unlink(missing_ok=True)
    shutil.copyfile(base, work)

    # Opening with this code applies any pending migration (timed: a one-off per database).
    t = time.perf_counter()
    storage.open_db(work).close()
    print(f"open (and migrate if needed): {time.perf_counter() - t:.2f} s")
    print(f"file: {work.stat().st_size / 1e9:.2f} GB")
    scan = yardstick(work)
    print(f"yardstick, one full scan of sightings: {scan:.2f} s")

    rows = []
    key = "+3188" + f"{(shape.sites // 4) % shape.shared:07d}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = args.cache / "out"
    out.mkdir(exist_ok=True)
    if args.delta:
        rows = delta_bench(work, out, shape, scan, env, args)
    for name, argv in [] if args.delta else commands(work, out, key):
        if args.only and not any(o and o in name for o in args.only.split(",")):
            continue
        # `flags --json` writes every pair to its output: kept, for its floor.
        lines = out / "flags.jsonl" if "--json" in argv else None
        wall, mb, code, err = _measure(argv, env, args.timeout, lines)
        if code == -9:
            note = f"killed after {args.timeout:g} s"
        elif code:
            note = f"exit {code}: {err[0] if err else ''}"
        else:
            note = f"{mb:,.0f} MB" + _written(argv, wall, lines)
        note = f"x{wall / scan:.1f} scan; {note}"
        rows.append((name, f"{wall:.2f} s", "< 2 s", wall < 2 and code == 0, note))
        print(f"  {name:<28} {wall:7.2f} s  x{wall / scan:6.1f} scan  {note}", flush=True)
    # The crawl run last: a command forked from this process after it would count its
    # memory as the command's peak (ru_maxrss survives fork and exec).
    if not args.no_run and not args.delta:
        rows = crawl_run(work, shape, scan) + rows
    print()
    print(f"yardstick (one full scan of sightings): {scan:.2f} s; {os.getloadavg()[0]:.1f} load")
    print(f"{'what':<44} {'measured':>20}  {'target':>10}  ok   note")
    for name, measured, target, ok, note in rows:
        print(f"{name:<44} {measured:>20}  {target:>10}  {'yes' if ok else 'NO ':<4} {note}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
