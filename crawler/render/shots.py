"""A render's evidence: screenshots and the rendered DOM into the run's WARC, PNGs on disk.

For each rendered page (`render_work` on a PageItem or SerpShotItem):

- each screenshot is a WARC `resource` record, `image/png`, with target URI
  `urn:view:<url>` (viewport) or `urn:fullPage:<url>` (full page, height
  capped), as Browsertrix names them, `WARC-Concurrent-To` the page's
  response record, and its SHA-256 in `WARC-Payload-Digest`/`WARC-Block-Digest`;
- the rendered DOM is a `resource` record `urn:rendered:<url>` (text/html);
- a `metadata` record `urn:serpwatch:render:<url>` holds what the browser did
  (behaviour, dialogs, downloads refused, connections the guard refused, the
  browser's navigation chain);
- each PNG is also written as `<WARC folder>/screenshots/<sha256>.png`, and a
  small JPEG thumbnail is kept for the report and Datasette.

The item gets `screenshot` (JSON: `warc_record_id`, `warc_file`, `path`) and
`screenshot_sha256`
of the viewport picture, and `screenshots` (one dict per picture) for storage.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

THUMB_WIDTH = 320


def thumbnail(png: bytes, width: int = THUMB_WIDTH) -> bytes | None:
    """A small JPEG of a screenshot's top (for reports and Datasette), or None."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return None
    with Image.open(io.BytesIO(png)) as img:
        img = img.convert("RGB")
        top = img.crop((0, 0, img.width, min(img.height, int(img.width * 0.625))))
        height = max(1, int(top.height * width / max(1, top.width)))
        small = top.resize((width, height), Image.LANCZOS)
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=70)
        return out.getvalue()


def write_render_evidence(store, item, response_record_id: str | None, fetched_at: str = ""):
    """Write the render's pictures, DOM and behaviour; fill the item's screenshot fields."""
    work = getattr(item, "render_work", None)
    if work is None:
        return
    url = getattr(item, "url", None) or item.serp_url
    folder = Path(store.folder) / "screenshots"
    shots = []
    for shot in work.shots:
        prefix = {"viewport": "urn:view:", "full": "urn:fullPage:"}.get(shot.kind, "urn:shot:")
        record_id = store.write_resource(
            prefix + url,
            shot.png,
            "image/png",
            concurrent_to=response_record_id,
            fetched_at=fetched_at,
        )
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{shot.sha256}.png"
        if not path.exists():
            path.write_bytes(shot.png)
        shots.append(
            {
                "kind": shot.kind,
                "url": url,
                "warc_file": store.name,
                "warc_record_id": record_id,
                "path": str(path),
                "sha256": shot.sha256,
                "width": shot.width,
                "height": shot.height,
                "bytes": len(shot.png),
                "note": shot.note,
                "thumbnail": thumbnail(shot.png) if shot.kind == "viewport" else None,
            }
        )
    if work.html:
        store.write_resource(
            "urn:rendered:" + url,
            work.html.encode("utf-8"),
            "text/html; charset=utf-8",
            concurrent_to=response_record_id,
            fetched_at=fetched_at,
        )
    render = getattr(item, "render", None)
    meta = {
        "url": url,
        "final_url": work.final_url,
        "navigations": work.navigations,
        "title": work.title,
        "reason": getattr(render, "reason", ""),
        "status": getattr(render, "status", ""),
        "detail": work.error,
        "settled": work.settled,  # the page's short timers and requests had finished
        "behaviour_counts": work.behaviours,
        "behaviours": getattr(render, "behaviours", []),
        "cloaking": getattr(render, "cloaking", None),
        "numbers_rendered_only": getattr(render, "rendered_only", []),
        "numbers_image_only": getattr(render, "image_only", []),
        "dialogs": work.dialogs[:50],
        "downloads_refused": work.downloads[:50],
        "popups_closed": work.popups[:50],
        "refused_by_guard": work.refused[:200],
        "screenshots": [{k: v for k, v in s.items() if k != "thumbnail"} for s in shots],
    }
    store.write_resource(
        # Its own URI, so that it never shadows the page itself in a replay (pywb).
        "urn:serpwatch:render:" + url,
        metadata_bytes(meta),
        "application/json",
        concurrent_to=response_record_id,
        fetched_at=fetched_at,
        rec_type="metadata",
    )
    item.screenshots = shots
    view = next((s for s in shots if s["kind"] == "viewport"), None)
    if view is not None:
        item.screenshot = json.dumps(
            {k: view[k] for k in ("warc_record_id", "warc_file", "path")}, sort_keys=True
        )
        item.screenshot_sha256 = view["sha256"]


def metadata_bytes(meta: dict) -> bytes:
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
