"""The `serpwatch` command's entry point (also `python -m crawler.cli`).

Ctrl-C while the program starts, before any command runs (importing click and
the commands takes a few tenths of a second), ends quietly with 130, as Ctrl-C
in a command does (`crawler.cli.common.friendly`), not with a traceback of
whatever module was being imported.

A reader that goes away from what click prints itself (`serpwatch --help |
true`, `--version`) ends quietly with 0, as a command's output does
(`friendly`); click ended it with 1.
"""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from crawler.cli import main
        from crawler.cli.common import quiet_broken_pipe
    except KeyboardInterrupt:
        sys.exit(130)
    stdout = sys.stdout
    try:
        main(prog_name="serpwatch")
    except SystemExit as exc:
        # click catches the broken pipe itself and exits 1; it tells it only by
        # swapping sys.stdout for a wrapper that keeps the flush at exit quiet.
        if exc.code == 1 and sys.stdout is not stdout:
            quiet_broken_pipe()
        raise
