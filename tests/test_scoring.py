"""The scorer on its own: facts in, verdict out; every signal, its points and its reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.scoring import HIGH, MEDIUM, POINTS, Facts, risk_of, score
from crawler.scoring.browser import BEHAVIOURS
from crawler.scoring.points import NUMBER_ROWS, SITE_ROWS

MS = ["microsoft", "windows", "outlook"]


def facts(**kw):
    base = dict(phone="+31852081234", brand="Microsoft", domain="example.nl", brand_keywords=MS)
    base.update(kw)
    return Facts(**base)


def signals(v):
    return [s for s, _ in v.signals]


def test_official_number_is_never_flagged_even_on_a_scam_page():
    v = score(
        facts(
            official_for="Microsoft",
            is_ad=True,
            remote_tool="AnyDesk",
            remote_tool_link=True,
            alarm="virus gedetecteerd",
            domain_match={"brand": "Microsoft", "keyword": "microsoft", "kind": "typo"},
            number_status="confirmed",
        )
    )
    assert not v.flagged and v.score == 0 and v.risk is None
    assert v.reasons == ["official number of Microsoft"]


def test_official_for_another_brand_is_not_flagged_either():
    v = score(facts(brand="Apple", official_for="Microsoft"))
    assert not v.flagged and v.reasons == ["official number of Microsoft"]


def test_fax_is_not_flagged():
    v = score(facts(is_fax=True, is_ad=True))
    assert not v.flagged and v.score == 0


def test_a_bare_unofficial_number_is_low_with_one_reason():
    v = score(facts())
    assert v.flagged and v.score == 30 and v.risk == "low"
    assert v.reasons == ["not an official number of Microsoft (+30)"]


def test_without_a_brand_the_base_is_lower_and_says_so():
    v = score(facts(brand=None))
    assert v.score == POINTS["not_official_any"] < POINTS["not_official"]
    assert "any brand" in v.reasons[-1]


# Each signal: the facts that raise it, its name, a fragment of its reason.
SIGNALS = [
    pytest.param(
        {
            "domain_match": {
                "brand": "Microsoft",
                "keyword": "microsoft",
                "kind": "typo",
                "detail": "microsfot is one typo away from microsoft",
            }
        },
        "lookalike_domain",
        "imitates microsoft",
        id="lookalike-typo",
    ),
    pytest.param(
        {
            "domain_match": {
                "brand": "Microsoft",
                "keyword": "microsoft",
                "kind": "homoglyph",
                "detail": "rnicrosoft looks like microsoft",
            }
        },
        "lookalike_domain",
        "rnicrosoft looks like microsoft",
        id="lookalike-homoglyph",
    ),
    pytest.param(
        {"domain_match": {"brand": "Microsoft", "keyword": "microsoft", "kind": "helpdesk"}},
        "brand_helpdesk_domain",
        "poses as Microsoft's helpdesk",
        id="brand-helpdesk-domain",
    ),
    pytest.param(
        {"domain_match": {"brand": "Microsoft", "keyword": "microsoft", "kind": "name"}},
        "brand_domain",
        "uses the name Microsoft",
        id="brand-domain",
    ),
    pytest.param(
        {"domain_match": {"brand": "Apple", "keyword": "iphone", "kind": "trade"}},
        "brand_trade_domain",
        "repair shop or store",
        id="brand-trade-domain",
    ),
    pytest.param(
        {"title_match": {"brand": "Microsoft", "keyword": "microsoft", "kind": "helpdesk"}},
        "title_helpdesk",
        "title presents itself as Microsoft's helpdesk",
        id="title-helpdesk",
    ),
    pytest.param(
        {"title_match": {"brand": "Microsoft", "keyword": "windows", "kind": "name"}},
        "title_brand",
        "title names Microsoft",
        id="title-brand",
    ),
    pytest.param(
        {"claims_official": "Officiële Microsoft helpdesk"},
        "claims_official",
        "claims to be official",
        id="claims-official",
    ),
    pytest.param(
        {"number_as_brand": True},
        "number_as_brand",
        "presents it as Microsoft's",
        id="number-as-brand",
    ),
    pytest.param({"is_ad": True, "_base": {"number_as_brand": True}}, "ad", "paid ad (", id="ad"),
    pytest.param(
        {"is_ad": True}, "ad_plain", "paid ad, on a page that does not pose", id="ad-plain"
    ),
    pytest.param(
        {"ad_claim": "Microsoft Helpdesk - Bel Direct"},
        "ad_helpdesk",
        "the ad that led here poses as Microsoft's helpdesk",
        id="ad-helpdesk",
    ),
    pytest.param(
        {"shared_host": "blogspot.com", "_base": {"number_as_brand": True}},
        "shared_hosting",
        "shared-hosting site (blogspot.com)",
        id="shared-hosting",
    ),
    pytest.param(
        {"official_shown": "+31205001005 (Microsoft)"},
        "official_shown",
        "also shows the official number +31205001005 (Microsoft)",
        id="official-shown",
    ),
    pytest.param(
        {"listed_by_brand": "Microsoft's own site microsoft.com"},
        "listed_by_brand",
        "listed on Microsoft's own site microsoft.com",
        id="listed-by-brand",
    ),
    pytest.param(
        {"remote_tool": "AnyDesk", "remote_tool_link": True},
        "remote_tool_link",
        "remote-access tool (AnyDesk) to download",
        id="remote-tool-link",
    ),
    pytest.param(
        {"remote_tool": "hulp op afstand"},
        "remote_tool",
        "remote access (hulp op afstand)",
        id="remote-tool-mention",
    ),
    pytest.param(
        {"alarm": "virus gedetecteerd"},
        "alarm",
        "'virus gedetecteerd'",
        id="alarm",
    ),
    pytest.param({"locker": True}, "locker", "browser locker", id="locker"),
    pytest.param(
        {"nl_category": "premium", "country": "NL"},
        "premium",
        "premium-rate",
        id="premium",
    ),
    pytest.param({"country": "US"}, "foreign", "foreign number (US) on a NL query", id="foreign"),
    pytest.param(
        {"number_in_title": True}, "number_in_title", "in the page title", id="number-in-title"
    ),
    pytest.param(
        {"official_site": "Microsoft", "domain": "microsoft.com", "user_content": True},
        "user_content",
        "user content on Microsoft's own site",
        id="user-content",
    ),
    pytest.param(
        {"official_site": "Microsoft", "domain": "microsoft.com"},
        "official_site_listing",
        "missing from the brands file",
        id="official-site-listing",
    ),
    pytest.param(
        {"other_domains": 1}, "several_domains_2", "seen on 2 unrelated domains", id="two-domains"
    ),
    pytest.param(
        {"other_domains": 3}, "several_domains_3", "seen on 4 unrelated domains", id="four-domains"
    ),
    pytest.param(
        {"other_domains": 9}, "several_domains_5", "seen on 10 unrelated domains", id="ten-domains"
    ),
    pytest.param(
        {"number_age_days": 3.0, "watched_days": 60.0},
        "new_number",
        "number first seen 3 days ago",
        id="new-number",
    ),
    pytest.param(
        {"site_age_days": 2.0, "site_watched_days": 30.0},
        "new_site",
        "site first seen 2 days ago",
        id="new-site",
    ),
    pytest.param(
        {"number_status": "confirmed", "number_status_at": "2026-11-02T10:00:00+00:00"},
        "confirmed_number",
        "confirmed as a scam by an analyst on 2026-11-02",
        id="confirmed-number",
    ),
    pytest.param(
        {"site_status": "confirmed"},
        "confirmed_site",
        "site confirmed as a scam",
        id="confirmed-site",
    ),
    pytest.param(
        {"trade": "reparatie"}, "trade_page", "independent business ('reparatie')", id="trade-page"
    ),
    pytest.param(
        {"warning_context": "oplichters"}, "warning", "warns about this number", id="warning"
    ),
    pytest.param(
        {"third_party": "Fraudehelpdesk (fraud help desk)"},
        "third_party_number",
        "known legitimate third party: Fraudehelpdesk",
        id="third-party-number",
    ),
    pytest.param(
        {"third_party_site": "Dagblad (news)"},
        "third_party_site",
        "known legitimate site: Dagblad",
        id="third-party-site",
    ),
    pytest.param(
        {
            "injected": "http://www.microsoft.com/search?q=bel+085+208+1234",
            "_base": {"official_site": "Microsoft"},
        },
        "injected",
        "injected, not listed by the brand",
        id="injected",
    ),
    pytest.param(
        {
            "number_as_brand": True,
            "_base": {
                "title_match": {"brand": "Microsoft", "keyword": "microsoft", "kind": "name"}
            },
        },
        "poses_with_number",
        "names Microsoft and gives this number as Microsoft's",
        id="poses-with-number",
    ),
    pytest.param(
        {"remote_tool": "AnyDesk", "_base": {"nl_category": "premium", "country": "NL"}},
        "premium_helpdesk",
        "premium-rate or foreign number on a page acting as a helpdesk",
        id="premium-helpdesk",
    ),
    # What a real browser saw (crawler.scoring.browser).
    pytest.param({"found_by": "image"}, "image_only", "only in an image", id="image-only"),
    pytest.param(
        {"found_by": "rendered"}, "rendered_only", "only when the page's scripts", id="rendered"
    ),
    pytest.param(
        {"cloaking": "another title ('Microsoft helpdesk')"},
        "cloaking",
        "shows a browser something else",
        id="cloaking",
    ),
    *(
        pytest.param({"behaviours": [name]}, name, f"the page {text}", id=name)
        for name, text in BEHAVIOURS.items()
    ),
]
# The verdicts of numbers and sites have their own tests (tests/test_verdicts.py).
PAIR_POINTS = set(POINTS) - {
    s for _, signals, _ in NUMBER_ROWS + SITE_ROWS for s in signals if s != "confirmed_number"
}


@pytest.mark.parametrize("extra, signal, fragment", SIGNALS)
def test_each_signal_adds_its_points_with_a_reason(extra, signal, fragment):
    extra = dict(extra)
    base = extra.pop("_base", {})  # what the signal needs besides its own fact
    plain = score(facts(**base))
    v = score(facts(**base, **extra))
    assert signal in signals(v)
    assert signal not in signals(plain)
    points = POINTS[signal]
    reason = next(r for r in v.reasons if fragment in r)
    assert reason.endswith(f"({points:+d})")
    # A signal may take the place of another of its group (injected for a listing).
    gone = sum(p for s, p in plain.signals if s not in signals(v))
    added = sum(p for s, p in v.signals if s not in signals(plain))
    assert v.score == max(0, min(100, plain.score + added - gone))


def test_every_signal_in_the_table_is_tested():
    tested = {p.values[1] for p in SIGNALS} | {"not_official", "not_official_any"}
    assert tested == PAIR_POINTS


def test_scam_page_ranks_above_repair_shop_above_warning_page():
    scam = score(
        facts(
            domain="microsoft-helpdesk-bellen.nl",
            domain_match={"brand": "Microsoft", "keyword": "microsoft", "kind": "helpdesk"},
            title_match={"brand": "Microsoft", "keyword": "microsoft", "kind": "helpdesk"},
            is_ad=True,
            remote_tool="AnyDesk",
            remote_tool_link=True,
        )
    )
    shop = score(facts(domain="pcreparatie-devries.nl", trade="reparatie"))
    news = score(
        facts(
            domain="nu-nieuws.nl",
            title_match={"brand": "Microsoft", "keyword": "microsoft", "kind": "helpdesk"},
            warning_context="nepsite",
        )
    )
    assert scam.score > shop.score > news.score
    assert scam.risk == "high" and shop.risk == "low" and news.risk == "low"
    # The first reason is the strongest signal; "not official" comes last.
    assert scam.reasons[0].startswith("domain microsoft-helpdesk-bellen.nl poses as")
    assert scam.reasons[-1] == "not an official number of Microsoft (+30)"
    assert news.reasons[0].startswith("page warns about this number")


def test_reasons_are_ordered_by_weight_and_add_up_to_the_score():
    v = score(
        facts(is_ad=True, country="US", alarm="security alert", number_in_title=True, trade="shop")
    )
    pts = [p for _, p in v.signals]
    assert [abs(p) for p in pts[:-1]] == sorted((abs(p) for p in pts[:-1]), reverse=True)
    assert v.signals[-1][0] == "not_official"
    assert v.score == sum(pts)
    assert "trade_page" not in signals(v)  # alarm language: not an honest shop


def test_score_is_clamped_to_0_and_100():
    high = score(
        facts(
            domain_match={"brand": "Microsoft", "keyword": "microsoft", "kind": "typo"},
            title_match={"brand": "Microsoft", "keyword": "microsoft", "kind": "helpdesk"},
            is_ad=True,
            alarm="x",
            locker=True,
            country="US",
            remote_tool="AnyDesk",
            remote_tool_link=True,
            claims_official="x",
        )
    )
    low = score(facts(warning_context="scam", third_party="X", third_party_site="Y"))
    assert high.score == 100 and low.score == 0
    assert low.flagged  # lowered, still recorded as flagged (low)


def test_warning_words_do_not_help_a_page_that_impersonates_in_its_domain():
    dm = {"brand": "Microsoft", "keyword": "microsoft", "kind": "helpdesk"}
    v = score(facts(domain_match=dm, warning_context="fraude"))
    assert "warning" not in signals(v)
    trade = score(facts(domain_match={**dm, "kind": "trade"}, warning_context="fraude"))
    assert "warning" in signals(trade)


def test_dismissed_number_or_site_is_scored_but_not_flagged():
    for kw in ({"number_status": "dismissed"}, {"site_status": "dismissed"}):
        v = score(
            facts(
                is_ad=True,
                number_as_brand=True,
                number_status_at="2026-11-03T09:00:00+00:00",
                **kw,
            )
        )
        assert not v.flagged
        assert v.score == 60 and v.risk == "medium"
        assert "dismissed by an analyst" in v.reasons[0]


def test_confirmed_number_is_not_raised_on_a_page_that_warns_about_it():
    v = score(facts(number_status="confirmed", warning_context="oplichting"))
    assert "confirmed_number" not in signals(v) and "warning" in signals(v)


@pytest.mark.parametrize(
    "age, watched, recent",
    [
        (3, 60, True),
        (30, 60, True),
        (31, 60, False),
        (3, 2, False),
        (None, 60, False),
        (3, None, False),
    ],
)
def test_recent_needs_a_database_that_watched_before(age, watched, recent):
    v = score(facts(number_age_days=age, watched_days=watched))
    assert ("new_number" in signals(v)) is recent


def test_risk_thresholds():
    assert (HIGH, MEDIUM) == (70, 40)
    assert [risk_of(s) for s in (0, 39, 40, 69, 70, 100)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_facts_round_trip_and_ignore_unknown_keys():
    f = facts(is_ad=True, domain_match={"brand": "Microsoft", "kind": "name", "keyword": "m"})
    again = Facts.from_dict({**f.to_dict(), "from_a_newer_version": 1})
    assert again == f and score(again) == score(f)


POSITIVE = ["is_ad", "locker", "remote_tool_link", "number_in_title", "number_as_brand"]


@given(
    base=st.fixed_dictionaries(
        {
            "is_ad": st.booleans(),
            "locker": st.booleans(),
            "number_in_title": st.booleans(),
            "country": st.sampled_from(["NL", "US", ""]),
            "warning_context": st.sampled_from([None, "oplichting"]),
            "trade": st.sampled_from([None, "shop"]),
            "other_domains": st.integers(0, 20),
            "number_status": st.sampled_from([None, "confirmed", "dismissed"]),
            "official_for": st.sampled_from([None, None, None, "Microsoft"]),
        }
    ),
    turn_on=st.sampled_from(POSITIVE),
)
def test_properties_bounds_and_monotone_signals(base, turn_on):
    v = score(facts(**base))
    assert 0 <= v.score <= 100
    assert v.flagged == (base["official_for"] is None and base["number_status"] != "dismissed")
    more = score(facts(**{**base, turn_on: True}))
    assert more.score >= v.score  # a scam signal never lowers a score
    calmer = score(facts(**{**base, "warning_context": "nep"}))
    assert calmer.score <= v.score  # a warning never raises a score
