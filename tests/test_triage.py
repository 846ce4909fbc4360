"""Analysts' decisions: keys, the latest decision, their effect on later runs, and the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from crawler import flags, history, storage, triage
from crawler.cli import main
from tests.test_history import SCAM, SCAM_PAGE, SHOP, SHOP_PAGE, db, run


@pytest.mark.parametrize(
    "text, expected",
    [
        ("+31852081234", ("number", "+31852081234")),
        ("085 208 1234", ("number", "+31852081234")),
        ("+1-844-217-3090", ("number", "+18442173090")),
        ("microsoft-helpdesk-bellen.nl", ("site", "microsoft-helpdesk-bellen.nl")),
        ("https://www.Microsoft-Helpdesk-Bellen.nl/x", ("site", "microsoft-helpdesk-bellen.nl")),
        ("scam.blogspot.com", ("site", "scam.blogspot.com")),
    ],
)
def test_keys(text, expected):
    assert triage.parse_key(text) == expected


@pytest.mark.parametrize("text", ["12345", "not a key", "blogspot.com"])
def test_bad_keys(text):
    with pytest.raises(ValueError):
        triage.parse_key(text)


def test_latest_decision_counts_and_reset_forgets():
    d = db()
    triage.record(d, "number", SCAM, "dismiss", "repair shop")
    triage.record(d, "number", SCAM, "confirm", "called it")
    assert triage.latest(d)[SCAM]["status"] == "confirmed"
    assert triage.latest(d)[SCAM]["note"] == "called it"
    triage.record(d, "number", SCAM, "reset")
    assert SCAM not in triage.latest(d)
    assert [h["action"] for h in triage.history(d, SCAM)] == ["dismiss", "confirm", "reset"]
    assert all(h["at"] for h in triage.history(d, SCAM))


def test_statuses_mirror_the_latest_decision():
    d = db()
    run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE])
    triage.record(d, "number", SCAM, "confirm")
    triage.record(d, "site", "pcrepair.nl", "dismiss")
    assert d["numbers"].get(SCAM)["status"] == "confirmed"
    assert d["sites"].get("pcrepair.nl")["status"] == "dismissed"
    # The decisions take effect at once, without a crawl: the dismissed pair
    # is no longer flagged, the confirmed one scores higher.
    statuses = {r["phone"]: r["status"] for r in storage.flagged(d)}
    assert statuses == {SCAM: "confirmed"}
    everything = {r["phone"]: r["status"] for r in storage.flagged(d, include_dismissed=True)}
    assert everything == {SCAM: "confirmed", SHOP: "dismissed"}
    scam = d["site_numbers"].get(storage.key("microsoft-helpdesk.nl", SCAM))
    assert "confirmed as a scam" in scam["reasons"]
    triage.record(d, "site", "pcrepair.nl", "reset")
    assert d["sites"].get("pcrepair.nl")["status"] == "new"
    shop = d["site_numbers"].get(storage.key("pcrepair.nl", SHOP))
    assert shop["flagged"] == 1 and "dismissed" not in shop["reasons"]


def test_decisions_before_a_number_is_seen_apply_when_it_appears():
    d = db()
    triage.record(d, "site", "pcrepair.nl", "dismiss")
    triage.record(d, "number", SCAM, "confirm")
    rid, summary = run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE])
    assert d["sites"].get("pcrepair.nl")["status"] == "dismissed"
    shop = d["site_numbers"].get(storage.key("pcrepair.nl", SHOP))
    assert shop["flagged"] == 0 and "site dismissed by an analyst" in shop["reasons"]
    scam = d["site_numbers"].get(storage.key("microsoft-helpdesk.nl", SCAM))
    assert scam["score"] == 85 and "confirmed as a scam" in scam["reasons"]
    assert summary["dismissed_pairs"] == 1 and summary["confirmed_pairs"] == 1
    # Dismissed, yet recorded: the sighting of this run is there, not flagged.
    s = d.execute(
        "select flagged, score from sightings where run_id = ? and phone = ?", [rid, SHOP]
    ).fetchone()
    assert s == (0, 20)


def cli(args, db_path):
    return CliRunner().invoke(main, [*args, "--db", str(db_path)])


@pytest.fixture
def filled(tmp_path):
    path = tmp_path / "t.db"
    d = storage.open_db(path)
    run(d, "2026-11-01T08:00:00+00:00", [SCAM_PAGE, SHOP_PAGE])
    d.close()
    return path


def test_cli_triage_and_flags(filled):
    out = cli(["flags", "--json"], filled)
    assert out.exit_code == 0, out.output
    first = [json.loads(line) for line in out.output.splitlines()]
    assert [(r["phone"], r["since"], r["status"]) for r in first] == [
        (SCAM, "new", "new"),
        (SHOP, "new", "new"),
    ]
    res = cli(["triage", "085 208 1234", "--confirm", "--note", "asks for AnyDesk"], filled)
    assert res.exit_code == 0, res.output
    assert "+31852081234  confirmed  (asks for AnyDesk)" in res.output
    assert cli(["triage", "pcrepair.nl", "--dismiss"], filled).exit_code == 0
    table = cli(["flags"], filled).output
    assert SHOP not in table and "confirmed" in table
    hist = cli(["history", SCAM], filled).output
    assert "confirm (asks for AnyDesk)" in hist and "with microsoft-helpdesk.nl" in hist


def test_cli_triage_errors(filled):
    bad = cli(["triage", "not a key", "--dismiss"], filled)
    assert bad.exit_code == 2 and "neither a phone number nor a domain" in bad.output
    none = cli(["triage", SCAM], filled)
    assert none.exit_code == 2 and "--confirm, --dismiss or --reset" in none.output
    unseen = CliRunner().invoke(main, ["triage", "+31612345678", "--dismiss", "--db", str(filled)])
    assert unseen.exit_code == 0
    assert "has not been seen yet" in unseen.output


def test_dismissed_keys_are_left_out_of_attention_but_kept_in_history(filled):
    d = storage.open_db(filled)
    triage.record(d, "number", SHOP, "dismiss")
    assert SHOP not in {r["phone"] for r in flags.attention(d)}
    assert history.timeline(d, SHOP)["runs"] == [1]
