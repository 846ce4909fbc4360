"""STIX checks shared by the tests: stix2-validator in strict mode, every check on.

The validator runs with `strict=True` and nothing disabled (the same as
`stix2_validator --strict FILE`), and a bundle passes only with no error and
no warning at all. On top of that every id is checked against how it must be
made, computed here independently of crawler/exports/stix.py:

- `url`, `domain-name` (and the IP SCOs): the spec's UUIDv5 (STIX 2.1, 2.9),
  in namespace 00abedb4-aa42-466c-9c01-fed23315a9b7, named by the canonical
  JSON of the id contributing property `value`;
- `phone-number`: sha256("phone-number" 0x1f E.164), first 16 bytes, as a
  UUIDv4. The spec only says SCOs SHOULD use UUIDv5, and stix2-validator
  3.3.2's check 103 (`stix2validator/v21/shoulds.py` lines 290-312,
  `uuid_check`) asks a UUIDv5 only of the 18 SCO types in its own list
  (`v21/enums.py` line 439) and a UUIDv4 of every other type, an SCO of an
  extension definition included. A deterministic UUIDv4 is stable and strict;
- everything else: a UUIDv4.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from stix2validator import ValidationOptions, validate_string

# The namespace STIX 2.1 (2.9) fixes for SCO ids.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
SPEC_SCO_TYPES = {"url", "domain-name", "ipv4-addr", "ipv6-addr"}


def sco_id(kind: str, value: str) -> str:
    """The spec's UUIDv5 id for an SCO whose only contributing property is `value`."""
    canonical = json.dumps({"value": value}, ensure_ascii=False, separators=(",", ":"))
    return f"{kind}--{uuid.uuid5(SCO_NAMESPACE, canonical)}"


def phone_id(e164: str) -> str:
    """The id serpwatch gives a `phone-number` SCO (see above)."""
    digest = hashlib.sha256(f"phone-number\x1f{e164}".encode()).digest()
    return f"phone-number--{uuid.UUID(bytes=digest[:16], version=4)}"


def strict_errors(text: str) -> list[str]:
    """Every error and warning of stix2-validator in strict mode, no check disabled."""
    result = validate_string(text, ValidationOptions(version="2.1", strict=True))
    return [str(e) for e in result.errors] + [str(w) for w in result.warnings]


def assert_strict_valid(text: str) -> dict:
    """Validate a bundle (JSON text) as described above; return it parsed."""
    assert strict_errors(text) == []
    assert validate_string(text, ValidationOptions(version="2.1", strict=True)).is_valid
    data = json.loads(text)
    for o in data.get("objects", []):
        if o["type"] in SPEC_SCO_TYPES:
            assert o["id"] == sco_id(o["type"], o["value"]), o
        elif o["type"] == "phone-number":
            assert o["id"] == phone_id(o["value"]), o
        else:
            assert uuid.UUID(o["id"].split("--", 1)[1]).version == 4, o["id"]
    return data
