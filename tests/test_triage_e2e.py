"""Triage and history across real crawls of the demo web into one database, through the CLI.

The demo web runs in this process (crawler.demo.web.DemoWeb); `serpwatch crawl`
runs in a subprocess against it, as an analyst would run it. Between crawls the
test takes decisions with `serpwatch triage` and changes what the demo search
engine answers, to make a site disappear and come back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo import web as demo_web

DEMO = Path(__file__).parents[1] / "crawler" / "demo"
SCAM = {
    "+31852081234",
    "+18442173090",
    "+319001234567",
    "+442038071234",
    "+31881234567",
    "+31854019876",
}
REPAIR, FRAUDEHELPDESK = "+31302314567", "+31887867372"
OFFICIAL = {"+31205001005", "+31207038001", "+318000402"}


def serpwatch(*args, env=None):
    exe = Path(sys.executable).with_name("serpwatch")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, env=env)
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("triage")
    with demo_web.DemoWeb() as web:
        profile = (DEMO / "profile.toml").read_text()
        profile = profile.replace("http://127.0.0.1:8080/search", web.search_url)
        profile = profile.replace('brands = "brands.toml"', f'brands = "{DEMO}/brands.toml"')
        (tmp / "p.toml").write_text(profile)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["http_proxy"] = web.proxy_url
        yield {"db": str(tmp / "t.db"), "profile": str(tmp / "p.toml"), "env": env}


def crawl(demo):
    proc = serpwatch("crawl", demo["profile"], "--db", demo["db"], env=demo["env"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def flags(demo, *extra):
    proc = serpwatch("flags", "--json", "--db", demo["db"], *extra)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def best(records):
    out = {}
    for r in records:
        out[r["phone"]] = max(out.get(r["phone"], -1), r["score"])
    return out


def test_triage_survives_recrawls_and_history_shows_absences(demo, monkeypatch):
    # Run 1: everything is new.
    crawl(demo)
    first = flags(demo)
    assert {r["since"] for r in first} == {"new"}
    assert SCAM | {REPAIR, FRAUDEHELPDESK} == {r["phone"] for r in first}
    before = best(first)

    # The analyst confirms a scam number and dismisses the repair shop and a legit number.
    for args in (
        ("+31852081234", "--confirm", "--note", "asks for AnyDesk"),
        ("pcreparatie-devries.nl", "--dismiss", "--note", "real repair shop"),
        ("088 786 73 72", "--dismiss"),
    ):
        proc = serpwatch("triage", *args, "--db", demo["db"])
        assert proc.returncode == 0, proc.stderr

    # Run 2: the same web. Decisions hold; nothing is new.
    out = crawl(demo).stdout
    assert "2 confirmed and 2 dismissed pairs seen again" in out
    second = flags(demo)
    phones = {r["phone"] for r in second}
    assert REPAIR not in phones and FRAUDEHELPDESK not in phones
    assert not phones & OFFICIAL
    assert SCAM <= phones
    assert {r["since"] for r in second} == {"seen"}
    confirmed = [r for r in second if r["phone"] == "+31852081234"]
    assert {r["status"] for r in confirmed} == {"confirmed"}
    top = max(confirmed, key=lambda r: r["score"])
    assert top["domain"] == "microsoft-helpdesk-bellen.nl" and top["score"] >= before[top["phone"]]
    assert any("confirmed as a scam by an analyst" in x for x in top["reasons"])
    # confirmed pairs come after the ones that still need a decision
    assert second[-1]["status"] == "confirmed"
    # Dismissed yet recorded: run 2 saw the repair shop's number, did not flag it.
    con = sqlite3.connect(demo["db"])
    row = con.execute(
        "select flagged, reasons from sightings where run_id = 2 and phone = ?", [REPAIR]
    ).fetchone()
    assert row[0] == 0 and "site dismissed by an analyst" in row[1]
    # Every scam number still outranks every legit third-party number still flagged.
    scores = best(second)
    legit = [s for p, s in scores.items() if p not in SCAM]
    assert not legit or min(scores[p] for p in SCAM) > max(legit)

    # Run 3: the KPN scam site drops out of the results.
    organic, ads = demo_web.SERPS["kpn"]
    monkeypatch.setitem(
        demo_web.SERPS,
        "kpn",
        ([r for r in organic if r is not demo_web.KPN_SCAM], []),
    )
    crawl(demo)
    third = {r["phone"]: r for r in flags(demo)}
    assert third["+31881234567"]["since"] == "gone"

    # Run 4: it is back.
    monkeypatch.setitem(demo_web.SERPS, "kpn", (organic, ads))
    out = crawl(demo).stdout
    assert "1 back after an absence" in out
    fourth = flags(demo)
    assert (fourth[0]["phone"], fourth[0]["since"]) == ("+31881234567", "back")
    story = serpwatch("history", "+31881234567", "--db", demo["db"]).stdout
    assert "seen in runs: 1, 2, 4" in story and "missing from runs: 3" in story
    assert "run 3: number gone" in story and "run 4: number back" in story
    runs = serpwatch("runs", "--db", demo["db"]).stdout
    assert "1 back after an absence" in runs and "1 gone" in runs
