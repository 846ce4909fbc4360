"""A dismissal shows at once everywhere, without a crawl, and goes out in the next delta.

On a copy of the demo's database, through the command line: flags, export
(full and --since last, JSONL and STIX), history and the report. Plus the
demo's own STIX bundle under stix2-validator's strict mode.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from stix_check import assert_strict_valid, sco_id

from crawler.cli import main

SITE = "windows-support-direct.com"
NUMBER = "+18442173090"
# The one line stix2_validator --strict may print per phone number (see stix_check).
ONLY_103 = r"\[X\] (phone-number--\S+): \{103\} Given ID value \1 is not a valid UUIDv4 ID\."


def cli(*args):
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_the_demos_stix_bundle_is_strict_valid(demo_out):
    data = assert_strict_valid((demo_out / "flagged.stix.json").read_text())
    assert any(o["type"] == "phone-number" for o in data["objects"])


def test_the_validators_command_in_strict_mode_reports_only_the_phone_ids(demo_out):
    """`stix2_validator --strict`, every check on, as a partner runs it (see stix_check)."""
    bundle = demo_out / "flagged.stix.json"
    phones = {
        o["id"]: o["value"]
        for o in json.loads(bundle.read_text())["objects"]
        if o["type"] == "phone-number"
    }
    tool = Path(sys.executable).parent / "stix2_validator"
    run = subprocess.run([tool, "--strict", bundle], capture_output=True, text=True, check=False)
    lines = [line.strip() for line in run.stdout.splitlines()]
    complaints = [line for line in lines if line.startswith(("[X]", "[!]"))]
    assert complaints[0] == "[X] STIX JSON: Invalid", run.stdout
    reported = set()
    for line in complaints[1:]:
        m = re.fullmatch(ONLY_103, line)
        assert m and m[1] == sco_id("phone-number", phones[m[1]]), line
        reported.add(m[1])
    assert reported == set(phones) and len(phones) >= 3


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
