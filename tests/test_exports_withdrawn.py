"""A pair sent that is no longer flagged (made official, rescored unflagged) and that
no analyst dismissed is withdrawn once in the next `--since last` delta: JSONL and
CSV with `status: withdrawn`, STIX revoked, MISP `to_ids` off; sent live again if it
comes back (README, Exports). An operator's range row is sent again without the
number, or once more with its verdict now when the range has none left."""

from __future__ import annotations

import csv
import io
import json

import pytest
from stix_check import assert_strict_valid
from test_exports_changed_pairs import _delta, _told
from test_exports_delta import PRESETS, both, crawl, deliver

from crawler import storage
from crawler.exports import LIST_SEPARATOR

RECIPIENTS = ("default", "regulator", "hosting")
FORMATS = ("jsonl", "csv", "stix", "misp")
REASONS = ["official number of KPN"]


@pytest.fixture
def db(tmp_path):
    d = storage.open_db(tmp_path / "serpwatch.db")
    yield d
    d.close()


def _alone(db) -> dict:
    """A flagged NL pair whose number has no other pair: its number's item (regulator)
    is its own; its site's (hosting) falls below the floor with it (`_verdict`)."""
    return db.execute(
        """select domain, phone, score, risk, reasons from site_numbers p
           where flagged = 1 and risk = 'high'
             and (select country from numbers where phone = p.phone) = 'NL'
             and (select count(*) from site_numbers where phone = p.phone) = 1
           order by phone limit 1"""
    ).fetchone()


def _verdict(db, domain: str, phone: str, score: int, risk, reasons: list, flagged: int):
    """The pair's and its number's verdicts set as a rescore would; and its site's, for
    hosting (floored by the site's verdict)."""
    text = json.dumps(reasons)
    db.execute(
        "update site_numbers set score = ?, risk = ?, reasons = ?, flagged = ?"
        " where domain = ? and phone = ?",
        [score, risk, text, flagged, domain, phone],
    )
    db.execute(
        "update numbers set score = ?, risk = ?, reasons = ? where phone = ?",
        [score, risk, text, phone],
    )
    db.conn.commit()


def _site_verdict(db, domain: str, score: int, risk) -> None:
    db.execute("update sites set score = ?, risk = ? where domain = ?", [score, risk, domain])
    db.conn.commit()


def _told_once(db, name: str, fmt: str, monkeypatch, said, tmp_path) -> None:
    """The delta just checked is a full scan's delta too; delivered, the next delta says
    nothing (`said(fmt, data, tmp_path)`: what its bytes tell), so it is told once."""
    preset = PRESETS[name]
    both(db, preset, fmt, monkeypatch)
    deliver(db, preset, fmt)
    data, written = _delta(db, name, fmt)
    assert written.count == 0 and not said(fmt, data, tmp_path), fmt


def _rows(fmt: str, data: bytes) -> list[dict]:
    text = data.decode("utf-8")
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return list(csv.DictReader(io.StringIO(text)))


def _said(fmt: str, data: bytes, tmp_path) -> dict:
    """Each site (STIX, MISP: whether live) or row (JSONL, CSV: its status) sent."""
    if fmt in ("stix", "misp"):
        return _told(fmt, data, tmp_path)
    rows = _rows(fmt, data)
    # CSV cells starting with + are written after a quote (crawler.exports.csvsafe).
    return {r.get("domain") or r["phone"].lstrip("'"): r.get("status") for r in rows}


@pytest.mark.parametrize("name", RECIPIENTS)
def test_a_pair_no_longer_flagged_is_withdrawn_once(db, monkeypatch, tmp_path, name):
    crawl(db, 0, range(0, 24))
    preset = PRESETS[name]
    for fmt in FORMATS:
        deliver(db, preset, fmt)
    domain, phone, score, risk, reasons = _alone(db)
    site = db.execute("select score, risk from sites where domain = ?", [domain]).fetchone()
    _verdict(db, domain, phone, 0, None, REASONS, 0)
    if name == "hosting":  # the site below hosting's floor: its other pair goes too
        _site_verdict(db, domain, 10, "low")
    key = phone if name == "regulator" else domain
    for fmt in FORMATS:
        data, written = _delta(db, name, fmt)
        said = _said(fmt, data, tmp_path)
        if fmt in ("stix", "misp"):
            assert said == {domain: False}, fmt
        else:
            assert written.count == 1, fmt
            # Hosting's rows carry no status: its row is sent with its verdict now.
            assert said == {key: None if name == "hosting" else "withdrawn"}, fmt
            if fmt == "jsonl" and name != "hosting":
                (row,) = _rows(fmt, data)
                assert row["reasons"] == REASONS and row["risk"] is None, row
        _told_once(db, name, fmt, monkeypatch, _said, tmp_path)
    _verdict(db, domain, phone, score, risk, json.loads(reasons), 1)
    if name == "hosting":
        _site_verdict(db, domain, *site)
    for fmt in FORMATS:
        data, _ = _delta(db, name, fmt)
        said = _said(fmt, data, tmp_path)
        live = True if fmt in ("stix", "misp") else (None if name == "hosting" else "new")
        assert said == {domain if fmt in ("stix", "misp") else key: live}, fmt


@pytest.mark.parametrize("fmt", ["jsonl", "stix"])
def test_a_pair_with_no_flag_at_all_is_withdrawn_too(db, monkeypatch, tmp_path, fmt):
    """A flag of NULL with a risk: SQL's comparisons with it are neither true nor false,
    so neither the flagged read nor its complement took the pair, and it stayed sent."""
    crawl(db, 0, range(0, 24))
    deliver(db, PRESETS["default"], fmt)
    domain, phone, *_ = _alone(db)
    db.execute(
        "update site_numbers set flagged = null where domain = ? and phone = ?", [domain, phone]
    )
    db.conn.commit()
    data, _ = _delta(db, "default", fmt)
    assert _said(fmt, data, tmp_path) == {domain: False if fmt == "stix" else "withdrawn"}
    both(db, PRESETS["default"], fmt, monkeypatch)  # a full scan's delta: the same


def _official(db, phone: str) -> None:
    """Every pair of the number no longer flagged, as a rescore leaves a number the
    brands file made official (`_verdict`)."""
    for (domain,) in db.execute("select domain from site_numbers where phone = ?", [phone]):
        _verdict(db, domain, phone, 0, None, REASONS, 0)


def _restore(db, saved: list) -> None:
    for domain, phone, score, risk, reasons, flagged in saved:
        _verdict(db, domain, phone, score, risk, json.loads(reasons), flagged)


def _saved(db, phones: list[str]) -> list:
    marks = ", ".join("?" for _ in phones)
    return db.execute(
        "select domain, phone, score, risk, reasons, flagged from site_numbers"
        f" where phone in ({marks}) order by phone, domain",
        phones,
    ).fetchall()


def _be_alone(db) -> list[str]:
    """BE numbers flagged high by one pair: each an operator's number of its range."""
    rows = db.execute(
        """select phone from numbers n
           where country = 'BE' and risk = 'high' and phone like '+3185%'
             and (select count(*) from site_numbers where phone = n.phone) = 1
           order by phone"""
    ).fetchall()
    return [p for (p,) in rows]


def _sites_of(db, phones: list[str]) -> set[str]:
    marks = ", ".join("?" for _ in phones)
    rows = db.execute(f"select domain from site_numbers where phone in ({marks})", phones)
    return {d for (d,) in rows}


@pytest.mark.parametrize("left", [False, True])
def test_an_operators_number_no_longer_flagged_is_withdrawn_once(db, monkeypatch, tmp_path, left):
    """Made official: its pairs are withdrawn in STIX and MISP. In JSONL and CSV its
    range's row is sent again: without it when the range has other flagged numbers
    (`left`); when it had none left, once more with its verdict now (the operator's
    rows have no status column)."""
    crawl(db, 0, range(0, 24))
    preset = PRESETS["operator"]
    alone = _be_alone(db)
    assert len(alone) >= 3
    # Its own group of its range (a carrier of its own); the rest share theirs.
    phone = alone[0] if left else alone[1]
    if not left:
        db.execute("update numbers set carrier = 'Lyca' where phone = ?", [phone])
        db.conn.commit()
    for fmt in FORMATS:
        deliver(db, preset, fmt)
    saved = _saved(db, [phone])
    sites = _sites_of(db, [phone])
    _official(db, phone)
    for fmt in FORMATS:
        data, written = _delta(db, "operator", fmt)
        assert written.count == 1, fmt  # the range
        if fmt in ("stix", "misp"):
            assert _said(fmt, data, tmp_path) == dict.fromkeys(sites, False), fmt
        else:
            (row,) = _rows(fmt, data)
            phones = row["phones"]
            if fmt == "csv":  # a list's values joined, after a quote (`csvsafe`)
                phones = phones.lstrip("'").split(LIST_SEPARATOR) if phones else []
            assert row["number_range"].lstrip("'") == "+3185000XXXX", row
            assert "status" not in row, row
            if left:
                assert phone not in phones and phones, row
                assert row["number_risk"] == "high", row
            else:
                assert phones == [phone] and row["number_risk"] in (None, ""), row
        _told_once(db, "operator", fmt, monkeypatch, _said, tmp_path)
    _restore(db, saved)
    for fmt in FORMATS:
        data, written = _delta(db, "operator", fmt)
        assert written.count == 1, fmt
        if fmt in ("stix", "misp"):
            assert _said(fmt, data, tmp_path) == dict.fromkeys(sites, True), fmt


AD_FORMATS = ("jsonl", "stix", "misp")


def _numbers_on(db, domain: str) -> list[str]:
    rows = db.execute("select phone from site_numbers where domain = ? order by phone", [domain])
    return [p for (p,) in rows]


def _told_numbers(fmt: str, data: bytes, tmp_path) -> dict[str, bool]:
    """Each pair's number in a STIX delta (an ad's pairs share its page's site), and
    whether its indicator is live; MISP: its site (`_told`); JSONL: each ad's landing
    page, its phones and status."""
    if fmt == "misp":  # the ad's pairs share its page's site
        return _told(fmt, data, tmp_path)
    if fmt == "stix":
        objects = assert_strict_valid(data.decode("utf-8")).get("objects", [])
        return {
            o["name"].split(" number ", 1)[1].split(" on ", 1)[0]: not o.get("revoked", False)
            for o in objects
            if o["type"] == "indicator"
        }
    return {r["landing_url"]: (r["phones"], r["status"]) for r in _rows(fmt, data)}


@pytest.mark.parametrize("every", [True, False])
def test_an_ad_whose_pairs_are_no_longer_flagged_is_withdrawn_once(
    db, monkeypatch, tmp_path, every
):
    """The search engines: an ad whose every pair is no longer flagged is sent once
    more with `status: withdrawn`, its pairs revoked in STIX (MISP `to_ids` off); one
    of two: the ad is sent again with the other only, still live, that pair revoked."""
    crawl(db, 0, range(0, 24))
    preset = PRESETS["search-engine"]
    for fmt in AD_FORMATS:
        deliver(db, preset, fmt)
    domain = "microsoft-hulp-12.nl"  # an ad's (`crawl`: every sixth site's)
    url = f"https://{domain}/contact"
    phones = _numbers_on(db, domain)  # two on its page
    assert len(phones) == 2
    gone = phones if every else phones[:1]
    saved = _saved(db, gone)
    for phone in gone:
        _official(db, phone)
    for fmt in AD_FORMATS:
        data, written = _delta(db, "search-engine", fmt)
        said = _told_numbers(fmt, data, tmp_path)
        assert written.count == 1, fmt  # the ad
        if fmt == "stix":
            assert said == dict.fromkeys(gone, False), fmt
        elif fmt == "misp":
            assert said == {domain: False}, said
        elif every:
            assert said == {url: (phones, "withdrawn")}, said
        else:
            assert said == {url: (phones[1:], "new")}, said
        _told_once(db, "search-engine", fmt, monkeypatch, _told_numbers, tmp_path)
    _restore(db, saved)
    for fmt in AD_FORMATS:
        data, written = _delta(db, "search-engine", fmt)
        said = _told_numbers(fmt, data, tmp_path)
        assert written.count == 1, fmt
        if fmt == "stix":
            assert said == dict.fromkeys(gone, True), fmt
        elif fmt == "misp":
            assert said == {domain: True}, said
        else:
            assert said == {url: (phones, "new")}, said
