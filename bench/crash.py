"""The crash and reader promises at a year's size (issue 11), on copies of the
database `bench/storage.py` generates (1M sightings, 4 GB).

A crawl run (`bench/storage.py`'s `one_run`: the store pipeline's saves and the
end-of-run step, in a process of its own) is killed with SIGKILL while it saves,
and twice while it closes the run (where a year's history makes it write for
seconds). After each kill:

- SQLite's `integrity_check` finds the file intact;
- no two rows share a natural key (`storage.duplicate_rows`);
- the next run marks the killed one `interrupted`, and the same run done again
  ends with the flagged set of the run done once, uninterrupted, on another copy.

Meanwhile readers run without pause: `serpwatch flags`, `serpwatch runs`, and a
plain SQLite connection reading the flagged pairs the way Datasette does. None
may fail, least of all with "database is locked".

Not a speed figure: tests/test_crash_concurrency.py holds the same promises on
a small database; this holds them where the file and the end of a run are a
year's size. Each case works on its own copy (about 15 s and 4 GB each).

    python bench/crash.py --db /tmp/serpwatch-bench/bench-1000000-50.db
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlite_utils import Database  # noqa: E402

from crawler import storage  # noqa: E402

CLI = [sys.executable, "-m", "crawler.cli"]


def _year():
    """bench/storage.py as a module: its generator and `one_run`."""
    spec = importlib.util.spec_from_file_location("bench_storage", ROOT / "bench" / "storage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child(db: Path, r: int, scale: float, runs: int) -> None:
    """The victim: one realistic crawl run on `db`, saved and closed."""
    year = _year()
    conn = storage.open_db(db)
    t = year.one_run(conn, year.Shape(scale, runs), r, year.Verdicts())
    print(f"run {t['run']}: saved {t['sightings']}, end of run {t['end_s']:.2f} s", flush=True)


def _victim(db: Path, r: int, args) -> subprocess.Popen:
    argv = [sys.executable, __file__, "--child", str(db), str(r)]
    argv += ["--scale", str(args.scale), "--runs", str(args.runs)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(db: Path, sql: str, params=()) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute(sql, params).fetchone()[0]


@dataclass
class Readers:
    """Readers in a loop while the victim writes: every failure is kept."""

    db: Path
    done: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _commands(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        commands = (["flags", "--limit", "5"], ["runs"])
        while not self.stop.is_set():
            for argv in commands:
                res = subprocess.run(
                    [*CLI, *argv, "--db", str(self.db)], capture_output=True, text=True, env=env
                )
                self.done += 1
                if res.returncode != 0 or "locked" in res.stderr:
                    self.failures.append(f"{argv[0]}: exit {res.returncode}: {res.stderr[-300:]}")

    def _datasette_like(self) -> None:
        # Datasette reads with a plain connection and SQLite's default busy handling.
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        while not self.stop.is_set():
            try:
                conn.execute(
                    "select domain, phone, score from site_numbers where flagged = 1"
                    " order by score desc limit 20"
                ).fetchall()
                self.done += 1
            except sqlite3.Error as exc:
                self.failures.append(f"sqlite reader: {exc}")
            time.sleep(0.05)
        conn.close()

    def __enter__(self):
        self.threads = [
            threading.Thread(target=self._commands, daemon=True),
            threading.Thread(target=self._datasette_like, daemon=True),
        ]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(120)


def _copy(base: Path, to: Path) -> Path:
    for p in (to, Path(f"{to}-wal"), Path(f"{to}-shm")):
        p.unlink(missing_ok=True)
    shutil.copyfile(base, to)
    return to


def _wait_for(victim: subprocess.Popen, db: Path, run_id: int, sightings: int) -> None:
    """Until the run has saved `sightings` (its own rows), or has ended."""
    sql = "select count(*) from sightings where run_id = ?"
    while victim.poll() is None and _count(db, sql, [run_id]) < sightings:
        time.sleep(0.05)


def _kill(db: Path, r: int, args, sightings: int, after: float) -> str:
    """Start the victim; kill it once it has saved `sightings`, `after` seconds on.
    Where the kill landed, or why it did not land where it should."""
    run_id = _count(db, "select coalesce(max(id), 0) from runs") + 1
    victim = _victim(db, r, args)
    _wait_for(victim, db, run_id, sightings)
    time.sleep(after)
    if victim.poll() is not None:
        return f"missed: the run ended first ({victim.stdout.read().strip()})"
    saved = _count(db, "select count(*) from sightings where run_id = ?", [run_id])
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(30)
    running = _count(db, "select count(*) from runs where id = ? and status = 'running'", [run_id])
    if not running:
        return "missed: the run was not left running"
    return f"killed with {saved:,} sightings saved"


def _check(name: str, db: Path, r: int, args, clean: set) -> list[tuple]:
    conn = Database(db)
    t = time.perf_counter()
    problems = storage.integrity_problems(conn)
    checked = time.perf_counter() - t
    twice = {k: v for k, v in storage.duplicate_rows(conn).items() if v}
    conn.close()
    rows = [
        (f"{name}: integrity_check", "ok" if not problems else problems[0], not problems),
        (f"{name}: duplicate rows", str(twice or "none"), not twice),
    ]
    print(f"  {name}: integrity_check {checked:.1f} s, duplicates {twice or 'none'}", flush=True)
    rerun = _victim(db, r, args)
    out, err = rerun.communicate(timeout=600)
    conn = Database(db)
    statuses = [s for (s,) in conn.execute("select status from runs order by id desc limit 2")]
    flagged = storage.flagged_pairs(conn)
    conn.close()
    print(f"  {name}: rerun {out.strip() or err[-300:]}", flush=True)
    rows += [
        (
            f"{name}: the runs' status",
            " then ".join(reversed(statuses)),
            statuses == ["finished", "interrupted"],
        ),
        (
            f"{name}: flagged set after the rerun",
            f"{len(flagged):,} pairs, {len(flagged ^ clean):,} differ",
            flagged == clean,
        ),
    ]
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="the generated database (bench/storage.py)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/serpwatch-crash"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--child", nargs=2, metavar=("DB", "RUN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), args.scale, args.runs)
        return 0
    if args.db is None or not args.db.exists():
        print("error: --db must name a database bench/storage.py generated", file=sys.stderr)
        return 2
    year = _year()
    shape = year.Shape(args.scale, args.runs)
    args.work.mkdir(parents=True, exist_ok=True)
    storage.open_db(args.db).close()  # migrated once, not in every copy's victim
    r = _count(args.db, "select count(*) from runs")
    per_run = 2 * shape.pages
    print(f"{args.db}: {r} runs; each case is run {r}'s {per_run:,} sightings on a copy")

    clean_db = _copy(args.db, args.work / "clean.db")
    victim = _victim(clean_db, r, args)
    out, err = victim.communicate(timeout=600)
    if victim.returncode:
        print(f"error: the uninterrupted run failed: {err[-2000:]}", file=sys.stderr)
        return 1
    clean = storage.flagged_pairs(Database(clean_db))
    end = float(out.split("end of run ")[1].split()[0])
    print(f"  uninterrupted: {out.strip()}; {len(clean):,} flagged pairs", flush=True)
    clean_db.unlink()

    rows = []
    cases = (
        ("killed while saving", per_run // 2, 0.0),
        # Into the end of the run by a tenth and by two thirds of the time it took.
        ("killed early in the end of the run", per_run, end / 10),
        ("killed late in the end of the run", per_run, end * 2 / 3),
    )
    for name, sightings, after in cases:
        db = _copy(args.db, args.work / "killed.db")
        with Readers(db) as readers:
            where = _kill(db, r, args, sightings, after)
            time.sleep(1)  # the readers once more on the file as the kill left it
        print(f"  {name}: {where}; {readers.done} reads, {len(readers.failures)} failed")
        for failure in readers.failures:
            print(f"    {failure}")
        rows += [
            (f"{name}: the kill", where, where.startswith("killed")),
            (
                f"{name}: readers meanwhile",
                f"{readers.done} reads, {len(readers.failures)} failed",
                not readers.failures,
            ),
        ]
        rows += _check(name, db, r, args, clean)
    db.unlink(missing_ok=True)
    print()
    print(f"{'what':<58} {'found':>34}  ok")
    for name, found, ok in rows:
        print(f"{name:<58} {found:>34}  {'yes' if ok else 'NO'}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
