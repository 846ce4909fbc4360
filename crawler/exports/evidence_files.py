"""The bytes behind an export row's evidence: the page from the WARC, the screenshot.

MISP and XARF carry evidence as attachments, so their writers need the bytes
the rows only cite (`warc_file`, `warc_record_id`, and where the browser kept
one, `screenshot`). `EvidenceFiles` finds them in the run's WARC folder; a
missing file or record gives None and the writer leaves that attachment out.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from crawler.evidence import read_payload

# XARF's limit for one evidence item; MISP is given the same.
MAX_BYTES = 5 * 1024 * 1024
CACHED_RECORDS = 64


@dataclass
class Attachment:
    """Evidence bytes with what a partner needs to check them."""

    name: str
    content_type: str
    data: bytes
    sha256: str
    description: str


@dataclass
class EvidenceFiles:
    """Reads evidence from the WARC folder of a database (None: no folder known)."""

    folder: Path | None
    # The last records read: rows of one record come together (a site's
    # numbers), and a bounded cache keeps a year's export in flat memory.
    _cache: OrderedDict = field(default_factory=OrderedDict)

    def record(self, warc_file: str | None, record_id: str | None) -> bytes | None:
        if not (self.folder and warc_file and record_id):
            return None
        key = (warc_file, record_id)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        path = self.folder / Path(warc_file).name  # a name, never a path from the row
        data = read_payload(path, record_id) if path.is_file() else None
        self._cache[key] = data
        if len(self._cache) > CACHED_RECORDS:
            self._cache.popitem(last=False)
        return data

    def page(self, row: dict) -> Attachment | None:
        """The landing page as fetched, when its WARC record is at hand and fits."""
        data = self.record(row.get("warc_file"), row.get("warc_record_id"))
        if data is None or len(data) > MAX_BYTES:
            return None
        sha = hashlib.sha256(data).hexdigest()
        return Attachment(
            name=f"{row.get('domain') or 'page'}.html",
            content_type="text/html",
            data=data,
            sha256=sha,
            description=(
                f"Page {row.get('url')} as fetched on {row.get('last_seen')}: WARC record "
                f"{row.get('warc_record_id')} in {row.get('warc_file')}"
            )[:500],
        )

    def screenshot(self, row: dict) -> Attachment | None:
        """The page's screenshot, where the browser kept one (`screenshot` field).

        The field cites a WARC record (an id, or {"warc_record_id", "warc_file"}
        as JSON) or names a file; its bytes must match `screenshot_sha256`
        when that is given.
        """
        cited = row.get("screenshot")
        if not cited:
            return None
        if isinstance(cited, str) and cited.startswith("{"):
            try:
                cited = json.loads(cited)
            except ValueError:
                return None
        data = None
        if isinstance(cited, dict):
            data = self.record(
                cited.get("warc_file") or row.get("warc_file"),
                cited.get("warc_record_id") or cited.get("record_id"),
            )
            if data is None and cited.get("path") and Path(cited["path"]).is_file():
                data = Path(cited["path"]).read_bytes()
        elif isinstance(cited, str) and cited.startswith("<urn:"):
            data = self.record(row.get("warc_file"), cited)
        elif isinstance(cited, str) and Path(cited).is_file():
            data = Path(cited).read_bytes()
        if data is None or len(data) > MAX_BYTES:
            return None
        sha = hashlib.sha256(data).hexdigest()
        if row.get("screenshot_sha256") and row["screenshot_sha256"] != sha:
            return None  # not the screenshot the row cites
        return Attachment(
            name=f"{row.get('domain') or 'page'}.png",
            content_type="image/png",
            data=data,
            sha256=sha,
            description=f"Screenshot of {row.get('url')} taken by the crawler's browser"[:500],
        )
