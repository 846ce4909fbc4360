"""Five search engines and the sites they link to, on 127.0.0.1, for crawl tests.

One threaded HTTP server plays every part, like the demo web:

- `GET /<kind>/search?...` (kind: any of `KINDS`)
  answers with a golden fixture page from `tests/fixtures/serp/<kind>/<case>/`
  (its body and the status in its `meta.json`), chosen per result page by `EngineSim.serve`;
  `EngineSim.block` switches an engine to a block answer (a 429 with or
  without Retry-After, DuckDuckGo's 202, Google's redirect to `/sorry/`, a
  captcha page), for some requests or all; `EngineSim.fail` with an error
  status that is no block page (a 500, a 502). Point a profile's engine at
  `EngineSim.url(kind)`.
- An HTTP proxy: absolute-form requests (`GET http://host/path`) and
  `CONNECT host:443` tunnels (TLS with a throwaway self-signed certificate,
  which Scrapy does not verify) get the landing site for that host from
  `EngineSim.sites`, or a plain page; a host in `EngineSim.clicks` answers
  with a redirect (an engine's click chain). Set `http_proxy` and `https_proxy` to
  `EngineSim.proxy_url` in the crawl's environment only.

Every request is logged in `EngineSim.log` (engine, page, URL, headers, times),
so a test can count what the crawler asked and check how it asked.
"""

from __future__ import annotations

import datetime as dt
import html
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from golden import page_file, serp_input

FIXTURES = Path(__file__).parent / "fixtures" / "serp"
KINDS = (
    "bing",
    "duckduckgo",
    "google",
    "searxng",
    "brave",
    "startpage",
    "ecosia",
    "yahoo",
    "serpapi",
)


def page_number(kind: str, query: dict[str, list[str]]) -> int:
    """Which result page (1-based) an engine request asks for."""

    def num(name: str, default: int = 0) -> int:
        try:
            return int(query.get(name, [default])[0])
        except ValueError:
            return default

    if kind == "bing":
        return (max(num("first", 1), 1) - 1) // 10 + 1
    if kind == "duckduckgo":
        return num("s") // 30 + 1
    if kind in ("google", "serpapi"):
        return num("start") // 10 + 1
    if kind == "startpage":
        return max(num("page", 1), 1)
    if kind == "ecosia":
        return num("p") + 1
    if kind == "yahoo":
        return (max(num("b", 1), 1) - 1) // 10 + 1
    if kind == "searxng":
        return max(num("pageno", 1), 1)
    return num("offset") + 1  # brave


@dataclass
class Case:
    """A fixture page: body, status and content type."""

    body: bytes
    status: int
    content_type: str
    url: str

    @classmethod
    def load(cls, kind: str, name: str) -> Case:
        folder = FIXTURES / kind / name
        body, url, status = serp_input(folder)
        return cls(
            body=body,
            status=status,
            content_type=(
                "application/json"
                if page_file(folder).suffix == ".json"
                else "text/html; charset=utf-8"
            ),
            url=url,
        )


@dataclass
class Block:
    case: str
    retry_after: str | None = None
    first: int = 0  # requests to the engine answered normally before the block
    times: int | None = None  # block answers, then normal again; None: for good
    status: int | None = None  # the answer's status instead of the case's


@dataclass
class Plan:
    pages: dict[int, str] = field(default_factory=dict)
    default: str = "no-results"
    block: Block | None = None
    requests: int = 0


class EngineSim:
    """Context manager: `with EngineSim() as sim: sim.url("bing"), sim.proxy_url`."""

    def __init__(self, latency: float = 0.0):
        self.latency = latency  # seconds each engine answer takes
        self.plans: dict[str, Plan] = {kind: Plan() for kind in KINDS}
        # host → HTML of every path on it, or {path: HTML} ("*": any other path)
        self.sites: dict[str, str | dict[str, str]] = {}
        # host → function(path, query) giving the Location of a 302: an engine's
        # click host that redirects to the advertiser (click_ads = true tests).
        self.clicks: dict[str, object] = {}
        self.log: list[dict] = []
        self.in_flight: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.max_in_flight: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.lock = threading.Lock()
        self.tls = _tls_context()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.sim = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- configuration -----------------------------------------------------------

    def serve(self, kind: str, pages: dict[int, str] | None = None, default: str = "no-results"):
        """Answer result page n with fixture case `pages[n]`, other pages with `default`."""
        self.plans[kind].pages = dict(pages or {})
        self.plans[kind].default = default
        return self

    def block(
        self,
        kind: str,
        case: str,
        *,
        retry_after: str | int | None = None,
        first: int = 0,
        times: int | None = None,
    ):
        """Answer with block case `case` after `first` requests, `times` times (None: always)."""
        self.plans[kind].block = Block(
            case, None if retry_after is None else str(retry_after), first, times
        )
        return self

    def fail(self, kind: str, status: int, *, first: int = 0, times: int | None = None):
        """Answer with bing's error page (no block page) and `status`, as `block` does."""
        self.block(kind, "server-error-503", first=first, times=times)
        self.plans[kind].block.status = status
        return self

    # -- addresses and the log ---------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def proxy_url(self) -> str:
        return self.base_url

    def url(self, kind: str) -> str:
        return f"{self.base_url}/{kind}/search"

    def engine_hits(self, kind: str) -> list[dict]:
        return [e for e in self.log if e.get("engine") == kind]

    def site_hits(self, host: str | None = None) -> list[dict]:
        return [e for e in self.log if e["part"] == "site" and host in (None, e["host"])]

    def __enter__(self) -> EngineSim:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- answers -----------------------------------------------------------------

    def engine_answer(self, kind: str, path: str, query: dict) -> tuple[Case | None, dict]:
        """The case for this request and extra headers (a redirect has no case)."""
        with self.lock:
            plan = self.plans[kind]
            n = plan.requests
            plan.requests += 1
        if path.endswith("/sorry/index"):
            return Case.load(kind, "sorry-429"), {}
        block = plan.block
        if block and n >= block.first and (block.times is None or n < block.first + block.times):
            case = Case.load(kind, block.case)
            if block.status is not None:
                case.status = block.status
            if "/sorry/" in urlsplit(case.url).path:
                here = f"/{kind}/search?{'&'.join(f'{k}={quote(v[0])}' for k, v in query.items())}"
                return None, {"Location": f"/{kind}/sorry/index?continue={quote(here)}"}
            return case, ({"Retry-After": block.retry_after} if block.retry_after else {})
        name = plan.pages.get(page_number(kind, query), plan.default)
        return Case.load(kind, name), {}

    def site_page(self, host: str, path: str) -> str:
        page = self.sites.get(host)
        if isinstance(page, dict):  # one page per path ("*": any other path)
            page = page.get(path, page.get("*"))
        if page is not None:
            return page
        name = html.escape(host)
        return (
            f"<!DOCTYPE html><html><head><title>{name}</title></head>"
            f"<body><h1>{name}</h1><p>{html.escape(path)}</p></body></html>"
        )


class _Handler(BaseHTTPRequestHandler):
    server_version = "enginesim/1.0"
    tunnel: str | None = None

    def log_message(self, *args):
        pass

    @property
    def sim(self) -> EngineSim:
        return self.server.sim

    def do_CONNECT(self):
        host = self.path.rsplit(":", 1)[0]
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = self.sim.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        self.connection = tls
        self.rfile = tls.makefile("rb")
        self.wfile = tls.makefile("wb")
        self.tunnel = host
        try:
            self.close_connection = False
            while not self.close_connection:
                self.handle_one_request()
        except (ssl.SSLError, OSError):
            pass
        finally:
            self.close_connection = True
            try:
                self.wfile.flush()
            except OSError:
                pass
            tls.close()

    def do_GET(self):
        parts = urlsplit(self.path)
        if self.tunnel:
            return self.site(self.tunnel, parts.path, "https")
        host = (parts.hostname or "").lower()
        if host in ("", "127.0.0.1", "localhost"):
            return self.engine(parts.path, parse_qs(parts.query))
        return self.site(host, parts.path, "http")

    def engine(self, path: str, query: dict):
        kind = path.strip("/").split("/")[0]
        if kind not in KINDS:
            return self.send(404, b"no such engine", "text/plain")
        entry = {
            "part": "engine",
            "engine": kind,
            "page": page_number(kind, query),
            "path": path,
            "query": {k: v[0] for k, v in query.items()},
            "headers": dict(self.headers.items()),
            "start": time.monotonic(),
        }
        sim = self.sim
        with sim.lock:
            sim.in_flight[kind] += 1
            sim.max_in_flight[kind] = max(sim.max_in_flight[kind], sim.in_flight[kind])
        try:
            if sim.latency:
                time.sleep(sim.latency)
            case, extra = sim.engine_answer(kind, path, query)
            if case is None:
                entry["status"] = 302
                self.send(302, b"", "text/html", extra)
            else:
                entry["status"] = case.status
                self.send(case.status, case.body, case.content_type, extra)
        finally:
            with sim.lock:
                sim.in_flight[kind] -= 1
            entry["end"] = time.monotonic()
            sim.log.append(entry)

    def site(self, host: str, path: str, scheme: str):
        self.sim.log.append(
            {
                "part": "site",
                "host": host,
                "path": path,
                "url": f"{scheme}://{host}{path}",
                "query": urlsplit(self.path).query,
                "headers": dict(self.headers.items()),
                "start": time.monotonic(),
            }
        )
        click = self.sim.clicks.get(host)
        if click is not None:
            location = click(path, urlsplit(self.path).query)
            return self.send(302, b"", "text/html", {"Location": location})
        self.send(200, self.sim.site_page(host, path).encode(), "text/html; charset=utf-8")

    def send(self, status: int, body: bytes, ctype: str, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


_CONTEXTS: dict[str, ssl.SSLContext] = {}
_CERTS = Path(tempfile.mkdtemp(prefix="enginesim-"))
# Tunnels for several hosts open at once: SNI callbacks run in parallel threads.
_CERTS_LOCK = threading.RLock()


def _tls_context(host: str = "enginesim") -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate for `host` (made once).

    The context for the tunnels picks each host's own certificate by SNI, so
    Scrapy, which checks the name but not the issuer, has nothing to warn about.
    """
    with _CERTS_LOCK:
        if host not in _CONTEXTS:
            _CONTEXTS[host] = _make_context(host)
        return _CONTEXTS[host]


def _make_context(host: str) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = _CERTS / f"{len(_CONTEXTS)}-{host}.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    if host == "enginesim":
        context.sni_callback = _pick_certificate
    return context


def _pick_certificate(sslobj, server_name, _context):
    if server_name:
        sslobj.context = _tls_context(server_name)
