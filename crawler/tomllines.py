"""Line numbers in a TOML text, for error messages that name file, line and field.

tomllib gives values without positions, so a loader that finds a bad value
looks for it in the text: best effort, and `None` when it is not found (the
message then names the file and field only). One rule for every loader
(crawler.config, crawler.exports.recipients):

- a key is `key =` at the start of a line (indentation allowed), the n-th one
  (`occurrence`) at or after line `after`;
- a table is its header line, `[name]` or `["name"]`, a comment allowed after
  it; with a key or a value, only the lines up to the next header count, and
  the header's line stands in when the key is not there;
- a value is the first place its text appears.

Reading such a file and its one error type live here too, not in
crawler.config, so that a command that only needs to report a `ConfigError`
(every command, through crawler.cli.common) does not import the engines,
phonenumbers and tldextract that validating a profile needs.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

_NEXT_HEADER = re.compile(r"^[ \t]*\[", re.M)


class ConfigError(Exception):
    """A profile or brands file the user must fix."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None, field=None):
        self.path = str(path)
        self.line = line
        self.field = field
        where = self.path + (f":{line}" if line else "")
        what = f" [{field}]" if field else ""
        super().__init__(f"{where}{what}: {message}")


def read_toml(path: Path) -> tuple[dict, str]:
    """The parsed file and its text (for `line_of`), or a ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read file: {exc}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError has no lineno attribute; the message has it.
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        msg = str(exc).split(" (at line")[0]
        raise ConfigError(path, f"not valid TOML: {msg}", line=line) from None


def line_of(
    text: str,
    key: str | None = None,
    *,
    table: str | None = None,
    value: str | None = None,
    occurrence: int = 0,
    after: int | None = None,
) -> int | None:
    """The 1-based line of `key =` (or of `value`) in `text`, inside `[table]` if given."""
    start, end, fallback = _offset(text, after), len(text), None
    if table is not None:
        header = re.search(
            rf'^[ \t]*\[[ \t]*"?{re.escape(table)}"?[ \t]*\][ \t]*(?:#.*)?$', text[start:], re.M
        )
        if header is None:
            return None
        fallback = _line(text, start + header.start())
        if key is None and value is None:
            return fallback
        start += header.end()
        following = _NEXT_HEADER.search(text, start)
        end = following.start() if following else len(text)
    if value is not None:
        at = text.find(value, start, end)
        return _line(text, at) if at >= 0 else fallback
    found = list(re.finditer(rf"^[ \t]*{re.escape(key or '')}[ \t]*=", text[start:end], re.M))
    if len(found) > occurrence:
        return _line(text, start + found[occurrence].start())
    return fallback


def line_of_key(
    text: str, key: str, *, table: str | None = None, index: int | None = None
) -> int | None:
    """The line of `key =` at the top level (no `table`), in `[table]`, or in the
    `index`-th `[[table]]`; the table's header line when the key is not there.

    Failing those (a dotted key, an inline table, a table of that name), the
    first line that sets `key` anywhere or is its header; None when none is.
    """
    start, end, fallback = 0, len(text), None
    if table is not None:
        opening, closing = (r"\[\[", r"\]\]") if index is not None else (r"\[", r"\]")
        title = rf'[ \t]*"?{re.escape(table)}"?[ \t]*'
        pattern = rf"^[ \t]*{opening}{title}{closing}[ \t]*(?:#.*)?$"
        headers = list(re.finditer(pattern, text, re.M))[index or 0 :]
        if headers:
            fallback, start = _line(text, headers[0].start()), headers[0].end()
    following = _NEXT_HEADER.search(text, start)
    if table is not None and fallback is None:
        following = None  # no such header: look everywhere
    end = following.start() if following else end
    found = re.search(rf'^[ \t]*"?{re.escape(key)}"?[ \t]*=', text[start:end], re.M)
    if found:
        return _line(text, start + found.start())
    name = rf'"?{re.escape(key)}"?'
    anywhere = re.search(
        rf'(?<![\w"\'-]){name}[ \t]*=|^[ \t]*\[\[?[ \t]*{name}[ \t]*\]', text, re.M
    )
    return fallback or (_line(text, anywhere.start()) if anywhere else None)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _offset(text: str, line: int | None) -> int:
    """Where line `line` (1-based) starts; the start of the text for None."""
    if not line or line <= 1:
        return 0
    at = -1
    for _ in range(line - 1):
        at = text.find("\n", at + 1)
        if at < 0:
            return len(text)
    return at + 1
