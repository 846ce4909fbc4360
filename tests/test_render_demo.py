"""`serpwatch demo` with a browser pictures every flagged page; without one it says so in one line.

Then `serpwatch evidence KEY` makes a folder for a number from that demo: the
page bytes from the WARC, the screenshot, the summary and checkable hashes.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import urllib.parse
import urllib.request

import pytest
from render_helpers import need_browser
from servers.crawl import cli_env, run_cli
from test_serve_triage import serving
from warcio.archiveiterator import ArchiveIterator


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    need_browser()
    out = tmp_path_factory.mktemp("demo-render")
    env = cli_env(out, {"SERPWATCH_RENDER": "auto"})
    proc = run_cli(["demo", "--out", str(out)], env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_every_flagged_page_of_the_demo_has_its_screenshot_in_the_warc_and_report(demo):
    out, proc = demo
    assert "browser: " in proc.stdout and "pages rendered" in proc.stdout
    with sqlite3.connect(out / "demo.db") as conn:
        flagged = conn.execute(
            "select domain, phone, screenshot, screenshot_sha256 from site_numbers"
            " where flagged = 1"
        ).fetchall()
    assert flagged
    missing = [(d, p) for d, p, shot, _ in flagged if not shot]
    assert missing == []
    payloads = {}
    for warc in (out / "demo-warc").glob("*.warc.gz"):
        with open(warc, "rb") as f:
            for record in ArchiveIterator(f, check_digests=True):
                if record.rec_type == "resource":
                    rid = record.rec_headers.get_header("WARC-Record-ID")
                    payloads[rid] = record.content_stream().read()
    report = (out / "report.html").read_text()
    for _, _, shot, sha in flagged:
        cited = json.loads(shot)
        assert hashlib.sha256(payloads[cited["warc_record_id"]]).hexdigest() == sha
        assert sha in report  # the thumbnail's caption names the picture by its hash
    assert 'id="screenshots"' in report and "data:image/jpeg;base64," in report


def test_the_triage_views_show_each_flags_screenshot(demo):
    """Datasette's flagged numbers and sites: the strongest pair's thumbnail,
    linking to the screenshot's WARC record."""
    out, _ = demo
    with sqlite3.connect(out / "demo.db") as conn:
        numbers = conn.execute("select number, screenshot from flagged_numbers").fetchall()
    assert numbers and all(shot for _, shot in numbers)
    with serving(out / "demo.db") as root:
        for view, count in (("flagged_numbers", len(numbers)), ("flagged_sites", None)):
            with urllib.request.urlopen(f"{root}/demo/{view}") as r:
                html = r.read().decode()
            cells = re.findall(r'<td class="col-screenshot[^"]*">(.*?)</td>', html, re.S)
            assert cells and (count is None or len(cells) == count)
            for cell in cells:
                assert "/-/serpwatch/evidence?record=" in cell, cell[:200]
                assert '<img src="data:image/jpeg;base64,' in cell, cell[:200]


def test_evidence_folder_for_a_number(demo, tmp_path):
    out, _ = demo
    folder = tmp_path / "case"
    proc = run_cli(
        ["evidence", "0852081234", "--db", str(out / "demo.db"), "--out", str(folder)],
        cli_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["key"] == "+31852081234" and summary["kind"] == "number"
    assert any(p["domain"] == "microsoft-helpdesk-bellen.nl" for p in summary["pairs"])
    assert list((folder / "pages").glob("*.html"))
    pngs = list((folder / "screenshots").glob("*.png"))
    assert pngs and all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Evidence: +31852081234" in (folder / "summary.md").read_text()


def test_evidence_refuses_bad_keys_clearly(demo, tmp_path):
    out, _ = demo
    env = cli_env(tmp_path)
    bad = run_cli(["evidence", "not a key!", "--db", str(out / "demo.db")], env)
    assert bad.returncode == 2 and "KEY" in bad.stderr and "Traceback" not in bad.stderr
    none = run_cli(["evidence", "example.org", "--db", str(out / "demo.db")], env)
    assert none.returncode == 1 and "nothing recorded for example.org" in none.stderr
    nodb = run_cli(["evidence", "example.org", "--db", str(tmp_path / "x.db")], env)
    assert nodb.returncode == 2 and "no database" in nodb.stderr


def test_demo_without_a_browser_says_what_it_skipped_in_one_line(tmp_path):
    env = cli_env(tmp_path, {"SERPWATCH_RENDER": "auto", "SERPWATCH_BROWSER": "/nonexistent"})
    proc = run_cli(["demo", "--out", str(tmp_path)], env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "skipped" in line]
    assert len(lines) == 1, lines
    assert "rendering skipped" in lines[0] and "apt-get install chromium" in lines[0]
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        assert conn.execute("select count(*) from renders").fetchone() == (0,)
        assert conn.execute("select count(*) from site_numbers where flagged = 1").fetchone()[0]


@pytest.fixture(scope="module")
def served(demo, tmp_path_factory):
    """`serpwatch serve` on the rendered demo: its root URL."""
    import socket
    import time
    import urllib.request

    out, _ = demo
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [*run_cli_args(), "serve", "--db", str(out / "demo.db"), "--port", str(port)],
        env=cli_env(tmp_path_factory.mktemp("serve-env")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{root}/-/versions.json").read()
                break
            except OSError:
                time.sleep(0.2)
        yield root
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_shows_the_thumbnails(served):
    """`serpwatch serve` (Datasette with datasette-render-images) shows each thumbnail."""
    import urllib.request

    with urllib.request.urlopen(f"{served}/demo/screenshots") as r:
        page = r.read().decode()
    assert page.count('<img src="data:image/jpeg;base64,') >= 5


def test_the_screenshot_column_is_a_thumbnail_linking_to_the_screenshot(demo, served, tmp_path):
    """A `screenshot` cell (JSON: WARC record, file, path) in a real headless Chromium:
    the crawl's thumbnail, linking to the evidence page of that WARC record, which
    shows the full screenshot, byte for byte the one the row's hash names."""
    import base64
    import html as htmllib
    import re

    from test_serve_triage import dom, shoot, text_of

    out, _ = demo
    with sqlite3.connect(out / "demo.db") as conn:
        shots = conn.execute(
            "select screenshot, screenshot_sha256 from site_numbers where screenshot is not null"
        ).fetchall()
    refs = {json.loads(v)["warc_record_id"]: (json.loads(v), sha) for v, sha in shots}
    url = f"{served}/demo/site_numbers?_sort=phone&_size=max"
    page = dom(tmp_path, url)
    cells = re.findall(r'<td class="col-screenshot type-[^"]*">(.*?)</td>', page, re.S)
    shown = [c for c in cells if c.strip() and c.strip() != "&nbsp;"]
    assert len(shown) == len(shots) >= 5
    for cell in shown:
        assert "warc_record_id" not in cell  # no raw JSON
        (link,) = re.findall(r'<a href="(/-/serpwatch/evidence\?[^"]+)"', cell)
        assert '<img src="data:image/jpeg;base64,' in cell
        record = re.search(r"record=([^&]+)", htmllib.unescape(link))[1]
        ref, _ = refs[urllib.parse.unquote(record)]
        assert f"file={urllib.parse.quote(ref['warc_file'], safe='')}" in htmllib.unescape(link)
    cols = "".join(
        f"&_col={c}" for c in ("domain", "phone", "risk", "screenshot", "warc_record_id")
    )
    shoot(tmp_path, url + cols, "screenshot-column", height=900)
    # Follow one link: the full screenshot from the WARC, as an image.
    link = htmllib.unescape(re.findall(r'<a href="(/-/serpwatch/evidence\?[^"]+)"', shown[0])[0])
    evidence = dom(tmp_path, served + link)
    assert "resource record" in text_of(evidence)
    png = re.search(r'<img alt="screenshot" src="data:image/png;base64,([^"]+)"', evidence)
    record = urllib.parse.unquote(re.search(r"record=([^&]+)", link)[1])
    assert hashlib.sha256(base64.b64decode(png[1])).hexdigest() == refs[record][1]
    shoot(tmp_path, served + link, "screenshot-evidence", height=900)


def run_cli_args() -> list[str]:
    import sys

    from servers.crawl import RUN_CLI

    return [sys.executable, str(RUN_CLI)]
