"""Datasette plugin for serpwatch's triage views (loaded with --plugins-dir).

- Scam URLs are text, never links: every http(s) value renders as plain text.
- JSON columns (facts, reasons, ...) are cut to one line.
- A WARC record id links to /-/serpwatch/evidence, which shows the record's
  headers and its payload as escaped text, or an image as an image, under a
  Content-Security-Policy that runs nothing.
- A `screenshot` cell holds JSON ({warc_record_id, warc_file, path}): it shows
  the crawl's thumbnail (from the `screenshots` table) linking to the full
  screenshot's WARC record on that page; the word "screenshot" without one.
- Datasette's CSV is spreadsheet-safe, as serpwatch's own CSV exports are: a
  cell that starts with = + - @ or a tab gets a leading apostrophe, so a
  phone number stays text (`'+31852081234`) instead of a formula or a number.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import html
import io
import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, quote

import markupsafe
from datasette import hookimpl
from datasette.utils.asgi import Response

from crawler.evidence import WarcRecord, read_record
from crawler.exports.csvsafe import escape_cell

NAME = "serpwatch-triage"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
JSON_CUT = 60
MAX_SHOWN = 200_000
_URL = re.compile(r"^\s*https?://", re.I)


def _config(datasette) -> dict:
    return datasette.plugin_config(NAME) or {}


def _get(row, name):
    try:
        return row[name]
    except (KeyError, IndexError, TypeError):
        return None


def _evidence_link(record_id, file) -> str:
    return "/-/serpwatch/evidence?" + "&".join(
        f"{k}={quote(str(v), safe='')}" for k, v in (("record", record_id), ("file", file or ""))
    )


def _screenshot_ref(value) -> dict | None:
    """The WARC record of a `screenshot` cell: JSON {warc_record_id, warc_file, path}."""
    try:
        ref = json.loads(value)
    except (TypeError, ValueError):
        return None
    if isinstance(ref, dict) and ref.get("warc_record_id") and ref.get("warc_file"):
        return ref
    return None


async def _thumbnail(datasette, database: str, record_id: str) -> bytes | None:
    """The JPEG thumbnail the crawl stored for this screenshot record, if any."""
    try:
        rows = await datasette.get_database(database).execute(
            "select thumbnail from screenshots where warc_record_id = ? limit 1", [record_id]
        )
    except sqlite3.Error:  # a database without the screenshots table
        return None
    first = rows.first()
    return first[0] if first and first[0] else None


def _screenshot_cell(ref: dict, datasette, database: str):
    """A thumbnail linking to the full screenshot in the WARC (or the word, without one)."""
    link = _evidence_link(ref["warc_record_id"], ref["warc_file"])
    title = f"screenshot {ref['warc_record_id']} in {ref['warc_file']}"

    async def cell():
        thumb = await _thumbnail(datasette, database, ref["warc_record_id"])
        if not thumb:
            return markupsafe.Markup('<a href="{}" title="{}">screenshot</a>').format(link, title)
        data = base64.b64encode(thumb).decode("ascii")
        return markupsafe.Markup(
            '<a href="{}" title="{}"><img src="data:image/jpeg;base64,{}" alt="screenshot"'
            ' style="max-width:160px;max-height:120px;border:1px solid #ccc"></a>'
        ).format(link, title, data)

    return cell


@hookimpl
def render_cell(row, value, column, database, datasette):
    if column == "screenshot" and value:
        ref = _screenshot_ref(value)
        if ref:
            return _screenshot_cell(ref, datasette, database)
    if column == "warc_record_id" and value:
        link = _evidence_link(value, _get(row, "warc_file"))
        return markupsafe.Markup('<a href="{}">{}</a>').format(link, value)
    if not isinstance(value, str):
        return None
    if column in (_config(datasette).get("json_columns") or []) and len(value) > JSON_CUT:
        return value[:JSON_CUT] + "\u2026"  # a str is escaped by the template
    if _URL.match(value):
        return value  # text, not Datasette's link: these are scam sites
    return None


def _record(folder: Path, file: str, record_id: str) -> WarcRecord | None:
    path = folder / Path(file).name  # a file name, never a path from the request
    return read_record(path, record_id) if path.is_file() else None


async def evidence(request, datasette):
    """One WARC record: its headers and payload, as text or an image."""
    query = parse_qs(request.query_string)
    record_id = (query.get("record") or [""])[0]
    file = (query.get("file") or [""])[0]
    folder = _config(datasette).get("warc_dir")
    found = None
    if folder and file and record_id:
        # Off the event loop: the first look at a WARC file reads all of it.
        found = await asyncio.to_thread(_record, Path(folder), file, record_id)
    e = html.escape
    if found is None:
        body = f"<p>No WARC record {e(record_id)} in {e(file) or 'no file'}.</p>"
        return _page(f"Evidence {record_id}", body, 404)
    kind, headers, http, payload = found.rec_type, found.headers, found.http_headers, found.payload
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in headers + http)
    ctype = next((v for k, v in http if k.lower() == "content-type"), "") or next(
        (v for k, v in headers if k.lower() == "content-type"), ""
    )
    if ctype.startswith("image/"):
        data = base64.b64encode(payload).decode("ascii")
        shown = f'<img alt="screenshot" src="data:{e(ctype)};base64,{data}">'
        how = "The screenshot is shown as an image."
    else:
        text = payload[:MAX_SHOWN].decode("utf-8", errors="replace")
        more = "\n[...]" if len(payload) > MAX_SHOWN else ""
        shown = f"<pre>{e(text + more)}</pre>"
        how = "The page's code is shown as text; nothing of it runs."
    body = (
        f"<p>{e(kind)} record {e(record_id)} in {e(file)}, {len(payload):,} bytes. {how}</p>"
        f"<table>{rows}</table><h2>Payload</h2>{shown}"
    )
    return _page(f"Evidence {record_id}", body)


def _page(title: str, body: str, status: int = 200) -> Response:
    page = (
        "<!DOCTYPE html><html><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:1.5em;max-width:70em}"
        "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:1em}"
        "th{text-align:left;padding-right:1em;vertical-align:top}"
        "td{overflow-wrap:anywhere}img{max-width:100%;border:1px solid #ccc}"
        f"</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response.html(page, status=status, headers={"Content-Security-Policy": CSP})


@hookimpl
def register_routes():
    return [(r"^/-/serpwatch/evidence$", evidence)]


def safe_csv(data: bytes) -> bytes:
    """Every cell of a CSV body made spreadsheet-safe."""
    text = data.decode("utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([escape_cell(cell) for cell in row])
    return out.getvalue().encode("utf-8")


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def wrapped(scope, receive, send):
            path = scope.get("path", "")
            qs = scope.get("query_string", b"").decode("latin-1")
            if scope["type"] != "http" or not (path.endswith(".csv") or "_format=csv" in qs):
                await app(scope, receive, send)
                return
            start, chunks = {}, []

            async def hold(message):
                if message["type"] == "http.response.start":
                    start.update(message)
                    return
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = b"".join(chunks)
                headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                if start.get("status") == 200:
                    body = safe_csv(body)
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})

            await app(scope, receive, hold)

        return wrapped

    return wrap
