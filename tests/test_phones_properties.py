"""Properties of phone extraction that hold for any input (hypothesis)."""

from __future__ import annotations

import random
import time

import phonenumbers
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawler.phones import extract_phones, normalize_phone

# Generous: a call takes milliseconds; this only catches a blow-up, not a slow CI box.
BOUND = (
    10.0  # catches blow-ups, not speed (bench/extract.py measures speed); a loaded machine took 8 s
)

SEPARATORS = [" ", "-", ".", "/", "(", ")", "\u00a0", "\u200b", "\x1f", "+", ""]
digit_runs = st.lists(
    st.tuples(st.text("0123456789", min_size=1, max_size=12), st.sampled_from(SEPARATORS)),
    min_size=1,
    max_size=40,
).map(lambda parts: "".join(d + s for d, s in parts))
words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
pages = st.lists(st.one_of(digit_runs, words), min_size=1, max_size=30).map(
    lambda parts: "<p>" + " ".join(parts) + "</p>"
)

# Valid numbers of many countries and types, written in each standard format.
REGIONS = ["NL", "BE", "DE", "GB", "US", "FR", "IN", "BR", "AU", "JP"]
TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
]
EXAMPLES = [
    n
    for n in (phonenumbers.example_number_for_type(r, t) for r in REGIONS for t in TYPES)
    if n is not None
]
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(digit_runs, words, st.text(max_size=60)), st.sampled_from(["NL", "BE", "US"]))
@example("+31 (0)20 123 4567", "NL")
@example("0031201234567", "NL")
@example("tel:+1-844-698-3729;phone-context=+1", "US")
def test_normalize_is_idempotent(value, region):
    once = normalize_phone(value, region)
    if once is not None:
        assert once.startswith("+")
        assert normalize_phone(once, region) == once
        assert phonenumbers.is_valid_number(phonenumbers.parse(once))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EXAMPLES), st.sampled_from(FORMATS), st.sampled_from(["NL", "US"]))
def test_normalize_finds_every_valid_international_number(number, fmt, region):
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert normalize_phone(phonenumbers.format_number(number, fmt), region) == e164


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(EXAMPLES), words, words)
def test_international_number_in_any_text_is_found(number, left, right):
    written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    html = f"<p>{_escape(left)}</p><p>Bel {written}</p><p>{_escape(right)}</p>"
    assert e164 in [hit.phone for hit in extract_phones(html)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages, st.sampled_from(["NL", "DE", "US", "IT"]))
def test_random_digit_runs_never_crash_and_are_fast(html, region):
    start = time.perf_counter()
    hits = extract_phones(html, region=region)
    assert time.perf_counter() - start < BOUND
    seen = [hit.phone for hit in hits]
    assert len(seen) == len(set(seen))  # one hit per number
    for hit in hits:
        assert phonenumbers.is_valid_number(phonenumbers.parse(hit.phone))
        assert hit.source in hit.sources


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(["NL", "US"]))
def test_long_pages_of_random_digit_runs_stay_bounded(seed, region):
    # 200 KB of digits, separators and tags: a worst case for candidate finding
    alphabet = "0123456789" * 6 + "  --..//()+" + "\u200b\u00a0"
    rnd = random.Random(seed)
    parts = []
    for _ in range(4_000):
        parts.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 60))))
        parts.append(rnd.choice(["<span>", "</span>", "<p>", " ", "", "<b>", "<br>"]))
    html = "".join(parts)
    start = time.perf_counter()
    extract_phones(html.encode(), region=region)
    assert time.perf_counter() - start < BOUND


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
