"""Datasette for triage, in a real headless Chromium: views, facets, status, evidence, CSV.

`serpwatch serve` on a copy of the demo's database (and its WARC folder);
Chromium renders each page and the assertions read the rendered DOM. A
dismissal made with `serpwatch triage` while the server runs shows at the
next page load. Screenshots go to tests/artifacts/ (datasette-*.png).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_report import ARTIFACTS, chromium, needs_chromium

SCAM_URL = "http://microsoft-helpdesk-bellen.nl/"
NUMBER = "+31852081234"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serpwatch(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("serpwatch")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc


@contextlib.contextmanager
def serving(db: Path):
    """`serpwatch serve --db DB` on a free port, until the block ends: its root URL."""
    port = free_port()
    exe = Path(sys.executable).with_name("serpwatch")
    proc = subprocess.Popen(
        [str(exe), "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    root = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(f"{root}/-/versions.json").read()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise RuntimeError(proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
        yield root
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def server(demo_out, tmp_path_factory):
    base = tmp_path_factory.mktemp("serve")
    db = base / "demo.db"
    shutil.copy(demo_out / "demo.db", db)
    shutil.copytree(demo_out / "demo-warc", base / "demo-warc")
    with serving(db) as root:
        yield {"root": root, "db": db, "base": base}


def get(url: str) -> str:
    with urllib.request.urlopen(url) as r:
        return r.read().decode("utf-8")


def dom(tmp_path: Path, url: str) -> str:
    return chromium(tmp_path, "--dump-dom", url).stdout


def text_of(html: str) -> str:
    """The rendered page's visible text, roughly: tags out, whitespace squeezed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", text).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def shoot(tmp_path: Path, url: str, name: str, height: int = 1100) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"datasette-{name}.png"
    shot.unlink(missing_ok=True)
    chromium(tmp_path, f"--window-size=1400,{height}", f"--screenshot={shot}", url)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, name
    return shot


def scam_links(html: str) -> list[str]:
    hrefs = re.findall(r'href="([^"]+)"', html)
    ours = ("http://127.0.0.1", "https://datasette.io/")  # the footer's "Powered by"
    return [h for h in hrefs if h.startswith("http") and not h.startswith(ours)]


@needs_chromium
def test_flagged_numbers_view_with_facets_and_no_scam_links(server, tmp_path):
    url = f"{server['root']}/demo/flagged_numbers"
    html = dom(tmp_path, url)
    text = text_of(html)
    assert "Flagged numbers" in text
    for facet in ("brand", "risk", "status", "engine"):
        assert re.search(rf'data-column="{facet}"', html), facet
    assert NUMBER in text and "high 100" in text
    assert SCAM_URL in text  # shown, as text
    assert scam_links(html) == []
    assert "Microsoft" in text and "Apple" in text and "KPN" in text
    # The number's own verdict (issue 10) beside its strongest site's.
    assert 'data-column="number_risk"' in html and 'data-column="number_reason"' in html
    # The strongest pair's screenshot column (empty here: tests crawl without a
    # browser; test_render_demo shows the thumbnails of a rendered demo).
    assert 'data-column="screenshot"' in html
    shoot(tmp_path, url, "flagged-numbers")


@needs_chromium
def test_a_dismissal_shows_at_once(server, tmp_path):
    serpwatch(
        "triage", "icloud-hulp24.com", "--dismiss", "--note", "test", "--db", str(server["db"])
    )
    url = f"{server['root']}/demo/flagged_sites?status=dismissed"
    text = text_of(dom(tmp_path, url))
    assert "icloud-hulp24.com" in text and "1 row" in text
    numbers = text_of(dom(tmp_path, f"{server['root']}/demo/flagged_numbers?status=dismissed"))
    assert "+442038071234" in numbers
    shoot(tmp_path, f"{server['root']}/demo/flagged_sites", "flagged-sites")
    # ... and the command line agrees: flags leaves it out, the export too.
    flags = serpwatch("flags", "--db", str(server["db"])).stdout
    assert "icloud-hulp24.com" not in flags
    export = serpwatch("export", "--db", str(server["db"])).stdout
    assert "icloud-hulp24.com" not in export


@needs_chromium
def test_new_since_last_run_query(server, tmp_path):
    url = f"{server['root']}/demo/new_since_last_run"
    text = text_of(dom(tmp_path, url))
    assert "New since last run" in text
    assert NUMBER in text and "first seen in this run" in text
    shoot(tmp_path, url, "new-since-last-run")


@needs_chromium
def test_json_columns_are_cut_in_table_views(server, tmp_path):
    html = dom(tmp_path, f"{server['root']}/demo/site_numbers")
    cells = re.findall(r'<td class="col-facts[^"]*">(.*?)</td>', html, re.S)
    assert cells and all(len(c) < 200 and c.endswith("…") for c in cells if c.strip())


@needs_chromium
def test_evidence_is_viewable_as_text_and_nothing_runs(server, tmp_path):
    page = get(f"{server['root']}/demo/flagged_numbers?number={NUMBER.replace('+', '%2B')}")
    (link,) = set(re.findall(r'href="(/-/serpwatch/evidence\?[^"]+)"', page))
    url = server["root"] + link.replace("&amp;", "&")
    html = dom(tmp_path, url)
    text = text_of(html)
    assert "response record" in text and "Microsoft Helpdesk Nederland" in text
    assert "<title>Microsoft Helpdesk" in text  # the page's code, as text
    assert scam_links(html) == [] and "<img" not in html.split("Payload")[1]
    shoot(tmp_path, url, "evidence")
    missing = urllib.request.Request(f"{server['root']}/-/serpwatch/evidence?record=x&file=y")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(missing)
    assert err.value.code == 404


def test_csv_keeps_phone_numbers_as_text(server):
    body = get(f"{server['root']}/demo/flagged_numbers.csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and all(r["number"].startswith("'+") for r in rows)
    raw = get(f"{server['root']}/demo/numbers.csv?_size=max")
    assert "\n+" not in raw and "'+31852081234" in raw
