"""A render as one row of the `renders` table (crawler.storage.save_render)."""

from __future__ import annotations

from crawler import stats_keys


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


def summary_lines(stats: dict) -> list[str]:
    """What the browser did in a run, for the lines after a crawl (or why it did nothing)."""
    if stats.get(stats_keys.RENDER("skipped")):
        return [stats[stats_keys.RENDER("skipped")]]
    if stats.get(stats_keys.RENDER("mode")) in (None, "never"):
        return []
    done = stats.get(stats_keys.RENDER("rendered"), 0)
    cut = stats.get(stats_keys.RENDER("cut"), 0)
    failed = stats.get(stats_keys.RENDER("failed"), 0)
    budget = stats.get(stats_keys.RENDER("budget_cut"), 0)
    line = (
        f"browser: {done} pages rendered, {cut} cut at their time limit, {failed} failed"
        f"; {stats.get(stats_keys.RENDER('numbers_rendered'), 0)} numbers only in the rendered"
        f" page, {stats.get(stats_keys.RENDER('numbers_image'), 0)} only in images"
    )
    lines = [line]
    if budget:
        lines.append(
            f"browser budget: {budget} pages not rendered (serpwatch/render/budget_cut_list"
            " in the run's stats; raise SERPWATCH_RENDER_MAX_PAGES or _MAX_SECONDS)"
        )
    if stats.get(stats_keys.RENDER("ocr_skipped")):
        lines.append(
            "OCR skipped: tesseract is not installed"
            " (apt-get install tesseract-ocr tesseract-ocr-nld)"
        )
    return lines
