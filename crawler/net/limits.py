"""Bounds on what a hostile site can make the crawler download or parse.

Pure functions used by `crawler.middlewares`:

- `download_kind(url, headers, head)`: is this response an executable or an
  archive (by URL extension, Content-Type, Content-Disposition or the first
  bytes)? Such responses are recorded as "offered a download", never stored.
- `nesting_depth(body, limit)`: how deep the HTML's elements nest, stopping
  early past `limit`. HTML5 parsers (lexbor, html5lib) spend time quadratic
  in the depth; browsers cap the tree at 512 levels, and a page nested
  100,000 deep would hold the crawl for minutes.
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

EXECUTABLE_EXTENSIONS = frozenset(
    ".exe .msi .msix .msixbundle .appx .appinstaller .scr .pif .cpl .dll .sys .bat .cmd"
    " .ps1 .psm1 .vbs .vbe .jse .wsf .wsh .hta .lnk .reg .jar .apk .xapk .ipa .dmg .pkg"
    " .app .deb .rpm .appimage .run .bin .elf .sh .command".split()
)
ARCHIVE_EXTENSIONS = frozenset(
    ".zip .rar .7z .tar .gz .tgz .bz2 .tbz2 .xz .txz .zst .lz .lzma .cab .iso .img .vhd"
    " .vhdx .ace .arj .lzh .z".split()
)
EXECUTABLE_TYPES = frozenset(
    """application/x-msdownload application/x-msdos-program application/x-dosexec
    application/vnd.microsoft.portable-executable application/x-ms-installer
    application/x-msi application/x-ms-shortcut application/x-executable
    application/x-elf application/x-mach-binary application/x-sh application/x-csh
    application/x-bat application/hta application/java-archive
    application/x-java-archive application/vnd.android.package-archive
    application/x-apple-diskimage application/vnd.debian.binary-package
    application/x-rpm application/x-redhat-package-manager application/x-ms-application""".split()
)
ARCHIVE_TYPES = frozenset(
    """application/zip application/x-zip-compressed application/x-rar-compressed
    application/vnd.rar application/x-rar application/x-7z-compressed application/gzip
    application/x-gzip application/x-tar application/x-gtar application/x-bzip2
    application/x-bzip application/x-xz application/zstd application/x-zstd
    application/x-lzip application/vnd.ms-cab-compressed application/x-iso9660-image
    application/x-compress application/x-compressed""".split()
)
# (first bytes, kind, what); the compressed formats only count when the
# response has no Content-Encoding (then the bytes are the file itself).
MAGIC = (
    (b"MZ", "executable", "Windows executable"),
    (b"\x7fELF", "executable", "ELF executable"),
    (b"\xcf\xfa\xed\xfe", "executable", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "executable", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "executable", "Mach-O universal binary"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "executable", "MSI/OLE installer"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "executable", "Windows shortcut"),
    (b"PK\x03\x04", "archive", "ZIP archive"),
    (b"PK\x05\x06", "archive", "ZIP archive"),
    (b"Rar!\x1a\x07", "archive", "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "archive", "7-Zip archive"),
    (b"MSCF", "archive", "CAB archive"),
    (b"\x1f\x8b", "archive", "gzip file"),
    (b"BZh", "archive", "bzip2 file"),
    (b"\xfd7zXZ\x00", "archive", "xz file"),
    (b"\x28\xb5\x2f\xfd", "archive", "zstd file"),
)
_COMPRESSED_MAGIC = {"gzip file", "bzip2 file", "xz file", "zstd file"}


def _header(headers, name: str) -> str:
    if headers is None:
        return ""
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return (value or "").strip()


def attachment_filename(headers) -> str:
    """The filename of a Content-Disposition: attachment, or "" if not an attachment."""
    disposition = _header(headers, "Content-Disposition")
    if not disposition.lower().startswith("attachment"):
        return ""
    found = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", disposition, re.I)
    return unquote(found.group(1)).strip() if found else "(unnamed attachment)"


def _extension_kind(name: str) -> str | None:
    # The last suffix decides, as it does for the browser that saves the file:
    # `app.exe.html` is a page, `tool.exe.zip` an archive.
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in EXECUTABLE_EXTENSIONS:
        return "executable"
    if suffix in ARCHIVE_EXTENSIONS:
        return "archive"
    return None


def url_download_kind(url: str) -> tuple[str, str] | None:
    """(kind, reason) when the URL's path names an executable or an archive."""
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:
        return None
    name = path.rsplit("/", 1)[-1]
    kind = _extension_kind(name) if "." in name else None
    return (kind, f"{kind} by its name {name!r}") if kind else None


def download_kind(url: str, headers=None, head: bytes = b"") -> tuple[str, str] | None:
    """(kind, reason) when a response is an executable or archive, else None.

    `headers` is any mapping with `.get` (Scrapy's Headers or a dict); `head`
    is the start of the body (raw, before any Content-Encoding is undone).
    """
    ctype = _header(headers, "Content-Type").split(";")[0].strip().lower()
    if ctype in EXECUTABLE_TYPES:
        return "executable", f"Content-Type {ctype}"
    if ctype in ARCHIVE_TYPES:
        return "archive", f"Content-Type {ctype}"
    if ctype == "application/octet-stream":
        # Browsers save such a response instead of showing it: a download of some file.
        return _extension_kind(urlsplit(url).path) or "binary", f"Content-Type {ctype}"
    filename = attachment_filename(headers)
    if filename:
        kind = _extension_kind(filename) or "attachment"
        return kind, f"served as an attachment named {filename!r}"
    if head:
        encoded = bool(_header(headers, "Content-Encoding"))
        for magic, kind, what in MAGIC:
            if head.startswith(magic) and not (encoded and what in _COMPRESSED_MAGIC):
                if magic == b"MZ" and b"\x00" not in head[:64]:
                    continue  # "MZ..." text, not a DOS header
                return kind, f"content is a {what}"
    return url_download_kind(url)


_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z0-9:-]{0,40})")
_RAW_TEXT = {b"script", b"style", b"textarea", b"title", b"xmp", b"noscript", b"template"}
_VOID = {
    b"area",
    b"base",
    b"br",
    b"col",
    b"embed",
    b"hr",
    b"img",
    b"input",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
    b"keygen",
    b"frame",
    b"basefont",
    b"bgsound",
    b"image",
}
# Start tags that close an open element of the same name (HTML's implied end tags).
_SELF_CLOSING_SIBLINGS = {
    b"p",
    b"li",
    b"dt",
    b"dd",
    b"option",
    b"optgroup",
    b"tr",
    b"td",
    b"th",
    b"rb",
    b"rt",
    b"rp",
    b"thead",
    b"tbody",
    b"tfoot",
}
_SEARCH = 12  # how far down the stack an end tag looks for its start tag
# More tags than this is no landing page but a parser bomb; it also bounds
# the time `nesting_depth` may take (about 1 µs a tag).
MAX_TAGS = 500_000


# Deeper HTML is a parser time bomb: HTML5 tree building is quadratic in the
# depth of unclosed elements. The downloader refuses such pages
# (SERPWATCH_MAX_NESTING) and the phone extractor reads them as tag soup.
MAX_NESTING = 1024


def too_deep(html: str | bytes, limit: int = MAX_NESTING) -> bool:
    """True when the markup nests elements deeper than `limit`."""
    body = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
    return nesting_depth(body, limit) > limit


def nesting_depth(body: bytes, limit: int = MAX_NESTING) -> int:
    """Approximate element nesting depth of an HTML document; above `limit` means too deep.

    Tracks a stack of open elements the way an HTML parser roughly does
    (void elements, implied end tags, stray end tags ignored) so sloppy but
    ordinary pages stay shallow, while `<div>` × 100,000 is caught after
    `limit` tags. Linear in the number of tags (about 1 s for 500,000).
    """
    tags = body.count(b"<")
    if tags <= limit:
        return tags
    stack: list[bytes] = []
    deepest = 0
    skip_to = 0
    lower_body = None
    for m in _TAG.finditer(body):
        if m.start() < skip_to:
            continue
        slash, name = m.groups()
        name = name.lower()
        if slash:  # end tag: pop to the nearest matching start tag
            if stack and stack[-1] == name:
                stack.pop()
            else:
                _pop_to(stack, name)
            continue
        if name in _VOID:
            continue
        if name in _RAW_TEXT:
            if lower_body is None:
                lower_body = body.lower()
            end = lower_body.find(b"</" + name, m.end())
            skip_to = len(body) if end < 0 else end
            continue
        if name in _SELF_CLOSING_SIBLINGS:
            _pop_to(stack, name)
        stack.append(name)
        if len(stack) > deepest:
            deepest = len(stack)
            if deepest > limit:
                return deepest
    return deepest


def _pop_to(stack: list[bytes], name: bytes) -> None:
    for i in range(len(stack) - 1, max(-1, len(stack) - 1 - _SEARCH), -1):
        if stack[i] == name:
            del stack[i:]
            return


def retry_after_seconds(value: str | bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def failure_kind(exc: BaseException) -> str:
    """A short stat name for why a download failed (`serpwatch/pages_failed/<kind>`)."""
    stat = getattr(exc, "stat", None)
    if stat:
        return str(stat)
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status", None):
        return f"http_{response.status}"
    return type(exc).__name__


def failed_query(exc: BaseException) -> tuple[str, str]:
    """A result page that got no answer, as its query's outcome and detail. A query
    refused by the run's own budget (SERPWATCH_MAX_QUERIES) was never asked: the
    engine did not fail ("skipped"), and the query covered nothing."""
    kind = failure_kind(exc)
    return ("skipped" if kind == "query_budget" else "failed"), f"{kind}: {exc}"[:300]


def heals(status: int, retry_codes) -> bool:
    """Whether an engine's error answer that is no block page may pass when asked
    again: a server's error among RETRY_HTTP_CODES (Scrapy's: 500, 502, 503, 504,
    522, 524, 408); a wrong URL's 404 or 410 never does, and a 429 is a block."""
    return status != 429 and status in {int(code) for code in retry_codes}
