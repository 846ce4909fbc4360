"""Edits to the maintainers' TOML files that keep their comments, order and layout (tomlkit).

- `propose_brands(text, report, today)`: a brands file with the proposals of
  a `brands check` (crawler.brandcheck) written in and marked `REVIEW`:
  confirmed numbers get `checked` (and the page as `source`), numbers gone
  from the page get a note, numbers found on the page but not listed are
  added, moved pages get a comment. The caller writes it to a new file.
- `add_extra(text, queries, today)`: a profile with queries appended to
  `[queries] extra` (`serpwatch queries suggest --add`).

Both take and return text, so the original file is only ever replaced by
the caller, and only where the command says so.
"""

from __future__ import annotations

import datetime as dt

import tomlkit
from tomlkit.items import Array, InlineTable, String, Table

from crawler.config import query_key

REVIEW = "REVIEW"


def _entry(item) -> InlineTable:
    """A `phones` entry as an inline table (a plain string becomes {number = ...})."""
    if isinstance(item, InlineTable):
        return item
    table = tomlkit.inline_table()
    table["number"] = str(item)
    return table


def propose_brands(text: str, report, today: dt.date) -> str:
    """The brands file `text` with the report's proposals marked for review."""
    doc = tomlkit.parse(text)
    checks = {b.brand: b for b in report.brands}
    for table in doc.get("brands", []):
        check = checks.get(str(table.get("name", "")).strip())
        if check is None or not check.pages:
            continue
        _propose_brand(table, check, today)
    header = (
        f"# Proposed by `serpwatch brands check` on {today.isoformat()} from"
        f" {report.brands_file}.\n# Review every line marked {REVIEW}, then replace the"
        " original with this file.\n"
    )
    return header + tomlkit.dumps(doc)


def _propose_brand(table: Table, check, today: dt.date) -> None:
    if "phones" not in table:
        table["phones"] = tomlkit.array()
    phones = table["phones"]
    if not isinstance(phones, Array):  # a single string or table: make it a list
        phones = tomlkit.array([phones])
        table["phones"] = phones
    by_phone = {n.phone: n for n in check.numbers}
    listed = {n.raw: n for n in check.numbers if n.state != "unlisted"}
    for i, item in enumerate(list(phones)):
        raw = str(item["number"] if isinstance(item, InlineTable) else item)
        number = listed.get(raw)
        if number is None:
            continue
        if number.state == "confirmed":
            entry = _entry(item)
            entry["checked"] = today
            if not str(entry.get("source", "")):
                entry["source"] = number.url
            phones[i] = entry
        elif number.state == "stale":
            entry = _entry(item)
            old = str(entry.get("note", ""))
            note = f"{REVIEW}: not on {number.url} on {today.isoformat()}: stale?"
            entry["note"] = note + (f" (was: {old})" if old else "")
            phones[i] = entry
    added = [
        n for n in by_phone.values() if n.state == "unlisted" and not n.is_fax and not n.listed_for
    ]
    for n in added:
        entry = tomlkit.inline_table()
        entry.update(
            {
                "number": n.raw,
                "source": n.url,
                "checked": today,
                "note": f"{REVIEW}: on the brand's page, not listed: {_short(n.context)}",
            }
        )
        phones.add_line(entry, comment=f"{REVIEW}: proposed by brands check")
    if added or len(phones) > 1:
        phones.multiline(True)
    moved = [p for p in check.pages if p.outcome == "moved"]
    if moved and "source" in table:
        where = "; ".join(f"{p.url} -> {p.final_url}" for p in moved)
        table["source"].comment(f"{REVIEW}: moved: {where}")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def add_extra(text: str, queries: list[str], today: dt.date) -> tuple[str, list[str]]:
    """The profile `text` with `queries` appended to [queries] extra; and those added."""
    doc = tomlkit.parse(text)
    if "queries" not in doc:
        doc["queries"] = tomlkit.table()
    section = doc["queries"]
    if "extra" not in section:
        section["extra"] = tomlkit.array()
    extra = section["extra"]
    if isinstance(extra, String):
        extra = tomlkit.array([str(extra)])
        section["extra"] = extra
    have = {query_key(str(q)) for q in extra}
    added = []
    for q in queries:
        if query_key(q) in have:
            continue
        have.add(query_key(q))
        extra.add_line(q, comment=f"added by queries suggest on {today.isoformat()}")
        added.append(q)
    if added:
        extra.multiline(True)
    return tomlkit.dumps(doc), added
