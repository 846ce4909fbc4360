"""STIX 2.1 bundles of flagged pairs, in stix2's objects and JSON.

The producer's and the brands' objects are stix2's; a pair's seven are made
as plain JSON in the order and form stix2 writes them (`_sco`, `_sdo`, `_ts`):
stix2's objects and its pattern parser cost 1.6 ms a pair, a year's export
has hundreds of thousands. `bundle` parses them back into stix2's objects
(checking each, its pattern too), and the tests hold both to the same bytes.

What a bundle holds, for flagged (site, number) pairs:
- `identity` serpwatch (the producer, `created_by_ref` of everything it makes)
  and one `identity` per brand impersonated (an organization);
- per brand, a `threat-actor` "Fake <brand> helpdesk" that `impersonates` the
  brand (the relationship STIX defines for this);
- the observables: `url` (the page), `domain-name` (its registrable domain)
  and `phone-number` (E.164 `value`, ISO 3166-1 alpha-3 `country`,
  `connection`, `provider`), the published `phone-number` SCO of dogesec's
  stix2extensions (extension definition `PHONE_EXTENSION_ID`, the type
  OpenCTI imports as its Phone-Number observable), referred to by id: the
  definition itself is published, not repeated in every bundle;
- per pair, an `indicator` on the page's URL that `indicates` the brand's
  threat actor, an `observed-data` (first and last seen, referring to the
  URL, domain and number) and a `sighting` of the indicator with that data.

Only pairs at or above the export's risk floor are in a bundle (medium for
STIX unless the recipient or --min-risk says otherwise), and never a number
or site the brands file lists as a known legitimate third party. A pair an
analyst dismissed after it was sent comes back in the next delta as a
revoked indicator (`revoked: true`, a later `modified`), with its
relationship and sighting revoked too.

Ids are stable, so a partner sees a re-sent pair as a new version of the
same objects (`modified` moves) instead of a duplicate:
- `url` and `domain-name` get STIX's deterministic UUIDv5 ids (2.9: from
  their id contributing property `value`, in the SCO namespace);
- everything else serpwatch makes, `phone-number` included, gets an id
  derived from its natural key in UUIDv4 form (`_stable_id`). The spec only
  says SCOs SHOULD use UUIDv5, and stix2-validator's strict check 103
  demands a UUIDv4 of every SCO type outside its 18 built-ins (shoulds.py,
  `uuid_check`), extension-defined ones included: a deterministic UUIDv4
  is the one id that is both stable and strict-valid. Anyone can recompute
  it: the first 16 bytes of sha256("phone-number" 0x1f E.164), version 4.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring
from typing import IO

import stix2
from iso3166 import countries_by_alpha2
from stix2.base import SCO_DET_ID_NAMESPACE
from stix2.canonicalization.Canonicalize import canonicalize
from stix2.properties import StringProperty
from stix2.v21 import CustomObservable
from w3lib.url import safe_url_string

from crawler import storage

# dogesec stix2extensions, extension-definitions/scos/phone-number.json (new-sco);
# schema: schemas/scos/phone-number.json in the same repository.
PHONE_EXTENSION_ID = "extension-definition--14a97ee2-e666-5ada-a6bd-b7177f79e211"
PRODUCER_ID = "identity--2b0f3a4e-6c1d-4f8a-9e7b-5a4c3d2e1f00"
# `created` of the objects that do not come from a sighting (producer, brands,
# threat actors): fixed, so every bundle describes them identically.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# phonenumbers' number types as the extension's `connection` (mobile | landline).
CONNECTION = {"mobile": "mobile", "fixed_line": "landline"}


@CustomObservable(
    "phone-number",
    [
        ("value", StringProperty(required=True)),
        ("country", StringProperty()),
        ("connection", StringProperty()),
        ("provider", StringProperty()),
    ],
    ["value"],
    extension_name=PHONE_EXTENSION_ID,
)
class PhoneNumber:
    """A phone number in E.164 (the published `phone-number` SCO)."""


def phone_number(record: dict, sco_id: str | None = None) -> dict:
    """The `phone-number` SCO of an export record (`sco_id`: its id, when known)."""
    country = countries_by_alpha2.get((record.get("country") or "").upper())
    return _sco(
        PhoneNumber,
        id=sco_id or _stable_id("phone-number", record["phone"]),
        value=record["phone"],
        country=country.alpha3 if country else None,
        connection=CONNECTION.get(record.get("number_type") or ""),
        provider=record.get("carrier") or None,
        extensions={PHONE_EXTENSION_ID: {"extension_type": "new-sco"}},
    )


def _sco(cls, **fields) -> dict:
    """An observable as stix2 serializes it: its properties in their order, none empty."""
    return _ordered(cls, {"type": cls._type, "spec_version": "2.1", **fields})


def _sdo(cls, common: dict, **fields) -> dict:
    """A domain object or relationship by serpwatch, as stix2 serializes it."""
    return _ordered(cls, {"type": cls._type, "spec_version": "2.1", **common, **fields})


def _ordered(cls, fields: dict) -> dict:
    """The fields stix2 knows of `cls`, in the order it serializes them, none empty."""
    names = tuple(fields)
    order = _ORDER.get((cls, names))
    if order is None:  # a few shapes of fields per class: their order is kept
        order = _ORDER[cls, names] = tuple(k for k in cls._properties if k in fields)
    return {k: fields[k] for k in order if fields[k] is not None}


# (stix2 class, the names of the fields given) -> those stix2 serializes, in its order.
_ORDER: dict[tuple, tuple[str, ...]] = {}


# A value JSON writes as it is, between quotes, in any form (printable ASCII, no
# quote or backslash): its canonical form (RFC 8785) is plain.
_PLAIN = re.compile(r"[ !#-\[\]-~]*")


@functools.lru_cache(maxsize=4096)
def _sco_id(kind: str, value: str) -> str:
    """STIX's deterministic id of a `url` or `domain-name` (2.9: UUIDv5 of its canonical
    `value`), as stix2 makes it. A number's pairs share its site's domain and page."""
    if _PLAIN.fullmatch(value):
        data = '{"value":"' + value + '"}'
    else:
        data = canonicalize({"value": value}, utf8=False)
    return f"{kind}--{uuid.uuid5(SCO_DET_ID_NAMESPACE, data)}"


@functools.lru_cache(maxsize=4096)
def _ts(value: datetime, *, ms: bool = False) -> str:
    """A timestamp as stix2 writes it (`created`, `modified`: to the millisecond):
    stix2's `format_datetime` of a `STIXdatetime`, made without them (their
    time zones cost tens of microseconds; tests/test_exports_stix.py holds the two
    to the same text). A run's pairs share their times."""
    zoned = value.astimezone(UTC) if value.tzinfo is not None else value
    digits = f"{zoned.microsecond:06d}".rstrip("0")
    if ms:
        digits = digits.ljust(3, "0")
    return zoned.strftime("%Y-%m-%dT%H:%M:%S") + ("." + digits if digits else "") + "Z"


def _stable_id(kind: str, *parts) -> str:
    """`kind--` and the first 16 bytes of the parts' SHA-256 as a version 4 UUID (the
    bits uuid.UUID(bytes=..., version=4) sets, without making one)."""
    digest = bytearray(hashlib.sha256("\x1f".join([kind, *map(str, parts)]).encode()).digest())
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest[:16].hex()
    return f"{kind}--{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@functools.lru_cache(maxsize=4096)
def _when(value: str | None, fallback: datetime) -> datetime:
    return storage.parse_time(value) or fallback


@functools.lru_cache(maxsize=1024)
def _safe_url(url: str) -> str:
    """The page's URL as STIX carries it (w3lib's safe form); a page's pairs share it."""
    return safe_url_string(url)


def _pattern_string(value: str) -> str:
    """A STIX pattern string literal: backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bundle(records: Iterable[dict], *, now: datetime | None = None) -> stix2.Bundle:
    """One bundle for these flagged-pair records (phone, domain, url, brand, status, ...),
    each object parsed and checked by stix2 (its pattern too)."""
    objects = [
        stix2.parse(o, allow_custom=True) if isinstance(o, dict) else o
        for o in bundle_objects(records, now=now)
    ]
    if not objects:
        return stix2.Bundle(allow_custom=True)
    return stix2.Bundle(objects=objects, allow_custom=True)


def bundle_objects(records: Iterable[dict], *, now: datetime | None = None):
    """The objects of `bundle`, one at a time and each once, as the records come: a
    bundle is written object by object (`write_stix`) without holding the records.

    Observables shared by pairs (a number on two sites) come once, where first
    met; a pair met twice keeps its first record."""
    for made in _pairs_objects(records, now=now):
        yield from made


def _pairs_objects(records: Iterable[dict], *, now: datetime | None = None):
    """`bundle_objects` a record at a time: the objects each record adds (the producer's
    and its brand's when first met), as a list."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    producer = None
    actors: dict[str, str] = {}
    # Only the ids that can repeat are kept (observables, pairs), not every object.
    seen: set[str] = set()
    pairs: set[tuple] = set()
    for r in records:
        if r.get("third_party") or (r["domain"], r["phone"]) in pairs:
            continue
        pairs.add((r["domain"], r["phone"]))
        made: list = []
        if producer is None:
            producer = stix2.Identity(
                id=PRODUCER_ID,
                name="serpwatch",
                identity_class="system",
                description="Finds fake helpdesk phone numbers in search results and ads.",
                created=EPOCH,
                modified=EPOCH,
            )
            made.append(producer)
        brand = r.get("brand") or "unknown brand"
        if brand not in actors:
            brand_objects = _brand_objects(brand)
            actors[brand] = brand_objects[1].id
            made += brand_objects
        if r.get("status") == "dismissed":
            made += _withdrawn(r, brand, actors[brand], now)
        else:
            made += _flagged(r, brand, actors[brand], now, seen)
        yield made


def _brand_objects(brand: str) -> tuple:
    """The brand (an organization), its fake-helpdesk threat actor and `impersonates`."""
    org = stix2.Identity(
        id=_stable_id("identity", "brand", brand),
        name=brand,
        identity_class="organization",
        description=f"{brand}, whose helpdesk the flagged numbers pretend to be.",
        created_by_ref=PRODUCER_ID,
        created=EPOCH,
        modified=EPOCH,
    )
    actor = stix2.ThreatActor(
        id=_stable_id("threat-actor", "fake-helpdesk", brand),
        name=f"Fake {brand} helpdesk",
        description=f"Unknown callers posing as the {brand} helpdesk.",
        threat_actor_types=["criminal"],
        created_by_ref=PRODUCER_ID,
        created=EPOCH,
        modified=EPOCH,
    )
    rel = stix2.Relationship(
        id=_stable_id("relationship", "impersonates", brand),
        source_ref=actor.id,
        target_ref=org.id,
        relationship_type="impersonates",
        created_by_ref=PRODUCER_ID,
        created=EPOCH,
        modified=EPOCH,
    )
    return org, actor, rel


def _claims(
    r: dict, brand: str, actor_id: str, first, last, url_value: str, revoked: bool = False
) -> tuple:
    """The pair's indicator, its `indicates` relationship and its sighting."""
    pair = (r["domain"], r["phone"])
    reasons = r.get("reasons") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    common = {"created_by_ref": PRODUCER_ID, "created": _ts(first, ms=True)}
    common["modified"] = _ts(last, ms=True)
    if revoked:
        common["revoked"] = True
    indicator = _sdo(
        stix2.Indicator,
        common,
        id=_stable_id("indicator", *pair),
        name=f"Fake {brand} helpdesk number {r['phone']} on {r['domain'] or 'an engine card'}",
        description=(
            f"Shows {r['phone']} as a {brand} helpdesk number. Risk {r.get('risk')}, "
            f"score {r.get('score')}: " + "; ".join(map(str, reasons))
        ),
        indicator_types=["malicious-activity"],
        # Made of an escaped string literal (`_pattern_string`), so valid by
        # construction: stix2 checks it with its pattern parser in the tests.
        pattern=f"[url:value = {_pattern_string(url_value)}]",
        pattern_type="stix",
        pattern_version="2.1",
        valid_from=_ts(first),
    )
    indicates = _sdo(
        stix2.Relationship,
        common,
        id=_stable_id("relationship", "indicates", *pair),
        source_ref=indicator["id"],
        target_ref=actor_id,
        relationship_type="indicates",
    )
    sighting_id = _stable_id("sighting", *pair)
    return indicator, indicates, sighting_id, common


def _flagged(r: dict, brand: str, actor_id: str, now: datetime, seen: set[str]) -> list:
    """A pair's objects; of its observables only those not in `seen` (already
    written: a number's or site's other pairs), which it adds there."""
    first = _when(r.get("first_seen"), now)
    last = max(_when(r.get("last_seen"), now), first)
    url_value = _safe_url(r["url"])
    url_id = _sco_id("url", url_value)
    # A card without a website (issue 16) has no site: no domain-name observable.
    domain_id = _sco_id("domain-name", r["domain"]) if r["domain"] else None
    phone_id = _stable_id("phone-number", r["phone"])
    new = []
    if url_id not in seen:
        new.append(_sco(stix2.URL, id=url_id, value=url_value))
    if domain_id and domain_id not in seen:
        new.append(_sco(stix2.DomainName, id=domain_id, value=r["domain"]))
    if phone_id not in seen:
        new.append(phone_number(r, phone_id))
    seen.update(o["id"] for o in new)
    indicator, indicates, sighting_id, common = _claims(r, brand, actor_id, first, last, url_value)
    pair = (r["domain"], r["phone"])
    observed = _sdo(
        stix2.ObservedData,
        common,
        id=_stable_id("observed-data", *pair),
        first_observed=_ts(first),
        last_observed=_ts(last),
        number_observed=1,
        object_refs=[i for i in (url_id, domain_id, phone_id) if i],
        **_evidence(r),
    )
    sighting = _sdo(
        stix2.Sighting,
        common,
        id=sighting_id,
        sighting_of_ref=indicator["id"],
        observed_data_refs=[observed["id"]],
        where_sighted_refs=[PRODUCER_ID],
        first_seen=_ts(first),
        last_seen=_ts(last),
    )
    return [*new, indicator, indicates, observed, sighting]


def _evidence(r: dict) -> dict:
    """The page's WARC record as an external reference (the same one every export cites)."""
    if not r.get("warc_record_id"):
        return {}
    reference = {
        "source_name": "serpwatch-warc",
        "external_id": r["warc_record_id"],
        "description": f"WARC file {r.get('warc_file')}, payload SHA-256 {r.get('payload_sha256')}",
    }
    return {"external_references": [_ordered(stix2.ExternalReference, reference)]}


def _withdrawn(r: dict, brand: str, actor_id: str, now: datetime) -> tuple:
    """A dismissed pair: its indicator, relationship and sighting as revoked versions.

    `modified` is later than any version sent before (those carried the
    pair's last sighting at most): the dismissal's time, or a second after
    the last sighting when the pair was seen again after it.
    """
    first = _when(r.get("first_seen"), now)
    last = max(_when(r.get("last_seen"), now), first)
    modified = max(_when(r.get("status_at"), now), last + timedelta(seconds=1))
    indicator, indicates, sighting_id, common = _claims(
        r, brand, actor_id, first, modified, _safe_url(r["url"]), revoked=True
    )
    sighting = _sdo(
        stix2.Sighting,
        common,
        id=sighting_id,
        sighting_of_ref=indicator["id"],
        where_sighted_refs=[PRODUCER_ID],
        first_seen=_ts(first),
        last_seen=_ts(last),
    )
    return indicator, indicates, sighting


def write_stix(records: Iterable[dict], out: IO[str]) -> int:
    """Write one STIX 2.1 bundle (JSON) for these flagged-pair records, object by object
    as they come: the same JSON as `bundle(records).serialize(pretty=True)`.

    Each object is serialized on its own: stix2's pretty printing of a whole
    bundle orders each object's keys by searching the whole bundle, which takes
    minutes from a few thousand pairs on."""
    counted = _Counted(records)
    started = False
    for made in _pairs_objects(counted):
        # A pair's objects in one write, as soon as it is read.
        text = ",\n".join(map(_serialized, made))
        out.write((",\n" if started else _BUNDLE_HEAD.format(id=f"bundle--{uuid.uuid4()}")) + text)
        started = True
    if started:
        out.write("\n    ]\n}\n")
    else:
        out.write(bundle([]).serialize(pretty=True, ensure_ascii=False) + "\n")
    return counted.n


def _serialized(o) -> str:
    """An object's JSON as stix2's pretty printing writes it, indented as an object of
    the bundle: the producer's and a brand's objects are stix2's; a pair's are made
    as plain JSON in stix2's order (stix2's objects and pattern parser cost
    milliseconds a pair), written by `_pretty`."""
    if isinstance(o, dict):
        return _PAD + _pretty(o, _PAD)
    return _indent(o.serialize(pretty=True, ensure_ascii=False))


# An object's indentation in the bundle's list.
_PAD = " " * 8


def _pretty(value, pad: str) -> str:
    """json.dumps(value, indent=4, ensure_ascii=False), each line after the first
    indented by `pad` more: the same text, made without json's pure-Python
    indenting encoder (most of a pair's cost)."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is dict and value:
        inner = pad + "    "
        items = [
            f"{inner}{encode_basestring(k)}: "
            + (encode_basestring(v) if type(v) is str else _pretty(v, inner))
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if kind is list and value:
        inner = pad + "    "
        items = [
            inner + (encode_basestring(v) if type(v) is str else _pretty(v, inner)) for v in value
        ]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if kind is int:
        return int.__repr__(value)
    # true, false, null, floats, empty containers and whatever else: as json writes them.
    return json.dumps(value, indent=4, ensure_ascii=False).replace("\n", "\n" + pad)


_BUNDLE_HEAD = '{{\n    "type": "bundle",\n    "id": "{id}",\n    "objects": [\n'


def _indent(text: str) -> str:
    return "\n".join("        " + line for line in text.split("\n"))


class _Counted:
    """The records, counted as they are read."""

    def __init__(self, records: Iterable[dict]):
        self.records = records
        self.n = 0

    def __iter__(self):
        for r in self.records:
            self.n += 1
            yield r
