"""Fuzzing the code that reads criminals' pages: engine parsers and the phone extractor.

Random bytes, random HTML, and mutations of the project's own saved pages
(tests/fixtures) must never raise and must stay within a time bound. The
bound is generous (CI machines are slow and shared); what it catches is the
pathological case, a page that takes seconds instead of milliseconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.engines import ENGINES
from crawler.engines.base import SerpPage
from crawler.phones import extract_phones

FIXTURES = Path(__file__).parent / "fixtures"
DEMO_SITES = Path(__file__).parents[1] / "crawler" / "demo" / "sites"
SEEDS = sorted(FIXTURES.rglob("*.html")) + sorted(DEMO_SITES.rglob("*.html"))
SECONDS = 5.0  # per call; real pages of these sizes take milliseconds

FUZZ = settings(
    max_examples=30,
    deadline=None,  # timed below, per call, with a bound that suits slow CI
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TAGS = ["div", "span", "a", "p", "li", "ol", "ul", "h2", "cite", "table", "td", "script", "b"]
ATTRS = ["class", "href", "id", "data-u", "aria-label", "title", "itemprop", "content"]
CLASSES = ["b_algo", "b_ad", "b_caption", "result", "g", "yuRUbf", "result__a", "sb_add"]
TOKENS = st.sampled_from(
    ["085 208 1234", "+31 20 500 1005", "+1 844 217 3090", "tel:", "&nbsp;", "&#48;", " ", "-"]
    + ["\u200b", "\uff10\uff18\uff15", "€", "(0)", "Fax:", "KvK 12345678", "NL91ABNA0417164300"]
)
TEXT = st.lists(
    TOKENS | st.text(alphabet="0123456789 +-()./:;&#x%?=abcxyz<>\"'", max_size=8), max_size=8
).map("".join)


@st.composite
def html_fragments(draw, depth=0):
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 5 if depth < 6 else 1))
        if kind <= 1:
            parts.append(draw(TEXT))
        else:
            tag = draw(st.sampled_from(TAGS))
            attrs = "".join(
                f' {draw(st.sampled_from(ATTRS))}="{draw(st.sampled_from(CLASSES) | TEXT)}"'
                for _ in range(draw(st.integers(0, 2)))
            )
            inner = draw(html_fragments(depth=depth + 1))
            close = draw(st.booleans())
            parts.append(f"<{tag}{attrs}>{inner}" + (f"</{tag}>" if close else ""))
    return "".join(parts)


@st.composite
def mutated_seed(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 4))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        size = draw(st.integers(0, 200))
        if op == 0:
            del data[at : at + size]  # cut a piece out, mid-tag perhaps
        elif op == 1:
            data[at:at] = data[at : at + size] * draw(st.integers(1, 20))  # repeat a piece
        elif op == 2:
            data[at:at] = draw(st.binary(max_size=40))  # noise
        elif op == 3:
            data = data[:at]  # truncated download
        else:
            data[at:at] = draw(html_fragments()).encode()
    return bytes(data)


PATHOLOGICAL = {
    "nested-2000": b"<div>" * 2000 + b"085 208 1234" + b"</div>" * 2000,
    "digits-200k": b"<p>" + b"0" * 200_000 + b"</p>",
    "phone-run": b"<p>" + b"085 208 1234 " * 20_000 + b"</p>",
    "long-tel": b'<a href="tel:' + b"1" * 50_000 + b';phone-context=+31">x</a>',
    "tel-context": b'<a href="tel:0852081234;phone-context=' + b"+1" * 10_000 + b'">x</a>',
    "huge-attr": b'<div class="' + b"b_algo " * 50_000 + b'">x</div>',
    "entities": b"<p>" + b"&#48;&#56;&#53;" * 20_000 + b"</p>",
    "unclosed": b"<li><a href='x'>" * 20_000,
    "nul-bytes": b"<p>\x00\x00085\x00208\x001234</p>" * 1000,
    "invalid-utf8": b"<p>\xff\xfe\xfd 085 208 1234 \xc3</p>" * 1000,
    "json-ld": b'<script type="application/ld+json">' + b'{"telephone":"' * 5000 + b"</script>",
}


def _timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS, f"{func.__module__}.{func.__name__} took {elapsed:.1f} s"
    return result


def _parse_all(body: bytes):
    for kind, module in ENGINES.items():
        page = _timed(module.parse, body, f"https://{kind}.example/search?q=x")
        assert isinstance(page, SerpPage)
        for status in (200, 429):
            _timed(module.parse, body, f"https://{kind}.example/search?q=x", status)


def _extract(body: bytes | str):
    hits = _timed(extract_phones, body, region="NL", url="https://scam.example/")
    assert all(h.phone.startswith("+") for h in hits)


@FUZZ
@given(st.binary(max_size=4000))
def test_engine_parsers_survive_random_bytes(body):
    _parse_all(body)


@FUZZ
@given(html_fragments())
def test_engine_parsers_survive_random_html(fragment):
    _parse_all(f'<html><body><ol id="b_results">{fragment}</ol></body></html>'.encode())


@FUZZ
@given(mutated_seed())
def test_engine_parsers_survive_mutated_saved_pages(body):
    _parse_all(body)


@FUZZ
@given(st.binary(max_size=4000) | st.text(max_size=2000))
def test_phone_extractor_survives_random_input(body):
    _extract(body)


@FUZZ
@given(html_fragments())
def test_phone_extractor_survives_random_html(fragment):
    _extract(f"<html><body>{fragment}</body></html>")


@FUZZ
@given(mutated_seed())
def test_phone_extractor_survives_mutated_saved_pages(body):
    _extract(body)


@pytest.mark.parametrize("body", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_pages_stay_within_the_time_bound(body):
    _parse_all(body)
    _extract(body)
