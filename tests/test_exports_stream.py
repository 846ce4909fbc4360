"""Exports that stream: rows written as the database gives them, the same bytes as
the whole export made in memory, and the same ledger (issue 11)."""

from __future__ import annotations

import io
import json
import re

import pytest
from exports_seed import RUN2_AT, seeded

from crawler import storage, triage
from crawler.exports.core import prepare_export, streams, write_export
from crawler.exports.ledger import record_export
from crawler.exports.recipients import load_presets

PRESETS = load_presets()


def _both(db, preset, fmt, **kw) -> tuple[bytes, list, bytes, list]:
    whole = prepare_export(db, preset, fmt, **kw)
    out = io.BytesIO()
    written = write_export(db, preset, fmt, out, **kw)
    assert written.sha256 == whole.sha256
    return whole.data, whole.ledger, out.getvalue(), written.ledger


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize(
    "kw",
    [{}, {"min_risk": "medium"}, {"min_risk": "high"}, {"since": RUN2_AT[:10]}, {"run_id": 1}],
)
def test_a_streamed_export_is_the_export_made_whole(fmt, kw):
    db = seeded()
    assert streams(PRESETS["default"], fmt)
    whole, whole_ledger, streamed, ledger = _both(db, PRESETS["default"], fmt, **kw)
    assert streamed == whole and ledger == whole_ledger
    assert whole.count(b"\n") > 1 or kw  # something was exported


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_streamed_preset_that_writes_the_page_title_reads_it(fmt):
    """The default's rows leave the page's title unread (no column, filter or key of
    it); a preset that writes it streams the titles, as its export made whole."""
    import dataclasses

    db = seeded()
    preset = dataclasses.replace(
        PRESETS["default"], name="titled", columns=[*PRESETS["default"].columns, "page_title"]
    )
    assert streams(preset, fmt)
    whole, whole_ledger, streamed, ledger = _both(db, preset, fmt)
    assert streamed == whole and ledger == whole_ledger
    if fmt == "jsonl":
        titles = [json.loads(line)["page_title"] for line in whole.splitlines()]
        assert titles and all(titles)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_streamed_delta_withdraws_a_dismissed_pair_once(fmt):
    db = seeded()
    preset = PRESETS["default"]
    record_export(db, write_export(db, preset, fmt, io.BytesIO(), since="last"))
    assert write_export(db, preset, fmt, io.BytesIO(), since="last").ledger == []
    phone = storage.flagged(db)[0]["phone"]
    triage.record(db, "number", phone, "dismiss", "a test")
    whole, whole_ledger, streamed, ledger = _both(db, preset, fmt, since="last")
    assert streamed == whole and ledger == whole_ledger
    assert ledger and all(phone in key for key, _ in ledger)
    assert b"dismissed" in streamed
    record_export(db, write_export(db, preset, fmt, io.BytesIO(), since="last"))
    assert write_export(db, preset, fmt, io.BytesIO(), since="last").ledger == []


def _export_counting_reads(
    monkeypatch, fmt: str, key: str = "id", **kw
) -> tuple[list[str], list[int]]:
    """Export the default recipient while counting rows read from storage: the
    rows read (their `key`), and how many had been read at each write."""
    db = seeded()
    read: list[str] = []
    rows = storage.flagged_rows

    def counted(*a, **kw):
        for row in rows(*a, **kw):
            read.append(row[key])
            yield row

    monkeypatch.setattr(storage, "flagged_rows", counted)
    written_after: list[int] = []

    class Out(io.BytesIO):
        def write(self, data):
            written_after.append(len(read))
            return super().write(data)

    write_export(db, PRESETS["default"], fmt, Out(), **kw)
    return read, written_after


def test_each_row_is_written_before_the_next_is_read(monkeypatch):
    """Nothing is held: the first row is out before the second is read from the database."""
    read, written_after = _export_counting_reads(monkeypatch, "jsonl")
    assert len(read) > 2
    assert written_after == list(range(1, len(read) + 1))  # one line per row, as read


def test_grouped_recipients_are_made_whole_and_say_so():
    assert not streams(PRESETS["regulator"], "jsonl")
    db = seeded()
    whole, whole_ledger, streamed, ledger = _both(db, PRESETS["regulator"], "jsonl")
    assert streamed == whole and ledger == whole_ledger


def _no_bundle_id(data: bytes) -> bytes:
    return re.sub(rb"bundle--[0-9a-f-]{36}", b"bundle--X", data)


@pytest.mark.parametrize("kw", [{}, {"min_risk": "high"}, {"since": "last"}])
def test_a_streamed_stix_bundle_is_the_bundle_made_whole(kw):
    """The default recipient's STIX bundle is written object by object as rows are read:
    the same objects in the same order, the same JSON (a bundle's id is new each time)."""
    db = seeded()
    preset = PRESETS["default"]
    assert streams(preset, "stix")
    if kw.get("since"):
        record_export(db, write_export(db, preset, "stix", io.BytesIO(), since="last"))
        triage.record(db, "number", storage.flagged(db)[0]["phone"], "dismiss", "a test")
    whole = prepare_export(db, preset, "stix", **kw)
    out = io.BytesIO()
    written = write_export(db, preset, "stix", out, **kw)
    assert _no_bundle_id(out.getvalue()) == _no_bundle_id(whole.data)
    assert written.ledger == whole.ledger and whole.ledger
    bundle = json.loads(out.getvalue())
    ids = [o["id"] for o in bundle["objects"]]
    assert len(ids) == len(set(ids))  # a number on two sites comes once
    assert ("revoked" in out.getvalue().decode()) == bool(kw.get("since"))


def test_a_stix_bundle_is_written_as_its_rows_are_read(monkeypatch):
    read, written_after = _export_counting_reads(monkeypatch, "stix", min_risk="low")
    assert len(read) > 2
    # Each row's objects are out before the next row is read.
    assert set(range(1, len(read) + 1)) <= set(written_after)
    assert max(written_after[:-1]) == len(read)  # only the bundle's end after the last


def test_write_stix_is_the_bundle_serialized_whole():
    from crawler.exports import stix

    records = [p for p in storage.flagged(seeded())]
    records += records[:1]  # a pair twice: once in the bundle
    out = io.StringIO()
    assert stix.write_stix(iter(records), out) == len(records) - 1  # the pairs written
    whole = stix.bundle(records).serialize(pretty=True, ensure_ascii=False) + "\n"
    assert _no_bundle_id(out.getvalue().encode()) == _no_bundle_id(whole.encode())


def test_flagged_pairs_are_read_in_index_order_merged_with_the_dismissed():
    """The export's query reads flagged pairs in the order of their index (the first row
    at once, no sort of every wide row) and merges in the pairs an analyst dismissed;
    the same rows in the same order as one WHERE with an OR would give."""
    db = seeded()
    triage.record(db, "number", storage.flagged(db)[0]["phone"], "dismiss", "a test")
    said: list[str] = []
    db.conn.set_trace_callback(said.append)
    rows = list(storage.flagged_rows(db, include_dismissed=True, details=True))
    db.conn.set_trace_callback(None)
    (sql,) = [s for s in said if "union all" in s]
    # The sqlite3 trace gives the statement with its parameters bound.
    plan = " | ".join(r[3] for r in db.execute(f"explain query plan {sql}"))
    assert "MERGE (UNION ALL)" in plan
    assert "idx_site_numbers_attention" in plan
    assert any(r["number_status"] == "dismissed" for r in rows)
    by_or = db.execute(
        """select p.id from site_numbers p join numbers n on n.phone = p.phone
           join sites s on s.domain = p.domain
           where p.flagged = 1 or (p.risk is not null and 'dismissed' in (n.status, s.status))
           order by p.score desc, p.phone, p.domain"""
    ).fetchall()
    assert [r["id"] for r in rows] == [i for (i,) in by_or]


def _reports(data: bytes) -> list[dict]:
    out = []
    for line in data.decode().splitlines():
        r = json.loads(line)
        r.pop("report_id")  # a new UUID each time
        out.append(r)
    return out


@pytest.mark.parametrize("kw", [{}, {"min_risk": "high"}, {"since": "last"}])
def test_streamed_xarf_reports_are_the_reports_made_whole(kw):
    """The default recipient's XARF reads its pairs in site order and writes each
    site's report once its pairs are read: the same reports, the same ledger."""
    db = seeded()
    preset = PRESETS["default"]
    assert streams(preset, "xarf")
    if kw.get("since"):
        record_export(db, write_export(db, preset, "xarf", io.BytesIO(), since="last"))
        triage.record(db, "number", storage.flagged(db)[0]["phone"], "dismiss", "a test")
    whole = prepare_export(db, preset, "xarf", **kw)
    out = io.BytesIO()
    written = write_export(db, preset, "xarf", out, **kw)
    assert _reports(out.getvalue()) == _reports(whole.data)
    assert sorted(written.ledger) == sorted(whole.ledger)
    assert whole.ledger or kw.get("since")


def test_a_sites_xarf_report_is_written_before_the_next_site_is_read(monkeypatch):
    read, written_after = _export_counting_reads(monkeypatch, "xarf", "domain", min_risk="low")
    domains_when_written = [len(set(read[:n])) for n in written_after]
    assert read == sorted(read)  # in site order
    sites = len(set(read))
    assert sites > 2
    # The first report is out once its site and the next one were read (a site
    # without a website, domain "", comes first and is never reported to a host).
    assert domains_when_written[0] <= 3 < sites
    assert domains_when_written == sorted(domains_when_written)
