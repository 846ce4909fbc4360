"""An audit hook that refuses, and logs, any network use beyond loopback.

`install(logfile)` adds a `sys.addaudithook` hook on socket.connect,
socket.getaddrinfo, socket.gethostbyname* and urllib.Request: a
non-loopback target is appended to `logfile` and the call fails with
PermissionError. Tests run the CLI under it (tests/servers/run_cli.py) and
assert the log stays empty.
"""

from __future__ import annotations

import ipaddress
import sys
from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host) -> bool:
    if host is None or host == "" or host == b"":
        return True  # a passive/listening lookup
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install(logfile: str | None) -> None:
    def violation(event: str, target) -> None:
        line = f"{event} {target!r}\n"
        if logfile:
            with open(logfile, "a", encoding="utf-8") as f:
                f.write(line)
        raise PermissionError(f"offline: {line.strip()}")

    def hook(event: str, args) -> None:
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and not is_loopback(address[0]):
                violation(event, address)
        elif event == "socket.getaddrinfo" or event.startswith("socket.gethostby"):
            if not is_loopback(args[0]):
                violation(event, args[0])
        elif event == "urllib.Request":
            if not is_loopback(urlsplit(args[0]).hostname):
                violation(event, args[0])

    sys.addaudithook(hook)
