"""Registrable domains, offline: tldextract's bundled Public Suffix List only.

Private suffixes (blogspot.com, github.io, ...) and the site builders in
`SITE_BUILDERS` are kept apart, so `scam.blogspot.com` is its own site and
not Google's.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

# Site builders and blog hosts whose sites are someone's, not the host's, and
# which the Public Suffix List does not list as private suffixes (it does list
# blogspot.com, github.io, wixsite.com, netlify.app, ...).
SITE_BUILDERS = (
    "wordpress.com",
    "weebly.com",
    "jimdosite.com",
    "jimdofree.com",
    "webnode.nl",
    "webnode.com",
    "godaddysites.com",
    "strikingly.com",
    "mystrikingly.com",
    "site123.me",
    "000webhostapp.com",
    "tumblr.com",
    "over-blog.com",
    "jouwweb.nl",
    "business.site",
    "blogger.com",
)
# Hosts that serve many people's sites under paths, not names.
PATH_HOSTS = ("sites.google.com",)

# suffix_list_urls=() means "never fetch": the snapshot shipped in the wheel is used.
_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(),
    cache_dir=None,
    include_psl_private_domains=True,
    extra_suffixes=SITE_BUILDERS,
)


@lru_cache(maxsize=65536)
def registrable_domain(host_or_url: str) -> str:
    """`https://www.Microsoft.nl/x` → `microsoft.nl`; unknown suffixes stay as they are."""
    host = host_or_url
    if "//" in host_or_url:
        host = urlsplit(host_or_url).hostname or ""
    host = host.strip().strip(".").lower()
    parts = _EXTRACT(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return host


def within(host: str, domain: str) -> bool:
    """True when `host` is `domain` or a subdomain of it (`a.b.nl` is within `b.nl`,
    `ab.nl` is not). The one rule for "inside a domain"; both are lower case."""
    return host == domain or host.endswith("." + domain)


def domain_matches(domain: str, official) -> bool:
    """True when `domain` is one of `official` or a subdomain of one."""
    return any(within(domain, d) for d in official)


def host_parts(host_or_url: str) -> tuple[list[str], str, bool]:
    """(labels before the public suffix, the suffix, whether the suffix is a private one).

    `https://www.kpn-storing.blogspot.com/` → (["www", "kpn-storing"], "blogspot.com", True).
    A host whose suffix is unknown (`brand.test`) keeps all labels but the last
    as its name labels, and the last as its suffix.
    """
    labels, suffix, private = _host_parts(host_or_url)
    return list(labels), suffix, private  # a list of its own: callers may change it


# Scoring asks this of the same page's URL several times, and of each brand's
# domains on every page (bench/throughput.py).
@lru_cache(maxsize=65536)
def _host_parts(host_or_url: str) -> tuple[tuple[str, ...], str, bool]:
    host = host_or_url
    if "//" in host_or_url:
        host = urlsplit(host_or_url).hostname or ""
    host = host.strip().strip(".").lower()
    parts = _EXTRACT(host)
    if parts.suffix:
        labels = [x for x in (parts.subdomain.split(".") + [parts.domain]) if x]
        private = bool(getattr(parts, "is_private", False)) or parts.suffix in SITE_BUILDERS
        return tuple(labels), parts.suffix, private
    labels = [x for x in host.split(".") if x]
    return tuple(labels[:-1]), (labels[-1] if labels else ""), False
