"""XARF v4 abuse reports for hosts: one report per site, one JSON object per line.

The format hosting companies ingest (AWS among them). Each report is category
`content`, type `fraud`, `fraud_type: tech_support`, about one site: the page
`url` (the strongest pair's), its `domain`, the brand it poses as
(`claimed_entity` and `target_brand`), when the crawler last saw it
(`verified_at`, `verification_method: automated_crawler`), the server
address the crawler connected to (`source_identifier`, else the domain), a
description with the numbers and the reasons, and `evidence`: every page of
the site as fetched (base64, with its `sha256:` hash, the same bytes the
WARC record cites) and the browser's screenshot where there is one. When a
page's WARC file is not at hand, a text item cites the record and the hash.

Who reports: `SERPWATCH_REPORTER_ORG`, `SERPWATCH_REPORTER_CONTACT` (an
e-mail address) and `SERPWATCH_REPORTER_DOMAIN` in the environment; XARF
requires all three, for both `reporter` and `sender`.

Dismissed sites and known legitimate third parties are never reported; XARF
has no withdrawal, so a dismissal after a report is the analyst's to tell.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable
from datetime import UTC
from itertools import groupby
from typing import IO

from crawler import storage
from crawler.exports.evidence_files import Attachment, EvidenceFiles
from crawler.exports.rowtext import encode_function
from crawler.risk import RISK_ORDER

XARF_VERSION = "4.0.0"
DEFAULT_REPORTER = {
    "org": "serpwatch",
    "contact": "abuse-reports@serpwatch.invalid",
    "domain": "serpwatch.invalid",
}
MAX_EVIDENCE = 50  # XARF's limit per report


def reporter() -> dict:
    """The reporting organisation, from the environment (defaults name nobody)."""
    return {
        "org": os.environ.get("SERPWATCH_REPORTER_ORG") or DEFAULT_REPORTER["org"],
        "contact": os.environ.get("SERPWATCH_REPORTER_CONTACT") or DEFAULT_REPORTER["contact"],
        "domain": os.environ.get("SERPWATCH_REPORTER_DOMAIN") or DEFAULT_REPORTER["domain"],
    }


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_+.-]+", "-", text.lower()).strip("-.") or "unknown"
    return slug if slug[0].isalnum() else "x" + slug


@functools.lru_cache(maxsize=4096)
def _iso(value: str | None) -> str | None:
    # A run's pages share their times.
    t = storage.parse_time(value)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def _item(a: Attachment) -> dict:
    return {
        "content_type": a.content_type,
        "description": a.description,
        "payload": base64.b64encode(a.data).decode("ascii"),
        "hash": f"sha256:{a.sha256}",
        "size": len(a.data),
    }


def _citation(r: dict) -> dict:
    """A text evidence item citing a page's WARC record when its bytes are not at hand."""
    text = (
        f"{r['url']} fetched {r.get('last_seen')} from {r.get('ip') or 'an unknown address'}; "
        f"page SHA-256 {r.get('payload_sha256')}; WARC record {r.get('warc_record_id')} "
        f"in {r.get('warc_file')}"
    ).encode()
    return {
        "content_type": "text/plain",
        "description": "Where the crawler keeps the page as fetched (WARC evidence)",
        "payload": base64.b64encode(text).decode("ascii"),
        "hash": f"sha256:{hashlib.sha256(text).hexdigest()}",
        "size": len(text),
    }


def _evidence(pairs: list[dict], files: EvidenceFiles) -> list[dict]:
    items: list[dict] = []
    pages: set[tuple] = set()
    for r in pairs:
        page = (r.get("url"), r.get("warc_record_id"))
        if page in pages:
            continue
        pages.add(page)
        found = files.page(r)
        if found is not None:
            items.append(_item(found))
        elif r.get("warc_record_id") or r.get("payload_sha256"):
            items.append(_citation(r))
        shot = files.screenshot(r)
        if shot is not None:
            items.append(_item(shot))
    return items[:MAX_EVIDENCE]


def report(domain: str, pairs: list[dict], files: EvidenceFiles, who: dict) -> dict:
    """One XARF v4 report (content / fraud / tech_support) about one site."""
    pairs = sorted(pairs, key=lambda r: (-(r.get("score") or 0), r["phone"]))
    top = pairs[0]
    brands = sorted({r.get("brand") for r in pairs if r.get("brand")})
    risk = max((r.get("risk") for r in pairs), key=lambda x: RISK_ORDER.get(x or "", 0))
    last = max((_iso(r.get("last_seen")) or "" for r in pairs), default="") or None
    numbers = sorted({r["phone"] for r in pairs})
    why = "; ".join(dict.fromkeys(str(x) for r in pairs for x in (r.get("reasons") or [])))
    description = (
        f"Fake {' / '.join(brands) or 'brand'} helpdesk (tech support scam) showing "
        f"{', '.join(numbers)}. {why}"
    )
    out = {
        "xarf_version": XARF_VERSION,
        "report_id": str(uuid.uuid4()),
        "timestamp": last or _iso(storage.now()),
        "reporter": who,
        "sender": who,
        "source_identifier": top.get("ip") or domain,
        "category": "content",
        "type": "fraud",
        "fraud_type": "tech_support",
        "url": top["url"],
        "domain": domain.encode("idna").decode("ascii"),
        "evidence_source": "crawler",
        "verification_method": "automated_crawler",
        "confidence": round(max(r.get("score") or 0 for r in pairs) / 100, 2),
        "description": description[:1000],
        "tags": [f"brand:{_slug(b)}" for b in brands] + [f"risk:{risk}"],
        "evidence": _evidence(pairs, files),
    }
    if last:
        out["verified_at"] = last
    if brands:
        out["claimed_entity"] = out["target_brand"] = brands[0]
    return out


def _reportable(records: Iterable[dict]):
    for r in records:
        if r.get("third_party") or r.get("status") == "dismissed" or not r["domain"]:
            continue  # a card without a website (issue 16) has no site to report to a host
        yield r


def reports(records: list[dict], files: EvidenceFiles | None = None) -> list[dict]:
    """One report per site of these flagged-pair records."""
    files = files or EvidenceFiles(None)
    by_site: dict[str, list[dict]] = {}
    for r in _reportable(records):
        by_site.setdefault(r["domain"], []).append(r)
    who = reporter()
    return [report(d, pairs, files, who) for d, pairs in sorted(by_site.items())]


# json.dumps(report, ensure_ascii=False), its encoder made once.
_ENCODE = encode_function(json.JSONEncoder(ensure_ascii=False))


def write_xarf(
    records: Iterable[dict],
    out: IO[str],
    *,
    files: EvidenceFiles | None = None,
    by_site: bool = False,
) -> int:
    """Write one XARF v4 report per site, one JSON object per line.

    `by_site`: the records come ordered by site (`storage.flagged_rows(by_site=True)`),
    so each site's report is written as soon as its last pair is read, and only
    one site's pairs are held."""
    if not by_site:
        made = reports(list(records), files)
        for r in made:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        return len(made)
    files = files or EvidenceFiles(None)
    who = reporter()
    n = 0
    for domain, pairs in groupby(_reportable(records), key=lambda r: r["domain"]):
        out.write(_ENCODE(report(domain, list(pairs), files, who)) + "\n")
        n += 1
    return n
