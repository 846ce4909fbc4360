"""Rules for what a real browser saw (crawler.render): hidden numbers, locker and cloaking.

A number only the rendered page or only an image shows, a rendered page
unlike the static fetch of the same URL, and each locker or cloaking
behaviour (`BEHAVIOURS`) is a signal of its own, with its points in
`crawler.scoring.points.POINTS`. The facts are `Facts.found_by`,
`Facts.cloaking` and `Facts.behaviours`, filled by a render.
"""

from __future__ import annotations

from crawler.scoring.facts import Facts

# Behaviour fact → what the page did, as a reason says it ("in a browser, the page ...").
BEHAVIOURS = {
    "fullscreen": "asked for full screen",
    "keyboard_lock": "locked the keyboard",
    "pointer_lock": "locked the mouse pointer",
    "beforeunload": "tried to keep the visitor from leaving (beforeunload)",
    "dialog_loop": "opened dialog after dialog (alert/confirm loop)",
    "history_flood": "flooded the browser history (back button trap)",
    "autoplay": "played audio on its own",
    "download": "tried to download a file",
    "webdriver_probe": "checked whether a robot browser was looking (navigator.webdriver)",
    "popup": "tried to open new windows",
    "hang": "hung or kept busy until the time budget cut it",
}


def found_by_browser(f: Facts, r) -> tuple[str, str] | None:
    if f.found_by == "image":
        return "image_only", "number shown only in an image (read by OCR)"
    if f.found_by == "rendered":
        return "rendered_only", "number appears only when the page's scripts run"
    return None


def cloaking(f: Facts, r) -> tuple[str, str] | None:
    if f.cloaking:
        return "cloaking", f"the page shows a browser something else: {f.cloaking}"
    return None


def _seen(f: Facts, name: str) -> tuple[str, str] | None:
    if name in (f.behaviours or []):
        return name, f"in a browser, the page {BEHAVIOURS[name]}"
    return None


def fullscreen(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "fullscreen")


def keyboard_lock(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "keyboard_lock")


def pointer_lock(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "pointer_lock")


def beforeunload(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "beforeunload")


def dialog_loop(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "dialog_loop")


def history_flood(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "history_flood")


def autoplay(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "autoplay")


def download(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "download")


def webdriver_probe(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "webdriver_probe")


def popup(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "popup")


def hang(f: Facts, r) -> tuple[str, str] | None:
    return _seen(f, "hang")


BROWSER_SIGNALS = ("image_only", "rendered_only", "cloaking", *BEHAVIOURS)
BROWSER_RULES = [
    found_by_browser,
    cloaking,
    fullscreen,
    keyboard_lock,
    pointer_lock,
    beforeunload,
    dialog_loop,
    history_flood,
    autoplay,
    download,
    webdriver_probe,
    popup,
    hang,
]
