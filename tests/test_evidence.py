"""Evidence: landing pages kept as WARC records that warcio reads and a partner can verify."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence import (
    WarcStore,
    is_executable,
    read_payload,
    read_record,
    sha256_hex_from_warc_digest,
    verify,
)
from crawler.items import PageItem
from crawler.run_recorder import RunRecorder
from pipelines.evidence import EvidencePipeline

HTML = "<html><head><title>Bel 085 208 1234 – Microsoft</title></head><body>é</body></html>"
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Server": "nginx",
    "Set-Cookie": "sid=1",
    "Transfer-Encoding": "chunked",
}


def records(path):
    with open(path, "rb") as f:
        out = []
        for r in ArchiveIterator(f, check_digests="raise"):
            out.append((r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()))
        return out


def write(tmp_path, **kw):
    store = WarcStore(tmp_path, "t.warc.gz")
    args = dict(
        url="http://windows-support-direct.com/nl/alert.html",
        status=200,
        headers=HEADERS,
        body=HTML,
        ip="203.0.113.7",
        fetched_at="2026-10-01T10:00:00+00:00",
        context={
            "entry_url": "http://windows-support-direct.com/nl/",
            "redirects": [
                "http://windows-support-direct.com/nl/",
                "http://windows-support-direct.com/nl/alert.html",
            ],
        },
    )
    args.update(kw)
    ev = store.write_page(**args)
    store.close()
    return store.path, ev


def test_page_is_a_response_record_with_headers_ip_and_sha256_digests(tmp_path):
    path, ev = write(tmp_path)
    got = records(path)
    assert [t for t, *_ in got] == ["warcinfo", "response", "request", "metadata"]
    _, rec, http, payload = got[1]
    assert payload == HTML.encode("utf-8")
    assert rec.get_header("WARC-Target-URI") == "http://windows-support-direct.com/nl/alert.html"
    assert rec.get_header("WARC-IP-Address") == "203.0.113.7"
    assert rec.get_header("WARC-Date") == "2026-10-01T10:00:00Z"
    assert rec.get_header("WARC-Record-ID") == ev.warc_record_id
    assert http.get_statuscode() == "200"
    assert http.get_header("Server") == "nginx" and http.get_header("Set-Cookie") == "sid=1"
    # The body is stored de-chunked, so the transfer header would lie.
    assert http.get_header("Transfer-Encoding") is None
    digest = rec.get_header("WARC-Payload-Digest")
    assert digest.startswith("sha256:")
    assert sha256_hex_from_warc_digest(digest) == hashlib.sha256(payload).hexdigest()
    assert ev.payload_sha256 == hashlib.sha256(payload).hexdigest() and ev.stored


def test_redirect_chain_is_a_metadata_record_concurrent_to_the_response(tmp_path):
    path, ev = write(tmp_path)
    _, rec, _, payload = records(path)[3]
    assert rec.get_header("WARC-Concurrent-To") == ev.warc_record_id
    assert rec.get_header("WARC-Refers-To") == ev.warc_record_id
    # Its own URI, so replay tools never serve it in the page's place.
    assert rec.get_header("WARC-Target-URI").startswith("urn:serpwatch:page:")
    meta = json.loads(payload)
    assert meta["entry_url"] == "http://windows-support-direct.com/nl/"
    assert meta["redirects"][-1] == meta["url"]
    assert meta["headers_dropped"] == ["Transfer-Encoding"]
    assert meta["payload_sha256"] == ev.payload_sha256


def test_a_partner_can_verify_and_tampering_shows(tmp_path):
    path, ev = write(tmp_path)
    assert verify(path, ev.warc_record_id, ev.payload_sha256)
    assert not verify(path, ev.warc_record_id, "0" * 64)
    assert not verify(path, "<urn:uuid:nope>", ev.payload_sha256)
    raw = gzip.decompress(path.read_bytes())
    tampered = tmp_path / "tampered.warc"
    tampered.write_bytes(raw.replace(b"Bel 085 208 1234", b"Bel 085 208 9999"))
    assert raw != tampered.read_bytes()
    assert not verify(tampered, ev.warc_record_id, ev.payload_sha256)


def test_pages_in_another_charset_keep_their_bytes(tmp_path):
    path, _ = write(tmp_path, headers={"Content-Type": "text/html; charset=windows-1252"})
    assert records(path)[1][3] == HTML.encode("cp1252")


@pytest.mark.parametrize(
    "url, headers, body",
    [
        ("http://x.nl/get", {"Content-Type": "application/x-msdownload"}, b"MZ\x90\x00secret"),
        ("http://x.nl/AnyDesk.exe", {"Content-Type": "text/html"}, b"MZ\x90\x00secret"),
        ("http://x.nl/get", {"Content-Disposition": "attachment; filename=a.bin"}, b"secret"),
        ("http://x.nl/get", {"Content-Type": "text/html"}, b"MZ\x90\x00secret"),
        ("http://x.nl/tool.zip?x=1", {}, b"PK\x03\x04secret"),
    ],
)
def test_executables_are_never_stored(tmp_path, url, headers, body):
    assert is_executable(url, headers, body)
    path, ev = write(tmp_path, url=url, headers=headers, body=body)
    got = records(path)
    assert [t for t, *_ in got] == ["warcinfo", "metadata"]
    assert b"secret" not in gzip.decompress(path.read_bytes())
    meta = json.loads(got[1][3])
    assert meta["payload_not_stored"].startswith("executable or archive")
    assert ev.payload_sha256 == hashlib.sha256(body).hexdigest() and not ev.stored
    assert not verify(path, ev.warc_record_id, ev.payload_sha256)


@pytest.mark.parametrize(
    "url", ["http://x.nl/", "http://www.microsoft.com", "http://x.nl/app.exe.html?f=a.exe"]
)
def test_html_is_not_an_executable(url):
    assert is_executable(url, {"Content-Type": "text/html"}, HTML.encode()) is None


def test_pipeline_fills_the_item_and_writes_next_to_the_db(tmp_path):
    crawler = get_crawler(settings_dict={"SERPWATCH_DB": str(tmp_path / "x.db")})
    crawler.stats.open_spider()
    build_from_crawler(RunRecorder, crawler).run_id = 7  # as if it had opened run 7
    pipe = build_from_crawler(EvidencePipeline, crawler)
    item = PageItem(
        url="http://kpn-storingsdienst.nl/",
        entry_url="http://kpn-storingsdienst.nl/",
        status=200,
        html=HTML,
        engine="bing",
        query="kpn storing",
        brand="KPN",
        is_ad=True,
        serp_url="http://127.0.0.1/search",
        ad_position=1,
        headers={"Content-Type": "text/html; charset=utf-8"},
        ip="127.0.0.1",
    )
    assert pipe.process_item(item) is item
    pipe.close_spider()
    (warc,) = (tmp_path / "x-warc").iterdir()
    assert warc.name.startswith("serpwatch-run7-") and warc.name.endswith(".warc.gz")
    assert item.warc_file == warc.name
    assert verify(warc, item.warc_record_id, item.payload_sha256)
    meta = json.loads(records(warc)[3][3])
    assert (meta["engine"], meta["query"], meta["ad_position"]) == ("bing", "kpn storing", 1)
    assert crawler.stats.get_value("serpwatch/warc_records") == 1


def test_warc_folder_setting_wins(tmp_path):
    crawler = get_crawler(
        settings_dict={
            "SERPWATCH_DB": str(tmp_path / "x.db"),
            "SERPWATCH_WARC_DIR": str(tmp_path / "evidence"),
        }
    )
    assert build_from_crawler(EvidencePipeline, crawler).folder == tmp_path / "evidence"


def test_pipeline_keeps_the_bytes_received_when_the_charset_lies(tmp_path):
    crawler = get_crawler(settings_dict={"SERPWATCH_DB": str(tmp_path / "x.db")})
    crawler.stats.open_spider()
    build_from_crawler(RunRecorder, crawler).run_id = 8  # as if it had opened run 8
    pipe = build_from_crawler(EvidencePipeline, crawler)
    raw = "<p>Bel de storingsdienst: 088 123 4567 \u2013 24/7 bereikbaar \u00e9</p>".encode(
        "cp1252"
    )
    item = PageItem(
        url="http://kpn-storingsdienst.nl/",
        entry_url="http://kpn-storingsdienst.nl/",
        status=200,
        html=raw.decode("utf-8", errors="replace"),  # what a utf-8 decode made of it
        body=raw,
        engine="bing",
        query="kpn storing",
        brand="KPN",
        is_ad=False,
        serp_url="http://127.0.0.1/search",
        headers={"Content-Type": "text/html; charset=utf-8"},
        engines=["bing", "duckduckgo"],
    )
    pipe.process_item(item)
    pipe.close_spider()
    (warc,) = (tmp_path / "x-warc").iterdir()
    assert item.payload_sha256 == hashlib.sha256(raw).hexdigest()
    assert verify(warc, item.warc_record_id, item.payload_sha256)
    meta = json.loads(records(warc)[3][3])
    assert meta["engines"] == ["bing", "duckduckgo"]


def _pages(folder, name: str, count: int) -> tuple:
    store = WarcStore(folder, name)
    ids = {}
    for i in range(count):
        ev = store.write_page(
            url=f"http://site{i}.example/",
            status=200,
            headers={"Content-Type": "text/html"},
            body=f"<p>page {i}: bel 085 208 {1000 + i}</p>",
            ip="203.0.113.7",
            fetched_at="2026-10-01T10:00:00+00:00",
            context={},
        )
        ids[ev.warc_record_id] = f"<p>page {i}: bel 085 208 {1000 + i}</p>".encode()
    store.close()
    return store.path, ids


def test_records_are_read_back_by_id_also_from_a_file_that_grew(tmp_path):
    path, ids = _pages(tmp_path, "a.warc.gz", 40)
    for record_id, body in reversed(list(ids.items())):
        found = read_record(path, record_id)
        assert found.rec_type == "response" and found.payload == body
        assert ("WARC-Record-ID", record_id) in found.headers
        assert ("Content-Type", "text/html") in found.http_headers
    assert read_record(path, "<urn:uuid:nope>") is None
    assert read_payload(tmp_path / "missing.warc.gz", next(iter(ids))) is None
    # A crawl still writing: records appended after the first read are found too.
    more, later = _pages(tmp_path / "more", "b.warc.gz", 3)
    with open(path, "ab") as f:
        f.write(more.read_bytes())
    for record_id, body in later.items():
        assert read_payload(path, record_id) == body
