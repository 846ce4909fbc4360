"""Golden fixtures: one convention for engines, phones and scoring (docs/TESTING.md).

A case is a folder holding
- `meta.json`: how to run it (the arguments: URL, query, HTTP status, region,
  brand, ...) and where it comes from (`origin`, `note`, `date`);
- the input: `page.html` or `page.json` (exactly one `page.*`), or, for a crawl
  snapshot, the simulated web that `meta.json` names;
- `expected.json`: what the code made of it, as recorded.

`pytest --rerecord` (an option of tests/conftest.py) writes `expected.json` of
every case the run reaches instead of comparing, and lists what it rewrote at
the end; review the diff before committing it. Without the option a case whose
output moved fails with the command that re-records it.
"""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
# Files of the layout before this convention: a case holding one is not read
# as it means (test_golden_layout says how to convert it).
OLD_FILES = ("url.txt", "query.txt", "status.txt", "cases.toml")


def case_dirs(root: Path, depth: int = 1) -> list[Path]:
    """The case folders `depth` levels under `root` (engine/case is depth 2), sorted."""
    found = [root]
    for _ in range(depth):
        found = [p for d in found for p in d.iterdir() if p.is_dir() and p.name != "__pycache__"]
    return sorted(found)


def meta(case: Path) -> dict:
    path = case / "meta.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssertionError(f"{path}: missing; every golden case has a meta.json") from None


def page_file(case: Path) -> Path:
    """The case's one input page (`page.html` or `page.json`)."""
    pages = sorted(case.glob("page.*"))
    if len(pages) != 1:
        raise AssertionError(f"{case}: expected exactly one page.* file, found {len(pages)}")
    return pages[0]


SERP = FIXTURES / "serp"


def serp_cases() -> list[Path]:
    """The engines' cases: tests/fixtures/serp/<engine>/<case>/."""
    return case_dirs(SERP, depth=2)


def serp_input(case: Path) -> tuple[bytes, str, int]:
    """An engine case's page bytes, request URL (meta `url`) and HTTP status (meta `status`)."""
    m = meta(case)
    return page_file(case).read_bytes(), m["url"], int(m.get("status", 200))


def dump(data) -> str:
    """How every expected.json is written: indented, UTF-8 as is, a final newline."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def expected(case: Path):
    return json.loads((case / "expected.json").read_text(encoding="utf-8"))


class Golden:
    """Compares a case's output with its expected.json, or records it (--rerecord)."""

    def __init__(self, rerecord: bool, rewritten: list[str]):
        self.rerecord = rerecord
        self.rewritten = rewritten

    def __call__(self, case: Path, got, *, test: str = "") -> None:
        target = case / "expected.json"
        text = dump(got)
        if self.rerecord:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
                root = FIXTURES.parent.parent
                shown = target.relative_to(root) if target.is_relative_to(root) else target
                self.rewritten.append(str(shown))
            return
        how = f"pytest {test} --rerecord".replace("  ", " ")
        assert target.exists(), f"{target}: no expected output yet; record it with `{how}`"
        assert got == expected(case), (
            f"{case} changed; if that is meant, re-record with `{how}` and review the diff"
        )
