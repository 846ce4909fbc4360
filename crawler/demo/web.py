"""The embedded demo web: a Bing-style search engine and a dozen sites.

One threaded HTTP server on 127.0.0.1 plays both parts. Requests for a path
(`GET /search?q=...`) get a result page in Bing's HTML; requests in proxy form
(`GET http://microsoft-helpdesk-bellen.nl/ HTTP/1.1`, as Scrapy sends them
when `http_proxy` points here) get the site for that host from `sites/`.
So the crawl sees real-looking domains while nothing leaves loopback.
"""

from __future__ import annotations

import base64
import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

SITES = Path(__file__).parent / "sites"

# (url, title, display url, snippet)
MS_OFFICIAL = (
    "http://www.microsoft.com/nl-nl/contact",
    "Contact opnemen met Microsoft Ondersteuning",
    "https://www.microsoft.com › nl-nl › contact",
    "Neem contact op met Microsoft Ondersteuning voor Windows en Microsoft 365.",
)
MS_SCAM = (
    "http://microsoft-helpdesk-bellen.nl/",
    "Microsoft Helpdesk Nederland | Bel 085 208 1234",
    "microsoft-helpdesk-bellen.nl",
    "Officiele Microsoft helpdesk, 24/7 bereikbaar. Bel 085 208 1234.",
)
MS_FORUM = (
    "http://answers.microsoft.com/nl-nl/thread/8812",
    "Outlook start niet meer - Microsoft Community",
    "https://answers.microsoft.com › nl-nl › thread",
    "Sinds gisteren start Outlook niet meer op. Wie kan helpen?",
)
NEWS = (
    "http://nu-nieuws.nl/tech/helpdeskfraude-microsoft",
    "Politie waarschuwt voor nep-helpdesk van Microsoft",
    "https://nu-nieuws.nl › tech",
    "De politie waarschuwt voor oplichters die zich voordoen als de Microsoft helpdesk.",
)
REPAIR = (
    "http://pcreparatie-devries.nl/",
    "PC Reparatie De Vries Utrecht - computerhulp aan huis",
    "pcreparatie-devries.nl",
    "Uw Windows computer traag of kapot? Wij repareren laptops en pc's in Utrecht.",
)
DIRECTORY = (
    "http://klantenservice-nummers.nl/telefoonnummers",
    "Klantenservice nummers van grote bedrijven",
    "klantenservice-nummers.nl › telefoonnummers",
    "Alle telefoonnummers van klantenservices op een rij.",
)
WIN_AD = (
    "http://windows-support-direct.com/nl/",
    "Windows Support - Direct Hulp Bij Virussen",
    "windows-support-direct.com/nl",
    "Computer geblokkeerd? Bel gratis +1 844 217 3090. Gecertificeerde technici.",
)
APPLE_OFFICIAL = (
    "http://www.apple.com/nl/contact/",
    "Contact - Apple (NL)",
    "https://www.apple.com › nl › contact",
    "Neem contact op met Apple Support.",
)
APPLE_SCAM = (
    "http://apple-klantenservice.nl/",
    "Apple Klantenservice Bellen - iPhone en iCloud hulp",
    "apple-klantenservice.nl",
    "Hulp nodig met uw iPhone of iCloud? Bel onze Apple specialisten.",
)
ICLOUD_AD = (
    "http://icloud-hulp24.com/",
    "iCloud Account Locked? Apple Support 24/7",
    "icloud-hulp24.com",
    "Apple ID suspended? Call +44 20 3807 1234 now.",
)
KPN_OFFICIAL = (
    "http://www.kpn.com/service/contact",
    "Contact met KPN klantenservice",
    "https://www.kpn.com › service › contact",
    "Bel gratis met de KPN klantenservice.",
)
KPN_SCAM = (
    "http://kpn-storingsdienst.nl/",
    "KPN Storing? Bel de KPN Storingsdienst",
    "kpn-storingsdienst.nl",
    "Internet of tv storing bij KPN? Bel onze storingsdienst.",
)

# keyword in the query → (organic results, ads)
SERPS = {
    "microsoft": ([MS_SCAM, MS_OFFICIAL, MS_FORUM, NEWS, REPAIR, DIRECTORY], [WIN_AD, MS_SCAM]),
    "apple": ([APPLE_OFFICIAL, APPLE_SCAM, DIRECTORY], [ICLOUD_AD]),
    "kpn": ([KPN_SCAM, KPN_OFFICIAL, DIRECTORY], [KPN_SCAM]),
    "windows": ([REPAIR, MS_OFFICIAL], [WIN_AD]),
}
REDIRECTS = {"http://windows-support-direct.com/nl/": "/nl/alert.html"}


def aclick(url: str) -> str:
    """Bing's ad click-tracking link: `u=` is "a1" + base64 of the URL."""
    token = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return f"https://www.bing.com/aclick?ld=e8demo&u=a1{quote(token)}"


def bing_page(query: str, organic: list[tuple], ads: list[tuple]) -> str:
    """A result page in Bing's HTML. Results are (url, title, display url,
    snippet) tuples; an ad may add a fifth item, its call extension."""
    e = html.escape
    parts = [
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">',
        f'<title>{e(query)} - Zoeken</title></head><body><div id="b_content">',
        '<ol id="b_results">',
    ]
    if ads:
        parts.append('<li class="b_ad b_adTop"><ul>')
        for url, title, display, snippet, *call in ads:
            ext = f'<div class="b_adcall"><span>Bel {e(call[0])}</span></div>' if any(call) else ""
            parts.append(
                f'<li><div class="sb_add sb_adTA"><h2><a href="{e(aclick(url))}">{e(title)}'
                f'</a></h2><div class="b_caption"><div class="b_attribution">'
                f"<cite>{e(display)}</cite></div><p>{e(snippet)}</p>{ext}</div></div></li>"
            )
        parts.append("</ul></li>")
    for url, title, display, snippet, *_ in organic:
        parts.append(
            f'<li class="b_algo"><h2><a href="{e(url)}">{e(title)}</a></h2>'
            f'<div class="b_caption"><div class="b_attribution"><cite>{e(display)}</cite>'
            f"</div><p>{e(snippet)}</p></div></li>"
        )
    if not organic:
        parts.append(
            f'<li class="b_no"><h1>Er zijn geen resultaten gevonden voor <strong>{e(query)}'
            "</strong>.</h1></li>"
        )
    parts.append("</ol></div></body></html>")
    return "".join(parts)


def serp_html(query: str) -> str:
    q = query.lower()
    organic, ads = next((v for k, v in SERPS.items() if k in q), ([], []))
    return bing_page(query, organic, ads)


def site_file(host: str, path: str, root: Path = SITES) -> Path | None:
    """The file for http://host/path under `root/<host>/`, never outside it."""
    base = (root / host).resolve()
    if not base.is_dir() or root.resolve() not in base.parents:
        return None
    target = (base / path.lstrip("/")).resolve()
    if base != target and base not in target.parents:
        return None
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


class DemoHandler(BaseHTTPRequestHandler):
    """Answers for the `LocalWeb` it serves (`self.server.web`)."""

    server_version = "demo-web/1.0"

    def log_message(self, *args):  # the demo prints its own summary
        pass

    def do_GET(self):
        web = self.server.web
        parts = urlsplit(self.path)
        host = (parts.hostname or "").lower()
        own = {"", "127.0.0.1", "localhost"}
        if host in own and parts.path == "/search":
            query = parse_qs(parts.query).get("q", [""])[0]
            return self.send(200, web.serp_html(query))
        full = f"http://{host}{parts.path}"
        redirects = web.redirects()
        if full in redirects:
            self.send_response(302)
            self.send_header("Location", redirects[full])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        target = web.site_file(host, parts.path) if host not in own else None
        if target is None:
            return self.send(404, "<html><body><h1>404 Not Found</h1></body></html>")
        return self.send(200, web.page(target, parts.query))

    def send(self, status: int, body: str):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class DemoWeb:
    """Context manager: `with DemoWeb() as web: web.search_url, web.proxy_url`.

    Another simulated web subclasses it and overrides `serp_html`, `site_file`,
    `redirects` and `page`; the module-level data are read at request time, so tests
    can patch them.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.server = ThreadingHTTPServer((host, port), DemoHandler)
        self.server.daemon_threads = True
        self.server.web = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serp_html(self, query: str) -> str:
        return serp_html(query)

    def site_file(self, host: str, path: str) -> Path | None:
        return site_file(host, path, SITES)

    def redirects(self) -> dict[str, str]:
        return REDIRECTS

    def page(self, target: Path, query: str) -> str:
        """A site's page for a request with this query string (a search page may echo it)."""
        return target.read_text(encoding="utf-8")

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def search_url(self) -> str:
        return self.base_url + "/search"

    @property
    def proxy_url(self) -> str:
        return self.base_url

    def __enter__(self) -> DemoWeb:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
