"""Profile and brands files: loading and validation.

Every error is a `ConfigError` that names the file, the line where known and
the field, so the CLI can print one clear line and exit 2.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from crawler.brands import ThirdParty, normalise_domain, normalise_keyword
from crawler.engines import ENGINES
from crawler.phones import normalize_phone


class ConfigError(Exception):
    """A profile or brands file the user must fix."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None, field=None):
        self.path = str(path)
        self.line = line
        self.field = field
        where = self.path + (f":{line}" if line else "")
        what = f" [{field}]" if field else ""
        super().__init__(f"{where}{what}: {message}")


@dataclass
class Brand:
    name: str
    keywords: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # E.164
    source: str = ""


@dataclass
class Engine:
    kind: str
    url: str | None = None
    # Seconds between two requests to this engine; None: the default for its kind.
    delay: float | None = None


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
    third_parties: list[ThirdParty] = field(default_factory=list)

    def queries(self) -> list[tuple[str | None, str]]:
        """(brand name or None, query text) for every brand × template, then the extras."""
        out: list[tuple[str | None, str]] = []
        for brand in self.brands:
            for template in self.templates:
                out.append((brand.name, template.replace("{brand}", brand.name)))
        out.extend((None, text) for text in self.extra)
        return out

    def official_phones(self) -> dict[str, str]:
        """E.164 → brand name, over every brand: official for any brand is never flagged."""
        return {phone: b.name for b in self.brands for phone in b.phones}


def _line_of(text: str, key: str, occurrence: int = 0) -> int | None:
    """Best-effort line number of the n-th `key =` in a TOML text (tomllib gives none)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=", re.M)
    matches = list(pattern.finditer(text))
    if len(matches) > occurrence:
        return text.count("\n", 0, matches[occurrence].start()) + 1
    return None


def _read_toml(path: Path) -> tuple[dict, str]:
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


def _str_list(value, path: Path, field_name: str, line: int | None) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(path, "must be a list of strings", line=line, field=field_name)
    return value


def _phones(values, path: Path, text: str, field_name: str, line, region: str) -> list[str]:
    """Phone numbers in any format as distinct E.164 values, or a ConfigError naming the bad one."""
    phones: list[str] = []
    for raw in _str_list(values, path, field_name, line):
        e164 = normalize_phone(raw, region)
        if e164 is None:
            raise ConfigError(
                path,
                f"{raw!r} is not a valid phone number (region {region});"
                " write it as +CC ... or fix the digits",
                line=_find_value_line(text, raw),
                field=field_name,
            )
        if e164 not in phones:
            phones.append(e164)
    return phones


def load_third_parties(path: Path | str, region: str = "NL") -> list[ThirdParty]:
    """The `[[third_parties]]` tables of a brands file (none is fine)."""
    path = Path(path)
    data, text = _read_toml(path)
    entries = data.get("third_parties", [])
    if not isinstance(entries, list):
        raise ConfigError(path, "must be [[third_parties]] tables", field="third_parties")
    out = []
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        line = _find_value_line(text, name) if isinstance(name, str) and name else None
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
    data, text = _read_toml(path)
    entries = data.get("brands")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(path, "needs at least one [[brands]] table", field="brands")
    brands = []
    for i, entry in enumerate(entries):
        line = _line_of(text, "name", i)
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                path, f"brand #{i + 1} has no name", line=line, field=f"brands[{i}].name"
            )
        label = f"brands[{name}]"
        phones = _phones(entry.get("phones", []), path, text, f"{label}.phones", line, region)
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
                phones=phones,
                source=str(entry.get("source", "")),
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
            where = _find_value_line(text, f'"{raw}"') or line
            raise ConfigError(path, f"{raw!r} {exc}", line=where, field=field_name) from None
        if value not in out:
            out.append(value)
    return out


def _find_value_line(text: str, value: str) -> int | None:
    idx = text.find(value)
    return text.count("\n", 0, idx) + 1 if idx >= 0 else None


def _has_host(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False


def _supported_regions() -> set[str]:
    import phonenumbers

    return set(phonenumbers.SUPPORTED_REGIONS)


def load_profile(path: Path | str) -> Profile:
    path = Path(path)
    data, text = _read_toml(path)

    def need(key, kind, default=None):
        value = data.get(key, default)
        if value is None:
            raise ConfigError(path, "is required", field=key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                path,
                f"must be {getattr(kind, '__name__', kind)}",
                line=_line_of(text, key),
                field=key,
            )
        return value

    name = need("name", str, path.stem)
    region = need("region", str, "NL").upper()
    if region not in _supported_regions():
        raise ConfigError(
            path,
            f"{region!r} is not a region code phonenumbers knows (e.g. NL, BE, DE, GB, US)",
            line=_line_of(text, "region"),
            field="region",
        )
    # A string "false" would be true: the SSRF guard's switch must be a real boolean.
    follow_ads = need("follow_ads", bool, True)
    # Never request an ad's click URL unless the profile says so: the click
    # bills the advertiser and shows the scammer our address (issue 16).
    click_ads = need("click_ads", bool, False)
    allow_private = need("allow_private", bool, False)
    language = need("language", str, "nl")
    brands_rel = need("brands", str)
    brands_path = (path.parent / brands_rel).resolve()
    results_per_query = need("results_per_query", int, 10)
    if results_per_query < 1:
        raise ConfigError(
            path,
            "must be at least 1",
            line=_line_of(text, "results_per_query"),
            field="results_per_query",
        )
    engines = []
    raw_engines = data.get("engines", [])
    if not isinstance(raw_engines, list) or not raw_engines:
        raise ConfigError(path, "needs at least one [[engines]] table", field="engines")
    for i, entry in enumerate(raw_engines):
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in ENGINES:
            raise ConfigError(
                path,
                f"unknown engine kind {kind!r}; use one of {', '.join(ENGINES)}",
                line=_line_of(text, "kind", i),
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
                line=_line_of(text, "url", i),
                field=f"engines[{i}].url",
            )
        delay = entry.get("delay")
        if delay is not None and (
            isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0
        ):
            raise ConfigError(
                path,
                "must be a number of seconds, 0 or more",
                line=_line_of(text, "delay", i),
                field=f"engines[{i}].delay",
            )
        engines.append(
            Engine(kind=kind, url=url, delay=float(delay) if delay is not None else None)
        )
    queries = data.get("queries", {})
    if not isinstance(queries, dict):
        raise ConfigError(path, "must be a table", field="queries")
    templates = _str_list(
        queries.get("templates", []), path, "queries.templates", _line_of(text, "templates")
    )
    for t in templates:
        if "{brand}" not in t:
            raise ConfigError(
                path,
                f"template {t!r} has no {{brand}}; put generic queries in queries.extra",
                line=_find_value_line(text, t),
                field="queries.templates",
            )
    extra = _str_list(queries.get("extra", []), path, "queries.extra", _line_of(text, "extra"))
    if not templates and not extra:
        raise ConfigError(path, "needs queries.templates or queries.extra", field="queries")
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
        third_parties=load_third_parties(brands_path, region),
    )
