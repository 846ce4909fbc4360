"""The brands registry: official numbers, domains and keywords checked, third parties, and
the shipped profiles/nl.toml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.brands import normalise_domain, normalise_keyword
from crawler.config import ConfigError, load_brands, load_profile, load_third_parties
from crawler.engines import ENGINES

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("microsoft.com", "microsoft.com"),
        ("  Microsoft.COM ", "microsoft.com"),
        ("https://www.microsoft.com/nl-nl/contact", "microsoft.com"),
        ("support.microsoft.com", "microsoft.com"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("brand.blogspot.com", "brand.blogspot.com"),  # a private suffix: the site itself
        ("brand.wordpress.com", "brand.wordpress.com"),  # a site builder the PSL lacks
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("brand.test", "brand.test"),  # unknown suffix: kept as written
    ],
)
def test_domains_are_reduced_to_registrable_domains(value, expected):
    assert normalise_domain(value) == expected


@pytest.mark.parametrize(
    "value, message",
    [
        ("blogspot.com", "shared-hosting suffix"),
        ("github.io", "shared-hosting suffix"),
        ("wordpress.com", "shared-hosting suffix"),
        ("co.uk", "public suffix"),
        ("microsoft", "not a domain name"),
        ("micro soft.com", "not a domain name"),
        ("127.0.0.1", "IP address"),
        ("", "not a domain name"),
    ],
)
def test_bad_domains_are_refused(value, message):
    with pytest.raises(ValueError, match=message):
        normalise_domain(value)


def test_keywords():
    assert normalise_keyword("  ABN   Amro ") == "abn amro"
    for bad in ("x", " ", "12"):
        with pytest.raises(ValueError):
            normalise_keyword(bad)


BRANDS = """\
[[brands]]
name = "Microsoft"
keywords = ["Microsoft", "windows", "microsoft"]
domains = ["www.microsoft.com", "microsoft.com", "https://outlook.com/"]
phones = ["020 700 1000", "+31 (0)20 700 1000"]
source = "fixture"
"""


def write(tmp_path, text):
    path = tmp_path / "brands.toml"
    path.write_text(text)
    return path


def test_brands_are_normalised_and_deduplicated(tmp_path):
    (ms,) = load_brands(write(tmp_path, BRANDS))
    assert ms.keywords == ["microsoft", "windows"]
    assert ms.domains == ["microsoft.com", "outlook.com"]
    assert ms.phones[0] == "+31207001000"


@pytest.mark.parametrize(
    "old, new, needle",
    [
        (
            '"https://outlook.com/"',
            '"blogspot.com"',
            "brands.toml:4 [brands[Microsoft].domains]: 'blogspot.com' is a shared-hosting",
        ),
        (
            '"https://outlook.com/"',
            '"localhost"',
            "brands.toml:4 [brands[Microsoft].domains]: 'localhost' is not a domain name",
        ),
        (
            '"windows", ',
            '"w", ',
            "brands.toml:3 [brands[Microsoft].keywords]: 'w' is too short",
        ),
        (
            '"020 700 1000"',
            '"020 700"',
            "brands.toml:5 [brands[Microsoft].phones]: '020 700' is not a valid phone",
        ),
        (
            'source = "fixture"\n',
            'source = "fixture"\n[[brands]]\nname = "microsoft"\n',
            "[brands[microsoft]]: brand 'microsoft' is listed twice",
        ),
    ],
)
def test_registry_errors_name_file_brand_and_value(tmp_path, old, new, needle):
    with pytest.raises(ConfigError) as exc:
        load_brands(write(tmp_path, BRANDS.replace(old, new)))
    assert needle in str(exc.value)


def test_third_parties(tmp_path):
    text = BRANDS + (
        '\n[[third_parties]]\nname = "Fraudehelpdesk"\nkind = "fraud help desk"\n'
        'domains = ["https://www.fraudehelpdesk.nl/"]\nphones = ["088 786 73 72"]\n'
    )
    (tp,) = load_third_parties(write(tmp_path, text))
    assert (tp.name, tp.kind, tp.domains, tp.phones) == (
        "Fraudehelpdesk",
        "fraud help desk",
        ["fraudehelpdesk.nl"],
        ["+31887867372"],
    )
    with pytest.raises(ConfigError, match=r"\[third_parties\[Fraudehelpdesk\].phones\]"):
        load_third_parties(write(tmp_path, text.replace("088 786 73 72", "088")))
    assert load_third_parties(write(tmp_path, BRANDS)) == []


# ---------------------------------------------------------------------------
# profiles/nl.toml


@pytest.fixture(scope="module")
def nl():
    return load_profile(ROOT / "profiles" / "nl.toml")


def test_nl_profile_has_the_most_abused_brands(nl):
    names = {b.name for b in nl.brands}
    wanted = {"Microsoft", "Apple", "HP", "Norton", "McAfee", "KPN", "Ziggo", "ING"}
    wanted |= {"Rabobank", "ABN AMRO"}
    assert wanted <= names
    for b in nl.brands:
        assert b.domains and b.keywords, b.name


def test_nl_profile_queries_in_dutch_and_english(nl):
    texts = [t for t in nl.templates]
    assert any("klantenservice" in t for t in texts)
    assert any("customer service" in t or "phone number" in t for t in texts)
    assert all("{brand}" in t for t in texts)
    assert {e.kind for e in nl.engines} <= set(ENGINES)


def test_nl_official_numbers_only_with_a_source(nl):
    text = (ROOT / "profiles" / "brands-nl.toml").read_text()
    for b in nl.brands:
        if b.phones:
            assert b.source.startswith("https://"), b.name
        else:
            # an empty list carries a note telling maintainers how to fill it in
            block = text.split(f'name = "{b.name}"', 1)[1].split("[[", 1)[0]
            assert re.search(r"phones = \[\]\s+#", block), b.name
    for tp in nl.third_parties:
        if tp.phones:
            assert tp.source, tp.name


def test_nl_official_numbers_are_never_flagged_in_any_format(nl):
    from crawler.items import PageItem
    from crawler.phones import extract_phones
    from pipelines.score import score_page

    html = (
        "<html><head><title>ABN AMRO Klantenservice Bellen</title></head><body>"
        "<p>Bel 0900-8170 of vanuit het buitenland +31 (0)10 241 17 23.</p>"
        "<p>Of onze helpdesk: 085 888 7000</p></body></html>"
    )
    url = "http://abnamro-klantenservice-bellen.nl/"
    item = PageItem(
        url=url,
        entry_url=url,
        status=200,
        html=html,
        engine="bing",
        query="q",
        brand="ABN AMRO",
        is_ad=True,
        serp_url="",
    )
    item.hits = extract_phones(html, region="NL", url=url)
    score_page(item, nl)
    verdicts = {v.phone: v.as_dict() for v in item.verdicts}
    assert set(verdicts) == {"+319008170", "+31102411723", "+31858887000"}
    assert verdicts["+31858887000"]["flagged"] and verdicts["+31858887000"]["risk"] == "high"
    for phone in ("+319008170", "+31102411723"):
        assert not verdicts[phone]["flagged"]
        assert verdicts[phone]["official_for"] == "ABN AMRO"
