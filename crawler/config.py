"""Profile and brands files: loading and validation.

Every error is a `ConfigError` that names the file, the line where known and
the field, so the CLI can print one clear line and exit 2.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from crawler.brands import ThirdParty, normalise_domain, normalise_keyword
from crawler.engines import ENGINES
from crawler.phones import normalize_phone
from crawler.risk import RISK_LEVELS
from crawler.tomllines import ConfigError, line_of, line_of_key, read_toml

# The bundled language packs: `templates = { include = "templates/nl.toml" }`
# finds them when the profile has no such file beside it.
PACKS_DIR = Path(__file__).parent / "templates"


@dataclass
class OfficialPhone:
    """One listed number and where it came from: a `phones` entry, string or table."""

    number: str  # E.164
    raw: str  # as written in the file
    source: str = ""  # the page it was checked on, when the entry names one
    checked: dt.date | None = None  # when it was last checked there
    note: str = ""


@dataclass
class Brand:
    name: str
    keywords: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # E.164
    source: str = ""  # the first of `sources` (kept for readers of 0.1)
    # `source` may be one string or a list: the brand's contact pages. Entries
    # that are not http(s) URLs ("demo: fictional") are notes, never fetched.
    sources: list[str] = field(default_factory=list)
    official: list[OfficialPhone] = field(default_factory=list)  # provenance of `phones`

    def pages(self) -> list[str]:
        """The http(s) pages `brands check` fetches: the brand's sources, then the numbers'."""
        out: list[str] = []
        for url in [*self.sources, *(p.source for p in self.official)]:
            if url.startswith(("http://", "https://")) and _has_host(url) and url not in out:
                out.append(url)
        return out


@dataclass
class Engine:
    kind: str
    url: str | None = None
    # Seconds between two requests to this engine; None: the default for its kind.
    delay: float | None = None


@dataclass
class AlertsConfig:
    """The profile's optional `[alerts]` table: Apprise URLs and the lowest risk alerted."""

    urls: list[str] = field(default_factory=list)
    min_risk: str = "high"


@dataclass
class TemplatePack:
    """An included file of query templates in one language (crawler/templates/*.toml)."""

    path: Path
    language: str
    templates: list[str]
    # Words victims put after a brand ("klantenservice"), for `queries suggest`.
    helpdesk_words: list[str] = field(default_factory=list)


SUGGEST_KINDS = ("bing", "duckduckgo", "google")


@dataclass
class SuggestConfig:
    """`[suggest]`: which autocomplete endpoints `queries suggest` asks, where, how fast."""

    engines: list[str] = field(default_factory=lambda: list(SUGGEST_KINDS))
    urls: dict[str, str] = field(default_factory=dict)  # kind → endpoint (operator's)
    delay: float = 1.0  # seconds between two requests to one endpoint


# The keys each table knows (README: A real crawl; DESIGN.md: Profile, Brands).
# Anything else is a typo that would otherwise be dropped without a word:
# `tempaltes` would lose every template query, a brand's `phone` its official
# numbers.
PROFILE_KEYS = (
    "name",
    "brands",
    "region",
    "language",
    "results_per_query",
    "follow_ads",
    "click_ads",
    "allow_private",
    "render",
    "per_worker_limits",
    "engines",
    "queries",
    "alerts",
    "suggest",
)
ENGINE_KEYS = ("kind", "url", "delay")
QUERIES_KEYS = ("templates", "extra")
ALERTS_KEYS = ("urls", "min_risk")
SUGGEST_KEYS = ("engines", "urls", "delay")
BRANDS_FILE_KEYS = ("brands", "third_parties")
BRAND_KEYS = ("name", "keywords", "domains", "phones", "source")
THIRD_PARTY_KEYS = ("name", "kind", "domains", "phones", "source")
PACK_KEYS = ("language", "templates", "helpdesk_words")


def check_keys(
    value: dict,
    known: tuple[str, ...],
    path: Path,
    text: str,
    *,
    where: str = "",
    table: str | None = None,
    index: int | None = None,
    line: int | None = None,
) -> None:
    """A ConfigError for the first key of `value` not in `known`, naming the closest known key.

    `where` is the table's field name ("" for the top level, "engines[1]");
    the key's line is looked up in `[table]` (the `index`-th `[[table]]`),
    or is `line` when given.
    """
    for key in value:
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"use {', '.join(known)}"
        raise ConfigError(
            path,
            f"unknown key {key!r}; {hint}",
            line=line or line_of_key(text, key, table=table, index=index),
            field=f"{where}.{key}" if where else key,
        )


def _check_entry(entry, known: tuple[str, ...], array: str, i: int, path: Path, text: str):
    """The keys of the i-th `[[array]]` table, named `array[NAME]` (`array[i]` without a name)."""
    if not isinstance(entry, dict):
        return  # the loader says what is wrong with it
    name = entry.get("name")
    label = name if isinstance(name, str) and name.strip() else i
    check_keys(entry, known, path, text, where=f"{array}[{label}]", table=array, index=i)


def query_key(text: str) -> str:
    """How two query texts are compared: case and runs of spaces ignored."""
    return " ".join(text.split()).casefold()


@dataclass
class Profile:
    path: Path
    name: str
    brands: list[Brand]
    brands_path: Path
    region: str = "NL"
    language: str = "nl"
    results_per_query: int = 10
    follow_ads: bool = True
    click_ads: bool = False
    engines: list[Engine] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    allow_private: bool = False
    render: str = "auto"  # auto | always | never: the browser (crawler.render)
    third_parties: list[ThirdParty] = field(default_factory=list)
    alerts: AlertsConfig | None = None
    packs: list[TemplatePack] = field(default_factory=list)  # included template files
    suggest: SuggestConfig = field(default_factory=SuggestConfig)
    # Query texts a maintainer retired (`serpwatch queries retire`), with the
    # reason; `queries()` leaves them out. Set from the database by the crawl.
    retired: dict[str, str] = field(default_factory=dict)
    # Distributed mode (crawler/distributed.py): True when every worker has its
    # own egress address, so each keeps its own engine rate limits.
    per_worker_limits: bool = False

    def queries(self) -> list[tuple[str | None, str]]:
        """(brand name or None, query text) for every brand × template, then the extras."""
        out: list[tuple[str | None, str]] = []
        for brand in self.brands:
            for template in self.templates:
                out.append((brand.name, template.replace("{brand}", brand.name)))
        out.extend((None, text) for text in self.extra)
        if self.retired:
            out = [(b, q) for b, q in out if query_key(q) not in self.retired]
        return out

    def official_phones(self) -> dict[str, str]:
        """E.164 → brand name, over every brand: official for any brand is never flagged."""
        return {phone: b.name for b in self.brands for phone in b.phones}


def _str_list(value, path: Path, field_name: str, line: int | None) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(path, "must be a list of strings", line=line, field=field_name)
    return value


def _phones(values, path: Path, text: str, field_name: str, line, region: str) -> list[str]:
    """Phone numbers in any format as distinct E.164 values, or a ConfigError naming the bad one."""
    return [p.number for p in _phone_entries(values, path, text, field_name, line, region)]


PHONE_KEYS = ("number", "source", "checked", "note")
_PHONES_SHAPE = "must be a list of strings or {number, source, checked, note} tables"


def _phone_entries(values, path: Path, text: str, field_name: str, line, region: str):
    """`phones` entries, plain strings or {number, source, checked, note} tables, deduplicated."""
    if isinstance(values, str | dict):
        values = [values]
    if not isinstance(values, list):
        raise ConfigError(path, _PHONES_SHAPE, line=line, field=field_name)
    out: list[OfficialPhone] = []
    for i, value in enumerate(values):
        where = f"{field_name}[{i}]"
        entry = _phone_table(value, path, text, where, line) if isinstance(value, dict) else None
        raw = entry["number"] if entry else value
        if not isinstance(raw, str):
            raise ConfigError(
                path, f"{_PHONES_SHAPE} (entry {i + 1} is {raw!r})", line=line, field=field_name
            )
        e164 = normalize_phone(raw, region)
        if e164 is None:
            raise ConfigError(
                path,
                f"{raw!r} is not a valid phone number (region {region});"
                " write it as +CC ... or fix the digits",
                line=line_of(text, value=raw),
                field=field_name,
            )
        if any(p.number == e164 for p in out):
            continue
        entry = entry or {}
        out.append(
            OfficialPhone(
                number=e164,
                raw=raw,
                source=entry.get("source", ""),
                checked=entry.get("checked"),
                note=entry.get("note", ""),
            )
        )
    return out


def _phone_table(value: dict, path: Path, text: str, where: str, line) -> dict:
    """A `{number, source, checked, note}` entry checked field by field."""
    number = value.get("number")
    at = (line_of(text, value=number) if isinstance(number, str) else None) or line
    check_keys(value, PHONE_KEYS, path, text, where=where, line=at)
    if "number" not in value:
        raise ConfigError(path, "a phone table needs `number`", line=line, field=where)
    for key in ("source", "note"):
        if not isinstance(value.get(key, ""), str):
            raise ConfigError(path, "must be a string", line=at, field=f"{where}.{key}")
    checked = value.get("checked")
    if checked is not None:
        checked = _date(checked)
        if checked is None:
            raise ConfigError(
                path,
                "must be a date, written 2026-11-30 (no quotes)",
                line=at,
                field=f"{where}.checked",
            )
        if checked > dt.date.today() + dt.timedelta(days=1):
            raise ConfigError(
                path, f"{checked} is in the future", line=at, field=f"{where}.checked"
            )
    return {**value, "checked": checked}


def _date(value) -> dt.date | None:
    """A TOML date (or datetime, or an ISO date string) as a date; None if it is none."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def load_third_parties(path: Path | str, region: str = "NL") -> list[ThirdParty]:
    """The `[[third_parties]]` tables of a brands file (none is fine)."""
    path = Path(path)
    data, text = read_toml(path)
    entries = data.get("third_parties", [])
    if not isinstance(entries, list):
        raise ConfigError(path, "must be [[third_parties]] tables", field="third_parties")
    out = []
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        _check_entry(entry, THIRD_PARTY_KEYS, "third_parties", i, path, text)
        line = line_of(text, value=name) if isinstance(name, str) and name else None
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                path,
                f"third party #{i + 1} has no name",
                field=f"third_parties[{i}].name",
            )
        label = f"third_parties[{name}]"
        phones = _phones(entry.get("phones", []), path, text, f"{label}.phones", line, region)
        domains = _checked(
            normalise_domain, entry.get("domains", []), path, text, f"{label}.domains", line
        )
        out.append(
            ThirdParty(
                name=name.strip(),
                kind=str(entry.get("kind", "")),
                domains=domains,
                phones=phones,
                source=str(entry.get("source", "")),
            )
        )
    return out


def load_brands(path: Path | str, region: str = "NL") -> list[Brand]:
    path = Path(path)
    data, text = read_toml(path)
    entries = data.get("brands")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(path, "needs at least one [[brands]] table", field="brands")
    check_keys(data, BRANDS_FILE_KEYS, path, text)
    brands = []
    for i, entry in enumerate(entries):
        line = line_of(text, "name", occurrence=i)
        name = entry.get("name") if isinstance(entry, dict) else None
        _check_entry(entry, BRAND_KEYS, "brands", i, path, text)
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                path, f"brand #{i + 1} has no name", line=line, field=f"brands[{i}].name"
            )
        label = f"brands[{name}]"
        phones_line = (line_of(text, "phones", after=line) if line else None) or line
        official = _phone_entries(
            entry.get("phones", []), path, text, f"{label}.phones", phones_line, region
        )
        sources = _str_list(entry.get("source", []), path, f"{label}.source", line)
        if any(b.name.lower() == name.strip().lower() for b in brands):
            raise ConfigError(path, f"brand {name!r} is listed twice", line=line, field=label)
        domains = _checked(
            normalise_domain, entry.get("domains", []), path, text, f"{label}.domains", line
        )
        keywords = _checked(
            normalise_keyword, entry.get("keywords", []), path, text, f"{label}.keywords", line
        )
        brands.append(
            Brand(
                name=name.strip(),
                keywords=keywords or [name.strip().lower()],
                domains=domains,
                phones=[p.number for p in official],
                source=next((u for u in sources if u), ""),
                sources=[u for u in sources if u],
                official=official,
            )
        )
    return brands


def _checked(check, values, path: Path, text: str, field_name: str, line: int | None) -> list:
    """Each value through `check` (crawler.brands), deduplicated; a ValueError names it."""
    out = []
    for raw in _str_list(values, path, field_name, line):
        try:
            value = check(raw)
        except ValueError as exc:
            where = line_of(text, value=f'"{raw}"') or line
            raise ConfigError(path, f"{raw!r} {exc}", line=where, field=field_name) from None
        if value not in out:
            out.append(value)
    return out


def _has_host(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False


def _supported_regions() -> set[str]:
    import phonenumbers

    return set(phonenumbers.SUPPORTED_REGIONS)


def _render_mode(value: str, path: Path, text: str) -> str:
    """The profile's `render`: auto, always or never (crawler.render)."""
    if value.lower() not in ("auto", "always", "never"):
        raise ConfigError(
            path,
            f"{value!r} is not a render mode; use auto, always or never",
            line=line_of(text, "render"),
            field="render",
        )
    return value.lower()


def load_profile(path: Path | str) -> Profile:
    path = Path(path)
    data, text = read_toml(path)
    check_keys(data, PROFILE_KEYS, path, text)

    def need(key, kind, default=None):
        value = data.get(key, default)
        if value is None:
            raise ConfigError(path, "is required", field=key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                path,
                f"must be {getattr(kind, '__name__', kind)}",
                line=line_of(text, key),
                field=key,
            )
        return value

    name = need("name", str, path.stem)
    region = need("region", str, "NL").upper()
    if region not in _supported_regions():
        raise ConfigError(
            path,
            f"{region!r} is not a region code phonenumbers knows (e.g. NL, BE, DE, GB, US)",
            line=line_of(text, "region"),
            field="region",
        )
    # A string "false" would be true: the SSRF guard's switch must be a real boolean.
    follow_ads = need("follow_ads", bool, True)
    # Never request an ad's click URL unless the profile says so: the click
    # bills the advertiser and shows the scammer our address (issue 16).
    click_ads = need("click_ads", bool, False)
    allow_private = need("allow_private", bool, False)
    render = _render_mode(need("render", str, "auto"), path, text)
    per_worker_limits = need("per_worker_limits", bool, False)
    language = need("language", str, "nl")
    brands_rel = need("brands", str)
    brands_path = (path.parent / brands_rel).resolve()
    results_per_query = need("results_per_query", int, 10)
    if results_per_query < 1:
        raise ConfigError(
            path,
            "must be at least 1",
            line=line_of(text, "results_per_query"),
            field="results_per_query",
        )
    engines = _engines(data.get("engines", []), path, text)
    queries = data.get("queries", {})
    if not isinstance(queries, dict):
        raise ConfigError(path, "must be a table", field="queries")
    check_keys(queries, QUERIES_KEYS, path, text, where="queries", table="queries")
    templates, packs = _templates(queries.get("templates", []), path, text)
    extra = _str_list(queries.get("extra", []), path, "queries.extra", line_of(text, "extra"))
    if not templates and not extra:
        raise ConfigError(path, "needs queries.templates or queries.extra", field="queries")
    alerts = load_alerts(data.get("alerts"), path, text)
    brands = load_brands(brands_path, region)
    return Profile(
        path=path,
        name=name,
        brands=brands,
        brands_path=brands_path,
        region=region,
        language=language,
        results_per_query=results_per_query,
        follow_ads=follow_ads,
        click_ads=click_ads,
        engines=engines,
        templates=templates,
        extra=extra,
        allow_private=allow_private,
        render=render,
        per_worker_limits=per_worker_limits,
        third_parties=load_third_parties(brands_path, region),
        alerts=alerts,
        packs=packs,
        suggest=_suggest(data.get("suggest", {}), path, text),
    )


def _engines(value, path: Path, text: str) -> list[Engine]:
    """The `[[engines]]` tables: kind, and optionally url and delay."""
    engines = []
    if not isinstance(value, list) or not value:
        raise ConfigError(path, "needs at least one [[engines]] table", field="engines")
    for i, entry in enumerate(value):
        if isinstance(entry, dict):
            check_keys(
                entry, ENGINE_KEYS, path, text, where=f"engines[{i}]", table="engines", index=i
            )
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in ENGINES:
            raise ConfigError(
                path,
                f"unknown engine kind {kind!r}; use one of {', '.join(ENGINES)}",
                line=line_of(text, "kind", occurrence=i),
                field=f"engines[{i}].kind",
            )
        url = entry.get("url")
        if url is not None and (
            not isinstance(url, str)
            or not url.startswith(("http://", "https://"))
            or not _has_host(url)
        ):
            raise ConfigError(
                path,
                "must be an http(s) URL",
                line=line_of(text, "url", occurrence=i),
                field=f"engines[{i}].url",
            )
        delay = entry.get("delay")
        if delay is not None and (
            isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0
        ):
            raise ConfigError(
                path,
                "must be a number of seconds, 0 or more",
                line=line_of(text, "delay", occurrence=i),
                field=f"engines[{i}].delay",
            )
        engines.append(
            Engine(kind=kind, url=url, delay=float(delay) if delay is not None else None)
        )
    return engines


def _suggest(value, path: Path, text: str) -> SuggestConfig:
    """The optional `[suggest]` table: engines, urls = {kind = URL}, delay."""
    if not isinstance(value, dict):
        raise ConfigError(path, "must be a table", line=line_of(text, "suggest"), field="suggest")
    check_keys(value, SUGGEST_KEYS, path, text, where="suggest", table="suggest")
    line = line_of(text, "engines")
    engines = _str_list(value.get("engines", list(SUGGEST_KINDS)), path, "suggest.engines", line)
    urls = value.get("urls", {})
    if not isinstance(urls, dict):
        raise ConfigError(path, "must be a table of kind = URL", field="suggest.urls")
    for kind in [*engines, *urls]:
        if kind not in SUGGEST_KINDS:
            raise ConfigError(
                path,
                f"no autocomplete endpoint for {kind!r}; use {', '.join(SUGGEST_KINDS)}",
                line=line_of(text, value=kind),
                field="suggest",
            )
    for kind, url in urls.items():
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(
                path,
                "must be an http(s) URL",
                line=line_of(text, kind),
                field=f"suggest.urls.{kind}",
            )
    delay = value.get("delay", 1.0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise ConfigError(
            path, "must be seconds, 0 or more", line=line_of(text, "delay"), field="suggest.delay"
        )
    return SuggestConfig(engines=engines, urls=dict(urls), delay=float(delay))


def _templates(value, path: Path, text: str) -> tuple[list[str], list[TemplatePack]]:
    """`queries.templates`: strings and `{ include = "FILE" }` tables, in order.

    `templates = { include = "templates/nl.toml" }`, or a list mixing strings
    and such tables; `include` may name several files. Each included file has
    `language`, `templates` and optionally `helpdesk_words`.
    """
    field_name = "queries.templates"
    line = line_of(text, "templates")
    items = value if isinstance(value, list) else [value]
    templates: list[str] = []
    packs: list[TemplatePack] = []
    for item in items:
        if isinstance(item, dict):
            if set(item) != {"include"}:
                raise ConfigError(
                    path,
                    'a table here must be { include = "FILE" } and nothing else',
                    line=line,
                    field=field_name,
                )
            for name in _str_list(item["include"], path, f"{field_name}.include", line):
                pack = load_pack(_pack_path(path, name), path, line)
                packs.append(pack)
                templates.extend(t for t in pack.templates if t not in templates)
        elif isinstance(item, str):
            _check_template(item, path, text, field_name)
            if item not in templates:
                templates.append(item)
        else:
            raise ConfigError(
                path,
                'must be a list of strings or { include = "FILE" } tables',
                line=line,
                field=field_name,
            )
    return templates, packs


def _check_template(template: str, path: Path, text: str, field_name: str) -> None:
    if "{brand}" not in template:
        raise ConfigError(
            path,
            f"template {template!r} has no {{brand}}; put generic queries in queries.extra",
            line=line_of(text, value=template),
            field=field_name,
        )


def _pack_path(profile_path: Path, name: str) -> Path:
    """An include relative to the profile; else the bundled pack of that file name."""
    own = (profile_path.parent / name).resolve()
    bundled = PACKS_DIR / Path(name).name
    short = Path(name).parent in (Path("templates"), Path("."))
    if not own.exists() and short and bundled.exists():
        return bundled
    return own


def load_pack(path: Path, included_from: Path | None = None, line: int | None = None):
    """One language pack: `language`, `templates` (each with {brand}), `helpdesk_words`."""
    if not path.exists() and included_from is not None:
        bundled = ", ".join(sorted(f"templates/{p.name}" for p in PACKS_DIR.glob("*.toml")))
        raise ConfigError(
            included_from,
            f"included file {path} not found (bundled packs: {bundled})",
            line=line,
            field="queries.templates.include",
        )
    data, text = read_toml(path)
    check_keys(data, PACK_KEYS, path, text)
    language = data.get("language")
    if not isinstance(language, str) or not language.strip():
        raise ConfigError(path, 'must name the pack\'s language, e.g. "nl"', field="language")
    templates = _str_list(data.get("templates", []), path, "templates", line_of(text, "templates"))
    if not templates:
        raise ConfigError(path, "needs at least one template", field="templates")
    for t in templates:
        _check_template(t, path, text, "templates")
    words = _str_list(
        data.get("helpdesk_words", []),
        path,
        "helpdesk_words",
        line_of(text, "helpdesk_words"),
    )
    return TemplatePack(
        path=path, language=language.strip(), templates=templates, helpdesk_words=words
    )


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def mask_url(url: str) -> str:
    """An Apprise URL fit for a message or a log: the password (user:PASS@) hidden."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^:/@?#\s]*:)[^@/?#\s]+@", r"\1***@", url)


def check_apprise_url(url: str) -> str | None:
    """Why Apprise cannot use `url`, or None when it can (no network is touched)."""
    found = _SCHEME.match(url)
    if not found:
        return "is not an Apprise URL (SCHEME://...; e.g. mailto://, json://, slack://)"
    import logging

    import apprise
    from apprise.manager_plugins import NotificationManager

    scheme = found.group(1).lower()
    if scheme not in set(NotificationManager().schemas()):
        return f"unknown scheme {scheme!r}: Apprise has no such service"
    apprise_log = logging.getLogger("apprise")
    level = apprise_log.level
    apprise_log.setLevel(logging.CRITICAL)  # its own error line would repeat ours
    try:
        ok = apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None
    finally:
        apprise_log.setLevel(level)
    return None if ok else f"is not a valid {scheme}:// URL (see Apprise's {scheme} page)"


def load_alerts(table, path: Path, text: str) -> AlertsConfig | None:
    """The optional `[alerts]` table, checked now so a bad URL fails at load, not after a crawl."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(
            path, "must be a table: [alerts]", line=line_of(text, "alerts"), field="alerts"
        )
    check_keys(table, ALERTS_KEYS, path, text, where="alerts", table="alerts")
    urls = _str_list(
        table.get("urls", []), path, "alerts.urls", line_of(text, "urls", table="alerts")
    )
    if not urls:
        raise ConfigError(
            path,
            "needs at least one Apprise URL",
            line=line_of(text, "urls", table="alerts"),
            field="alerts.urls",
        )
    for i, url in enumerate(urls):
        problem = check_apprise_url(url.strip())
        if problem:
            raise ConfigError(
                path,
                f"{mask_url(url)!r} {problem}",
                line=line_of(text, value=url) or line_of(text, "urls", table="alerts"),
                field=f"alerts.urls[{i}]",
            )
    min_risk = table.get("min_risk", "high")
    if min_risk not in RISK_LEVELS:
        raise ConfigError(
            path,
            f"must be one of {', '.join(RISK_LEVELS)}",
            line=line_of(text, "min_risk", table="alerts"),
            field="alerts.min_risk",
        )
    return AlertsConfig(urls=[u.strip() for u in urls], min_risk=min_risk)
