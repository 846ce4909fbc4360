"""The verdicts of numbers and sites (crawler.scoring.verdicts), from facts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from sqlite_utils import Database

from crawler import storage
from crawler.cli import main
from crawler.scoring import Facts, score
from crawler.scoring.verdicts import (
    FORUM_CAP,
    number_facts,
    number_verdict,
    pair_with_number,
    site_facts,
    site_verdict,
)

PHONE = "+31852081234"
SCAM_PAGE = dict(
    domain="microsoft-helpdesk-bellen.nl",
    title="Microsoft Helpdesk",
    title_match={"brand": "Microsoft", "keyword": "microsoft", "kind": "helpdesk", "detail": ""},
    number_as_brand=True,
)


def facts(**kw) -> Facts:
    return Facts(**{"phone": PHONE, "brand": "Microsoft", "domain": "x.nl", **kw})


def test_a_number_only_reported_is_raised_by_the_reports():
    news = facts(
        domain="nu-nieuws.nl",
        title="Politie waarschuwt",
        report="waarschuwt",
        warning_context="waarschuwt",
    )
    one = number_verdict(number_facts(PHONE, [news]))
    assert one.score == 65 and "reported as a scam on 1 site(s)" in one.reasons[0]
    forum = facts(domain="forum.nl", report="nep", warning_context="nep", user_content=True)
    two = number_verdict(number_facts(PHONE, [news, forum]))
    assert two.risk == "high" and two.score == 75


def test_a_report_never_makes_the_reporting_site_a_scam():
    news = facts(
        domain="nu-nieuws.nl",
        title="Politie waarschuwt voor nep-helpdesk",
        report="nep-",
        warning_context="nep-",
        number_as_brand=True,
    )
    numbers = {PHONE: number_verdict(number_facts(PHONE, [news, facts(**SCAM_PAGE)]))}
    assert numbers[PHONE].risk == "high"
    site = site_verdict(site_facts("nu-nieuws.nl", [news], numbers))
    assert site.score == 0 and site.risk == "low"
    assert site.reasons == ["reports numbers, shows none as its own"]


def test_the_brands_staff_denying_a_number_is_the_strongest_report():
    thread = facts(
        domain="microsoft.com",
        official_site="Microsoft",
        user_content=True,
        denied="Microsoft's staff or moderator on microsoft.com",
    )
    v = number_verdict(number_facts(PHONE, [thread]))
    assert v.risk == "high" and v.score == 80
    assert v.signals[0] == ("number_denied_by_staff", 50)
    own = site_verdict(site_facts("microsoft.com", [thread], {PHONE: v}))
    assert own.risk == "low" and "Microsoft's own site" in own.reasons[0]


def test_a_number_injected_into_the_brands_own_page_is_no_listing():
    echoed = facts(
        domain="microsoft.com",
        official_site="Microsoft",
        is_ad=True,
        injected="http://www.microsoft.com/search?q=bel+085+208+1234",
    )
    pair = score(echoed)
    assert "injected" in dict(pair.signals) and "official_site_listing" not in dict(pair.signals)
    v = number_verdict(number_facts(PHONE, [echoed]))
    assert v.risk == "high" and any("injected through the URL" in r for r in v.reasons)
    plain = facts(domain="microsoft.com", official_site="Microsoft")
    assert score(plain).risk == "low"  # listed plainly: an official number missing?


def test_a_scam_site_is_raised_by_the_numbers_it_poses_with_a_forum_is_capped():
    scam = facts(**SCAM_PAGE)
    numbers = {PHONE: number_verdict(number_facts(PHONE, [scam]))}
    site = site_verdict(site_facts(scam.domain, [scam], numbers))
    assert site.risk == "high" and site.signals == [("site_numbers_high", 10)]
    post = facts(
        domain="vraagbaak.nl",
        user_content=True,
        **{k: v for k, v in SCAM_PAGE.items() if k != "domain"},
    )
    forum = site_verdict(site_facts("vraagbaak.nl", [post], numbers))
    assert forum.score == FORUM_CAP and "forum" in forum.reasons[0]


def test_the_pair_is_informed_by_the_number_but_not_on_a_warning_page():
    weak = facts(domain="pakket.nl", number_as_brand=False, is_ad=True)
    high = number_verdict(number_facts(PHONE, [facts(**SCAM_PAGE)]))
    raised = pair_with_number(score(weak), weak, high)
    assert raised.score == score(weak).score + 10 and "high risk over all" in raised.reasons[0]
    warning = facts(domain="nu.nl", warning_context="oplichters")
    assert pair_with_number(score(warning), warning, high) == score(warning)


def test_official_fax_and_dismissed_numbers():
    assert not number_verdict(number_facts(PHONE, [facts(official_for="Microsoft")])).flagged
    assert number_verdict(number_facts(PHONE, [facts(is_fax=True)])).reasons == [
        "labelled as a fax number"
    ]
    gone = number_verdict(number_facts(PHONE, [facts(**SCAM_PAGE, number_status="dismissed")]))
    assert not gone.flagged and gone.reasons[0].startswith("number dismissed")


def test_a_database_from_before_gets_the_verdicts_from_rescore_nothing_lost(tmp_path):
    old = Path(__file__).parent / "fixtures" / "db" / "release-0.1-demo.db"
    path = tmp_path / "old.db"
    shutil.copy(old, path)
    before = Database(path)
    counts = {t: before[t].count for t in ("sightings", "site_numbers", "numbers", "sites")}
    facts_before = {r["id"]: r["facts"] for r in before.query("select id, facts from sightings")}
    before.close()
    result = CliRunner().invoke(main, ["rescore", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "re-scored" in result.output and "numbers" in result.output
    db = Database(path)
    assert {t: db[t].count for t in counts} == counts
    stored = {r["id"]: r["facts"] for r in db.query("select id, facts from sightings")}
    assert set(stored) == set(facts_before)  # the facts are re-scored, not dropped
    scored = [r for r in db["numbers"].rows if r["score"] is not None]
    assert len(scored) == counts["numbers"]
    assert any(r["risk"] == "high" for r in scored)
    records = storage.flagged(storage.open_db(path))
    assert records and all("number_score" in r and "site_risk" in r for r in records)
    assert all(isinstance(r["number_reasons"], list) for r in records)
    assert db["verdict_history"].count >= counts["numbers"]


def test_rescore_of_a_missing_file_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["rescore", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "file not found" in result.output
    assert not (tmp_path / "none.db").exists()


def test_history_shows_how_a_verdict_moved(tmp_path):
    old = Path(__file__).parent / "fixtures" / "db" / "release-0.1-demo.db"
    path = tmp_path / "old.db"
    shutil.copy(old, path)
    CliRunner().invoke(main, ["rescore", "--db", str(path)])
    db = Database(path)
    phone = next(r["phone"] for r in db["numbers"].rows if r["risk"] == "high")
    result = CliRunner().invoke(main, ["history", phone, "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "number verdict" in result.output
    as_json = CliRunner().invoke(main, ["history", phone, "--db", str(path), "--json"])
    assert json.loads(as_json.output)["verdicts"][0]["kind"] == "number"
