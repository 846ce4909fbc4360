"""Red-team figures of the verdicts on the three simulated webs and the demo.

Crawls each web through the CLI (tests/simweb, tests/simweb3 and the demo web;
all on loopback) into a fresh database and prints, per web: the number
verdict's AUC (scam against legitimate numbers), its precision at high risk,
the share of scam sites whose site verdict is high, the warning, news, forum,
brand and legitimate sites at high risk, and the brand-injected numbers at
high risk, against the targets of issue 10. The figures are computed by
`tests/redteam.py`, which `tests/test_redteam.py` uses to assert the targets.

    .venv/bin/python bench/verdicts.py            # all webs
    .venv/bin/python bench/verdicts.py simweb3    # one
    .venv/bin/python bench/verdicts.py --json
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS.parent))
sys.path.insert(0, str(TESTS))

from redteam import TARGETS, figures  # noqa: E402
from snapshots.webs import crawl_db  # noqa: E402
from sqlite_utils import Database  # noqa: E402

WEBS = ("simweb", "simweb3", "demo")


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("--")] or list(WEBS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            started = time.perf_counter()
            db_path = crawl_db(name, Path(tmp))
            row = figures(name, Database(db_path))
            row["crawl_seconds"] = round(time.perf_counter() - started, 1)
            rows.append(row)
    if "--json" in argv:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"targets: AUC >= {TARGETS['auc']}, precision at high >= {TARGETS['precision_high']},"
        f" scam sites high >= {TARGETS['scam_sites_high']}, innocent sites high = 0,"
        " every injected number high"
    )
    print(
        f"{'web':8s} {'AUC':>6s} {'prec@high':>9s} {'scam#high':>9s} {'sites high':>10s}"
        f" {'innocent high':>13s} {'injected':>8s} {'crawl s':>7s}"
    )
    for r in rows:
        print(
            f"{r['web']:8s} {r['auc']:6.3f} {r['precision_high']:9.3f} {r['scam_numbers_high']:>9s}"
            f" {r['scam_sites_high']:10.3f} {len(r['innocent_sites_high']):13d}"
            f" {r['injected_high']}/{r['injected']:<6d} {r['crawl_seconds']:7.1f}"
        )
        if r["innocent_sites_high"]:
            print(f"         innocent sites high: {', '.join(r['innocent_sites_high'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
