"""The streamed MISP writer makes the event PyMISP's own objects make.

The writer (crawler.exports.misp) writes MISP's JSON attribute by attribute, so a
year's export keeps flat memory; tests/misp_reference.py builds the same event
with PyMISP's objects, as the writer did before. Both are loaded by PyMISP and
compared with their random uuids replaced by what they point at.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from misp_reference import event as reference_event
from test_exports_formats import load_misp

from crawler import storage, triage
from crawler.exports.evidence_files import EvidenceFiles
from crawler.exports.misp import write_misp
from crawler.exports.rows import ReadOptions, pair_rows

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _comparable(event_json: dict) -> dict:
    """The event with each uuid replaced: attributes and objects by their order,
    references by the value of the attribute they point at."""
    ev = event_json["Event"]
    values = {a["uuid"]: a["value"] for a in ev["Attribute"]}
    attributes = [{k: v for k, v in a.items() if k != "uuid"} for a in ev["Attribute"]]
    objects = []
    for o in ev["Object"]:
        refs = [
            (values[r["referenced_uuid"]], r["relationship_type"], r["comment"])
            for r in o.get("ObjectReference", [])
        ]
        inner = [{k: v for k, v in a.items() if k != "uuid"} for a in o["Attribute"]]
        rest = {k: v for k, v in o.items() if k not in ("uuid", "ObjectReference", "Attribute")}
        objects.append({**rest, "refs": refs, "Attribute": inner})
    head = {k: v for k, v in ev.items() if k not in ("uuid", "Attribute", "Object")}
    return {"head": head, "attributes": attributes, "objects": objects}


def _streamed(records, files) -> dict:
    out = io.StringIO()
    write_misp(records, out, files=files, now=NOW)
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def demo_rows(demo_out):
    db = storage.open_db(demo_out / "demo.db")
    return pair_rows(db, ReadOptions(min_risk="low")), EvidenceFiles(demo_out / "demo-warc")


def test_the_streamed_event_is_the_event_pymisp_makes(demo_rows):
    rows, files = demo_rows
    assert any(r.get("third_party") for r in rows)  # left out of both
    mine = _streamed(rows, files)
    theirs = json.loads(reference_event(rows, files=files, now=NOW).to_json())
    load_misp(json.dumps(mine))  # PyMISP's schema and loader take it
    got, want = _comparable(mine), _comparable({"Event": theirs})
    assert got["head"] == want["head"]
    assert got["objects"] == want["objects"]
    assert got["attributes"] == want["attributes"]
    assert any(a["type"] == "attachment" for a in got["attributes"])  # evidence bytes


def test_a_dismissed_number_is_withdrawn_the_same_way(demo_out, tmp_path):
    db_path = tmp_path / "d.db"
    db_path.write_bytes((demo_out / "demo.db").read_bytes())
    db = storage.open_db(db_path)
    phone = pair_rows(db, ReadOptions(min_risk="medium"))[0]["phone"]
    triage.record(db, "number", phone, "dismiss", "a test")
    rows = pair_rows(db, ReadOptions(min_risk="medium", include_dismissed=True))
    assert any(r["status"] == "dismissed" for r in rows)
    files = EvidenceFiles(None)
    mine = _streamed(rows, files)
    theirs = json.loads(reference_event(rows, files=files, now=NOW).to_json())
    assert _comparable(mine) == _comparable({"Event": theirs})


def test_each_pair_is_written_before_the_next_is_read(demo_rows):
    """The writer consumes a stream: what one pair adds is out before the next comes."""
    rows, _ = demo_rows
    rows = [r for r in rows if not r.get("third_party")][:4]
    out = io.StringIO()
    written_before = []

    def stream():
        for r in rows:
            written_before.append(out.getvalue().count('"type": "url"'))
            yield r

    write_misp(stream(), out, files=EvidenceFiles(None), now=NOW)
    assert written_before == [0, 1, 2, 3]
    assert load_misp(out.getvalue()).objects


@pytest.mark.parametrize("kw", [{}, {"min_risk": "high"}, {"since": "last"}])
def test_the_default_recipients_misp_export_streams_the_event_made_whole(kw):
    """`write_export` streams the default recipient's MISP event as rows are read:
    the event and the ledger of the export made whole (`prepare_export`)."""
    from exports_seed import seeded

    from crawler.exports.core import prepare_export, streams, write_export
    from crawler.exports.ledger import record_export
    from crawler.exports.recipients import load_presets

    preset = load_presets()["default"]
    assert streams(preset, "misp")
    db = seeded()
    if kw.get("since"):
        record_export(db, write_export(db, preset, "misp", io.BytesIO(), since="last"))
        triage.record(db, "number", storage.flagged(db)[0]["phone"], "dismiss", "a test")
    whole = prepare_export(db, preset, "misp", **kw)
    out = io.BytesIO()
    written = write_export(db, preset, "misp", out, **kw)
    assert written.ledger == whole.ledger and whole.ledger
    mine, theirs = json.loads(out.getvalue()), json.loads(whole.data)
    for ev in (mine, theirs):  # the same day: `now` is the export's
        ev["Event"].pop("date")
    assert _comparable(mine) == _comparable(theirs)
    assert ("dismissed" in out.getvalue().decode()) == bool(kw.get("since"))


@pytest.mark.parametrize("budget", [0, 2000])
def test_past_its_memory_budget_the_event_is_the_same(demo_rows, monkeypatch, budget):
    """The numbers' first pairs and references stay in memory up to a budget, then go
    to the spool (a year's export keeps flat memory): the same event either way."""
    from crawler.exports import misp

    rows, files = demo_rows
    whole = _comparable(_streamed(rows, files))
    monkeypatch.setattr(misp, "_KEPT_CHARS", budget)
    assert _comparable(_streamed(rows, files)) == whole
