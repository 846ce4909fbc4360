"""What happens to one page in the browser: watch, wait, read, picture.

`RenderWork` travels in the render request's meta
(`request.meta["serpwatch_render"]`) and is filled as the page goes, so a
page that is cut by the time budget still reports what it did until then.

- `watch_script()`: crawler/render/watch.js with this run's key, installed
  in every frame before any page script (`add_init_script`).
- `on_dialog`, `on_download`, `on_popup`: dialogs are dismissed and counted
  (the script cuts a loop after MAX_DIALOGS), downloads refused and recorded,
  new windows closed and recorded.
- `settle(page, work)`: after `load`, wait until the page's short timers
  (up to SETTLE seconds) and its fetch/XHR have finished, so a number written
  three seconds later is there.
- `collect(page, work)`: rendered DOM of the page and its frames, behaviour
  counts, viewport and capped full-page screenshots, and crops of images and
  canvases for OCR.
- `probe_leaving(page, work)`: close the page the way a victim tries to, and
  see whether a `beforeunload` trap asks to stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

WATCH_JS = Path(__file__).with_name("watch.js")
MAX_DIALOGS = 20
MAX_HISTORY = 50
MAX_FRAMES = 10
MAX_FRAME_HTML = 2_000_000
MAX_IMAGES = 8  # crops read by OCR per page
VIEWPORT = {"width": 1280, "height": 800}

# Behaviour counts from watch.js that are facts (crawler.render.facts).
BEHAVIOURS = (
    "fullscreen",
    "keyboard_lock",
    "pointer_lock",
    "beforeunload",
    "dialogs",
    "dialogs_cut",
    "history",
    "history_cut",
    "autoplay",
    "audio_context",
    "webdriver",
    "popups",
    "notifications",
)


@dataclass
class Shot:
    """A PNG screenshot: `viewport`, `full` (full page, height capped) or `crop`."""

    kind: str
    png: bytes
    width: int
    height: int
    note: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


@dataclass
class RenderWork:
    """One render: its settings in, what the browser saw out."""

    url: str
    settle_seconds: float = 6.0
    deadline: float = 20.0  # seconds this render was given (RenderBudget.page_deadline)
    full_page_max: int = 4000  # pixels
    screenshots: bool = True
    ocr_images: int = MAX_IMAGES
    key: str = field(default_factory=lambda: "__sw" + secrets.token_hex(6))
    started: float = field(default_factory=time.monotonic)
    stage: str = "starting"
    final_url: str = ""
    title: str = ""
    html: str = ""
    frames: list[tuple[str, str]] = field(default_factory=list)  # (url, html) of iframes
    behaviours: dict[str, int] = field(default_factory=dict)
    dialogs: list[tuple[str, str]] = field(default_factory=list)  # (type, message)
    downloads: list[dict] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)  # main-frame URLs, in order
    shots: list[Shot] = field(default_factory=list)
    crops: list[Shot] = field(default_factory=list)
    left_with_trap: bool = False  # beforeunload asked to stay when we left
    settled: bool = False
    error: str | None = None
    refused: list[tuple[str, str]] = field(default_factory=list)  # by the guard proxy

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def add_behaviours(self, counts: dict) -> None:
        for name in BEHAVIOURS:
            value = int(counts.get(name) or 0)
            if value > self.behaviours.get(name, 0):
                self.behaviours[name] = value


def watch_script(work: RenderWork) -> str:
    settle_ms = int(work.settle_seconds * 1000)
    return (
        WATCH_JS.read_text()
        .replace("__KEY__", work.key)
        .replace("__SETTLE_MS__", str(settle_ms))
        .replace("__MAX_DIALOGS__", str(MAX_DIALOGS))
        .replace("__MAX_HISTORY__", str(MAX_HISTORY))
    )


def handlers(work: RenderWork) -> dict:
    """Page event handlers (scrapy-playwright attaches them before navigating)."""

    async def on_dialog(dialog) -> None:
        work.dialogs.append((dialog.type, (dialog.message or "")[:300]))
        with contextlib.suppress(Exception):
            if dialog.type == "beforeunload":
                work.left_with_trap = True
                await dialog.accept()  # leave the page
            else:
                await dialog.dismiss()

    async def on_download(download) -> None:
        # The context does not accept downloads: this records, it never saves.
        work.downloads.append({"url": download.url, "filename": download.suggested_filename or ""})
        with contextlib.suppress(Exception):
            await download.cancel()

    async def on_popup(popup) -> None:
        work.popups.append(popup.url)
        with contextlib.suppress(Exception):
            await popup.close()

    def on_frame_navigated(frame) -> None:
        # Same-document moves (#fragment, pushState floods) are counted by the script.
        last = work.navigations[-1].split("#")[0] if work.navigations else None
        if (
            frame.parent_frame is None
            and len(work.navigations) < 50
            and frame.url.split("#")[0] != last
        ):
            work.navigations.append(frame.url)

    return {
        "dialog": on_dialog,
        "download": on_download,
        "popup": on_popup,
        "framenavigated": on_frame_navigated,
    }


async def init_page(page, work: RenderWork) -> None:
    """Before navigation: the watch script in every frame, new windows closed."""
    work.stage = "opening"
    await page.add_init_script(script=watch_script(work))

    async def close_extra(extra) -> None:
        if extra is not page:
            work.popups.append(extra.url)
            with contextlib.suppress(Exception):
                await extra.close()

    page.context.on("page", close_extra)


async def _snapshot(frame, key: str) -> dict:
    try:
        raw = await asyncio.wait_for(
            frame.evaluate(f"() => JSON.stringify(window[{json.dumps(key)}].snapshot())"), 2
        )
        return json.loads(raw)
    except Exception:  # noqa: BLE001 - a frame gone, hung or without the script
        return {}


async def settle(page, work: RenderWork) -> None:
    """Wait for the page's short timers and requests, up to the settle time."""
    work.stage = "settling"
    deadline = time.monotonic() + work.settle_seconds
    await asyncio.sleep(0.3)
    check = f"() => window[{json.dumps(work.key)}] ? window[{json.dumps(work.key)}].busy() : 0"
    quiet = 0
    while time.monotonic() < deadline:
        try:
            busy = await asyncio.wait_for(page.evaluate(check), 2)
        except Exception:  # noqa: BLE001 - navigating, or hung (the deadline decides)
            busy = 1
        quiet = quiet + 1 if not busy else 0
        if quiet >= 2:
            work.settled = True
            break
        await asyncio.sleep(0.15)


_CROPS_JS = """
(maxCrops) => {
  const out = [];
  const els = document.querySelectorAll('img, canvas, svg, picture, [style*="background"]');
  for (const el of els) {
    const r = el.getBoundingClientRect();
    if (r.width < 40 || r.height < 10 || r.width * r.height > 2500000) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none' || +st.opacity === 0) continue;
    if (el.tagName !== 'IMG' && el.tagName !== 'CANVAS' && el.tagName !== 'svg' &&
        el.tagName !== 'PICTURE' && !/url\\(/.test(st.backgroundImage)) continue;
    out.push({tag: el.tagName.toLowerCase(), x: r.left + scrollX, y: r.top + scrollY,
              width: r.width, height: r.height, alt: (el.getAttribute('alt') || '').slice(0, 200)});
  }
  out.sort((a, b) => b.width * b.height - a.width * a.height);
  return out.slice(0, maxCrops);
}
"""


async def collect(page, work: RenderWork) -> None:
    """Read what the browser shows: DOM, frames, behaviour, screenshots, image crops."""
    work.stage = "reading"
    work.final_url = page.url
    with contextlib.suppress(Exception):
        work.title = (await asyncio.wait_for(page.title(), 3))[:500]
    work.html = await asyncio.wait_for(page.content(), 5)
    work.add_behaviours(await _snapshot(page.main_frame, work.key))
    for frame in page.frames[1 : MAX_FRAMES + 1]:
        counts = await _snapshot(frame, work.key)
        work.add_behaviours({k: v + work.behaviours.get(k, 0) for k, v in counts.items()})
        with contextlib.suppress(Exception):
            html = await asyncio.wait_for(frame.content(), 3)
            work.frames.append((frame.url, html[:MAX_FRAME_HTML]))
    if not work.screenshots:
        return
    work.stage = "screenshots"
    png = await page.screenshot(type="png", timeout=8000, animations="disabled")
    work.shots.append(Shot("viewport", png, VIEWPORT["width"], VIEWPORT["height"]))
    height = await asyncio.wait_for(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollHeight,"
            " document.body ? document.body.scrollHeight : 0)"
        ),
        3,
    )
    height = max(VIEWPORT["height"], min(int(height or 0), work.full_page_max))
    png = await page.screenshot(
        type="png",
        full_page=True,
        timeout=10000,
        animations="disabled",
        clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height},
    )
    note = "height capped" if height >= work.full_page_max else ""
    work.shots.append(Shot("full", png, VIEWPORT["width"], height, note))
    if work.ocr_images <= 0:
        return
    work.stage = "image crops"
    boxes = await asyncio.wait_for(page.evaluate(_CROPS_JS, work.ocr_images), 3)
    for box in boxes:
        if box["y"] >= work.full_page_max:
            continue
        clip = {k: box[k] for k in ("x", "y", "width", "height")}
        with contextlib.suppress(Exception):
            png = await page.screenshot(type="png", full_page=True, clip=clip, timeout=5000)
            work.crops.append(Shot("crop", png, int(box["width"]), int(box["height"]), box["tag"]))


async def probe_leaving(page, work: RenderWork, wait: float = 1.0) -> None:
    """Click once (the victim's gesture: traps need one), then try to leave the page."""
    work.stage = "leaving"
    with contextlib.suppress(Exception):
        await asyncio.wait_for(page.mouse.click(VIEWPORT["width"] // 2, VIEWPORT["height"] - 5), 2)
        await asyncio.sleep(0.3)
        work.add_behaviours(await _snapshot(page.main_frame, work.key))
    with contextlib.suppress(Exception):
        await asyncio.wait_for(page.close(run_before_unload=True), 2)
        end = time.monotonic() + wait
        while time.monotonic() < end and not work.left_with_trap and not page.is_closed():
            await asyncio.sleep(0.1)
