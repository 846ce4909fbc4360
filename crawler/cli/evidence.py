"""`serpwatch evidence KEY`: one folder of evidence for a number or a site, ready to attach.

Registered on the `serpwatch` group by one line in crawler/cli/__init__.py. The folder
holds, for the flagged (site, number) pairs of KEY and the pages they were
seen on (newest first, at most `--pages`):

- `pages/NN-<domain>.html`: each page's bytes as received, from the run's WARC;
- `screenshots/NN-<kind>-<domain>.png`: the browser's pictures of those pages;
- `summary.md` (short, for people) and `summary.json` (everything: the pairs
  with score, risk and reasons, each page's redirect chain, IP, WARC file and
  record, the browser's behaviour facts);
- `SHA256SUMS`: the SHA-256 of every file (`sha256sum -c SHA256SUMS`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import click

from crawler import storage
from crawler.cli.common import friendly
from crawler.evidence import read_payload, warc_dir_for


def _payload(warc: Path, record_id: str | None) -> bytes | None:
    """The payload of one WARC record (HTTP headers stripped), or None."""
    if not record_id or not warc.is_file():
        return None
    return read_payload(warc, record_id)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_")[:80] or "x"


def write_folder(db, db_path: Path, kind: str, key: str, out: Path, max_pages: int) -> dict:
    """Write the evidence folder for ("number" | "site", key); return the summary."""
    found = storage.evidence_rows(db, kind, key, max_pages)
    if not found["pairs"] and not found["pages"]:
        raise click.ClickException(f"nothing recorded for {key} in {db_path}")
    warcs = warc_dir_for(db_path)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}

    def keep(rel: str, data: bytes) -> str:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[rel] = hashlib.sha256(data).hexdigest()
        return rel

    pages = []
    for n, page in enumerate(found["pages"], 1):
        data = _payload(warcs / Path(page["warc_file"] or "-").name, page["warc_record_id"])
        entry = {**page, "redirects": json.loads(page.get("redirects") or "[]")}
        if data is not None:
            entry["file"] = keep(f"pages/{n:02d}-{_slug(page['domain'] or 'page')}.html", data)
        pages.append(entry)
    shots = []
    for n, shot in enumerate(found["screenshots"], 1):
        data = _payload(warcs / Path(shot["warc_file"] or "-").name, shot["warc_record_id"])
        if data is None and shot.get("path") and Path(shot["path"]).is_file():
            data = Path(shot["path"]).read_bytes()
        entry = {k: v for k, v in shot.items() if k != "thumbnail"}
        if data is not None and hashlib.sha256(data).hexdigest() == shot["sha256"]:
            name = f"screenshots/{n:02d}-{shot['kind']}-{_slug(shot['url'].split('/')[2])}.png"
            entry["file"] = keep(name, data)
        shots.append(entry)
    summary = {
        "key": key,
        "kind": kind,
        "generated_at": storage.now(),
        "database": str(db_path),
        "pairs": found["pairs"],
        "pages": pages,
        "screenshots": shots,
        "renders": found["renders"],
    }
    keep("summary.json", json.dumps(summary, indent=2, ensure_ascii=False, default=str).encode())
    keep("summary.md", _markdown(summary).encode())
    (out / "SHA256SUMS").write_text("".join(f"{h}  {name}\n" for name, h in sorted(files.items())))
    return summary


def _markdown(s: dict) -> str:
    lines = [f"# Evidence: {s['key']} ({s['kind']})", "", f"Generated {s['generated_at']}.", ""]
    lines.append("## Flagged")
    for p in s["pairs"]:
        reasons = json.loads(p["reasons"] or "[]")
        lines.append(
            f"- {p['phone']} on {p['domain']}: {p['risk']} ({p['score']}), first seen"
            f" {p['first_seen']}, last seen {p['last_seen']}; {reasons[0] if reasons else ''}"
        )
    lines += ["", "## Pages (bytes as received, in pages/)"]
    for p in s["pages"]:
        chain = " -> ".join(p["redirects"]) or "none"
        lines.append(
            f"- {p['url']} fetched {p['fetched_at']} from {p['ip'] or '?'}; redirects: {chain};"
            f" SHA-256 {p['payload_sha256']}; WARC {p['warc_file']} {p['warc_record_id']}"
            + (f"; file {p['file']}" if p.get("file") else "")
        )
    lines += ["", "## Screenshots (in screenshots/)"]
    for shot in s["screenshots"]:
        lines.append(
            f"- {shot['kind']} of {shot['url']}: SHA-256 {shot['sha256']}; WARC"
            f" {shot['warc_file']} {shot['warc_record_id']}"
            + (f"; file {shot['file']}" if shot.get("file") else "")
        )
    for r in s["renders"]:
        behaviours = json.loads(r.get("behaviours") or "[]")
        if behaviours:
            lines.append(f"- in a browser, {r['url']}: {', '.join(behaviours)}")
    lines += ["", "Check the files: `sha256sum -c SHA256SUMS`.", ""]
    return "\n".join(lines)


@click.command("evidence")
@click.argument("key")
@click.option("--db", "db_path", default="serpwatch.db", show_default=True, help="Database.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder to write (default: evidence-<KEY> here).",
)
@click.option("--pages", "max_pages", default=20, show_default=True, help="Pages at most.")
@click.option("--region", default="NL", show_default=True, help="Region for national formats.")
@friendly
def evidence(key, db_path, out_dir, max_pages, region):
    """Write a folder of evidence for one number or site: pages, screenshots, hashes.

    KEY is a phone number (any format) or a domain. The folder gets the pages'
    bytes from the WARC, the browser's screenshots, each page's redirect chain,
    a summary (summary.md, summary.json) and SHA256SUMS.

    Example: serpwatch evidence +31852081234 --db serpwatch-demo/demo.db --out case-0852
    """
    # Imported here, as in the other commands: phonenumbers and tldextract are
    # most of `serpwatch`'s start-up, and only this command of the module needs them.
    from crawler.triage import parse_key

    try:
        kind, value = parse_key(key, region.upper())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="KEY") from None
    path = Path(db_path)
    if not path.is_file():
        raise click.BadParameter(f"no database at {db_path}", param_hint="--db")
    db = storage.open_db(path)
    try:
        out = Path(out_dir) if out_dir else Path(f"evidence-{_slug(value)}")
        summary = write_folder(db, path, kind, value, out, max_pages)
    finally:
        db.close()
    click.echo(
        f"{out}: {len(summary['pairs'])} flagged pairs, {len(summary['pages'])} pages,"
        f" {sum(1 for s in summary['screenshots'] if s.get('file'))} screenshots"
    )
