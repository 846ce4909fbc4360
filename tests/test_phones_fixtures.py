"""Golden pages: tests/fixtures/phones/<case>/{page.html, meta.json, expected.json}.

meta.json holds the arguments (region, url, language); expected.json the hits
as ``serpwatch phones extract`` prints them. After a deliberate change, re-record
with

    SERPWATCH_RECORD=1 .venv/bin/python -m pytest tests/test_phones_fixtures.py

and review the diff of expected.json before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from crawler.phones import extract_phones

FIXTURES = Path(__file__).parent / "fixtures" / "phones"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "page.html").exists())
RECORD = os.environ.get("SERPWATCH_RECORD") == "1"


def run_case(case: Path) -> list[dict]:
    meta = json.loads((case / "meta.json").read_text())
    hits = extract_phones((case / "page.html").read_bytes(), **meta)
    return [hit.to_dict() for hit in hits]


@pytest.mark.parametrize("name", CASES)
def test_golden_page(name):
    case = FIXTURES / name
    got = run_case(case)
    expected_file = case / "expected.json"
    if RECORD:
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert got == json.loads(expected_file.read_text())


def test_there_are_golden_pages():
    assert len(CASES) >= 5
