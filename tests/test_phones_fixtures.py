"""Golden pages: tests/fixtures/phones/<case>/{meta.json, page.html, expected.json}.

meta.json holds the arguments (region, url, language); expected.json the hits
as ``serpwatch phones extract`` prints them. After a deliberate change, re-record
with

    .venv/bin/python -m pytest tests/test_phones_fixtures.py --rerecord

and review the diff of expected.json before committing it (docs/TESTING.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden import FIXTURES, case_dirs, meta, page_file

from crawler.phones import extract_phones

CASES = case_dirs(FIXTURES / "phones")
# The arguments of extract_phones a case's meta.json may give; the rest is provenance.
ARGUMENTS = ("region", "url", "language")


def run_case(case: Path) -> list[dict]:
    args = {k: v for k, v in meta(case).items() if k in ARGUMENTS}
    hits = extract_phones(page_file(case).read_bytes(), **args)
    return [hit.to_dict() for hit in hits]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_page(case, golden):
    golden(case, run_case(case), test=f"tests/test_phones_fixtures.py -k {case.name}")


def test_there_are_golden_pages():
    assert len(CASES) >= 5
