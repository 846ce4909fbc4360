"""Every verdict of a crawl of the simulated webs and of the demo is as recorded.

Each is a golden case (tests/golden.py): `tests/snapshots/<name>/meta.json`
names the web, `expected.json` holds the verdicts. A change in scoring shows
here as a diff; when the change is meant, record again with
`pytest tests/test_snapshots.py --rerecord` and commit the reviewed diff with
the change. The scoring fixtures' own verdicts are in tests/test_scoring_pages.py.
"""

from __future__ import annotations

import pytest
from golden import meta
from scoring_cases import verdict_lines
from snapshots.webs import HERE, NAMES
from sqlite_utils import Database


@pytest.mark.parametrize("name", NAMES)
def test_verdicts_are_as_recorded(name, web_db, golden):
    case = HERE / name
    assert meta(case)["web"] == name
    lines = verdict_lines(Database(web_db(name)))
    golden(case, lines, test=f"tests/test_snapshots.py -k {name}")
