"""Commands on a missing, fresh, corrupt, unwritable or full database; a reader that goes
away; a busy port. Each case says what happened in one line, with the DESIGN.md exit code."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler import storage
from crawler.cli import main

EXE = Path(sys.executable).with_name("serpwatch")
FORMATS = ("jsonl", "csv", "stix")
RECIPIENTS = ("default", "regulator", "operator", "search-engine", "hosting")
READ_COMMANDS = [
    ["flags"],
    ["flags", "--json"],
    ["runs"],
    ["queries", "stats"],
    ["history", "+31852081234"],
    ["triage", "+31852081234", "--confirm"],
    ["export", "--format", "jsonl"],
    ["report"],
    # Writes, but only to a database a crawl made: a retirement written to a
    # mistyped path would never reach the crawls.
    ["queries", "retire", "microsoft helpdesk"],
    ["serve", "--port", "1"],
]


def invoke(args, **kw):
    return CliRunner().invoke(main, args, **kw)


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a))
def test_a_read_command_on_a_missing_database_exits_2_and_creates_nothing(tmp_path, args):
    missing = tmp_path / "typo" / "serpwatch.db"
    res = invoke([*args, "--db", str(missing)])
    assert res.exit_code == 2, res.output
    assert f"{missing}: file not found: no such database" in res.stderr
    assert not missing.exists() and not missing.parent.exists()


@pytest.fixture
def fresh(tmp_path):
    path = tmp_path / "fresh.db"
    storage.open_db(path).close()
    return path


@pytest.mark.parametrize("args", READ_COMMANDS[:-1], ids=lambda a: " ".join(a))
def test_every_command_works_on_a_fresh_database(fresh, tmp_path, args):
    extra = ["--out", str(tmp_path / "r.html")] if args == ["report"] else []
    res = invoke([*args, "--db", str(fresh), *extra])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("recipient", RECIPIENTS)
def test_export_on_a_fresh_database_is_empty_with_exit_0(fresh, fmt, recipient):
    """It failed with `no such column: p.facts` on a database no crawl had filled."""
    res = invoke(["export", "--format", fmt, "--recipient", recipient, "--db", str(fresh)])
    assert res.exit_code == 0, res.output
    # STIX and MISP tell the indicators (pairs) beside the recipient's records.
    told = " (0 indicators)" if fmt == "stix" else ""
    assert f"0 records{told} for {recipient}" in res.stderr


def test_a_broken_pipe_ends_quietly_with_exit_0(tmp_path):
    """`serpwatch flags --json | head -1`: the reader leaves after one line."""
    from test_history_truth import first_run

    db = storage.open_db(tmp_path / "many.db")
    for _ in range(1):
        first_run(db)
    rid = storage.start_run(db, "p")
    from test_history_truth import page

    for i in range(3000):  # more than a pipe buffer of output
        page(db, rid, f"scam{i}.nl", [f"+318520{i:05d}"])
    db.close()
    flags = subprocess.Popen(
        [str(EXE), "flags", "--json", "--db", str(tmp_path / "many.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = subprocess.Popen(["head", "-1"], stdin=flags.stdout, stdout=subprocess.PIPE)
    flags.stdout.close()  # only head reads it now
    line, _ = head.communicate(timeout=60)
    err = flags.stderr.read().decode()
    assert flags.wait(timeout=60) == 0, err
    assert line.startswith(b"{") and err == ""


@pytest.mark.parametrize("entry", [[str(EXE)], [sys.executable, "-m", "crawler.cli"]])
@pytest.mark.parametrize(
    "args", [["--help"], ["export", "--help"], ["serp", "parse", "--help"], ["--version"]]
)
def test_help_into_a_closed_pipe_ends_quietly_with_exit_0(entry, args):
    """`serpwatch --help | true`: click prints help and the version itself, and exited 1
    on the broken pipe."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first byte, as `true` may be
    try:
        done = subprocess.run([*entry, *args], stdout=writer, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (0, b"")


def test_serve_on_a_busy_port_says_so_and_exits_1(fresh):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [str(EXE), "serve", "--db", str(fresh), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_file_that_is_not_a_database_gives_a_clear_message(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    for args in (["flags"], ["runs"], ["export", "--format", "csv"]):
        res = invoke([*args, "--db", str(path)])
        assert res.exit_code == 2, res.output
        assert f"{path}: cannot use this database: not a SQLite database" in res.stderr
    assert path.read_bytes().startswith(b"these are my notes")  # left alone


def test_a_corrupt_database_gives_a_clear_message(tmp_path, fresh):
    path = tmp_path / "corrupt.db"
    data = bytearray(fresh.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page after the first destroyed
    path.write_bytes(bytes(data))
    res = invoke(["flags", "--db", str(path)])
    assert res.exit_code in (1, 2), res.output
    assert "Traceback" not in res.output
    assert str(path) in res.stderr and "corrupt" in res.stderr


def test_a_database_path_that_cannot_be_created_gives_a_clear_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    profile = Path(__file__).parent.parent / "crawler" / "demo" / "profile.toml"
    for db in (blocker / "x.db", Path("/proc/serpwatch-test/x.db")):
        res = invoke(["crawl", str(profile), "--db", str(db)])
        assert res.exit_code == 2, res.output
        # The lock beside the database (crawler.lock) or the database itself says so.
        assert str(db) in res.stderr and "cannot" in res.stderr
        assert "Traceback" not in res.output


def test_a_full_disk_ends_the_run_failed_keeps_what_was_stored_and_says_what_was_lost(
    tmp_path,
):
    """SERPWATCH_DB_MAX_BYTES caps the file (SQLite's max_page_count): the same error
    as a full disk, without a small file system."""
    from enginesim import EngineSim
    from test_runs_truth import SCAM, crawl

    db = tmp_path / "full.db"
    conn = storage.open_db(db)
    (pages,) = conn.execute("pragma page_count").fetchone()
    # Pages a migration freed (0013 drops two indexes) are room too.
    (free,) = conn.execute("pragma freelist_count").fetchone()
    conn.close()
    with EngineSim() as sim:
        sim.serve("bing", {1: "ads-helpdesk-nl"})
        sim.sites["microsoft-hulpdesk.example"] = SCAM
        # Room for the run record and a few items, not for the whole crawl.
        cap = (pages - free + 6) * 4096
        code, out, err, _ = crawl(
            tmp_path, sim, [("bing", sim.url("bing"))], db, "-s", f"SERPWATCH_DB_MAX_BYTES={cap}"
        )
    assert code == 1, err[-3000:]
    assert out.splitlines()[0].endswith("; failed")
    assert "LOST:" in out and "could not be stored" in out
    assert "Traceback" not in out
    conn = sqlite3.connect(db)
    assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
    (status,) = conn.execute("select status from runs where id = 1").fetchone()
    assert status == "failed"
    # Whatever was committed before the disk filled is still there, whole.
    (orphans,) = conn.execute(
        "select count(*) from sightings s left join pages p on p.id = s.page_id where p.id is null"
    ).fetchone()
    assert orphans == 0


def _one_flagged_pair(path: Path) -> Path:
    from test_history_truth import first_run

    db = storage.open_db(path)
    first_run(db)
    db.conn.execute("pragma wal_checkpoint(truncate)")
    db.close()
    return path


def _wreck_page_of(path: Path, table: str) -> None:
    """Overwrite the root page of `table`: a damaged page the open does not read."""
    conn = sqlite3.connect(path)
    (size,) = conn.execute("pragma page_size").fetchone()
    (root,) = conn.execute("select rootpage from sqlite_master where name = ?", [table]).fetchone()
    conn.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xa5" * size)


def test_a_damaged_page_met_after_opening_exits_2_naming_the_file(tmp_path):
    """The open reads the schema, not every table: a page damaged inside a table is
    met later, by the command's own reads. It said `DatabaseError: database disk
    image is malformed` with exit 1, and no file."""
    path = _one_flagged_pair(tmp_path / "damaged.db")
    _wreck_page_of(path, "site_numbers")
    for args in (["flags"], ["export", "--format", "jsonl"]):
        res = invoke([*args, "--db", str(path)])
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith(
            f"error: {path}: cannot use this database: database file is corrupt;"
            f" `sqlite3 {path} 'pragma integrity_check'` shows where"
        ), res.stderr


def test_a_read_only_database_file_says_so_when_a_command_writes(tmp_path):
    """A file the user may read but not write opens (SQLite falls back to reading);
    the first write failed with `OperationalError: attempt to write a readonly
    database`, exit 1, and no file."""
    path = _one_flagged_pair(tmp_path / "ro.db")
    before = path.read_bytes()
    path.chmod(0o444)
    immutable = os.geteuid() == 0  # root writes a 0444 file; not an immutable one
    if immutable:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        res = invoke(["triage", "scam.nl", "--dismiss", "--db", str(path)])
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == (
        f"error: {path}: cannot use this database: database is read-only;"
        " make the file and its folder writable, or work on a copy"
    )
    assert path.read_bytes() == before


def test_a_database_of_another_program_is_left_as_it_is(tmp_path):
    """A SQLite file serpwatch did not make was "upgraded" as a release 0.1
    database: 134 tables added to it, columns added to its own `runs`."""
    path = tmp_path / "notes.db"
    conn = sqlite3.connect(path)
    conn.execute("create table runs (x text)")
    conn.execute("create table todo (item text)")
    conn.execute("insert into runs values ('precious')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    for args in (["flags"], ["runs"], ["triage", "scam.nl", "--dismiss"]):
        res = invoke([*args, "--db", str(path)])
        assert res.exit_code == 2, res.output
        assert res.stderr.strip() == (
            f"error: {path}: cannot use this database: not a serpwatch database (tables or"
            " columns serpwatch never makes: runs.x, todo); check --db"
        )
    assert path.read_bytes() == before


def test_evidence_on_an_unusable_database_gives_one_line_not_a_traceback(tmp_path):
    path = tmp_path / "noise.db"
    path.write_bytes(bytes(range(256)) * 400)
    res = invoke(["evidence", "+31852081234", "--db", str(path), "--out", str(tmp_path / "e")])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == f"error: {path}: cannot use this database: not a SQLite database"
    assert not (tmp_path / "e").exists()


def test_serve_names_a_port_out_of_range_and_an_unknown_host_as_bad_usage(fresh):
    """Both said "another `serpwatch serve`?" (or an OverflowError) with exit 1."""
    for args, named in (
        (["--port", "70000"], "--port"),
        (["--host", "no-such-host.invalid"], "--host"),
    ):
        res = invoke(["serve", "--db", str(fresh), *args])
        assert res.exit_code == 2, res.output
        assert f"Invalid value for {named}" in res.output.replace("'", "")
        assert "another `serpwatch serve`" not in res.output


def test_history_of_a_number_decided_on_before_any_run_saw_it(fresh):
    assert invoke(["triage", "+31852081234", "--dismiss", "--db", str(fresh)]).exit_code == 0
    res = invoke(["history", "+31852081234", "--db", str(fresh)])
    assert res.exit_code == 0, res.output
    assert "not seen in any run yet" in res.output
    assert "None" not in res.output


def test_runs_lines_up_every_status(fresh):
    """`interrupted` is 11 letters: its profile stood two columns right of the others."""
    conn = sqlite3.connect(fresh)
    with conn:
        for i, status in enumerate(("finished", "interrupted", "partial", "blocked"), 1):
            conn.execute(
                "insert into runs (id, status, started_at, profile) values (?, ?, ?, 'demo')",
                [i, status, f"2026-12-0{i}T06:00:00+00:00"],
            )
    conn.close()
    res = invoke(["runs", "--db", str(fresh)])
    assert res.exit_code == 0, res.output
    heads = [line for line in res.output.splitlines() if not line.startswith(" " * 6)]
    assert len(heads) == 4 and len({line.index(" demo") for line in heads}) == 1, res.output


def test_ctrl_c_while_the_program_starts_ends_quietly(fresh):
    """Before a command runs, `serpwatch` imports click and its commands: a SIGINT then
    ended in a KeyboardInterrupt traceback of whatever module was being imported."""
    import signal
    import time

    for delay in (0.03, 0.06, 0.1):
        proc = subprocess.Popen(
            [str(EXE), "flags", "--db", str(fresh)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err, (delay, err[-2000:])
        assert proc.returncode in (0, 130, -signal.SIGINT), (delay, proc.returncode)
