"""STIX checks shared by the tests: stix2-validator in strict mode, and SCO ids.

stix2-validator's strict mode turns its "SHOULD" checks into errors. One of
them (103, uuid-check) knows only the SCO types of the STIX 2.1 spec: it
wants a UUIDv4 for any other type, so it rejects the UUIDv5 that the spec
prescribes for SCOs (section 2.9) on a `phone-number` defined by an
extension (`new-sco`). We run strict mode with that one check off and make
the check ourselves, the right way round: every SCO, `phone-number`
included, has the deterministic UUIDv5 of its id contributing property, and
every other object a UUIDv4. Without strict mode the validator's only
complaints must be exactly those 103 warnings on phone numbers.
"""

from __future__ import annotations

import json
import uuid

from stix2validator import ValidationOptions, validate_string

# The namespace STIX 2.1 (2.9) fixes for SCO ids.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
SCO_TYPES = {"url", "domain-name", "phone-number", "ipv4-addr", "ipv6-addr"}


def sco_id(kind: str, value: str) -> str:
    """The spec's id for an SCO whose only contributing property is `value`."""
    canonical = json.dumps({"value": value}, ensure_ascii=False, separators=(",", ":"))
    return f"{kind}--{uuid.uuid5(SCO_NAMESPACE, canonical)}"


def assert_strict_valid(text: str) -> dict:
    """Validate a bundle (JSON text) as described above; return it parsed."""
    strict = validate_string(
        text, ValidationOptions(version="2.1", strict=True, disabled=["uuid-check"])
    )
    assert strict.is_valid, [str(e) for e in strict.errors] + [str(w) for w in strict.warnings]
    lax = validate_string(text, ValidationOptions(version="2.1"))
    assert lax.is_valid, [str(e) for e in lax.errors]
    for w in lax.warnings:
        assert "{103}" in str(w) and str(w).startswith("phone-number--"), str(w)
    data = json.loads(text)
    for o in data.get("objects", []):
        version = uuid.UUID(o["id"].split("--", 1)[1]).version
        if o["type"] in SCO_TYPES:
            assert o["id"] == sco_id(o["type"], o["value"]), o
        else:
            assert version == 4, o["id"]
    return data
