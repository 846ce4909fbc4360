"""The schema as migrations (crawler.storage.schema): a release-0.1 database is upgraded in
place, a new one gets every migration, a newer one is refused."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from crawler import storage
from crawler.cli import main
from crawler.storage import schema

FIXTURES = Path(__file__).parent / "fixtures" / "db"


def _copy(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copy(FIXTURES / name, dest)
    return dest


def _shape(db: Database) -> dict[str, set[str]]:
    return {
        t: set(db[t].columns_dict)
        for t in db.table_names()
        if not t.startswith(("_sqlite_migrations", "sqlite_"))
    }


def _indexes(db: Database) -> dict[str, set[tuple]]:
    return {t: {tuple(i.columns) for i in db[t].indexes} for t in db.table_names()}


def test_a_new_database_gets_every_migration_in_order(tmp_path):
    db = storage.open_db(tmp_path / "new.db")
    assert schema.applied_names(db) == schema.known_names()
    assert schema.known_names()[0] == "0001_baseline_0_1"
    assert storage.ensure_db_shape(db) == []  # nothing pending the second time


def test_release_0_1_database_is_upgraded_in_place_and_keeps_everything(tmp_path):
    path = _copy(tmp_path, "release-0.1-demo.db")
    before = sqlite3.connect(path)
    counts = {
        t: before.execute(f"select count(*) from [{t}]").fetchone()[0]
        for (t,) in before.execute("select name from sqlite_master where type = 'table'")
    }
    flagged_before = before.execute(
        "select domain, phone, score from site_numbers where flagged = 1 order by 1, 2"
    ).fetchall()
    before.close()
    assert "_sqlite_migrations" not in counts  # 0.1 knew no migrations

    db = storage.open_db(path)
    assert schema.applied_names(db) == schema.known_names()
    for table, n in counts.items():
        assert db[table].count == n, table  # upgraded, not re-created
    assert (
        db.execute(
            "select domain, phone, score from site_numbers where flagged = 1 order by 1, 2"
        ).fetchall()
        == flagged_before
    )
    assert db["triage"].count == 1 and db["export_items"].count == 4
    # The upgraded file has exactly the shape of a new one.
    new = storage.open_db(tmp_path / "new.db")
    assert _shape(db) == _shape(new)
    assert _indexes(db) == _indexes(new)


def test_release_0_1_database_that_never_crawled_gets_the_columns_0_1_added_on_the_fly(tmp_path):
    # 0.1 created columns such as sightings.facts and pages.engines during the
    # first crawl (alter=True upserts): a file opened but never crawled lacks them.
    path = _copy(tmp_path, "release-0.1-opened.db")
    raw = Database(path)
    assert "facts" not in raw["sightings"].columns_dict
    assert "changes" not in raw.table_names()
    raw.close()
    db = storage.open_db(path)
    assert {"facts", "flagged", "engines"} <= set(db["sightings"].columns_dict)
    assert "changes" in db.table_names()
    run = storage.start_run(db, "p")
    page = {
        "url": "http://scam.nl/",
        "entry_url": "http://scam.nl/",
        "domain": "scam.nl",
        "status": 200,
        "engine": "bing",
        "engines": ["bing"],
        "appearances": [],
        "query": "q",
        "brand": "Microsoft",
        "is_ad": False,
        "rank": 1,
        "serp_url": "http://e/",
    }
    verdict = {"phone": "+31852081234", "score": 80, "risk": "high", "reasons": ["r"]}
    storage.save_page(db, run, page, [{**verdict, "flagged": True, "facts": {"x": 1}}])
    assert db["sightings"].count == 1


def test_upgrade_is_logged_once_per_migration_by_any_command(tmp_path):
    path = _copy(tmp_path, "release-0.1-demo.db")
    result = CliRunner().invoke(main, ["runs", "--db", str(path)])
    assert result.exit_code == 0, result.output
    for name in schema.known_names():
        assert f"applied schema migration {name}" in result.stderr
    again = CliRunner().invoke(main, ["runs", "--db", str(path)])
    assert "schema migration" not in again.stderr


def test_a_database_from_a_newer_serpwatch_is_refused_with_exit_2(tmp_path):
    path = tmp_path / "future.db"
    db = storage.open_db(path)
    db["_sqlite_migrations"].insert(
        {"migration_set": schema.SET, "name": "9999_from_the_future", "applied_at": "2030"}
    )
    db.close()
    with pytest.raises(schema.SchemaTooNew, match="9999_from_the_future"):
        storage.open_db(path)
    result = CliRunner().invoke(main, ["flags", "--db", str(path)])
    assert result.exit_code == 2
    assert "newer serpwatch" in result.stderr and "Traceback" not in result.output


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    path = _copy(tmp_path, "release-0.1-opened.db")

    def broken(db):
        db["runs"].add_column("half_done", str)
        raise RuntimeError("boom")

    monkeypatch.setattr(
        schema.migrations,
        "_migrations",
        [*schema.migrations._migrations, schema.Migrations._Migration("9998_broken", broken)],
    )
    with pytest.raises(RuntimeError):
        storage.open_db(path)
    db = Database(path)
    assert "half_done" not in db["runs"].columns_dict
    assert "9998_broken" not in schema.applied_names(db)
