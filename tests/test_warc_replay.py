"""The demo's WARC replays: pywb's indexer plus pywb's lookup gives the page, not our metadata.

pywb itself is not installed for the tests (it brings gevent and installs a
top-level `tests` package that shadows ours); its indexer is: cdxj-indexer,
which pywb's `wb-manager` uses, with pywb's default record types (response,
revisit, resource, metadata). The lookup is pywb's rule for a replay URL:
the index lines whose key is the page's SURT, the capture closest in time
first, index order on a tie; the record is read at its offset with warcio.
A control shows the lookup picks a metadata record that shares the page's
URI and date, as the WARCs before issue 14 had it.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from cdxj_indexer.main import CDXJIndexer
from surt import surt
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler import storage
from crawler.evidence import WarcStore


def index(warcs: list[Path]) -> list[tuple[str, str, dict]]:
    out = io.StringIO()
    CDXJIndexer(out, [str(w) for w in warcs], sort=True).process_all()
    lines = []
    for line in out.getvalue().splitlines():
        key, ts, blob = line.split(" ", 2)
        lines.append((key, ts, json.loads(blob)))
    return lines


def replay(lines, folder: Path, url: str, at: str):
    """The record pywb would serve for `url` at time `at` (14-digit timestamp)."""
    key = surt(url)
    found = [(abs(int(ts) - int(at)), i, blob) for i, (k, ts, blob) in enumerate(lines) if k == key]
    assert found, f"{url} is not in the index"
    _, _, best = min(found)
    with open(folder / best["filename"], "rb") as f:
        f.seek(int(best["offset"]))
        data = f.read(int(best["length"]))
    record = next(iter(ArchiveIterator(io.BytesIO(data))))
    return record, record.content_stream().read()


def stamp(iso: str) -> str:
    return storage.parse_time(iso).astimezone(UTC).strftime("%Y%m%d%H%M%S")


def test_every_page_of_the_demo_replays_as_itself(demo_out):
    folder = demo_out / "demo-warc"
    warcs = sorted(folder.glob("*.warc.gz"))
    lines = index(warcs)
    db = storage.open_db(demo_out / "demo.db")
    pages = list(db["pages"].rows)
    assert len(pages) >= 10
    for page in pages:
        record, body = replay(lines, folder, page["url"], stamp(page["fetched_at"]))
        assert record.rec_type == "response", page["url"]
        assert record.http_headers.get_statuscode() == "200"
        assert hashlib.sha256(body).hexdigest() == page["payload_sha256"]
        assert body.lstrip().lower().startswith(b"<!doctype html")
    # The metadata records are indexed too, under their own URN, never the page's.
    keys = {k for k, _, _ in lines}
    assert {f"urn:serpwatch:page:{p['id']}" for p in pages} <= keys


def test_each_response_has_its_request_and_its_metadata(demo_out):
    (warc,) = sorted((demo_out / "demo-warc").glob("*.warc.gz"))
    records = []
    with open(warc, "rb") as f:
        for r in ArchiveIterator(f):
            h = r.rec_headers
            records.append(
                {
                    "type": r.rec_type,
                    "id": h.get_header("WARC-Record-ID"),
                    "uri": h.get_header("WARC-Target-URI"),
                    "to": h.get_header("WARC-Concurrent-To"),
                    "refers": h.get_header("WARC-Refers-To"),
                    "line": (r.http_headers.protocol + " " + r.http_headers.statusline)
                    if r.rec_type == "request"
                    else None,
                }
            )
    responses = {r["id"]: r for r in records if r["type"] == "response"}
    requests = [r for r in records if r["type"] == "request"]
    metadata = [r for r in records if r["type"] == "metadata"]
    assert responses and len(requests) == len(responses) == len(metadata)
    for req in requests:
        assert req["to"] in responses and responses[req["to"]]["uri"] == req["uri"]
        assert req["line"].startswith("GET /") and req["line"].endswith(" HTTP/1.1")
    for meta in metadata:
        assert meta["uri"].startswith("urn:serpwatch:page:")
        assert meta["to"] == meta["refers"] and meta["refers"] in responses


def test_control_the_lookup_catches_a_shadowing_metadata_record(tmp_path):
    # The shape of the WARCs before: metadata with the page's own URI and date.
    url, when = "http://scam.example/", "2026-10-01T10:00:00Z"
    path = tmp_path / "old.warc.gz"
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for kind in ("response", "metadata"):
            if kind == "response":
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], "HTTP/1.1")
                rec = writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(b"<!doctype html><p>page</p>"),
                    http_headers=http,
                    warc_headers_dict={"WARC-Date": when},
                )
            else:
                rec = writer.create_warc_record(
                    url,
                    "metadata",
                    payload=io.BytesIO(b'{"url": "http://scam.example/"}'),
                    warc_content_type="application/json",
                    warc_headers_dict={"WARC-Date": when},
                )
            writer.write_record(rec)
    lines = index([path])
    record, _ = replay(lines, tmp_path, url, "20261001100000")
    assert record.rec_type == "metadata"  # what pywb served: the bug this guards against


def test_a_fresh_store_writes_the_same_shape(tmp_path):
    store = WarcStore(tmp_path, "t.warc.gz")
    ev = store.write_page(
        url="http://scam.example/help?q=1",
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
        body="<!doctype html><p>Bel 085 208 1234</p>",
        fetched_at=datetime(2026, 10, 1, 10, tzinfo=UTC).isoformat(),
        request_headers={"User-Agent": "test", "Referer": "http://engine.example/search"},
        page_id="abc123",
    )
    store.close()
    lines = index([tmp_path / "t.warc.gz"])
    record, body = replay(lines, tmp_path, "http://scam.example/help?q=1", "20261001100000")
    assert record.rec_headers.get_header("WARC-Record-ID") == ev.warc_record_id
    assert body == b"<!doctype html><p>Bel 085 208 1234</p>"
    assert "urn:serpwatch:page:abc123" in {k for k, _, _ in lines}
