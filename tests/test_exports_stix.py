"""STIX 2.1 exports: valid per stix2-validator, complete, stable, and safe with hostile URLs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import stix2
from exports_seed import SCRIPT_URL, seeded
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_string
from w3lib.url import safe_url_string

from crawler.exports.core import pair_rows, prepare_export, record_export
from crawler.exports.recipients import load_presets
from crawler.exports.stix import bundle

PRESETS = load_presets()
PHONES = {"+31852081234", "+31852081299", "+319001234567", "+442038071234", "+31881234567"}


def validate(text: str):
    return validate_string(text, ValidationOptions(version="2.1"))


def by_type(objects: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for o in objects:
        out.setdefault(o["type"], []).append(o)
    return out


@pytest.fixture(scope="module")
def exported():
    db = seeded()
    export = prepare_export(db, PRESETS["default"], "stix")
    return export, json.loads(export.content)


def test_bundle_is_valid_stix_21(exported):
    export, _ = exported
    result = validate(export.content)
    assert result.is_valid, [str(e) for e in result.errors]
    # The only warning the validator gives is its UUIDv4 check on our custom
    # observable, whose id is STIX's deterministic UUIDv5 as the spec asks.
    warnings = [str(w) for w in result.warnings]
    assert len(warnings) == 5
    assert all(w.startswith("x-phone-number--") and "{103}" in w for w in warnings)


def test_the_validator_catches_a_broken_bundle(exported):
    _, data = exported
    broken = json.loads(json.dumps(data))
    indicator = next(o for o in broken["objects"] if o["type"] == "indicator")
    del indicator["pattern"]
    assert not validate(json.dumps(broken)).is_valid


def test_bundle_holds_urls_domains_and_numbers_with_the_brand_impersonated(exported):
    _, data = exported
    objs = by_type(data["objects"])
    ids = {o["id"]: o for o in data["objects"]}
    assert {p["value"] for p in objs["x-phone-number"]} == PHONES
    brands = {p["value"]: p["brand"] for p in objs["x-phone-number"]}
    assert brands["+31881234567"] == "KPN" and brands["+442038071234"] == "Apple"
    assert {d["value"] for d in objs["domain-name"]} == {
        "microsoft-helpdesk-bellen.nl",
        "apple-scam.nl",
        "icloud-hulp24.com",
        "kpn-fake.nl",
    }
    assert safe_url_string(SCRIPT_URL) in {u["value"] for u in objs["url"]}
    assert "<script>" not in {u["value"] for u in objs["url"]}
    orgs = {o["name"] for o in objs["identity"] if o["identity_class"] == "organization"}
    assert orgs == {"Microsoft", "Apple", "KPN"}
    impersonates = [r for r in objs["relationship"] if r["relationship_type"] == "impersonates"]
    assert {ids[r["target_ref"]]["name"] for r in impersonates} == orgs
    assert len(objs["indicator"]) == len(objs["sighting"]) == len(objs["observed-data"]) == 5
    ext = objs["extension-definition"][0]
    assert ext["extension_types"] == ["new-sco"]
    assert all(ext["id"] in p["extensions"] for p in objs["x-phone-number"])


def test_indicator_patterns_parse_even_for_hostile_urls(exported):
    _, data = exported
    patterns = [o["pattern"] for o in data["objects"] if o["type"] == "indicator"]
    for pattern in patterns:
        assert run_validator(pattern, "2.1") == [], pattern
    hostile = {"url": "http://x.nl/a'b\\c", "domain": "x.nl", "phone": "+31852081234"}
    made = bundle([{**hostile, "brand": "Microsoft", "first_seen": "2026-10-01T10:00:00+00:00"}])
    (indicator,) = [o for o in made.objects if o.type == "indicator"]
    assert run_validator(indicator.pattern, "2.1") == []
    assert "\\'" in indicator.pattern
    # The check bites: the same URL unescaped is not a pattern.
    assert run_validator("[url:value = 'http://x.nl/a'b\\c']", "2.1")


def test_bundle_round_trips_through_the_stix2_parser(exported):
    export, _ = exported
    parsed = stix2.parse(export.content, allow_custom=True)
    phones = {o["value"] for o in parsed.objects if o["type"] == "x-phone-number"}
    assert phones == PHONES


def test_ids_are_stable_so_a_resent_pair_is_a_new_version():
    records = pair_rows(seeded())
    a = bundle(records, now=datetime(2026, 1, 2, tzinfo=UTC))
    b = bundle(list(reversed(records)), now=datetime(2027, 1, 2, tzinfo=UTC))
    assert {o.id for o in a.objects} == {o.id for o in b.objects}


def test_recipient_stix_holds_only_its_rows_and_the_delta():
    db = seeded()
    export = prepare_export(db, PRESETS["regulator"], "stix", since="last")
    data = json.loads(export.content)
    phones = {o["value"] for o in data["objects"] if o["type"] == "x-phone-number"}
    assert phones == PHONES - {"+442038071234"}
    assert validate(export.content).is_valid
    record_export(db, export)
    again = prepare_export(db, PRESETS["regulator"], "stix", since="last")
    assert "objects" not in json.loads(again.content)
    assert validate(again.content).is_valid
