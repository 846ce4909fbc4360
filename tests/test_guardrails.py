"""The complexity ratchet: functions over ruff's limits only ever leave the list.

ruff (C901 at 15, PLR0912, PLR0915) fails `make lint` for a new complex
function; the only way past it is a `noqa`. This test allows a `noqa` for the
complexity rules only on the functions named here, each with a date and a
reason, so a new exception is a visible change to this file.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ("C901", "PLR0912", "PLR0915")
NOQA = re.compile(r"def (\w+).*# noqa: ([A-Z0-9, ]+)(.*)$")
DATED = re.compile(r"^\s*-- \d{4}-\d{2}-\d{2}: \S.{10,}")

# (file, function): today's offenders. Remove an entry when its function is split.
ALLOWED = {
    ("crawler/phones.py", "extract_phones"),
}


def _exceptions() -> dict[tuple[str, str], str]:
    found = {}
    for folder in ("crawler", "spiders", "pipelines"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line in path.read_text(encoding="utf-8").splitlines():
                m = NOQA.search(line)
                if m and any(rule in m.group(2) for rule in RULES):
                    found[(str(path.relative_to(ROOT)), m.group(1))] = m.group(3)
    return found


def test_only_listed_functions_may_exceed_the_complexity_limits() -> None:
    extra = set(_exceptions()) - ALLOWED
    assert not extra, f"new complexity exceptions (split the function instead): {sorted(extra)}"


def test_every_exception_is_dated_and_says_why() -> None:
    for where, why in _exceptions().items():
        assert DATED.match(why), f"{where}: write '# noqa: C901 -- YYYY-MM-DD: why'"


def test_the_ruff_limits_are_the_ones_documented() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "max-complexity = 15" in text
    assert all(rule in text for rule in RULES)


def test_the_list_only_shrinks() -> None:
    gone = ALLOWED - set(_exceptions())
    assert not gone, f"these no longer need an exception; remove them from ALLOWED: {sorted(gone)}"


def test_the_cli_runs_as_a_module_without_import_cycles() -> None:
    # Command modules import their shared parts from crawler.cli.common, never
    # from the package crawler.cli, which imports them to register their commands.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rescore" in done.stdout and "worker" in done.stdout
    for path in (ROOT / "crawler" / "cli").glob("*.py"):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*from crawler\.cli import", text, re.M), path


def test_the_spider_stays_thin() -> None:
    """Spiders only crawl (issue 12): rules go to pure modules, so the spider fits
    under 350 lines. Past it, move a rule out instead of raising the number."""
    lines = (ROOT / "spiders" / "search.py").read_text().count("\n")
    assert lines < 350, f"spiders/search.py has {lines} lines"
