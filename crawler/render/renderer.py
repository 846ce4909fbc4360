"""The render stage: decide by the policy, render within the budget, read what was seen.

`Renderer` is used by `pipelines/render.py` (after scoring, before evidence)
and reads the settings:

| setting | default | what |
|---|---|---|
| SERPWATCH_RENDER | "" (the profile's `render`, else "auto") | auto, always, never |
| SERPWATCH_BROWSER | "" (auto-detect) | the Chromium binary |
| SERPWATCH_RENDER_MAX_PAGES | 50 | renders per run |
| SERPWATCH_RENDER_MAX_SECONDS | 600 | browser seconds per run |
| SERPWATCH_RENDER_CONCURRENCY | 2 | pages in the browser at once |
| SERPWATCH_RENDER_PAGE_SECONDS | 20 | one page, navigation to pictures |
| SERPWATCH_RENDER_SETTLE | 6 | longest wait for a page's timers and requests |
| SERPWATCH_RENDER_MIN_RISK | medium | flagged pages of this risk and up are pictured |
| SERPWATCH_SCREENSHOT_MAX_HEIGHT | 4000 | full-page screenshots are cut there (px) |
| SERPWATCH_OCR_MAX_IMAGES | 8 | images and canvases read by OCR per page (0: none) |

A page's render request goes through Scrapy's downloader (its middlewares,
then `crawler.render.handler.GuardedBrowserHandler`). What the browser saw
comes back as a `RenderWork`; this stage turns it into hits (`rendered`,
`image`), facts, and a new verdict per number.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import replace

import scrapy
from scrapy.utils.misc import load_object

from crawler import stats_keys
from crawler.net.headers import browser_headers
from crawler.render.browser import find_browser
from crawler.render.facts import (
    RenderFacts,
    behaviour_facts,
    cloaking,
    image_hits,
    rendered_hits,
)
from crawler.render.ocr import read_png, tesseract
from crawler.render.page import RenderWork
from crawler.render.policy import MODES, PageView, RenderBudget, render_reason, serp_reason
from crawler.run_recorder import OFFERED_DOWNLOAD, OfferedDownload
from crawler.scoring import Facts, SightingVerdict, assess_page, verdict_record

logger = logging.getLogger(__name__)
MAX_FAILURES = 3


def render_mode(settings, profile) -> str:
    """The run's mode: the SERPWATCH_RENDER setting, else that environment variable,
    else the profile's `render`, else auto."""
    mode = (
        settings.get("SERPWATCH_RENDER")
        or os.environ.get("SERPWATCH_RENDER")
        or getattr(profile, "render", None)
        or "auto"
    ).lower()
    if mode not in MODES:
        raise ValueError(f"render must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def skipped_line(mode: str, browser: str | None) -> str | None:
    """One line saying what is not rendered and how to turn it on; None when it is."""
    if mode == "never":
        return None
    if browser is None:
        return (
            "rendering skipped: no Chromium found, so numbers drawn by scripts or in images and"
            " screenshots are missing; apt-get install chromium tesseract-ocr tesseract-ocr-nld"
            ' (or set SERPWATCH_BROWSER=/path/to/chromium; render = "never" silences this)'
        )
    return None


class Renderer:
    """Per-crawl render stage (policy, budget, browser requests, reading the result)."""

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.profile = crawler.spider.profile
        self.mode = render_mode(settings, self.profile)
        self.browser = find_browser(settings.get("SERPWATCH_BROWSER"))
        self.budget = RenderBudget(
            max_pages=settings.getint("SERPWATCH_RENDER_MAX_PAGES", 50),
            max_seconds=settings.getfloat("SERPWATCH_RENDER_MAX_SECONDS", 600),
            concurrency=max(1, settings.getint("SERPWATCH_RENDER_CONCURRENCY", 2)),
            page_seconds=settings.getfloat("SERPWATCH_RENDER_PAGE_SECONDS", 20),
        )
        if settings.get("SERPWATCH_RENDER_BUDGET"):
            # Distributed mode: the run's budget, shared by its workers
            # (crawler.distributed.run_render_budget).
            shared = load_object(settings.get("SERPWATCH_RENDER_BUDGET"))
            self.budget = shared(self.budget, settings)
        self.settle = settings.getfloat("SERPWATCH_RENDER_SETTLE", 6)
        self.min_risk = settings.get("SERPWATCH_RENDER_MIN_RISK") or "medium"
        self.max_height = settings.getint("SERPWATCH_SCREENSHOT_MAX_HEIGHT", 4000)
        self.ocr_images = settings.getint("SERPWATCH_OCR_MAX_IMAGES", 8)
        self.slots = asyncio.Semaphore(self.budget.concurrency)
        self.serps_seen: set[str] = set()
        self.pages: dict[str, asyncio.Future] = {}
        self.failures = 0  # in a row; at MAX_FAILURES the browser is given up for the run
        stats = crawler.stats
        stats.set_value(stats_keys.RENDER("mode"), self.mode)
        self.skipped = skipped_line(self.mode, self.browser)
        if self.skipped:
            stats.set_value(stats_keys.RENDER("skipped"), self.skipped)
            logger.info(self.skipped)  # the CLI prints it after the crawl
        elif self.mode != "never":
            stats.set_value(stats_keys.RENDER("browser"), self.browser)
        if self.enabled and self.ocr_images and tesseract() is None:
            self.ocr_images = 0
            stats.set_value(stats_keys.RENDER("ocr_skipped"), "tesseract is not installed")
            logger.warning(
                "OCR skipped: tesseract is not installed (apt-get install tesseract-ocr)"
            )

    @property
    def enabled(self) -> bool:
        return self.mode != "never" and self.browser is not None and self.failures < MAX_FAILURES

    # -- landing pages -----------------------------------------------------------

    async def page(self, item) -> None:
        """Render a landing page if the policy says so; fill its hits, facts and verdicts."""
        if not self.enabled:
            return
        risks = [v.risk for v in item.verdicts if v.flagged]
        risk = max(
            risks, key=lambda r: {"low": 1, "medium": 2, "high": 3}.get(r or "", 0), default=None
        )
        static = [h for h in item.hits if "result" not in (h.source or "")]
        reason = render_reason(PageView(item.html, risk, len(static)), self.mode, self.min_risk)
        if reason is None:
            return
        # A page shown for several queries is rendered once per run.
        task = self.pages.get(item.url)
        if task is None:
            task = asyncio.ensure_future(self._render(item.url, reason, referer=item.serp_url))
            self.pages[item.url] = task
        work, status = await asyncio.shield(task)
        if work is None:
            cut = "cut" if "budget" in status else "skipped"
            item.render = RenderFacts(reason=reason, status=cut, detail=status)
            return
        self._apply(item, work, reason, status)

    def _apply(self, item, work: RenderWork, reason: str, status: str) -> None:
        region = self.profile.region
        documents = [(work.final_url or item.url, work.html), *work.frames] if work.html else []
        static_numbers = {h.phone for h in item.hits}
        new = rendered_hits(item.hits, documents, region)
        all_rendered = {h.phone for url, html in documents for h in _extract(html, region, url)}
        texts = self._ocr(work)
        images = image_hits(static_numbers | all_rendered, texts, region, item.url)
        hung = self.budget.hung(status, work.deadline)
        facts = RenderFacts(
            reason=reason,
            status=status,
            detail=work.error or "",
            behaviours=behaviour_facts(
                work.behaviours,
                dialogs=len(work.dialogs),
                downloads=len(work.downloads),
                popups=len(work.popups),
                left_with_trap=work.left_with_trap,
                hung=hung,
            ),
            cloaking=cloaking(
                {h.phone for h in item.hits if "result" not in (h.source or "")},
                all_rendered,
                item.title,
                work.title,
            )
            if work.html
            else None,
            rendered_only=[h.phone for h in new],
            image_only=[h.phone for h in images],
        )
        item.render = facts
        item.render_work = work
        item.hits = [*item.hits, *new, *images]
        self._record_downloads(item, work)
        stats = self.crawler.stats
        stats.inc_value(stats_keys.RENDER("numbers_rendered"), len(new))
        stats.inc_value(stats_keys.RENDER("numbers_image"), len(images))
        for name in facts.behaviours:
            stats.inc_value(stats_keys.RENDER(f"behaviour/{name}"))
        # Score again with the new numbers, on the page as the browser showed it
        # (a cloaker's static page is not what a victim reads), then add what the
        # browser saw to each number's facts.
        found = assess_page(
            item.url,
            work.html or item.html,
            item.hits,
            self.profile,
            brand=item.brand,
            is_ad=item.is_ad,
            appearances=item.appearances,
        )
        item.verdicts = [rescored(v, facts) for v in found.verdicts]

    def _record_downloads(self, item, work: RenderWork) -> None:
        """Downloads the browser refused join the run's offered downloads (table `downloads`)."""
        stats = self.crawler.stats
        for download in work.downloads:
            stats.inc_value(stats_keys.OFFERED_DOWNLOADS.total)
            stats.inc_value(stats_keys.OFFERED_DOWNLOADS("browser"))
            offer = OfferedDownload(
                url=download["url"],
                entry_url=item.entry_url,
                domain=item.domain,
                kind="browser download",
                reason=f"a script started a download ({download['filename'] or 'no name'});"
                " refused by the browser",
                engine=item.engine,
                query=item.query,
                brand=item.brand,
                is_ad=item.is_ad,
                serp_url=item.serp_url,
            )
            # Recorded with the run by crawler.run_recorder.RunRecorder.
            self.crawler.signals.send_catch_log(OFFERED_DOWNLOAD, offer=offer)

    def _ocr(self, work: RenderWork) -> list[str]:
        texts = []
        for crop in work.crops[: self.ocr_images]:
            result = read_png(crop.png)
            self.crawler.stats.inc_value(stats_keys.RENDER("ocr_images"))
            self.crawler.stats.inc_value(stats_keys.RENDER("ocr_seconds"), round(result.seconds, 3))
            if result.error:
                self.crawler.stats.set_value(stats_keys.RENDER("ocr_error"), result.error)
            texts.append(result.text)
        return texts

    def _count_failure(self, status: str, work: RenderWork) -> None:
        """A browser that fails page after page (it cannot start, it crashes) is given up."""
        self.failures = self.failures + 1 if status == "failed" else 0
        if self.failures == MAX_FAILURES:
            line = (
                f"rendering stopped: {MAX_FAILURES} renders failed in a row (last: {work.error});"
                " the rest of the crawl is read statically"
            )
            self.crawler.stats.set_value(stats_keys.RENDER("skipped"), line)
            logger.error(line)

    # -- result pages ------------------------------------------------------------

    async def serp(self, item) -> None:
        """Picture a result page that showed ads, from the bytes that were parsed."""
        if not self.enabled or item.serp_url in self.serps_seen:
            return
        self.serps_seen.add(item.serp_url)
        reason = serp_reason(item.has_ads, self.mode)
        if reason is None:
            return
        work, status = await self._render(
            item.serp_url,
            reason,
            body=item.body,
            content_type=item.headers.get("Content-Type") or "text/html; charset=utf-8",
            trusted=True,
            ocr=False,
        )
        item.render = RenderFacts(
            reason=reason,
            status=status if work else "cut",
            detail=(work.error if work else status) or "",
        )
        item.render_work = work

    # -- the browser request -----------------------------------------------------

    async def _render(
        self,
        url: str,
        reason: str,
        *,
        referer: str | None = None,
        body: bytes | None = None,
        content_type: str = "",
        trusted: bool = False,
        ocr: bool = True,
    ) -> tuple[RenderWork | None, str]:
        """(work, "rendered" | "cut" | "failed") or (None, why the budget refused)."""
        refused = self.budget.admit(url, reason)
        stats = self.crawler.stats
        if refused:
            stats.inc_value(stats_keys.RENDER("budget_cut"))
            stats.set_value(stats_keys.RENDER("budget_cut_list"), self.budget.cut[:200])
            return None, refused
        async with self.slots:
            if not self.enabled:  # given up while this one waited for its turn
                return None, "rendering stopped after failures"
            deadline = self.budget.page_deadline()
            work = RenderWork(
                url=url,
                deadline=deadline,
                settle_seconds=min(self.settle, max(1.0, deadline / 2)),
                full_page_max=self.max_height,
                ocr_images=self.ocr_images if ocr else 0,
            )
            headers = browser_headers(self.profile.language, self.profile.region)
            if referer:
                headers["Referer"] = referer
                headers["Sec-Fetch-Site"] = "cross-site"
            meta = {
                "playwright": True,
                "serpwatch_render": work,
                "serpwatch_render_seconds": deadline,
                "serpwatch_render_reason": reason,
                "dont_retry": True,
                "dont_redirect": True,
                "handle_httpstatus_all": True,
                "download_slot": "serpwatch-browser",
            }
            if body is not None:
                meta["serpwatch_render_body"] = body
                meta["serpwatch_render_type"] = content_type
                meta["serpwatch_render_no_js"] = True  # no beacons, no second query
            if trusted:
                meta["serpwatch_trusted"] = True
            request = scrapy.Request(url, headers=headers, meta=meta, dont_filter=True)
            start = time.monotonic()
            status = "rendered"
            try:
                await self.crawler.engine.download_async(request)
            except Exception as exc:  # noqa: BLE001 - cut, refused or failed: recorded
                status = "cut" if work.error and work.error.startswith("cut") else "failed"
                if not work.error:
                    work.error = f"{type(exc).__name__}: {str(exc)[:300]}"
                logger.info("render of %s %s: %s", url, status, work.error)
            finally:
                spent = time.monotonic() - start
                self.budget.spend(spent)
                stats.inc_value(stats_keys.RENDER(status))
                stats.inc_value(stats_keys.RENDER("seconds"), round(spent, 3))
            self._count_failure(status, work)
            tap = request.meta.get("serpwatch_render_tap")
            work.refused = list(tap.refused) if tap is not None else []
            if work.refused:
                stats.inc_value(stats_keys.REFUSED("browser"), len(work.refused))
            return work, status


def _extract(html: str, region: str, url: str):
    from crawler.phones import extract_phones

    return extract_phones(html, region=region, url=url or None)


def rescored(verdict: SightingVerdict, render: RenderFacts) -> SightingVerdict:
    """A verdict scored again with the render's facts for its number."""
    facts = Facts.from_dict(verdict.facts)
    phone = verdict.phone
    found = (
        "image"
        if phone in render.image_only
        else "rendered"
        if phone in render.rendered_only
        else None
    )
    facts = replace(
        facts,
        found_by=found,
        behaviours=list(render.behaviours),
        cloaking=render.cloaking,
    )
    return verdict_record(verdict.hit, facts)
