"""`serpwatch queries suggest` against simulated autocomplete endpoints on 127.0.0.1.

Each endpoint answers in its engine's own format (Bing's OpenSearch JSON,
DuckDuckGo's list of phrases, Google's suggest JSON) with suggestions made
from the prefix it was asked, so what comes back depends on what was asked.
The related searches of earlier crawls come from the database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crawler import storage
from crawler.config import load_profile
from crawler.suggest import (
    Offer,
    covered_by,
    parse_suggestions,
    rank,
    seeds,
    suggest_url,
)
from crawler.tomledit import add_extra
from tests.brandweb import PageWeb

EXE = str(Path(sys.executable).with_name("serpwatch"))

PROFILE = """# A test profile for queries suggest.
name = "suggest-test"
brands = "b.toml"
region = "NL"
language = "nl"

[[engines]]
kind = "bing"

[queries]
templates = ["{{brand}} klantenservice bellen"]  # one template
extra = [
  "pc hulp bellen",  # a generic one
]

[suggest]
delay = 0

[suggest.urls]
bing = "{base}/bing/osjson.aspx"
duckduckgo = "{base}/ddg/ac/"
google = "{base}/google/complete/search"
"""
BRANDS = '[[brands]]\nname = "Acme"\nkeywords = ["acme", "acmesoft"]\n'
PACK = """language = "nl"
templates = ["{brand} klantenservice bellen"]
helpdesk_words = ["klantenservice", "storing"]
"""


class Autocomplete(PageWeb):
    """Three autocomplete endpoints; Google can be told to answer 429."""

    def __init__(self, google_blocks: bool = False):
        super().__init__({}, handler=self.answer)
        self.google_blocks = google_blocks

    def answer(self, path: str):
        parts = urlsplit(path)
        args = parse_qs(parts.query)
        json_type = {"Content-Type": "application/json; charset=utf-8"}
        if parts.path == "/bing/osjson.aspx":
            q = args["query"][0]
            body = [q, [f"{q} gratis nummer", f"{q} 24 uur", "acme klantenservice bellen"]]
            return 200, json_type, json.dumps(body)
        if parts.path == "/ddg/ac/":
            q = args["q"][0]
            return 200, json_type, json.dumps([{"phrase": f"{q} gratis nummer"}])
        if parts.path == "/google/complete/search":
            if self.google_blocks:
                return 429, {}, "<html>Too many requests</html>"
            q = args["q"][0]
            latin = {"Content-Type": "text/javascript; charset=ISO-8859-1"}
            return 200, latin, json.dumps([q, [f"{q} gratis nummer", f"{q} é"]]).encode("latin-1")
        return None

    def asked(self, prefix: str) -> list[str]:
        return [p for p in self.log if p.startswith(prefix)]


def setup(tmp: Path, base: str, pack: bool = True) -> Path:
    (tmp / "b.toml").write_text(BRANDS)
    text = PROFILE.format(base=base)
    if pack:
        (tmp / "templates").mkdir(exist_ok=True)
        (tmp / "templates" / "nl.toml").write_text(PACK)
        text = text.replace(
            'templates = ["{brand} klantenservice bellen"]  # one template',
            'templates = [{ include = "templates/nl.toml" }]  # the pack',
        )
    (tmp / "p.toml").write_text(text)
    return tmp / "p.toml"


def run(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp
    )


def test_formats_and_urls():
    assert parse_suggestions(b'["acme", ["acme a", "acme  b"]]') == ["acme a", "acme b"]
    assert parse_suggestions(b'[{"phrase": "acme c"}, {"x": 1}]') == ["acme c"]
    assert parse_suggestions('["q", ["caf\xe9"]]'.encode("latin-1"), "charset=ISO-8859-1") == [
        "café"
    ]
    assert parse_suggestions(b"<html>blocked</html>") == []
    url = suggest_url("google", "http://h/complete/search", "acme storing", "nl", "BE")
    assert parse_qs(urlsplit(url).query) == {
        "client": ["firefox"],
        "q": ["acme storing"],
        "hl": ["nl"],
        "gl": ["be"],
    }
    assert "market=fr-BE" in suggest_url("bing", "http://h/osjson.aspx", "x", "fr", "BE")


def test_seeds_are_brand_keywords_times_the_packs_helpdesk_words(tmp_path):
    profile = load_profile(setup(tmp_path, "http://127.0.0.1:9"))
    assert seeds(profile) == [
        ("nl", "acme klantenservice"),
        ("nl", "acme storing"),
        ("nl", "acmesoft klantenservice"),
        ("nl", "acmesoft storing"),
    ]


def test_rank_counts_engines_and_knows_what_templates_cover(tmp_path):
    profile = load_profile(setup(tmp_path, "http://127.0.0.1:9", pack=False))
    offers = [
        Offer("acme storing gratis nummer", "bing", "autocomplete", "acme storing"),
        Offer("Acme Storing  gratis nummer", "google", "autocomplete", "acme storing"),
        Offer("acme 24 uur", "bing", "autocomplete", "acme storing"),
        Offer("acmesoft klantenservice bellen", "bing", "autocomplete", "acmesoft k"),
        Offer("pc hulp bellen", "bing", "related", "acme klantenservice bellen"),
    ]
    ranked = rank(profile, offers)
    assert [c.text for c in ranked][:2] == ["acme storing gratis nummer", "acme 24 uur"]
    first = ranked[0]
    assert first.engines == ["bing", "google"] and first.brand == "Acme" and not first.covered
    covered = {c.text: c.covered for c in ranked if c.covered}
    assert covered == {
        # "acmesoft" is one of Acme's keywords: the template would make it
        "acmesoft klantenservice bellen": "template '{brand} klantenservice bellen'",
        "pc hulp bellen": "a query of the profile",
    }
    assert covered_by(profile, "nothing like it") == ""


def test_suggest_asks_every_endpoint_and_reads_crawled_related_searches(tmp_path):
    with Autocomplete() as web:
        setup(tmp_path, web.base_url)
        db = storage.open_db(tmp_path / "s.db")
        run_id = storage.start_run(db, "suggest-test")
        storage.save_related(
            db,
            run_id,
            {
                "engine": "bing",
                "query": "acme klantenservice bellen",
                "serp_url": "http://engine/search",
                "texts": [
                    ("related", "acme storing gratis nummer"),
                    ("people_also_ask", "Is acme gratis?"),
                ],
            },
        )
        db.close()
        proc = run(tmp_path, "queries", "suggest", "p.toml", "--db", "s.db", "--json")
        log = list(web.log)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # 4 seeds × 3 endpoints, each asked once
    assert len(log) == 12
    assert sum(p.startswith("/google/") for p in log) == 4
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    top = rows[0]
    # offered by all three engines and shown as a related search on a crawled page
    assert top["text"] == "acme storing gratis nummer"
    assert top["engines"] == ["bing", "duckduckgo", "google"]
    assert top["kinds"] == ["autocomplete", "related"]
    assert top["brand"] == "Acme" and top["covered"] == ""
    texts = [r["text"] for r in rows]
    assert "acme storing é" in texts  # Google's Latin-1 answer decoded
    assert "Is acme gratis?" in texts
    covered = next(r for r in rows if r["text"] == "acme klantenservice bellen")
    assert covered["covered"] == "a query of the profile" and rows[-1]["covered"]


def test_add_writes_chosen_candidates_into_extra_keeping_comments(tmp_path):
    with Autocomplete(google_blocks=True) as web:
        profile_path = setup(tmp_path, web.base_url)
        before = profile_path.read_text()
        proc = run(
            tmp_path,
            "queries",
            "suggest",
            "p.toml",
            "--db",
            "none.db",
            "--add",
            "1",
            "--add",
            "acme storing 24 uur",
        )
        google = web.asked("/google/")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The blocked endpoint is asked once, then left alone; the others still answer.
    assert len(google) == 1
    assert "warning: google: 4 autocomplete requests failed (HTTP 429)" in proc.stderr
    after = profile_path.read_text()
    assert after != before
    for comment in ("# A test profile for queries suggest.", "# the pack", "# a generic one"):
        assert comment in after
    profile = load_profile(profile_path)
    assert profile.extra == [
        "pc hulp bellen",
        "acme klantenservice gratis nummer",
        "acme storing 24 uur",
    ]
    assert "added by queries suggest on" in after
    assert (None, "acme storing 24 uur") in profile.queries()  # the next crawl asks it


def test_add_extra_skips_what_is_there_and_creates_the_list():
    text = 'name = "x"\n[queries]\ntemplates = ["{brand} a"]  # keep me\n'
    import datetime as dt

    out, added = add_extra(text, ["Pc Hulp", "pc  hulp", "other"], dt.date(2026, 12, 5))
    assert added == ["Pc Hulp", "other"] and "# keep me" in out
    again, none = add_extra(out, ["PC HULP"], dt.date(2026, 12, 5))
    assert none == [] and again == out


def test_no_endpoint_answering_exits_1_and_an_unknown_brand_exits_2(tmp_path):
    with PageWeb({}, handler=lambda path: (429, {"Retry-After": "3600"}, "slow down")) as web:
        setup(tmp_path, web.base_url)
        proc = run(tmp_path, "queries", "suggest", "p.toml", "--brand", "acme", "--db", "n.db")
        log = list(web.log)
        bad = run(tmp_path, "queries", "suggest", "p.toml", "--brand", "Nobody", "--db", "n.db")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert len(log) == 3  # one request per endpoint, then each is left alone
    assert "No candidates." in proc.stdout
    assert bad.returncode == 2 and "no brand 'nobody'" in bad.stderr


@pytest.mark.parametrize(
    "asked, failed, none", [(0, 0, False), (3, 0, False), (3, 2, False), (3, 3, True)]
)
def test_suggest_exits_1_only_when_no_endpoint_answered(asked, failed, none):
    from crawler.suggest import Found

    assert Found(asked=asked, failed=failed).none_answered is none
