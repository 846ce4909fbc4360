"""A render as one row of the `renders` table (crawler.storage.save_render)."""

from __future__ import annotations


def render_row(item) -> dict:
    """The `renders` row for a rendered PageItem or SerpShotItem."""
    render = item.render
    work = item.render_work
    return {
        "url": getattr(item, "url", None) or item.serp_url,
        "final_url": work.final_url if work else None,
        "reason": render.reason,
        "status": render.status,
        "detail": render.detail or (work.error if work else "") or "",
        "seconds": round(work.seconds(), 3) if work else None,
        "behaviours": list(getattr(render, "behaviours", [])),
        "cloaking": getattr(render, "cloaking", None),
        "rendered_only": list(getattr(render, "rendered_only", [])),
        "image_only": list(getattr(render, "image_only", [])),
        "dialogs": len(work.dialogs) if work else 0,
        "downloads": work.downloads if work else [],
        "refused": [f"{target}: {why}" for target, why in work.refused] if work else [],
        "screenshot": item.screenshot,
        "screenshot_sha256": item.screenshot_sha256,
    }
