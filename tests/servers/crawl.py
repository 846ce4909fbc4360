"""Run `serpwatch crawl` in a subprocess against a local server, offline-checked.

`run_crawl(tmp, engine_url, ...)` writes a one-brand profile whose only
engine is `engine_url` (Bing HTML), runs the CLI under the offline audit
hook (tests/servers/run_cli.py), and returns a `CrawlResult` with the exit
status, output, the run's stored stats and the network-violation log.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
RUN_CLI = Path(__file__).with_name("run_cli.py")

BRANDS = """
[[brands]]
name = "Microsoft"
keywords = ["microsoft", "windows"]
domains = ["microsoft.com"]
phones = ["+31 20 500 1005"]
"""


def write_profile(
    folder: Path,
    engine_url: str,
    *,
    allow_private: bool,
    queries: tuple[str, ...] = ("fault test",),
    results_per_query: int = 60,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brands.toml").write_text(BRANDS)
    extra = ", ".join(json.dumps(q) for q in queries)
    profile = folder / "profile.toml"
    profile.write_text(
        f'name = "faults"\nbrands = "brands.toml"\nregion = "NL"\nlanguage = "nl"\n'
        f"results_per_query = {results_per_query}\nfollow_ads = true\n"
        f"allow_private = {'true' if allow_private else 'false'}\n\n"
        f'[[engines]]\nkind = "bing"\nurl = "{engine_url}"\n\n'
        f"[queries]\nextra = [{extra}]\n"
    )
    return profile


def cli_env(folder: Path, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT), env.get("PYTHONPATH", "")])
    env["SERPWATCH_NET_LOG"] = str(folder / "network-violations.log")
    # An empty tldextract cache: a tldextract that may fetch would try now.
    env["TLDEXTRACT_CACHE"] = str(folder / "tldextract-cache")
    env.update(extra or {})
    return env


def run_cli(args: list[str], env: dict, timeout: float = 120, **kwargs):
    return subprocess.run(
        [sys.executable, str(RUN_CLI), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        **kwargs,
    )


@dataclass
class CrawlResult:
    proc: subprocess.CompletedProcess
    db: Path
    violations: list[str]
    seconds: float = 0.0  # wall time of the whole CLI run

    @property
    def run(self) -> dict:
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            return dict(conn.execute("select * from runs order by id desc limit 1").fetchone())

    @property
    def stats(self) -> dict:
        with sqlite3.connect(self.db) as conn:
            row = conn.execute("select stats from runs order by id desc limit 1").fetchone()
        return json.loads(row[0] or "{}")

    def rows(self, sql: str, params=()) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()

    def stored_urls(self) -> set[str]:
        return {u for (u,) in self.rows("select url from pages")}


def run_crawl(
    folder: Path,
    engine_url: str,
    *,
    allow_private: bool,
    settings: dict | None = None,
    env: dict | None = None,
    queries: tuple[str, ...] = ("fault test",),
    timeout: float = 120,
) -> CrawlResult:
    profile = write_profile(folder, engine_url, allow_private=allow_private, queries=queries)
    db = folder / "crawl.db"
    args = ["crawl", str(profile), "--db", str(db)]
    # Local servers need no politeness: no engine delay, no AutoThrottle.
    fast = {
        "LOG_LEVEL": "INFO",
        "SERPWATCH_ENGINE_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 64,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 64,
    }
    for name, value in {**fast, **(settings or {})}.items():
        args += ["-s", f"{name}={value}"]
    environment = cli_env(folder, env)
    start = time.monotonic()
    proc = run_cli(args, environment, timeout=timeout)
    seconds = time.monotonic() - start
    log = Path(environment["SERPWATCH_NET_LOG"])
    violations = log.read_text().splitlines() if log.exists() else []
    return CrawlResult(proc, db, violations, seconds)
