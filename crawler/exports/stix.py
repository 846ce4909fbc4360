"""STIX 2.1 bundles of flagged pairs, made with the stix2 library.

What a bundle holds, for flagged (site, number) pairs:
- `identity` serpwatch (the producer, `created_by_ref` of everything it makes)
  and one `identity` per brand impersonated (an organization);
- per brand, a `threat-actor` "Fake <brand> helpdesk" that `impersonates` the
  brand (the relationship STIX defines for this);
- the observables: `url` (the page), `domain-name` (its registrable domain)
  and `x-phone-number` (E.164, country, number type, brand), a new
  observable type described by the bundled `extension-definition`, since
  STIX has no phone number object;
- per pair, an `indicator` on the page's URL that `indicates` the brand's
  threat actor, an `observed-data` (first and last seen, referring to the
  URL, domain and number) and a `sighting` of the indicator with that data.

Ids are stable: observables get STIX's deterministic ids, and the objects
serpwatch makes get ids derived from their natural keys (in UUIDv4 form), so
a partner sees a re-sent pair as a new version of the same objects
(`modified` moves) instead of a duplicate.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import IO

import stix2
from stix2.properties import StringProperty
from stix2.v21 import CustomObservable
from w3lib.url import safe_url_string

from crawler import storage

PHONE_EXTENSION_ID = "extension-definition--8e1c9b5d-0f47-4d4e-9a55-3c2f7d6b1e42"
PRODUCER_ID = "identity--2b0f3a4e-6c1d-4f8a-9e7b-5a4c3d2e1f00"
# `created` of the objects that do not come from a sighting (producer, brands,
# threat actors): fixed, so every bundle describes them identically.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@CustomObservable(
    "x-phone-number",
    [
        ("value", StringProperty(required=True)),
        ("country", StringProperty()),
        ("number_type", StringProperty()),
        ("brand", StringProperty()),
    ],
    ["value"],
    extension_name=PHONE_EXTENSION_ID,
)
class PhoneNumber:
    """A phone number in E.164, with the brand whose helpdesk it pretends to be."""


def _stable_id(kind: str, *parts) -> str:
    digest = hashlib.sha256("\x1f".join([kind, *map(str, parts)]).encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


def _when(value: str | None, fallback: datetime) -> datetime:
    return storage.parse_time(value) or fallback


def _pattern_string(value: str) -> str:
    """A STIX pattern string literal: backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bundle(records: list[dict], *, now: datetime | None = None) -> stix2.Bundle:
    """One bundle for these flagged-pair records (phone, domain, url, brand, ...)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    if not records:
        return stix2.Bundle(allow_custom=True)
    producer = stix2.Identity(
        id=PRODUCER_ID,
        name="serpwatch",
        identity_class="system",
        description="Finds fake helpdesk phone numbers in search results and ads.",
        created=EPOCH,
        modified=EPOCH,
    )
    extension = stix2.ExtensionDefinition(
        id=PHONE_EXTENSION_ID,
        created_by_ref=PRODUCER_ID,
        created=EPOCH,
        modified=EPOCH,
        name="x-phone-number",
        description=(
            "A telephone number in E.164 form as shown on a web page or ad, with its "
            "country (ISO 3166-1 alpha-2), number type and the brand whose helpdesk it "
            "pretends to be."
        ),
        schema=(
            "x-phone-number: value (required, E.164 string), country (ISO 3166-1 alpha-2), "
            "number_type (phonenumbers type: fixed_line, mobile, voip, toll_free, "
            "premium_rate, ...), brand (name of the brand impersonated). "
            "Id contributing property: value."
        ),
        version="1.0.0",
        extension_types=["new-sco"],
    )
    objects: dict[str, object] = {producer.id: producer, extension.id: extension}
    actors: dict[str, str] = {}
    for r in records:
        first = _when(r.get("first_seen"), now)
        last = max(_when(r.get("last_seen"), now), first)
        brand = r.get("brand") or "unknown brand"
        if brand not in actors:
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
            for o in (org, actor, rel):
                objects[o.id] = o
            actors[brand] = actor.id
        url_value = safe_url_string(r["url"])
        url = stix2.URL(value=url_value)
        domain = stix2.DomainName(value=r["domain"])
        phone = PhoneNumber(
            value=r["phone"],
            country=r.get("country") or None,
            number_type=r.get("number_type") or None,
            brand=r.get("brand") or None,
        )
        reasons = r.get("reasons") or []
        if isinstance(reasons, str):
            reasons = [reasons]
        pair = (r["domain"], r["phone"])
        indicator = stix2.Indicator(
            id=_stable_id("indicator", *pair),
            name=f"Fake {brand} helpdesk number {r['phone']} on {r['domain']}",
            description=(
                f"Shows {r['phone']} as a {brand} helpdesk number. Risk {r.get('risk')}, "
                f"score {r.get('score')}: " + "; ".join(map(str, reasons))
            ),
            indicator_types=["malicious-activity"],
            pattern=f"[url:value = {_pattern_string(url_value)}]",
            pattern_type="stix",
            valid_from=first,
            created_by_ref=PRODUCER_ID,
            created=first,
            modified=last,
        )
        indicates = stix2.Relationship(
            id=_stable_id("relationship", "indicates", *pair),
            source_ref=indicator.id,
            target_ref=actors[brand],
            relationship_type="indicates",
            created_by_ref=PRODUCER_ID,
            created=first,
            modified=last,
        )
        observed = stix2.ObservedData(
            id=_stable_id("observed-data", *pair),
            first_observed=first,
            last_observed=last,
            number_observed=1,
            object_refs=[url.id, domain.id, phone.id],
            created_by_ref=PRODUCER_ID,
            created=first,
            modified=last,
            allow_custom=True,
        )
        sighting = stix2.Sighting(
            id=_stable_id("sighting", *pair),
            sighting_of_ref=indicator.id,
            observed_data_refs=[observed.id],
            where_sighted_refs=[PRODUCER_ID],
            first_seen=first,
            last_seen=last,
            created_by_ref=PRODUCER_ID,
            created=first,
            modified=last,
        )
        for o in (url, domain, phone, indicator, indicates, observed, sighting):
            objects[o.id] = o
    return stix2.Bundle(objects=list(objects.values()), allow_custom=True)


def write_stix(records: list[dict], out: IO[str]) -> int:
    """Write one STIX 2.1 bundle (JSON) for these flagged-pair records."""
    out.write(bundle(records).serialize(pretty=True, ensure_ascii=False) + "\n")
    return len(records)
