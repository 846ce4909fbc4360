"""The http/https download handler: Scrapy's guarded handler, and scrapy-playwright for renders.

`GuardedBrowserHandler` (DOWNLOAD_HANDLERS http/https) sends every request
through `crawler.net.resolver.GuardedHTTP11DownloadHandler`, except render
requests (`meta["playwright"]`, made by `crawler.render.render`), which go to
scrapy-playwright driving the Chromium of `crawler.render.browser`. The
browser side starts on the first render only: a crawl that renders nothing
starts no browser, no Playwright driver and no proxy.

Every render, whatever its caller asked, gets (the caller cannot turn these off):

- a fresh browser context with its own tap on `crawler.render.proxy.GuardProxy`
  as its only proxy: the SSRF guard of the browser;
- no downloads accepted, service workers blocked, the watch script and the
  dialog/download/popup handlers of `crawler.render.page`;
- one deadline (`RenderWork` budget) over navigation, waiting, reading and
  pictures; past it the context is closed, the page with it;
- the context closed and the tap closed afterwards, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.misc import load_object

from crawler.net.netguard import NetGuard, endpoint, normalize_host
from crawler.net.resolver import GuardedHTTP11DownloadHandler
from crawler.render.browser import find_browser, launch_options
from crawler.render.page import (
    VIEWPORT,
    RenderWork,
    collect,
    handlers,
    init_page,
    probe_leaving,
    settle,
)
from crawler.render.proxy import GuardProxy, TapPolicy

logger = logging.getLogger(__name__)
_names = itertools.count(1)


class RenderCut(IgnoreRequest):
    """A render stopped by its time budget, or failed in the browser."""


def _proxy_endpoint(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    ep = endpoint(value if "//" in value else f"http://{value}")
    return ep


class GuardedBrowserHandler(GuardedHTTP11DownloadHandler):
    """Guarded HTTP/1.1 for pages; a guarded Chromium for render requests."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self._browser = None
        self._browser_lock = asyncio.Lock()

    async def download_request(self, request):
        if request.meta.get("playwright"):
            handler = await self._browser_handler()
            return await handler.download_request(request)
        return await super().download_request(request)

    async def _browser_handler(self):
        async with self._browser_lock:
            if self._browser is None:
                handler = _browser_handler_class()(self._crawler)
                await handler.start()
                self._browser = handler
        return self._browser

    async def close(self):
        await super().close()
        if self._browser is not None:
            browser, self._browser = self._browser, None
            await browser.close()


_handler_class = None


def _browser_handler_class():
    """scrapy-playwright's handler with `_Renders` mixed in, built on the first render only."""
    global _handler_class
    if _handler_class is None:
        from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

        _handler_class = type(
            "PlaywrightRenderHandler", (_Renders, ScrapyPlaywrightDownloadHandler), {}
        )
    return _handler_class


class _Renders:
    """Mixed into scrapy-playwright's handler: the guard and the budget around every render."""

    def __init__(self, crawler):
        # Playwright must never download a browser, and must proxy loopback too.
        os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
        os.environ.pop("PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK", None)
        super().__init__(crawler)
        settings = crawler.settings
        self.crawler = crawler
        executable = find_browser(settings.get("SERPWATCH_BROWSER"))
        if executable is None:
            raise NotConfigured("no Chromium found: apt-get install chromium")
        self.executable = executable
        resolve = load_object(settings.get("SERPWATCH_BROWSER_RESOLVER"))
        self.guard_proxy = GuardProxy(resolve)
        self.deny_tap = self.guard_proxy.open_tap(
            TapPolicy(deny_all="traffic that is not a render's (browser background)")
        )
        self.config.launch_options = launch_options(executable, self.deny_tap.proxy_url)
        self.config.browser_type_name = "chromium"
        self.config.target_closed_max_retries = 0  # a closed page is not opened again
        self.config.max_contexts = max(1, settings.getint("SERPWATCH_RENDER_CONCURRENCY", 2))
        self.context_semaphore = asyncio.Semaphore(self.config.max_contexts)
        self.user_agent = settings.get("USER_AGENT")
        self.browser_pids: list[int] = []

    async def start(self) -> None:
        await self._maybe_launch_in_thread()

    def _policy(self, request) -> TapPolicy:
        guard = NetGuard.for_crawler(self.crawler)
        names = frozenset()
        if guard.is_trusted(request):
            ep = endpoint(request.url)
            names = frozenset({(normalize_host(ep[0]), ep[1])}) if ep else frozenset()
        env = {k.lower(): v for k, v in os.environ.items() if k.lower().endswith("_proxy")}
        return TapPolicy(
            allow_private=not guard.enabled,
            trusted_names=names,
            upstream_http=_proxy_endpoint(env.get("http_proxy")),
            upstream_https=_proxy_endpoint(env.get("https_proxy")),
            dns_timeout=self.crawler.settings.getfloat("DNS_TIMEOUT", 10),
        )

    def _context_kwargs(self, request, tap) -> dict:
        lang = request.headers.get("Accept-Language", b"nl-NL").decode("latin-1")
        return {
            "proxy": {"server": tap.proxy_url},
            "user_agent": self.user_agent,
            "locale": lang.split(",")[0].strip() or "nl-NL",
            "timezone_id": "Europe/Amsterdam",
            "viewport": dict(VIEWPORT),
            "java_script_enabled": not request.meta.get("serpwatch_render_no_js"),
            "accept_downloads": False,
            "ignore_https_errors": True,
            "service_workers": "block",
        }

    async def _download_request(self, request, spider=None):
        work: RenderWork = request.meta["serpwatch_render"]
        budget = float(request.meta.get("serpwatch_render_seconds") or 20)
        tap = await self.guard_proxy.open_tap_async(self._policy(request))
        request.meta["serpwatch_render_tap"] = tap
        name = f"render-{next(_names)}"
        request.meta.update(
            {
                "playwright_context": name,
                "playwright_context_kwargs": self._context_kwargs(request, tap),
                "playwright_include_page": True,
                "playwright_page_init_callback": self._init_callback(request, work),
                "playwright_page_event_handlers": handlers(work),
                "playwright_page_methods": [_settle_method(work)],
                "playwright_page_goto_kwargs": {
                    "wait_until": "load",
                    "timeout": budget * 1000,
                    "referer": request.headers.get("Referer", b"").decode("latin-1") or None,
                },
            }
        )
        try:
            return await asyncio.wait_for(self._render(request, spider, work), budget)
        except TimeoutError:
            work.error = f"cut after {budget:g} s while {work.stage}"
            raise RenderCut(f"render of {request.url} {work.error}") from None
        except Exception as exc:
            if isinstance(exc, IgnoreRequest):
                raise
            work.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            raise RenderCut(f"render of {request.url} failed: {work.error}") from exc
        finally:
            await self._end(request, name, tap)

    async def _render(self, request, spider, work: RenderWork):
        response = await super()._download_request(request, spider)
        page = request.meta.pop("playwright_page", None)
        if page is not None:
            await collect(page, work)
            await probe_leaving(page, work)
        return response

    def _init_callback(self, request, work: RenderWork):
        stored = request.meta.get("serpwatch_render_body")
        target = request.url

        async def init(page, _request):
            await init_page(page, work)
            if self.browser_pids == [] and getattr(self, "browser", None) is not None:
                self.browser_pids = _browser_pids()
            if stored is not None:
                # A result page is pictured from the bytes we parsed, not fetched again.
                ctype = request.meta.get("serpwatch_render_type") or "text/html; charset=utf-8"

                async def fulfil(route):
                    await route.fulfill(status=200, body=stored, headers={"Content-Type": ctype})

                await page.route(target, fulfil)

        return init

    async def _end(self, request, name: str, tap) -> None:
        request.meta.pop("playwright_page", None)
        wrapper = self.context_wrappers.get(name)
        if wrapper is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(wrapper.context.close(), 10)
        with contextlib.suppress(Exception):
            await self.guard_proxy.close_tap_async(tap)

    async def _close(self) -> None:
        try:
            await asyncio.wait_for(super()._close(), 30)
        finally:
            self.guard_proxy.stop()


def _settle_method(work: RenderWork):
    from scrapy_playwright.page import PageMethod

    return PageMethod(settle, work)


def _browser_pids() -> list[int]:
    """Chromium processes started by this process (for the memory bench and the checks)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return []
    me = psutil.Process()
    return [p.pid for p in me.children(recursive=True) if "chrom" in (p.name() or "").lower()]


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""
