"""bench/floor.py: the floor it prints beside an export is of that export's own records."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from crawler.exports.core import write_export
from crawler.exports.recipients import load_presets
from tests.exports_seed import seeded

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import floor  # noqa: E402

PRESETS = load_presets()


def _exported(tmp_path: Path, rcpt: str, fmt: str) -> Path:
    path = tmp_path / f"x.{fmt}"
    with open(path, "wb") as out:
        written = write_export(seeded(), PRESETS[rcpt], fmt, out)
    assert written.count > 0
    return path


@pytest.mark.parametrize(
    ("rcpt", "fmt"), [("default", "jsonl"), ("regulator", "csv"), ("hosting", "xarf")]
)
def test_a_line_format_s_floor_encodes_the_very_bytes_written(tmp_path, rcpt, fmt):
    path = _exported(tmp_path, rcpt, fmt)
    records = floor.records_of(path, fmt)
    assert b"".join(floor.encoded(records, fmt)).replace(
        b"\r\n", b"\n"
    ) == path.read_bytes().replace(b"\r\n", b"\n")


@pytest.mark.parametrize("fmt", ["stix", "misp"])
def test_a_document_s_floor_encodes_its_every_object_in_fewer_bytes(tmp_path, fmt):
    path = _exported(tmp_path, "regulator", fmt)
    doc = json.loads(path.read_text())
    records = floor.records_of(path, fmt)
    whole = (
        doc["objects"] if fmt == "stix" else [*doc["Event"]["Attribute"], *doc["Event"]["Object"]]
    )
    assert records == whole and len(records) > 2
    again = b"".join(floor.encoded(records, fmt))
    assert [json.loads(line) for line in again.splitlines()] == whole
    assert len(again) < path.stat().st_size  # a floor: the file is indented, the floor is not
