from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from crawler import storage


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_shows_the_database_in_datasette(tmp_path):
    db = storage.open_db(tmp_path / "s.db")
    storage.start_run(db, "p")
    db.close()
    port = free_port()
    exe = Path(sys.executable).with_name("serpwatch")
    proc = subprocess.Popen(
        [str(exe), "serve", "--db", str(tmp_path / "s.db"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/s/runs.json?_shape=array"
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(url) as r:
                    rows = json.load(r)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert [row["profile"] for row in rows] == ["p"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_without_database_is_a_clear_error(tmp_path):
    exe = Path(sys.executable).with_name("serpwatch")
    proc = subprocess.run(
        [str(exe), "serve", "--db", str(tmp_path / "none.db")], capture_output=True, text=True
    )
    # A read command on a missing database: exit 2 (bad usage), and nothing created.
    assert proc.returncode == 2
    assert "no such database" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "none.db").exists()
