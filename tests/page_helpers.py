"""One stored page for the history and storage tests: a bing result for
"Microsoft helpdesk" whose page on `domain` shows `phone`, scored from `facts`."""

from __future__ import annotations

from crawler import storage
from crawler.scoring import Facts, verdict_record


def save_seen(d, run_id, domain, phone, at, facts=None, *, path="/", **page) -> None:
    """Store the page `domain` + `path`, seen at `at`; `page` overrides its fields."""
    is_ad = page.get("is_ad", False)
    f = Facts(phone=phone, brand="Microsoft", domain=domain, is_ad=is_ad, **(facts or {}))
    hit = {"phone": phone, "raw": phone, "source": "text", "number_type": "voip", "country": "NL"}
    url = f"http://{domain}{path}"
    stored = {
        "url": url,
        "entry_url": url,
        "domain": domain,
        "status": 200,
        "title": "",
        "engine": "bing",
        "query": "Microsoft helpdesk",
        "brand": "Microsoft",
        "is_ad": is_ad,
        "rank": 1,
        "ad_position": None,
        "serp_url": "http://engine/search",
        "fetched_at": at,
        **page,
    }
    storage.save_page(d, run_id, stored, [verdict_record(hit, f).as_dict()])
