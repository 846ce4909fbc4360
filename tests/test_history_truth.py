"""History is never falsified: "gone" only when every engine and query that showed a
number, site or pair before answered this run and did not show it. One test per
case of issue 11, on a real SQLite file through the project's own save functions."""

from __future__ import annotations

import pytest

from crawler import flags, history, storage
from crawler.scoring import Facts, verdict_record

SCAM, OTHER = "+31852081234", "+31854019876"
Q1, Q2 = "Microsoft helpdesk", "windows hulp bellen"
DM = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}


@pytest.fixture
def d(tmp_path):
    return storage.open_db(tmp_path / "h.db")


def page(
    d,
    rid,
    domain,
    phones,
    *,
    query=Q1,
    engines=("bing",),
    at="2026-11-01T08:00:00+00:00",
    path="/",
    via=None,
):
    """A landing page on `domain` for `query`, shown by `engines`, with `phones` on it;
    `via`: the result's URL, which redirected to the page."""
    url = f"http://{domain}{path}"
    landing = via or url
    for engine in engines:
        storage.save_serp_result(
            d,
            rid,
            {
                "engine": engine,
                "query": query,
                "brand": "Microsoft",
                "serp_url": f"http://{engine}/search",
                "is_ad": False,
                "title": domain,
                "url": landing,
                "landing_url": landing,
                "rank": 1,
                "page": 1,
            },
        )
    hits = []
    for phone in phones:
        f = Facts(phone=phone, brand="Microsoft", domain=domain, domain_match=DM)
        hit = {"phone": phone, "raw": phone, "source": "text", "number_type": "voip"}
        hits.append(verdict_record({**hit, "country": "NL"}, f).as_dict())
    storage.save_page(
        d,
        rid,
        {
            "url": url,
            "entry_url": landing,
            "domain": domain,
            "status": 200,
            "title": "",
            "engine": engines[0],
            "engines": list(engines),
            "appearances": [],
            "query": query,
            "brand": "Microsoft",
            "is_ad": False,
            "rank": 1,
            "serp_url": "http://engine/search",
            "fetched_at": at,
        },
        hits,
    )


def shown_only(d, rid, domain, *, query=Q1, engine="bing", url=None):
    """The engine showed `domain` (or `url`) for `query`, but its page was not stored
    (it failed)."""
    url = url or f"http://{domain}/"
    storage.save_serp_result(
        d,
        rid,
        {
            "engine": engine,
            "query": query,
            "brand": "Microsoft",
            "serp_url": f"http://{engine}/search",
            "is_ad": False,
            "title": domain,
            "url": url,
            "landing_url": url,
            "rank": 1,
            "page": 1,
        },
    )


def run(d, outcomes: dict, pages=(), profile="p", stats=None):
    """A run whose (engine, query) → outcome are `outcomes`; pages: (domain, phones, kw)."""
    rid = storage.start_run(d, profile)
    for domain, phones, kw in pages:
        page(d, rid, domain, phones, **kw)
    for (engine, query), outcome in outcomes.items():
        storage.save_query_outcome(d, rid, {"engine": engine, "query": query, "outcome": outcome})
    return rid, history.close_run(d, rid, stats or {})


def events(d, rid) -> set[tuple[str, str, str]]:
    return {
        tuple(r) for r in d.execute("select kind, key, event from changes where run_id = ?", [rid])
    }


ALL_GONE = {
    ("number", SCAM, "gone"),
    ("site", "scam.nl", "gone"),
    ("pair", f"scam.nl {SCAM}", "gone"),
}


def first_run(d, **kw):
    return run(d, {("bing", Q1): "answered"}, [("scam.nl", [SCAM], kw)])


def test_a_run_that_answered_everything_without_it_records_it_gone(d):
    first_run(d)
    rid, s = run(d, {("bing", Q1): "answered"})
    assert events(d, rid) == ALL_GONE
    assert (s["gone_numbers"], s["gone_sites"], s["gone_pairs"]) == (1, 1, 1)


@pytest.mark.parametrize("outcome", ["blocked", "failed", "skipped"])
def test_a_blocked_failed_or_skipped_query_records_nothing_gone(d, outcome):
    first_run(d)
    rid, s = run(d, {("bing", Q1): outcome})
    assert events(d, rid) == set() and s["gone_numbers"] == 0


def test_an_interrupted_run_records_nothing_gone_for_queries_it_did_not_finish(d):
    first_run(d)
    rid, _ = run(d, {}, stats={"finish_reason": "shutdown"})  # no query finished
    assert events(d, rid) == set()


def test_a_partial_run_records_gone_only_what_its_answered_queries_covered(d):
    run(
        d,
        {("bing", Q1): "answered", ("bing", Q2): "answered"},
        [("scam.nl", [SCAM], {}), ("other.nl", [OTHER], {"query": Q2})],
    )
    rid, _ = run(d, {("bing", Q1): "answered", ("bing", Q2): "failed"})
    assert events(d, rid) == ALL_GONE  # other.nl came from Q2, which failed


def test_every_engine_that_showed_it_must_have_answered(d):
    first_run(d, engines=("bing", "duckduckgo"))
    rid, _ = run(d, {("bing", Q1): "answered", ("duckduckgo", Q1): "blocked"})
    assert events(d, rid) == set()
    rid, _ = run(d, {("bing", Q1): "answered", ("duckduckgo", Q1): "answered"})
    assert events(d, rid) == ALL_GONE


def test_a_result_still_shown_whose_page_failed_is_not_gone(d):
    first_run(d)
    rid = storage.start_run(d, "p")
    shown_only(d, rid, "scam.nl")
    storage.save_query_outcome(d, rid, {"engine": "bing", "query": Q1, "outcome": "answered"})
    history.close_run(d, rid, {})
    assert events(d, rid) == set()


Q3 = "microsoft support nummer"


@pytest.mark.parametrize("failed", [("searxng", Q2), ("duckduckgo", Q3)])
def test_a_page_shown_for_several_queries_is_gone_only_when_all_of_them_answered(d, failed):
    """The page is fetched once per query; its sighting keeps the first fetch (Q1) and
    the page row the last (Q3): the middle query is known from its results only."""
    showings = [("bing", Q1), ("searxng", Q2), ("duckduckgo", Q3)]
    rid1 = storage.start_run(d, "p")
    for engine, query in showings:
        page(d, rid1, "scam.nl", [SCAM], query=query, engines=(engine,))
        storage.save_query_outcome(
            d, rid1, {"engine": engine, "query": query, "outcome": "answered"}
        )
    history.close_run(d, rid1, {})
    outcomes = {s: "answered" for s in showings} | {failed: "failed"}
    rid, s = run(d, outcomes)  # the answered queries no longer show it
    assert events(d, rid) == set() and s["gone_numbers"] == 0
    rid, _ = run(d, {s: "answered" for s in showings})
    assert events(d, rid) == ALL_GONE


REDIRECT = "http://redir-click.nl/go"


def test_a_result_whose_redirect_failed_protects_the_site_it_led_to(d):
    first_run(d, via=REDIRECT)  # the result redirected to scam.nl
    rid = storage.start_run(d, "p")
    shown_only(d, rid, "redir-click.nl", url=REDIRECT)  # the same result; its page failed
    storage.save_query_outcome(d, rid, {"engine": "bing", "query": Q1, "outcome": "answered"})
    history.close_run(d, rid, {})
    assert events(d, rid) == set()


def test_a_result_whose_redirect_now_leads_elsewhere_makes_the_old_site_gone(d):
    first_run(d, via=REDIRECT)
    rid, _ = run(d, {("bing", Q1): "answered"}, [("other.nl", [OTHER], {"via": REDIRECT})])
    assert ALL_GONE <= events(d, rid)


def test_a_failed_page_protects_its_number_though_another_page_of_its_site_was_fetched(d):
    first_run(d, path="/b")
    rid = storage.start_run(d, "p")
    page(d, rid, "scam.nl", [], path="/a")  # fetched, without the number
    shown_only(d, rid, "scam.nl", url="http://scam.nl/b")  # the page it was on: failed
    storage.save_query_outcome(d, rid, {"engine": "bing", "query": Q1, "outcome": "answered"})
    history.close_run(d, rid, {})
    assert events(d, rid) == set()


def test_a_result_differing_only_in_click_tracking_counts_as_fetched(d):
    """Another engine's result for the same page with a tracking parameter: the page
    was fetched once, from the first engine's URL (crawler.merge)."""
    first_run(d, engines=("bing", "duckduckgo"))
    rid = storage.start_run(d, "p")
    page(d, rid, "scam.nl", [])
    shown_only(d, rid, "scam.nl", engine="duckduckgo", url="http://scam.nl/?utm_source=ddg")
    for engine in ("bing", "duckduckgo"):
        storage.save_query_outcome(d, rid, {"engine": engine, "query": Q1, "outcome": "answered"})
    history.close_run(d, rid, {})
    assert events(d, rid) == {("number", SCAM, "gone"), ("pair", f"scam.nl {SCAM}", "gone")}


def test_a_page_fetched_again_without_the_number_makes_the_number_gone(d):
    first_run(d)
    rid, _ = run(d, {("bing", Q1): "answered"}, [("scam.nl", [], {})])
    # The site was fetched (it is still there); the number and the pair are gone.
    assert events(d, rid) == {("number", SCAM, "gone"), ("pair", f"scam.nl {SCAM}", "gone")}


def test_a_run_that_could_not_store_everything_records_nothing_gone(d):
    first_run(d)
    rid, _ = run(d, {("bing", Q1): "answered"}, stats={"serpwatch/storage_failed": "disk full"})
    assert events(d, rid) == set()


def test_another_profiles_run_never_makes_it_gone(d):
    first_run(d)
    rid, _ = run(d, {("bing", Q1): "answered"}, profile="other")
    assert events(d, rid) == set()


def test_a_number_first_seen_in_a_killed_run_is_not_new_in_the_next(d):
    """A killed run (SIGKILL) never reaches its end: it recorded no presence. What it
    saw was first seen then, as `flags` says (first_run); the next run does not call
    it new."""
    killed = storage.start_run(d, "p")
    page(d, killed, "scam.nl", [SCAM])
    d["runs"].update(killed, {"status": "interrupted"})  # as the next crawl marks it
    rid, s = run(d, {("bing", Q1): "answered"}, [("scam.nl", [SCAM], {}), ("new.nl", [OTHER], {})])
    assert events(d, rid) == {
        ("number", OTHER, "new"),
        ("site", "new.nl", "new"),
        ("pair", f"new.nl {OTHER}", "new"),
    }
    assert (s["new_numbers"], s["new_sites"], s["new_pairs"]) == (1, 1, 1)
    assert {r["phone"]: r["since"] for r in flags.attention(d)} == {SCAM: "seen", OTHER: "new"}
    assert history.timeline(d, SCAM)["runs"] == [killed, rid]


def test_back_only_after_a_recorded_gone_and_never_after_a_bad_run(d):
    first_run(d)
    run(d, {("bing", Q1): "failed"})  # nothing gone
    rid, s = first_run(d)
    assert events(d, rid) == set() and s["back_numbers"] == 0  # never left
    gone, _ = run(d, {("bing", Q1): "answered"})
    assert events(d, gone) == ALL_GONE
    rid, s = first_run(d)
    assert {e for _, _, e in events(d, rid)} == {"back"} and s["back_numbers"] == 1
    # Gone is recorded once, not again by every later run.
    run(d, {("bing", Q1): "answered"})
    later, _ = run(d, {("bing", Q1): "answered"})
    assert events(d, later) == set()


def test_a_key_missed_by_a_bad_run_is_gone_once_a_good_run_covers_it(d):
    first_run(d)
    run(d, {("bing", Q1): "blocked"})
    rid, _ = run(d, {("bing", Q1): "answered"})
    assert events(d, rid) == ALL_GONE


def test_flags_calls_a_pair_gone_only_when_history_recorded_it_gone(d):
    first_run(d)
    run(d, {("bing", Q1): "failed"})
    (r,) = flags.attention(d)
    assert r["since"] == "seen"  # not seen by the last run, but not shown to be gone
    run(d, {("bing", Q1): "answered"})
    (r,) = flags.attention(d)
    assert r["since"] == "gone"


def test_a_release_0_1_database_keeps_its_gone_and_present_state(tmp_path):
    """The migration fills `presence` from the sightings and the gone already recorded."""
    import shutil
    from pathlib import Path

    path = tmp_path / "old.db"
    shutil.copy(Path(__file__).parent / "fixtures" / "db" / "release-0.1-demo.db", path)
    d = storage.open_db(path)
    present = d.execute("select count(*) from presence where gone_run is null").fetchone()[0]
    (pairs,) = d.execute(
        "select count(distinct domain || ' ' || phone) from sightings"
        " where official = 0 and is_fax = 0"
    ).fetchone()
    assert present > 0 and d["presence"].count_where("kind = 'pair'") == pairs
