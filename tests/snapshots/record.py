"""Snapshots of the full verdicts on the scoring fixtures, the simulated webs and the demo.

Every verdict the scorer gives on these inputs is kept in a committed file
(`tests/snapshots/<name>.jsonl`, one verdict a line, sorted), so that any change
in scoring shows as a diff to review. `tests/test_snapshots.py` fails when a
verdict moves; after a deliberate change, record again and review the diff:

    .venv/bin/python tests/snapshots/record.py             # check all, exit 1 on a diff
    .venv/bin/python tests/snapshots/record.py --rerecord  # write the files
    .venv/bin/python tests/snapshots/record.py simweb      # one of: fixtures simweb simweb3 demo

A line is one verdict: `kind` (pair, number or site), the key (domain and/or
phone), score, risk, flagged and the reasons in order. The page a pair was
kept from is left out: it can depend on which query finished first.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
ROOT = TESTS.parent
for p in (str(ROOT), str(TESTS)):
    if p not in sys.path:
        sys.path.insert(0, p)

from sqlite_utils import Database  # noqa: E402

from crawler import history, storage  # noqa: E402

NAMES = ("fixtures", "simweb", "simweb3", "demo")


def verdict_lines(db: Database) -> list[str]:
    """Every stored verdict of a database, one sorted JSON line each."""
    lines = []
    for row in db.query("select * from site_numbers"):
        lines.append(
            {
                "kind": "pair",
                "domain": row["domain"],
                "phone": row["phone"],
                "score": row["score"],
                "risk": row["risk"],
                "flagged": row.get("flagged"),
                "reasons": json.loads(row["reasons"] or "[]"),
            }
        )
    for kind, table, pk in (("number", "numbers", "phone"), ("site", "sites", "domain")):
        if "score" not in db[table].columns_dict:
            continue
        for row in db.query(f"select * from {table}"):
            lines.append(
                {
                    "kind": kind,
                    pk: row[pk],
                    "score": row["score"],
                    "risk": row["risk"],
                    "reasons": json.loads(row["reasons"] or "[]"),
                }
            )
    return sorted(json.dumps(x, ensure_ascii=False, sort_keys=True) for x in lines)


def fixtures() -> list[str]:
    """The pages of tests/fixtures/scoring, scored as in a crawl, stored, the run closed."""
    from crawler.config import Profile, load_brands, load_third_parties
    from crawler.items import PageItem
    from crawler.phones import extract_phones, result_hits
    from pipelines.score import score_page

    fx = TESTS / "fixtures" / "scoring"
    brands = fx / "brands.toml"
    profile = Profile(
        path=brands,
        name="fixtures",
        brands=load_brands(brands),
        brands_path=brands,
        third_parties=load_third_parties(brands),
    )
    db = Database(memory=True)
    storage.ensure_db_shape(db)
    history.ensure_shape(db)
    run = storage.start_run(db, "fixtures")
    cases = tomllib.loads((fx / "cases.toml").read_text(encoding="utf-8"))["cases"]
    done = set()
    for case in cases:
        if case["file"] + case["url"] in done:
            continue
        done.add(case["file"] + case["url"])
        html = (fx / "pages" / case["file"]).read_text(encoding="utf-8")
        item = PageItem(
            url=case["url"],
            entry_url=case["url"],
            status=200,
            html=html,
            engine="bing",
            query=f"{case.get('brand') or 'klantenservice'} helpdesk telefoonnummer",
            brand=case.get("brand"),
            is_ad=case.get("is_ad", False),
            serp_url="http://engine/search",
            rank=None if case.get("is_ad") else 1,
            ad_position=1 if case.get("is_ad") else None,
        )
        if case.get("ad_title"):
            item.appearances = [
                {
                    "engine": "bing",
                    "is_ad": True,
                    "title": case["ad_title"],
                    "snippet": case.get("ad_snippet", ""),
                    "phones": case.get("ad_phones", []),
                }
            ]
        item.hits = extract_phones(html, region="NL", url=case["url"])
        item.hits += result_hits(item.appearances, {h.phone for h in item.hits}, "NL")
        score_page(item, profile)
        page = {
            k: getattr(item, k)
            for k in (
                "url", "entry_url", "status", "engine", "query", "brand", "is_ad", "rank",
                "ad_position", "serp_url", "domain", "title",
            )
        }  # fmt: skip
        page["fetched_at"] = "2026-11-01T08:00:00+00:00"
        storage.save_page(db, run, page, [v.as_dict() for v in item.verdicts])
    history.close_run(db, run, at="2026-11-01T09:00:00+00:00")
    return verdict_lines(db)


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


def record(name: str, db_path: str | None = None) -> list[str]:
    """The verdict lines of one input; a web is crawled unless its database is given."""
    if name == "fixtures":
        return fixtures()
    if db_path:
        return verdict_lines(Database(db_path))
    with tempfile.TemporaryDirectory() as tmp:
        return verdict_lines(Database(crawl_db(name, Path(tmp))))


def snapshot_file(name: str) -> Path:
    return HERE / f"{name}.jsonl"


def diff(name: str, lines: list[str]) -> str:
    path = snapshot_file(name)
    old = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return "\n".join(
        difflib.unified_diff(old, lines, f"{name} (committed)", f"{name} (now)", lineterm="")
    )


def main(argv: list[str]) -> int:
    rerecord = "--rerecord" in argv
    names = [a for a in argv if not a.startswith("--")] or [
        n for n in NAMES if (TESTS / n).is_dir() or n in ("fixtures", "demo")
    ]
    status = 0
    for name in names:
        lines = record(name)
        changes = diff(name, lines)
        if rerecord:
            snapshot_file(name).write_text("\n".join(lines) + "\n", encoding="utf-8")
            print(f"{name}: {len(lines)} verdicts written" + (" (changed)" if changes else ""))
        elif changes:
            print(changes)
            status = 1
        else:
            print(f"{name}: {len(lines)} verdicts, unchanged")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
