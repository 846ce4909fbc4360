"""`serpwatch brands check` against brand pages served on 127.0.0.1.

The pages: a number that moved (the old one gone, a new one in its place), a
number added beside a listed one, a page that redirects elsewhere, a page
that fails (HTTP 500), one that blocks (HTTP 403) and a challenge page
(HTTP 200, no numbers). The command runs as users run it (a subprocess: Scrapy
starts its reactor once per process); its WARC evidence is read back with
warcio, its database record through `serpwatch history`, its proposals with
the project's own brands loader and tomlkit.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit
from warcio.archiveiterator import ArchiveIterator

from crawler import brandcheck, evidence
from crawler.config import load_brands
from crawler.fetch import FetchJob, FetchResult
from tests.brandweb import PageWeb

EXE = str(Path(sys.executable).with_name("serpwatch"))

ACME = """<html lang="nl"><body><h1>Contact</h1>
<p>Bel onze klantenservice op 020 500 1005 (ma-vr 9-17).</p>
<p>Zakelijke klanten bellen ons nieuwe nummer 020 500 2000. Wij helpen u graag.</p>
<p>Fax: 020 500 9999</p></body></html>"""
BETA_NEW = "<html><body><p>Beta helpdesk: +31 10 241 1723</p></body></html>"
CHALLENGE = (
    "<html><head><title>Just a moment...</title></head><body>"
    '<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1"></script></body></html>'
)
ROUTES = {
    "/acme/contact": (200, {}, ACME),
    "/beta/old": (301, {"Location": "/beta/new"}, ""),
    "/beta/new": (200, {}, BETA_NEW),
    "/gamma": (500, {}, "<h1>Internal error</h1>"),
    "/delta": (403, {}, "<h1>Access denied</h1>"),
    "/epsilon": (200, {}, CHALLENGE),
    "/zeta": (200, {}, "<p>Bel 030 123 4567</p>"),
    # A brand page is trusted; where it sends us is not (cloud metadata address).
    "/eta": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, ""),
}


def brands_toml(base: str) -> str:
    return f"""# Brands for the brands-check test.
# Comments must survive --propose.

[[brands]]
name = "Acme"
keywords = ["acme"]
phones = [
  "020 500 1005",  # the main line
  {{ number = "020 500 1006", note = "business line" }},
]
source = "{base}/acme/contact"

[[brands]]
name = "Beta"
phones = ["+31 10 241 1723"]
source = ["{base}/beta/old"]

[[brands]]
name = "Gamma"
phones = [{{ number = "+31 30 765 4321", checked = 2026-01-02 }}]
source = "{base}/gamma"

[[brands]]
name = "Delta"
phones = []  # TODO: fill in from the contact page
source = "{base}/delta"

[[brands]]
name = "Epsilon"
phones = []
source = "{base}/epsilon"

[[brands]]
name = "Eta"
phones = []
source = "{base}/eta"

[[brands]]
name = "Nosource"
phones = []  # TODO
source = ""
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """One check of the test brands, with --out (JSON) and --propose."""
    tmp = tmp_path_factory.mktemp("brands")
    with PageWeb(ROUTES) as web:
        original = brands_toml(web.base_url)
        (tmp / "brands.toml").write_text(original)
        proc = run(
            "brands",
            "check",
            "brands.toml",
            "--db",
            "b.db",
            "--out",
            "report.json",
            "--propose",
            "proposed.toml",
            cwd=tmp,
        )
        log = list(web.log)
    return tmp, web.base_url, original, proc, log


def test_check_reports_every_kind_of_disagreement(checked):
    tmp, base, _original, proc, _log = checked
    assert proc.returncode == 1, proc.stderr[-2000:]
    out = proc.stdout
    assert f"+31205001005  listed, on the page: {base}/acme/contact" in out
    assert "+31205001006  listed, NOT on the page any more (stale?)" in out
    assert "+31205002000  on the page, not listed (missing?)" in out
    assert "“Zakelijke klanten bellen ons nieuwe nummer 020 500 2000.”" in out
    assert "+31205009999  on the page, not listed (a fax number, not proposed)" in out
    assert f"page MOVED: {base}/beta/old (now at {base}/beta/new, 1 number)" in out
    assert f"page FAILED: {base}/gamma (HTTP 500)" in out
    assert "+31307654321  listed, not checked: no page answered (last confirmed 2026-01-02;" in out
    assert f"page BLOCKED: {base}/delta (HTTP 403)" in out
    assert f"page BLOCKED: {base}/epsilon (a challenge page" in out
    assert "1 brands have neither numbers nor a source page to check: Nosource" in out
    # the redirect to a non-public address is refused by the SSRF guard, never fetched
    assert f"page FAILED: {base}/eta (" in out and "169.254.169.254" in out

    report = json.loads((tmp / "report.json").read_text())
    states = {(b["brand"], n["phone"]): n["state"] for b in report["brands"] for n in b["numbers"]}
    assert states == {
        ("Acme", "+31205001005"): "confirmed",
        ("Acme", "+31205001006"): "stale",
        ("Acme", "+31205002000"): "unlisted",
        ("Acme", "+31205009999"): "unlisted",
        ("Beta", "+31102411723"): "confirmed",
        ("Gamma", "+31307654321"): "unchecked",
    }
    gamma = next(b for b in report["brands"] if b["brand"] == "Gamma")
    assert gamma["numbers"][0]["overdue"] is True  # checked 2026-01-02, more than 180 days


def test_each_page_is_kept_as_warc_evidence(checked):
    tmp, base, _original, _proc, _log = checked
    report = json.loads((tmp / "report.json").read_text())
    warc = Path(report["warc_file"])
    assert warc.parent == tmp / "b-warc"
    with open(warc, "rb") as f:
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
            for r in ArchiveIterator(f, check_digests=True)
        ]
    responses = {uri for kind, uri in records if kind == "response"}
    # Every page that answered, the failing and blocking ones too (status as received).
    wanted = {f"{base}/{p}" for p in ("acme/contact", "beta/new", "gamma", "delta")}
    assert wanted <= responses
    acme = next(p for b in report["brands"] for p in b["pages"] if p["brand"] == "Acme")
    assert evidence.verify(warc, acme["warc_record_id"], acme["payload_sha256"])


def test_history_shows_when_a_number_was_last_confirmed(checked):
    tmp, base, _original, _proc, _log = checked
    proc = run("history", "+31 20 500 1005", "--db", "b.db", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert f"last confirmed on Acme's own page {dt.date.today().isoformat()}" in proc.stdout
    assert f"({base}/acme/contact)" in proc.stdout
    assert "  evidence: serpwatch-brands-" in proc.stdout and "<urn:uuid:" in proc.stdout
    stale = run("history", "+31205001006", "--db", "b.db", "--json", cwd=tmp)
    (check,) = json.loads(stale.stdout)["brand_checks"]
    assert check["state"] == "stale" and check["brand"] == "Acme"


def test_propose_marks_for_review_keeps_comments_and_never_touches_the_original(checked):
    tmp, base, original, _proc, _log = checked
    assert (tmp / "brands.toml").read_text() == original
    text = (tmp / "proposed.toml").read_text()
    # comments and order survive
    for comment in ("# Comments must survive --propose.", "# the main line", "# TODO: fill in"):
        assert comment in text
    names = [b["name"] for b in tomlkit.parse(text)["brands"]]
    assert names == ["Acme", "Beta", "Gamma", "Delta", "Epsilon", "Eta", "Nosource"]
    # round trip: tomlkit gives the same text back, the project's loader reads it
    assert tomlkit.dumps(tomlkit.parse(text)) == text
    brands = {b.name: b for b in load_brands(tmp / "proposed.toml")}
    today = dt.date.today()
    acme = {p.number: p for p in brands["Acme"].official}
    assert acme["+31205001005"].checked == today
    assert acme["+31205001005"].source == f"{base}/acme/contact"
    assert acme["+31205001006"].note.startswith("REVIEW: not on ")
    assert "(was: business line)" in acme["+31205001006"].note
    added = acme["+31205002000"]
    assert added.checked == today and added.note.startswith("REVIEW: on the brand's page")
    assert "+31205009999" not in acme  # a fax is reported, never proposed
    assert brands["Beta"].official[0].checked == today
    assert f"# REVIEW: moved: {base}/beta/old -> {base}/beta/new" in text
    # a page that failed proposes nothing: Gamma keeps its old date
    assert brands["Gamma"].official[0].checked == dt.date(2026, 1, 2)


def test_everything_agreeing_exits_0(tmp_path):
    with PageWeb(ROUTES) as web:
        (tmp_path / "ok.toml").write_text(
            '[[brands]]\nname = "Zeta"\nphones = ["030 123 4567"]\n'
            f'source = "{web.base_url}/zeta"\n'
        )
        proc = run("brands", "check", "ok.toml", "--db", "ok.db", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "everything agrees" in proc.stdout


def test_bad_input_exits_2_naming_file_line_and_field(tmp_path):
    (tmp_path / "bad.toml").write_text(
        '[[brands]]\nname = "Acme"\nphones = [{ number = "020 500 1005", checked = "soon" }]\n'
    )
    proc = run("brands", "check", "bad.toml", "--db", "x.db", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: bad.toml:3 [brands[Acme].phones[0].checked]:"
        " must be a date, written 2026-11-30 (no quotes)"
    )
    same = run("brands", "check", "bad.toml", "--propose", "bad.toml", cwd=tmp_path)
    assert same.returncode == 2 and "the original is never overwritten" in same.stderr


def _result(url: str, body: str, status: int = 200, key=("Acme", None)) -> FetchResult:
    job = FetchJob(url=url, key=(key[0], key[1] or url))
    return FetchResult(job=job, url=url, status=status, body=body.encode(), fetched_at="x")


def test_compare_uses_earlier_checks_for_the_age_of_a_number(tmp_path):
    (tmp_path / "b.toml").write_text(
        '[[brands]]\nname = "Acme"\nphones = ["020 500 1005", "020 500 1006"]\n'
        'source = "https://acme.example/contact"\n'
        '[[brands]]\nname = "Other"\nphones = ["030 123 4567"]\n'
    )
    brands = load_brands(tmp_path / "b.toml")
    failed = FetchResult(
        job=FetchJob(
            url="https://acme.example/contact", key=("Acme", "https://acme.example/contact")
        ),
        url="https://acme.example/contact",
        error="TimeoutError: took too long",
    )
    report = brandcheck.compare(
        brands,
        [failed],
        region="NL",
        today=dt.date(2026, 12, 5),
        max_age=30,
        last_confirmed={"+31205001005": "2026-11-20T10:00:00+00:00"},
    )
    acme = {n.phone: n for n in report.brands[0].numbers}
    assert acme["+31205001005"].state == "unchecked" and not acme["+31205001005"].overdue
    assert acme["+31205001006"].overdue and acme["+31205001006"].last_confirmed == ""
    # A brand without a page: its numbers cannot be checked and age like any other.
    other = report.brands[1]
    assert other.note.startswith("no source page") and other.numbers[0].overdue
    assert report.needs_look


def test_a_number_listed_for_another_brand_is_not_missing(tmp_path):
    (tmp_path / "b.toml").write_text(
        '[[brands]]\nname = "Acme"\nphones = []\nsource = "https://acme.example/c"\n'
        '[[brands]]\nname = "Parent"\nphones = ["030 123 4567"]\n'
    )
    brands = load_brands(tmp_path / "b.toml")
    page = _result("https://acme.example/c", "<p>Bel onze moeder: 030 123 4567</p>")
    report = brandcheck.compare(brands, [page], region="NL", today=dt.date.today(), max_age=9)
    (n,) = report.brands[0].numbers
    assert n.state == "unlisted" and n.listed_for == "Parent" and not n.needs_look
