"""The browser obeys the SSRF guard: every path a page has, refused; reached without the guard.

`/ssrf` and `/jump` (tests/servers/renderweb.py) try to reach an internal
server by each path a browser has: a stylesheet, an image, a server redirect,
a name that resolves to loopback (DNS rebinding), `localhost`, a decimal
address, an iframe, a script, fetch, XHR, a WebSocket, and a script that
navigates the whole page. The same pages rendered with `allow_private = true`
reach every one of them: each refusal is the guard's doing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from render_helpers import need_browser, probe
from servers.renderweb import InternalServer, RenderWeb

PATHS = [
    "css",
    "img",
    "redirect",
    "rebind",
    "localhost",
    "decimal",
    "iframe",
    "script",
    "fetch",
    "xhr",
    "ws",
    "navigate",
]


def _run(folder: Path, allow_private: bool):
    with InternalServer() as internal, RenderWeb(internal_port=internal.port) as web:
        rows, browser, violations = probe(
            folder,
            [web.url("/ssrf"), web.url("/jump")],
            allow_private=allow_private,
            # The page's own server stands for a public site: trusted by endpoint.
            trusted=[f"127.0.0.1:{web.port}"],
            settings={
                "SERPWATCH_BROWSER_RESOLVER": "servers.browserdns.resolve",
                "SERPWATCH_RENDER_PAGE_SECONDS": 10,
            },
        )
        time.sleep(0.5)  # late requests of a closing browser would still be counted
        return rows, browser, violations, internal.paths(), internal.port


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    need_browser()
    return _run(tmp_path_factory.mktemp("guarded"), allow_private=False)


@pytest.fixture(scope="module")
def unguarded(tmp_path_factory):
    need_browser()
    return _run(tmp_path_factory.mktemp("unguarded"), allow_private=True)


@pytest.mark.parametrize("path", PATHS)
def test_each_browser_path_is_refused_and_reached_without_the_guard(guarded, unguarded, path):
    assert path not in guarded[3], f"the browser reached /hit/{path} past the guard"
    assert path in unguarded[3], f"control: /hit/{path} not reached even without the guard"


def test_refusals_are_recorded_with_their_reasons(guarded):
    rows, _, violations, hits, port = guarded
    assert violations == []
    assert hits == set()
    ssrf, jump = rows
    reasons = {why for _, why in ssrf["refused"]}
    assert any("loopback" in r for r in reasons)
    assert any("resolved only to non-public addresses" in r for r in reasons)  # rebinding
    assert any("single-label name 'localhost'" in r for r in reasons)
    assert not ssrf["html_has_secret"] and not jump["html_has_secret"]
    assert [t for t, _ in jump["refused"]] == [f"127.0.0.1:{port}"]
    assert ssrf["behaviours"].get("popups") == 1  # window.open refused by the page watcher


def test_the_browser_is_launched_as_asked_and_gone_after_the_crawl(guarded):
    _, browser, _, _, _ = guarded
    main = next(c for c in browser["cmdlines"] if "--remote-debugging-pipe" in c)
    assert main[0] == "/usr/lib/chromium/chromium" or main[0].endswith("chromium")
    for flag in (
        "--headless=new",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ):
        assert flag in main, flag
    assert ("--no-sandbox" in main) == (os.geteuid() == 0)
    assert "--enable-automation" not in main
    assert any(a.startswith("--proxy-server=http://127.0.0.1:") for a in main)
    assert "--proxy-bypass-list=<-loopback>" in main  # loopback goes through the guard too
    profile = next(a.split("=", 1)[1] for a in main if a.startswith("--user-data-dir="))
    assert "playwright_chromiumdev_profile-" in profile  # a fresh one for this run
    assert not Path(profile).exists()  # and gone with it
    import psutil

    alive = [p for p in browser["browser_pids"] if psutil.pid_exists(p)]
    zombies = [p for p in alive if psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert zombies == [], "browser processes outlived the crawl"


def test_the_budget_cuts_and_says_what_it_cut(tmp_path):
    need_browser()
    with RenderWeb() as web:
        rows, browser, _ = probe(
            tmp_path,
            [web.url("/pieces"), web.url("/plain")],
            allow_private=True,
            settings={"SERPWATCH_RENDER_MAX_PAGES": 1},
        )
    assert rows[0]["status"] == "rendered"
    assert rows[1]["status"] == "budget"
    assert "SERPWATCH_RENDER_MAX_PAGES" in rows[1]["detail"]
    assert browser["budget_cut"] == [
        {"url": web.url("/plain"), "reason": "probe", "cut": rows[1]["detail"]}
    ]
