"""Which browser renders, and how it is launched.

Debian's Chromium: the real binary `/usr/lib/chromium/chromium`, not the
`/usr/bin/chromium` wrapper script, which reads `/etc/chromium.d/` and adds
flags of its own. Playwright never downloads a browser here
(`PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD`): it drives the one found.

SERPWATCH_BROWSER (the setting, else the environment variable) names the
binary; empty means auto-detect (`CANDIDATES`, then `chromium` / `chromium-browser` on PATH).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CANDIDATES = (
    "/usr/lib/chromium/chromium",  # Debian, Ubuntu's deb
    "/usr/lib/chromium-browser/chromium-browser",
    "/usr/lib64/chromium-browser/chromium-browser",  # Fedora
    "/usr/lib/chromium/chrome",
)
# Wrapper scripts: their real binary is one of CANDIDATES.
_WRAPPERS = {"/usr/bin/chromium", "/usr/bin/chromium-browser"}

# Launch flags, all explicit (Playwright adds most of them too; we do not rely
# on its defaults). The profile directory is Playwright's: a fresh temporary
# one per launch, deleted when the browser closes; one launch per crawl.
FLAGS = (
    "--headless=new",
    "--disable-background-networking",  # no Safe Browsing, no variations, no pings
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",  # no crash reports leave the machine
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--dns-prefetch-disable",
    "--disable-quic",  # QUIC is UDP: it would not go through the guard proxy
    # WebRTC may use UDP beside the proxy: only proxied connections.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=WebRtcHideLocalIpsWithMdns,InterestFeedContentSuggestions,"
    "MediaRouter,OptimizationHints,Translate,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater",
    "--disable-blink-features=AutomationControlled",  # navigator.webdriver is false
    "--mute-audio",
    "--hide-scrollbars",
    "--disable-dev-shm-usage",
    "--password-store=basic",
    "--use-mock-keychain",
)


def find_browser(setting: str | None = None) -> str | None:
    """The Chromium binary to drive: the setting (or $SERPWATCH_BROWSER) if it runs,
    else the first found."""
    setting = setting or os.environ.get("SERPWATCH_BROWSER")
    if setting:
        path = Path(setting)
        if str(path) in _WRAPPERS:
            return _detect() or str(path)
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return _detect()


def _detect() -> str | None:
    for candidate in CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found and found not in _WRAPPERS:
            return found
    return None


def launch_flags() -> list[str]:
    """The flags every launch gets; `--no-sandbox` only when running as root."""
    flags = list(FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium's sandbox refuses to start as root; as a normal user it stays on.
        flags.append("--no-sandbox")
    return flags


def launch_options(executable: str, guard_proxy_url: str) -> dict:
    """Playwright `launch()` options: this binary, these flags, all traffic to the guard.

    The launch-level proxy is a tap that refuses everything: any traffic not
    made by a rendering context (which has its own tap) goes nowhere.
    """
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return {
        "executable_path": executable,
        "headless": True,
        "args": launch_flags(),
        "ignore_default_args": ["--enable-automation"],
        "proxy": {"server": guard_proxy_url},
        "env": env,
        "handle_sigint": False,
        "handle_sigterm": False,
        "handle_sighup": False,
        "chromium_sandbox": not (hasattr(os, "geteuid") and os.geteuid() == 0),
        "timeout": 30_000,
    }
