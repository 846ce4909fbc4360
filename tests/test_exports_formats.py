"""MISP and XARF exports, checked by the programs partners read them with.

MISP: PyMISP loads the event with its own schema validation. XARF: the
published XARF v4 JSON schemas (vendored in tests/fixtures/xarf, see
SOURCE.md there) validate every report, formats included. Both on the
demo's exports (a real crawl, real WARC evidence). Also: every recipient
cites the same WARC record for the same pair, and a fresh database exports
nothing with exit 0 in every format.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import pymisp
import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator, Draft202012Validator
from pymisp import MISPEvent
from referencing import Registry, Resource

from crawler import storage, triage
from crawler.cli import main
from crawler.exports.core import prepare_export
from crawler.exports.evidence_files import EvidenceFiles
from crawler.exports.ledger import record_export
from crawler.exports.recipients import load_presets
from crawler.exports.rows import pair_rows
from crawler.exports.xarf import reports

XARF = Path(__file__).parent / "fixtures" / "xarf"
MISP_SCHEMA = Draft4Validator(
    json.loads((Path(pymisp.__file__).parent / "data" / "schema-lax.json").read_text())
)
FRAUD_ID = "https://xarf.org/schemas/v4/types/content-fraud.json"
THIRD_PARTY = "+31887867372"  # the Fraudehelpdesk's own number, on a news article
PRESETS = load_presets()
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5b1f3a90000000049454e44ae426082"
)


def xarf_validator() -> Draft202012Validator:
    resources = []
    for path in XARF.rglob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    schema = registry.contents(FRAUD_ID)
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def xarf_errors(report: dict) -> list[str]:
    return [f"{list(e.path)}: {e.message}" for e in xarf_validator().iter_errors(report)]


def cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(demo_out):
    return demo_out


# ---------------------------------------------------------------------------
# MISP


def load_misp(text: str) -> MISPEvent:
    """Validate with PyMISP's event schema (the lax one: its strict one predates
    objects and first/last seen), then load with PyMISP."""
    data = json.loads(text)
    assert set(data) == {"Event"}
    errors = [f"{list(e.path)}: {e.message}" for e in MISP_SCHEMA.iter_errors(data)]
    assert errors == []
    ev = MISPEvent()
    ev.load(data)
    return ev


def test_the_misp_schema_bites():
    assert list(MISP_SCHEMA.iter_errors({"Event": {"info": 5}}))
    assert list(MISP_SCHEMA.iter_errors({"Event": {"Attribute": [{"to_ids": "yes"}]}}))


def test_pymisp_loads_the_demos_event(demo):
    ev = load_misp((demo / "flagged.misp.json").read_text())
    phones = {o.get_attributes_by_relation("phone-number")[0].value: o for o in ev.objects}
    assert "+31852081234" in phones and "+442038071234" in phones
    assert THIRD_PARTY not in phones  # a known legitimate third party, score 0
    nl = phones["+31852081234"]
    assert nl.name == "phone-number"
    assert nl.get_attributes_by_relation("country-code")[0].value == "NL"
    assert nl.get_attributes_by_relation("country-code-numeric")[0].value == "+31"
    assert "poses as Microsoft's helpdesk" in nl.comment  # the reasons
    urls = {a.value for a in ev.attributes if a.type == "url"}
    domains = {a.value for a in ev.attributes if a.type == "domain"}
    assert "microsoft-helpdesk-bellen.nl" in domains
    assert "nu-nieuws.nl" not in domains  # low risk: under MISP's medium floor
    assert any(u.startswith("http://microsoft-helpdesk-bellen.nl") for u in urls)
    tags = {t.name for a in ev.attributes if a.type == "url" for t in a.tags}
    assert 'serpwatch:brand="Microsoft"' in tags and 'serpwatch:risk="high"' in tags
    # The page as evidence: its hash, and the page itself as an attachment.
    attachments = [a for a in ev.attributes if a.type == "attachment"]
    hashes = {a.value for a in ev.attributes if a.type == "sha256"}
    assert attachments and len(hashes) == len(attachments)
    for a in attachments:
        data = a.data.getvalue()
        assert hashlib.sha256(data).hexdigest() in hashes
        assert b"<html" in data.lower()


def test_misp_sends_a_dismissal_in_the_next_delta(demo, tmp_path):
    db_path = tmp_path / "d.db"
    db_path.write_bytes((demo / "demo.db").read_bytes())
    db = storage.open_db(db_path)
    first = prepare_export(db, PRESETS["default"], "misp", since="last", min_risk="medium")
    record_export(db, first, file="first.json")
    triage.record(db, "number", "+442038071234", "dismiss")
    delta = prepare_export(db, PRESETS["default"], "misp", since="last", min_risk="medium")
    ev = load_misp(delta.content)
    (obj,) = ev.objects
    number = obj.get_attributes_by_relation("phone-number")[0]
    assert number.value == "+442038071234" and number.to_ids is False
    assert 'serpwatch:status="dismissed"' in {t.name for t in number.tags}
    assert all(a.to_ids is False for a in ev.attributes)


# ---------------------------------------------------------------------------
# XARF


def test_the_xarf_schema_bites():
    assert xarf_errors({"category": "content", "type": "fraud"})  # nothing else
    good = json.loads((XARF / "types" / "content-fraud.json").read_text())["examples"][0]
    assert xarf_errors(good) == []
    assert xarf_errors({**good, "fraud_type": "helpdesk"})
    assert xarf_errors({**good, "timestamp": "yesterday"})  # formats are checked


def test_xarf_reports_of_the_demo_validate_one_per_site(demo):
    lines = (demo / "hosting.xarf.jsonl").read_text().splitlines()
    made = [json.loads(line) for line in lines]
    for r in made:
        assert xarf_errors(r) == [], r["domain"]
    by_domain = {r["domain"]: r for r in made}
    assert len(by_domain) == len(made)
    # Hosts get the scam sites, not the brand's own forum, the news or a third party.
    assert "microsoft-helpdesk-bellen.nl" in by_domain and "icloud-hulp24.com" in by_domain
    assert not {"microsoft.com", "nu-nieuws.nl"} & set(by_domain)
    r = by_domain["microsoft-helpdesk-bellen.nl"]
    assert (r["category"], r["type"], r["fraud_type"]) == ("content", "fraud", "tech_support")
    assert r["claimed_entity"] == r["target_brand"] == "Microsoft"
    assert r["verification_method"] == "automated_crawler" and r["verified_at"]
    assert r["url"].startswith("http://microsoft-helpdesk-bellen.nl")
    assert "+31852081234" in r["description"]
    (page,) = [e for e in r["evidence"] if e["content_type"] == "text/html"]
    body = base64.b64decode(page["payload"])
    assert page["hash"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert b"085" in body or b"+31" in body


def test_xarf_and_misp_carry_the_screenshot_where_one_exists(demo, tmp_path):
    db = storage.open_db(demo / "demo.db")
    rows = [r for r in pair_rows(db) if r["domain"] == "icloud-hulp24.com"]
    shot = tmp_path / "shot.png"
    shot.write_bytes(PNG)
    for r in rows:
        r["screenshot"] = str(shot)
        r["screenshot_sha256"] = hashlib.sha256(PNG).hexdigest()
    files = EvidenceFiles(demo / "demo-warc")
    (report,) = reports(rows, files)
    assert xarf_errors(report) == []
    (png,) = [e for e in report["evidence"] if e["content_type"] == "image/png"]
    assert base64.b64decode(png["payload"]) == PNG
    from crawler.exports.misp import write_misp

    out = io.StringIO()
    write_misp(rows, out, files=files)
    ev = load_misp(out.getvalue())
    names = {a.value for a in ev.attributes if a.type == "attachment"}
    assert "icloud-hulp24.com.png" in names
    # A screenshot whose bytes do not match the row's hash is not sent.
    rows[0]["screenshot_sha256"] = "0" * 64
    (report,) = reports(rows[:1], files)
    assert not [e for e in report["evidence"] if e["content_type"] == "image/png"]


# ---------------------------------------------------------------------------
# Every export cites the same evidence


def test_the_same_pair_cites_the_same_warc_record_in_every_export(demo):
    db = storage.open_db(demo / "demo.db")
    cited = {
        (r["domain"], r["phone"]): r["warc_record_id"]
        for r in pair_rows(db)
        if r["risk"] in ("high", "medium")
    }
    assert cited and all(cited.values())
    regulator = prepare_export(db, PRESETS["regulator"], "jsonl").items
    hosting = prepare_export(db, PRESETS["hosting"], "jsonl").items
    for item in regulator:
        phone = item.row["phone"]
        records = {e["warc_record_id"] for e in item.row["evidence"]}
        for (domain, p), rid in cited.items():
            if p == phone:
                assert rid in records, (domain, phone)
    for item in hosting:
        records = {e["warc_record_id"] for e in item.row["evidence"]}
        for (domain, _p), rid in cited.items():
            if domain == item.row["domain"]:
                assert rid in records, domain
    stix = json.loads(prepare_export(db, PRESETS["default"], "stix", min_risk="medium").content)
    refs = {
        ref["external_id"]
        for o in stix["objects"]
        if o["type"] == "observed-data"
        for ref in o.get("external_references", [])
    }
    assert refs == set(cited.values())
    misp = load_misp(prepare_export(db, PRESETS["default"], "misp", min_risk="medium").content)
    comments = " ".join(a.comment for a in misp.attributes if a.type == "sha256")
    assert all(rid in comments for rid in cited.values())
    xarf = prepare_export(db, PRESETS["hosting"], "xarf").content
    for (domain, _p), rid in cited.items():
        if domain != "microsoft.com":
            assert rid in xarf, domain


# ---------------------------------------------------------------------------
# A fresh database


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "stix", "misp", "xarf"])
def test_a_fresh_database_exports_nothing_with_exit_0(tmp_path, fmt):
    out = tmp_path / "out"
    storage.open_db(tmp_path / "new.db").close()  # fresh: created, nothing crawled yet
    res = cli("export", "--db", str(tmp_path / "new.db"), "--format", fmt, "--out", str(out))
    assert res.exit_code == 0, res.output
    text = out.read_text()
    if fmt == "jsonl" or fmt == "xarf":
        assert text == ""
    elif fmt == "csv":
        assert len(text.splitlines()) == 1
    elif fmt == "stix":
        assert "objects" not in json.loads(text)
    else:
        ev = load_misp(text)
        assert not ev.attributes and not ev.objects
    assert "0 records" in res.stderr


def test_a_release_0_1_database_exports_with_the_ledger_per_format(tmp_path):
    old = Path(__file__).parent / "fixtures" / "db" / "release-0.1-demo.db"
    path = tmp_path / "old.db"
    path.write_bytes(old.read_bytes())
    for fmt in ("jsonl", "stix", "misp", "xarf"):
        res = cli("export", "--db", str(path), "--format", fmt, "--out", str(tmp_path / fmt))
        assert res.exit_code == 0, res.output
    db = storage.open_db(path)
    assert "format" in db["export_items"].columns_dict
    # The migration filled in the format of the ledger rows 0.1 wrote.
    formats = dict(db.execute("select id, format from exports").fetchall())
    for item in db["export_items"].rows:
        assert item["format"] == formats[item["export_id"]]
