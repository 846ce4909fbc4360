"""Recipient presets: which rows a partner gets and how they are shaped (TOML data).

The bundled presets are in `recipients.toml` beside this module; a user file
given with `--presets FILE` adds presets or replaces them by name. Every
mistake is a `ConfigError` naming the file, the line where known and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path

from crawler.risk import RISK_LEVELS
from crawler.tomllines import ConfigError, line_of, read_toml

BUNDLED = Path(__file__).with_name("recipients.toml")
SOURCES = {"pairs", "sightings", "ads"}
SIMPLE_RULES = {"min", "max", "max-risk", "status", "latest"}
# Fields that move on every crawl without anything a partner must act on.
DEFAULT_IGNORE_IN_DELTA = [
    "last_seen",
    "seen_at",
    "ip",
    "warc_file",
    "warc_record_id",
    "payload_sha256",
    "evidence",
]
KNOWN_KEYS = {
    "description",
    "min_risk",
    "verdict",
    "source",
    "where",
    "group_by",
    "aggregate",
    "key",
    "columns",
    "order_by",
    "ignore_in_delta",
}


@dataclass
class Preset:
    """One recipient: a row source, a filter, an optional grouping and the columns."""

    name: str
    columns: list[str]
    source: str = "pairs"
    description: str = ""
    where: dict = field(default_factory=dict)
    group_by: list[str] = field(default_factory=list)
    aggregate: dict[str, str] = field(default_factory=dict)
    key: list[str] = field(default_factory=list)
    order_by: list[str] = field(default_factory=list)
    ignore_in_delta: list[str] = field(default_factory=lambda: list(DEFAULT_IGNORE_IN_DELTA))
    min_risk: str = "low"  # the recipient's floor when --min-risk is not given
    verdict: str = "pair"  # whose risk the floor applies to: pair, number or site

    def item_key(self, row: dict) -> str:
        """The key that names a row's item in the exports ledger (its `key` fields)."""
        values = [row.get(k) for k in self.key]
        if all(type(v) is str for v in values):  # a site and a number: written directly
            return "[" + ", ".join(map(encode_basestring, values)) + "]"
        return _KEY_JSON.encode(values)


# json.dumps(..., default=str, ensure_ascii=False): one encoder, not one per key.
_KEY_JSON = json.JSONEncoder(default=str, ensure_ascii=False)


def _strings(value, path, line, name) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(path, "must be a list of non-empty strings", line=line, field=name)
    return value


def _preset(name: str, raw, path: Path, text: str) -> Preset:
    line = line_of(text, table=name)
    if not isinstance(raw, dict):
        raise ConfigError(path, "must be a table", line=line, field=name)
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            path,
            f"unknown field {unknown[0]!r}; use {', '.join(sorted(KNOWN_KEYS))}",
            line=line,
            field=f"{name}.{unknown[0]}",
        )
    source = raw.get("source", "pairs")
    if source not in SOURCES:
        raise ConfigError(
            path,
            f"unknown source {source!r}; use one of {', '.join(sorted(SOURCES))}",
            line=line,
            field=f"{name}.source",
        )
    if "columns" not in raw:
        raise ConfigError(path, "needs a list of columns", line=line, field=f"{name}.columns")
    columns = _strings(raw["columns"], path, line, f"{name}.columns")
    group_by = _strings(raw.get("group_by", []), path, line, f"{name}.group_by")
    key = _strings(raw.get("key", group_by or ["domain", "phone"]), path, line, f"{name}.key")
    order_by = _strings(raw.get("order_by", key), path, line, f"{name}.order_by")
    ignore = _strings(
        raw.get("ignore_in_delta", DEFAULT_IGNORE_IN_DELTA), path, line, f"{name}.ignore_in_delta"
    )
    where = raw.get("where", {})
    if not isinstance(where, dict):
        raise ConfigError(
            path, "must be a table of field = value", line=line, field=f"{name}.where"
        )
    aggregate = raw.get("aggregate", {})
    if not isinstance(aggregate, dict):
        raise ConfigError(
            path, "must be a table of column = rule", line=line, field=f"{name}.aggregate"
        )
    for column, rule in aggregate.items():
        ok = isinstance(rule, str) and (
            rule in SIMPLE_RULES
            or (rule.startswith(("collect:", "count:")) and rule.split(":", 1)[1].strip())
        )
        if not ok:
            raise ConfigError(
                path,
                f"unknown rule {rule!r}; use min, max, max-risk, status, latest, "
                "collect:FIELD[,FIELD...] or count:FIELD",
                line=line,
                field=f"{name}.aggregate.{column}",
            )
    min_risk = raw.get("min_risk", "low")
    if min_risk not in RISK_LEVELS:
        raise ConfigError(path, "must be low, medium or high", line=line, field=f"{name}.min_risk")
    verdict = raw.get("verdict", "pair")
    if verdict not in ("pair", "number", "site"):
        raise ConfigError(path, "must be pair, number or site", line=line, field=f"{name}.verdict")
    if aggregate and not group_by:
        raise ConfigError(path, "aggregate needs group_by", line=line, field=f"{name}.aggregate")
    return Preset(
        name=name,
        columns=columns,
        source=source,
        description=str(raw.get("description", "")),
        where=where,
        group_by=group_by,
        aggregate=aggregate,
        key=key,
        order_by=order_by,
        ignore_in_delta=ignore,
        min_risk=min_risk,
        verdict=verdict,
    )


def load_presets(extra: Path | str | None = None) -> dict[str, Preset]:
    """The bundled presets, plus (or replaced by) those in `extra`."""
    presets: dict[str, Preset] = {}
    for path in [BUNDLED, *([Path(extra)] if extra else [])]:
        data, text = read_toml(Path(path))
        for name, raw in data.items():
            presets[name] = _preset(name, raw, Path(path), text)
    return presets
