"""Risk scoring: pure and explainable, as a table of rules.

`score(facts)` turns what is known about one number on one page (`Facts`) into
a `Verdict`: a score from 0 to 100, a risk level and one reason per signal,
each ending with the points it added or removed. Nothing here reads the
database or the network. The package's parts:

- `points`: the points of every signal, the risk levels and the README's table;
- `words`: the word lists (re.VERBOSE, one alternative per line);
- `text`: reading a page (title, visible text, page-wide signals, sentences);
- `facts`: `Facts` and `assess_page`, which returns the facts and verdicts of a
  page's numbers without writing onto the Scrapy item;
- `rules`: one function per signal or group of exclusive signals, in `RULES`;
- `pair`: `score` and `verdict_record`.

The facts that need history (the number on several domains, first seen
recently, an analyst's decision) are filled in at the end of a run by
`crawler.history.close_run`, which scores every sighting again.

Risk levels (documented in the README): high ≥ 70, medium ≥ 40, low below.
A number that is official for any brand is never flagged; a fax number neither.
"""

from __future__ import annotations

from crawler.scoring.facts import (
    Assessment,
    Facts,
    PageContext,
    context_of,
    number_facts,
    page_context,
)
from crawler.scoring.pair import SightingVerdict, Verdict, risk_of, score, verdict_record
from crawler.scoring.points import HIGH, MEDIUM, MIN_WATCH_DAYS, POINTS, RECENT_DAYS, points_table
from crawler.scoring.rules import RULES
from crawler.scoring.text import (
    PageFacts,
    brand_names,
    card_facts,
    infer_brand,
    number_sentence,
    own_service,
    page_facts,
    presents_as_brand,
    shared_host,
)
from crawler.scoring.words import ALARM, CLAIMS_OFFICIAL, REMOTE_TOOLS, WARNING, WEAK_WARNING

CARD_KINDS = ("local", "call")


def assess_page(
    url: str,
    html: str,
    hits: list,
    profile,
    *,
    brand: str | None = None,
    is_ad: bool = False,
    appearances=(),
    urls=(),
) -> Assessment:
    """A page's domain, title and brand, and a verdict record for each number on it.
    `urls`: where the page was entered and the results' URLs (for injected numbers)."""
    # Local and call cards (issue 16) are scored like ads: the engine showed
    # the business and its number to the victim as it shows a paid ad.
    is_ad = is_ad or any(s.get("kind") in CARD_KINDS for s in appearances)
    ctx = page_context(url, html, hits, profile, brand, is_ad, appearances, urls)
    return _assessment(ctx, hits, profile.region, brand, is_ad)


def assess_card(
    url: str, title: str, text: str, hits: list, profile, *, brand=None, appearances=()
) -> Assessment:
    """The verdicts of the numbers on an engine's local or call card that shows no
    website (issue 16). The card is read as its own page: its name is the title,
    its words the text, and it is scored like an ad. Its site is "" (no site):
    the pair is (no website, number), `url` the card's listing on the engine."""
    ctx = context_of(url, "", card_facts(title, text), hits, profile, brand, True, appearances)
    return _assessment(ctx, hits, profile.region, brand, True)


def _assessment(ctx: PageContext, hits: list, region: str, brand, is_ad: bool) -> Assessment:
    verdicts = [
        verdict_record(hit.to_dict(), number_facts(hit, ctx, region, is_ad)) for hit in hits
    ]
    return Assessment(
        domain=ctx.domain,
        title=ctx.page.title,
        brand=brand or (ctx.brand.name if ctx.brand else None),
        verdicts=verdicts,
    )


__all__ = [
    "ALARM",
    "CLAIMS_OFFICIAL",
    "HIGH",
    "MEDIUM",
    "MIN_WATCH_DAYS",
    "POINTS",
    "RECENT_DAYS",
    "REMOTE_TOOLS",
    "RULES",
    "WARNING",
    "WEAK_WARNING",
    "Assessment",
    "Facts",
    "PageContext",
    "PageFacts",
    "Verdict",
    "assess_card",
    "assess_page",
    "brand_names",
    "card_facts",
    "infer_brand",
    "number_sentence",
    "own_service",
    "page_facts",
    "points_table",
    "presents_as_brand",
    "risk_of",
    "score",
    "shared_host",
    "verdict_record",
    "SightingVerdict",
]
