"""A grouped recipient's `--since last` in STIX and MISP sends, of the pairs behind
the items that changed, only those new or changed since last sent
(crawler/exports/changed_pairs.py): an operator's range of many numbers is not
sent whole again when one of its numbers changes."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymisp import MISPEvent
from stix_check import assert_strict_valid
from test_exports_delta import PRESETS, _read_pairs, both, crawl, deliver

from crawler import storage, triage
from crawler.exports.changed_pairs import PAIR_KEY, pair_key
from crawler.exports.core import default_floor, write_export
from crawler.exports.ledger import record_export
from crawler.exports.rows import ReadOptions, pair_rows

RANGE = "+3185000"  # the sites' own numbers, +31850000000 to +31850000011


@pytest.fixture
def db(tmp_path):
    d = storage.open_db(tmp_path / "serpwatch.db")
    yield d
    d.close()


def _delta(db, name: str, fmt: str) -> tuple[bytes, object]:
    out = io.BytesIO()
    floor = default_floor(PRESETS[name], fmt)
    written = write_export(db, PRESETS[name], fmt, out, since="last", min_risk=floor)
    return out.getvalue(), written


def _stix_pairs(data: bytes) -> list[str]:
    """The indicators' names (each a pair's: its brand, number and site), revoked or not."""
    objects = json.loads(data).get("objects", [])
    return sorted(o["name"] for o in objects if o["type"] == "indicator")


def _misp_pairs(data: bytes) -> list[str]:
    """The pairs' URL attributes of the event."""
    attributes = json.loads(data)["Event"].get("Attribute", [])
    return sorted(a["value"] for a in attributes if a["type"] == "url")


PAIRS_OF = {"stix": _stix_pairs, "misp": _misp_pairs}


def _range_pairs(db, country: str = "NL") -> list[dict]:
    """The flagged pairs (medium and up by number) of the numbers of RANGE in `country`:
    those of one operators' item."""
    rows = pair_rows(db, ReadOptions(min_risk="medium", by="number"))
    return [r for r in rows if r["phone"].startswith(RANGE) and r["country"] == country]


def _rebrand(db, pair: dict) -> None:
    """One pair's brand changed (by hand, as plain SQL: the database stamps it)."""
    db.execute(
        "update site_numbers set brand = 'Ziggo' where domain = ? and phone = ?",
        [pair["domain"], pair["phone"]],
    )
    db.conn.commit()


def test_an_operators_delta_sends_only_the_changed_pair_of_a_range(db, monkeypatch):
    crawl(db, 0, range(0, 12))
    for fmt in PAIRS_OF:
        deliver(db, PRESETS["operator"], fmt)
    pairs = _range_pairs(db)
    assert len(pairs) >= 3  # the range's item stands for several pairs
    _rebrand(db, pairs[1])
    for fmt, pairs_of in PAIRS_OF.items():
        data, written = _delta(db, "operator", fmt)
        assert written.count == 1  # the range, changed (its brands)
        sent = pairs_of(data)
        assert len(sent) == 1, (fmt, sent)
        if fmt == "stix":
            assert pairs[1]["phone"] in sent[0] and "Ziggo" in sent[0]
        else:
            assert sent == [pairs[1]["url"]]
        assert [k for k, _ in written.pair_ledger] == [
            PAIR_KEY + json.dumps([pairs[1]["domain"], pairs[1]["phone"]])
        ]
        both(db, PRESETS["operator"], fmt, monkeypatch)  # a full scan's delta: the same
        deliver(db, PRESETS["operator"], fmt)
        data, written = _delta(db, "operator", fmt)
        assert written.count == 0 and pairs_of(data) == [], fmt


def test_a_pair_never_recorded_is_sent_with_its_changed_item(db):
    """A ledger from before pairs were recorded (or an item's pairs never sent): every
    pair of an item made again goes out once, and is recorded; the range's item in
    the other country too, which did not change (its pairs are judged one by one: a
    pair never sent may have risen above the floor)."""
    crawl(db, 0, range(0, 12))
    deliver(db, PRESETS["operator"], "stix")
    db.execute("delete from export_items where key like ?", [PAIR_KEY + "%"])
    db.conn.commit()
    pairs = _range_pairs(db)
    _rebrand(db, pairs[0])
    data, written = _delta(db, "operator", "stix")
    remade = pairs + _range_pairs(db, "BE")
    assert len(pairs) >= 3 and len(_stix_pairs(data)) == len(remade)
    assert len(written.pair_ledger) == len(remade)
    data, written = _delta(db, "operator", "stix")
    assert written.count == 1 and len(_stix_pairs(data)) == len(remade)  # not recorded


def test_a_dismissed_number_is_withdrawn_once(db, monkeypatch):
    crawl(db, 0, range(0, 12))
    for fmt in PAIRS_OF:
        deliver(db, PRESETS["regulator"], fmt)
    phone = _range_pairs(db)[0]["phone"]
    sent_before = [p for p in _range_pairs(db) if p["phone"] == phone]
    triage.record(db, "number", phone, "dismiss", "a test")
    for fmt, pairs_of in PAIRS_OF.items():
        data, written = _delta(db, "regulator", fmt)
        assert len(pairs_of(data)) == len(sent_before), fmt
        if fmt == "stix":
            objects = json.loads(data)["objects"]
            assert all(o.get("revoked") for o in objects if o["type"] == "indicator")
        both(db, PRESETS["regulator"], fmt, monkeypatch)
        deliver(db, PRESETS["regulator"], fmt)
        data, _ = _delta(db, "regulator", fmt)
        assert pairs_of(data) == [], fmt


def test_an_operators_delta_reads_only_the_pairs_that_may_have_changed(db, monkeypatch):
    """Of a changed range's pairs only those stamped since they were last sent (or
    never sent) are read (`ChangedPairs.candidates`), not every pair of the range;
    the bytes are a full scan's (`both`)."""
    crawl(db, 0, range(0, 12))
    for fmt in PAIRS_OF:
        deliver(db, PRESETS["operator"], fmt)
    pairs = _range_pairs(db)
    _rebrand(db, pairs[2])
    for fmt in PAIRS_OF:
        with monkeypatch.context() as m:
            counts = _read_pairs(m)
            data, _ = _delta(db, "operator", fmt)
        assert sum(counts) == 1 < len(pairs), (fmt, counts)
        assert len(PAIRS_OF[fmt](data)) == 1
        both(db, PRESETS["operator"], fmt, monkeypatch)


@given(st.one_of(st.none(), st.text()), st.text())
def test_a_pairs_key_is_its_site_and_number_as_json(domain, phone):
    assert pair_key(domain, phone) == PAIR_KEY + json.dumps([domain, phone], ensure_ascii=False)


def test_a_full_export_records_its_pairs(db):
    """A delivered full export sent every pair: the next delta sends only those that
    changed since (and reads only those that may have)."""
    crawl(db, 0, range(0, 12))
    for fmt in PAIRS_OF:
        floor = default_floor(PRESETS["operator"], fmt)
        out = io.BytesIO()
        full = write_export(db, PRESETS["operator"], fmt, out, min_risk=floor, mark=True)
        assert len(full.pair_ledger) == len(PAIRS_OF[fmt](out.getvalue())) > 3, fmt
        record_export(db, full)
    pairs = _range_pairs(db)
    _rebrand(db, pairs[0])
    for fmt, pairs_of in PAIRS_OF.items():
        data, written = _delta(db, "operator", fmt)
        assert len(pairs_of(data)) == 1 and len(written.pair_ledger) == 1, fmt


def _rescore(db, pair: dict, score: int, risk: str) -> None:
    """One pair's verdict changed by hand (plain SQL, stamped as a rescore's would be)."""
    db.execute(
        "update site_numbers set score = ?, risk = ? where domain = ? and phone = ?",
        [score, risk, pair["domain"], pair["phone"]],
    )
    db.conn.commit()


def _crossing(db) -> tuple[dict, dict]:
    """Two pairs of NL numbers each flagged high by another, stronger pair: one low (to
    rise to medium) and one high (to fall to low). Neither move changes its number's
    item for the regulator (its strongest pair's score and risk, the same reasons)."""
    rows = pair_rows(db, ReadOptions(min_risk="low", by="number"))
    nl = [r for r in rows if r["country"] == "NL"]

    def under_a_stronger(risk: str) -> dict:
        return next(
            r
            for r in nl
            if r["risk"] == risk
            and any(
                o["phone"] == r["phone"] and o["score"] > r["score"] and o["risk"] == "high"
                for o in nl
            )
        )

    return under_a_stronger("low"), under_a_stronger("high")


def _told(fmt: str, data: bytes, tmp_path) -> dict[str, bool]:
    """Each pair's site in the export, and whether it is live (STIX: its indicator not
    revoked; MISP: `to_ids`), the export checked as its partners read it."""
    if fmt == "stix":
        objects = assert_strict_valid(data.decode("utf-8")).get("objects", [])
        return {
            o["name"].rsplit(" on ", 1)[1]: not o.get("revoked", False)
            for o in objects
            if o["type"] == "indicator"
        }
    path = tmp_path / "event.json"
    path.write_bytes(data)
    event = MISPEvent()
    event.load_file(str(path))
    return {a.value: a.to_ids for a in event.attributes if a.type == "domain"}


@pytest.mark.parametrize("name", ["regulator", "default"])
def test_a_pair_that_crosses_the_floor_is_told_in_the_next_delta(db, monkeypatch, tmp_path, name):
    """A pair that rose above the recipient's floor is sent as a new indicator; one sent
    that fell below it is withdrawn once, as a dismissed pair is (STIX revoked, MISP
    `to_ids` off); one that rises back is sent live again. For the regulator the
    numbers' items stay the same: only their pairs moved."""
    crawl(db, 0, range(0, 24))
    preset = PRESETS[name]
    for fmt in PAIRS_OF:
        deliver(db, preset, fmt)
    rising, falling = _crossing(db)
    _rescore(db, rising, 55, "medium")
    _rescore(db, falling, 40, "low")
    for fmt in PAIRS_OF:
        data, written = _delta(db, name, fmt)
        assert _told(fmt, data, tmp_path) == {rising["domain"]: True, falling["domain"]: False}, fmt
        assert written.count == (0 if name == "regulator" else 2), fmt
        both(db, preset, fmt, monkeypatch)  # a full scan's delta: the same
        deliver(db, preset, fmt)
        data, _ = _delta(db, name, fmt)
        assert _told(fmt, data, tmp_path) == {}, fmt  # withdrawn once
    _rescore(db, falling, 80, "high")
    for fmt in PAIRS_OF:
        data, _ = _delta(db, name, fmt)
        assert _told(fmt, data, tmp_path) == {falling["domain"]: True}, fmt
