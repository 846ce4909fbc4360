"""The `serpwatch` command's entry point.

Ctrl-C while the program starts, before any command runs (importing click and
the commands takes a few tenths of a second), ends quietly with 130, as Ctrl-C
in a command does (`crawler.cli.common.friendly`), not with a traceback of
whatever module was being imported.
"""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from crawler.cli import main
    except KeyboardInterrupt:
        sys.exit(130)
    main(prog_name="serpwatch")
