"""Plain-text tables for the terminal."""

from __future__ import annotations


def text_table(head: tuple, rows: list[tuple]) -> str:
    """Left-aligned columns two spaces apart, a dashed rule under the header."""
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]

    def line(row) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    # The last column (a reason, a URL) runs long: its rule only underlines the header.
    rule = "  ".join(["-" * w for w in widths[:-1]] + ["-" * len(str(head[-1]))])
    return "\n".join([line(head), rule, *map(line, rows)])


def flag_table(records: list[dict], *, since: bool = False) -> str:
    """Flagged pairs, one per line, ending with the main reason; `since` adds new/back/seen/gone."""
    head = ("number", "brand", "risk", "score", "site", "main reason")
    rows = [
        (
            r["phone"],
            r["brand"] or "-",
            r["risk"] or "-",
            str(r["score"]),
            r["domain"],
            (r["reasons"] or ["-"])[0],
        )
        for r in records
    ]
    if since:
        head = ("since", "status", *head)
        rows = [(r["since"], r["status"], *row) for r, row in zip(records, rows, strict=True)]
    return text_table(head, rows)
