"""Named points where a test can stop a distributed process: to kill it there, or to hold it.

Off unless the environment says so (tests/test_distributed*.py set it for one
process): SERPWATCH_TEST_HOLD = `<point>` or `<point>@<n>` (the n-th time the
process reaches it, default the first) and SERPWATCH_TEST_HOLD_FILE = a path.
At that moment the process writes "<point> <pid>" into the file and stands
still, blocking (as a process stalled by a long computation or a pause of its
machine would), until the file is removed or SIGKILL arrives. A test can
so kill a worker or the store at an exact step, or widen a gap between two
steps as long as it likes, deterministically.

Points: `worker.popped` (a request leased), `worker.push` (an item about to
go to the stream), `worker.ack` (finished requests about to be acknowledged:
their items and follow-ups are in Redis already), `store.read` (entries read,
not yet written), `store.committed` (written to SQLite, not yet acknowledged),
`store.finish` (the database run closed, Redis not yet told), `run.opened` (a crawl's
run recorded, Scrapy's engine not started yet).
"""

from __future__ import annotations

import os
import time
from collections import Counter

ENV, FILE_ENV = "SERPWATCH_TEST_HOLD", "SERPWATCH_TEST_HOLD_FILE"
MAX_HOLD = 300.0  # a forgotten hold lets go in the end

_reached: Counter[str] = Counter()


def point(name: str) -> None:
    """Hold here if the environment names this point (and this is its n-th time)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    want, _, nth = spec.partition("@")
    if want != name:
        return
    _reached[name] += 1
    if _reached[name] != int(nth or 1):
        return
    path = os.environ[FILE_ENV]
    with open(path, "w") as f:
        f.write(f"{name} {os.getpid()}\n")
    deadline = time.monotonic() + MAX_HOLD
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
