"""Engine parsers against the project's golden fixtures, plus request builders and helpers.

Golden fixtures live in ``tests/fixtures/serp/<engine>/<case>/`` (meta.json with
the request URL, query and HTTP status; page.html or page.json; expected.json);
after a deliberate parser change re-record them with
``.venv/bin/python -m pytest tests/test_engines.py -k golden --rerecord`` and
review the diff (docs/TESTING.md).
"""

from __future__ import annotations

import base64
import html
import inspect
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from golden import page_file, serp_cases, serp_input
from serp_helpers import ads, is_tracking_url, organic

from crawler.engines import ENGINES, SerpPage, SerpResult, get_engine
from crawler.engines.base import Engine
from crawler.engines.common import (
    decode_base64_url,
    find_phones,
    region_from_url,
    unwrap_url,
)
from crawler.phones import extract_phones

FIXTURES = Path(__file__).parent / "fixtures" / "serp"
CASES = serp_cases()
# Brave's and SearXNG's JSON carry no ads.
ENGINES_WITH_ADS = {"bing", "duckduckgo", "google", "startpage", "ecosia", "yahoo", "serpapi"}


def case_id(case: Path) -> str:
    return f"{case.parent.name}/{case.name}"


def output(case: Path) -> dict:
    """What the engine's parser makes of the case, as plain data."""
    body, url, status = serp_input(case)
    return ENGINES[case.parent.name].parse(body, url, status).to_dict()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_golden(case: Path, golden) -> None:
    golden(case, output(case), test=f"tests/test_engines.py -k 'golden and {case_id(case)}'")


def _expected(case: Path) -> dict:
    return json.loads((case / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_fixtures_cover_every_kind_of_page(kind: str) -> None:
    pages = [_expected(c) for c in CASES if c.parent.name == kind]
    organic = [p for p in pages if any(not r["is_ad"] for r in p["results"])]
    with_phones = [p for p in organic if any(r["phones"] for r in p["results"])]
    no_results = [p for p in pages if p["no_results"]]
    blocks = [p for p in pages if p["blocked"]]
    unrecognised = [p for p in pages if p["unrecognised"]]
    assert organic and with_phones and no_results and blocks and unrecognised, kind
    assert all(not p["results"] and not p["listings"] for p in no_results + unrecognised)
    statuses = {serp_input(c)[2] for c in CASES if c.parent.name == kind}
    assert statuses & {202, 429}, f"{kind}: no rate-limit case"
    ads = [r for p in pages for r in p["results"] if r["is_ad"]]
    if kind in ENGINES_WITH_ADS:
        assert ads and any(r["phones"] for r in ads), f"{kind}: no ad with a phone number"
    else:
        assert not ads


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_result_invariants(case: Path) -> None:
    body, url, status = serp_input(case)
    page = ENGINES[case.parent.name].parse(body, url, status)
    assert page.engine == case.parent.name
    if page.blocked:
        assert page.results == []
        return
    ranks = [r.rank for r in organic(page)]
    positions = [r.ad_position for r in ads(page)]
    assert all(r.ad_position is None for r in organic(page))
    assert all(r.rank is None for r in ads(page))
    assert ranks == list(range(ranks[0], ranks[0] + len(ranks))) if ranks else True
    assert positions == list(range(1, len(positions) + 1))
    for result in page.results:
        assert result.title and result.url
        assert urlsplit(result.landing_url).scheme in ("http", "https")
        assert all(p.startswith("+") and p[1:].isdigit() for p in result.phones)
    for result in page.results:
        # Bing and DuckDuckGo click tracking is always peeled; only Google's aclk
        # with an empty adurl keeps its tracking URL (is_tracking_url says no)
        assert not is_tracking_url(result.landing_url), result.landing_url


# Click-tracking wrappers ------------------------------------------------------

LANDING = "https://scam.example/microsoft?x=1&y=2"


@pytest.mark.parametrize(
    "value",
    [
        "a1" + base64.urlsafe_b64encode(LANDING.encode()).decode().rstrip("="),
        "a1" + base64.b64encode(LANDING.encode()).decode(),
        base64.b64encode(quote(LANDING, safe="").lower().encode()).decode(),
        base64.b64encode(LANDING.encode()).decode().rstrip("="),
    ],
    ids=["a1-urlsafe-unpadded", "a1-standard", "percent-encoded", "plain-unpadded"],
)
def test_bing_u_parameter_decodes(value: str) -> None:
    assert decode_base64_url(value) == LANDING


def test_bing_u_parameter_rejects_garbage() -> None:
    assert decode_base64_url("a1!!!not-base64") is None
    assert decode_base64_url(base64.b64encode(b"javascript:alert(1)").decode()) is None
    assert decode_base64_url(None) is None


def test_unwrap_chain_duckduckgo_yahoo_bing() -> None:
    aclick = "https://www.bing.com/aclick?ld=x&u=" + base64.b64encode(LANDING.encode()).decode()
    yahoo = "https://r.search.yahoo.com/cbclk/abc/RV=2/RU=" + quote(aclick, safe="") + "/RK=2/RS=x-"
    yjs = "https://duckduckgo.com/y.js?ad_provider=yhs&u3=" + quote(yahoo, safe="")
    assert unwrap_url(yjs, "https://html.duckduckgo.com/html/") == LANDING


@pytest.mark.parametrize(
    ("href", "page", "landing"),
    [
        (
            "/url?q=https://a.example/p%3Fq%3D1&sa=U",
            "https://www.google.nl/search?q=x",
            "https://a.example/p?q=1",
        ),
        (
            "https://www.googleadservices.com/pagead/aclk?sa=L&adurl=https%3A%2F%2Fb.example%2F",
            "https://www.google.com/search?q=x",
            "https://b.example/",
        ),
        (
            "//duckduckgo.com/l/?uddg=https%3A%2F%2Fc.example%2F&rut=1",
            "https://html.duckduckgo.com/html/",
            "https://c.example/",
        ),
        # a wrapper on the engine's own host (a local test engine) is unwrapped too
        (
            "/l/?uddg=https%3A%2F%2Fd.example%2F",
            "http://127.0.0.1:8470/html/",
            "https://d.example/",
        ),
        # a site's own /url?q= redirect is not the engine's: left alone
        (
            "https://site.example/url?q=https://e.example/",
            "https://www.google.com/search",
            "https://site.example/url?q=https://e.example/",
        ),
        # an ad link that hides its target stays a tracking URL
        (
            "https://www.google.com/aclk?sa=l&ai=X&adurl=",
            "https://www.google.com/search",
            "https://www.google.com/aclk?sa=l&ai=X&adurl=",
        ),
        # only http(s) targets are accepted
        (
            "/url?q=javascript:alert(1)",
            "https://www.google.com/search",
            "https://www.google.com/url?q=javascript:alert(1)",
        ),
        # Bing ads since 2023 link through aclk (not aclick), same u= encoding
        (
            "https://www.bing.com/aclk?ld=e8Q&u="
            + base64.b64encode(quote(LANDING, safe="").encode()).decode().rstrip("=")
            + "&rlid=1&ntb=1",
            "https://www.bing.com/search?q=x",
            LANDING,
        ),
        # older Bing pages (and the Bing API) redirect through /cr?...&r=
        (
            "https://www.bing.com/cr?IG=1&rd=1&h=x&v=1&r=https%3a%2f%2fscam.example%2fnl%2f&p=D",
            "https://www.bing.com/search?q=x",
            "https://scam.example/nl/",
        ),
        # advertisers' click trackers behind an ad: Adobe (url=), Search Ads 360 (ds_dest_url=)
        (
            "https://pixel.everesttech.net/3085/cq?ev_sid=3&url=https%3A%2F%2Fscam.example%2Fa",
            "https://www.bing.com/search?q=x",
            "https://scam.example/a",
        ),
        (
            "https://clickserve.dartsearch.net/link/click?lid=4&ds_dest_url=https%3A%2F%2Fscam.example%2Fb",
            "https://www.google.com/search?q=x",
            "https://scam.example/b",
        ),
    ],
)
def test_unwrap_url(href: str, page: str, landing: str) -> None:
    assert unwrap_url(href, page) == landing


def test_tracking_url_detection() -> None:
    assert is_tracking_url("https://www.bing.com/aclick?ld=x&u=abc")
    assert is_tracking_url("https://www.bing.com/aclk?ld=x&u=abc")
    assert is_tracking_url("https://duckduckgo.com/y.js?ad_provider=x")
    assert is_tracking_url("https://www.google.com/url?q=https://a.example/")
    assert not is_tracking_url("https://support.microsoft.com/nl-nl/contactus")


@pytest.mark.parametrize(
    ("url", "internal"),
    [
        ("https://www.google.com/search?q=x&start=10", True),
        ("https://www.google.nl/travel/hotels/Amsterdam", True),
        ("https://maps.google.com/maps?q=helpdesk", True),
        ("https://www.google.com/?sa=X&ved=1", True),
        ("https://lh3.googleusercontent.com/a.png", True),
        # Google's own pages are results when they come up as one
        ("https://www.google.com/", False),
        ("https://www.google.com/account/about/", False),
        ("https://support.google.com/websearch/answer/86640", False),
        ("https://play.google.com/store/apps/details?id=x", False),
    ],
)
def test_google_internal_links(url: str, internal: bool) -> None:
    from crawler.engines import google

    assert google._is_google_internal(url) is internal


def test_google_mobile_heading_titles() -> None:
    """Mobile result pages title their results with an ARIA heading inside the
    link (no h3); carousel cards, buttons and section headings are not results."""
    body = b"""<html><body class="srp"><div id="rso">
    <div class="mnr-c xpd"><a class="C8nzq BmP5tf" href="https://nep-helpdesk.example/">
      <div role="heading"><div>Microsoft Helpdesk 085 208 1234</div></div>
      <div class="TbwUpd">nep-helpdesk.example</div></a>
      <div class="MUxGbd yDYNvb">Bel 085 208 1234 voor hulp.</div></div>
    <div class="mnr-c"><g-scrolling-carousel><g-inner-card>
      <a href="https://nieuws.example/a"><div role="heading" aria-level="3">Nieuws</div></a>
    </g-inner-card></g-scrolling-carousel></div>
    <div class="mnr-c"><a role="button" href="https://play.google.com/store/apps/details?id=x">
      <span role="heading" aria-level="3">App</span></a></div>
    <div class="mnr-c"><a href="https://example.org/">
      <div role="heading" aria-level="2">Sectie</div></a></div>
    </div></body></html>"""
    page = get_engine("google").parse(body, "https://www.google.nl/search?q=x&gl=nl")
    assert [(r.title, r.landing_url) for r in organic(page)] == [
        ("Microsoft Helpdesk 085 208 1234", "https://nep-helpdesk.example/")
    ]
    assert organic(page)[0].snippet == "Bel 085 208 1234 voor hulp."
    assert organic(page)[0].phones == ["+31852081234"]


# Phones -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "phones"),
    [
        ("Bel ons: 020 123 4567 24/7", "NL", ["+31201234567"]),
        ("Tel. 088-1234567. Open 24/7", "NL", ["+31881234567"]),
        ("Bel 0900-1234567 of +31 20 500 1005", "NL", ["+319001234567", "+31205001005"]),
        ("Bel 0900-1234567 of 0900 123 4567", "NL", ["+319001234567"]),
        # The page extractor reads a US toll-free number in brackets (NANP) on any
        # page; result snippets now read alike (REVIEW D6).
        ("call (800) 555-0199", "NL", ["+18005550199"]),
        ("Opgericht in 2015, 1234 klanten", "NL", []),
        ("Call +44 20 3808 1234 now", "NL", ["+442038081234"]),
        ("Bel 020 123 4567 085 208 1234 nu", "NL", ["+31201234567", "+31852081234"]),
        ("datum 12-03-2024 10.00-17.00 uur", "NL", []),
    ],
)
def test_find_phones(text: str, region: str, phones: list[str]) -> None:
    assert find_phones(text, region) == phones
    # One way to find phones: the page extractor on the same words agrees.
    page = f"<html><body><p>{html.escape(text)}</p></body></html>"
    assert [h.phone for h in extract_phones(page, region=region)] == phones


@pytest.mark.parametrize("text", ["0 " * 50_000, "020 123 4567 " * 5_000, "+31 " * 30_000])
def test_find_phones_is_bounded_on_hostile_text(text: str) -> None:
    started = time.perf_counter()
    find_phones(text, "NL")
    assert time.perf_counter() - started < 10.0  # a bound against blow-ups, not a speed check


def test_find_phones_reads_tel_links() -> None:
    assert find_phones("Bel nu", "NL", ["tel:+319001234567", "tel:not-a-number"]) == [
        "+319001234567"
    ]


def test_region_from_url() -> None:
    assert region_from_url("https://x/search?q=a&cc=BE", "cc") == "BE"
    assert region_from_url("https://x/search?q=a&setmkt=nl-NL", "cc", "setmkt") == "NL"
    assert region_from_url("https://x/search?q=a&kl=wt-wt", "kl") == "NL"  # no region: default


def test_region_changes_what_a_national_number_means() -> None:
    body = (FIXTURES / "bing" / "organic-page2" / "page.html").read_bytes()
    url = "https://www.bing.com/search?q=x&cc=BE"
    as_nl = get_engine("bing").parse(body, url, region="NL").results[0].phones
    as_be = get_engine("bing").parse(body, url).results[0].phones
    assert as_nl == ["+31852089999", "+31107420011"]
    assert as_be != as_nl


# Request builders ---------------------------------------------------------------


def _params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_build_request_honours_base_url_and_query(kind: str) -> None:
    engine = ENGINES[kind]
    request = engine.build_request(
        "microsoft helpdesk", language="nl", region="NL", base_url="http://127.0.0.1:8470/search"
    )
    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:8470", "/search")
    assert "microsoft helpdesk" in _params(request.url).values()
    assert request.method == "GET"
    assert request.headers["User-Agent"].startswith("Mozilla/5.0")
    assert request.headers["Accept-Language"].startswith("nl-NL")


@pytest.mark.parametrize(
    ("kind", "param", "page1", "page3"),
    [
        ("bing", "first", None, "21"),
        ("google", "start", None, "20"),
        ("duckduckgo", "s", None, "60"),
        ("searxng", "pageno", "1", "3"),
        ("brave", "offset", "0", "2"),
    ],
)
def test_build_request_pages(kind: str, param: str, page1: str | None, page3: str) -> None:
    engine = ENGINES[kind]
    assert _params(engine.build_request("q", page=1).url).get(param) == page1
    assert _params(engine.build_request("q", page=3).url).get(param) == page3


def test_build_request_markets() -> None:
    assert _params(get_engine("bing").build_request("q", region="BE").url)["cc"] == "BE"
    assert _params(get_engine("google").build_request("q", language="de").url)["hl"] == "de"
    assert (
        _params(get_engine("duckduckgo").build_request("q", language="fr", region="BE").url)["kl"]
        == "be-fr"
    )
    assert _params(get_engine("searxng").build_request("q").url)["format"] == "json"


def test_brave_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    brave = get_engine("brave")
    monkeypatch.delenv("BRAVE_API_KEY", raising=False)
    assert "X-Subscription-Token" not in brave.build_request("q").headers
    monkeypatch.setenv("BRAVE_API_KEY", "test-key-123")
    request = brave.build_request("q")
    assert request.headers["X-Subscription-Token"] == "test-key-123"
    assert request.url.startswith("https://api.search.brave.com/res/v1/web/search?")


def test_default_endpoints() -> None:
    assert get_engine("bing").build_request("q").url.startswith("https://www.bing.com/search?")
    assert get_engine("google").build_request("q").url.startswith("https://www.google.com/search?")
    assert (
        get_engine("duckduckgo")
        .build_request("q")
        .url.startswith("https://html.duckduckgo.com/html/?")
    )


def test_get_engine_names_known_kinds() -> None:
    with pytest.raises(KeyError, match="bing"):
        get_engine("altavista")


# Behaviour beyond the fixtures ----------------------------------------------------


@pytest.mark.parametrize("kind", sorted(ENGINES))
@pytest.mark.parametrize("status", [403, 429])
def test_block_status_without_results_is_blocked(kind: str, status: int) -> None:
    page = ENGINES[kind].parse(
        b"<html><body>Service unavailable</body></html>", "https://e.example/s?q=x", status
    )
    assert page.results == [] and page.blocked


@pytest.mark.parametrize("kind", sorted(ENGINES))
@pytest.mark.parametrize("status", [404, 410, 500, 503])
@pytest.mark.parametrize("body", [b"<html><body>Not here</body></html>", b"{}"])
def test_other_error_status_without_results_is_not_a_block(
    kind: str, status: int, body: bytes
) -> None:
    """A wrong URL's 404 or a server's 5xx is a failed request (the spider records
    it with its status), not the engine refusing us."""
    page = ENGINES[kind].parse(body, "https://e.example/s?q=x", status)
    assert page.results == [] and not page.blocked and not page.no_results


@pytest.mark.parametrize("kind", sorted(ENGINES))
@pytest.mark.parametrize(
    "body", [b"<html><body><p>Hello</p></body></html>", b'{"hello": "world"}', b"{}"]
)
def test_unrecognised_page_is_not_silently_empty(kind: str, body: bytes) -> None:
    page = ENGINES[kind].parse(body, "https://e.example/s?q=x")
    assert page.results == [] and not page.no_results
    assert page.blocked or (page.unrecognised and "marker" in page.unrecognised)


def test_captcha_words_in_a_snippet_do_not_block_a_page() -> None:
    body = (FIXTURES / "bing" / "organic-page2" / "page.html").read_bytes()
    body = body.replace(
        b"Hulp bij Hotmail", b"Our systems have detected unusual traffic; g-recaptcha"
    )
    page = get_engine("bing").parse(body, "https://www.bing.com/search?q=x")
    assert page.blocked is None and len(page.results) == 3


def test_rank_offset_overrides_the_url() -> None:
    body = (FIXTURES / "bing" / "organic-page2" / "page.html").read_bytes()
    page = get_engine("bing").parse(body, "https://www.bing.com/search?q=x&first=11", rank_offset=7)
    assert [r.rank for r in page.results] == [8, 9, 10]


def test_serp_result_dict_keys_follow_design() -> None:
    result = SerpResult(is_ad=True, title="t", url="u", landing_url="l", ad_position=1)
    assert list(result.to_dict()) == [
        "rank",
        "ad_position",
        "is_ad",
        "title",
        "url",
        "landing_url",
        "display_url",
        "snippet",
        "phones",
        # 0.2 (issue 16): result kinds, the click string and the advertiser
        "kind",
        "position",
        "click_url",
        "landing_from",
        "advertiser_name",
        "advertiser_location",
        "advertiser_url",
        "address",
    ]
    assert ads(SerpPage(results=[result], engine="bing")) == [result]


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_engine_modules_expose_the_interface(kind: str) -> None:
    module = ENGINES[kind]
    assert isinstance(module, Engine)
    assert module.KIND == kind
    assert urlsplit(module.ENDPOINT).scheme in ("http", "https")
    assert isinstance(module.PAGE_SIZE, int) and module.PAGE_SIZE > 0
    for name in ("build_request", "parse"):
        wanted = list(inspect.signature(getattr(Engine, name)).parameters.values())[1:]
        got = list(inspect.signature(getattr(module, name)).parameters.values())
        assert [(p.name, p.kind) for p in got] == [(p.name, p.kind) for p in wanted], name


# Never silent (issue 16) ---------------------------------------------------------


def _cases_where(key: str) -> list[Path]:
    return [c for c in CASES if _expected(c)[key]]


@pytest.mark.parametrize(
    "case", _cases_where("unrecognised"), ids=[case_id(c) for c in _cases_where("unrecognised")]
)
def test_serp_parse_exits_3_on_an_unrecognised_page(case: Path) -> None:
    from click.testing import CliRunner

    from crawler.cli import main

    _, url, _ = serp_input(case)
    page = page_file(case)
    result = CliRunner().invoke(
        main, ["serp", "parse", "--engine", case.parent.name, "--url", url, str(page)]
    )
    assert result.exit_code == 3, result.output
    assert "unrecognised" in result.output and "marker" in result.output
    assert "0 results" not in result.output and not result.stdout.strip()


@pytest.mark.parametrize(
    "case", _cases_where("no_results"), ids=[case_id(c) for c in _cases_where("no_results")]
)
def test_serp_parse_says_when_the_page_itself_says_no_results(case: Path) -> None:
    from click.testing import CliRunner

    from crawler.cli import main

    _, url, _ = serp_input(case)
    result = CliRunner().invoke(
        main,
        [
            "serp",
            "parse",
            "--engine",
            case.parent.name,
            "--url",
            url,
            str(page_file(case)),
        ],
    )
    assert result.exit_code == 0 and not result.stdout.strip()
    assert "found nothing" in result.stderr


def test_every_new_fixture_says_where_it_comes_from() -> None:
    """Each case of the engines added in issue 16 has meta.json: project-made or its origin."""
    for case in CASES:
        if case.parent.name in {"startpage", "ecosia", "yahoo", "serpapi"} or "unrecognised" in (
            case.name
        ):
            meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
            assert meta["origin"], case_id(case)


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_ads_never_need_a_click_to_know_the_advertiser(kind: str) -> None:
    """Every ad in the fixtures has a landing URL off the click trackers, or says it has none."""
    from crawler.engines.common import is_click_url

    for case in (c for c in CASES if c.parent.name == kind):
        _, url, _ = serp_input(case)
        for r in _expected(case)["results"]:
            if r["is_ad"]:
                assert r["landing_from"] in ("link", "decoded", "display-url"), (case, r)
                assert not is_click_url(r["landing_url"], url), (case, r)
                assert r["click_url"] or r["landing_from"] == "link"


def test_click_decoding_of_every_tracker() -> None:
    from crawler.engines.common import ad_target

    page = "https://www.google.nl/search?q=x"
    hidden = "https://www.googleadservices.com/pagead/aclk?sa=L&ai=X&adurl="
    assert ad_target(hidden, page, "www.scam.example › bellen") == (
        "https://www.scam.example/",
        "display-url",
        hidden,
    )
    cases = {
        "https://www.google.com/aclk?sa=l&adurl=https%3A%2F%2Fa.example%2Fx": "https://a.example/x",
        "https://ad.doubleclick.net/searchads/link/click?lid=1&ds_dest_url=https://b.example/": "https://b.example/",
        "https://www.bing.com/aclick?ld=1&u="
        + base64.b64encode(b"https://c.example/").decode(): "https://c.example/",
        "https://r.search.yahoo.com/cbclk2/x/RV=2/RU=https%3a%2f%2fd.example%2f/RK=0/RS=y": "https://d.example/",
        "https://duckduckgo.com/y.js?ad_provider=x&u3=https%3A%2F%2Fe.example%2F": "https://e.example/",
        "https://track.adform.net/C/?bn=1;cpdir=https%3A%2F%2Ff.example%2F": "https://f.example/",
        "https://clickserve.dartsearch.net/link/click?ds_dest_url=https://g.example/": "https://g.example/",
    }
    for click, landing in cases.items():
        assert ad_target(click, page) == (landing, "decoded", click), click
    assert ad_target("https://h.example/", page) == ("https://h.example/", "link", "")
