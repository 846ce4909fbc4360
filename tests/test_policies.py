"""Each shared policy has one home; the places that apply it agree, case by case."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler import config, settings
from crawler.engines import ENGINES
from crawler.evidence import is_executable
from crawler.net.headers import CHROME_UA
from crawler.net.limits import download_kind
from crawler.risk import RISK_LEVELS, RISK_ORDER

# (url, headers, first bytes, is it a download that is never stored)
DOWNLOADS = [
    ("http://x.nl/get", {"Content-Type": "application/x-msdownload"}, b"", True),
    ("http://x.nl/AnyDesk.exe", {"Content-Type": "text/html"}, b"", True),
    ("http://x.nl/tool.exe.zip", {}, b"", True),
    ("http://x.nl/app.exe.html", {"Content-Type": "text/html"}, b"<html>", False),
    ("http://x.nl/get", {"Content-Disposition": "attachment; filename=a.bin"}, b"", True),
    ("http://x.nl/get", {"Content-Type": "text/html"}, b"MZ\x90\x00", True),
    ("http://x.nl/get", {"Content-Type": "application/octet-stream"}, b"", True),
    ("http://x.nl/script.js", {"Content-Type": "application/javascript"}, b"var", False),
    ("http://x.nl/", {"Content-Type": "text/html"}, b"<!doctype html>", False),
]


@pytest.mark.parametrize("url, headers, head, blocked", DOWNLOADS)
def test_downloader_and_evidence_judge_downloads_alike(url, headers, head, blocked) -> None:
    assert (download_kind(url, headers, head) is not None) is blocked
    assert (is_executable(url, headers, head) is not None) is blocked


def test_a_gzip_file_inside_a_gzip_transfer_is_still_a_file() -> None:
    # Evidence sees the decoded payload: its own gzip signature is a gzip file.
    headers = {"Content-Type": "text/plain", "Content-Encoding": "gzip"}
    assert is_executable("http://x.nl/f", headers, b"\x1f\x8b\x08rest")
    assert download_kind("http://x.nl/f", headers, b"\x1f\x8b\x08rest") is None


def test_one_browser_identity() -> None:
    assert settings.USER_AGENT == CHROME_UA


def test_profiles_accept_exactly_the_engines_that_exist(tmp_path) -> None:
    (tmp_path / "b.toml").write_text('[[brands]]\nname = "Xyz"\nkeywords = ["xyz"]\n')
    for kind in [*ENGINES, "altavista"]:
        (tmp_path / "p.toml").write_text(
            f'name = "p"\nbrands = "b.toml"\n[[engines]]\nkind = "{kind}"\n'
            '[queries]\ntemplates = ["{brand} helpdesk"]\n'
        )
        if kind in ENGINES:
            assert config.load_profile(tmp_path / "p.toml").engines[0].kind == kind
        else:
            with pytest.raises(config.ConfigError, match="unknown engine kind"):
                config.load_profile(tmp_path / "p.toml")


def test_risk_levels_are_ordered_low_to_high() -> None:
    assert [RISK_ORDER[level] for level in RISK_LEVELS] == [1, 2, 3]


@pytest.mark.parametrize(
    "html, deep",
    [
        ("<div>" * 2_000 + "x", True),
        ("<div>x</div>" * 20_000, False),
        ("<p>" * 20_000 + "x", False),  # each <p> closes the one before
        ("<ul>" + "<li>x" * 20_000 + "</ul>", False),
    ],
    ids=["unclosed-divs", "flat-divs", "implied-p-ends", "implied-li-ends"],
)
def test_one_nesting_rule_for_the_downloader_and_the_extractor(html, deep) -> None:
    from crawler import phones
    from crawler.net.limits import MAX_NESTING, too_deep

    assert too_deep(html) is deep
    assert settings.SERPWATCH_MAX_NESTING == MAX_NESTING
    assert phones.too_deep is too_deep


@pytest.mark.parametrize(
    "host, domain, inside",
    [
        ("bing.com", "bing.com", True),
        ("www.bing.com", "bing.com", True),
        ("a.b.bing.com", "bing.com", True),
        ("notbing.com", "bing.com", False),
        ("bing.com.evil.nl", "bing.com", False),
        ("bing.com", "www.bing.com", False),
        ("printer.local", "local", True),
        ("local", "local", True),
        ("mylocal", "local", False),
    ],
)
def test_one_rule_for_a_host_inside_a_domain(host, domain, inside) -> None:
    from crawler.domains import domain_matches, within
    from crawler.engines import common
    from crawler.net import netguard

    assert within(host, domain) is inside
    assert domain_matches(host, [domain]) is inside
    assert common.within is within and netguard.within is within


# D9: where a key, a table or a value is in a TOML text (crawler.tomllines), for
# the loaders' file:line:field messages (crawler.config, exports/recipients.py).
TOML = """# brands
[[brands]]
name = "A"

[[brands]]
name = "B"
  phones = ["1"]

[alerts]   # where alerts go
urls = ["mailto://x"]

min_risk = "high"

["search-engine"]
columns = ["phone"]
[ operator ]
"""

TOML_LINES = [
    ({"key": "name"}, 3),
    # A blank line before a key is not its line (the old rule said 5).
    ({"key": "name", "occurrence": 1}, 6),
    ({"key": "name", "occurrence": 2}, None),
    ({"key": "phones", "after": 6}, 7),
    ({"key": "phones", "after": 8}, None),
    ({"key": "urls"}, 10),
    ({"table": "alerts"}, 9),
    ({"key": "urls", "table": "alerts"}, 10),
    ({"key": "min_risk", "table": "alerts"}, 12),
    # Not in the table: the header stands in, never a line of the next table.
    ({"key": "columns", "table": "alerts"}, 9),
    ({"table": "search-engine"}, 14),
    ({"table": "operator"}, 16),
    ({"table": "nosuch"}, None),
    ({"key": "urls", "table": "nosuch"}, None),
    ({"value": '"mailto://x"'}, 10),
    ({"value": "phone", "table": "search-engine"}, 15),
    ({"value": "zzz"}, None),
]


@pytest.mark.parametrize("where, line", TOML_LINES)
def test_one_rule_for_a_line_in_a_toml_text(where, line) -> None:
    from crawler.tomllines import line_of

    assert line_of(TOML, **where) == line


def test_the_loaders_name_the_line_through_that_rule(tmp_path) -> None:
    from crawler.exports.recipients import load_presets

    presets = tmp_path / "presets.toml"
    presets.write_text('# mine\n\n\n["search-engine"]\ncolumns = ["phone"]\nsource = "x"\n')
    with pytest.raises(config.ConfigError) as err:
        load_presets(presets)
    assert err.value.line == 4 and err.value.field == "search-engine.source"


DEMO_PROFILE = Path(__file__).parents[1] / "crawler" / "demo" / "profile.toml"

# D10: which brand a text is about (crawler.brands.brand_in), one rule for a
# page (scoring's infer_brand) and for a query text (queries try / suggest).
BRANDS = [
    config.Brand("Microsoft", keywords=["microsoft", "windows", "outlook"]),
    config.Brand("ABN AMRO", keywords=["abnamro"]),
    config.Brand("ING", keywords=["ing"]),
    config.Brand("HP", keywords=["hp"]),
]

BRAND_TEXTS = [
    ("Microsoft helpdesk bellen", False, "Microsoft"),
    ("WINDOWS storing", False, "Microsoft"),
    ("ING klantenservice", False, "ING"),
    ("bellingen en regelingen", False, None),  # inside a word is no hit
    ("hp-printer storing", False, "HP"),
    ("hpprinter storing", False, None),
    ("ABN AMRO bellen", False, None),  # the name is not a keyword ...
    ("ABN AMRO bellen", True, "ABN AMRO"),  # ... but counts for a query text
    ("abnamro of ING", False, "ABN AMRO"),  # a tie: the first listed
    ("ING of windows", False, "Microsoft"),
    ("HP outlook, HP printer, HP support", False, "HP"),  # most hits, not first listed
    ("", True, None),
]


@pytest.mark.parametrize("text, names, brand", BRAND_TEXTS)
def test_one_rule_for_the_brand_a_text_is_about(text, names, brand) -> None:
    from crawler.brands import brand_in

    found = brand_in(text, BRANDS, names=names)
    assert (found.name if found else None) == brand


def test_pages_and_queries_use_that_rule() -> None:
    from crawler.queries import one_query_profile
    from crawler.scoring import infer_brand

    # A page: its domain's words count, its title twice.
    assert infer_brand("Printer hulp", "", "hp-hulp.nl", BRANDS).name == "HP"
    assert infer_brand("Outlook", "ING ING", "x.nl", BRANDS).name == "Microsoft"
    assert infer_brand("Hulp", "niets", "x.nl", BRANDS) is None
    profile = config.load_profile(config.Path(__file__).parents[1] / "crawler/demo/profile.toml")
    assert one_query_profile(profile, "outlook helpdesk").one_query == (
        "Microsoft",
        "outlook helpdesk",
    )
    assert one_query_profile(profile, "printer helpdesk").one_query == (None, "printer helpdesk")
