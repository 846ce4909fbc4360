"""Registrable domains, offline: tldextract's bundled Public Suffix List only.

Private suffixes (blogspot.com, github.io, ...) are kept apart, so
`scam.blogspot.com` is its own site and not Google's.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

# suffix_list_urls=() means "never fetch": the snapshot shipped in the wheel is used.
_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
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


def domain_matches(domain: str, official: list[str]) -> bool:
    """True when `domain` is one of `official` or a subdomain of one."""
    return any(domain == d or domain.endswith("." + d) for d in official)
