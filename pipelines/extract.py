"""Pull the phone numbers off each fetched page, and off the ads that led to it."""

from __future__ import annotations

import html

from crawler.items import PageItem
from crawler.phones import PhoneHit, extract_phones


def ad_hits(appearances: list[dict], known: set[str], region: str) -> list[PhoneHit]:
    """Numbers an ad showed (its text, its call extension) that the page does not.

    A scam ad may carry the number while its landing page shows none or another;
    the number is recorded on the landing page with source `ad`, read with the
    ad's title and text around it, so the scorer sees whose the ad says it is.
    """
    found: list[PhoneHit] = []
    for showing in appearances:
        missing = [p for p in showing.get("phones") or [] if p not in known]
        if not showing.get("is_ad") or not missing:
            continue
        e = html.escape
        calls = "".join(f"<p>Bel {e(p)}</p>" for p in missing)
        ad = f"<p>{e(showing.get('snippet') or '')}</p><p>{e(showing.get('title') or '')}</p>"
        for hit in extract_phones(ad + calls, region=region):
            if hit.phone in missing and hit.phone not in known:
                hit.source, hit.sources = "ad", ["ad"]
                known.add(hit.phone)
                found.append(hit)
    return found


class ExtractPhonesPipeline:
    """Fills `PageItem.hits` with `crawler.phones.extract_phones`, plus `ad_hits`."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, PageItem):
            region = self.crawler.spider.profile.region
            item.hits = extract_phones(item.html, region=region, url=item.url)
            known = {h.phone for h in item.hits}
            item.hits += ad_hits(item.appearances, known, region)
        return item
