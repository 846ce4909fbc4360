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
    """Flagged numbers, each with its sites under it: the number's line has the
    number's verdict (over all its sightings) and its main reason; each site's line
    the pair's verdict, the site's risk and the pair's main reason. `since` adds
    new/back/seen/gone and the status on the site lines."""
    head = ("number", "brand", "risk", "score", "site", "main reason")
    if since:
        head = ("since", "status", *head)
    rows = []
    for phone, pairs in _by_number(records):
        first = pairs[0]
        n_score = first.get("number_score")
        n_reasons = first.get("number_reasons") or []
        number_line = (
            phone,
            first["brand"] or "-",
            first.get("number_risk") or first["risk"] or "-",
            str(n_score if n_score is not None else first["score"]),
            f"{len(pairs)} site(s)",
            (n_reasons or first["reasons"] or ["-"])[0],
        )
        rows.append(("", "", *number_line) if since else number_line)
        for r in pairs:
            site_risk = r.get("site_risk")
            if r["domain"]:
                site = f"  {r['domain']}" + (f" (site {site_risk})" if site_risk else "")
            else:  # a card without a website (issue 16): its listing on the engine
                site = f"  (no website) {r['engine']} card"
            line = ("", "", r["risk"] or "-", str(r["score"]), site, (r["reasons"] or ["-"])[0])
            rows.append((r["since"], r["status"], *line) if since else line)
    return text_table(head, rows)


def _by_number(records: list[dict]) -> list[tuple[str, list[dict]]]:
    """Records grouped by number, the number with the highest verdict first, each
    group's pairs in the order given."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["phone"], []).append(r)

    def rank(item):
        phone, pairs = item
        score = pairs[0].get("number_score")
        best = max(p["score"] or 0 for p in pairs)
        return (-(score if score is not None else best), phone)

    return sorted(groups.items(), key=rank)
