"""The browser's SSRF guard: a forward proxy that Chromium is forced through.

Chromium resolves names and opens connections itself, out of sight of
Scrapy's downloader middlewares, resolver and connection pool. So every
browser context gets its own listening port on this proxy (a *tap*) and is
launched with it as its only proxy (Playwright also proxies loopback, see
`crawler.render.browser`). With a proxy set, Chromium resolves no names: the
proxy does, and it connects to the very address it judged, so DNS rebinding
gains nothing. It sees every connection the page makes: the document, its
redirects, subresources, `fetch`/XHR, WebSockets (tunnelled with CONNECT),
iframes, popups and service workers.

What a tap refuses, with the same policy as `crawler.net.netguard` (one judge
for both): every literal non-public address in any notation, internal names
(`localhost`, `*.internal`, single labels, ...), and names that resolve only
to non-public addresses; schemes other than http and https (a plain-HTTP
request must be in absolute `http://` form). Unless the crawl has
`allow_private = true`. An operator's upstream proxy (`http_proxy`) is used
the way Scrapy uses it: the upstream resolves names, literal addresses and
internal names are still refused here.

One exception, configured by the operator: the endpoints of a tap's
`trusted_names` (a configured engine endpoint, when its result page is
pictured: the render request is an engine request to that endpoint).

Everything a tap allowed and refused is recorded on the tap, and a tap is
bounded in bytes; closing it drops every connection it still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.net.netguard import host_problem, ip_problem, normalize_host, parse_ip

logger = logging.getLogger(__name__)

Resolve = Callable[[str, int], Awaitable[list[str]]]

MAX_HEAD = 64 * 1024  # request line and headers
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
_HOP_HEADERS = {
    b"proxy-connection",
    b"proxy-authorization",
    b"connection",
    b"keep-alive",
    b"te",
    b"trailer",
    b"upgrade",
}


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, from the system resolver (as the browser would ask)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in seen:
            seen.append(sockaddr[0])
    return seen


@dataclass
class TapPolicy:
    """What one browser context may connect to."""

    allow_private: bool = False
    # (host, port) endpoints the operator configured (an engine): any address.
    trusted_names: frozenset[tuple[str, int]] = frozenset()
    # The operator's proxies (http_proxy, https_proxy): plain requests, CONNECT.
    upstream_http: tuple[str, int] | None = None
    upstream_https: tuple[str, int] | None = None
    max_bytes: int = 64 * 1024 * 1024  # both directions, all connections
    dns_timeout: float = 10.0
    deny_all: str | None = None  # why this tap refuses everything (the launch-level one)


@dataclass(eq=False)
class Tap:
    """One browser context's listening port and what went through it."""

    policy: TapPolicy
    port: int = 0
    allowed: list[str] = field(default_factory=list)  # "host:port" connected to
    refused: list[tuple[str, str]] = field(default_factory=list)  # (target, why)
    bytes: int = 0
    cut: str | None = None  # why the tap dropped its connections
    _server: asyncio.AbstractServer | None = None
    _writers: set = field(default_factory=set)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _endpoint_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class GuardProxy:
    """The guarded forward proxy, on its own thread and event loop.

    `open_tap(policy)` (from any thread or loop) gives a new listening port on
    127.0.0.1; `close_tap(tap)` ends it and its connections; `stop()` ends all.
    """

    def __init__(self, resolve: Resolve | None = None):
        self.resolve = resolve or system_resolve
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="serpwatch-guard-proxy", daemon=True)
        self._taps: set[Tap] = set()
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    # -- control, from other threads ---------------------------------------------

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def open_tap_async(self, policy: TapPolicy) -> Tap:
        return await asyncio.wrap_future(self._call(self._open(policy)))

    async def close_tap_async(self, tap: Tap) -> None:
        await asyncio.wrap_future(self._call(self._close(tap)))

    def open_tap(self, policy: TapPolicy) -> Tap:
        return self._call(self._open(policy)).result(10)

    def stop(self) -> None:
        if not self.loop.is_running():
            return
        with contextlib.suppress(Exception):
            self._call(self._close_all()).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    # -- inside the proxy's loop -------------------------------------------------

    async def _open(self, policy: TapPolicy) -> Tap:
        tap = Tap(policy=policy)

        async def serve(reader, writer):
            await self._serve(tap, reader, writer)

        tap._server = await asyncio.start_server(serve, "127.0.0.1", 0, limit=MAX_HEAD)
        tap.port = tap._server.sockets[0].getsockname()[1]
        self._taps.add(tap)
        return tap

    async def _close(self, tap: Tap) -> None:
        self._taps.discard(tap)
        if tap._server is not None:
            tap._server.close()
        for writer in list(tap._writers):
            writer.close()
        tap._writers.clear()

    async def _close_all(self) -> None:
        for tap in list(self._taps):
            await self._close(tap)

    async def _serve(self, tap: Tap, reader, writer) -> None:
        tap._writers.add(writer)
        upstream_writer = None
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            method, target, head = _parse_head(head)
            if method is None:
                await _answer(writer, 400, "bad request")
                return
            host, port, problem = _target(method, target)
            if problem is None:
                connect_to, problem = await self._judge(tap, host, port, method == b"CONNECT")
            label = _endpoint_text(host, port) if host else target
            if problem is not None:
                tap.refused.append((label, problem))
                logger.info("browser guard refused %s: %s", label, problem)
                await _answer(writer, 403, f"refused by serpwatch: {problem}")
                return
            try:
                up_reader, upstream_writer = await asyncio.wait_for(
                    asyncio.open_connection(*connect_to), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as exc:
                await _answer(writer, 502, f"cannot connect: {exc}")
                return
            tap._writers.add(upstream_writer)
            tap.allowed.append(label)
            via_upstream = connect_to in (tap.policy.upstream_http, tap.policy.upstream_https)
            if method == b"CONNECT":
                if via_upstream:
                    upstream_writer.write(head)  # the upstream answers the CONNECT
                else:
                    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(
                    self._pump(tap, reader, upstream_writer),
                    self._pump(tap, up_reader, writer),
                )
                return
            # One plain request per connection: a second request on a kept-alive
            # connection would reach this judged destination without a judgement.
            length = _content_length(head)
            if length is None:
                await _answer(writer, 400, "request body without Content-Length")
                return
            body = await reader.readexactly(length) if length else b""
            upstream_writer.write(_one_request(head, absolute=via_upstream) + body)
            await self._pump(tap, up_reader, writer)
        except (ConnectionError, OSError, EOFError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    tap._writers.discard(w)
                    w.close()

    async def _pump(self, tap: Tap, reader, writer) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                tap.bytes += len(data)
                if tap.bytes > tap.policy.max_bytes:
                    tap.cut = f"more than {tap.policy.max_bytes} bytes through the browser"
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()
            if tap.cut:
                writer.close()

    async def _judge(
        self, tap: Tap, host: str, port: int, tunnel: bool
    ) -> tuple[tuple[str, int], str | None]:
        """Where to connect for (host, port), or why not."""
        policy = tap.policy
        upstream = policy.upstream_https if tunnel else policy.upstream_http
        if policy.deny_all:
            return ("", 0), policy.deny_all
        name = normalize_host(host)
        if (name, port) in policy.trusted_names:
            if upstream is not None:
                return upstream, None
            return (name, port), None
        literal = parse_ip(name)
        if not policy.allow_private:
            problem = host_problem(name)
            if problem:
                return ("", 0), problem
        if upstream is not None:
            return upstream, None  # the proxy resolves the name
        if literal is not None:
            return (str(literal), port), None
        return await self._resolve(policy, name, port)

    async def _resolve(
        self, policy: TapPolicy, name: str, port: int
    ) -> tuple[tuple[str, int], str | None]:
        """Resolve `name` here and pick the first address the policy allows."""
        try:
            addresses = await asyncio.wait_for(self.resolve(name, port), policy.dns_timeout)
        except TimeoutError:
            return ("", 0), "DNS lookup timed out"
        except OSError as exc:
            return ("", 0), f"DNS lookup failed: {exc}"
        why = []
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                continue
            if policy.allow_private:
                return (str(ip), port), None
            problem = ip_problem(ip)
            if problem is None:
                return (str(ip), port), None
            why.append(f"{ip} ({problem})")
        if not why:
            return ("", 0), "no address"
        return ("", 0), "resolved only to non-public addresses: " + ", ".join(why[:4])


def _parse_head(head: bytes) -> tuple[bytes | None, str, bytes]:
    line, _, _rest = head.partition(b"\r\n")
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        return None, "", head
    return parts[0].upper(), parts[1].decode("latin-1"), head


def _target(method: bytes, target: str) -> tuple[str, int, str | None]:
    """(host, port, problem) of a proxy request's target."""
    if method == b"CONNECT":
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            return "", 0, "bad CONNECT target"
        return host, int(port), None
    parts = urlsplit(target)
    if parts.scheme.lower() != "http":
        return "", 0, f"scheme {parts.scheme or '(none)'!r} is not http (https goes by CONNECT)"
    try:
        port = parts.port or 80
    except ValueError:
        return "", 0, "bad port"
    if "@" in parts.netloc:
        return "", 0, "credentials in the URL"
    return parts.hostname or "", port, None if parts.hostname else "no host"


MAX_BODY = 16 * 1024 * 1024


def _content_length(head: bytes) -> int | None:
    """The request body's length; None when it is chunked or too large to pass."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            try:
                n = int(value.strip())
            except ValueError:
                return None
            return n if 0 <= n <= MAX_BODY else None
    return 0


def _one_request(head: bytes, *, absolute: bool) -> bytes:
    """The proxy request as the next hop expects it, asking to close after one answer.

    To an origin server in origin form (`GET /path`); to an upstream proxy as is.
    """
    lines = head.split(b"\r\n")
    method, target, version = lines[0].split(b" ")
    if absolute:
        first = lines[0]
    else:
        parts = urlsplit(target.decode("latin-1"))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        first = b" ".join([method, path.encode("latin-1"), version])
    out = [first]
    for line in lines[1:]:
        if not line:
            continue
        name = line.split(b":", 1)[0].strip().lower()
        if name not in _HOP_HEADERS:
            out.append(line)
    out.append(b"Connection: close")
    return b"\r\n".join(out) + b"\r\n\r\n"


async def _answer(writer, status: int, text: str) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    body = text.encode("utf-8", "replace")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(Exception):
        await writer.drain()
