"""Grouped exports made in a spool file: the same items, in the same order, as
made in memory (`shaping.shape`), with only keys, fingerprints and sort fields held."""

from __future__ import annotations

import pytest
from exports_seed import seeded

from crawler.exports.recipients import load_presets
from crawler.exports.rows import SOURCES, ReadOptions
from crawler.exports.shaping import shape, shape_spooled
from crawler.exports.spool import Spool, SpooledItem

PRESETS = load_presets()


@pytest.fixture(scope="module")
def db(demo_out):
    from crawler import storage

    return storage.open_db(demo_out / "demo.db")


def _made(items) -> list[tuple]:
    return [(it.key, it.fingerprint, it.row, it.pairs) for it in items]


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("source_db", ["demo", "seeded"])
def test_spooled_items_are_the_items_made_in_memory(name, source_db, db):
    base = db if source_db == "demo" else seeded()
    preset = PRESETS[name]
    if source_db == "seeded":  # a dismissed number, for the items of dismissed rows
        from crawler import storage, triage

        triage.record(base, "number", storage.flagged(base)[0]["phone"], "dismiss", "a test")
    rows = list(
        SOURCES[preset.source](base, ReadOptions(include_dismissed=True, by=preset.verdict))
    )
    live = shape([r for r in rows if r.get("status") != "dismissed"], preset)
    gone = shape([r for r in rows if r.get("status") == "dismissed"], preset)
    with Spool() as spool:
        spooled, spooled_gone = shape_spooled(iter(rows), preset, spool, dismissed=True)
        assert all(isinstance(it, SpooledItem) for it in spooled + spooled_gone)
        assert _made(spooled) == _made(live) and live
        assert _made(spooled_gone) == _made(gone)
    if source_db == "seeded" and name == "default":
        assert gone


def test_a_spool_reads_back_what_was_put_by_offset():
    with Spool() as spool:
        rows = [{"phone": "+31852081234", "reasons": ["a", "b"], "n": i} for i in range(3)]
        at = [spool.put(r) for r in rows]
        assert [spool.get(a) for a in reversed(at)] == list(reversed(rows))
        assert spool.put({"x": None}) > at[-1]


def _normal(fmt: str, data: bytes):
    """An export's content less what is new each time (ids, uuids, the date)."""
    import json
    import re

    if fmt == "stix":
        return re.sub(rb"bundle--[0-9a-f-]{36}", b"bundle--X", data)
    if fmt == "misp":
        from test_misp_stream import _comparable

        event = json.loads(data)
        event["Event"].pop("date")
        return _comparable(event)
    if fmt == "xarf":  # a report's id and time are its own
        return [
            {k: v for k, v in json.loads(line).items() if k not in ("report_id", "date")}
            for line in data.splitlines()
        ]
    return data


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "stix", "misp", "xarf"])
@pytest.mark.parametrize("name", ["regulator", "operator", "search-engine", "hosting"])
@pytest.mark.parametrize("kw", [{}, {"since": "last"}, {"since": "2026-10-05"}])
def test_a_grouped_export_written_from_the_spool_is_the_export_made_in_memory(fmt, name, kw):
    """`write_export` makes a grouped recipient's rows and items in a spool file:
    the same content and ledger as `prepare_export` makes in memory, deltas included
    (a recorded export, then a dismissal)."""
    import io

    from crawler import storage, triage
    from crawler.exports.core import prepare_export, streams, write_export
    from crawler.exports.ledger import record_export

    preset = PRESETS[name]
    assert not streams(preset, fmt)
    db = seeded()
    if kw.get("since") == "last":
        record_export(db, write_export(db, preset, fmt, io.BytesIO(), since="last", mark=True))
        triage.record(db, "number", storage.flagged(db)[0]["phone"], "dismiss", "a test")
    whole = prepare_export(db, preset, fmt, **kw)
    out = io.BytesIO()
    written = write_export(db, preset, fmt, out, **kw)
    assert written.ledger == whole.ledger
    assert _normal(fmt, out.getvalue()) == _normal(fmt, whole.data)
    if not kw:
        assert whole.ledger  # something was exported
