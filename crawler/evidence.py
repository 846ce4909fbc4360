"""Evidence: every landing page fetched, kept as a WARC record (warcio).

One gzipped WARC file per crawl run. Each page gives a `response` record (the
final status line, headers and body, with `WARC-IP-Address` as the crawler saw
it), the `request` record that got it, and a `metadata` record holding the
redirect chain and the search result that led there. The metadata record's
target URI is `urn:serpwatch:page:<page id>`, so replay tools (pywb) index it
apart from the page and replay the page itself. Digests are SHA-256 (`WARC-Block-Digest`,
`WARC-Payload-Digest`), so a partner can check an exported row's
`payload_sha256` against the record with any WARC reader.

Executables and archives are never stored: such a page gets only a metadata
record saying what was offered, with the payload's SHA-256 but not its bytes.
"""

from __future__ import annotations

import base64
import codecs
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from crawler.net.limits import download_kind

# Headers that describe a transfer the stored body no longer has: Scrapy hands
# over the body decompressed and de-chunked.
_TRANSFER_HEADERS = {"transfer-encoding", "content-encoding"}


@dataclass
class Evidence:
    """Where a page's evidence lives: file name, record id, payload SHA-256 (hex)."""

    warc_file: str
    warc_record_id: str
    payload_sha256: str
    stored: bool = True


class Sha256WARCWriter(WARCWriter):
    """A warcio writer whose block and payload digests are SHA-256."""

    @staticmethod
    def _create_digester():
        return Digester("sha256")


def is_executable(url: str, headers: dict[str, str], body: bytes) -> str | None:
    """Why this response is an executable or archive, or None when it is not.

    The rule is `crawler.net.limits.download_kind`'s, the one the downloader uses.
    `body` is the payload as stored (decoded), so transfer headers are left out
    and a gzip signature in it means a gzip file.
    """
    kept = {k: v for k, v in headers.items() if k.lower() not in _TRANSFER_HEADERS}
    found = download_kind(url, kept, body[:16])
    return found[1] if found else None


def page_bytes(html: str | bytes, headers: dict[str, str]) -> bytes:
    """The page body as bytes, in the charset the server declared (UTF-8 if none)."""
    if isinstance(html, bytes):
        return html
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    match = re.search(r"charset=[\"']?([\w.:-]+)", ctype, re.I)
    charset = "utf-8"
    if match:
        try:
            charset = codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return html.encode(charset, errors="replace")


def sha256_hex_from_warc_digest(digest: str) -> str:
    """`sha256:BASE32` (as in a WARC header) → lowercase hex."""
    algo, _, value = digest.partition(":")
    if algo.lower() != "sha256":
        raise ValueError(f"not a SHA-256 digest: {digest}")
    return base64.b32decode(value).hex()


def warc_dir_for(db_path: Path | str, setting: str | None = None) -> Path:
    """The WARC folder: the setting when given, else `<db name>-warc/` next to the DB."""
    if setting:
        return Path(setting)
    db_path = Path(db_path)
    return db_path.with_name(db_path.stem + "-warc")


class WarcStore:
    """Writes pages to one gzipped WARC file, opened on the first page."""

    def __init__(self, folder: Path | str, name: str):
        self.folder = Path(folder)
        self.name = name
        self._file: IO[bytes] | None = None
        self._writer: Sha256WARCWriter | None = None

    @property
    def path(self) -> Path:
        return self.folder / self.name

    def _open(self) -> Sha256WARCWriter:
        if self._writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")
            self._writer = Sha256WARCWriter(self._file, gzip=True)
            from importlib.metadata import PackageNotFoundError, version

            try:
                software = f"serpwatch/{version('serpwatch')}"
            except PackageNotFoundError:  # pragma: no cover - running from a checkout
                software = "serpwatch"
            info = {
                "software": software,
                "format": "WARC File Format 1.0",
                "description": "landing pages fetched from search results and ads",
            }
            self._writer.write_record(self._writer.create_warcinfo_record(self.name, info))
        return self._writer

    def write_page(
        self,
        *,
        url: str,
        status: int,
        headers: dict[str, str],
        body: str | bytes,
        ip: str | None = None,
        fetched_at: str = "",
        context: dict | None = None,
        request_headers: dict[str, str] | None = None,
        method: str = "GET",
        page_id: str | None = None,
    ) -> Evidence:
        """Store one fetched page; return where it went.

        Records: the `response` (when the payload may be kept), the `request`
        that got it (`WARC-Concurrent-To` the response), and a `metadata`
        record about the page. The metadata's target URI is
        `urn:serpwatch:page:<page id>` (the `pages.id` of the database), not the
        page's URL, so no replay tool can serve it in the page's place; it
        points at the response with `WARC-Concurrent-To` and `WARC-Refers-To`.
        """
        writer = self._open()
        payload = page_bytes(body, headers)
        sha = hashlib.sha256(payload).hexdigest()
        date = _warc_date(fetched_at)
        meta = dict(context or {})
        meta.update({"url": url, "status": status, "ip": ip, "payload_sha256": sha})
        blocked = is_executable(url, headers, payload)
        response_id = None
        if blocked is None:
            response_id = self._write_response(writer, url, status, headers, payload, ip, date)
            self._write_request(writer, url, method, request_headers or {}, date, response_id)
            dropped = sorted(k for k, _ in headers.items() if k.lower() in _TRANSFER_HEADERS)
            if dropped:
                meta["headers_dropped"] = dropped
        else:
            meta["payload_not_stored"] = f"executable or archive: {blocked}"
            meta["headers"] = headers
        page_id = page_id or hashlib.sha1(url.encode("utf-8")).hexdigest()[:20]
        meta_id = self._write_metadata(writer, page_id, meta, date, response_id)
        self._file.flush()
        return Evidence(
            warc_file=self.name,
            warc_record_id=response_id or meta_id,
            payload_sha256=sha,
            stored=blocked is None,
        )

    @staticmethod
    def _write_response(writer, url, status, headers, payload, ip, date) -> str:
        kept = [(k, v) for k, v in headers.items() if k.lower() not in _TRANSFER_HEADERS]
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        http = StatusAndHeaders(f"{status} {phrase}", kept, protocol="HTTP/1.1")
        warc_headers = {"WARC-Date": date}
        if ip:
            warc_headers["WARC-IP-Address"] = ip
        record = writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(payload),
            length=len(payload),
            http_headers=http,
            warc_headers_dict=warc_headers,
        )
        writer.write_record(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    @staticmethod
    def _write_request(writer, url, method, headers, date, response_id) -> str:
        """The request as the crawler sent it (the final one, after redirects)."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = [(k, v) for k, v in headers.items()]
        if not any(k.lower() == "host" for k, _ in sent):
            sent.insert(0, ("Host", parts.netloc))
        # warcio writes a request line as its status line: method, target, version.
        http = StatusAndHeaders(f"{method} {target} HTTP/1.1", sent, is_http_request=True)
        record = writer.create_warc_record(
            url,
            "request",
            http_headers=http,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )
        writer.write_record(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    @staticmethod
    def _write_metadata(writer, page_id, meta, date, response_id) -> str:
        data = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {"WARC-Date": date}
        if response_id:
            headers["WARC-Concurrent-To"] = response_id
            headers["WARC-Refers-To"] = response_id
        record = writer.create_warc_record(
            f"urn:serpwatch:page:{page_id}",
            "metadata",
            payload=BytesIO(data),
            length=len(data),
            warc_content_type="application/json",
            warc_headers_dict=headers,
        )
        writer.write_record(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    def write_resource(
        self,
        uri: str,
        payload: bytes,
        content_type: str,
        *,
        concurrent_to: str | None = None,
        fetched_at: str = "",
        extra_headers: dict[str, str] | None = None,
        rec_type: str = "resource",
    ) -> str:
        """Store a `resource` or `metadata` record (a screenshot, a DOM); return its id.

        `concurrent_to` links it to the page's response record, so one WARC holds
        the bytes and the picture of the same visit.
        """
        writer = self._open()
        headers = {"WARC-Date": _warc_date(fetched_at)}
        if concurrent_to:
            headers["WARC-Concurrent-To"] = concurrent_to
        headers.update(extra_headers or {})
        record = writer.create_warc_record(
            uri,
            rec_type,
            payload=BytesIO(payload),
            length=len(payload),
            warc_content_type=content_type,
            warc_headers_dict=headers,
        )
        writer.write_record(record)
        self._file.flush()
        return record.rec_headers.get_header("WARC-Record-ID")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None


def _warc_date(fetched_at: str) -> str:
    try:
        when = datetime.fromisoformat(fetched_at) if fetched_at else datetime.now(UTC)
    except ValueError:
        when = datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WarcRecord:
    """One record read back: its type, WARC and HTTP headers, and payload."""

    rec_type: str
    headers: list[tuple[str, str]]
    http_headers: list[tuple[str, str]]
    payload: bytes


@functools.lru_cache(maxsize=8)
def _offsets(path: str, mtime_ns: int, size: int) -> dict[str, int]:
    """Where each record of a WARC file starts. Keyed by mtime and size, so a
    file a crawl is still writing is read again once it has grown."""
    with open(path, "rb") as f:
        records = ArchiveIterator(f)
        return {
            rec.rec_headers.get_header("WARC-Record-ID"): records.get_record_offset()
            for rec in records
        }


def read_record(warc_path: Path | str, record_id: str) -> WarcRecord | None:
    """Record `record_id` of `warc_path`, or None (no such file or record).

    The file is read whole once for an index of record offsets; after that a
    record is one seek, so an export citing thousands of records of one run
    (or Datasette's evidence page) does not read the run's WARC per record.
    """
    try:
        stat = Path(warc_path).stat()
        offset = _offsets(str(warc_path), stat.st_mtime_ns, stat.st_size).get(record_id)
        if offset is None:
            return None
        with open(warc_path, "rb") as f:
            f.seek(offset)
            rec = next(iter(ArchiveIterator(f)))
            return WarcRecord(
                rec.rec_type,
                list(rec.rec_headers.headers),
                list(rec.http_headers.headers) if rec.http_headers else [],
                rec.content_stream().read(),
            )
    except (OSError, StopIteration):
        return None


def read_payload(warc_path: Path | str, record_id: str) -> bytes | None:
    """The payload of record `record_id` in `warc_path` (HTTP headers stripped), or None."""
    found = read_record(warc_path, record_id)
    return found.payload if found else None


def verify(warc_path: Path | str, record_id: str, payload_sha256: str) -> bool:
    """True when `warc_path` holds `record_id` and its payload hashes to `payload_sha256`.

    Checks both what the WARC header claims and the bytes themselves.
    """
    with open(warc_path, "rb") as f:
        for record in ArchiveIterator(f, check_digests=True):
            if record.rec_headers.get_header("WARC-Record-ID") != record_id:
                continue
            payload = record.content_stream().read()
            claimed = record.rec_headers.get_header("WARC-Payload-Digest") or ""
            if record.rec_type != "response":
                return False
            actual = hashlib.sha256(payload).hexdigest()
            return actual == payload_sha256 and sha256_hex_from_warc_digest(claimed) == actual
    return False
