"""What an export audit found: a dismissed pair of a number or site that still has
live pairs never withdrawn from a grouped recipient's indicators; low-risk pairs in
the indicators of recipients floored by the number's verdict; record counts that
were not what the file holds; a failed `--out` leaving its `.partial` behind.
Each on a seeded database (tests/exports_seed.py), through the project's own
export functions or the command."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest
from click.testing import CliRunner
from exports_seed import page, seeded, start, verdict

from crawler import storage, triage
from crawler.cli import main
from crawler.exports.core import default_floor, prepare_export, write_export
from crawler.exports.ledger import record_export
from crawler.exports.recipients import load_presets


def cli(*args):
    return CliRunner().invoke(main, list(args))


def _corrupt_table(path, table: str) -> None:
    """Destroy the first page of `table`'s b-tree: the schema still reads (the database
    opens), reading the table fails as a disk fault would make it."""
    conn = sqlite3.connect(path)
    conn.execute("pragma journal_mode = delete")  # the WAL folded into the file
    (size,) = conn.execute("pragma page_size").fetchone()
    (root,) = conn.execute("select rootpage from sqlite_master where name = ?", [table]).fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * size : root * size] = b"\xff" * size
    path.write_bytes(bytes(data))


def test_a_failed_export_leaves_no_partial_file(tmp_path):
    path = tmp_path / "s.db"
    seeded(path=path).close()
    _corrupt_table(path, "site_numbers")
    out = tmp_path / "x.jsonl"
    res = cli("export", "--db", str(path), "--out", str(out))
    assert res.exit_code == 2, res.output
    assert "cannot use this database: database file is corrupt" in res.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("x.")] == []


NEWS = "nieuws-site.nl"  # warns about the scam number: a low-risk pair of a high-risk number
SCAM = "+31852081234"  # microsoft-helpdesk-bellen.nl's number, high risk
RUN3_AT = "2026-10-15T10:00:00+00:00"
PRESETS = load_presets()


def with_news_site(db) -> None:
    """A third run: a news page quoting the Microsoft scam number, its pair scored low."""
    run_id = start(db, RUN3_AT)
    news = page(f"http://{NEWS}/oplichting", NEWS, at=RUN3_AT, ip="198.51.100.20", rank=5)
    storage.save_page(db, run_id, news, [verdict(SCAM, 20, "low")])
    storage.finish_run(db, run_id, {"serpwatch/serp_pages": 1})
    # The number's own verdict, as a run's end makes it of all its sightings
    # (history.close_run): the seeded pairs carry no facts to make it of.
    db["numbers"].update(SCAM, {"score": 95, "risk": "high"})


def written(db, name: str, fmt: str, **kw) -> str:
    """The export as the command writes it (`write_export`, spooled), at the floor the
    command gives when --min-risk is not given; recorded when `since` is last."""
    out = io.BytesIO()
    floor = default_floor(PRESETS[name], fmt)
    result = write_export(db, PRESETS[name], fmt, out, min_risk=floor, **kw)
    if kw.get("since") == "last":
        record_export(db, result)
    return out.getvalue().decode()


@pytest.mark.parametrize("name", ["regulator", "operator"])
def test_a_low_risk_pair_of_a_high_risk_number_is_no_indicator(name):
    db = seeded()
    with_news_site(db)
    # The number's verdict still picks the number (its row lists every site) ...
    assert NEWS in written(db, name, "jsonl")
    for fmt in ("stix", "misp", "xarf"):
        # ... but an indicator is one pair's, and this one is below the floor.
        assert "microsoft-helpdesk-bellen.nl" in written(db, name, fmt), fmt
        assert NEWS not in written(db, name, fmt), fmt
        assert NEWS not in prepare_export(db, PRESETS[name], fmt, min_risk="medium").content
        delta = written(db, name, fmt, since="last")
        assert "microsoft-helpdesk-bellen.nl" in delta and NEWS not in delta, fmt
        # Not sent, so not in the ledger as sent either.
        assert not [k for k in sent_keys(db, name, fmt) if NEWS in k], fmt
    # --min-risk low asks for them.
    assert NEWS in prepare_export(db, PRESETS[name], "stix", min_risk="low").content


def sent_keys(db, name: str, fmt: str) -> list[str]:
    return [k for k, _ in storage.sent_fingerprints(db, name, fmt)]


SECOND = "microsoft-hulp-nu.nl"  # a second scam site showing the Microsoft scam number
BELLEN = "microsoft-helpdesk-bellen.nl"  # shows it and +31852081299
# Per recipient: what the analyst dismisses, and the one pair that withdraws while
# its item (the number, its range, the site) stays live by another pair.
DISMISSALS = {
    "regulator": (("site", SECOND), (SECOND, SCAM)),
    "operator": (("site", SECOND), (SECOND, SCAM)),
    "hosting": (("number", "+31852081299"), (BELLEN, "+31852081299")),
}


def with_second_site(db) -> None:
    run_id = start(db, RUN3_AT)
    second = page(f"http://{SECOND}/", SECOND, at=RUN3_AT, ip="198.51.100.21", rank=2)
    storage.save_page(db, run_id, second, [verdict(SCAM, 85, "high")])
    storage.finish_run(db, run_id, {"serpwatch/serp_pages": 1})


def withdrawn(fmt: str, content: str) -> set[tuple[str, str]]:
    """The (site, number) pairs an export withdraws: revoked STIX indicators, MISP
    url attributes with to_ids off and the dismissed status tag."""
    if fmt == "stix":
        objects = json.loads(content).get("objects", [])
        names = [o["name"] for o in objects if o["type"] == "indicator" and o.get("revoked")]
        return {(n.split(" on ")[-1], n.split(" number ")[1].split()[0]) for n in names}
    event = json.loads(content)["Event"]
    pages = {a["value"]: a for a in event["Attribute"] if a["type"] == "url"}
    by_url = {f"http://{site}/": (site, phone) for site, phone in PAIRS_OF_SITES}
    gone = set()
    for url, a in pages.items():
        tags = {t["name"] for t in a.get("Tag", [])}
        if not a["to_ids"] and 'serpwatch:status="dismissed"' in tags:
            gone.add(by_url[url])
    return gone


PAIRS_OF_SITES = [(SECOND, SCAM), (BELLEN, "+31852081299")]


@pytest.mark.parametrize("fmt", ["stix", "misp"])
@pytest.mark.parametrize("name", sorted(DISMISSALS))
@pytest.mark.parametrize("made", ["written out", "in memory"])
def test_a_dismissed_pair_of_an_item_still_live_is_withdrawn(name, fmt, made):
    """A dismissed pair goes out revoked in the next delta, once, though its number
    (range, site) is still flagged by another pair."""
    db = seeded()
    with_second_site(db)
    (kind, value), pair = DISMISSALS[name]
    floor = default_floor(PRESETS[name], fmt)

    def delta() -> str:
        if made == "written out":
            return written(db, name, fmt, since="last")
        export = prepare_export(db, PRESETS[name], fmt, since="last", min_risk=floor)
        record_export(db, export)
        return export.content

    first = delta()
    assert pair[0] in first and withdrawn(fmt, first) == set()
    written(db, name, "jsonl", since="last")
    triage.record(db, kind, value, "dismiss")
    assert withdrawn(fmt, delta()) == {pair}
    assert withdrawn(fmt, delta()) == set()  # once
    # JSONL has the live item's row, which changed: it no longer lists the pair.
    field, item, listed, gone = LIVE_ROWS[name]
    rows = [json.loads(line) for line in written(db, name, "jsonl", since="last").splitlines()]
    (row,) = [r for r in rows if r[field] == item]
    assert row.get("status") != "dismissed" and gone not in row[listed] and row[listed]


# Per recipient: the live item's row (its key field and value), the list that named
# the dismissed pair, and what it named.
LIVE_ROWS = {
    "regulator": ("phone", SCAM, "sites", SECOND),
    "operator": ("number_range", "+3185208XXXX", "sites", SECOND),
    "hosting": ("domain", BELLEN, "phones", "+31852081299"),
}


@pytest.mark.parametrize("fmt", ["jsonl", "stix"])
def test_a_search_engine_sent_an_ad_is_told_when_its_pairs_are_dismissed(fmt):
    """The ad's row had no status: dismissed, it made the same fingerprint as when it
    was sent, and the next delta said nothing ("0 new or changed records")."""
    db = seeded()
    first = written(db, "search-engine", fmt, since="last")
    assert BELLEN in first
    triage.record(db, "site", BELLEN, "dismiss")
    assert BELLEN not in written(db, "search-engine", fmt)  # full: no longer an ad to act on
    again = written(db, "search-engine", fmt, since="last")
    if fmt == "jsonl":
        (row,) = [json.loads(line) for line in again.splitlines()]
        assert row["landing_url"] == f"http://{BELLEN}/" and row["status"] == "dismissed"
    else:
        assert withdrawn(fmt, again) == {(BELLEN, "+31852081234"), (BELLEN, "+31852081299")}
    assert BELLEN not in written(db, "search-engine", fmt, since="last")  # once


def test_one_record_and_one_indicator_are_said_so(tmp_path):
    """It said "1 new or changed records (1 indicators)"."""
    path = tmp_path / "s.db"
    seeded(path=path).close()
    args = ["export", "--db", str(path), "--recipient", "hosting", "--format", "stix"]
    cli(*args, "--since", "last", "--out", str(tmp_path / "1.stix"))
    db = storage.open_db(path)
    triage.record(db, "number", "+31852081299", "dismiss")
    db.close()
    res = cli(*args, "--since", "last", "--out", str(tmp_path / "2.stix"))
    assert res.stderr.startswith("1 new or changed record (1 indicator) for hosting"), res.stderr


def test_the_count_is_what_the_file_holds(tmp_path):
    """XARF counts its reports (one per site: the regulator's four numbers are on three
    sites), on stderr and in the ledger; STIX and MISP say their indicators too."""
    path = tmp_path / "s.db"
    seeded(path=path).close()
    out = tmp_path / "r.xarf"
    res = cli("export", "--db", str(path), "--recipient", "regulator", "--format", "xarf",
              "--out", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    reports = out.read_text().splitlines()
    assert len(reports) == 3 and res.stderr.startswith("3 records for regulator")
    for fmt in ("stix", "misp"):
        out = tmp_path / f"r.{fmt}"
        res = cli("export", "--db", str(path), "--recipient", "regulator", "--format", fmt,
                  "--out", str(out))  # fmt: skip
        data = json.loads(out.read_text())
        if fmt == "stix":
            found = [o for o in data["objects"] if o["type"] == "indicator"]
        else:
            found = [a for a in data["Event"]["Attribute"] if a["type"] == "url"]
        assert res.stderr.startswith(f"4 records ({len(found)} indicators) for regulator"), fmt
    db = storage.open_db(path)
    assert [e["records"] for e in db["exports"].rows_where(order_by="id")] == [3, 4, 4]
