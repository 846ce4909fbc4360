"""Servers and helpers for the scheduled-watch tests, all on 127.0.0.1.

- `ChangingWeb`: the demo web (a Bing-style engine and a dozen sites) whose
  result pages change from one crawl to the next: crawl 1 sees the demo's
  results, crawl 2 also a new scam site, crawl 3 a captcha page (blocked).
  A crawl asks each query once, so the n-th request for a query is crawl n.
  `delay` slows every answer down, `gate` holds result pages back, for the
  progress and lock tests.
- `Webhook`: an HTTP server that keeps every JSON body POSTed to it (Apprise's
  json:// posts {title, message, type, ...}); `fail` makes it answer 500.
- `Smtp`: a real SMTP server (aiosmtpd) that keeps every message.
- `demo_profile(folder, web, alerts=...)`: the demo profile pointed at a web.
- `serpwatch(*args)`: the console script in a subprocess, proxy variables cleared.
"""

from __future__ import annotations

import email
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from crawler.demo import web as demo_web
from crawler.demo.web import DemoWeb

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "crawler" / "demo"
CAPTCHA = (ROOT / "tests" / "fixtures" / "serp" / "bing" / "captcha" / "page.html").read_text()
NEW_SCAM = (
    "http://windows-hulplijn-24.nl/",
    "Windows Hulplijn 24/7 | Microsoft helpdesk bellen",
    "windows-hulplijn-24.nl",
    "Microsoft helpdesk: bel direct 085 208 7777, ook in het weekend.",
)
NEW_SCAM_PAGE = (
    "<!DOCTYPE html><html lang='nl'><head><title>Microsoft Helpdesk Nederland 24/7</title>"
    "</head><body><h1>Microsoft Helpdesk</h1><p>Is uw Windows computer geblokkeerd of heeft"
    " u een virus? Bel direct de officiele Microsoft helpdesk: <a href='tel:+31852087777'>"
    "085 208 7777</a>. Onze Microsoft gecertificeerde technici helpen u 24/7.</p></body></html>"
)
NEW_NUMBER = "+31852087777"


class ChangingWeb(DemoWeb):
    def __init__(self, delay: float = 0.0, block_from: int = 3, serp_delay: float | None = None):
        super().__init__()
        self.delay = delay
        self.serp_delay = delay if serp_delay is None else serp_delay
        # Cleared, result pages wait until the test sets it: a crawl that surely
        # runs for as long as the test needs, however loaded the machine is.
        self.gate = threading.Event()
        self.gate.set()
        self.block_from = block_from
        self.asked: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.new_site = Path(tempfile.mkdtemp(prefix="watchkit-")) / "index.html"
        self.new_site.write_text(NEW_SCAM_PAGE)

    def serp_html(self, query: str) -> str:
        self.gate.wait(120)
        time.sleep(self.serp_delay)
        with self.lock:
            self.asked[query] += 1
            crawl = self.asked[query]
        if crawl >= self.block_from:
            return CAPTCHA
        q = query.lower()
        organic, ads = next((v for k, v in demo_web.SERPS.items() if k in q), ([], []))
        if crawl >= 2 and "microsoft" in q:
            organic = [NEW_SCAM, *organic]
        return demo_web.bing_page(query, organic, ads)

    def site_file(self, host: str, path: str):
        time.sleep(self.delay)
        if host == "windows-hulplijn-24.nl":
            return self.new_site
        return super().site_file(host, path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webhook:
    """`with Webhook() as hook: hook.url` (json://...), `hook.posts` (decoded bodies)."""

    def __init__(self, fail: bool = False):
        self.posts: list[dict] = []
        self.fail = fail
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                owner.hits += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if owner.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                owner.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Smtp:
    """A real SMTP server (aiosmtpd): `smtp.url` for Apprise, `smtp.messages` as parsed mail."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.envelopes = []
        owner = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                owner.envelopes.append(envelope)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return (
            f"mailto://127.0.0.1:{self.port}?from=serpwatch@example.nl"
            "&to=analyst@example.nl&mode=insecure"
        )

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def __enter__(self) -> Smtp:
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def text_of(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def demo_profile(
    folder: Path, web: DemoWeb, *, alerts: list[str] | None = None, min_risk: str = "high"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (DEMO / "profile.toml").read_text()
    text = text.replace("http://127.0.0.1:8080/search", web.search_url)
    text = text.replace('brands = "brands.toml"', f'brands = "{DEMO}/brands.toml"')
    if alerts:
        urls = ", ".join(json.dumps(u) for u in alerts)
        text += f'\n[alerts]\nurls = [{urls}]\nmin_risk = "{min_risk}"\n'
    path = folder / "profile.toml"
    path.write_text(text)
    return path


def env_for(web: DemoWeb | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    if web is not None:
        # The sites through the simulated web; alerts to the local receivers direct.
        env["http_proxy"] = web.proxy_url
        env["no_proxy"] = "127.0.0.1,localhost"
    env.update({k: str(v) for k, v in extra.items()})
    return env


FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "SERPWATCH_ALERT_RETRY_DELAY=0.1"]


def exe(name: str = "serpwatch") -> str:
    return str(Path(sys.executable).with_name(name))


def serpwatch(*args, env=None, timeout=120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else env_for(),
        **kwargs,
    )


def wait_for(predicate, timeout: float = 60, step: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
