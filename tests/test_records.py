"""Typed records between stages: SightingVerdict (scoring → render → storage) and
RunSummary (storage → CLI, alerts, report, `queries try`)."""

from __future__ import annotations

import json

from crawler import storage
from crawler.scoring import Facts, SightingVerdict, verdict_record

HIT = {"phone": "+31852301001", "raw": "085 230 1001", "source": "text", "country": "NL"}


def test_a_verdict_is_stored_in_the_form_it_always_had():
    facts = Facts(phone=HIT["phone"], brand="Norton", domain="norton-hulp.example")
    verdict = verdict_record(HIT, facts)
    row = verdict.as_dict()
    assert {k: row[k] for k in HIT} == HIT and verdict.phone == HIT["phone"]
    assert row["facts"] == facts.to_dict() and row["official"] is False
    assert (row["score"], row["risk"], row["flagged"]) == (
        verdict.score,
        verdict.risk,
        verdict.flagged,
    )
    assert SightingVerdict.from_dict(row) == verdict
    assert json.loads(json.dumps(row)) == json.loads(json.dumps(row, sort_keys=True))


def test_an_official_number_says_so():
    facts = Facts(phone=HIT["phone"], brand="Norton", domain="x.example", official_for="Norton")
    verdict = verdict_record(HIT, facts)
    assert verdict.official and verdict.official_for == "Norton" and not verdict.flagged


def test_the_run_summary_is_what_finish_crawl_recorded(tmp_path):
    db = storage.open_db(tmp_path / "s.db")
    run_id = storage.start_run(db, "nl")
    stats = {"serpwatch/engines": ["bing"], "serpwatch/blocked/bing": 1}
    stats["serpwatch/blocked_reason/bing"] = "captcha"
    made = storage.finish_crawl(db, run_id, {**stats, "finish_reason": "finished"})
    read = storage.RunSummary.from_row(storage.get_run(db, run_id))
    assert read == made
    assert read.status == "blocked" and read.blocked == {"bing": "captcha"}
    assert read.engines["bing"]["outcome"] == "blocked" and read.counts["landing_pages"] == 0


def test_a_run_still_running_has_an_empty_summary(tmp_path):
    db = storage.open_db(tmp_path / "s.db")
    summary = storage.RunSummary.from_row(storage.get_run(db, storage.start_run(db, "nl")))
    assert (summary.status, summary.blocked, summary.warnings) == ("running", {}, [])
    assert summary.counts is None and summary.stats == {}
