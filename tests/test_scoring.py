from __future__ import annotations

from crawler.scoring import Facts, risk_of, score

MS = ["microsoft", "windows", "outlook"]


def facts(**kw):
    base = dict(phone="+31852081234", brand="Microsoft", domain="example.nl", brand_keywords=MS)
    base.update(kw)
    return Facts(**base)


def test_official_number_is_never_flagged_even_on_a_scam_page():
    v = score(facts(official_for="Microsoft", is_ad=True, remote_tool=True, alarm=True))
    assert not v.flagged and v.score == 0 and v.risk is None


def test_fax_is_not_flagged():
    assert not score(facts(is_fax=True)).flagged


def test_scam_page_ranks_above_repair_shop_above_warning_page():
    scam = score(
        facts(
            domain="microsoft-helpdesk-bellen.nl",
            title="Microsoft Helpdesk",
            is_ad=True,
            remote_tool=True,
        )
    )
    shop = score(facts(domain="pcreparatie-devries.nl", title="PC Reparatie Utrecht"))
    news = score(facts(domain="nu-nieuws.nl", title="Politie waarschuwt", warning_context=True))
    assert scam.score > shop.score > news.score
    assert scam.risk == "high" and shop.risk == "low"
    assert "shown in a paid ad" in scam.reasons
    assert any("uses the name Microsoft" in r for r in scam.reasons)
    assert any("warns about this number" in r for r in news.reasons)


def test_foreign_and_premium_numbers_add_a_reason():
    assert any("foreign number (US)" in r for r in score(facts(country="US")).reasons)
    assert "premium-rate number" in score(facts(country="NL", nl_category="premium")).reasons


def test_user_content_on_official_domain_is_still_flagged():
    v = score(facts(domain="microsoft.com", official_domain=True, title="Microsoft Community"))
    assert v.flagged
    assert any("own domain" in r for r in v.reasons)
    assert not any("uses the name" in r for r in v.reasons)


def test_risk_thresholds():
    assert [risk_of(s) for s in (0, 39, 40, 69, 70, 100)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
