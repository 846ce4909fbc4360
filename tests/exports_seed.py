"""A small database of two crawl runs for the export and report tests.

Page-derived text carries injection strings: a title that is a spreadsheet
formula, a title and a URL that close the HTML title and open a script.
"""

from __future__ import annotations

from sqlite_utils import Database

from crawler import storage

FORMULA_TITLE = '=HYPERLINK("http://evil.example/x","Klik hier")'
SCRIPT = "<script>document.body.setAttribute('data-xss','ran')</script>"
SCRIPT_TITLE = "</title>" + SCRIPT
SCRIPT_URL = "http://apple-scam.nl/help?q=</title>" + SCRIPT
ATTR_URL = (
    "http://kpn-fake.nl/?r=\"><img src=x onerror=\"document.body.setAttribute('data-xss','url')\">"
)
AD_DISPLAY = "@microsoft-support"
RUN1_AT = "2026-10-01T10:00:00+00:00"
RUN2_AT = "2026-10-08T10:00:00+00:00"


def verdict(phone, score, risk, *, country="NL", number_type="voip", carrier=None, flagged=True):
    return {
        "phone": phone,
        "raw": phone,
        "source": "text",
        "is_fax": False,
        "number_type": number_type,
        "country": country,
        "nl_category": None,
        "carrier": carrier,
        "official_for": None if flagged else "Microsoft",
        "official": not flagged,
        "score": score,
        "risk": risk if flagged else None,
        "reasons": [f"reason for {phone}"] if flagged else ["official number of Microsoft"],
        "flagged": flagged,
    }


def page(url, domain, *, at, ip, title="t", brand="Microsoft", is_ad=False, rank=1, **kw):
    base = {
        "url": url,
        "entry_url": url,
        "domain": domain,
        "status": 200,
        "title": title,
        "engine": "bing",
        "query": f"{brand} helpdesk telefoonnummer",
        "brand": brand,
        "is_ad": is_ad,
        "rank": None if is_ad else rank,
        "ad_position": rank if is_ad else None,
        "serp_url": "http://127.0.0.1/search",
        "redirects": [],
        "ip": ip,
        "fetched_at": at,
        "warc_file": f"run-{at[:10]}.warc.gz",
        "warc_record_id": f"<urn:uuid:{domain}-{at[:10]}>",
        "payload_sha256": "ab" * 32,
    }
    base.update(kw)
    return base


def ad(db, run_id, p, *, title=FORMULA_TITLE, display=AD_DISPLAY):
    storage.save_serp_result(
        db,
        run_id,
        {
            "engine": p["engine"],
            "query": p["query"],
            "brand": p["brand"],
            "serp_url": p["serp_url"],
            "is_ad": True,
            "rank": None,
            "ad_position": p["ad_position"],
            "title": title,
            "url": "https://www.bing.com/aclick?u=x",
            "landing_url": p["entry_url"],
            "display_url": display,
            "snippet": "",
            "phones": [],
            "seen_at": p["fetched_at"],
        },
    )


def start(db, at) -> int:
    run_id = storage.start_run(db, "seed")
    db["runs"].update(run_id, {"started_at": at})
    return run_id


def run1(db: Database) -> int:
    run_id = start(db, RUN1_AT)
    ms = page(
        "http://microsoft-helpdesk-bellen.nl/",
        "microsoft-helpdesk-bellen.nl",
        at=RUN1_AT,
        ip="203.0.113.7",
        title=FORMULA_TITLE,
        is_ad=True,
    )
    storage.save_page(db, run_id, ms, [verdict("+31852081234", 90, "high")])
    ad(db, run_id, ms)
    storage.save_page(
        db,
        run_id,
        page(
            SCRIPT_URL,
            "apple-scam.nl",
            at=RUN1_AT,
            ip="203.0.113.8",
            title=SCRIPT_TITLE,
            brand="Apple",
            rank=2,
        ),
        [verdict("+319001234567", 60, "medium", number_type="premium_rate")],
    )
    storage.save_page(
        db,
        run_id,
        page(
            "http://icloud-hulp24.com/",
            "icloud-hulp24.com",
            at=RUN1_AT,
            ip="198.51.100.9",
            brand="Apple",
            rank=3,
        ),
        [verdict("+442038071234", 100, "high", country="GB", number_type="fixed_line")],
    )
    storage.save_page(
        db,
        run_id,
        page("http://www.microsoft.com/", "microsoft.com", at=RUN1_AT, ip="192.0.2.10", rank=4),
        [verdict("+31205001005", 0, None, flagged=False)],
    )
    storage.finish_run(db, run_id, {"serpwatch/serp_pages": 3})
    return run_id


def run2(db: Database) -> int:
    run_id = start(db, RUN2_AT)
    ms = page(
        "http://microsoft-helpdesk-bellen.nl/",
        "microsoft-helpdesk-bellen.nl",
        at=RUN2_AT,
        ip="203.0.113.7",
        title=FORMULA_TITLE,
        is_ad=True,
    )
    storage.save_page(
        db,
        run_id,
        ms,
        [verdict("+31852081234", 90, "high"), verdict("+31852081299", 90, "high")],
    )
    ad(db, run_id, ms)
    storage.save_page(
        db,
        run_id,
        page(
            ATTR_URL,
            "kpn-fake.nl",
            at=RUN2_AT,
            ip="192.0.2.1",
            title=SCRIPT_TITLE,
            brand="KPN",
            rank=1,
        ),
        [verdict("+31881234567", 75, "high", number_type="uan", carrier="KPN Mobile")],
    )
    storage.finish_run(db, run_id, {"serpwatch/serp_pages": 2})
    return run_id


def seeded(runs: int = 2, path=None) -> Database:
    db = Database(path) if path else Database(memory=True)
    storage.ensure_db_shape(db)
    run1(db)
    if runs > 1:
        run2(db)
    return db
