"""The targets of issue 10 on the three simulated webs, crawled through the CLI.

tests/simweb3 was written for this (reports only on warning, news, consumer and
forum pages; staff answers on brands' forums; numbers injected into brands'
search pages from ads; shops with brand-like words; weak scams). The figures
are `tests/redteam.py`'s; `bench/verdicts.py` prints them.
"""

from __future__ import annotations

import pytest
from redteam import TARGETS, figures
from sqlite_utils import Database


@pytest.mark.parametrize("name", ["simweb", "simweb3", "demo"])
def test_number_and_site_verdicts_meet_the_targets(name, web_db):
    got = figures(name, Database(web_db(name)))
    assert got["auc"] >= TARGETS["auc"], got
    assert got["precision_high"] >= TARGETS["precision_high"], got
    assert got["scam_sites_high"] >= TARGETS["scam_sites_high"], got
    assert got["innocent_sites_high"] == [], got  # warning, news, forum, brand, legit
    assert got["injected_high"] == got["injected"], got
    assert not got["missing_scam_sites"], got  # every scam site was crawled and judged


def test_simweb3_has_every_case_of_the_issue(web_db):
    from simweb3 import labels

    db = Database(web_db("simweb3"))
    seen = {p for (p,) in db.execute("select distinct phone from sightings")}
    labelled = set(labels.SCAM) | set(labels.LEGIT_THIRD_PARTY) | set(labels.OFFICIAL_UNLISTED)
    assert seen == labelled | labels.OFFICIAL, (sorted(seen - labelled), sorted(labelled - seen))
    assert len(labels.INJECTED) == 2


def test_a_report_raises_the_number_and_never_the_reporting_site(web_db):
    db = Database(web_db("simweb3"))
    number = db["numbers"].get("+31857601002")  # only on a news page, a consumer list,
    assert number["risk"] == "high"  # a forum and the Fraudehelpdesk
    assert "reported as a scam on 4 site(s)" in number["reasons"]
    for site in ("nieuws-regio.nl", "consumentenwaakhond.nl", "computerhulp-nl.nl"):
        assert db["sites"].get(site)["risk"] == "low", site
    staff = db["numbers"].get("+31857601003")  # HP's staff: "dit is geen nummer van HP"
    assert staff["risk"] == "high" and "HP's staff or moderator" in staff["reasons"]
    assert db["sites"].get("hp.com")["risk"] == "low"


def test_injected_numbers_are_not_official_listings(web_db):
    db = Database(web_db("simweb3"))
    for phone, site in (("+31857601005", "ing.nl"), ("+31857601006", "hp.com")):
        assert db["numbers"].get(phone)["risk"] == "high"
        assert "injected through the URL" in db["numbers"].get(phone)["reasons"]
        assert db["sites"].get(site)["risk"] == "low"


def test_shops_with_brand_like_words_are_not_look_alikes(web_db):
    db = Database(web_db("simweb3"))
    for site in (
        "appelreparatie-utrecht.nl",
        "bakkerij-appeltaart.nl",
        "appelez-nous-depannage.fr",
    ):
        assert "look-alike" not in db["sites"].get(site)["reasons"], site
        assert db["sites"].get(site)["risk"] != "high", site
