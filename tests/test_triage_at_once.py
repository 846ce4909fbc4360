"""A dismissal shows at once everywhere, without a crawl, and goes out in the next delta.

On a copy of the demo's database, through the command line: flags, export
(full and --since last, JSONL and STIX), history and the report. Plus the
demo's own STIX bundle under stix2-validator's strict mode.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from stix_check import assert_strict_valid, phone_id

from crawler.cli import main

SITE = "windows-support-direct.com"
NUMBER = "+18442173090"


def cli(*args):
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_the_demos_stix_bundle_is_strict_valid(demo_out):
    data = assert_strict_valid((demo_out / "flagged.stix.json").read_text())
    assert any(o["type"] == "phone-number" for o in data["objects"])


def test_the_validators_command_in_strict_mode_passes_the_demos_bundle(demo_out):
    """`stix2_validator --strict`, every check on, as a partner runs it."""
    bundle = demo_out / "flagged.stix.json"
    phones = [o for o in json.loads(bundle.read_text())["objects"] if o["type"] == "phone-number"]
    tool = Path(sys.executable).parent / "stix2_validator"
    run = subprocess.run([tool, "--strict", bundle], capture_output=True, text=True, check=False)
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert run.returncode == 0, run.stdout
    assert "[+] STIX JSON: Valid" in lines, run.stdout
    assert not [line for line in lines if line.startswith(("[X]", "[!]"))], run.stdout
    assert len(phones) >= 3 and all(p["id"] == phone_id(p["value"]) for p in phones)


def test_a_dismissal_shows_at_once_and_goes_out_in_the_next_delta(demo_out, tmp_path):
    db = tmp_path / "demo.db"
    shutil.copy(demo_out / "demo.db", db)
    shutil.copytree(demo_out / "demo-warc", tmp_path / "demo-warc")
    d = ["--db", str(db)]
    out = tmp_path / "first.jsonl"
    cli("export", *d, "--since", "last", "--out", str(out))
    stix1 = tmp_path / "first.stix.json"
    cli("export", *d, "--since", "last", "--format", "stix", "--out", str(stix1))
    assert SITE in out.read_text() and SITE in stix1.read_text()

    cli("triage", SITE, "--dismiss", "--note", "checked: test", *d)

    flags = [json.loads(line) for line in cli("flags", *d, "--json").stdout.splitlines()]
    assert SITE not in {f["domain"] for f in flags}
    full = cli("export", *d).stdout
    assert SITE not in full
    history = json.loads(cli("history", NUMBER, *d, "--json").stdout)
    (partner,) = [p for p in history["partners"] if p["domain"] == SITE]
    assert partner["flagged"] == 0
    report = tmp_path / "r.html"
    cli("report", *d, "--out", str(report))
    html = report.read_text().replace("<wbr>", "")
    assert f'{SITE}</td><td><span class="status">dismissed' in html

    # The next delta: the dismissal, once.
    delta = tmp_path / "delta.jsonl"
    cli("export", *d, "--since", "last", "--out", str(delta))
    (row,) = [json.loads(line) for line in delta.read_text().splitlines()]
    assert (row["domain"], row["status"]) == (SITE, "dismissed")
    stix2 = tmp_path / "delta.stix.json"
    cli("export", *d, "--since", "last", "--format", "stix", "--out", str(stix2))
    data = assert_strict_valid(stix2.read_text())
    (indicator,) = [o for o in data["objects"] if o["type"] == "indicator"]
    assert indicator["revoked"] is True and SITE in indicator["name"]
    again = tmp_path / "again.jsonl"
    cli("export", *d, "--since", "last", "--out", str(again))
    assert again.read_text() == ""
