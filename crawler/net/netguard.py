"""The SSRF guard's policy: which URLs and addresses a crawl may reach.

Pure functions (no Scrapy, no Twisted) that the downloader middleware
(`crawler.middlewares.NetGuardMiddleware`), the resolver and the connection
pool (`crawler.net.resolver`) share, so all three layers judge alike:

- `parse_ip(host)`: the address a host string denotes, in every form a URL
  parser or `inet_aton` accepts (``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
  ``127.1``, ``[::ffff:127.0.0.1]``, fullwidth digits, trailing dot).
- `ip_problem(ip)`: why an address is not a public one (loopback, private,
  link-local such as 169.254.169.254, CGNAT 100.64/10, unspecified,
  multicast, reserved, IPv4 hidden in IPv6), or None.
- `url_problem(url)`: why a URL that came from a page may not be fetched.

`NetGuard` is the per-crawl policy: what the operator configured (engine
hosts, `SERPWATCH_TRUSTED_HOSTS`, the proxy) is trusted; everything else is
checked unless the profile says `allow_private = true` (or the setting
`SERPWATCH_ALLOW_PRIVATE` is on). See docs/SECURITY.md.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
import unicodedata
import weakref
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from scrapy.exceptions import IgnoreRequest

from crawler.domains import within

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPAT = ipaddress.ip_network("::/96")

# Names that never denote a public web site: RFC 6761/6762/8375 special-use
# names, ICANN's reserved `.internal`, and common private zones. Checked even
# behind a proxy, because there the proxy (inside our network) would resolve
# them.
INTERNAL_SUFFIXES = (
    "localhost",
    "local",
    "internal",
    "home.arpa",
    "localdomain",
    "lan",
    "intranet",
    "corp",
)
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
# RFC 3986 authority characters; anything else (backslash, spaces, control
# characters) is where URL parsers disagree about the host.
_AUTHORITY_OK = re.compile(r"^[A-Za-z0-9.\-_~%!$&'()*+,;=:\[\]]+$")


class RefusedRequest(IgnoreRequest):
    """A request the SSRF guard or a crawl bound refused; never retried."""

    def __init__(self, url: str, reason: str, *, stat: str):
        super().__init__(f"refused {url}: {reason}")
        self.url = url
        self.reason = reason
        self.stat = stat


class RefusedAddress(RefusedRequest):
    """The host resolved to, or the connection reached, a non-public address."""


def normalize_host(host: str) -> str:
    """Lower-case, NFKC (fullwidth digits and dots), no brackets, no trailing dot."""
    h = unicodedata.normalize("NFKC", unquote(host or "")).strip().lower()
    h = h.replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    return h[:-1] if h.endswith(".") else h


def _ipv4_from_parts(parts: list[str]) -> ipaddress.IPv4Address | None:
    """inet_aton/WHATWG numbers: 1 to 4 parts, each decimal, 0x hex or 0 octal."""
    values = []
    for part in parts:
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not all(c in "01234567" for c in part):
                return None
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for i, v in enumerate(head):
        number += v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def parse_ip(host: str) -> IPAddress | None:
    """The IP address `host` denotes, in any literal form, or None for a name."""
    h = normalize_host(host)
    if not h:
        return None
    if ":" in h:
        try:
            return ipaddress.ip_address(h)
        except ValueError:
            return None
    parts = h.split(".")
    if 1 <= len(parts) <= 4 and all(_NUMERIC_LABEL.match(p) for p in parts):
        return _ipv4_from_parts(parts)
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def ip_problem(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address a page may send us to, or None."""
    if ip.version == 6:
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = ip_problem(inner)
            if problem:
                return f"IPv4 {inner} inside IPv6, {problem}"
            if ip.ipv4_mapped:
                return None
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata lives here)"
    if ip.is_multicast:
        return "multicast"
    if ip.version == 4 and ip in _CGNAT:
        return "shared address space (CGNAT 100.64.0.0/10)"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


def host_problem(host: str) -> str | None:
    """Why a URL's host may not be fetched (literal addresses and internal names)."""
    h = normalize_host(host)
    if not h:
        return "no host"
    ip = parse_ip(h)
    if ip is not None:
        problem = ip_problem(ip)
        return f"address {ip} is {problem}" if problem else None
    if ":" in h:
        return "malformed IPv6 address"
    labels = h.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # WHATWG: a host whose last label is a number is an IPv4 address or invalid.
        return "malformed numeric address"
    if len(labels) == 1:
        return f"single-label name {h!r} (an internal host, never a public site)"
    for suffix in INTERNAL_SUFFIXES:
        if within(h, suffix):
            return f"internal name {h!r} (.{suffix})"
    return None


def scheme_problem(url: str) -> str | None:
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    if scheme not in ALLOWED_SCHEMES:
        return f"scheme {scheme or '(none)'!r} is not http or https"
    return None


def url_problem(url: str) -> str | None:
    """Why a URL from a page may not be fetched: scheme, authority, host; or None."""
    problem = scheme_problem(url)
    if problem:
        return problem
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"unparsable URL: {exc}"
    if "@" in parts.netloc:
        return "credentials in the URL (a classic parser-confusion trick)"
    if not _AUTHORITY_OK.match(parts.netloc or "-"):
        return "unusual characters in the host"
    return host_problem(parts.hostname or "")


def endpoint(url: str) -> tuple[str, int] | None:
    """(host, port) of a URL, the unit of trust; None when it has no host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = normalize_host(parts.hostname or "")
    if not host:
        return None
    return host, port or (443 if parts.scheme.lower() == "https" else 80)


@dataclass
class GuardContext:
    """What one download may connect to; filled in by the resolver as it refuses."""

    url: str = ""
    active: bool = True
    refused: list[tuple[str, str]] = field(default_factory=list)
    dns_timed_out: bool = False

    @property
    def host(self) -> str:
        ep = endpoint(self.url)
        return ep[0] if ep else ""

    def covers_lookup(self, name: str) -> bool:
        """True for the lookup of this download's own host while the guard is on.

        Other lookups (a proxy's name for a tunnel, made later from whatever
        context the reactor runs it in) are not this download's to judge; the
        connection pool checks every guarded connection's peer anyway.
        """
        return self.active and bool(name) and normalize_host(name) == self.host

    def check(self, host: str) -> str | None:
        """Why the connection may not use address `host`, or None."""
        if not self.active:
            return None
        ip = parse_ip(host)
        problem = "not an IP address" if ip is None else ip_problem(ip)
        if problem:
            self.refused.append((host, problem))
        return problem


# The guard of the download being started. Each download runs in its own
# task (so its own context); the resolver and the pool read it synchronously
# while the download handler opens the connection. Unset means strict.
current_guard: contextvars.ContextVar[GuardContext | None] = contextvars.ContextVar(
    "serpwatch_guard", default=None
)


def active_guard() -> GuardContext:
    """The current download's guard; outside a download, a strict one."""
    return current_guard.get() or GuardContext(url="(unknown)")


class NetGuard:
    """Per-crawl SSRF policy: trusted endpoints and whether the guard is on."""

    _by_crawler: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self, *, enabled: bool = True, trusted: set[tuple[str, int]] | None = None):
        self.enabled = enabled
        self.trusted = set(trusted or ())

    @classmethod
    def for_crawler(cls, crawler) -> NetGuard:
        """The crawl's guard, built on first use from its settings and profile."""
        guard = cls._by_crawler.get(crawler)
        if guard is None:
            guard = cls._from_crawler(crawler)
            if getattr(crawler, "spider", None) is not None:
                cls._by_crawler[crawler] = guard
        return guard

    @classmethod
    def _from_crawler(cls, crawler) -> NetGuard:
        settings = crawler.settings
        profile = getattr(getattr(crawler, "spider", None), "profile", None)
        enabled = not (
            settings.getbool("SERPWATCH_ALLOW_PRIVATE")
            or bool(getattr(profile, "allow_private", False))
        )
        trusted = set()
        for item in settings.getlist("SERPWATCH_TRUSTED_HOSTS"):
            ep = endpoint(item if "//" in item else f"http://{item}")
            if ep:
                trusted.add(ep)
        if profile is not None:
            trusted |= engine_endpoints(profile)
        return cls(enabled=enabled, trusted=trusted)

    def is_trusted(self, request) -> bool:
        """An engine request (meta `serpwatch_trusted`) to a configured engine endpoint."""
        if not request.meta.get("serpwatch_trusted"):
            return False
        return endpoint(request.url) in self.trusted

    def check_request(self, request) -> str | None:
        """Why a request may not be sent (before any connection), or None."""
        problem = scheme_problem(request.url)
        if problem or not self.enabled or self.is_trusted(request):
            return problem
        return url_problem(request.url)

    def connection_guard(self, request) -> GuardContext:
        """The guard for the connection a download opens.

        Inactive when the guard is off, the request is trusted, or it goes
        through the configured proxy (then the peer is the proxy).
        """
        active = self.enabled and not self.is_trusted(request) and not request.meta.get("proxy")
        return GuardContext(url=request.url, active=active)


def engine_endpoints(profile) -> set[tuple[str, int]]:
    """(host, port) of every engine the profile configures, default endpoints included."""
    from crawler.engines import ENGINES

    out = set()
    for engine in getattr(profile, "engines", []):
        url = engine.url
        if not url and engine.kind in ENGINES:
            try:
                url = (
                    ENGINES[engine.kind]
                    .build_request(
                        "serpwatch",
                        language=profile.language,
                        region=profile.region,
                        page=1,
                        base_url=None,
                    )
                    .url
                )
            except Exception:  # noqa: BLE001 - e.g. an API key missing; then untrusted
                url = None
        ep = endpoint(url) if url else None
        if ep:
            out.add(ep)
    return out
