"""`python tests/servers/run_cli.py ARGS...`: the serpwatch CLI under the offline hook.

The hook's log file is $SERPWATCH_NET_LOG; PYTHONPATH must include tests/.
"""

from __future__ import annotations

import os
import sys

from servers.offline_hook import install

install(os.environ.get("SERPWATCH_NET_LOG"))

from crawler.cli import main  # noqa: E402 - the hook goes in before anything imports

main(args=sys.argv[1:], prog_name="serpwatch")
