"""Score every number on a page against the brand's official contacts."""

from __future__ import annotations

from crawler.items import PageItem, SerpItem
from crawler.phones import result_hits
from crawler.scoring import assess_card, assess_page


def score_page(item: PageItem, profile) -> None:
    """Put a page's domain, title, brand and verdicts (`crawler.scoring.assess_page`)
    on its item: the scorer returns them, the pipeline writes them."""
    found = assess_page(
        item.url,
        item.html,
        item.hits,
        profile,
        brand=item.brand,
        is_ad=item.is_ad,
        appearances=item.appearances,
        urls=[item.entry_url, *(a.get("landing_url") or "" for a in item.appearances)],
    )
    item.domain, item.title, item.verdicts = found.domain, found.title, found.verdicts
    item.brand = found.brand


def score_card(item: SerpItem, profile) -> None:
    """Put the verdicts of a card without a website on its item: its numbers are
    read from the card as a result's are (`result_hits`), and the card is its
    own page (`crawler.scoring.assess_card`)."""
    showing = {"kind": item.kind, "title": item.title, "snippet": item.snippet}
    showing["phones"] = list(item.phones)
    hits = result_hits([showing], set(), profile.region)
    text = " ".join(t for t in (item.snippet, item.address) if t)
    found = assess_card(
        item.listing_url, item.title, text, hits, profile, brand=item.brand, appearances=[showing]
    )
    item.verdicts = found.verdicts


class ScorePipeline:
    """Fills `PageItem.domain`, `title`, `brand` and `verdicts`; the verdicts of a
    card without a website (`SerpItem.verdicts`)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, PageItem):
            score_page(item, self.crawler.spider.profile)
        elif isinstance(item, SerpItem) and item.siteless_card:
            score_card(item, self.crawler.spider.profile)
        return item
