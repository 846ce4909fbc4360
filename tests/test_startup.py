"""Read commands start without the crawler's heavy imports.

phonenumbers, tldextract (and requests under it), the engines' parsers and the
scorer were about 0.3 s of every command's start-up, paid again by each
scheduled `export --since last`; these commands never use them. Each command
runs in a fresh interpreter, so what it imported is what it needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("phonenumbers", "tldextract", "scrapy", "crawler.engines", "crawler.scoring")

RUN = """
import json, os, sys
from crawler.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    heavy = [m for m in json.loads(os.environ["HEAVY"]) if m in sys.modules]
    print("HEAVY=" + json.dumps(heavy), file=sys.stderr)
"""


def imported_heavy(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        env={**os.environ, "HEAVY": json.dumps(HEAVY)},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in out.stderr.splitlines() if x.startswith("HEAVY="))
    return json.loads(line.removeprefix("HEAVY="))


@pytest.fixture(scope="module")
def db(demo_out, tmp_path_factory):
    # The demo's database: flagged pairs of every kind, so each export reads rows.
    path = tmp_path_factory.mktemp("startup") / "demo.db"
    shutil.copy(demo_out / "demo.db", path)
    return str(path)


@pytest.mark.parametrize(
    "args",
    [
        ["runs"],
        ["flags"],
        ["flags", "--json"],
        ["report", "--out", "{tmp}/r.html"],
        ["export", "--format", "jsonl", "--out", "{tmp}/x.jsonl"],
        ["export", "--format", "stix", "--out", "{tmp}/x.stix.json"],
        ["export", "--format", "csv", "--recipient", "regulator", "--out", "{tmp}/x.csv"],
        ["export", "--format", "xarf", "--recipient", "hosting", "--out", "{tmp}/x.xarf"],
        ["export", "--format", "jsonl", "--recipient", "operator", "--out", "{tmp}/o.jsonl"],
    ],
    ids=lambda a: " ".join(a[:4]),
)
def test_read_commands_skip_the_crawlers_imports(args, db, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert imported_heavy(*args, "--db", db) == []
    if "--out" in args:  # the command did its work, not an early exit
        assert Path(args[args.index("--out") + 1]).stat().st_size > 200


def test_the_check_sees_a_heavy_import(db, tmp_path):
    # `phones extract` needs phonenumbers: the check must report it.
    sample = tmp_path / "p.txt"
    sample.write_text("Bel 020 123 4567")
    assert "phonenumbers" in imported_heavy("phones", "extract", str(sample))
