"""Malformed profile or brands files: one clear line (file, line, field), exit 2, nothing written.

Through the CLI (`serpwatch crawl`), in process with click's runner, and once
in a real subprocess for the exit status and the absence of a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.cli import main

PROFILE = """\
name = "t"
brands = "brands.toml"
region = "NL"
follow_ads = true

[[engines]]
kind = "bing"

[queries]
templates = ["{brand} helpdesk"]
extra = ["windows hulp"]
"""

BRANDS = """\
[[brands]]
name = "Microsoft"
keywords = ["microsoft"]
domains = ["microsoft.com"]
phones = ["020 500 1005"]
"""

# id → (profile text, brands text, [substrings of the one error line])
CASES = {
    "bad-toml-profile": (
        PROFILE.replace('region = "NL"', "region = NL"),
        BRANDS,
        ["p.toml:3:", "not valid TOML"],
    ),
    "bad-toml-brands": (
        PROFILE,
        BRANDS.replace('keywords = ["microsoft"]', "keywords = [microsoft]"),
        ["brands.toml:3:", "not valid TOML"],
    ),
    "missing-brand-name": (
        PROFILE,
        BRANDS.replace('name = "Microsoft"', 'name = ""'),
        ["brands.toml:2", "[brands[0].name]", "no name"],
    ),
    "brand-without-name-key": (
        PROFILE,
        BRANDS.replace('name = "Microsoft"\n', ""),
        ["brands.toml", "[brands[0].name]"],
    ),
    "invalid-phone": (
        PROFILE,
        BRANDS.replace("020 500 1005", "12345"),
        ["brands.toml:5", "[brands[Microsoft].phones]", "'12345'"],
    ),
    "phones-not-a-list-of-strings": (
        PROFILE,
        BRANDS.replace('phones = ["020 500 1005"]', "phones = [205001005]"),
        ["brands.toml", "[brands[Microsoft].phones]", "list of strings"],
    ),
    "no-brands-table": (PROFILE, 'name = "Microsoft"\n', ["brands.toml", "[brands]"]),
    "unknown-engine-kind": (
        PROFILE.replace('kind = "bing"', 'kind = "altavista"'),
        BRANDS,
        ["p.toml:7", "[engines[0].kind]", "altavista"],
    ),
    "engine-not-a-table": (
        PROFILE.replace('[[engines]]\nkind = "bing"', 'engines = ["bing"]'),
        BRANDS,
        ["p.toml", "[engines[0].kind]"],
    ),
    "no-engines": (
        PROFILE.replace('[[engines]]\nkind = "bing"\n', ""),
        BRANDS,
        ["p.toml", "[engines]"],
    ),
    "engine-url-not-http": (
        PROFILE.replace('kind = "bing"', 'kind = "bing"\nurl = "file:///etc/passwd"'),
        BRANDS,
        ["p.toml:8", "[engines[0].url]", "http(s) URL"],
    ),
    "engine-url-without-host": (
        PROFILE.replace('kind = "bing"', 'kind = "bing"\nurl = "http:///search"'),
        BRANDS,
        ["p.toml:8", "[engines[0].url]"],
    ),
    "template-without-brand": (
        PROFILE.replace("{brand} helpdesk", "helpdesk"),
        BRANDS,
        ["p.toml:10", "[queries.templates]", "{brand}"],
    ),
    "templates-not-a-list": (
        PROFILE.replace('templates = ["{brand} helpdesk"]', "templates = 3"),
        BRANDS,
        ["p.toml:10", "[queries.templates]"],
    ),
    "no-queries": (
        PROFILE.split("[queries]")[0],
        BRANDS,
        ["p.toml", "[queries]"],
    ),
    "allow-private-as-string": (
        PROFILE.replace('name = "t"', 'name = "t"\nallow_private = "false"'),
        BRANDS,
        ["p.toml:2", "[allow_private]", "must be bool"],
    ),
    "follow-ads-as-string": (
        PROFILE.replace("follow_ads = true", 'follow_ads = "yes"'),
        BRANDS,
        ["p.toml:4", "[follow_ads]"],
    ),
    "unknown-region": (
        PROFILE.replace('region = "NL"', 'region = "XX"'),
        BRANDS,
        ["p.toml:3", "[region]", "'XX'"],
    ),
    "results-per-query-zero": (
        PROFILE.replace('name = "t"', 'name = "t"\nresults_per_query = 0'),
        BRANDS,
        ["p.toml:2", "[results_per_query]"],
    ),
    "results-per-query-text": (
        PROFILE.replace('name = "t"', 'name = "t"\nresults_per_query = "ten"'),
        BRANDS,
        ["p.toml:2", "[results_per_query]"],
    ),
    "missing-brands-file": (
        PROFILE.replace("brands.toml", "missing.toml"),
        BRANDS,
        ["missing.toml: file not found"],
    ),
    "brands-not-utf8": (PROFILE, b"\xff\xfe[[brands]]\n", ["brands.toml", "cannot read"]),
    "profile-not-utf8": (b"name = \xff\n", BRANDS, ["p.toml", "cannot read"]),
}


def _write(folder: Path, profile, brands) -> Path:
    for name, content in (("p.toml", profile), ("brands.toml", brands)):
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder / "p.toml"


def _crawl(folder: Path, profile_path: Path):
    return CliRunner().invoke(
        main, ["crawl", str(profile_path), "--db", str(folder / "out" / "x.db")]
    )


def _check(result, folder: Path, needles: list[str], before: set[Path]):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert "Traceback" not in result.output
    assert set(folder.rglob("*")) == before, "something was written"


def test_a_good_profile_passes_validation(tmp_path):
    from crawler.config import load_profile

    assert load_profile(_write(tmp_path, PROFILE, BRANDS)).brands[0].phones == ["+31205001005"]


@pytest.mark.parametrize("profile, brands, needles", CASES.values(), ids=CASES.keys())
def test_malformed_config_gives_one_line_and_exit_2(tmp_path, profile, brands, needles):
    path = _write(tmp_path, profile, brands)
    before = set(tmp_path.rglob("*"))
    _check(_crawl(tmp_path, path), tmp_path, needles, before)


def test_brands_file_that_is_a_folder(tmp_path):
    path = _write(tmp_path, PROFILE.replace("brands.toml", "brands.d"), BRANDS)
    (tmp_path / "brands.d").mkdir()
    before = set(tmp_path.rglob("*"))
    _check(_crawl(tmp_path, path), tmp_path, ["brands.d", "cannot read"], before)


def test_missing_profile(tmp_path):
    _check(_crawl(tmp_path, tmp_path / "nope.toml"), tmp_path, ["nope.toml: file not found"], set())


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_profile(tmp_path):
    path = _write(tmp_path, PROFILE, BRANDS)
    path.chmod(0)
    before = set(tmp_path.rglob("*"))
    try:
        _check(_crawl(tmp_path, path), tmp_path, ["p.toml", "cannot read"], before)
    finally:
        path.chmod(0o644)


def test_real_process_exit_status_and_no_traceback(tmp_path):
    path = _write(tmp_path, PROFILE.replace('kind = "bing"', 'kind = "altavista"'), BRANDS)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("serpwatch")), "crawl", str(path), "--db", "x.db"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {path}:7 [engines[0].kind]: unknown engine kind 'altavista';"
        " use one of bing, duckduckgo, google, searxng, brave, startpage, ecosia, yahoo, serpapi"
    ]
    assert not (tmp_path / "x.db").exists()


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"


SCALARS = (
    st.booleans()
    | st.integers(-5, 200)
    | st.sampled_from(["bing", "google", "altavista", "{brand} x", "x", "", "NL", "XX", "ß"])
    | st.sampled_from(["http://127.0.0.1:1/s", "ftp://x", "020 500 1005", "12345", "brands.toml"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["kind", "url", "name", "phones", "templates"]), inner)
    ),
    max_leaves=6,
)
PROFILE_KEYS = ["name", "brands", "region", "language", "results_per_query", "follow_ads"]
PROFILE_KEYS += ["allow_private", "engines", "queries"]
BRAND_KEYS = ["name", "keywords", "domains", "phones", "source"]
VALID_PROFILE = {
    "name": "t",
    "brands": "brands.toml",
    "engines": [{"kind": "bing"}],
    "queries": {"templates": ["{brand} x"]},
}
VALID_BRAND = {"name": "Microsoft", "phones": ["020 500 1005"], "domains": ["microsoft.com"]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    profile=st.dictionaries(st.sampled_from(PROFILE_KEYS), VALUES, max_size=3),
    brand=st.dictionaries(st.sampled_from(BRAND_KEYS), VALUES, max_size=2),
)
def test_random_configs_give_a_config_error_or_a_profile_never_a_crash(profile, brand):
    from crawler.config import ConfigError, load_profile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.toml"
        # A valid profile and brand with some fields replaced by random values.
        profile = {**VALID_PROFILE, **profile}
        brand = {**VALID_BRAND, **brand}
        path.write_text("\n".join(f"{k} = {_toml_value(v)}" for k, v in profile.items()))
        (Path(folder) / "brands.toml").write_text(f"brands = [{_toml_value(brand)}]\n")
        try:
            load_profile(path)
        except ConfigError as exc:
            assert str(exc).startswith(str(path.parent)) and "\n" not in str(exc)
