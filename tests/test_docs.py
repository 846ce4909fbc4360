"""The README documents every command, and every command's help has an example."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli import main

README = (Path(__file__).parents[1] / "README.md").read_text()


def commands(group: click.Group, prefix: str = "serpwatch"):
    for name, cmd in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            yield from commands(cmd, full)
        else:
            yield full, cmd


ALL = sorted(commands(main))


def test_there_are_commands():
    names = {name for name, _ in ALL}
    assert {"serpwatch demo", "serpwatch crawl", "serpwatch export", "serpwatch flags"} <= names


def test_every_command_is_in_the_readme():
    missing = [name for name, _ in ALL if f"`{name}" not in README]
    assert not missing, f"document these in README.md: {missing}"


def test_every_command_help_has_an_example():
    missing = [name for name, cmd in ALL if "Example: " not in (cmd.help or "")]
    assert not missing, f"add 'Example: ...' to the docstring of: {missing}"


def test_the_points_table_is_the_codes():
    from crawler.scoring import POINTS, points_table
    from crawler.scoring.points import NUMBER_ROWS, README_ROWS, SITE_ROWS

    for rows in (README_ROWS, NUMBER_ROWS, SITE_ROWS):
        table = points_table(rows)
        assert table in README, "paste `python -m crawler.scoring.points` into README.md"
    in_rows = {
        s for r in (README_ROWS, NUMBER_ROWS, SITE_ROWS) for _, signals, _ in r for s in signals
    }
    assert in_rows == set(POINTS), f"README rows miss {sorted(set(POINTS) - in_rows)}"
