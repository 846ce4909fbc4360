"""What an export audit found: a dismissed pair of a number or site that still has
live pairs never withdrawn from a grouped recipient's indicators; low-risk pairs in
the indicators of recipients floored by the number's verdict; record counts that
were not what the file holds; a failed `--out` leaving its `.partial` behind.
Each on a seeded database (tests/exports_seed.py), through the project's own
export functions or the command."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner
from exports_seed import seeded

from crawler.cli import main


def cli(*args):
    return CliRunner().invoke(main, list(args))


def _corrupt_table(path, table: str) -> None:
    """Destroy the first page of `table`'s b-tree: the schema still reads (the database
    opens), reading the table fails as a disk fault would make it."""
    conn = sqlite3.connect(path)
    conn.execute("pragma journal_mode = delete")  # the WAL folded into the file
    (size,) = conn.execute("pragma page_size").fetchone()
    (root,) = conn.execute("select rootpage from sqlite_master where name = ?", [table]).fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * size : root * size] = b"\xff" * size
    path.write_bytes(bytes(data))


def test_a_failed_export_leaves_no_partial_file(tmp_path):
    path = tmp_path / "s.db"
    seeded(path=path).close()
    _corrupt_table(path, "site_numbers")
    out = tmp_path / "x.jsonl"
    res = cli("export", "--db", str(path), "--out", str(out))
    assert res.exit_code == 1, res.output
    assert "malformed" in res.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("x.")] == []
