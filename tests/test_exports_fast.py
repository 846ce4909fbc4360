"""The exports' fast paths make what the plain ones made (issue 11: a delta of tens
of thousands of pairs under 2 s): the export row from its narrow read, the
fingerprints the ledger keeps, CSV cells, and STIX's timestamps, ids and JSON,
each held to the code or library it stands in for."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import stix2
from exports_seed import seeded
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2.canonicalization.Canonicalize import canonicalize
from stix2.utils import STIXdatetime, format_datetime

from crawler import storage, triage
from crawler.exports import _cell, csv_cell, misp, stix, write_csv
from crawler.exports.core import write_export
from crawler.exports.recipients import load_presets
from crawler.exports.rows import ReadOptions, iter_pair_rows, number_range, status_at
from crawler.exports.shaping import fingerprint

PRESETS = load_presets()

# What iter_pair_rows added to export_record before it made its rows in one dict.
_PAIR_EXTRA = (
    "ip",
    "warc_file",
    "warc_record_id",
    "payload_sha256",
    "first_run",
    "last_run",
    "nl_category",
    "carrier",
    "page_title",
    "click_url",
    "advertiser_name",
    "advertiser_location",
)


def _reference_rows(db, **kw) -> list[dict]:
    """The export rows as iter_pair_rows made them from every column of the pair:
    export_record, then the extra fields one by one."""
    decisions = storage.latest_decisions(db)
    rows = []
    for raw in storage.flagged_rows(db, details=True, **kw):
        row = storage.export_record(raw)
        for name in _PAIR_EXTRA:
            row.setdefault(name, raw.get(name))
        row["carrier"] = row.get("carrier") or None
        row["number_range"] = number_range(row["phone"])
        row["brand_site"] = bool(raw["official_site"])
        row["third_party"] = raw["third_party"] or raw["third_party_site"]
        row["status_at"] = status_at(row, decisions)
        rows.append(row)
    return rows


def test_export_rows_are_export_records_with_their_extras_in_order():
    """The narrow read and one-dict row give every field export_record and the extras
    gave, with the same values in the same order, for flagged, confirmed and
    dismissed pairs, whole or by rowid (a delta's candidates)."""
    db = seeded()
    flagged = storage.flagged(db)
    triage.record(db, "number", flagged[0]["phone"], "dismiss", "a test")
    triage.record(db, "site", flagged[-1]["domain"], "confirm", "a test")
    for dismissed, by_site in ((True, False), (True, True), (False, False)):
        want = _reference_rows(db, include_dismissed=dismissed, by_site=by_site)
        got = list(iter_pair_rows(db, ReadOptions(include_dismissed=dismissed), by_site=by_site))
        assert [list(r.items()) for r in got] == [list(r.items()) for r in want]
    rowids = [r for (r,) in db.execute("select rowid from site_numbers order by rowid desc")]
    dismissed = db.execute(
        "select rowid from site_numbers where phone = ?", [flagged[0]["phone"]]
    ).fetchall()
    only = sorted(set(rowids[::2]) | {r for (r,) in dismissed})
    want = _reference_rows(db, include_dismissed=True, only=only)
    got = list(iter_pair_rows(db, ReadOptions(include_dismissed=True, only=only)))
    assert got == want
    assert {r["status"] for r in got} >= {"dismissed", "new"} and len(got) >= 3


def _ledger_form(row: dict, ignored: list[str]) -> str:
    """The fingerprint as the ledger has always kept it (a change of form would send
    every pair again)."""
    kept = {k: v for k, v in row.items() if k not in ignored}
    blob = json.dumps(kept, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def test_fingerprints_keep_the_ledgers_form():
    db = seeded()
    preset = PRESETS["default"]
    rows = list(iter_pair_rows(db, ReadOptions(include_dismissed=True)))
    for r in rows:
        out = {c: r.get(c) for c in preset.columns}
        assert fingerprint(out, preset) == _ledger_form(out, preset.ignore_in_delta)
    # The streamed export's ledger (its own fingerprinting) is the same.
    written = write_export(db, preset, "jsonl", _Sink())
    by_key = {preset.item_key(r): r for r in rows}
    for key, fp in written.ledger:
        out = {c: by_key[key].get(c) for c in preset.columns}
        assert fp == _ledger_form(out, preset.ignore_in_delta)
    assert len(written.ledger) == len(rows) - sum(r["status"] == "dismissed" for r in rows)


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(value=_JSON_VALUES | st.lists(st.text()) | st.dictionaries(st.text(), st.text()))
def test_a_csv_cell_is_what_csv_cell_makes(value):
    assert _cell(value) == csv_cell(value)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries({c: _JSON_VALUES | st.lists(st.text()) for c in ("a", "b", "c")}),
        max_size=4,
    ),
    columns=st.sampled_from([["a", "b", "c"], ["b"], ["c", "a"]]),
)
def test_write_csv_writes_what_csvs_writer_writes_of_csv_cells(rows, columns):
    """A grouped recipient's CSV (lists of distinct values, commas, quotes, newlines,
    carriage returns, one column) is the text csv.writer makes of `csv_cell`s."""
    want = io.StringIO()
    writer = csv.writer(want, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([csv_cell(r[c]) for c in columns])
    out = io.StringIO()
    assert write_csv(rows, out, columns=columns) == len(rows)
    assert out.getvalue() == want.getvalue()


@settings(max_examples=300, deadline=None)
@given(
    value=st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5, minutes=30))]
        ),
    ),
    ms=st.booleans(),
)
def test_stix_timestamps_are_stix2s(value, ms):
    stix._ts.cache_clear()
    if ms:
        want = format_datetime(
            STIXdatetime(value, precision="millisecond", precision_constraint="min")
        )
    else:
        want = format_datetime(value)
    assert stix._ts(value, ms=ms) == want


@settings(max_examples=300, deadline=None)
@given(value=st.text() | st.from_regex(r"[ -~]*", fullmatch=True))
def test_deterministic_ids_are_stix2s(value):
    stix._sco_id.cache_clear()
    data = canonicalize({"value": value}, utf8=False)
    assert stix._sco_id("url", value) == f"url--{uuid.uuid5(stix2.base.SCO_DET_ID_NAMESPACE, data)}"


@given(parts=st.lists(st.text(), min_size=1, max_size=3))
def test_stable_ids_are_version_4_uuids_of_the_digest(parts):
    digest = hashlib.sha256("\x1f".join(["indicator", *parts]).encode()).digest()
    want = f"indicator--{uuid.UUID(bytes=digest[:16], version=4)}"
    assert stix._stable_id("indicator", *parts) == want


@given(domain=st.none() | st.text(), phone=st.text())
def test_a_pairs_ids_are_its_stable_ids(domain, phone):
    assert stix._pair_ids(domain, phone) == (
        stix._stable_id("indicator", domain, phone),
        stix._stable_id("relationship", "indicates", domain, phone),
        stix._stable_id("observed-data", domain, phone),
        stix._stable_id("sighting", domain, phone),
    )
    assert stix._phone_id(phone) == stix._stable_id("phone-number", phone)


@settings(max_examples=500, deadline=None)
@given(
    text=st.text()
    | st.builds(json.dumps, st.lists(st.text() | st.integers() | st.none(), max_size=4))
    | st.sampled_from(
        ['["a"] ', ' ["a"]', '\ufeff["a"]', '["a"', '["a"]x', "[1, 2]", "NaN", b'["a"]']
    )
)
def test_stored_json_is_decoded_as_json_loads_decodes_it(text):
    try:
        want = json.loads(text)
    except ValueError as error:
        with pytest.raises(type(error)):
            storage.loads_json(text)
        return
    assert repr(storage.loads_json(text)) == repr(want)  # NaN too


def test_misp_uuids_are_random_version_4():
    made = {misp._uuid4() for _ in range(1000)}
    assert len(made) == 1000
    for u in made:
        parsed = uuid.UUID(u)
        assert str(parsed) == u and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Random where a UUIDv4 is: every variant digit, and every hex digit elsewhere.
    assert {u[19] for u in made} == set("89ab")
    fixed = (8, 13, 14, 18, 19, 23)
    assert all(len({u[i] for u in made}) == 16 for i in range(36) if i not in fixed)


def test_misp_uuids_are_new_in_a_forked_child():
    import os

    misp._uuid4()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next uuid, to the parent
        os.write(write, misp._uuid4().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 100).decode() != misp._uuid4()


def test_the_pinned_phone_number_template_is_pymisps():
    """The `phone-number` object's header and fields, pinned so that an export need not
    import PyMISP, are those of PyMISP's own template."""
    from pymisp import MISPObject

    proto = MISPObject("phone-number", standalone=False)
    for relation in misp._RELATIONS:
        proto.add_attribute(relation, "x")
    data = json.loads(proto.to_json())
    header = {k: v for k, v in data.items() if k not in ("uuid", "Attribute")}
    fields = ("type", "category", "to_ids", "disable_correlation")
    per = {a["object_relation"]: {k: a[k] for k in fields} for a in data["Attribute"]}
    assert misp._template() == (header, per)


_NUMBERS = [
    "+31852081234",
    "+31612345678",
    "+3120123456",
    "+319001234567",
    "+318001234",
    "+442038071234",
    "+447700900123",
    "+18442173090",
    "+5491123456789",  # Argentina's mobile token
    "+541123456789",
    "+4930123456",
    "+33612345678",
    "+861012345678",
    "+80012345678",
    "+882345678901",
    "+31852081234;ext=12",
]


@given(number=st.sampled_from(_NUMBERS) | st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_the_national_destination_code_is_phonenumbers(number):
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return
    assert misp._ndc_length(parsed) == phonenumbers.length_of_national_destination_code(parsed)


@settings(max_examples=300, deadline=None)
@given(
    url=st.text(max_size=40)
    | st.from_regex(r"https?://[a-z0-9.-]{0,20}(/[A-Za-z0-9._~/%?#:-]{0,20})?", fullmatch=True)
)
def test_a_plain_url_is_its_own_safe_form(url):
    from w3lib.url import safe_url_string

    stix._safe_url.cache_clear()
    assert stix._safe_url(url) == safe_url_string(url)


@settings(max_examples=60, deadline=None)
@given(
    domain=st.sampled_from(["helpdesk.example", None, "xn--bcher-kva.example"]),
    country=st.sampled_from(["NL", None, "XX", "gb"]),
    number_type=st.sampled_from(["mobile", "fixed_line", "voip", None]),
    carrier=st.sampled_from([None, "", "KPN"]),
    warc=st.booleans(),
    url=st.sampled_from(["https://helpdesk.example/contact", "http://h.example/a b?c=é#d"]),
    dismissed=st.booleans(),
)
def test_every_shape_of_pair_is_what_stix2_makes(
    domain, country, number_type, carrier, warc, url, dismissed
):
    """The pair's objects with and without their optional fields (no site, country,
    carrier or WARC record) are stix2's, in its order."""
    import io
    import re

    record = {
        "phone": "+31852081234",
        "domain": domain,
        "url": url,
        "brand": "Microsoft",
        "risk": "high",
        "score": 90,
        "reasons": ["a", "b"],
        "country": country,
        "number_type": number_type,
        "carrier": carrier,
        "first_seen": "2026-10-01T10:00:00+00:00",
        "last_seen": "2026-10-08T10:00:00.5+02:00",
        "warc_record_id": "<urn:uuid:1>" if warc else None,
        "warc_file": "a.warc.gz" if warc else None,
        "payload_sha256": "0" * 64 if warc else None,
        "status": "dismissed" if dismissed else "new",
        "status_at": "2026-10-09T10:00:00+00:00",
    }
    records = [record, {**record, "phone": "+31852081235"}]
    out = io.StringIO()
    stix.write_stix(iter(records), out)
    whole = stix.bundle(records).serialize(pretty=True, ensure_ascii=False) + "\n"
    same_id = re.sub(r"bundle--[0-9a-f-]{36}", "bundle--X", out.getvalue())
    assert same_id == re.sub(r"bundle--[0-9a-f-]{36}", "bundle--X", whole)


def test_writing_a_bundle_needs_no_stix2_and_an_empty_one_is_stix2s():
    """stix2 checks bundles (`bundle`); writing one does without it (its import is a
    tenth of a second of every export), its namespace of ids included."""
    import io
    import re
    import subprocess
    import sys

    code = (
        "import io, sys; from crawler.exports import stix; stix.write_stix([], io.StringIO());"
        " print('stix2' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    assert stix.SCO_NAMESPACE == stix2.base.SCO_DET_ID_NAMESPACE
    out = io.StringIO()
    assert stix.write_stix([], out) == 0
    whole = stix.bundle([]).serialize(pretty=True, ensure_ascii=False) + "\n"
    assert re.sub(r"bundle--[0-9a-f-]{36}", "X", out.getvalue()) == re.sub(
        r"bundle--[0-9a-f-]{36}", "X", whole
    )


@given(values=st.lists(st.none() | st.text() | st.integers() | st.dates(), min_size=1, max_size=3))
def test_an_item_key_is_the_ledgers_form(values):
    """An item's key names it in the ledger: the JSON it always was, however made."""
    preset = PRESETS["default"]
    names = [f"k{i}" for i in range(len(values))]
    preset = type(preset)(name="t", columns=["phone"], key=names)
    want = json.dumps(values, default=str, ensure_ascii=False)
    assert preset.item_key(dict(zip(names, values, strict=True))) == want
