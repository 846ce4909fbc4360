"""`serpwatch queries suggest`: queries victims are offered, found by evidence.

Two sources:

- the engines' autocomplete endpoints (Bing's OpenSearch JSON, DuckDuckGo's
  `ac/`, Google's suggest JSON), asked for every brand keyword followed by
  each helpdesk word of the profile's language packs (`helpdesk_words` in
  crawler/templates/<lang>.toml), in that pack's language;
- the "related searches", "people also ask" and suggestion blocks of result
  pages already crawled (stored per run in `related_searches`).

`rank` counts how many engines offered each candidate (and how many seeds or
runs), names the brand it mentions, and says what already covers it: a
query of the profile, or a template that would make it for another brand.
Uncovered candidates come first. The parsers here are pure; the fetching goes
through `crawler.fetch` (Scrapy, the project's downloader and SSRF guard).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from crawler.brands import brand_in
from crawler.config import PACKS_DIR, Profile, TemplatePack, load_pack, query_key
from crawler.fetch import FetchJob, FetchResult
from crawler.net.headers import json_headers

ENDPOINTS = {
    "bing": "https://api.bing.com/osjson.aspx",
    "duckduckgo": "https://duckduckgo.com/ac/",
    "google": "https://suggestqueries.google.com/complete/search",
}
KEYWORDS_PER_BRAND = 2  # the brand's name and its first keywords: enough seeds, few requests


@dataclass(frozen=True)
class Offer:
    """One candidate text as one source offered it."""

    text: str
    engine: str
    kind: str  # autocomplete | related | people_also_ask | suggestion
    seed: str = ""  # the autocomplete prefix, or the crawled query


@dataclass
class Candidate:
    text: str
    score: int
    engines: list[str]
    kinds: list[str]
    offers: int
    brand: str | None = None
    covered: str = ""  # what already covers it, or ""

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "score": self.score,
            "engines": self.engines,
            "kinds": self.kinds,
            "offers": self.offers,
            "brand": self.brand,
            "covered": self.covered,
        }


@dataclass
class Found:
    offers: list[Offer] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one summary line per engine
    asked: int = 0  # autocomplete requests made (or skipped after a block)
    failed: int = 0  # of those, the ones that brought nothing back

    @property
    def none_answered(self) -> bool:
        """Autocomplete was asked and no endpoint answered: only crawled pages are left."""
        return bool(self.asked) and self.failed == self.asked


def suggest_url(kind: str, base: str, text: str, language: str, region: str) -> str:
    """The autocomplete request for `text` on an engine kind."""
    lang, reg = language.lower(), region.lower()
    params = {
        "bing": {"query": text, "market": f"{lang}-{reg.upper()}"},
        "duckduckgo": {"q": text, "kl": f"{reg}-{lang}"},
        "google": {"client": "firefox", "q": text, "hl": lang, "gl": reg},
    }[kind]
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


def parse_suggestions(body: bytes, content_type: str = "") -> list[str]:
    """Suggestions from an autocomplete answer: OpenSearch `[q, [s, ...]]` or `[{phrase}]`."""
    match = re.search(r"charset=([\w.-]+)", content_type or "", re.I)
    try:
        text = body.decode(match.group(1) if match else "utf-8")
    except (LookupError, UnicodeDecodeError):
        text = body.decode("latin-1")
    try:
        data = json.loads(text)
    except ValueError:
        return []
    out: list[str] = []
    if isinstance(data, list) and len(data) >= 2 and isinstance(data[1], list):
        out = [s for s in data[1] if isinstance(s, str)]
    elif isinstance(data, list):
        phrases = [d.get("phrase") for d in data if isinstance(d, dict)]
        out = [p for p in phrases if isinstance(p, str)]
    return [" ".join(s.split()) for s in out if s.strip()]


def packs_of(profile: Profile) -> list[TemplatePack]:
    """The profile's included packs, else the bundled pack of its language (if any)."""
    if profile.packs:
        return profile.packs
    bundled = PACKS_DIR / f"{profile.language}.toml"
    return [load_pack(bundled)] if bundled.exists() else []


def seeds(profile: Profile) -> list[tuple[str, str]]:
    """(language, prefix) pairs: each brand keyword followed by each helpdesk word."""
    out: list[tuple[str, str]] = []
    for pack in packs_of(profile):
        for brand in profile.brands:
            words = [brand.name.lower(), *brand.keywords]
            keywords = list(dict.fromkeys(w.lower() for w in words))[:KEYWORDS_PER_BRAND]
            for keyword in keywords:
                for word in pack.helpdesk_words:
                    pair = (pack.language, f"{keyword} {word.lower()}")
                    if pair not in out:
                        out.append(pair)
    return out


def jobs(profile: Profile, engines: tuple[str, ...] | list[str] = ()) -> list[FetchJob]:
    kinds = list(engines) or profile.suggest.engines
    out = []
    for kind in kinds:
        base = profile.suggest.urls.get(kind) or ENDPOINTS[kind]
        for language, prefix in seeds(profile):
            out.append(
                FetchJob(
                    url=suggest_url(kind, base, prefix, language, profile.region),
                    key=(kind, prefix),
                    headers=json_headers(language, profile.region),
                    slot=f"suggest:{kind}",
                    dont_retry=True,
                )
            )
    return out


def offers_from(results: list[FetchResult]) -> Found:
    """Offers from the autocomplete answers; failures summarised per engine."""
    found = Found(asked=len(results))
    failed: dict[str, list[str]] = {}
    for r in results:
        kind, prefix = r.job.key
        if r.error or (r.status or 0) >= 400:
            failed.setdefault(kind, []).append(r.error or f"HTTP {r.status}")
            continue
        for text in parse_suggestions(r.body, r.header("content-type")):
            found.offers.append(Offer(text=text, engine=kind, kind="autocomplete", seed=prefix))
    found.failed = sum(len(r) for r in failed.values())
    for kind, reasons in failed.items():
        found.failures.append(f"{kind}: {len(reasons)} autocomplete requests failed ({reasons[0]})")
    return found


def offers_from_related(rows: list[dict]) -> list[Offer]:
    """Offers from stored related-search rows (crawler.storage.related_searches)."""
    return [
        Offer(text=" ".join(r["text"].split()), engine=r["engine"], kind=r["kind"], seed=r["query"])
        for r in rows
        if r.get("text")
    ]


def collect(
    profile: Profile,
    *,
    engines: tuple[str, ...] | list[str] = (),
    fetch: bool = True,
    related: list[dict] | None = None,
    overrides: dict | None = None,
) -> Found:
    """Ask the autocomplete endpoints (unless `fetch` is false) and add the related searches."""
    found = Found()
    if fetch:
        from crawler.fetch import fetch_all

        kinds = list(engines) or profile.suggest.engines
        slots = {f"suggest:{k}": profile.suggest.delay for k in kinds}
        found = offers_from(fetch_all(jobs(profile, engines), slots=slots, overrides=overrides))
    found.offers.extend(offers_from_related(related or []))
    return found


def _template_patterns(profile: Profile) -> list[tuple[str, re.Pattern]]:
    out = []
    for template in profile.templates:
        head, _, tail = template.partition("{brand}")
        pattern = re.compile(rf"^{re.escape(query_key(head))}(.+?){re.escape(query_key(tail))}$")
        out.append((template, pattern))
    return out


def covered_by(profile: Profile, text: str, patterns=None) -> str:
    """What already covers `text`: a query of the profile, or a template; "" if nothing."""
    key = query_key(text)
    for _brand, query in profile.queries():
        if query_key(query) == key:
            return "a query of the profile"
    names = {query_key(n) for b in profile.brands for n in [b.name, *b.keywords]}
    for template, pattern in patterns or _template_patterns(profile):
        m = pattern.match(key)
        if m and m.group(1).strip() in names:
            return f"template {template!r}"
    return ""


def rank(profile: Profile, offers: list[Offer]) -> list[Candidate]:
    """Candidates, uncovered first, then by engines that offered them and how often."""
    grouped: dict[str, list[Offer]] = {}
    for offer in offers:
        grouped.setdefault(query_key(offer.text), []).append(offer)
    patterns = _template_patterns(profile)
    out = []
    for group in grouped.values():
        engines = sorted({o.engine for o in group})
        kinds = sorted({o.kind for o in group})
        text = group[0].text
        out.append(
            Candidate(
                text=text,
                # Offered by more engines weighs most; then how many seeds or result pages.
                score=10 * len(engines) + len({(o.engine, o.seed) for o in group}),
                engines=engines,
                kinds=kinds,
                offers=len(group),
                brand=_brand_name(text, profile.brands),
                covered=covered_by(profile, text, patterns),
            )
        )
    out.sort(key=lambda c: (bool(c.covered), -c.score, c.text))
    return out


def add_to_profile(path, texts: list[str]) -> list[str]:
    """Append `texts` to the profile's [queries] extra, comments kept; return those added."""
    import datetime as dt
    from pathlib import Path

    from crawler.config import load_profile
    from crawler.tomledit import add_extra

    path = Path(path)
    before = path.read_text(encoding="utf-8")
    after, added = add_extra(before, texts, dt.date.today())
    if added:
        path.write_text(after, encoding="utf-8")
        try:
            load_profile(path)
        except Exception:
            path.write_text(before, encoding="utf-8")  # never leave a profile that does not load
            raise
    return added


def _brand_name(text: str, brands) -> str | None:
    brand = brand_in(text, brands, names=True)
    return brand.name if brand else None
