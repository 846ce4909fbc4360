"""SQL lives in storage (issue 12, step 5): no module above it runs SQL or opens a
table, and SQL reads `Facts` fields by JSON path only through `storage.facts_field`,
whose names are checked against the dataclass here."""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest

from crawler import storage
from crawler.scoring.facts import Facts

ROOT = Path(__file__).resolve().parent.parent
# Where SQL may live: storage and the schema's migrations. Datasette's plugins
# (crawler/datasette) query through Datasette's own asynchronous API inside
# `serpwatch serve`, not through a serpwatch connection: they stay where they are.
SQL_HOME = "crawler/storage/"  # the package: its schema, saves and queries
OUTSIDE = ("crawler/datasette/",)
SQL = re.compile(r"\b(select|insert|update|delete|create|drop|pragma|with|alter)\b", re.I)
RUNS_SQL = {"execute", "executemany", "executescript", "query"}
TABLE_API = {"rows_where", "count_where", "insert_all", "upsert_all", "delete_where"}


def _modules():
    for top in ("crawler", "pipelines", "spiders"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith((SQL_HOME, *OUTSIDE)):
                yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _text(node) -> str:
    """The literal text of a string, f-string or concatenation (placeholders dropped)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _text(node.left) + " " + _text(node.right)
    return ""


def offences(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in RUNS_SQL and node.args and SQL.search(_text(node.args[0])):
                found.append((node.lineno, f".{name}() with SQL"))
            elif name in TABLE_API:
                found.append((node.lineno, f"sqlite-utils .{name}()"))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "db"
            and isinstance(node.slice, ast.Constant | ast.Name | ast.JoinedStr)
        ):
            found.append((node.lineno, "a table opened with db[...]"))
    return found


def test_no_sql_outside_storage():
    bad = [f"{rel}:{line}: {what}" for rel, tree in _modules() for line, what in offences(tree)]
    assert not bad, "SQL belongs in crawler/storage/:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "source",
    [
        'db.execute("select 1 from runs")',
        'db.execute(f"update [{table}] set x = 1")',
        'db.conn.executemany("insert into t values (?)", rows)',
        'list(db.query("with a as (select 1) select * from a"))',
        'db["runs"].get(1)',
        'db["triage"].rows_where("key = ?", [k])',
        'x.count_where("a = 1")',
    ],
)
def test_the_guard_sees_sql(source):
    assert offences(ast.parse(source))


@pytest.mark.parametrize(
    "source", ["pipe.execute()", 'self.r.execute_command("GET", k)', 'rows["db"]', "q.query"]
)
def test_the_guard_leaves_other_calls_alone(source):
    assert not offences(ast.parse(source))


def test_facts_read_by_sql_are_facts_fields():
    names = {f.name for f in fields(Facts)}
    assert set(storage.FACTS_READ_BY_SQL) <= names, set(storage.FACTS_READ_BY_SQL) - names
    for name in storage.FACTS_READ_BY_SQL:
        assert storage.facts_field(name) == f"json_extract(facts, '$.{name}')"
    with pytest.raises(KeyError):
        storage.facts_field("no_such_fact")


def _source_of(function) -> str:
    return Path(inspect.getsourcefile(function)).resolve().relative_to(ROOT).as_posix()


def test_no_facts_json_path_outside_the_helper():
    """A `'$.field'` path on facts is written only by `storage.facts_field` (and in the
    frozen migration 0012, whose partial index names `brand_listing`)."""
    path = re.compile(r"facts\s*,\s*'\$\.")
    for top in ("crawler", "pipelines", "spiders"):
        for file in (ROOT / top).rglob("*.py"):
            rel = file.relative_to(ROOT).as_posix()
            text = file.read_text(encoding="utf-8")
            if rel == _source_of(storage.facts_field):
                text = text.replace(inspect.getsource(storage.facts_field), "")
            if rel == "crawler/storage/schema.py":
                assert set(re.findall(r"facts, '\$\.(\w+)'", text)) <= set(
                    storage.FACTS_READ_BY_SQL
                )
                continue
            assert not path.search(text), f"{rel} reads facts by JSON path"
