"""Every verdict on the scoring fixtures, the simulated webs and the demo is as committed.

A change in scoring shows here as a diff of `tests/snapshots/<name>.jsonl`; when
the change is meant, record again (`tests/snapshots/record.py --rerecord`) and
commit the reviewed diff with the change.
"""

from __future__ import annotations

import pytest
from snapshots.record import NAMES, diff, record, snapshot_file


@pytest.mark.parametrize("name", [n for n in NAMES if snapshot_file(n).exists()])
def test_verdicts_are_as_recorded(name, web_db):
    changes = diff(name, record(name, None if name == "fixtures" else web_db(name)))
    assert not changes, (
        f"verdicts moved; review, then tests/snapshots/record.py --rerecord\n{changes}"
    )
