"""The MISP event as PyMISP's own objects make it: the oracle for the streamed
writer (crawler.exports.misp), which writes the same JSON without them.

This was the writer until a year's export (hundreds of thousands of pairs, a
millisecond each in PyMISP) made it too slow; tests compare the two.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import phonenumbers
from pymisp import MISPEvent, MISPObject

from crawler import storage
from crawler.exports.evidence_files import Attachment, EvidenceFiles

THREAT_LEVEL = {"high": 1, "medium": 2, "low": 3}  # MISP: 1 high .. 4 undefined


def _tag(name: str, value) -> str:
    return f'serpwatch:{name}="{str(value).replace(chr(34), chr(39))}"'


def _when(value: str | None) -> datetime | None:
    return storage.parse_time(value)


def _reasons(r: dict) -> str:
    reasons = r.get("reasons") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    return f"Risk {r.get('risk')}, score {r.get('score')}: " + "; ".join(map(str, reasons))


def phone_object(r: dict) -> MISPObject:
    """The MISP `phone-number` object of a record's number."""
    obj = MISPObject("phone-number", standalone=False)
    obj.add_attribute("phone-number", r["phone"], to_ids=r.get("status") != "dismissed")
    try:
        number = phonenumbers.parse(r["phone"])
    except phonenumbers.NumberParseException:
        number = None
    if r.get("country"):
        obj.add_attribute("country-code", r["country"])
    if number is not None:
        national = phonenumbers.national_significant_number(number)
        ndc = phonenumbers.length_of_national_destination_code(number)
        obj.add_attribute("country-code-numeric", f"+{number.country_code}")
        if ndc:
            obj.add_attribute("national-destination-code", national[:ndc])
            obj.add_attribute("subscriber-number", national[ndc:])
    text = f"{r.get('brand') or 'unknown brand'} helpdesk number ({r.get('number_type')})"
    if r.get("carrier"):
        text += f", carrier {r['carrier']}"
    obj.add_attribute("text", text)
    obj.comment = _reasons(r)
    first, last = _when(r.get("first_seen")), _when(r.get("last_seen"))
    if first:
        obj.first_seen = first
    if last and (not first or last >= first):
        obj.last_seen = last
    return obj


def _attach(event: MISPEvent, a: Attachment, comment: str, tags: list[str]) -> None:
    attr = event.add_attribute(
        "attachment",
        a.name,
        data=io.BytesIO(a.data),
        category="External analysis",
        comment=f"{a.description}; sha256 {a.sha256}; {comment}"[:1000],
        to_ids=False,
    )
    for t in tags:
        attr.add_tag(t)


def event(
    records: list[dict],
    *,
    files: EvidenceFiles | None = None,
    info: str = "serpwatch: fake helpdesk numbers in search results",
    now: datetime | None = None,
) -> MISPEvent:
    """One MISP event for these flagged-pair records."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    files = files or EvidenceFiles(None)
    records = [r for r in records if not r.get("third_party")]
    ev = MISPEvent()
    ev.info = info
    ev.date = now.date()
    ev.distribution = 0  # this organisation only, until the analyst shares it
    ev.analysis = 2  # completed: the crawler's verdicts
    risks = [r.get("risk") for r in records if r.get("status") != "dismissed"]
    ev.threat_level_id = min((THREAT_LEVEL.get(x, 4) for x in risks), default=4)
    ev.add_tag("tlp:amber")
    ev.add_tag('circl:incident-classification="scam"')
    for brand in sorted({r.get("brand") or "unknown brand" for r in records}):
        ev.add_tag(_tag("brand", brand))
    phones: dict[str, MISPObject] = {}
    for r in sorted(records, key=lambda r: (-(r.get("score") or 0), r["phone"], r["domain"])):
        live = r.get("status") != "dismissed"
        tags = [
            _tag("brand", r.get("brand") or "unknown brand"),
            _tag("risk", r.get("risk")),
            _tag("status", r.get("status") or "new"),
        ]
        if r["phone"] not in phones:
            obj = phone_object(r)
            for t in tags:
                obj.attributes[0].add_tag(t)
            phones[r["phone"]] = ev.add_object(obj)
        where = f"{r['phone']} seen on {r['domain'] or 'a search engine card (no website)'}"
        first, last = _when(r.get("first_seen")), _when(r.get("last_seen"))
        seen = {"first_seen": first, "last_seen": last} if first and last and last >= first else {}
        url = ev.add_attribute(
            "url", r["url"], category="Network activity", to_ids=live, comment=where, **seen
        )
        attrs = [url]
        if r["domain"]:  # a card without a website (issue 16) has no domain
            attrs.append(
                ev.add_attribute(
                    "domain", r["domain"], category="Network activity", to_ids=live, comment=where
                )
            )
        for attr in attrs:
            for t in tags:
                attr.add_tag(t)
        phones[r["phone"]].add_reference(url.uuid, "seen-on", comment=_reasons(r)[:1000])
        if r.get("payload_sha256"):
            ev.add_attribute(
                "sha256",
                r["payload_sha256"],
                category="External analysis",
                to_ids=False,
                comment=(
                    f"SHA-256 of {r['url']} as fetched: WARC record "
                    f"{r.get('warc_record_id')} in {r.get('warc_file')}"
                )[:1000],
            )
        for found in (files.page(r), files.screenshot(r)):
            if found is not None:
                _attach(ev, found, where, tags)
    return ev
