"""The HTML report: self-contained, escaped, and rendered by headless Chromium."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from exports_seed import ATTR_URL, FORMULA_TITLE, SCRIPT, SCRIPT_TITLE, seeded

from crawler.cli import main
from crawler.exports.report import CSP, build_report, resolve_run

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"


def count(html: str, name: str) -> str:
    found = re.search(rf'<li data-count="{name}"><b>([^<]*)</b>', html)
    assert found, name
    return found.group(1)


def text(html: str) -> str:
    """The report less the <wbr> break opportunities it puts in URLs."""
    return html.replace("<wbr>", "")


@pytest.fixture(scope="module")
def html():
    return text(build_report(seeded(), "last"))


def test_counts_are_those_of_the_run(html):
    assert count(html, "result-pages") == "2"
    assert count(html, "landing-pages") == "2"
    assert count(html, "flagged-pairs") == "3"
    assert count(html, "flagged-numbers") == "3"
    assert count(html, "flagged-sites") == "2"
    assert count(html, "new-flags") == "2"
    assert count(html, "high") == "3"
    assert count(html, "flagged-numbers-all-runs") == "5"
    assert "<h2>New flags in this run (2)</h2>" in html


def test_an_earlier_run_can_be_reported():
    html = build_report(seeded(), 1)
    assert "serpwatch report: run 1" in html
    assert count(html, "flagged-pairs") == "3" and count(html, "new-flags") == "3"


def test_page_text_is_escaped_and_nothing_runs(html):
    assert "<script" not in html.lower()
    assert "onerror=" not in html.replace("onerror=&quot;", "")
    assert "&lt;/title&gt;&lt;script&gt;" in html
    assert "&lt;img src=x onerror=&quot;" in html
    assert "=HYPERLINK(&quot;http://evil.example/x&quot;" in html


def test_self_contained_no_links_no_assets(html):
    assert f'content="{CSP}"' in html
    assert not re.search(r"<(link|img|iframe|object|embed|a)\b", html, re.I)
    assert not re.search(r"\b(src|href)=", html.replace("&lt;img src=x", ""))
    assert "url(" not in html


def test_chart_has_one_line_per_brand_over_the_runs(html):
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert re.findall(r'data-brand="([^"]+)"', svg) == ["Apple", "KPN", "Microsoft"]
    assert "<title>Microsoft, run #1: 1 numbers</title>" in svg
    assert "<title>Microsoft, run #2: 2 numbers</title>" in svg
    assert "<title>KPN, run #1: 0 numbers</title>" in svg
    points = re.search(r'data-brand="Microsoft"[^>]*points="([^"]+)"', svg).group(1).split()
    (x1, y1), (x2, y2) = (map(float, p.split(",")) for p in points)
    assert x2 > x1 and y2 < y1  # later and higher: more numbers in run 2


def test_triage_shows_at_once_and_the_chart_keeps_what_was_known():
    from crawler import triage

    db = seeded()
    before = text(build_report(db, "last"))
    triage.record(db, "site", "kpn-fake.nl", "dismiss", "a real shop")
    triage.record(db, "number", "+31852081299", "confirm")
    after = text(build_report(db, "last"))
    assert count(after, "flagged-pairs") == "2" and count(after, "dismissed") == "1"
    assert count(after, "confirmed") == "1"
    decided = after[after.index("<h2>Triage") :]
    assert re.search(r"kpn-fake\.nl</td><td><span class=\"status\">dismissed \d{4}-", decided)
    assert "&lt;urn:uuid:kpn-fake.nl-2026-10-08&gt;" in decided  # its evidence record
    assert re.search(
        r"microsoft-helpdesk-bellen\.nl</td><td><span class=\"status\">confirmed", after
    )
    # The chart counts what each run knew; the decisions came after.
    chart = lambda h: h[h.index("<svg") : h.index("</svg>")]  # noqa: E731
    assert chart(after) == chart(before)


def test_no_word_is_broken_in_the_middle():
    raw = build_report(seeded(), "last")
    css = raw[raw.index("<style>") : raw.index("</style>")]
    assert "break-all" not in css and "anywhere" not in css and "break-word" not in css
    # URLs may wrap only after a separator.
    for before in re.findall(r"(.)<wbr>", raw):
        assert before in "/.?&=,_:;)-", before


def test_resolve_run():
    db = seeded()
    assert resolve_run(db, "last")["id"] == 2 and resolve_run(db, "1")["id"] == 1
    for bad in ("9", "first"):
        with pytest.raises(LookupError):
            resolve_run(db, bad)


def test_cli_writes_the_report_and_rejects_bad_input(tmp_path):
    db = tmp_path / "s.db"
    seeded(path=db).close()
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    res = CliRunner().invoke(main, ["report", "--db", str(db), "--run", "42"])
    assert res.exit_code == 2 and "no run 42" in res.output
    res = CliRunner().invoke(main, ["report", "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 2 and "file not found" in res.output


# ---------------------------------------------------------------------------
# In the browser


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="headless Chromium not installed: apt-get install chromium (.ci/run does)",
)


@needs_chromium
def test_report_renders_in_headless_chromium(tmp_path):
    db = tmp_path / "s.db"
    seeded(path=db).close()
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / "report.html"
    res = CliRunner().invoke(main, ["report", "--db", str(db), "--out", str(report)])
    assert res.exit_code == 0, res.output

    dom = text(chromium(tmp_path, "--dump-dom", report.as_uri()).stdout)
    assert 'data-count="flagged-pairs"><b>3</b>' in dom
    assert 'data-count="flagged-numbers-all-runs"><b>5</b>' in dom
    assert dom.count('class="series"') == 3
    # The hostile title and URL rendered as text; no injected script or handler ran.
    assert "&lt;/title&gt;&lt;script&gt;" in dom and "&lt;img src=x onerror=" in dom
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert "data-xss" not in dom.replace("'data-xss'", "")

    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    chromium(tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", report.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1600)
    assert len(data) > 30_000  # a blank page compresses to a few kB


@needs_chromium
def test_the_browser_check_would_see_an_injection(tmp_path):
    # Control: the same payloads written raw (no escaping, no CSP) do run,
    # so the assertions above would catch an escaping bug.
    page = tmp_path / "control.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><title>{SCRIPT_TITLE}</head><body>"
        f"<p>{FORMULA_TITLE}</p><p>{SCRIPT}</p><p>{ATTR_URL}</p></body></html>"
    )
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert 'data-xss="' in dom


def test_a_flag_cites_its_screenshot_by_record_id_not_as_raw_json():
    import json as _json

    from crawler.exports.report import _evidence

    shot = {"warc_record_id": "recordabc123", "warc_file": "run-1.warc.gz", "path": "/x.png"}
    html = _evidence({"screenshot": _json.dumps(shot)})
    assert "recordabc123" in html and "{" not in html and "warc_file" not in html
    assert "recordabc123" in _evidence({"screenshot": shot})
    assert _evidence({"screenshot": None}) == "-"
