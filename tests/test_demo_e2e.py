"""The whole flow on the embedded demo web, through the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCAM = {
    "+31852081234": "microsoft-helpdesk-bellen.nl",
    "+18442173090": "windows-support-direct.com",
    "+319001234567": "apple-klantenservice.nl",
    "+442038071234": "icloud-hulp24.com",
    "+31881234567": "kpn-storingsdienst.nl",
    "+31854019876": "microsoft.com",  # posted in the brand's own forum
}
LEGIT_THIRD_PARTY = {"+31302314567", "+31887867372"}  # repair shop, Fraudehelpdesk
OFFICIAL = {"+31205001005", "+31207038001", "+318000402"}
NEVER = OFFICIAL | {"+31302314568"}  # the repair shop's fax


def serpwatch(*args, env=None, cwd=None):
    exe = Path(sys.executable).with_name("serpwatch")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = serpwatch("demo", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (out / "flagged.jsonl").read_text().splitlines()]
    return proc, out, records


def test_demo_flags_exactly_the_unofficial_numbers(demo):
    _, _, records = demo
    assert {r["phone"] for r in records} == set(SCAM) | LEGIT_THIRD_PARTY
    assert not {r["phone"] for r in records} & NEVER


def test_every_scam_number_ranks_above_every_legit_third_party(demo):
    _, _, records = demo
    best = {}
    for r in records:
        best[r["phone"]] = max(best.get(r["phone"], 0), r["score"])
    assert min(best[p] for p in SCAM) > max(best[p] for p in LEGIT_THIRD_PARTY)
    for phone, domain in SCAM.items():
        assert any(r["phone"] == phone and r["domain"] == domain for r in records), phone


def test_ad_landing_page_keeps_its_redirect_and_ad_context(demo):
    _, _, records = demo
    ad = next(r for r in records if r["phone"] == "+18442173090" and r["is_ad"])
    assert ad["url"] == "http://windows-support-direct.com/nl/alert.html"
    assert ad["entry_url"] == "http://windows-support-direct.com/nl/"
    assert ad["engine"] == "bing" and ad["rank"] == 1
    assert ad["risk"] == "high"


def test_export_fields_and_csv(demo):
    _, out, records = demo
    fields = {
        "phone",
        "number_type",
        "country",
        "domain",
        "url",
        "brand",
        "score",
        "risk",
        "reasons",
        "is_ad",
        "engine",
        "query",
        "rank",
        "first_seen",
        "last_seen",
        "status",
    }
    for r in records:
        assert fields <= set(r)
        assert r["risk"] in {"high", "medium", "low"} and 0 <= r["score"] <= 100
        assert r["reasons"] and all(isinstance(x, str) for x in r["reasons"])
        assert r["status"] == "new"
    header = (out / "flagged.csv").read_text().splitlines()[0].split(",")
    assert fields <= set(header)


def test_demo_prints_table_and_locations(demo):
    proc, out, _ = demo
    assert "+31852081234" in proc.stdout and "microsoft-helpdesk-bellen.nl" in proc.stdout
    assert str(out / "demo.db") in proc.stdout
    assert "flagged.jsonl" in proc.stdout


def test_crawl_and_export_commands_share_the_demo_code_path(tmp_path):
    from crawler.demo.web import DemoWeb

    demo_dir = Path(__file__).parents[1] / "crawler" / "demo"
    with DemoWeb() as web:
        profile = (demo_dir / "profile.toml").read_text()
        profile = profile.replace("http://127.0.0.1:8080/search", web.search_url)
        profile = profile.replace('brands = "brands.toml"', f'brands = "{demo_dir}/brands.toml"')
        (tmp_path / "p.toml").write_text(profile)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["http_proxy"] = web.proxy_url
        db = str(tmp_path / "c.db")
        proc = serpwatch("crawl", str(tmp_path / "p.toml"), "--db", db, env=env)
    assert proc.returncode == 0, proc.stderr
    exp = serpwatch("export", "--format", "jsonl", "--db", db, "--min-risk", "high")
    assert exp.returncode == 0, exp.stderr
    high = {json.loads(line)["phone"] for line in exp.stdout.splitlines()}
    assert high and high <= set(SCAM)
    assert "+31852081234" in high


def test_bad_profile_exits_2_with_file_and_field(tmp_path):
    (tmp_path / "p.toml").write_text(
        'name = "x"\nbrands = "nope.toml"\n[[engines]]\nkind = "bing"\n'
        '[queries]\ntemplates = ["{brand} x"]\n'
    )
    proc = serpwatch("crawl", str(tmp_path / "p.toml"), "--db", str(tmp_path / "x.db"))
    assert proc.returncode == 2
    assert "nope.toml: file not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists()


def test_an_interrupted_demo_exits_130_and_makes_no_exports(tmp_path):
    """It exited 0 and wrote every export from half a crawl."""
    import signal
    import time

    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    exe = Path(sys.executable).with_name("serpwatch")
    proc = subprocess.Popen(
        [str(exe), "demo", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "SERPWATCH_RENDER": "never"},
    )
    assert proc.stdout.readline().startswith("demo web on")  # the crawl starts next
    deadline = time.monotonic() + 60
    while not (out / "demo.db").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert "demo interrupted: no exports or report written" in stderr
    assert not (out / "flagged.jsonl").exists() and not (out / "report.html").exists()
