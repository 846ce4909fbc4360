"""The layout that shows the architecture (issue 12, step 9), and the import paths
DESIGN.md names, which keep working as packages or thin re-exports."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from crawler import settings

ROOT = Path(__file__).resolve().parents[1]
# DESIGN.md's layout: crawler/ settings.py, items.py, config.py, engines/, phones.py,
# scoring.py, storage.py, exports/, middlewares.py, demo/, cli.py.
DESIGN_PATHS = (
    "crawler.settings crawler.items crawler.config crawler.engines crawler.phones"
    " crawler.scoring crawler.storage crawler.exports crawler.middlewares crawler.demo"
    " crawler.cli"
).split()


@pytest.mark.parametrize("name", DESIGN_PATHS)
def test_the_paths_design_names_import(name):
    importlib.import_module(name)


def test_the_settings_middlewares_are_the_guards_own():
    from crawler import middlewares
    from crawler.net import middlewares as guard

    ours = [p for p in settings.DOWNLOADER_MIDDLEWARES if p.startswith("crawler.")]
    assert len(ours) >= 7
    for path in ours:
        module, _, name = path.rpartition(".")
        assert module == "crawler.middlewares", path
        assert getattr(middlewares, name) is getattr(guard, name)


@pytest.mark.parametrize(
    ("package", "modules"),
    [
        ("net", {"netguard", "resolver", "limits", "middlewares"}),
        ("storage", {"connection", "schema", "facts", "saves", "crawl_runs", "reads"}),
        ("scoring", {"facts"}),
        ("cli", {"common", "serp"}),
    ],
)
def test_the_packages_hold_their_modules(package, modules):
    found = {p.stem for p in (ROOT / "crawler" / package).glob("*.py")}
    assert "__init__" in found and modules <= found, modules - found


def test_moved_modules_are_gone_from_the_top():
    # Moved, not copied (crawler/middlewares.py is the one re-export DESIGN.md asks for).
    top = {p.name for p in (ROOT / "crawler").glob("*.py")}
    gone = {"netguard.py", "resolver.py", "limits.py", "schema.py", "storage.py", "cli.py"}
    assert not top & gone, top & gone
    assert "scoring.py" not in top


def test_every_name_of_storage_is_one_object():
    # `from crawler.storage import X` is the function its module defines, not a copy.
    import crawler.storage as storage

    for name in storage.__all__:
        value = getattr(storage, name)
        home = getattr(value, "__module__", None)
        if home and home.startswith("crawler.storage."):
            assert getattr(importlib.import_module(home), name) is value, name
