"""STIX 2.1 bundles of flagged pairs, in stix2's objects and JSON.

Every object is written as JSON text in the order and form stix2's pretty
printing gives it (`_text`, `_ts`, `_sco_id`), without stix2: its objects and
pattern parser cost 1.6 ms a pair, json's indenting encoder most of the rest,
its import a tenth of a second, and a year's export has hundreds of thousands
of pairs. `bundle` reads the text back and has stix2 parse and check each
object (its pattern too), and the tests hold both to the same bytes.

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
relationship and sighting revoked too; so does a pair sent that fell below the
floor since (crawler/exports/changed_pairs.py).

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
from typing import IO, TYPE_CHECKING

from iso3166 import countries_by_alpha2
from w3lib.url import safe_url_string

from crawler import storage
from crawler.exports.changed_pairs import withdrawn
from crawler.exports.rowtext import encode_function, uuid_text

if TYPE_CHECKING:
    import stix2

# dogesec stix2extensions, extension-definitions/scos/phone-number.json (new-sco);
# schema: schemas/scos/phone-number.json in the same repository.
PHONE_EXTENSION_ID = "extension-definition--14a97ee2-e666-5ada-a6bd-b7177f79e211"
PRODUCER_ID = "identity--2b0f3a4e-6c1d-4f8a-9e7b-5a4c3d2e1f00"
# `created` of the objects that do not come from a sighting (producer, brands,
# threat actors): fixed, so every bundle describes them identically.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# phonenumbers' number types as the extension's `connection` (mobile | landline).
CONNECTION = {"mobile": "mobile", "fixed_line": "landline"}


# stix2's namespace of deterministic SCO ids (stix2.base.SCO_DET_ID_NAMESPACE, 2.9).
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


@functools.cache
def _stix2():
    """stix2, with the published `phone-number` SCO registered: only `bundle` (every
    object parsed and checked) needs it. Writing a bundle does not: importing stix2
    costs a tenth of a second of every export."""
    import stix2
    from stix2.properties import StringProperty
    from stix2.v21 import CustomObservable

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

    return stix2


# A value JSON writes as it is, between quotes, in any form (printable ASCII, no
# quote or backslash): its canonical form (RFC 8785) is plain.
_PLAIN = re.compile(r"[ !#-\[\]-~]*")


# A delta's pairs come by score, a site's pages and domain among them: caches the
# size of a delta's sites (tens of thousands), not of a few hundred.
@functools.lru_cache(maxsize=32768)
def _sco_id(kind: str, value: str) -> str:
    """STIX's deterministic id of a `url` or `domain-name` (2.9: UUIDv5 of its canonical
    `value`), as stix2 makes it. A number's pairs share its site's domain and page."""
    if _PLAIN.fullmatch(value):
        data = '{"value":"' + value + '"}'
    else:
        from stix2.canonicalization.Canonicalize import canonicalize

        data = canonicalize({"value": value}, utf8=False)
    # uuid.uuid5(SCO_DET_ID_NAMESPACE, data), without making the UUID objects.
    return f"{kind}--{uuid_text(hashlib.sha1(_NAMESPACE + data.encode()).hexdigest(), 5)}"


_NAMESPACE = SCO_NAMESPACE.bytes


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
    digest = hashlib.sha256("\x1f".join([kind, *map(str, parts)]).encode()).hexdigest()
    return f"{kind}--{uuid_text(digest, 4)}"


def _pair_ids(domain, phone) -> tuple[str, ...]:
    """A pair's ids (`_stable_id` of `_PAIR_KINDS` and the pair): its indicator's, its
    `indicates` relationship's, its observed data's and its sighting's, made without
    `_stable_id`'s list, the pair's part of the text encoded once."""
    tail = f"\x1f{domain!s}\x1f{phone!s}".encode()
    return tuple(
        f"{kind}--{uuid_text(hashlib.sha256(head + tail).hexdigest(), 4)}"
        for kind, head in _PAIR_KINDS
    )


# The kind of each of a pair's ids, and the text before the pair in its digest.
_PAIR_KINDS = [
    (kind, "\x1f".join([kind, *more]).encode())
    for kind, *more in (
        ("indicator",),
        ("relationship", "indicates"),
        ("observed-data",),
        ("sighting",),
    )
]


@functools.lru_cache(maxsize=32768)
def _phone_id(phone: str) -> str:
    """A number's `phone-number` id (`_stable_id`), made once per number."""
    return _stable_id("phone-number", phone)


@functools.lru_cache(maxsize=4096)
def _when(value: str | None, fallback: datetime) -> datetime:
    return storage.parse_time(value) or fallback


def _span(first_seen: str | None, last_seen: str | None, now: datetime) -> tuple:
    """A pair's first and last sighting (`now` for a missing one), the last never
    before the first."""
    first = _when(first_seen, now)
    return first, max(_when(last_seen, now), first)


@functools.lru_cache(maxsize=4096)
def _times(first_seen: str | None, last_seen: str | None, now: datetime) -> tuple[str, ...]:
    """A flagged pair's times as its objects' JSON text: `created` and `modified` (its
    first and last sighting, to the millisecond), then first and last seen. A run's
    pairs share them: made once, not five timestamps a pair."""
    first, last = _span(first_seen, last_seen, now)
    made = (_ts(first, ms=True), _ts(last, ms=True), _ts(first), _ts(last))
    return tuple(encode_basestring(t) for t in made)


@functools.lru_cache(maxsize=32768)
def _safe_url(url: str) -> str:
    """The page's URL as STIX carries it (w3lib's safe form); a page's pairs share it.
    A plain URL (`_PLAIN_URL`) is its own safe form: w3lib's parsing costs more than
    the rest of the pair."""
    if _PLAIN_URL.fullmatch(url) and "xn--" not in url:
        return url
    return safe_url_string(url)


# http(s), a host of lowercase ASCII labels, a path of unreserved characters only:
# nothing for w3lib to quote, encode or rewrite (tests/test_exports_fast.py).
_PLAIN_URL = re.compile(r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?:/[A-Za-z0-9._~/-]*)?")


def _pattern_string(value: str) -> str:
    """A STIX pattern string literal: backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bundle(records: Iterable[dict], *, now: datetime | None = None) -> stix2.Bundle:
    """One bundle for these flagged-pair records (phone, domain, url, brand, status, ...),
    each object parsed and checked by stix2 (its pattern too)."""
    stix2 = _stix2()
    objects = [stix2.parse(o, allow_custom=True) for o in bundle_objects(records, now=now)]
    if not objects:
        return stix2.Bundle(allow_custom=True)
    return stix2.Bundle(objects=objects, allow_custom=True)


def bundle_objects(records: Iterable[dict], *, now: datetime | None = None):
    """The objects of `bundle`, one at a time and each once, as the records come: a
    bundle is written object by object (`write_stix`) without holding the records.

    Observables shared by pairs (a number on two sites) come once, where first
    met; a pair met twice keeps its first record."""
    for made in _pairs_objects(records, now=now):
        for o in made:  # written as text (`_text`)
            yield json.loads(o)


def _pairs_objects(records: Iterable[dict], *, now: datetime | None = None):
    """`bundle_objects` a record at a time: the objects each record adds (the producer's
    and its brand's when first met), as text (`_text`), in a list."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    producer = False
    actors: dict[str, str] = {}
    # Only the ids that can repeat are kept (observables, pairs), not every object.
    seen: set[str] = set()
    pairs: set[tuple] = set()
    for r in records:
        if r.get("third_party") or (r["domain"], r["phone"]) in pairs:
            continue
        pairs.add((r["domain"], r["phone"]))
        made: list = []
        if not producer:
            producer = True
            made.append(_PRODUCER_TEXT)
        brand = r.get("brand") or "unknown brand"
        if brand not in actors:
            actors[brand] = _stable_id("threat-actor", "fake-helpdesk", brand)
            made += _brand_objects(brand, actors[brand])
        if withdrawn(r):
            made += _withdrawn(r, brand, actors[brand], now)
        else:
            made += _flagged(r, brand, actors[brand], now, seen)
        yield made


# A pair's objects are written as text in the form stix2's pretty printing gives
# them, each indented as an object of the bundle's list: stix2's objects and
# pattern parser cost 1.6 ms a pair, and json's indenting encoder (pure Python)
# most of the rest. `bundle_objects` reads the text back for stix2 to check.
_I1, _I2, _I3, _I4 = (" " * n for n in (8, 12, 16, 20))
_PRODUCER = encode_basestring(PRODUCER_ID)
_PHONE_EXTENSIONS = (
    f"{{\n{_I3}{encode_basestring(PHONE_EXTENSION_ID)}: {{\n"
    f'{_I4}"extension_type": "new-sco"\n{_I3}}}\n{_I2}}}'
)


def _brand_objects(brand: str, actor_id: str) -> list[str]:
    """The brand (an organization), its fake-helpdesk threat actor and `impersonates`."""
    org_id = _stable_id("identity", "brand", brand)
    return [
        _text(
            "identity",
            [
                ("id", f'"{org_id}"'),
                *_BY_PRODUCER,
                ("name", _q(brand)),
                ("description", _q(f"{brand}, whose helpdesk the flagged numbers pretend to be.")),
                ("identity_class", '"organization"'),
            ],
        ),
        _text(
            "threat-actor",
            [
                ("id", f'"{actor_id}"'),
                *_BY_PRODUCER,
                ("name", _q(f"Fake {brand} helpdesk")),
                ("description", _q(f"Unknown callers posing as the {brand} helpdesk.")),
                ("threat_actor_types", _strings(["criminal"])),
            ],
        ),
        _text(
            "relationship",
            [
                ("id", f'"{_stable_id("relationship", "impersonates", brand)}"'),
                *_BY_PRODUCER,
                ("relationship_type", '"impersonates"'),
                ("source_ref", f'"{actor_id}"'),
                ("target_ref", f'"{org_id}"'),
            ],
        ),
    ]


def _q(value) -> str:
    """A value from a record as JSON text (ensure_ascii off, as stix2 writes)."""
    if type(value) is str:
        return encode_basestring(value)
    return _ENCODE(value)


# json.dumps(value, ensure_ascii=False), its encoder made once.
_ENCODE = encode_function(json.JSONEncoder(ensure_ascii=False))


def _text(kind: str, fields: list[tuple[str, str]]) -> str:
    """An object of the bundle's list, its `type` and `spec_version` first, then its
    fields (name, JSON text) in stix2's order."""
    head = f'{_I1}{{\n{_I2}"type": "{kind}",\n{_I2}"spec_version": "2.1",\n'
    return head + ",\n".join([f'{_I2}"{k}": {v}' for k, v in fields]) + f"\n{_I1}}}"


def _strings(values) -> str:
    """A list of strings as a field's JSON text."""
    return "[\n" + ",\n".join([_I3 + encode_basestring(v) for v in values]) + f"\n{_I2}]"


def _phone_text(r: dict, phone_id: str) -> str:
    """The `phone-number` SCO of an export record."""
    fields = [("id", encode_basestring(phone_id)), ("value", _q(r["phone"]))]
    country = countries_by_alpha2.get((r.get("country") or "").upper())
    if country:
        fields.append(("country", _q(country.alpha3)))
    connection = CONNECTION.get(r.get("number_type") or "")
    if connection:
        fields.append(("connection", _q(connection)))
    if r.get("carrier"):
        fields.append(("provider", _q(r["carrier"])))
    fields.append(("extensions", _PHONE_EXTENSIONS))
    return _text("phone-number", fields)


def _template(kind: str, fields: list[tuple[str, str | None]]) -> str:
    """`_text` of an object with these fields as a %-format template: a field's JSON
    text given here is written as it is, each None is a `%s` for its value, in
    order. A pair's objects are made of these (one % each, not a list of fields
    joined; % is twice as fast as str.format on these, which parses its template
    every call): tests/test_exports_fast.py holds them to stix2's."""
    made = _text(kind, [(k, "\x00" if v is None else v) for k, v in fields])
    return made.replace("%", "%%").replace("\x00", "%s")


def _claims(
    r: dict,
    brand: str,
    actor_id: str,
    made: tuple[str, str],
    valid_from: str,
    url_value: str,
    ids: tuple[str, ...],
    revoked: bool = False,
) -> list[str]:
    """The pair's indicator and its `indicates` relationship; `made` is their `created`
    and `modified`, `valid_from` the indicator's (JSON text), `ids` the pair's
    (`_pair_ids`)."""
    reasons = r.get("reasons") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    indicator_id, indicates_id = ids[:2]
    name = f"Fake {brand} helpdesk number {r['phone']} on {r['domain'] or 'an engine card'}"
    description = (
        f"Shows {r['phone']} as a {brand} helpdesk number. Risk {r.get('risk')}, "
        f"score {r.get('score')}: " + "; ".join(map(str, reasons))
    )
    # Made of an escaped string literal (`_pattern_string`), so valid by
    # construction: stix2 checks it with its pattern parser in the tests.
    pattern = f"[url:value = {_pattern_string(url_value)}]"
    indicator = _INDICATOR[revoked] % (
        f'"{indicator_id}"',
        *made,
        encode_basestring(name),
        encode_basestring(description),
        encode_basestring(pattern),
        valid_from,
    )
    indicates = _INDICATES[revoked] % (
        f'"{indicates_id}"',
        *made,
        f'"{indicator_id}"',
        encode_basestring(actor_id),
    )
    return [indicator, indicates]


_MALICIOUS = f'[\n{_I3}"malicious-activity"\n{_I2}]'
# `created` and `modified` of what is not a sighting (EPOCH, to the millisecond).
_EPOCH = encode_basestring(_ts(EPOCH, ms=True))
_BY_PRODUCER = [("created_by_ref", _PRODUCER), ("created", _EPOCH), ("modified", _EPOCH)]
_PRODUCER_TEXT = _text(
    "identity",
    [
        ("id", _PRODUCER),
        ("created", _EPOCH),
        ("modified", _EPOCH),
        ("name", '"serpwatch"'),
        ("description", '"Finds fake helpdesk phone numbers in search results and ads."'),
        ("identity_class", '"system"'),
    ],
)
# The fields every object of a pair's starts with: id, then these (the producer's
# ref, `created` and `modified`); `revoked` ends a withdrawn one.
_COMMON: list[tuple[str, str | None]] = [
    ("id", None),
    ("created_by_ref", _PRODUCER),
    ("created", None),
    ("modified", None),
]
_REVOKED: list[tuple[str, str | None]] = [("revoked", "true")]
_INDICATOR = {
    revoked: _template(
        "indicator",
        [
            *_COMMON,
            ("name", None),
            ("description", None),
            ("indicator_types", _MALICIOUS),
            ("pattern", None),
            ("pattern_type", '"stix"'),
            ("pattern_version", '"2.1"'),
            ("valid_from", None),
            *(_REVOKED if revoked else []),
        ],
    )
    for revoked in (False, True)
}
_INDICATES = {
    revoked: _template(
        "relationship",
        [
            *_COMMON,
            ("relationship_type", '"indicates"'),
            ("source_ref", None),
            ("target_ref", None),
            *(_REVOKED if revoked else []),
        ],
    )
    for revoked in (False, True)
}
_OBSERVED = {
    evidence: _template(
        "observed-data",
        [
            *_COMMON,
            ("first_observed", None),
            ("last_observed", None),
            ("number_observed", "1"),
            ("object_refs", None),
            *([("external_references", None)] if evidence else []),
        ],
    )
    for evidence in (False, True)
}
_WHERE_SIGHTED = _strings([PRODUCER_ID])
_SIGHTING = _template(
    "sighting",
    [
        *_COMMON,
        ("first_seen", None),
        ("last_seen", None),
        ("sighting_of_ref", None),
        ("observed_data_refs", None),
        ("where_sighted_refs", _WHERE_SIGHTED),
    ],
)
_SIGHTING_REVOKED = _template(
    "sighting",
    [
        *_COMMON,
        ("first_seen", None),
        ("last_seen", None),
        ("sighting_of_ref", None),
        ("where_sighted_refs", _WHERE_SIGHTED),
        *_REVOKED,
    ],
)
_URL = _template("url", [("id", None), ("value", None)])
_DOMAIN = _template("domain-name", [("id", None), ("value", None)])


def _flagged(r: dict, brand: str, actor_id: str, now: datetime, seen: set[str]) -> list[str]:
    """A pair's objects; of its observables only those not in `seen` (already
    written: a number's or site's other pairs), which it adds there."""
    created, modified, first_ts, last_ts = _times(r.get("first_seen"), r.get("last_seen"), now)
    url_value = _safe_url(r["url"])
    url_id = _sco_id("url", url_value)
    # A card without a website (issue 16) has no site: no domain-name observable.
    domain_id = _sco_id("domain-name", r["domain"]) if r["domain"] else None
    phone_id = _phone_id(r["phone"])
    made = []
    if url_id not in seen:
        seen.add(url_id)
        made.append(_URL % (f'"{url_id}"', _q(url_value)))
    if domain_id and domain_id not in seen:
        seen.add(domain_id)
        made.append(_DOMAIN % (f'"{domain_id}"', _q(r["domain"])))
    if phone_id not in seen:
        seen.add(phone_id)
        made.append(_phone_text(r, phone_id))
    times = (created, modified)
    ids = _pair_ids(r["domain"], r["phone"])
    made += _claims(r, brand, actor_id, times, first_ts, url_value, ids)
    indicator_id, _, observed_id, sighting_id = ids
    evidence = _evidence(r)
    made.append(
        _OBSERVED[bool(evidence)]
        % (
            f'"{observed_id}"',
            *times,
            first_ts,
            last_ts,
            _refs((url_id, domain_id, phone_id) if domain_id else (url_id, phone_id)),
            *evidence,
        )
    )
    made.append(
        _SIGHTING
        % (
            f'"{sighting_id}"',
            *times,
            first_ts,
            last_ts,
            f'"{indicator_id}"',
            _refs((observed_id,)),
        )
    )
    return made


def _refs(ids: tuple[str, ...]) -> str:
    """`_strings` of ids (`kind--` and a UUID: nothing in them to escape)."""
    return f'[\n{_I3}"' + f'",\n{_I3}"'.join(ids) + f'"\n{_I2}]'


def _evidence(r: dict) -> list[str]:
    """The page's WARC record as an external reference (the same one every export
    cites): the `external_references` field's JSON text, if there is a record."""
    if not r.get("warc_record_id"):
        return []
    description = f"WARC file {r.get('warc_file')}, payload SHA-256 {r.get('payload_sha256')}"
    reference = (
        f'{_I3}{{\n{_I4}"source_name": "serpwatch-warc",\n'
        f'{_I4}"description": {encode_basestring(description)},\n'
        f'{_I4}"external_id": {_q(r["warc_record_id"])}\n{_I3}}}'
    )
    return [f"[\n{reference}\n{_I2}]"]


def _withdrawn(r: dict, brand: str, actor_id: str, now: datetime) -> list[str]:
    """A dismissed pair, or one fallen below the floor (`changed_pairs.withdrawn`): its
    indicator, relationship and sighting as revoked versions.

    `modified` is later than any version sent before (those carried the
    pair's last sighting at most): the dismissal's time, or a second after
    the last sighting when the pair was seen again after it (or fell below the
    floor: no decision has a time).
    """
    first, last = _span(r.get("first_seen"), r.get("last_seen"), now)
    # Without a decision's time (fallen below the floor) not `now`: a delta made twice
    # gives the same bytes.
    modified = max(_when(r.get("status_at"), last), last + timedelta(seconds=1))
    times = (encode_basestring(_ts(first, ms=True)), encode_basestring(_ts(modified, ms=True)))
    valid_from = encode_basestring(_ts(first))
    ids = _pair_ids(r["domain"], r["phone"])
    claims = _claims(r, brand, actor_id, times, valid_from, _safe_url(r["url"]), ids, True)
    sighting = _SIGHTING_REVOKED % (
        f'"{ids[3]}"',
        *times,
        valid_from,
        encode_basestring(_ts(last)),
        f'"{ids[0]}"',
    )
    return [*claims, sighting]


def write_stix(records: Iterable[dict], out: IO[str]) -> int:
    """Write one STIX 2.1 bundle (JSON) for these flagged-pair records, object by object
    as they come: the same JSON as `bundle(records).serialize(pretty=True)`.

    Each object is serialized on its own: stix2's pretty printing of a whole
    bundle orders each object's keys by searching the whole bundle, which takes
    minutes from a few thousand pairs on. Returns the pairs written (a pair given
    twice is written once, a known legitimate third party never): the bundle's
    indicators, which the command reports."""
    n = 0
    started = False
    for made in _pairs_objects(records):
        n += 1
        # A pair's objects in one write, as soon as it is read.
        text = ",\n".join(made)
        out.write((",\n" if started else _BUNDLE_HEAD.format(id=f"bundle--{uuid.uuid4()}")) + text)
        started = True
    if started:
        out.write("\n    ]\n}\n")
    else:  # as stix2 writes a bundle without objects
        out.write(_EMPTY_BUNDLE.format(id=f"bundle--{uuid.uuid4()}"))
    return n


_BUNDLE_HEAD = '{{\n    "type": "bundle",\n    "id": "{id}",\n    "objects": [\n'
_EMPTY_BUNDLE = '{{\n    "type": "bundle",\n    "id": "{id}"\n}}\n'
