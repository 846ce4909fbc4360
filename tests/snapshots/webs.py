"""Crawls of the simulated webs and the demo whose verdicts are golden (tests/snapshots/).

Each snapshot is a case of the golden convention (tests/golden.py):
`tests/snapshots/<name>/meta.json` names the web crawled (`simweb`, `simweb3`:
the simulated webs in tests/<name>/ with their profile.toml and brands.toml;
`demo`: `serpwatch demo`), and `expected.json` holds every verdict the crawl
stores (scoring_cases.verdict_lines). `tests/test_snapshots.py` compares;
`pytest tests/test_snapshots.py --rerecord` records.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
NAMES = ("simweb", "simweb3", "demo")


def serpwatch(*args, env=None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("serpwatch")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300, env=env)


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def crawl_web(web_cls, folder: Path, db_path: str) -> None:
    """Crawl a simulated web (tests/simweb, tests/simweb3) through the CLI into `db_path`."""
    with web_cls() as web, tempfile.TemporaryDirectory() as tmp:
        profile = (folder / "profile.toml").read_text()
        profile = profile.replace("http://127.0.0.1:8080/search", web.search_url)
        profile = profile.replace('brands = "brands.toml"', f'brands = "{folder}/brands.toml"')
        path = Path(tmp) / "p.toml"
        path.write_text(profile)
        env = _env()
        env["http_proxy"] = web.proxy_url
        proc = serpwatch(
            "crawl", str(path), "--db", db_path,
            "-s", "SERPWATCH_ENGINE_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0",
            "-s", "LOG_LEVEL=WARNING",
            env=env,
        )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"crawl of {folder.name} failed: {proc.stderr[-3000:]}")


def crawl_db(name: str, folder: Path) -> str:
    """Crawl one web (`simweb`, `simweb3`, `demo`) into a new database in `folder`."""
    import importlib

    db = str(folder / f"{name}.db")
    if name == "demo":
        proc = serpwatch("demo", "--out", str(folder / "demo-out"), "--db", db, env=_env())
        if proc.returncode != 0:
            raise RuntimeError(f"demo failed: {proc.stderr[-3000:]}")
        return db
    module = importlib.import_module(f"{name}.web")
    cls = next(v for k, v in vars(module).items() if k.lower() == name and isinstance(v, type))
    crawl_web(cls, TESTS / name, db)
    return db
