"""The per-query merge (crawler/merge.py) as tables, without Scrapy.

The same behaviour through the spider: tests/test_spider.py (merging); the
same tables against the Redis-backed state: tests/test_distributed.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from crawler.merge import QueryMerges, Showing, landing, merge_key, strength

ORDER = {"searxng": 0, "bing": 1, "google": 2}


def show(engine, position, *, ad=False, url="https://a.example/", serp="https://serp/"):
    return Showing(
        engine=engine,
        is_ad=ad,
        rank=None if ad else position,
        ad_position=position if ad else None,
        serp_url=f"{serp}{engine}",
        url=url,
        landing_url=url,
    )


def test_the_pure_module_imports_no_scrapy_nor_twisted():
    code = (
        "import sys, crawler.merge; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "a, b, same",
    [
        (
            "https://a.example/x?utm_source=bing&b=2&a=1&gclid=Z#top",
            "https://a.example/x?a=1&b=2&msclkid=9",
            True,
        ),
        ("https://a.example/x?src=ddg", "https://a.example/x?src=g", False),
        ("http://a.example/x", "https://a.example/x", False),
        ("https://A.example/x", "https://a.example/x", True),
        ("https://a.example/x?UTM_Campaign=1&fbclid=2&_gl=3", "https://a.example/x", True),
        ("https://a.example/x?gclid=1&q=", "https://a.example/x?q=", True),
        ("https://a.example/x/", "https://a.example/x", False),
    ],
)
def test_merge_key(a, b, same):
    assert (merge_key(a) == merge_key(b)) is same


@pytest.mark.parametrize(
    "showings, best, engines",
    [
        # an ad beats any organic result, whatever its rank or engine
        (
            [show("searxng", 1), show("google", 4, ad=True)],
            ("google", True, 4),
            ("searxng", "google"),
        ),
        # between ads: the better ad position
        (
            [show("bing", 3, ad=True), show("google", 1, ad=True)],
            ("google", True, 1),
            ("bing", "google"),
        ),
        # between results: the better rank
        (
            [show("searxng", 5), show("bing", 2), show("google", 3)],
            ("bing", False, 2),
            ("searxng", "bing", "google"),
        ),
        # a tie: the profile order of the engines
        (
            [show("google", 1), show("bing", 1), show("searxng", 1)],
            ("searxng", False, 1),
            ("searxng", "bing", "google"),
        ),
        # one engine showing it twice (ad and result) counts once in `engines`
        ([show("bing", 2), show("bing", 1, ad=True)], ("bing", True, 1), ("bing",)),
        # a missing position sorts first (0): it cannot be worse than a known one
        ([show("bing", 2), show("google", None)], ("google", False, None), ("bing", "google")),
    ],
)
def test_the_strongest_showing_leads(showings, best, engines):
    out = landing(7, showings, ORDER)
    lead = out.best
    position = lead.ad_position if lead.is_ad else lead.rank
    assert (lead.engine, lead.is_ad, position) == best
    assert out.engines == engines and out.qi == 7
    assert out.merged == len(showings) - 1
    assert list(out.showings) == sorted(showings, key=lambda s: strength(s, ORDER))


def test_a_landing_without_showings_is_an_error():
    with pytest.raises(ValueError):
        landing(0, [], ORDER)


A, B, C = "https://a.example/", "https://b.example/", "https://c.example/?utm_source=x"

# Each step: (operation, engine, query, url or None) → the landing URLs it releases,
# written as (url of the best showing, number of showings).
STEPS = [
    (
        "two engines, a shared page: released when the last is done, fetched once",
        [
            ("add", "bing", 0, A, []),
            ("add", "bing", 0, B, []),
            ("done", "bing", 0, None, []),
            ("add", "google", 0, A + "?gclid=1", []),
            ("done", "google", 0, None, [(A, 2), (B, 1)]),
        ],
    ),
    (
        "queries are independent; the order of release is first seen first",
        [
            ("add", "google", 1, C, []),
            ("add", "bing", 1, A, []),
            ("done", "bing", 1, None, []),
            ("add", "bing", 0, B, []),
            ("done", "google", 1, None, [(C, 1), (A, 1)]),
            ("done", "google", 0, None, []),
            ("done", "bing", 0, None, [(B, 1)]),
        ],
    ),
    (
        "a straggler with a new page is fetched alone; with a known page it is dropped",
        [
            ("add", "bing", 0, A, []),
            ("done", "bing", 0, None, []),
            ("done", "google", 0, None, [(A, 1)]),
            ("add", "google", 0, A, []),
            ("add", "google", 0, B, [(B, 1)]),
            ("add", "bing", 0, B, []),
        ],
    ),
    (
        "done twice, or by an engine that is not waited for, releases nothing more",
        [
            ("add", "bing", 0, A, []),
            ("done", "bing", 0, None, []),
            ("done", "bing", 0, None, []),
            ("done", "yahoo", 0, None, []),
            ("done", "google", 0, None, [(A, 1)]),
            ("done", "google", 0, None, []),
        ],
    ),
    (
        "a query without any result releases nothing",
        [("done", "bing", 1, None, []), ("done", "google", 1, None, [])],
    ),
]


@pytest.mark.parametrize("steps", [s for _, s in STEPS], ids=[n for n, _ in STEPS])
def test_merge_state(steps):
    merges = QueryMerges(["bing", "google"], 2)
    rank = 0
    for op, engine, qi, url, expected in steps:
        if op == "add":
            rank += 1
            out = merges.add(qi, show(engine, rank, url=url))
        else:
            out = merges.done(engine, qi)
        got = [(merge_key(x.best.landing_url), len(x.showings)) for x in out]
        assert got == [(merge_key(u), n) for u, n in expected], (op, engine, qi, url)
        assert all(x.qi == qi for x in out)


def test_showings_round_trip_through_the_stored_dict():
    s = Showing("bing", True, None, 2, "https://s/", "https://c/", "https://l/", "T", "S", ("+31",))
    assert Showing.from_dict(s.as_dict()) == s
    assert s.as_dict()["phones"] == ["+31"]
