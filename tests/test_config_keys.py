"""Unknown keys in a profile, a brands file or a language pack: exit 2, never ignored.

A typo'd key used to be dropped without a word: `results_per_querry` ran with
the default, `tempaltes` lost every template query, a brand's `phone` loaded
the brand without its official numbers (so they were flagged as fake). Every
table now rejects a key it does not know, naming file, line and key, and the
closest known key.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.config import ConfigError, load_brands, load_pack, load_profile

ROOT = Path(__file__).resolve().parent.parent

# Every table a profile can have, each with every key it knows. Nothing is
# ever asked of the network: should a typo load, the crawl finds no engine.
PROFILE = """\
name = "t"
brands = "brands.toml"
region = "NL"
language = "nl"
results_per_query = 10
follow_ads = true
click_ads = false
allow_private = false
render = "never"
per_worker_limits = false

[[engines]]
kind = "bing"
url = "http://127.0.0.1:1/search"

[[engines]]
kind = "google"
url = "http://127.0.0.1:1/search"
delay = 10.0

[queries]
templates = ["{brand} helpdesk", { include = "pack.toml" }]
extra = ["windows hulp"]

[alerts]
urls = ["json://127.0.0.1:1/hook"]
min_risk = "high"

[suggest]
engines = ["bing"]
urls = { bing = "http://127.0.0.1:1/osjson.aspx" }
delay = 1.0
"""

BRANDS = """\
[[brands]]
name = "Microsoft"
keywords = ["microsoft"]
domains = ["microsoft.com"]
phones = [
  "020 500 1005",
  { number = "020 500 1006", source = "https://microsoft.com/c", checked = 2026-01-02, note = "x" },
]
source = "https://microsoft.com/contact"

[[third_parties]]
name = "Fraudehelpdesk"
kind = "fraud help desk"
domains = ["fraudehelpdesk.nl"]
phones = ["088 786 73 72"]
source = "http://www.fraudehelpdesk.nl/Meldpunten"
"""

PACK = """\
language = "nl"
templates = ["{brand} klantenservice"]
helpdesk_words = ["klantenservice"]
"""


def _write(folder: Path, profile=PROFILE, brands=BRANDS, pack=PACK) -> Path:
    for name, content in (("p.toml", profile), ("brands.toml", brands), ("pack.toml", pack)):
        (folder / name).write_text(content)
    return folder / "p.toml"


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_every_key_of_every_table_is_accepted(tmp_path):
    profile = load_profile(_write(tmp_path))
    assert [e.kind for e in profile.engines] == ["bing", "google"]
    assert profile.brands[0].phones == ["+31205001005", "+31205001006"]
    assert profile.third_parties[0].name == "Fraudehelpdesk"
    assert profile.packs[0].helpdesk_words == ["klantenservice"]
    assert profile.alerts is not None and profile.suggest.engines == ["bing"]


# id → (file, old text, new text, the key's field, the suggestion)
TYPOS = {
    "top-level": ("p.toml", "results_per_query =", "results_per_querry =", "results_per_querry",
                  "did you mean results_per_query?"),
    "engines": ("p.toml", "delay = 10.0", "dealy = 0", "engines[1].dealy",
                "did you mean delay?"),
    "queries": ("p.toml", "templates = [", "tempaltes = [", "queries.tempaltes",
                "did you mean templates?"),
    "alerts": ("p.toml", 'min_risk = "high"', 'min_rsik = "high"', "alerts.min_rsik",
               "did you mean min_risk?"),
    "suggest": ("p.toml", "delay = 1.0", "delya = 1.0", "suggest.delya", "did you mean delay?"),
    "no-close-key": ("p.toml", 'name = "t"', 'colour = "red"', "colour", "use name, brands,"),
    "brands-file": ("brands.toml", "[[third_parties]]", "[[third_partys]]", "third_partys",
                    "did you mean third_parties?"),
    "brand": ("brands.toml", "phones = [", "phone = [", "brands[Microsoft].phone",
              "did you mean phones?"),
    "phone-entry": ("brands.toml", 'source = "https://microsoft.com/c"',
                    'sorce = "https://microsoft.com/c"', "brands[Microsoft].phones[1].sorce",
                    "did you mean source?"),
    "third-party": ("brands.toml", 'domains = ["fraudehelpdesk.nl"]',
                    'domain = ["fraudehelpdesk.nl"]', "third_parties[Fraudehelpdesk].domain",
                    "did you mean domains?"),
    "language-pack": ("pack.toml", "helpdesk_words =", "helpdesk_word =", "helpdesk_word",
                      "did you mean helpdesk_words?"),
}  # fmt: skip


@pytest.mark.parametrize(("file", "old", "new", "field", "hint"), TYPOS.values(), ids=TYPOS)
def test_a_typo_in_any_table_exits_2_naming_file_line_key_and_the_known_key(
    tmp_path, file, old, new, field, hint
):
    texts = {"p.toml": PROFILE, "brands.toml": BRANDS, "pack.toml": PACK}
    assert old in texts[file]
    texts[file] = texts[file].replace(old, new, 1)
    path = _write(tmp_path, texts["p.toml"], texts["brands.toml"], texts["pack.toml"])
    before = set(tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["crawl", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = _line(texts[file], new)
    key = field.rsplit(".", 1)[-1]
    expected = f"{tmp_path / file}:{line} [{field}]: unknown key {key!r}; {hint}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), result.stderr
    assert set(tmp_path.rglob("*")) == before, "something was written"


def test_a_brand_with_phone_for_phones_stops_brands_check_before_anything_is_written(tmp_path):
    brands = tmp_path / "brands.toml"
    brands.write_text('[[brands]]\nname = "Microsoft"\nphone = ["+31 20 500 1005"]\n')
    result = CliRunner().invoke(
        main, ["brands", "check", str(brands), "--db", str(tmp_path / "x.db")]
    )
    assert result.exit_code == 2, result.output
    assert (
        f"{brands}:3 [brands[Microsoft].phone]: unknown key 'phone'; did you mean phones?"
        in result.stderr
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brands.toml"]


def test_a_key_in_an_inline_brand_table_is_found_on_its_line(tmp_path):
    (tmp_path / "b.toml").write_text(
        '# brands\nbrands = [\n  { name = "Acme", phones = ["020 500 1005"] },\n'
        '  { name = "Other", phone = ["020 500 1006"] },\n]\n'
    )
    with pytest.raises(ConfigError, match=re.escape("b.toml:4 [brands[Other].phone]")):
        load_brands(tmp_path / "b.toml")


# Every profile, brands file and language pack the project ships or tests with.
PROFILES = [
    "profiles/nl.toml",
    "profiles/be.toml",
    "crawler/demo/profile.toml",
    "tests/simweb/profile.toml",
    "tests/simweb3/profile.toml",
]
BRANDS_FILES = ["tests/fixtures/scoring/brands.toml"]
PACKS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "crawler/templates").glob("*.toml"))


@pytest.mark.parametrize("name", PROFILES)
def test_the_shipped_profiles_and_their_brands_load(name):
    assert load_profile(ROOT / name).queries()


@pytest.mark.parametrize("name", BRANDS_FILES + PACKS)
def test_the_shipped_brands_files_and_packs_load(name):
    path = ROOT / name
    if "templates" in name:
        assert load_pack(path).templates
    else:
        assert load_brands(path)


def _toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, re.S)


def test_the_readme_examples_load(tmp_path):
    """The README's profile, brands, [suggest], [alerts] and [[third_parties]] examples."""
    blocks = _toml_blocks((ROOT / "README.md").read_text())
    profile = next(b for b in blocks if "[[engines]]" in b)
    brands = next(b for b in blocks if "[[brands]]" in b)
    extra = [b for b in blocks if b.lstrip().startswith(("[suggest]", "[alerts]"))]
    third = [b for b in blocks if b.lstrip().startswith("[[third_parties]]")]
    assert len(extra) == 2 and len(third) == 1
    (tmp_path / "brands-nl.toml").write_text(brands + "\n" + third[0])
    (tmp_path / "p.toml").write_text(profile + "\n" + "\n".join(extra))
    loaded = load_profile(tmp_path / "p.toml")
    assert loaded.alerts is not None and loaded.third_parties
