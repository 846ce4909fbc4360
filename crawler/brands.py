"""The brands registry: checks for official domains and keywords, and known third parties.

A brands file lists each brand's official contacts (`[[brands]]`, see
DESIGN.md) and, optionally, known legitimate third parties (`[[third_parties]]`:
fraud help desks, consumer organisations, news sites) whose numbers and pages
lower a score instead of raising it. Keeping them in data lets maintainers tune
the list without touching code:

```toml
[[third_parties]]
name = "Fraudehelpdesk"
kind = "fraud help desk"
domains = ["fraudehelpdesk.nl"]
phones = ["088 786 73 72"]
source = "https://www.fraudehelpdesk.nl/"
```

Official domains are reduced to their registrable domain with tldextract's
bundled list (`www.microsoft.com/nl-nl` → `microsoft.com`); a bare public
suffix (`co.uk`) or a shared-hosting suffix (`blogspot.com`, a private entry of
the list) is refused, because every site under it belongs to someone else.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from crawler.domains import host_parts, registrable_domain

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")


@dataclass
class ThirdParty:
    """A known legitimate third party: its numbers and sites lower the score."""

    name: str
    kind: str = ""
    domains: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # E.164
    source: str = ""


def normalise_domain(value: str) -> str:
    """`https://www.Microsoft.com/nl-nl` → `microsoft.com`; ValueError says what is wrong."""
    v = value.strip().lower()
    if "//" in v:
        v = urlsplit(v).hostname or ""
    else:
        v = v.split("/", 1)[0].split(":", 1)[0]
    v = v.strip(".")
    for prefix in ("*.", "www."):
        if v.startswith(prefix):
            v = v[len(prefix) :]
    try:
        ipaddress.ip_address(v)
    except ValueError:
        pass
    else:
        raise ValueError("is an IP address, not a domain")
    try:
        v = v.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("is not a valid domain name") from None
    if not _HOST_RE.match(v):
        raise ValueError("is not a domain name; write it as example.com")
    labels, suffix, private = host_parts(v)
    if not labels:
        if private:
            raise ValueError(
                "is a shared-hosting suffix (a private entry of the public suffix list):"
                " every site under it belongs to someone else; list the brand's own site"
            )
        raise ValueError("is a public suffix, not a domain; list the brand's own domain")
    return registrable_domain(v)


def normalise_keyword(value: str) -> str:
    """Lowercase, single spaces; at least two characters with a letter among them."""
    v = " ".join(value.lower().split())
    if len(v) < 2 or not any(ch.isalpha() for ch in v):
        raise ValueError("is too short to be a brand keyword (two characters or more)")
    return v


def word_hits(text: str, words: Iterable[str]) -> int:
    """How often the words occur in `text` as whole words (`ing` in "ING bellen",
    not in "bellingen"); the caller gives both in lower case."""
    # A word that is no substring of the text cannot be a whole word in it.
    return sum(len(_whole_word(w).findall(text)) for w in words if w and w in text)


@lru_cache(maxsize=4096)
def _whole_word(word: str) -> re.Pattern:
    # The word first, the look-behind after it (`(?<!\w)word` as a fixed-width
    # `(?<!\wword)`): a pattern that starts with a literal is searched at C speed.
    esc = re.escape(word)
    return re.compile(rf"{esc}(?<!\w{esc})(?!\w)")


def brand_in(text: str, brands, *, names: bool = False):
    """The brand a text is about: the one whose keywords (with `names`, its name too)
    occur most often in it as whole words, the first listed on a tie; None if none does.

    The one rule for a page (crawler.scoring's `infer_brand` reads its domain,
    title and text) and for a query text (`queries try`, `queries suggest`).
    """
    low = text.lower()
    best, best_hits = None, 0
    for brand in brands:
        words = list(brand.keywords)
        if names and brand.name.lower() not in words:
            words.append(brand.name.lower())
        hits = word_hits(low, words)
        if hits > best_hits:
            best, best_hits = brand, hits
    return best
