"""Exports: formats, spreadsheet safety, recipient presets, deltas and the ledger."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from click.testing import CliRunner
from exports_seed import (
    AD_DISPLAY,
    FORMULA_TITLE,
    RUN1_AT,
    RUN2_AT,
    SCRIPT_TITLE,
    SCRIPT_URL,
    run2,
    seeded,
)
from hypothesis import given
from hypothesis import strategies as st

from crawler.cli import main
from crawler.config import ConfigError
from crawler.exports import COLUMNS, csv_cell, escape_cell, unescape_cell, write_csv, write_jsonl
from crawler.exports.core import prepare_export
from crawler.exports.csvsafe import FORMULA_START
from crawler.exports.ledger import parse_since, record_export
from crawler.exports.recipients import load_presets
from crawler.exports.rows import number_range

PRESETS = load_presets()
DESIGN_FIELDS = set(COLUMNS) - {"entry_url"}


def rows(db, recipient, fmt="jsonl", **kw):
    export = prepare_export(db, PRESETS[recipient], fmt, **kw)
    return export, [json.loads(line) for line in export.content.splitlines()]


def read_csv(text: str) -> list[dict]:
    reader = csv.reader(io.StringIO(text))
    head = [unescape_cell(c) for c in next(reader)]
    return [dict(zip(head, [unescape_cell(c) for c in row], strict=True)) for row in reader]


def dangerous(cell: str) -> bool:
    return cell.lstrip(" ").startswith(FORMULA_START)


# ---------------------------------------------------------------------------
# Spreadsheet-safe cells


@pytest.mark.parametrize(
    "value",
    [
        FORMULA_TITLE,
        "=1+1",
        "+31852081234",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "   =cmd|' /C calc'!A0",
        "'already quoted",
    ],
)
def test_formula_starts_get_one_apostrophe(value):
    cell = escape_cell(value)
    assert cell == "'" + value
    assert unescape_cell(cell) == value


@pytest.mark.parametrize(
    "value", ["microsoft-helpdesk-bellen.nl", "http://x.nl/?a==b", "85", "a=b", "", "Apple"]
)
def test_safe_cells_are_unchanged(value):
    assert escape_cell(value) == value


def test_phone_numbers_stay_readable():
    assert csv_cell("+31852081234") == "'+31852081234"
    assert csv_cell(["+31852081234", "+31852081299"]) == "'+31852081234; +31852081299"


@given(st.text())
def test_escape_round_trips_and_never_starts_a_formula(value):
    cell = escape_cell(value)
    assert unescape_cell(cell) == value
    assert not dangerous(cell)


def test_csv_round_trip_with_injection_strings():
    records = [
        {
            "phone": "+31852081234",
            "domain": "x.nl",
            "url": SCRIPT_URL,
            "brand": FORMULA_TITLE,
            "score": 90,
            "reasons": ["-1 point", "=evil()"],
            "is_ad": True,
            "query": "@home",
        }
    ]
    out = io.StringIO()
    assert write_csv(records, out) == 1
    raw = list(csv.reader(io.StringIO(out.getvalue())))
    assert raw[0] == COLUMNS
    assert not any(dangerous(cell) for row in raw for cell in row)
    back = read_csv(out.getvalue())[0]
    assert back["phone"] == "+31852081234"
    assert back["url"] == SCRIPT_URL
    assert back["brand"] == FORMULA_TITLE
    assert back["reasons"] == "-1 point; =evil()"
    assert back["query"] == "@home"
    assert back["score"] == "90" and back["number_type"] == ""


def test_jsonl_round_trip():
    records = [{"phone": "+31852081234", "title": SCRIPT_TITLE, "reasons": ["a", "b"]}]
    out = io.StringIO()
    write_jsonl(records, out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == records
    out = io.StringIO()
    write_jsonl(records, out, columns=["reasons", "phone", "missing"])
    assert json.loads(out.getvalue()) == {
        "reasons": ["a", "b"],
        "phone": "+31852081234",
        "missing": None,
    }


def test_number_range_masks_the_last_four_digits():
    assert number_range("+31852081234") == "+3185208XXXX"
    assert number_range("+18442173090") == "+1844217XXXX"
    assert number_range(None) is None


# ---------------------------------------------------------------------------
# Recipients


def test_bundled_presets():
    assert {"default", "regulator", "operator", "search-engine", "hosting"} <= set(PRESETS)
    assert PRESETS["regulator"].where == {"country": "NL"}
    assert DESIGN_FIELDS <= set(PRESETS["default"].columns)


def test_default_recipient_is_the_design_record_with_evidence():
    db = seeded()
    _, out = rows(db, "default")
    assert {(r["domain"], r["phone"]) for r in out} == {
        ("microsoft-helpdesk-bellen.nl", "+31852081234"),
        ("microsoft-helpdesk-bellen.nl", "+31852081299"),
        ("apple-scam.nl", "+319001234567"),
        ("icloud-hulp24.com", "+442038071234"),
        ("kpn-fake.nl", "+31881234567"),
    }
    for r in out:
        assert DESIGN_FIELDS <= set(r)
        assert r["warc_file"] and r["warc_record_id"] and len(r["payload_sha256"]) == 64
    assert [r["score"] for r in out] == sorted((r["score"] for r in out), reverse=True)
    ms = next(r for r in out if r["phone"] == "+31852081234")
    assert (ms["first_seen"], ms["last_seen"]) == (RUN1_AT, RUN2_AT)
    assert ms["ip"] == "203.0.113.7" and ms["warc_file"] == "run-2026-10-08.warc.gz"


def test_regulator_gets_one_row_per_number_of_its_country_with_evidence():
    db = seeded()
    _, out = rows(db, "regulator")
    assert [r["phone"] for r in out] == [
        "+31852081234",
        "+31852081299",
        "+31881234567",
        "+319001234567",
    ]
    assert all(r["country"] == "NL" for r in out)
    first = out[0]
    assert (first["first_seen"], first["last_seen"]) == (RUN1_AT, RUN2_AT)
    assert first["pages"] == ["http://microsoft-helpdesk-bellen.nl/"]
    assert first["evidence"] == [
        {
            "url": "http://microsoft-helpdesk-bellen.nl/",
            "warc_file": "run-2026-10-08.warc.gz",
            "warc_record_id": "<urn:uuid:microsoft-helpdesk-bellen.nl-2026-10-08>",
            "payload_sha256": "ab" * 32,
        }
    ]


def test_operator_groups_numbers_by_range_and_carrier():
    db = seeded()
    _, out = rows(db, "operator")
    by_range = {r["number_range"]: r for r in out}
    assert set(by_range) == {"+3185208XXXX", "+31900123XXXX", "+44203807XXXX", "+3188123XXXX"}
    block = by_range["+3185208XXXX"]
    assert block["numbers"] == 2 and block["phones"] == ["+31852081234", "+31852081299"]
    assert by_range["+3188123XXXX"]["carrier"] == "KPN Mobile"
    assert block["carrier"] is None


def test_search_engine_gets_the_ads_with_position_title_and_time():
    db = seeded()
    _, out = rows(db, "search-engine")
    assert len(out) == 1
    (row,) = out
    assert row["engine"] == "bing" and row["ad_position"] == 1
    assert row["query"] == "Microsoft helpdesk telefoonnummer"
    assert row["title"] == FORMULA_TITLE and row["display_url"] == AD_DISPLAY
    assert row["landing_url"] == "http://microsoft-helpdesk-bellen.nl/"
    assert (row["first_seen"], row["last_seen"]) == (RUN1_AT, RUN2_AT)
    assert row["phones"] == ["+31852081234", "+31852081299"]
    # No click URL of its own: the result's; an advertiser not shown: empty, not null.
    assert row["click_url"] == "https://www.bing.com/aclick?u=x"
    assert [row[f"advertiser_{f}"] for f in ("name", "location", "url")] == ["", "", ""]
    export = prepare_export(db, PRESETS["search-engine"], "csv")
    raw = list(csv.reader(io.StringIO(export.content)))
    assert not any(dangerous(cell) for r in raw for cell in r)
    back = read_csv(export.content)[0]
    assert back["title"] == FORMULA_TITLE and back["display_url"] == AD_DISPLAY


def test_hosting_gets_sites_urls_and_server_ips():
    db = seeded()
    _, out = rows(db, "hosting")
    by_site = {r["domain"]: r for r in out}
    assert set(by_site) == {
        "microsoft-helpdesk-bellen.nl",
        "apple-scam.nl",
        "icloud-hulp24.com",
        "kpn-fake.nl",
    }
    assert by_site["apple-scam.nl"]["urls"] == [SCRIPT_URL]
    assert by_site["icloud-hulp24.com"]["ips"] == ["198.51.100.9"]
    assert by_site["kpn-fake.nl"]["first_seen"] == RUN2_AT


def test_min_risk_and_run_filters():
    db = seeded()
    _, out = rows(db, "default", min_risk="high")
    assert {r["risk"] for r in out} == {"high"} and len(out) == 4
    _, out = rows(db, "default", run_id=1)
    assert {r["phone"] for r in out} == {"+442038071234", "+319001234567"}


def test_a_new_partner_is_a_preset_not_code(tmp_path):
    extra = tmp_path / "partners.toml"
    extra.write_text(
        '[uk-regulator]\nsource = "pairs"\nwhere = { country = "GB" }\n'
        'group_by = ["phone"]\naggregate = { sites = "collect:domain" }\n'
        'columns = ["phone", "sites"]\n'
    )
    presets = load_presets(extra)
    assert "regulator" in presets
    export = prepare_export(seeded(), presets["uk-regulator"], "jsonl")
    assert json.loads(export.content) == {"phone": "+442038071234", "sites": ["icloud-hulp24.com"]}


@pytest.mark.parametrize(
    "text, field",
    [
        ('[x]\nsource = "pages"\ncolumns = ["phone"]\n', "x.source"),
        ('[x]\nsource = "pairs"\n', "x.columns"),
        (
            '[x]\ncolumns = ["phone"]\ngroup_by = ["phone"]\naggregate = { a = "sum" }\n',
            "x.aggregate.a",
        ),
        ('[x]\ncolumns = ["phone"]\ncolour = "red"\n', "x.colour"),
    ],
)
def test_bad_presets_name_file_line_and_field(tmp_path, text, field):
    bad = tmp_path / "bad.toml"
    bad.write_text("# partners\n" + text)
    with pytest.raises(ConfigError) as err:
        load_presets(bad)
    assert err.value.field == field and err.value.line == 2
    assert str(bad) in str(err.value)


# ---------------------------------------------------------------------------
# Incremental exports and the ledger


def test_since_last_gives_only_what_is_new_or_changed_per_recipient():
    db = seeded(runs=1)
    first = {}
    for name in ("default", "regulator", "operator", "search-engine", "hosting"):
        export, out = rows(db, name, since="last")
        first[name] = len(out)
        record_export(db, export)
        again, out = rows(db, name, since="last")
        assert out == [] and again.items == [], name
        record_export(db, again)
    assert first == {
        "default": 3,
        "regulator": 2,
        "operator": 3,
        "search-engine": 1,
        "hosting": 3,
    }
    run2(db)
    delta = {}
    for name in ("default", "regulator", "operator", "search-engine", "hosting"):
        export, out = rows(db, name, since="last")
        delta[name] = out
        record_export(db, export)
        assert rows(db, name, since="last")[1] == [], name
    assert {(r["domain"], r["phone"]) for r in delta["default"]} == {
        ("microsoft-helpdesk-bellen.nl", "+31852081299"),
        ("kpn-fake.nl", "+31881234567"),
    }
    assert [r["phone"] for r in delta["regulator"]] == ["+31852081299", "+31881234567"]
    assert [r["number_range"] for r in delta["operator"]] == ["+3185208XXXX", "+3188123XXXX"]
    assert delta["search-engine"][0]["phones"] == ["+31852081234", "+31852081299"]
    assert [r["domain"] for r in delta["hosting"]] == [
        "kpn-fake.nl",
        "microsoft-helpdesk-bellen.nl",
    ]


def test_a_triage_decision_is_a_change():
    db = seeded()
    record_export(db, prepare_export(db, PRESETS["regulator"], "jsonl", since="last"))
    db["numbers"].update("+319001234567", {"status": "confirmed"})
    _, out = rows(db, "regulator", since="last")
    assert [(r["phone"], r["status"]) for r in out] == [("+319001234567", "confirmed")]


def test_recipients_and_formats_have_their_own_deltas():
    db = seeded()
    record_export(db, prepare_export(db, PRESETS["regulator"], "csv", since="last"))
    assert prepare_export(db, PRESETS["regulator"], "csv", since="last").items == []
    # The ledger is per recipient and format: the JSONL feed has not had them yet.
    assert len(rows(db, "regulator", "jsonl", since="last")[1]) == 4
    assert len(prepare_export(db, PRESETS["hosting"], "csv", since="last").items) == 4


def test_since_a_date_gives_what_was_seen_on_or_after_it():
    db = seeded()
    _, out = rows(db, "default", since="2026-10-05")
    assert {r["phone"] for r in out} == {"+31852081234", "+31852081299", "+31881234567"}
    assert rows(db, "default", since="2026-10-09T00:00:00Z")[1] == []
    assert parse_since("2026-10-05") == "2026-10-05T00:00:00+00:00"
    with pytest.raises(ValueError):
        parse_since("last week")


def test_ledger_records_what_was_sent_when_to_whom_and_the_sha256():
    db = seeded()
    export = prepare_export(db, PRESETS["hosting"], "csv", since="last")
    export_id = record_export(db, export, file="hosting.csv")
    entry = db["exports"].get(export_id)
    assert entry["recipient"] == "hosting" and entry["format"] == "csv"
    assert entry["file"] == "hosting.csv" and entry["since"] == "last"
    assert entry["sha256"] == hashlib.sha256(export.content.encode()).hexdigest()
    assert entry["records"] == 4 and entry["created_at"]
    keys = [r["key"] for r in db["export_items"].rows_where("export_id = ?", [export_id])]
    assert sorted(json.loads(k)[0] for k in keys) == sorted(
        ["microsoft-helpdesk-bellen.nl", "apple-scam.nl", "icloud-hulp24.com", "kpn-fake.nl"]
    )


# ---------------------------------------------------------------------------
# The command


@pytest.fixture
def db_file(tmp_path):
    path = tmp_path / "s.db"
    seeded(path=path).close()
    return path


def cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_only_a_delivered_export_is_recorded(db_file, tmp_path):
    from crawler import storage

    # A preview on stdout leaves the delta alone.
    for _ in range(2):
        res = cli("export", "--db", str(db_file), "--recipient", "regulator", "--since", "last")
        assert res.exit_code == 0, res.output
        assert len(res.stdout.splitlines()) == 4
    assert storage.open_db(db_file)["exports"].count == 0
    out = tmp_path / "reg.csv"
    args = ["--recipient", "regulator", "--since", "last", "--format", "csv", "--out", str(out)]
    res = cli("export", "--db", str(db_file), *args)
    assert res.exit_code == 0
    assert len(out.read_text().splitlines()) == 5
    res = cli("export", "--db", str(db_file), *args)
    assert out.read_text().splitlines() == [",".join(PRESETS["regulator"].columns)]
    assert "0 new or changed records for regulator" in res.stderr
    # stdout is recorded with --record; JSONL has its own delta.
    res = cli("export", "--db", str(db_file), "--recipient", "regulator", "--since", "last",
              "--record")  # fmt: skip
    assert len(res.stdout.splitlines()) == 4
    res = cli("export", "--db", str(db_file), "--recipient", "regulator", "--since", "last")
    assert res.stdout == ""
    db = storage.open_db(db_file)
    ledger = list(db["exports"].rows_where(order_by="id"))
    assert [(e["file"], e["format"], e["records"]) for e in ledger] == [
        (str(out), "csv", 4),
        (str(out), "csv", 0),
        ("-", "jsonl", 4),
    ]
    assert ledger[1]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_cli_record_and_dry_run_contradict(db_file):
    res = CliRunner().invoke(main, ["export", "--db", str(db_file), "--record", "--dry-run"])
    assert res.exit_code == 2 and "contradict" in res.output


def test_cli_dry_run_leaves_the_ledger_alone(db_file):
    for _ in range(2):
        res = cli("export", "--db", str(db_file), "--since", "last", "--dry-run")
        assert len(res.stdout.splitlines()) == 5
    from crawler import storage

    assert storage.open_db(db_file)["exports"].count == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--recipient", "police"], "unknown recipient 'police'"),
        (["--since", "yesterday"], "neither 'last' nor a date"),
        (["--format", "xml"], "'xml' is not one of"),
    ],
)
def test_cli_bad_usage_exits_2(db_file, args, message):
    res = CliRunner().invoke(main, ["export", "--db", str(db_file), *args])
    assert res.exit_code == 2 and message in res.output


def test_cli_bad_presets_file_exits_2_naming_it(db_file, tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('[x]\nsource = "nowhere"\ncolumns = ["phone"]\n')
    res = CliRunner().invoke(main, ["export", "--db", str(db_file), "--presets", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}:1 [x.source]: unknown source 'nowhere'" in res.stderr


def test_collect_and_count_keep_each_distinct_value_once_in_order():
    """`collect:` flattens lists, drops empty values, keeps each value once (dicts
    compared by content) and sorts; `count:` counts them. A number range's group
    holds up to 10,000 numbers a block, so this is done by hash, not list search."""
    from crawler.exports.shaping import aggregate

    members = [
        {"phone": "+31852081235", "tags": ["b", "a"], "ev": {"url": "u2", "ip": None}},
        {"phone": "+31852081234", "tags": ["a"], "ev": {"ip": None, "url": "u2"}},
        {"phone": "+31852081235", "tags": [], "ev": {"url": "u1", "ip": "1.2.3.4"}},
        {"phone": "", "tags": None, "ev": None},
    ]
    assert aggregate("collect:phone", "x", members, {}) == ["+31852081234", "+31852081235"]
    assert aggregate("count:phone", "x", members, {}) == 2
    assert aggregate("collect:tags", "x", members, {}) == ["a", "b"]
    assert aggregate("collect:ev", "x", members, {}) == [
        {"url": "u1", "ip": "1.2.3.4"},
        {"url": "u2", "ip": None},
    ]
    many = [{"phone": f"+3185208{i % 5000:04d}"} for i in range(40_000)]
    assert aggregate("count:phone", "x", many, {}) == 5000
