"""JSON text of a streamed export row with its stored reasons spliced in.

A pair's reasons, its number's and its site's are most of a row's bytes (a
delta after a run that changed every page writes tens of thousands of rows):
decoding the stored JSON and encoding the lists again, once for the line and
once for the fingerprint, was a third of the row's time. The reasons are
stored as compact JSON (`storage.facts._json`); `reasons_text` gives the text
json.dumps gives the decoded list, from the stored text, without decoding it
when it is a list of plain strings (no escapes), and `Spliced` writes a row
whose reasons are that text. tests/test_exports_fast.py holds both to the
encoders they stand in for, on any value.
"""

from __future__ import annotations

import functools
import json
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii

from crawler.exports.csvsafe import LIST_SEPARATOR, escape_cell


def encode_function(encoder: json.JSONEncoder):
    """`encoder.encode`, its C encoder made once: JSONEncoder.encode makes it again
    on every call, which costs more than encoding a small dict (a delta encodes
    several per row). The same C encoder with the same options, so the same text;
    without the check for circular values (rows read from the database have none)."""
    if c_make_encoder is None or encoder.indent is not None:
        return encoder.encode
    text_of = encode_basestring_ascii if encoder.ensure_ascii else encode_basestring
    encode = c_make_encoder(
        None,
        encoder.default,
        text_of,
        encoder.indent,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    join = "".join

    def encoded(value) -> str:
        if isinstance(value, str):
            return text_of(value)
        return join(encode(value, 0))

    return encoded


def uuid_text(digest_hex: str, version: int) -> str:
    """A UUID's text from a digest's hex (its first 32 digits), with the version and
    RFC 4122 variant bits set as uuid.UUID(bytes=..., version=...) sets them: the
    version is the 13th digit, the variant the top two bits of the 17th."""
    h = digest_hex
    return f"{h[:8]}-{h[8:12]}-{version}{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# A hex digit with its top two bits made 10 (the RFC 4122 variant).
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def key_function(preset):
    """`preset.item_key`, made without its list and checks for a key of two fields whose
    values are text (a site and a number: every pair's), the same text either way."""
    if len(preset.key) != 2:
        return preset.item_key
    first, second = preset.key
    slow = preset.item_key

    def key(row: dict) -> str:
        a, b = row.get(first), row.get(second)
        if type(a) is str and type(b) is str:
            return f"[{encode_basestring(a)}, {encode_basestring(b)}]"
        return slow(row)

    return key


# A text cell starting with none of these is safe as it is (exports._cell's check;
# an empty one is made by `_cell`).
_CELL_CHECKS = frozenset("'= +-@\t\r\n") | {""}


# The row fields that hold stored reasons (a list of strings, stored as JSON).
REASONS_FIELDS = frozenset({"reasons", "number_reasons", "site_reasons"})


def _strings_inner(stored: str) -> str | None:
    """For stored compact JSON (separators "," and ":") of a list of one or more
    strings with nothing escaped: the text between its outer `["` and `"]`, the
    strings with `","` between them; None for anything else.

    With no backslash in the text every quote delimits a string (a quote in a
    string is escaped), and with no control character (printable) no string
    needs escaping either way. Inside the outer `["` and `"]` each quote then
    belongs to a separator `","`, and when the quotes are exactly those the text
    is the list of the strings between them. A search from the left finds each
    separator before any `","` made of a string's first character (its opening
    quote comes first), so replacing them replaces exactly the separators."""
    if (
        len(stored) < 4
        or stored[:2] != '["'
        or stored[-2:] != '"]'
        or "\\" in stored
        or not stored.isprintable()
    ):
        return None
    inner = stored[2:-2]
    if stored.count('"') != 2 * inner.count('","') + 2:
        return None
    return inner


def plain_reasons(stored: str | None) -> str | None:
    """json.dumps(json.loads(stored or "[]"), ensure_ascii=False) for stored reasons
    that are a list of strings with nothing escaped (`_strings_inner`), without
    decoding them: `", "` between the strings; None for anything else (the caller
    decodes it)."""
    if not stored or stored == "[]":
        return "[]"
    inner = _strings_inner(stored)
    return None if inner is None else '["' + inner.replace('","', '", "') + '"]'


def reasons_cell(stored: str | None) -> str | None:
    """`csv_cell` of stored reasons decoded (`json.loads(stored or "[]")`): the strings
    joined by "; " and made spreadsheet-safe, without decoding them; None when they
    are not a list of plain strings (`_strings_inner`: the caller decodes them)."""
    if not stored or stored == "[]":
        return escape_cell("")
    inner = _strings_inner(stored)
    return None if inner is None else escape_cell(inner.replace('","', LIST_SEPARATOR))


@functools.lru_cache(maxsize=32768)
def shared_reasons_cell(stored: str | None) -> str | None:
    """`reasons_cell` of a number's or site's reasons (each made once, as
    `shared_plain_reasons`)."""
    return reasons_cell(stored)


@functools.lru_cache(maxsize=32768)
def shared_plain_reasons(stored: str | None) -> str | None:
    """`plain_reasons` of a number's or site's reasons: they repeat on each of its
    pairs (a delta's pairs come by score, not by number or site: a small cache
    would miss them)."""
    return plain_reasons(stored)


class Spliced:
    """The JSON text `encoder` gives a dict of these keys, with the values of the
    `spliced` keys given as JSON text.

    The dict is encoded once with a marker string in place of each spliced value
    (a NUL and the marker's number: `"\\u0000N"` in the text), and each marker's
    text is then replaced by the value's. When the text holds any other `\\u0000`
    (a value with a NUL, or with that text) the markers cannot be told apart from
    it: the dict is then encoded with the values themselves (`fallback`)."""

    def __init__(self, keys: list[str], spliced: frozenset[str], encoder: json.JSONEncoder):
        self.encode = encode_function(encoder)
        self.keys = tuple(dict.fromkeys(keys))  # a dict of these keys holds each once
        names = [k for k in self.keys if k in spliced]
        if len(names) > 10:
            raise ValueError(f"Spliced: at most 10 spliced keys, not {len(names)}")
        self.markers = {name: f"\x00{n}" for n, name in enumerate(names)}
        self.names = names

    def text(self, row: dict, texts: dict[str, str], fallback) -> str:
        """The dict `{k: row.get(k) for k in keys}` as JSON, each spliced key's value
        being `texts[k]`; `fallback(k)` gives the value itself, for a row whose text
        the markers cannot be spliced into."""
        values = {k: row.get(k) for k in self.keys}
        if not self.markers:
            return self.encode(values)
        values.update(self.markers)
        text = self.encode(values)
        if text.count("\\u0000") != len(self.markers):
            values.update({k: fallback(k) for k in self.markers})
            return self.encode(values)
        # Each piece after the first starts with a marker's number and its closing quote.
        head, *rest = text.split('"\\u0000')
        names = self.names
        return head + "".join([texts[names[int(p[0])]] + p[2:] for p in rest])


class RowTexts:
    """A streamed pair row's fingerprint and (for JSONL) its line, with the stored
    reasons spliced in (`Spliced`): `counted` are the fields its fingerprint
    reads, `columns` those its line writes, each encoded as its encoder would.
    A row's reasons fields hold their decoded list, or None when the row was made
    without decoding them (`rows.export_row`): their text is then made of the
    stored text (`plain_reasons`)."""

    def __init__(
        self,
        counted: list[str],
        fp_encoder: json.JSONEncoder,
        columns: list[str] | None = None,
        line_encoder: json.JSONEncoder | None = None,
    ):
        self.fp = Spliced(counted, REASONS_FIELDS, fp_encoder)
        self.line = Spliced(columns, REASONS_FIELDS, line_encoder) if columns else None
        self.fields = REASONS_FIELDS & {*counted, *(columns or ())}

    def texts(self, raw: dict, row: dict) -> tuple[dict[str, str], dict[str, str]]:
        """Each reasons field's JSON text for the fingerprint and for the line."""
        fp: dict[str, str] = {}
        line: dict[str, str] = {}
        for name in self.fields:
            value = row[name]
            if value is None:
                stored = raw[name]
                plain = plain_reasons(stored) if name == "reasons" else shared_plain_reasons(stored)
                if plain is not None:
                    fp[name] = line[name] = plain
                    continue
                value = json.loads(stored or "[]")
            fp[name] = self.fp.encode(value)
            if self.line is not None:
                line[name] = self.line.encode(value)
        return fp, line

    @staticmethod
    def _values(raw: dict, row: dict):
        """A reasons field's decoded list, for a row the markers cannot be spliced into."""

        def value(name: str):
            found = row[name]
            return json.loads(raw[name] or "[]") if found is None else found

        return value

    def fingerprint(self, raw: dict, row: dict) -> str:
        """The text whose SHA-256 is the row's fingerprint (`shaping.fingerprint`)."""
        return self.fp.text(row, self.texts(raw, row)[0], self._values(raw, row))

    def both(self, raw: dict, row: dict) -> tuple[str, str]:
        """The fingerprint's text and the row's JSONL line (without its newline)."""
        assert self.line is not None
        fp, line = self.texts(raw, row)
        value = self._values(raw, row)
        return self.fp.text(row, fp, value), self.line.text(row, line, value)


class StreamedRows:
    """What a streamed export makes of each pair row (`core._stream_pairs`): first the
    text of its fingerprint, then, for a row that is sent, what its format's writer
    takes: its JSONL line, its CSV cells, or the row itself (the pair formats).

    `decode` are the reasons fields its rows decode (`rows.export_row`): none for
    JSONL and CSV (their lines, cells and fingerprints splice the stored text),
    unless the filter or key (`reads`) reads them; all of them for the pair
    formats, whose fingerprints are their counted fields encoded whole (splicing
    measured no faster there: their rows need the pair's reasons decoded, and the
    number's and site's repeat in the read's order by site)."""

    def __init__(
        self,
        fmt: str,
        columns: list[str],
        counted: list[str],
        reads: set[str],
        encoders: tuple[json.JSONEncoder, json.JSONEncoder],
        cell,
    ):
        fp_encoder, line_encoder = encoders
        self.fmt, self.columns, self.cell = fmt, columns, cell
        self.spliced = fmt in ("jsonl", "csv")
        self.decode = REASONS_FIELDS
        if self.spliced and not REASONS_FIELDS & reads:
            self.decode = frozenset()
        # Where the columns' reasons are (CSV's cells of them are made of their text).
        self.reasons_at = [(n, c) for n, c in enumerate(columns) if c in REASONS_FIELDS]
        lines = fmt == "jsonl"
        self.texts = RowTexts(counted, fp_encoder, *((columns, line_encoder) if lines else ()))
        self.counted, self.encode = tuple(dict.fromkeys(counted)), encode_function(fp_encoder)
        self._line: tuple | None = None  # what the last row's line is made of

    def fingerprint(self, raw: dict, row: dict) -> str:
        if not self.spliced:
            return self.encode({c: row.get(c) for c in self.counted})
        texts = self.texts
        fp, line = texts.texts(raw, row)
        values = texts._values(raw, row)
        if texts.line is not None:
            self._line = (row, line, values)
        return texts.fp.text(row, fp, values)

    def item(self, raw: dict, row: dict):
        """What the writer takes of the row last fingerprinted."""
        if self.fmt == "jsonl":
            assert self._line is not None and self.texts.line is not None
            line_row, texts, values = self._line
            return self.texts.line.text(line_row, texts, values)
        if self.fmt == "csv":
            return self.cells(raw, row)
        return row

    def cells(self, raw: dict, row: dict) -> list[str]:
        """The row's CSV cells (`exports._cell` of each column's value), those of
        reasons not decoded made of their stored text (`reasons_cell`)."""
        cell, checks = self.cell, _CELL_CHECKS
        cells = [
            v if type(v) is str and v[:1] not in checks else cell(v)
            for v in map(row.get, self.columns)
        ]
        for at, name in self.reasons_at:
            if row[name] is None:
                made = (reasons_cell if name == "reasons" else shared_reasons_cell)(raw[name])
                cells[at] = cell(json.loads(raw[name] or "[]")) if made is None else made
        return cells


def csv_line(cells: list[str]) -> str | None:
    """The line csv.writer(out, lineterminator="\\n") writes for these cells (QUOTE_MINIMAL:
    a cell holding a comma, a quote or a newline is quoted, its quotes doubled); None
    for a row it is left to write: one cell (an empty one is quoted alone), or a cell
    holding a carriage return (which Python versions quote differently).
    tests/test_exports_rowtext.py holds the two to the same text."""
    if len(cells) < 2:
        return None
    joined = ",".join(cells)
    if (
        joined.count(",") == len(cells) - 1
        and '"' not in joined
        and "\n" not in joined
        and "\r" not in joined
    ):
        return joined + "\n"
    if "\r" in joined:
        return None
    if '"' not in joined and "\n" not in joined:  # only commas: no quote to double
        return ",".join([f'"{c}"' if "," in c else c for c in cells]) + "\n"
    quoted = [
        '"' + c.replace('"', '""') + '"' if ("," in c or '"' in c or "\n" in c) else c
        for c in cells
    ]
    return ",".join(quoted) + "\n"
