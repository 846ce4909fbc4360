"""The streamed default export's text fast paths (crawler.exports.rowtext) make the
bytes the plain encoders make: stored reasons spliced in as text, rows whose
reasons are not decoded, JSON made a run of keys at a time. Each is held to
what it stands in for on any value, and the streamed export to the export made
whole on stored reasons of every shape (issue 11: a delta of tens of thousands
of pairs under 2 s)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from exports_seed import seeded
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler import storage
from crawler.exports import _JSONL, _cell
from crawler.exports.core import prepare_export, write_export
from crawler.exports.ledger import record_export
from crawler.exports.recipients import load_presets
from crawler.exports.rows import ReadOptions, export_row, iter_pair_rows
from crawler.exports.rowtext import (
    REASONS_FIELDS,
    RowTexts,
    Spliced,
    csv_line,
    encode_function,
    key_function,
    plain_reasons,
    reasons_cell,
)
from crawler.exports.shaping import FINGERPRINT_JSON
from crawler.storage.facts import _json

PRESETS = load_presets()
ENCODERS = [
    _JSONL,
    FINGERPRINT_JSON,
    json.JSONEncoder(),
    json.JSONEncoder(sort_keys=True),
    json.JSONEncoder(sort_keys=True, default=str),
]

# Text that is hard to splice: quotes, backslashes, separators inside strings, NULs,
# the markers' own text, control characters, non-ASCII.
_HARD = st.sampled_from(
    ['","', '"', "\\", ",", "", "\x00", "\x000", "\\u0000", '\\u0000"', "\n", "é", "\u2028"]
)
_TEXT = st.text() | st.lists(_HARD | st.text(max_size=3), max_size=4).map("".join)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, which=st.sampled_from(range(len(ENCODERS))))
def test_an_encode_function_is_the_encoders_encode(value, which):
    encoder = ENCODERS[which]
    assert encode_function(encoder)(value) == encoder.encode(value)


@settings(max_examples=400, deadline=None)
@given(reasons=st.lists(_TEXT, max_size=5) | st.lists(_JSON_VALUES, max_size=3))
def test_plain_reasons_are_the_decoded_list_encoded(reasons):
    """Stored as the saves store them (compact JSON): the spliced text, when there is
    one, is what json.dumps makes of the list read back."""
    stored = _json(reasons)
    plain = plain_reasons(stored)
    if plain is not None:
        assert plain == json.dumps(json.loads(stored), ensure_ascii=False)
    cell = reasons_cell(stored)
    if cell is not None:
        assert cell == _cell(json.loads(stored))
    assert (cell is None) == (plain is None)
    if all(type(r) is str and r.isprintable() and '"' not in r and "\\" not in r for r in reasons):
        assert plain is not None  # the common shape is spliced, not decoded


@settings(max_examples=400, deadline=None)
@given(stored=_TEXT | st.none() | st.sampled_from(['[""]', '["]', '["a","b"]', '["a", "b"]']))
def test_plain_reasons_of_any_text_are_its_list_or_nothing(stored):
    plain = plain_reasons(stored)
    if plain is not None:
        assert plain == json.dumps(json.loads(stored or "[]"), ensure_ascii=False)
    cell = reasons_cell(stored)
    if cell is not None:
        assert cell == _cell(json.loads(stored or "[]"))


@settings(max_examples=400, deadline=None)
@given(
    values=st.dictionaries(
        st.sampled_from(["a", "b", "reasons", "c", "number_reasons", "z", "é"]),
        _JSON_VALUES,
        min_size=1,
    ),
    which=st.sampled_from(range(len(ENCODERS))),
)
def test_a_spliced_dict_is_the_dict_encoded(values, which):
    """Each spliced key's text put where the encoder writes its value, in its order
    (sorted or not), whatever the other values hold (NULs and the markers' text)."""
    encoder = ENCODERS[which]
    keys = [*values, "missing"]
    spliced = Spliced(keys, REASONS_FIELDS, encoder)
    texts = {k: encoder.encode(v) for k, v in values.items() if k in REASONS_FIELDS}
    got = spliced.text(values, texts, values.get)
    assert got == encoder.encode({k: values.get(k) for k in keys})


def _hard_reasons(db) -> None:
    """Store reasons of every shape the splicing must tell apart: compact and spaced
    JSON, escapes, NULs, separators inside strings, objects, empty and missing."""
    shapes = [
        _json(["plain", "officiële klantenservice", ""]),
        _json(['a "quoted" reason', "back\\slash", "tab\there"]),
        _json([",", '","', "\x00", "\x000"]),
        json.dumps(["spaced", "form"]),
        json.dumps(["ascii \u00e9scaped"]),
        _json([{"b": 1, "a": 2}, 3]),
        "[]",
        "",
        None,
    ]
    for table, pk in (("site_numbers", "id"), ("numbers", "phone"), ("sites", "domain")):
        keys = [k for (k,) in db.execute(f"select {pk} from {table} order by {pk}")]
        for i, key in enumerate(keys):
            shape = shapes[(i + len(table)) % len(shapes)]
            db.execute(f"update {table} set reasons = ? where {pk} = ?", [shape, key])
    db.conn.commit()


def _same_ids(data: bytes) -> bytes:
    """The bytes with what is random in them (bundle and MISP uuids, the event's date)
    made the same."""
    text = re.sub(_UUID4, b"U", data)
    return re.sub(rb'"date": "[0-9-]+"', b'"date": "D"', text)


_UUID4 = rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def _ordered(ledger: list, fmt: str) -> list:
    """A streamed XARF export's ledger is in site order (its reports are by site)."""
    return sorted(ledger) if fmt == "xarf" else ledger


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "stix", "misp", "xarf"])
def test_a_streamed_export_of_hard_reasons_is_the_export_made_whole(fmt):
    db = seeded()
    _hard_reasons(db)
    preset = PRESETS["default"]
    for since in (None, "last"):
        whole = prepare_export(db, preset, fmt, min_risk="low", since=since)
        out = io.BytesIO()
        written = write_export(db, preset, fmt, out, min_risk="low", since=since)
        assert _ordered(written.ledger, fmt) == _ordered(whole.ledger, fmt)
        assert len(whole.ledger) >= 3
        assert _same_ids(out.getvalue()) == _same_ids(whole.data)
        if fmt in ("jsonl", "csv"):
            assert written.sha256 == whole.sha256
    # A delta after a change to every kind of reasons: the same items either way.
    record_export(db, write_export(db, preset, fmt, io.BytesIO(), since="last", min_risk="low"))
    db.execute("update site_numbers set reasons = ? where rowid % 2 = 0", [_json(["new", "é"])])
    db.execute("update numbers set reasons = ?", [json.dumps(["spaced again"])])
    db.conn.commit()
    whole = prepare_export(db, preset, fmt, min_risk="low", since="last")
    out = io.BytesIO()
    written = write_export(db, preset, fmt, out, min_risk="low", since="last")
    assert _ordered(written.ledger, fmt) == _ordered(whole.ledger, fmt) and whole.ledger
    assert _same_ids(out.getvalue()) == _same_ids(whole.data)


def test_row_texts_are_the_fingerprint_and_line_of_the_decoded_row():
    db = seeded()
    _hard_reasons(db)
    preset = PRESETS["default"]
    counted = sorted(set(preset.columns) - set(preset.ignore_in_delta))
    texts = RowTexts(counted, FINGERPRINT_JSON, preset.columns, _JSONL)
    fingerprints = RowTexts(counted, FINGERPRINT_JSON)
    decisions = storage.latest_decisions(db)
    raws = list(storage.flagged_rows(db, details=True, export=True, include_dismissed=True))
    rows = list(iter_pair_rows(db, ReadOptions(include_dismissed=True)))
    assert len(raws) == len(rows) >= 3
    for raw, row in zip(raws, rows, strict=True):
        want_fp = FINGERPRINT_JSON.encode({c: row.get(c) for c in counted})
        want_line = _JSONL.encode({c: row.get(c) for c in preset.columns})
        bare = export_row(raw, decisions, frozenset())
        assert texts.both(raw, bare) == (want_fp, want_line)
        assert fingerprints.fingerprint(raw, export_row(raw, decisions)) == want_fp
        pair_only = export_row(raw, decisions, frozenset({"reasons"}))
        assert fingerprints.fingerprint(raw, pair_only) == want_fp
        assert {k: v for k, v in bare.items() if k not in REASONS_FIELDS} == {
            k: v for k, v in row.items() if k not in REASONS_FIELDS
        }


@settings(max_examples=400, deadline=None)
@given(
    cells=st.lists(
        st.text() | st.sampled_from(["", ",", '"', "\n", "\r", "a,b", 'say "hi"', "\r\n", "é"]),
        max_size=6,
    )
)
def test_a_csv_line_is_what_csvs_writer_writes(cells):
    """The line joined without csv's writer, when there is one, is its line (this
    Python's: a row it leaves to the writer is written by the writer)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    line = csv_line(cells)
    if line is not None:
        assert line == out.getvalue()
    if len(cells) > 1 and not any("\r" in c for c in cells):
        assert line is not None


@given(
    values=st.lists(st.none() | _TEXT | st.integers() | st.dates(), min_size=1, max_size=3),
)
def test_a_key_function_is_the_presets_item_key(values):
    names = [f"k{i}" for i in range(len(values))]
    preset = type(PRESETS["default"])(name="t", columns=["phone"], key=names)
    row = dict(zip(names, values, strict=True))
    assert key_function(preset)(row) == preset.item_key(row)
    assert key_function(PRESETS["default"])(row) == PRESETS["default"].item_key(row)


def test_a_misp_pairs_attributes_as_text_are_the_attributes_encoded(monkeypatch):
    """The pair's attributes written as text are the attribute dicts as the event's
    encoder writes them (uuids drawn in the same order), for every pair shape."""
    import itertools

    from crawler.exports import misp
    from crawler.exports.evidence_files import EvidenceFiles

    db = seeded()
    _hard_reasons(db)
    rows = list(iter_pair_rows(db, ReadOptions(include_dismissed=True)))
    shapes = [
        {"domain": None},
        {"payload_sha256": None},
        {"first_seen": None},
        {"last_seen": "2000-01-01T00:00:00+00:00"},
        {"url": 'http://x.example/"quoted"\\\\é', "brand": None, "risk": None, "status": None},
    ]
    rows += [{**rows[0], **shape} for shape in shapes]
    for r in rows:
        made = []
        for how in ("dicts", "text"):
            counter = itertools.count()
            monkeypatch.setattr(misp, "_uuid4", lambda c=counter: f"uuid-{next(c)}")
            if how == "dicts":
                attributes = _reference_attributes(r, EvidenceFiles(None))
                made.append((",\n".join(map(misp._JSON, attributes)), attributes[0]["uuid"]))
            else:
                made.append(misp._pair_text(r, EvidenceFiles(None)))
        assert made[0] == made[1]


def test_a_misp_numbers_object_as_text_is_the_object_encoded(monkeypatch):
    """A number's object written as text is `as_misp` as the event's encoder writes it,
    kept in memory or in the spool, live or dismissed, with and without its times."""
    import itertools

    from crawler.exports import misp
    from crawler.exports.spool import Spool

    db = seeded()
    rows = list(iter_pair_rows(db, ReadOptions(include_dismissed=True)))
    shapes = [
        {},
        {"status": "dismissed", "carrier": "KPN", "country": None},
        {"first_seen": None},
        {"last_seen": None},
        {"last_seen": "2000-01-01T00:00:00+00:00"},
        {"phone": "+5491123456789", "brand": None, "reasons": 'one "quoted"'},
        {"phone": "not a number"},
    ]
    with Spool() as spool:
        for r in [{**row, **shape} for row in rows for shape in shapes]:
            first = {k: r.get(k) for k in misp._NUMBER_FIELDS}
            for kept in (first, spool.put(first)):
                number = misp._Number("object-uuid", kept, [("a", "c1"), spool.put(("b", "c\n2"))])
                made = []
                for how in ("dict", "text"):
                    counter = itertools.count()
                    monkeypatch.setattr(misp, "_uuid4", lambda c=counter: f"uuid-{next(c)}")
                    if how == "dict":
                        made.append(misp._JSON(_reference_object(number, spool)))
                    else:
                        made.append(number.text(spool))
                assert made[0] == made[1]


def _reference_attributes(r: dict, files) -> list[dict]:
    """A pair's MISP attributes as dicts, as crawler.exports.misp made them before it
    wrote them as text (`misp._pair_text`)."""
    from crawler.exports.misp import _attachment, _attribute, _pair_tags, _seen, pair_tags

    live = r.get("status") != "dismissed"
    tags = _pair_tags(r.get("brand"), r.get("risk"), r.get("status"))
    where = f"{r['phone']} seen on {r['domain'] or 'a search engine card (no website)'}"
    network = "Network activity"
    out = [_attribute("url", r["url"], network, live, where, Tag=tags, **_seen(r))]
    if r["domain"]:  # a card without a website (issue 16) has no domain
        out.append(_attribute("domain", r["domain"], network, live, where, Tag=tags))
    if r.get("payload_sha256"):
        out.append(
            _attribute(
                "sha256",
                r["payload_sha256"],
                "External analysis",
                False,
                (
                    f"SHA-256 of {r['url']} as fetched: WARC record "
                    f"{r.get('warc_record_id')} in {r.get('warc_file')}"
                )[:1000],
            )
        )
    for found in (files.page(r), files.screenshot(r)):
        if found is not None:
            out.append(_attachment(found, where, pair_tags(r)))
    return out


def _reference_object(self, spool) -> dict:
    """A number's MISP object as a dict, as crawler.exports.misp made it before it wrote
    it as text (`misp._Number.text`)."""
    from crawler.exports.misp import (
        _number_parts,
        _pair_tags,
        _reasons,
        _template,
        _uuid4,
        _when,
    )

    header, per = _template()
    r = spool.get(self.first) if type(self.first) is int else self.first
    attributes = [
        {
            "uuid": _uuid4(),
            "Tag": _pair_tags(r.get("brand"), r.get("risk"), r.get("status")),
            "object_relation": "phone-number",
            "value": r["phone"],
            **per["phone-number"],
            "to_ids": r.get("status") != "dismissed",
        }
    ]
    for relation, value in _number_parts(r):
        attributes.append(
            {"uuid": _uuid4(), "object_relation": relation, "value": value} | per[relation]
        )
    first, last = _when(r.get("first_seen")), _when(r.get("last_seen"))
    seen = {"first_seen": first.isoformat()} if first else {}
    if last and (not first or last >= first):
        seen["last_seen"] = last.isoformat()
    return {
        **header,
        "uuid": self.uuid,
        "comment": _reasons(r),
        **seen,
        "ObjectReference": [
            {
                "uuid": _uuid4(),
                "object_uuid": self.uuid,
                "referenced_uuid": ref,
                "relationship_type": "seen-on",
                "comment": comment,
            }
            for ref, comment in (spool.get(at) if type(at) is int else at for at in self.references)
        ],
        "Attribute": attributes,
    }
