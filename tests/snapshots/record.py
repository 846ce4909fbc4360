"""Re-record the verdict snapshots: a thin wrapper around `pytest --rerecord`.

The golden fixtures have one recorder, pytest's `--rerecord` option
(tests/golden.py, docs/TESTING.md). This script keeps the old command working:

    .venv/bin/python tests/snapshots/record.py             # check all, exit 1 on a diff
    .venv/bin/python tests/snapshots/record.py --rerecord  # write the files
    .venv/bin/python tests/snapshots/record.py simweb      # one of: fixtures simweb simweb3 demo

`fixtures` are the scoring fixtures' verdicts (tests/fixtures/scoring/<case>/
expected.json); the others are crawls (tests/snapshots/<name>/expected.json).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
TARGETS = {
    "fixtures": "tests/test_scoring_pages.py::test_golden_verdicts",
    "simweb": "tests/test_snapshots.py::test_verdicts_are_as_recorded[simweb]",
    "simweb3": "tests/test_snapshots.py::test_verdicts_are_as_recorded[simweb3]",
    "demo": "tests/test_snapshots.py::test_verdicts_are_as_recorded[demo]",
}


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("--")] or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        print(f"unknown snapshot {unknown}; one of: {' '.join(TARGETS)}", file=sys.stderr)
        return 2
    flags = ["--rerecord"] if "--rerecord" in argv else []
    cmd = [sys.executable, "-m", "pytest", "-q", *flags, *(TARGETS[n] for n in names)]
    return subprocess.run(cmd, cwd=TESTS.parent, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
