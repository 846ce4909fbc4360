"""The golden fixtures all follow one convention (tests/golden.py, docs/TESTING.md).

Engines (tests/fixtures/serp/<engine>/<case>/), phones (tests/fixtures/phones/
<case>/) and scoring (tests/fixtures/scoring/<case>/): meta.json, one page.*,
expected.json, nothing else; the crawl snapshots (tests/snapshots/<name>/):
meta.json naming the web, expected.json. A case written in the old layout
(url.txt, query.txt, status.txt; cases.toml) fails here, with how to convert it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden import FIXTURES, OLD_FILES, SERP, Golden, case_dirs, dump, meta
from snapshots.webs import HERE as SNAPSHOTS
from snapshots.webs import NAMES

SUITES = {
    "serp": case_dirs(SERP, depth=2),
    "phones": case_dirs(FIXTURES / "phones"),
    "scoring": case_dirs(FIXTURES / "scoring"),
}
ALLOWED = {"meta.json", "expected.json", "page.html", "page.json"}
CONVERT = (
    "convert it: url.txt, query.txt and status.txt become the keys url, query and status "
    "of meta.json; then record expected.json with `pytest --rerecord`"
)


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_case_has_meta_one_input_and_expected(suite):
    cases = SUITES[suite]
    assert len(cases) >= 5, suite
    for case in cases:
        files = {p.name for p in case.iterdir() if p.name != "__pycache__"}
        old = files & set(OLD_FILES)
        assert not old, f"{case}: old layout ({sorted(old)}); {CONVERT}"
        assert files <= ALLOWED, f"{case}: unexpected {sorted(files - ALLOWED)}"
        assert {"meta.json", "expected.json"} <= files, f"{case}: has {sorted(files)}"
        assert len([f for f in files if f.startswith("page.")]) == 1, case
        assert isinstance(meta(case), dict), case
        json.loads((case / "expected.json").read_text(encoding="utf-8"))


def test_engine_cases_name_their_request_in_meta():
    for case in SUITES["serp"]:
        m = meta(case)
        assert m["url"].startswith(("http://", "https://")), case
        assert isinstance(m["query"], str) and m["query"], case
        assert isinstance(m.get("status", 200), int), case


def test_scoring_cases_say_what_the_page_is():
    for case in SUITES["scoring"]:
        m = meta(case)
        assert m["url"].startswith(("http://", "https://")), case
        assert m["kind"] in ("scam", "legit", "official"), case
        assert m.get("phone") or m.get("phones"), case


def test_the_old_files_are_gone():
    assert not (FIXTURES / "scoring" / "cases.toml").exists()
    assert not (FIXTURES / "scoring" / "pages").exists()
    assert not list(SNAPSHOTS.glob("*.jsonl"))
    assert not list(SERP.glob("*/*/url.txt"))


@pytest.mark.parametrize("name", NAMES)
def test_each_crawl_snapshot_names_its_web(name):
    case = SNAPSHOTS / name
    assert meta(case)["web"] == name
    assert {p.name for p in case.iterdir()} == {"meta.json", "expected.json"}
    assert json.loads((case / "expected.json").read_text(encoding="utf-8"))


def test_golden_compares_and_rerecord_writes(tmp_path: Path):
    case = tmp_path / "case"
    case.mkdir()
    rewritten: list[str] = []
    check = Golden(False, rewritten)
    with pytest.raises(AssertionError, match="--rerecord"):
        check(case, {"a": 1}, test="tests/x.py")  # nothing recorded yet
    record = Golden(True, rewritten)
    record(case, {"a": 1, "é": [2]})
    assert (case / "expected.json").read_text(encoding="utf-8") == dump({"a": 1, "é": [2]})
    assert len(rewritten) == 1
    check(case, {"a": 1, "é": [2]})  # as recorded: passes
    with pytest.raises(AssertionError, match=r"pytest tests/x.py --rerecord"):
        check(case, {"a": 2}, test="tests/x.py")
    record(case, {"a": 1, "é": [2]})  # unchanged: not rewritten again
    assert len(rewritten) == 1
