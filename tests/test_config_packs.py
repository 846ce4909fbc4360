"""Language packs (`templates = { include = ... }`), per-number provenance in `phones`,
the `[suggest]` table, the bundled packs and the Belgian profile; related-search parsing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crawler.config import PACKS_DIR, ConfigError, load_brands, load_pack, load_profile
from crawler.engines import bing, google, related, searxng
from crawler.engines.common import html_tree

ROOT = Path(__file__).parents[1]


def write(tmp_path, profile: str, brands: str = '[[brands]]\nname = "Acme"\n') -> Path:
    (tmp_path / "b.toml").write_text(brands)
    (tmp_path / "p.toml").write_text(
        'name = "t"\nbrands = "b.toml"\n[[engines]]\nkind = "bing"\n' + profile
    )
    return tmp_path / "p.toml"


@pytest.mark.parametrize("lang", ["nl", "en", "de", "fr"])
def test_bundled_packs_load_and_are_included_by_name(tmp_path, lang):
    pack = load_pack(PACKS_DIR / f"{lang}.toml")
    assert pack.language == lang and len(pack.templates) >= 6 and pack.helpdesk_words
    profile = load_profile(
        write(tmp_path, f'[queries]\ntemplates = {{ include = "templates/{lang}.toml" }}\n')
    )
    assert profile.templates == pack.templates
    assert profile.queries()[0] == ("Acme", pack.templates[0].replace("{brand}", "Acme"))


def test_includes_mix_with_strings_and_a_pack_beside_the_profile_wins(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "nl.toml").write_text(
        'language = "nl"\ntemplates = ["{brand} eigen", "{brand} hulp"]\n'
    )
    profile = load_profile(
        write(
            tmp_path,
            '[queries]\ntemplates = ["{brand} hulp", { include = ["templates/nl.toml",'
            ' "templates/fr.toml"] }]\n',
        )
    )
    assert profile.templates[:2] == ["{brand} hulp", "{brand} eigen"]  # no duplicates
    assert [p.language for p in profile.packs] == ["nl", "fr"]
    assert profile.packs[0].path == (tmp_path / "templates" / "nl.toml").resolve()


@pytest.mark.parametrize(
    "templates, pack, needles",
    [
        ('{ include = "nope.toml" }', None, ["p.toml", "included file", "not found"]),
        ('{ file = "x.toml" }', None, ["p.toml", "[queries.templates]", "include"]),
        ('[{ include = "x.toml" }, 3]', 'language = "nl"\ntemplates = ["{brand} x"]\n', ["must"]),
        ('{ include = "x.toml" }', 'templates = ["{brand} x"]\n', ["x.toml", "[language]"]),
        ('{ include = "x.toml" }', 'language = "nl"\ntemplates = ["no brand"]\n', ["{brand}"]),
        (
            '{ include = "x.toml" }',
            'language = "nl"\ntemplates = [\n',
            ["x.toml", "not valid TOML"],
        ),
    ],
)
def test_bad_includes_name_the_file_and_field(tmp_path, templates, pack, needles):
    if pack is not None:
        (tmp_path / "x.toml").write_text(pack)
    path = write(tmp_path, f"[queries]\ntemplates = {templates}\n")
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    for needle in needles:
        assert needle in str(err.value)


def test_phone_entries_may_be_tables_with_provenance(tmp_path):
    (tmp_path / "b.toml").write_text(
        '[[brands]]\nname = "Acme"\nphones = [\n  "020 500 1005",\n'
        '  { number = "020 500 1006", source = "https://acme.example/c", checked = 2026-11-30,'
        ' note = "business" },\n]\nsource = ["https://acme.example/a", "acme: by phone"]\n'
    )
    (acme,) = load_brands(tmp_path / "b.toml")
    assert acme.phones == ["+31205001005", "+31205001006"]
    second = acme.official[1]
    assert (second.source, second.checked, second.note) == (
        "https://acme.example/c",
        dt.date(2026, 11, 30),
        "business",
    )
    assert acme.source == "https://acme.example/a"
    # the pages brands check fetches: the brand's web pages, then the numbers' own
    assert acme.pages() == ["https://acme.example/a", "https://acme.example/c"]


@pytest.mark.parametrize(
    "entry, field, message",
    [
        ('{ number = "020 500 1006", when = 1 }', "phones[0]", "unknown key 'when'"),
        ('{ note = "x" }', "phones[0]", "needs `number`"),
        ('{ number = "020 500 1006", checked = 2999-01-01 }', "phones[0].checked", "future"),
        ('{ number = "020 500 1006", source = 3 }', "phones[0].source", "must be a string"),
        ('{ number = "12" }', "phones]", "not a valid phone number"),
    ],
)
def test_bad_phone_tables_name_file_line_and_field(tmp_path, entry, field, message):
    (tmp_path / "b.toml").write_text(f'[[brands]]\nname = "Acme"\nphones = [{entry}]\n')
    with pytest.raises(ConfigError) as err:
        load_brands(tmp_path / "b.toml")
    text = str(err.value)
    assert f"b.toml:3 [brands[Acme].{field}" in text and message in text


def test_suggest_table_is_validated(tmp_path):
    ok = load_profile(
        write(
            tmp_path,
            '[queries]\nextra = ["x"]\n[suggest]\nengines = ["bing"]\ndelay = 0\n'
            'urls = { bing = "http://127.0.0.1:1/osjson.aspx" }\n',
        )
    )
    assert ok.suggest.engines == ["bing"] and ok.suggest.delay == 0.0
    for bad, needle in (
        ('engines = ["yahoo"]', "no autocomplete endpoint for 'yahoo'"),
        ('urls = { bing = "ftp://x" }', "[suggest.urls.bing]"),
        ("delay = -1", "[suggest.delay]"),
        ("colour = 1", "unknown key 'colour'"),
    ):
        path = write(tmp_path, f'[queries]\nextra = ["x"]\n[suggest]\n{bad}\n')
        with pytest.raises(ConfigError, match=None) as err:
            load_profile(path)
        assert needle in str(err.value)


def test_the_belgian_profile_loads_in_dutch_and_french():
    profile = load_profile(ROOT / "profiles" / "be.toml")
    assert profile.region == "BE" and [p.language for p in profile.packs] == ["nl", "fr"]
    names = {b.name for b in profile.brands}
    assert {"Proximus", "KBC", "Belfius", "bpost", "itsme", "Microsoft"} <= names
    # No number is invented: official numbers are empty until checked (TODO in the file).
    assert all(not b.phones for b in profile.brands)
    text = (ROOT / "profiles" / "brands-be.toml").read_text()
    assert text.count("TODO") >= 15
    queries = [q for _, q in profile.queries()]
    assert "Proximus klantenservice bellen" in queries
    assert "Proximus service client téléphone" in queries


BING_RELATED = (
    '<html><body><ol id="b_results"><li class="b_algo"><h2><a href="https://a.example/">A</a>'
    '</h2></li><li class="b_ans"><div class="b_rs"><h2>Gerelateerde zoekopdrachten</h2><ul>'
    '<li><a href="/search?q=kpn+storing+vandaag&amp;FORM=QSRE1"><strong>kpn</strong>'
    " storing vandaag</a></li></ul></div></li></ol>"
    '<div data-tag="RelatedQnA.Item" data-query="Hoe bel ik KPN gratis?"></div></body></html>'
)


def test_related_searches_are_parsed_from_result_pages():
    page = bing.parse(BING_RELATED.encode(), "https://www.bing.com/search?q=kpn+storing")
    assert page.related == [
        ("people_also_ask", "Hoe bel ik KPN gratis?"),
        ("related", "kpn storing vandaag"),
    ]
    assert "related" not in page.to_dict()  # golden fixtures hold results only
    nojs = (
        "<html><body><div id='main'><div><span><div>Gerelateerde zoekopdrachten</div></span>"
        "<a href='/search?q=ing+klantenservice+bellen&amp;sa=X'>x</a></div>"
        "<div class='related-question-pair' data-q='Is ING 24 uur bereikbaar?'></div>"
        "</div></body></html>"
    )
    g = google.parse(nojs.encode(), "https://www.google.com/search?q=ing")
    assert g.related == [
        ("people_also_ask", "Is ING 24 uur bereikbaar?"),
        ("related", "ing klantenservice bellen"),
    ]
    s = searxng.parse(
        b'{"results": [], "suggestions": ["acme hulp", 3, "acme hulp"]}',
        "http://127.0.0.1:8888/search?q=acme&format=json",
    )
    assert s.related == [("suggestion", "acme hulp")]
    flood = "".join(f"<a href='/search?q=x{i}'>x</a>" for i in range(999))
    assert len(related.bing(html_tree(f"<div class=b_rs>{flood}</div>"))) == related.MAX_TEXTS
