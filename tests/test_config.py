from __future__ import annotations

import pytest

from crawler.config import ConfigError, load_brands, load_profile

BRANDS = """
[[brands]]
name = "Microsoft"
keywords = ["microsoft"]
domains = ["microsoft.com"]
phones = ["020 500 1005", "+31 (0)20 500 1006"]
"""

PROFILE = """
name = "t"
brands = "brands.toml"
region = "NL"

[[engines]]
kind = "bing"

[queries]
templates = ["{brand} helpdesk"]
extra = ["windows hulp"]
"""


def write(tmp_path, profile=PROFILE, brands=BRANDS):
    (tmp_path / "brands.toml").write_text(brands)
    (tmp_path / "p.toml").write_text(profile)
    return tmp_path / "p.toml"


def test_profile_loads_and_normalises_official_numbers(tmp_path):
    profile = load_profile(write(tmp_path))
    assert profile.brands[0].phones == ["+31205001005", "+31205001006"]
    assert profile.queries() == [("Microsoft", "Microsoft helpdesk"), (None, "windows hulp")]
    assert profile.official_phones()["+31205001006"] == "Microsoft"


@pytest.mark.parametrize(
    "profile, brands, needle",
    [
        pytest.param(
            PROFILE.replace('kind = "bing"', 'kind = "altavista"'),
            BRANDS,
            "p.toml:7 [engines[0].kind]: unknown engine kind 'altavista'",
            id="engine",
        ),
        pytest.param(
            PROFILE.replace("{brand} helpdesk", "helpdesk"),
            BRANDS,
            "[queries.templates]: template 'helpdesk' has no {brand}",
            id="template",
        ),
        pytest.param(
            PROFILE.replace('region = "NL"', "region = NL"),
            BRANDS,
            "p.toml:4: not valid TOML",
            id="bad-toml",
        ),
        pytest.param(
            PROFILE,
            BRANDS.replace("020 500 1005", "12345"),
            "brands.toml:6 [brands[Microsoft].phones]: '12345' is not a valid phone",
            id="phone",
        ),
        pytest.param(
            PROFILE,
            BRANDS.replace('name = "Microsoft"', 'name = ""'),
            "[brands[0].name]: brand #1 has no name",
            id="brand-name",
        ),
        pytest.param(
            PROFILE.replace("brands.toml", "missing.toml"),
            BRANDS,
            "missing.toml: file not found",
            id="missing-brands",
        ),
    ],
)
def test_bad_config_names_file_line_and_field(tmp_path, profile, brands, needle):
    with pytest.raises(ConfigError) as exc:
        load_profile(write(tmp_path, profile, brands))
    assert needle in str(exc.value)


def test_brands_without_keywords_use_the_name(tmp_path):
    (tmp_path / "b.toml").write_text('[[brands]]\nname = "KPN"\n')
    assert load_brands(tmp_path / "b.toml")[0].keywords == ["kpn"]
