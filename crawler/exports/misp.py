"""MISP: one event per export, written as the pairs come.

For the CERTs and police who share through MISP. The event holds, per
flagged number, a `phone-number` object (E.164, country code, the E.164
country calling code, national destination and subscriber number) whose
comment is the strongest pair's reasons; per pair, the page's `url` and
its `domain` as attributes, and the page's evidence: its SHA-256 and, when
the WARC file is at hand, the page itself as an attachment, and the
browser's screenshot where there is one. Tags carry the brand, the risk and
the status (`serpwatch:brand="Microsoft"`, `serpwatch:risk="high"`).

Only pairs at or above the export's floor are in it (medium unless asked
otherwise), never a known legitimate third party. A pair an analyst
dismissed after it was sent comes in the next delta with `to_ids` off and
the tag `serpwatch:status="dismissed"`, so a MISP instance can withdraw it; a
pair sent that fell below the floor since comes with `to_ids` off and its risk.

The event is MISP's JSON (`{"Event": ...}`), written attribute by attribute:
PyMISP's objects cost about a millisecond a pair and hold the whole event,
which a year's export (hundreds of thousands of pairs) cannot afford. The
`phone-number` object's fields are PyMISP's own template's (`_TEMPLATE`, held
to PyMISP's by the tests), and the tests load every event with PyMISP and its
schema.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import IO

import phonenumbers

from crawler import storage
from crawler.exports.changed_pairs import BELOW_FLOOR, withdrawn
from crawler.exports.evidence_files import Attachment, EvidenceFiles
from crawler.exports.rowtext import encode_function
from crawler.exports.spool import Spool

THREAT_LEVEL = {"high": 1, "medium": 2, "low": 3}  # MISP: 1 high .. 4 undefined
# What a number's object reads from its strongest pair (kept until the end).
_NUMBER_FIELDS = (
    "phone",
    "country",
    "brand",
    "number_type",
    "carrier",
    "status",
    "risk",
    "score",
    "reasons",
    "first_seen",
    "last_seen",
    BELOW_FLOOR,
)
INFO = "serpwatch: fake helpdesk numbers in search results"
_RELATIONS = (
    "phone-number",
    "country-code",
    "country-code-numeric",
    "national-destination-code",
    "subscriber-number",
    "text",
)


def _tag(name: str, value) -> str:
    return f'serpwatch:{name}="{str(value).replace(chr(34), chr(39))}"'


def _tags(names: list[str]) -> list[dict]:
    return [{"name": t} for t in names]


def _when(value: str | None) -> datetime | None:
    return storage.parse_time(value)


def _uuid4() -> str:
    """str(uuid.uuid4()): random, version 4, made a few hundred at a time without
    uuid.UUID (a pair takes several, a delta has tens of thousands of pairs)."""
    if not _UUIDS:
        _UUIDS.extend(_random_uuids(512))
    return _UUIDS.pop()


_UUIDS: list[str] = []
# A forked child draws its own (a pool copied from the parent would repeat its uuids).
os.register_at_fork(after_in_child=_UUIDS.clear)


def _random_uuids(n: int) -> list[str]:
    """n random version 4 UUIDs' text, made at once: random hex digits with the dashes,
    the version (4) and the RFC 4122 variant (8, 9, a or b, from a random digit) set
    in place, column by column, then cut (a fifth of the cost of making each one of
    a digest's hex, a pair takes several)."""
    text = bytearray(os.urandom(18 * n).hex(), "ascii")
    for at in (8, 13, 18, 23):
        text[at::36] = b"-" * n
    text[14::36] = b"4" * n
    text[19::36] = text[19::36].translate(_VARIANT_DIGIT)
    made = text.decode("ascii")
    return [made[i : i + 36] for i in range(0, 36 * n, 36)]


# A random hex digit as a random variant digit: each of 8, 9, a, b from four digits.
_VARIANT_DIGIT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")


# json.dumps(..., ensure_ascii=False): one encoder, not one made per attribute.
_JSON = encode_function(json.JSONEncoder(ensure_ascii=False))


def _reasons(r: dict) -> str:
    reasons = r.get("reasons") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    return f"Risk {r.get('risk')}, score {r.get('score')}: " + "; ".join(map(str, reasons))


def _seen(r: dict) -> dict:
    """first_seen/last_seen for MISP, only when both are known and in order."""
    return _seen_of(r.get("first_seen"), r.get("last_seen"))


@functools.lru_cache(maxsize=4096)
def _seen_of(first_seen: str | None, last_seen: str | None) -> dict:
    # A run's pairs share their times; the dict is only read (merged into an attribute).
    first, last = _when(first_seen), _when(last_seen)
    if first and last and last >= first:
        return {"first_seen": first.isoformat(), "last_seen": last.isoformat()}
    return {}


# PyMISP's `phone-number` object template (MISPObject("phone-number")): the object's
# header and each relation's attribute fields (type, category, to_ids,
# disable_correlation). Pinned, so that an export does not import PyMISP (a
# quarter of a second of every MISP export); tests/test_exports_fast.py holds it
# to the template of the PyMISP installed.
_TEMPLATE_HEADER = {
    "name": "phone-number",
    "meta-category": "mobile",
    "template_uuid": "c4b5a67c-63d2-11ec-90d6-0242ac120003",
    "description": "Phone number based on the E.164 international public telecommunication"
    " numbering plan",
    "template_version": "1",
    "distribution": "5",
    "sharing_group_id": "0",
}
_TEXT = {"type": "text", "category": "Other", "to_ids": False, "disable_correlation": True}
_TEMPLATE_FIELDS = {
    "phone-number": {
        "type": "phone-number",
        "category": "Person",
        "to_ids": False,
        "disable_correlation": False,
    },
    **{relation: _TEXT for relation in _RELATIONS[1:]},
}


def _template() -> tuple[dict, dict[str, dict]]:
    """The `phone-number` object's header and each relation's attribute fields."""
    return _TEMPLATE_HEADER, _TEMPLATE_FIELDS


def _attribute(kind: str, value: str, category: str, to_ids: bool, comment: str, **more) -> dict:
    return {
        "uuid": _uuid4(),
        "type": kind,
        "value": value,
        "category": category,
        "to_ids": to_ids,
        "disable_correlation": False,
        "comment": comment,
        **more,
    }


def _number_parts(r: dict) -> list[tuple[str, str]]:
    """(relation, value) of the number's object, after the number itself."""
    parts = []
    if r.get("country"):
        parts.append(("country-code", r["country"]))
    try:
        number = phonenumbers.parse(r["phone"])
    except phonenumbers.NumberParseException:
        number = None
    if number is not None:
        national = phonenumbers.national_significant_number(number)
        ndc = _ndc_length(number)
        parts.append(("country-code-numeric", f"+{number.country_code}"))
        if ndc:
            parts.append(("national-destination-code", national[:ndc]))
            parts.append(("subscriber-number", national[ndc:]))
    text = f"{r.get('brand') or 'unknown brand'} helpdesk number ({r.get('number_type')})"
    if r.get("carrier"):
        text += f", carrier {r['carrier']}"
    parts.append(("text", text))
    return parts


def _ndc_length(number: phonenumbers.PhoneNumber) -> int:
    """phonenumbers.length_of_national_destination_code, without the number's type
    (dozens of regular expressions) where it cannot matter: it only counts for a
    country whose mobile numbers carry a token (Argentina's 9)."""
    if number.extension is not None or phonenumbers.country_mobile_token(number.country_code):
        return phonenumbers.length_of_national_destination_code(number)
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    groups = _NON_DIGITS.split(text)
    return len(groups[2]) if len(groups) > 3 else 0


_NON_DIGITS = re.compile(r"(?:\D+)")


# What the numbers' objects need (each one's first pair, every pair's reference)
# stays in memory up to this many characters, then goes to the spool: a delta's
# few tens of thousands of pairs are not written and read back one by one, and a
# year's export (hundreds of thousands) keeps flat memory.
_KEPT_CHARS = 32_000_000


@dataclass
class _Number:
    """A number's object, written after the attributes it refers to: its first
    (strongest) pair and its references (url uuid, comment), each kept in memory
    or, past `_KEPT_CHARS`, in the spool (an int: its offset there)."""

    uuid: str
    first: dict | int
    references: list[tuple | int] = field(default_factory=list)

    def text(self, spool: Spool) -> str:
        """The number's `phone-number` object as the event's JSON text: its number and
        parts (`_number_parts`) as attributes, a `seen-on` reference to each of its
        pairs' URL attributes. Written as text, not made as dicts and encoded (a
        delta writes thousands of numbers): tests/test_exports_rowtext.py holds it to
        the object's dict encoded (`_reference_object` there)."""
        r = spool.get(self.first) if type(self.first) is int else self.first
        tags = _tags_text(r.get("brand"), r.get("risk"), r.get("status"))
        attributes = [
            f'{{"uuid": "{_uuid4()}", "Tag": {tags}, "object_relation": "phone-number", '
            f'"value": {_q(r["phone"])}, {_PHONE_FIELDS[not withdrawn(r)]}}}'
        ]
        for relation, value in _number_parts(r):
            head, tail = _PART_TEXT[relation]
            attributes.append(f'{{"uuid": "{_uuid4()}"{head}{_q(value)}{tail}')
        references = [
            f'{{"uuid": "{_uuid4()}", "object_uuid": "{self.uuid}", "referenced_uuid": '
            f'{_q(ref)}, "relationship_type": "seen-on", "comment": {_q(comment)}}}'
            for ref, comment in (spool.get(at) if type(at) is int else at for at in self.references)
        ]
        return (
            f'{{{_HEADER_TEXT}, "uuid": {_q(self.uuid)}, "comment": {_q(_reasons(r))}'
            f"{_object_seen_text(r.get('first_seen'), r.get('last_seen'))}, "
            f'"ObjectReference": [{", ".join(references)}], '
            f'"Attribute": [{", ".join(attributes)}]}}'
        )


# The object's header and each relation's fields as JSON text (`_Number.text`); the
# number's own attribute's by whether it is live (to_ids).
_HEADER_TEXT = _JSON(_TEMPLATE_HEADER)[1:-1]
_FIELDS_TEXT = {relation: _JSON(fields)[1:-1] for relation, fields in _TEMPLATE_FIELDS.items()}
_PHONE_FIELDS = {
    live: _JSON({**_TEMPLATE_FIELDS["phone-number"], "to_ids": live})[1:-1]
    for live in (False, True)
}
# A part's attribute's text around its value, after its uuid (made once, not per part).
_PART_TEXT = {
    relation: (f', "object_relation": {_JSON(relation)}, "value": ', f", {fields}}}")
    for relation, fields in _FIELDS_TEXT.items()
}


@functools.lru_cache(maxsize=4096)
def _object_seen_text(first_seen: str | None, last_seen: str | None) -> str:
    """A number's object's first_seen and last_seen (from its first pair's) as the JSON
    text of its fields after a comma."""
    first, last = _when(first_seen), _when(last_seen)
    seen = {"first_seen": first.isoformat()} if first else {}
    if last and (not first or last >= first):
        seen["last_seen"] = last.isoformat()
    return "".join(f", {_q(k)}: {_q(v)}" for k, v in seen.items())


def _attachment(a: Attachment, comment: str, tags: list[str]) -> dict:
    return _attribute(
        "attachment",
        a.name,
        "External analysis",
        False,
        f"{a.description}; sha256 {a.sha256}; {comment}"[:1000],
        data=base64.b64encode(a.data).decode("ascii"),
        Tag=_tags(tags),
    )


def _pair_text(r: dict, files: EvidenceFiles) -> tuple[str, str]:
    """The attributes one flagged pair adds, as the event's JSON text (`,\\n` between
    them), and its URL attribute's uuid: its page's URL and domain, the page's
    SHA-256, and the page and screenshot as attachments where they are at hand.
    Written as text, not made as dicts and encoded (a delta writes tens of
    thousands of pairs): tests/test_exports_rowtext.py holds it to the attribute
    dicts encoded (`_reference_attributes` there)."""
    live = "false" if withdrawn(r) else "true"
    tags = _tags_text(r.get("brand"), r.get("risk"), r.get("status"))
    where_text = f"{r['phone']} seen on {r['domain'] or 'a search engine card (no website)'}"
    where = _q(where_text)
    url_uuid = _uuid4()
    seen = _seen_text(r.get("first_seen"), r.get("last_seen"))
    out = [
        f'{{"uuid": "{url_uuid}", "type": "url", "value": {_q(r["url"])}, "category": '
        f'"Network activity", "to_ids": {live}, "disable_correlation": false, "comment": '
        f'{where}, "Tag": {tags}{seen}}}'
    ]
    if r["domain"]:  # a card without a website (issue 16) has no domain
        out.append(
            f'{{"uuid": "{_uuid4()}", "type": "domain", "value": {_q(r["domain"])}, '
            f'"category": "Network activity", "to_ids": {live}, "disable_correlation": false,'
            f' "comment": {where}, "Tag": {tags}}}'
        )
    if r.get("payload_sha256"):
        comment = (
            f"SHA-256 of {r['url']} as fetched: WARC record "
            f"{r.get('warc_record_id')} in {r.get('warc_file')}"
        )[:1000]
        out.append(
            f'{{"uuid": "{_uuid4()}", "type": "sha256", "value": {_q(r["payload_sha256"])}, '
            f'"category": "External analysis", "to_ids": false, "disable_correlation": false,'
            f' "comment": {_q(comment)}}}'
        )
    for found in (files.page(r), files.screenshot(r)):
        if found is not None:
            out.append(_JSON(_attachment(found, where_text, pair_tags(r))))
    return ",\n".join(out), url_uuid


def _q(value) -> str:
    """A value as `_JSON` writes it."""
    return encode_basestring(value) if type(value) is str else _JSON(value)


@functools.lru_cache(maxsize=1024)
def _tags_text(brand, risk, status) -> str:
    """`_pair_tags` as JSON text."""
    return _JSON(_pair_tags(brand, risk, status))


@functools.lru_cache(maxsize=4096)
def _seen_text(first_seen: str | None, last_seen: str | None) -> str:
    """`_seen_of` as the JSON text of its fields after a comma (none: no text)."""
    return "".join(f", {_q(k)}: {_q(v)}" for k, v in _seen_of(first_seen, last_seen).items())


def pair_tags(r: dict) -> list[str]:
    return [
        _tag("brand", r.get("brand") or "unknown brand"),
        _tag("risk", r.get("risk")),
        _tag("status", r.get("status") or "new"),
    ]


@functools.lru_cache(maxsize=1024)
def _pair_tags(brand, risk, status) -> list[dict]:
    """`_tags(pair_tags(r))`, made once for the pairs that share them (only read: written
    as JSON)."""
    return _tags(pair_tags({"brand": brand, "risk": risk, "status": status}))


def _strongest_first(records: Iterable[dict]) -> Iterable[dict]:
    """A list is sorted highest score first (each number's object takes its
    strongest pair); a stream comes in that order already (the database's)."""
    if isinstance(records, list):
        return sorted(records, key=lambda r: (-(r.get("score") or 0), r["phone"], r["domain"]))
    return records


def write_misp(
    records: Iterable[dict],
    out: IO[str],
    *,
    files: EvidenceFiles | None = None,
    now: datetime | None = None,
) -> int:
    """Write one MISP event (`{"Event": ...}`, as MISP exports and imports) for these
    flagged-pair records, each pair's attributes as it comes; return the pairs written."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    out.write('{"Event": {\n"uuid": ' + json.dumps(str(uuid.uuid4())) + ',\n"Attribute": [')
    with Spool() as spool:
        seen = _write_body(records, out, files or EvidenceFiles(None), spool)
    tags = ["tlp:amber", 'circl:incident-classification="scam"']
    tags += [_tag("brand", b) for b in sorted(seen.brands)]
    tail = {
        "Tag": _tags(tags),
        "info": INFO,
        "date": now.date().isoformat(),
        "distribution": "0",  # this organisation only, until the analyst shares it
        "analysis": "2",  # completed: the crawler's verdicts
        "threat_level_id": str(seen.level),
    }
    out.write(",\n" + json.dumps(tail, ensure_ascii=False)[1:-1] + "\n}}\n")
    return seen.pairs


@dataclass
class _Seen:
    """What the event's head says of all its pairs."""

    pairs: int = 0
    level: int = 4  # the highest threat of a live pair (MISP: 1 high .. 4 undefined)
    brands: set[str] = field(default_factory=set)


def _write_body(records: Iterable[dict], out: IO[str], files: EvidenceFiles, spool: Spool):
    """The event's attributes, each pair's as it comes, then the numbers' objects."""
    seen = _Seen()
    numbers: dict[str, _Number] = {}
    left = _KEPT_CHARS

    def kept(value, size: int):
        """`value` itself while the memory budget lasts, else its offset in the spool."""
        nonlocal left
        if size > left:
            return spool.put(value)
        left -= size
        return value

    sep = "\n"
    for r in _strongest_first(records):
        if r.get("third_party"):
            continue
        seen.pairs += 1
        seen.brands.add(r.get("brand") or "unknown brand")
        if not withdrawn(r):
            seen.level = min(seen.level, THREAT_LEVEL.get(r.get("risk"), 4))
        text, url_uuid = _pair_text(r, files)
        # A pair's attributes in one write, as soon as it is read.
        out.write(sep + text)
        sep = ",\n"
        why = _reasons(r)
        number = numbers.get(r["phone"])
        if number is None:
            first = {k: r.get(k) for k in _NUMBER_FIELDS}
            number = numbers[r["phone"]] = _Number(_uuid4(), kept(first, 300 + len(why)))
        comment = why[:1000]
        number.references.append(kept((url_uuid, comment), 60 + len(comment)))
    out.write('\n],\n"Object": [')
    sep = "\n"
    for number in numbers.values():
        out.write(sep + number.text(spool))
        sep = ",\n"
    out.write("\n]")
    return seen
