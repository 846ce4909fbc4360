"""Stats keys (crawler/stats_keys.py): one spelling each, and nobody else spells them."""

from __future__ import annotations

import re
from pathlib import Path

from crawler import stats_keys
from crawler.stats_keys import BLOCKED, BLOCKED_REASON, PAGES_FAILED, SERP_PAGES

ROOT = Path(__file__).resolve().parent.parent

# A serpwatch stat key written out as a string literal.
LITERAL = re.compile(r"""[fr]?["']serpwatch/[\w{]""")
# Modules left to their owners this session, each with why (the closing note says so).
ALLOWED = {
    "crawler/stats_keys.py": "the one home",
    "crawler/distributed.py": "issue 18 reworks it (engine state shared via Redis)",
    "crawler/scale_store.py": "issue 18 reworks it",
}


def test_families_build_and_read_back_their_keys():
    assert BLOCKED("bing") == "serpwatch/blocked/bing"
    assert SERP_PAGES.total == "serpwatch/serp_pages"
    assert PAGES_FAILED("http_404") == "serpwatch/pages_failed/http_404"
    stats = {
        BLOCKED("bing"): 1,
        BLOCKED("searxng-2"): 1,
        BLOCKED_REASON("bing"): "captcha",  # another family: not read as an engine
        SERP_PAGES.total: 3,
        SERP_PAGES("bing"): 3,
    }
    assert BLOCKED.parts(stats) == {"bing": 1, "searxng-2": 1}
    assert SERP_PAGES.parts(stats) == {"bing": 3}


def test_constants_are_serpwatch_keys():
    names = [n for n in dir(stats_keys) if n.isupper() and n != "PREFIX"]
    for name in names:
        value = getattr(stats_keys, name)
        key = value if isinstance(value, str) else value.total
        assert key.startswith(stats_keys.PREFIX) and key.count("/") == 1, name


def test_no_module_spells_a_stat_key_itself():
    found = []
    for folder in ("crawler", "pipelines", "spiders"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if LITERAL.search(line) and "version('serpwatch')" not in line:
                    found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "build stat keys with crawler.stats_keys:\n" + "\n".join(found)
