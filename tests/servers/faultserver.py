"""A misbehaving web on 127.0.0.1 for the safety and fault tests.

One raw-socket server plays three parts, like the demo web:

- a search engine: `GET /search?q=...` answers in Bing's HTML with a result
  for every URL in `FaultServer.results` (set by the test);
- a set of broken or hostile pages under its own paths (`ROUTES`);
- an HTTP proxy: absolute-form requests (`GET http://evil.example/x`) are
  served from the same routes, so tests can use public-looking names.

Every request line is recorded in `FaultServer.hits` (with the time), so a
test can assert that a URL was never requested, or was requested N times.
Raw sockets let a route send what no correct server would: a body shorter
than its Content-Length, broken chunked encoding, headers then silence.
"""

from __future__ import annotations

import gzip
import html
import socket
import socketserver
import threading
import time
import zlib
from urllib.parse import parse_qs, urlsplit

import brotli

try:
    from compression import zstd  # Python 3.14
except ImportError:  # pragma: no cover - depends on the Python version
    from backports import zstd

BOMB_SIZE = 24 * 1024 * 1024  # decompressed; DOWNLOAD_MAXSIZE is 8 MB
_BOMBS: dict[str, bytes] = {}


def bombs() -> dict[str, bytes]:
    """Small bodies that decompress to BOMB_SIZE bytes, per Content-Encoding (cached)."""
    if not _BOMBS:
        plain = b"<html><body>" + b" " * (BOMB_SIZE - 26) + b"</body></html>"
        _BOMBS.update(
            gzip=gzip.compress(plain, 1),
            deflate=zlib.compress(plain, 1),
            br=brotli.compress(plain, quality=4),
            zstd=zstd.compress(plain),
        )
    return _BOMBS


def _page(title: str, body: str) -> bytes:
    return (
        f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1>{body}</body></html>"
    ).encode()


def serp(results: list[str]) -> bytes:
    items = "".join(
        f'<li class="b_algo"><h2><a href="{html.escape(url)}">Result {i}</a></h2>'
        f'<div class="b_caption"><div class="b_attribution"><cite>{html.escape(url)}</cite>'
        f"</div><p>Snippet {i}</p></div></li>"
        for i, url in enumerate(results, 1)
    )
    return (
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>q - Zoeken</title>'
        f'</head><body><div id="b_content"><ol id="b_results">{items}</ol></div></body></html>'
    ).encode()


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str]):
        self.method = method
        self.target = target
        self.headers = headers
        parts = urlsplit(target)
        self.host = (parts.hostname or "").lower()
        self.path = parts.path or "/"
        self.query = parse_qs(parts.query)
        self.proxied = target.startswith("http")


class Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self):
        sock: socket.socket = self.request
        sock.settimeout(30)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        line, *header_lines = head.split("\r\n")
        method, target, _ = (line.split(" ") + ["", ""])[:3]
        headers = {}
        for h in header_lines:
            name, _, value = h.partition(":")
            headers[name.strip().lower()] = value.strip()
        req = Request(method, target, headers)
        owner = self.server.owner
        owner.record(req)
        route = owner.route_for(req)
        try:
            route(owner, req, sock)
        except OSError:
            pass  # the client went away: part of the game


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FaultServer


def send(sock, status: int, body: bytes = b"", headers: dict | None = None, reason: str = "X"):
    head = [f"HTTP/1.1 {status} {reason}"]
    merged = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))}
    merged.update(headers or {})
    head += [f"{k}: {v}" for k, v in merged.items() if v is not None]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def _hang(owner, seconds: float = 60):
    owner.stopping.wait(seconds)


# --- routes: (server, request, socket) -----------------------------------------


def r_search(owner, req, sock):
    query = req.query.get("q", [""])[0]
    send(sock, 200, serp(owner.per_query.get(query, owner.results)))


def r_ok(owner, req, sock):
    name = req.path.rsplit("/", 1)[-1] or "home"
    send(
        sock,
        200,
        _page(f"Page {name}", "<p>Bel ons op 085 208 1234.</p>"),
        {"Set-Cookie": f"seen={name}; Path=/; Domain={req.host or '127.0.0.1'}"},
    )


def r_slow(owner, req, sock):
    """/slow/<n>: a quarter of a second, then a page with its own number 085 208 1<nnn>."""
    n = int(req.path.rsplit("/", 1)[-1])
    time.sleep(0.25)
    send(sock, 200, _page(f"Helpdesk {n}", f"<p>Microsoft helpdesk: bel 085 208 1{n:03d}</p>"))


def r_secret(owner, req, sock):
    send(sock, 200, _page("internal secret", "<p>s3cr3t 085 208 9999</p>"))


def r_status(owner, req, sock):
    code = int(req.path.rsplit("/", 1)[-1])
    send(sock, code, _page(f"Error {code}", "<p>085 208 1234</p>"))


def r_ratelimit_once(owner, req, sock):
    if owner.count(req.path) == 1:
        send(sock, 429, _page("Too many", ""), {"Retry-After": "1"})
    else:
        send(sock, 200, _page("Welcome back", "<p>Bel 085 208 1234</p>"))


def r_always_429(owner, req, sock):
    send(sock, 429, _page("Too many", ""), {"Retry-After": "1"})


def r_retry_after_long(owner, req, sock):
    send(sock, 429, _page("Too many", ""), {"Retry-After": "3600"})


def r_drop(owner, req, sock):
    sock.shutdown(socket.SHUT_RDWR)


def r_partial(owner, req, sock):
    body = _page("Partial", "<p>Bel 085 208 1234</p>" + "x" * 5000)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body) + 9000}"
    sock.sendall((head + "\r\n\r\n").encode() + body)
    sock.shutdown(socket.SHUT_RDWR)


def r_hang_headers(owner, req, sock):
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<html>"
    )
    _hang(owner)


def r_hang(owner, req, sock):
    _hang(owner)


def r_drip(owner, req, sock):
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    while not owner.stopping.is_set():
        sock.sendall(b"1\r\n.\r\n")
        time.sleep(0.2)


def r_redirect_loop(owner, req, sock):
    n = int(req.query.get("n", ["0"])[0])
    send(sock, 302, b"", {"Location": f"{req.path}?n={n + 1}"})


def r_chunked_broken(owner, req, sock):
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"10\r\n<html><body>Bel \r\nzz\r\n085 208 1234\r\n0\r\n\r\n"
    )
    sock.shutdown(socket.SHUT_RDWR)


def r_chunked_truncated(owner, req, sock):
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1a\r\n<html><body>Bel 085 208 1\r\n"
    )
    sock.shutdown(socket.SHUT_RDWR)


def r_charset_wrong(owner, req, sock):
    body = "<html><body><p>Café Müller: bel 085 208 1234</p></body></html>".encode()
    send(sock, 200, body, {"Content-Type": "text/html; charset=utf-16"})


def r_charset_unknown(owner, req, sock):
    body = "<html><body><p>Bel 085 208 1234 — ñ</p></body></html>".encode("latin-1", "replace")
    send(sock, 200, body, {"Content-Type": "text/html; charset=x-klingon"})


def _big_line(size: int) -> bytes:
    unit = b"lorem ipsum dolor sit amet "
    return b"<html><body><p>" + unit * (size // len(unit)) + b"</p></body></html>"


def r_big(owner, req, sock):
    send(sock, 200, _big_line(10 * 1024 * 1024))


def r_big_chunked(owner, req, sock):
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    body = _big_line(10 * 1024 * 1024)
    for i in range(0, len(body), 65536):
        piece = body[i : i + 65536]
        sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    sock.sendall(b"0\r\n\r\n")


def r_large_ok(owner, req, sock):
    send(sock, 200, _big_line(3 * 1024 * 1024).replace(b"<p>", b"<p>Bel 085 208 1234. ", 1))


def r_nested(owner, req, sock):
    depth = 100_000
    send(sock, 200, b"<html><body>" + b"<div>" * depth + b"Bel 085 208 1234" + b"</div>" * depth)


def r_bomb(owner, req, sock):
    kind = req.path.rsplit("/", 1)[-1]
    send(sock, 200, bombs()[kind], {"Content-Encoding": kind})


def r_download(owner, req, sock):
    kind = req.path.rsplit("/", 1)[-1]
    # Under DOWNLOAD_MAXSIZE, so only the download check can stop it; sent in
    # pieces, so a client that stops reading shows as an unfinished send.
    size = 4 * 1024 * 1024
    if kind == "by-type":
        headers, head = {"Content-Type": "application/x-msdownload"}, b"MZ\x90\x00\x03\x00\x00\x00"
    elif kind == "attachment":
        headers = {
            "Content-Type": "text/html",
            "Content-Disposition": 'attachment; filename="AnyDesk.exe"',
        }
        head = b"MZ\x90\x00\x03\x00\x00\x00"
    else:  # sniffed: claims HTML, is a ZIP
        headers, head = {"Content-Type": "text/html"}, b"PK\x03\x04\x14\x00\x00\x00"
    body = head + b"\x00" * (size - len(head))
    try:
        send(sock, 200, b"", {**headers, "Content-Length": str(size)})
        for i in range(0, size, 256 * 1024):
            sock.sendall(body[i : i + 256 * 1024])
            time.sleep(0.01)
        owner.completed.add(req.path)
    except OSError:
        pass


def r_redirect_to(owner, req, sock):
    send(sock, 302, b"", {"Location": owner.redirects[req.path]})


def r_refresh_to(owner, req, sock):
    target = html.escape(owner.redirects[req.path])
    send(sock, 200, _page("Moved", f'<meta http-equiv="refresh" content="0;url={target}">'))


ROUTES = {
    "/search": r_search,
    "/ok": r_ok,
    "/secret": r_secret,
    "/slow": r_slow,
    "/status": r_status,
    "/ratelimit-once": r_ratelimit_once,
    "/always-429": r_always_429,
    "/retry-after-long": r_retry_after_long,
    "/drop": r_drop,
    "/partial": r_partial,
    "/hang-after-headers": r_hang_headers,
    "/hang": r_hang,
    "/drip": r_drip,
    "/redirect-loop": r_redirect_loop,
    "/chunked-broken": r_chunked_broken,
    "/chunked-truncated": r_chunked_truncated,
    "/charset-wrong": r_charset_wrong,
    "/charset-unknown": r_charset_unknown,
    "/big-10mb": r_big,
    "/big-10mb-chunked": r_big_chunked,
    "/large-3mb": r_large_ok,
    "/nested": r_nested,
    "/bomb": r_bomb,
    "/download": r_download,
    "/redirect": r_redirect_to,
    "/refresh": r_refresh_to,
}


class FaultServer:
    """`with FaultServer() as s:` — s.url(path), s.results, s.hits, s.count(path)."""

    def __init__(self):
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.owner = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.lock = threading.Lock()
        self.hits: list[tuple[float, str, str, str]] = []  # (time, host, path, target)
        self.results: list[str] = []
        self.per_query: dict[str, list[str]] = {}  # query → results, else `results`
        self.redirects: dict[str, str] = {}
        self.completed: set[str] = set()
        self.stopping = threading.Event()
        bombs()  # made before any request, so no client waits for them

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def record(self, req: Request) -> None:
        with self.lock:
            self.hits.append((time.monotonic(), req.host, req.path, req.target))

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for _, _, p, _ in self.hits if p == path)

    def times(self, path: str) -> list[float]:
        with self.lock:
            return [t for t, _, p, _ in self.hits if p == path]

    def seen(self, needle: str) -> bool:
        with self.lock:
            return any(needle in target for *_, target in self.hits)

    def route_for(self, req: Request):
        path = req.path
        while path:
            if path in ROUTES:
                return ROUTES[path]
            path = path.rsplit("/", 1)[0]
        return lambda owner, req, sock: send(sock, 404, _page("Not found", ""))

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
