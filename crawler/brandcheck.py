"""`serpwatch brands check`: the brands' own contact pages against the numbers listed for them.

Pure parts, no network and no database: `jobs(brands)` lists the pages to
fetch (each brand's `source` pages and the `source` of each number entry);
`compare(...)` takes what `crawler.fetch` brought back and says, per brand:

- per page: `ok`, `moved` (redirected elsewhere; still read), `failed` (no
  answer, or an HTTP error such as 404 or 500) or `blocked` (401, 403, 429,
  503, or a challenge page without numbers);
- per number: `confirmed` (listed and on a page), `stale` (listed, on none of
  the pages that answered), `unlisted` (on a page, not listed: missing?, with
  the sentence around it) or `unchecked` (listed, but no page answered, or the
  brand has no page to check);
- `overdue`: a listed number not confirmed for more than `max_age` days (by
  the latest of this check, the database's earlier checks and the entry's
  `checked` date).

Numbers are read with the crawler's own extractor (`crawler.phones`).
Everything that needs a look makes `needs_look` true (exit 1).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from crawler.config import Brand
from crawler.fetch import FetchJob, FetchResult
from crawler.net.headers import browser_headers
from crawler.phones import PhoneHit, extract_phones

BLOCK_STATUSES = {401, 403, 407, 429, 503}
# Markers of a challenge or bot wall, read only on a page that shows no number:
# contact pages often carry a reCAPTCHA on their form, so "captcha" alone is not one.
_CHALLENGE_MARKERS = (
    "cf-chl",
    "challenge-platform",
    "/cdn-cgi/challenge",
    "are you a robot",
    "verify you are human",
    "unusual traffic",
    "access denied",
    "attention required",
    "just a moment...",
    "px-captcha",
    "_incapsula_resource",
    "datadome",
)


@dataclass
class PageCheck:
    """One fetched source page of a brand."""

    brand: str
    url: str
    outcome: str  # ok | moved | failed | blocked
    detail: str = ""
    final_url: str = ""
    http_status: int | None = None
    ip: str | None = None
    fetched_at: str = ""
    numbers: list[str] = field(default_factory=list)  # E.164, page order
    # Filled when the page is kept as a WARC record.
    warc_file: str | None = None
    warc_record_id: str | None = None
    payload_sha256: str | None = None

    @property
    def answered(self) -> bool:
        return self.outcome in ("ok", "moved")


@dataclass
class NumberCheck:
    """One number of a brand: listed, on the brand's pages, or both."""

    brand: str
    phone: str  # E.164
    state: str  # confirmed | stale | unlisted | unchecked
    raw: str = ""  # as listed, or as shown on the page
    url: str = ""  # the page it was seen on (confirmed, unlisted)
    context: str = ""  # the sentence around it on that page
    is_fax: bool = False
    listed_for: str = ""  # another brand in the file that lists it
    last_confirmed: str = ""  # ISO date, before this check
    overdue: bool = False  # not confirmed for more than max_age days

    @property
    def needs_look(self) -> bool:
        if self.state == "unlisted":
            return not self.is_fax and not self.listed_for
        return self.state in ("stale",) or self.overdue


@dataclass
class BrandCheck:
    brand: str
    pages: list[PageCheck] = field(default_factory=list)
    numbers: list[NumberCheck] = field(default_factory=list)
    note: str = ""  # e.g. "no source page to check"

    @property
    def needs_look(self) -> bool:
        return any(not p.outcome == "ok" for p in self.pages) or any(
            n.needs_look for n in self.numbers
        )


@dataclass
class CheckReport:
    at: str  # ISO time of the check
    brands_file: str
    brands: list[BrandCheck]
    max_age: int
    warc_file: str | None = None

    @property
    def needs_look(self) -> bool:
        return any(b.needs_look for b in self.brands)

    @property
    def pages(self) -> list[PageCheck]:
        return [p for b in self.brands for p in b.pages]

    def to_dict(self) -> dict:
        return {
            "at": self.at,
            "brands_file": self.brands_file,
            "max_age_days": self.max_age,
            "warc_file": self.warc_file,
            "needs_look": self.needs_look,
            "brands": [
                {
                    "brand": b.brand,
                    "note": b.note,
                    "needs_look": b.needs_look,
                    "pages": [asdict(p) for p in b.pages],
                    "numbers": [{**asdict(n), "needs_look": n.needs_look} for n in b.numbers],
                }
                for b in self.brands
            ],
        }


def jobs(brands: list[Brand], language: str = "nl", region: str = "NL") -> list[FetchJob]:
    """One fetch per (brand, page); a page shared by two brands is fetched for each."""
    headers = browser_headers(language, region)
    return [
        FetchJob(url=url, key=(b.name, url), headers=headers) for b in brands for url in b.pages()
    ]


def classify(result: FetchResult, hits: list[PhoneHit]) -> tuple[str, str]:
    """(outcome, detail) of one fetched page."""
    if result.error:
        return "failed", result.error
    status = result.status or 0
    if status in BLOCK_STATUSES:
        return "blocked", f"HTTP {status}"
    if status >= 400:
        return "failed", f"HTTP {status}"
    if not hits:
        lower = result.body[:200_000].decode("utf-8", "replace").lower()
        marker = next((m for m in _CHALLENGE_MARKERS if m in lower), None)
        if marker:
            return "blocked", f"a challenge page ({marker!r}), no numbers"
    if result.redirects and _moved(result.job.url, result.url):
        return "moved", f"now at {result.url}"
    return "ok", f"HTTP {status}"


def _moved(asked: str, final: str) -> bool:
    """Redirected to another page: not only http→https or a trailing slash."""
    a, b = urlsplit(asked), urlsplit(final)
    same_host = (a.hostname or "").removeprefix("www.") == (b.hostname or "").removeprefix("www.")
    return not (same_host and a.path.rstrip("/") == b.path.rstrip("/") and a.query == b.query)


def read_page(result: FetchResult, region: str) -> tuple[PageCheck, list[PhoneHit]]:
    """A fetched page as a PageCheck, with the numbers on it (none unless it answered)."""
    brand, url = result.job.key
    hits: list[PhoneHit] = []
    if not result.error and (result.status or 0) < 400:
        hits = extract_phones(result.body, region=region, url=result.url)
    outcome, detail = classify(result, hits)
    if outcome in ("failed", "blocked"):
        hits = []
    page = PageCheck(
        brand=brand,
        url=url,
        outcome=outcome,
        detail=detail,
        final_url=result.url,
        http_status=result.status,
        ip=result.ip,
        fetched_at=result.fetched_at,
        numbers=[h.phone for h in hits],
    )
    return page, hits


def compare(
    brands: list[Brand],
    results: list[FetchResult],
    *,
    region: str,
    today: dt.date,
    max_age: int,
    last_confirmed: dict[str, str] | None = None,
    brands_file: str = "",
    at: str = "",
) -> CheckReport:
    """The report of one check; `last_confirmed` is E.164 → ISO time of earlier checks."""
    last_confirmed = last_confirmed or {}
    by_key = {r.job.key: r for r in results}
    listed_by = {p: b.name for b in brands for p in b.phones}
    out = []
    for brand in brands:
        check = BrandCheck(brand.name)
        seen: dict[str, tuple[PageCheck, PhoneHit]] = {}
        for url in brand.pages():
            result = by_key.get((brand.name, url))
            if result is None:
                check.pages.append(PageCheck(brand.name, url, "failed", "not fetched"))
                continue
            page, hits = read_page(result, region)
            check.pages.append(page)
            for hit in hits:
                seen.setdefault(hit.phone, (page, hit))
        answered = [p for p in check.pages if p.answered]
        if not check.pages:
            check.note = "no source page to check (`source` is empty or not a web page)"
        for entry in brand.official:
            check.numbers.append(
                _listed(brand, entry, seen, answered, today, max_age, last_confirmed)
            )
        for phone, (page, hit) in seen.items():
            if phone in brand.phones:
                continue
            other = listed_by.get(phone, "")
            check.numbers.append(
                NumberCheck(
                    brand=brand.name,
                    phone=phone,
                    state="unlisted",
                    raw=hit.raw,
                    url=page.final_url or page.url,
                    context=sentence(hit.context, hit.raw),
                    is_fax=hit.is_fax,
                    listed_for=other,
                )
            )
        out.append(check)
    return CheckReport(
        at=at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        brands_file=brands_file,
        brands=out,
        max_age=max_age,
    )


def _listed(brand, entry, seen, answered, today, max_age, last_confirmed) -> NumberCheck:
    before = [d for d in (entry.checked, _day(last_confirmed.get(entry.number))) if d]
    last = max(before) if before else None
    number = NumberCheck(
        brand=brand.name,
        phone=entry.number,
        state="unchecked",
        raw=entry.raw,
        last_confirmed=last.isoformat() if last else "",
    )
    if entry.number in seen:
        page, hit = seen[entry.number]
        number.state, number.url = "confirmed", page.final_url
        number.context = sentence(hit.context, hit.raw)
        return number
    if answered:
        number.state = "stale"
        number.url = ", ".join(p.final_url or p.url for p in answered)
    number.overdue = last is None or (today - last).days > max_age
    return number


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9À-Ý“\"'(])|\n+")


def sentence(context: str, raw: str) -> str:
    """The sentence of `context` that holds the number as shown (`raw`), else all of it."""
    digits = re.sub(r"\D", "", raw)
    for part in _SENTENCE_END.split(context):
        if raw in part or (digits and digits in re.sub(r"\D", "", part)):
            return " ".join(part.split())
    return " ".join(context.split())


def _day(at: str | None) -> dt.date | None:
    if not at:
        return None
    try:
        return dt.date.fromisoformat(at[:10])
    except ValueError:
        return None


def render(report: CheckReport) -> str:
    """The report as text for the terminal (and `--out` files not ending in .json)."""
    lines = [f"brands check of {report.brands_file} at {report.at}"]
    if report.warc_file:
        lines.append(f"evidence: {report.warc_file}")
    skipped = [b.brand for b in report.brands if b.note and not b.numbers]
    for b in report.brands:
        if b.brand in skipped:
            continue
        lines.append("")
        lines.append(f"{b.brand}" + ("  -- needs a look" if b.needs_look else "  -- agrees"))
        if b.note:
            lines.append(f"  {b.note}")
        for p in b.pages:
            count = len(p.numbers)
            found = f", {count} number{'s' if count != 1 else ''}" if p.answered else ""
            lines.append(f"  page {p.outcome.upper()}: {p.url} ({p.detail}{found})")
        for n in b.numbers:
            lines.append("  " + _number_line(n, report.max_age))
    if skipped:
        lines.append("")
        lines.append(
            f"{len(skipped)} brands have neither numbers nor a source page to check:"
            f" {', '.join(skipped)}"
        )
    looks = sum(b.needs_look for b in report.brands)
    lines.append("")
    lines.append(
        f"{len(report.brands)} brands, {len(report.pages)} pages:"
        + (f" {looks} brands need a look." if looks else " everything agrees.")
    )
    return "\n".join(lines)


def _number_line(n: NumberCheck, max_age: int) -> str:
    if n.state == "confirmed":
        return f"{n.phone}  listed, on the page: {n.url}"
    if n.state == "unlisted":
        why = "missing?"
        if n.is_fax:
            why = "a fax number, not proposed"
        elif n.listed_for:
            why = f"listed for {n.listed_for}"
        return f"{n.phone}  on the page, not listed ({why}): {n.url}\n      “{n.context}”"
    last = f"last confirmed {n.last_confirmed}" if n.last_confirmed else "never confirmed"
    age = f"; not confirmed for more than {max_age} days" if n.overdue else ""
    if n.state == "stale":
        return f"{n.phone}  listed, NOT on the page any more (stale?): {n.url} ({last}{age})"
    return f"{n.phone}  listed, not checked: no page answered ({last}{age})"


def db_rows(report: CheckReport) -> tuple[dict, list[dict], list[dict]]:
    """The check, its pages and its numbers as rows for `storage.save_brand_check`."""
    check = {
        "at": report.at,
        "brands_file": report.brands_file,
        "warc_file": report.warc_file,
        "pages": len(report.pages),
        "needs_look": sum(b.needs_look for b in report.brands),
        "summary": f"{sum(b.needs_look for b in report.brands)} of {len(report.brands)} brands",
    }
    pages = [
        {
            "brand": p.brand,
            "url": p.url,
            "final_url": p.final_url,
            "http_status": p.http_status,
            "outcome": p.outcome,
            "detail": p.detail,
            "ip": p.ip,
            "warc_file": p.warc_file,
            "warc_record_id": p.warc_record_id,
            "payload_sha256": p.payload_sha256,
            "fetched_at": p.fetched_at,
        }
        for p in report.pages
    ]
    numbers = [
        {
            "brand": n.brand,
            "phone": n.phone,
            "state": n.state,
            "url": n.url,
            "context": n.context,
            "at": report.at,
        }
        for b in report.brands
        for n in b.numbers
    ]
    return check, pages, numbers


def run_check(
    brands_path,
    db_path,
    *,
    region: str,
    max_age: int,
    language: str = "nl",
    overrides: dict | None = None,
) -> CheckReport:
    """Load, fetch, compare, keep WARC evidence and a dated record in the database."""
    from pathlib import Path

    from crawler import settings, storage
    from crawler.config import load_brands
    from crawler.evidence import WarcStore, warc_dir_for
    from crawler.fetch import fetch_all

    brands = load_brands(brands_path, region)
    db = storage.open_db(db_path)
    try:
        last = storage.last_confirmed(db)
    finally:
        db.close()
    results = fetch_all(jobs(brands, language, region), overrides=overrides)
    now = dt.datetime.now(dt.UTC)
    report = compare(
        brands,
        results,
        region=region,
        today=now.date(),
        max_age=max_age,
        last_confirmed=last,
        brands_file=str(brands_path),
        at=now.isoformat(timespec="seconds"),
    )
    answered = [r for r in results if r.status is not None]
    if answered:
        folder = warc_dir_for(db_path, settings.SERPWATCH_WARC_DIR or None)
        store = WarcStore(folder, f"serpwatch-brands-{now.strftime('%Y%m%dT%H%M%SZ')}.warc.gz")
        pages = {(p.brand, p.url): p for p in report.pages}
        try:
            for r in answered:
                page = pages.get(r.job.key)
                ev = store.write_page(
                    url=r.url,
                    status=r.status,
                    headers=r.headers,
                    body=r.body,
                    ip=r.ip,
                    fetched_at=r.fetched_at,
                    context={
                        "purpose": "serpwatch brands check",
                        "brand": r.job.key[0],
                        "requested_url": r.job.url,
                        "redirects": [*r.redirects, r.url] if r.redirects else [],
                        "outcome": page.outcome if page else None,
                    },
                )
                if page is not None:
                    page.warc_file = ev.warc_file
                    page.warc_record_id = ev.warc_record_id
                    page.payload_sha256 = ev.payload_sha256
        finally:
            store.close()
        report.warc_file = str((Path(folder) / store.name).resolve())
    db = storage.open_db(db_path)
    try:
        storage.save_brand_check(db, *db_rows(report))
    finally:
        db.close()
    return report
