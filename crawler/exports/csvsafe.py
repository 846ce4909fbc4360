"""Spreadsheet-safe CSV cells: no cell can start a formula.

Spreadsheets (Excel, LibreOffice, Google Sheets) run a cell as a formula when
it starts with `=`, `+`, `-` or `@`, and a leading tab or carriage return can
hide such a start. Scam pages choose their own titles and URLs, so any cell
may carry `=HYPERLINK(...)` or a DDE payload.

The choice (OWASP's "CSV injection" advice): a cell whose first character, or
first character after leading spaces, is one of `= + - @ TAB CR LF` gets one
apostrophe in front. An apostrophe makes a spreadsheet treat the cell as
text, so E.164 numbers stay readable and exact: `'+31852081234` instead of
the number 31852081234 (the plus lost, maybe shown as 3.19E+10). Cells that
already start with an apostrophe get one more, so the rule can be undone
exactly: a program reading the CSV drops one leading apostrophe from any
cell that has one (`unescape_cell`). Nothing else in the cell changes.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

# A list of strings in one cell (reasons, a group's distinct values): joined by this.
LIST_SEPARATOR = "; "


def escape_cell(value: str) -> str:
    """The cell as a spreadsheet will show it as text, never as a formula."""
    if value.startswith("'") or value.lstrip(" ").startswith(FORMULA_START):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """Undo `escape_cell`: drop one leading apostrophe."""
    return value[1:] if value.startswith("'") else value
