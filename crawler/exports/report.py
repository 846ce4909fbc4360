"""A report for people: one self-contained HTML file about a crawl run.

Counts, the flags that are new in the run, a chart of flagged numbers over
time per brand (inline SVG), the top sites and numbers. No scripts, no
external assets: a Content-Security-Policy forbids both. Every piece of text
that came from a page, a result or the database goes through `html.escape`;
URLs are shown as text, never as links, since they point at scam sites.
"""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from html import escape
from pathlib import Path

from sqlite_utils import Database

from crawler import stats_keys, storage
from crawler.exports.rows import status_at

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
MAX_TEXT = 160


def e(value, limit: int = MAX_TEXT) -> str:
    """Escape any value for HTML text or a quoted attribute; long text is cut."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text, quote=True)


_BREAK_AFTER = re.compile(r"(?<=[/.?&=,_:;)-])")


def soft(value, limit: int = MAX_TEXT) -> str:
    """Like `e`, with line-break opportunities (<wbr>) after URL separators only.

    Cells never break a word in the middle (no `break-all`, no
    `overflow-wrap: anywhere`); a URL or a long token may wrap after a `/`,
    `.`, `?`, `&`, `=`, `,`, `_`, `:`, `;`, `)` or `-`.
    """
    text = "" if value is None else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "<wbr>".join(escape(part, quote=True) for part in _BREAK_AFTER.split(text))


def resolve_run(db: Database, run: str | int | None) -> dict:
    """The run to report on: "last" (or None) is the newest; else an id."""
    if run in (None, "last"):
        found = storage.find_run(db)
        if found is None:
            raise LookupError("the database has no crawl runs yet")
        return found
    try:
        run_id = int(run)
    except (TypeError, ValueError):
        raise LookupError(f"--run must be 'last' or a run id, not {run!r}") from None
    found = storage.find_run(db, run_id)
    if found is None:
        raise LookupError(f"no run {run_id} in the database")
    return found


def series(db: Database, up_to_run: int) -> tuple[list[dict], dict[str, dict[int, int]]]:
    """Runs up to `up_to_run` and, per brand, distinct numbers flagged in each (as then)."""
    runs = storage.runs_up_to(db, up_to_run)
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    # What was known at each run: the sightings' verdicts as that run closed
    # (triage decisions made later change the flags, not the history).
    for row in storage.flagged_numbers_per_run(db, up_to_run):
        counts[row["brand"]][row["run_id"]] = row["n"]
    return runs, dict(sorted(counts.items()))


def chart_svg(runs: list[dict], counts: dict[str, dict[int, int]]) -> str:
    """Flagged numbers per run and brand as an inline SVG line chart."""
    width, height, left, right, top, bottom = 720, 280, 48, 170, 16, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    if not runs:
        return "<p>No runs yet.</p>"
    peak = max([n for per in counts.values() for n in per.values()] + [1])
    step = max(1, -(-peak // 5))
    ymax = step * -(-peak // step)

    def x(i: int) -> float:
        return left + (plot_w / 2 if len(runs) == 1 else plot_w * i / (len(runs) - 1))

    def y(n: int) -> float:
        return top + plot_h - plot_h * n / ymax

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Flagged numbers per run and brand">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for tick in range(0, ymax + 1, step):
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11">{tick}</text>'
        )
    every = max(1, len(runs) // 8)
    for i, run in enumerate(runs):
        if i % every and i != len(runs) - 1:
            continue
        label = f"#{run['id']} {(run['started_at'] or '')[:10]}"
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'font-size="11">{e(label)}</text>'
        )
    index = {run["id"]: i for i, run in enumerate(runs)}
    for n, (brand, per) in enumerate(counts.items()):
        color = PALETTE[n % len(PALETTE)]
        points = [(index[r], per.get(r, 0)) for r in (run["id"] for run in runs)]
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
        parts.append(
            f'<polyline class="series" data-brand="{e(brand)}" fill="none" stroke="{color}" '
            f'stroke-width="2" points="{path}"/>'
        )
        for i, v in points:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{color}">'
                f"<title>{e(brand)}, run #{runs[i]['id']}: {v} numbers</title></circle>"
            )
        ly = top + 14 + 18 * n
        parts.append(
            f'<rect x="{left + plot_w + 14}" y="{ly - 9}" width="12" height="12" fill="{color}"/>'
            f'<text x="{left + plot_w + 32}" y="{ly + 1}" font-size="12">{e(brand, 22)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
        'font-size="11" fill="#555">crawl run</text></svg>'
    )
    return "".join(parts)


def _table(head: list[str], rows: list[list], css: str = "", row_css=None) -> str:
    if not rows:
        return "<p class=none>None.</p>"
    out = [f'<div class="scroll"><table class="{css}"><thead><tr>']
    out += [f"<th>{e(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        cls = f' class="{e(row_css[i])}"' if row_css else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _status(p: dict) -> str:
    """The analysts' status of a pair, with the day it was decided."""
    when = f" {e((p.get('status_at') or '')[:10])}" if p.get("status_at") else ""
    return f'<span class="status">{e(p.get("status") or "new")}{when}</span>'


def _evidence(p: dict) -> str:
    """The WARC record (and screenshot, where there is one) that back a flag."""
    parts = []
    if p.get("warc_record_id"):
        parts.append(f'<span class="ev">{soft(p["warc_record_id"])}</span>')
        parts.append(f'<span class="ev">{soft(p.get("warc_file") or "")}</span>')
    shot = _screenshot_record(p.get("screenshot"))
    if shot:
        parts.append(f'<span class="ev">screenshot {soft(shot)}</span>')
    return "<br>".join(parts) or "-"


def _screenshot_record(value) -> str:
    """The WARC record id of a flag's screenshot: the column holds JSON
    (`warc_record_id`, `warc_file`, `path`; crawler/render/shots.py)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return (value or {}).get("warc_record_id") or "" if isinstance(value, dict) else ""


def _risk(risk) -> str:
    return f'<span class="risk {e(risk)}">{e(risk)}</span>'


def run_pairs(db: Database, run_id: int) -> list[dict]:
    """The pairs the run saw, flagged or dismissed, with their status as the exports give
    it (`status`, `status_at`); only the columns the report shows (storage.run_pair_rows)."""
    decisions = storage.latest_decisions(db)
    rows = storage.run_pair_rows(db, run_id)
    for p in rows:
        p["status"] = storage.pair_status(p["number_status"], p["site_status"])
        p["status_at"] = status_at(p, decisions)
    return rows


def _main_reason(p: dict) -> str:
    """The pair's first reason (its reasons are JSON text, decoded only for rows shown)."""
    return (json.loads(p["reasons"] or "[]") or ["-"])[0]


def build_report(db: Database, run: str | int | None = "last") -> str:
    """The report's HTML for one run (default the newest)."""
    r = resolve_run(db, run)
    run_id = r["id"]
    stats = json.loads(r["stats"] or "{}")
    # Flags as they stand now, triage included; dismissed pairs are shown, not counted.
    # Only the pairs the run saw are read (the rest of a year's flags is counted).
    shown = run_pairs(db, run_id)
    in_run = [p for p in shown if p["status"] != "dismissed"]
    new = [p for p in shown if p.get("first_run") == run_id]
    numbers = {p["phone"] for p in in_run}
    sites = {p["domain"] for p in in_run}
    by_risk = {k: sum(1 for p in in_run if p["risk"] == k) for k in ("high", "medium", "low")}
    landing = storage.run_page_count(db, run_id)
    counts = [
        ("result pages", stats.get(stats_keys.SERP_PAGES.total, 0)),
        ("landing pages", landing),
        ("flagged pairs", len(in_run)),
        ("flagged numbers", len(numbers)),
        ("flagged sites", len(sites)),
        ("new flags", len(new)),
        ("high", by_risk["high"]),
        ("medium", by_risk["medium"]),
        ("low", by_risk["low"]),
        ("confirmed", sum(1 for p in in_run if p["status"] == "confirmed")),
        ("dismissed", sum(1 for p in shown if p["status"] == "dismissed")),
        ("flagged numbers, all runs", storage.flagged_number_count(db)),
    ]
    runs, per_brand = series(db, run_id)

    top_sites: dict[str, dict] = {}
    for p in in_run:
        s = top_sites.setdefault(
            p["domain"], {"phones": set(), "score": 0, "risk": None, "brands": set(), "ads": 0}
        )
        s["phones"].add(p["phone"])
        s["brands"].add(p["brand"] or "-")
        s["ads"] += int(bool(p["is_ad"]))
        if p["score"] >= s["score"]:
            s["score"], s["risk"] = p["score"], p["risk"]
    site_rows = sorted(top_sites.items(), key=lambda kv: (-kv[1]["score"], -len(kv[1]["phones"])))
    top_numbers: dict[str, dict] = {}
    for p in in_run:
        n = top_numbers.setdefault(
            p["phone"], {"sites": set(), "score": 0, "risk": None, "brands": set(), "p": p}
        )
        n["sites"].add(p["domain"])
        n["brands"].add(p["brand"] or "-")
        if p["score"] >= n["score"]:
            n["score"], n["risk"] = p["score"], p["risk"]
    number_rows = sorted(
        top_numbers.items(), key=lambda kv: (-kv[1]["score"], -len(kv[1]["sites"]))
    )

    summary = storage.RunSummary.from_row(r)
    blocked, warnings = summary.blocked, summary.warnings
    notes = [f"<li class=blocked>BLOCKED: {e(k)}: {e(v)}</li>" for k, v in blocked.items()]
    notes += [f"<li>warning: {e(w)}</li>" for w in warnings]

    html = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>serpwatch report: run {run_id}</title>",
        "<style>",
        "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}",
        "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}",
        ".meta{color:#555}.counts{display:flex;flex-wrap:wrap;gap:10px;padding:0;list-style:none}",
        ".counts li{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:110px}",
        ".counts b{display:block;font-size:22px}",
        "table{border-collapse:collapse;width:100%;margin:4px 0}",
        "th,td{border-bottom:1px solid #e5e5e5;padding:4px 8px;text-align:left;vertical-align:top}",
        # Never a word broken in the middle: URLs wrap at <wbr> after separators;
        # a table wider than the page scrolls.
        "td{overflow-wrap:normal;word-break:normal;hyphens:manual}",
        ".scroll{overflow-x:auto}",
        ".u,.ev{font-family:ui-monospace,monospace;font-size:12px}.ev{color:#555}",
        ".status{white-space:nowrap}.dismissed td{color:#888}",
        ".dismissed .u{text-decoration:line-through}",
        ".risk{padding:1px 6px;border-radius:4px;font-size:12px;color:#fff;white-space:nowrap}",
        "td:first-child{white-space:nowrap}",
        ".high{background:#c62828}.medium{background:#ef6c00}.low{background:#757575}",
        ".blocked{color:#c62828;font-weight:bold}",
        "</style></head><body>",
        f"<h1>serpwatch report: run {run_id}</h1>",
        f'<p class="meta">profile {e(r["profile"])} · started {e(r["started_at"])} · '
        f"finished {e(r['finished_at'])} · status {e(r['status'])}</p>",
    ]
    if notes:
        html.append("<ul>" + "".join(notes) + "</ul>")
    html.append('<h2>Counts</h2><ul class="counts" id="counts">')
    for label, value in counts:
        slug = label.replace(" ", "-").replace(",", "")
        html.append(f'<li data-count="{e(slug)}"><b>{e(value)}</b>{e(label)}</li>')
    html.append("</ul>")
    html.append("<h2>Flagged numbers over time, per brand</h2>")
    html.append(chart_svg(runs, per_brand))
    html.append(f"<h2>New flags in this run ({len(new)})</h2>")
    html.append(
        _table(
            [
                "number", "brand", "risk", "score", "status", "site", "page title",
                "url and evidence", "seen via", "reason",
            ],
            [
                [
                    f'<span class="status">{e(p["phone"])}</span>',
                    e(p["brand"] or "-"),
                    _risk(p["risk"]),
                    e(p["score"]),
                    _status(p),
                    e(p["domain"]),
                    e(p.get("page_title") or ""),
                    f'<span class="u">{soft(p["url"], 200)}</span><br>{_evidence(p)}',
                    e(
                        f"{p['engine']} {'ad' if p['is_ad'] else 'result'} #{p['rank']}: "
                        f"{p['query']}"
                    ),
                    e(_main_reason(p)),
                ]
                for p in new
            ],
            "new",
            [p["status"] for p in new],
        )
    )  # fmt: skip
    decided = [p for p in shown if p["status"] in ("confirmed", "dismissed")]
    html.append(f"<h2>Triage: confirmed and dismissed in this run ({len(decided)})</h2>")
    html.append(
        _table(
            ["number", "site", "status", "risk", "score", "reason", "evidence"],
            [
                [
                    f'<span class="status">{e(p["phone"])}</span>',
                    e(p["domain"]),
                    _status(p),
                    _risk(p["risk"]),
                    e(p["score"]),
                    e(_main_reason(p)),
                    _evidence(p),
                ]
                for p in decided
            ],
            "decided",
            [p["status"] for p in decided],
        )
    )
    html.append("<h2>Top sites</h2>")
    html.append(
        _table(
            ["site", "numbers", "top risk", "top score", "brands", "ads"],
            [
                [
                    e(domain),
                    e(len(s["phones"])),
                    _risk(s["risk"]),
                    e(s["score"]),
                    e(", ".join(sorted(s["brands"]))),
                    e(s["ads"]),
                ]
                for domain, s in site_rows[:10]
            ],
            "sites",
        )
    )
    html.append("<h2>Top numbers</h2>")
    html.append(
        _table(
            ["number", "type", "country", "sites", "top risk", "top score", "brands"],
            [
                [
                    e(phone),
                    e(n["p"].get("number_type")),
                    e(n["p"].get("country")),
                    e(", ".join(sorted(n["sites"]))),
                    _risk(n["risk"]),
                    e(n["score"]),
                    e(", ".join(sorted(n["brands"]))),
                ]
                for phone, n in number_rows[:10]
            ],
            "numbers",
        )
    )
    html.append(screenshots_section(storage.run_screenshots(db, run_id)))
    html.append(
        f'<p class="meta">Generated {e(storage.now())} by serpwatch. Page text is shown '
        "as text; URLs are not links.</p></body></html>"
    )
    return "\n".join(html)


def screenshots_section(shots: list[dict]) -> str:
    """Thumbnails of the run's screenshots (crawler.render), each with its URL and hash."""
    if not shots:
        return ""
    figures = []
    for shot in shots:
        thumb = base64.b64encode(shot["thumbnail"]).decode("ascii") if shot["thumbnail"] else ""
        img = f'<img src="data:image/jpeg;base64,{thumb}" alt="" width="320">' if thumb else ""
        figures.append(
            f'<figure class="shot">{img}<figcaption><span class="u">{e(shot["url"], 200)}'
            f"</span><br>{e(shot['kind'])} {e(shot['width'])}×{e(shot['height'])} · SHA-256 "
            f'<span class="u">{e(shot["sha256"])}</span><br>WARC {e(shot["warc_file"])} '
            f'<span class="u">{e(shot["warc_record_id"])}</span></figcaption></figure>'
        )
    return (
        f"<h2>Screenshots ({len(shots)})</h2>"
        "<style>.shots{display:flex;flex-wrap:wrap;gap:12px}.shot{margin:0;width:330px}"
        ".shot img{border:1px solid #ccc;display:block}"
        ".shot figcaption{overflow-wrap:anywhere;font-size:12px}</style>"
        '<div class="shots" id="screenshots">' + "".join(figures) + "</div>"
    )


def write_report(db: Database, out: Path | str, run: str | int | None = "last") -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(db, run), encoding="utf-8")
    return out
