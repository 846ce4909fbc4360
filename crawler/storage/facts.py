"""The `facts` JSON column of sightings and site_numbers: how a `Facts` is
stored (`facts_json`, empty facts take no room) and the one way SQL reads
a field of it (`facts_field`, checked against the dataclass by
tests/test_storage_sql.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

# For the annotation only: the scorer's imports (phonenumbers, tldextract) were a
# third of every read command's start-up.
if TYPE_CHECKING:
    from crawler.scoring.facts import Facts

# Made once: json.dumps with options builds an encoder on every call, and the end
# of a run encodes tens of thousands of facts and reasons.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_ENCODE_SORTED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode


def _json(value) -> str:
    return _ENCODE(value)


# Facts that are empty (None, False, [], {}) take no room: Facts.from_dict gives
# them their defaults (tests/test_storage_scale.py checks the round trip).
def _empty(value) -> bool:
    return value is None or value is False or (type(value) in (list, dict) and not value)


def facts_json(facts: dict | Facts | None) -> str | None:
    """A verdict's facts (a dict or `Facts`) as compact JSON: empty values left out,
    keys sorted."""
    if not facts:
        return None
    if not isinstance(facts, dict):
        # A shallow read of the fields (a dataclass's __dict__ holds exactly its
        # fields), not dataclasses.asdict: its deep copy of every value was most
        # of the end-of-run step's time, and JSON copies anyway.
        # (_empty inline: this runs for every pair and sighting a run scores.)
        keep = {
            name: value
            for name, value in facts.__dict__.items()
            if (
                value is not None
                and value is not False
                and not (type(value) in (list, dict) and not value)
            )
            or name in _ALWAYS_KEPT
        }
    else:
        keep = {k: v for k, v in facts.items() if k in _ALWAYS_KEPT or not _empty(v)}
    return _ENCODE_SORTED(keep)


_ALWAYS_KEPT = frozenset(("phone", "brand", "domain"))

# The `Facts` fields crawler.history fills at the end of a run from the whole database
# (the rest are the page's own): what the number and the site were seen as elsewhere,
# their ages, and the analysts' decisions (tests/test_end_of_run.py holds them to
# crawler.history's and to the dataclass).
HISTORY_FIELDS = frozenset(
    (
        "other_domains",
        "listed_by_brand",
        "number_age_days",
        "site_age_days",
        "watched_days",
        "site_watched_days",
        "number_status",
        "number_status_at",
        "site_status",
        "site_status_at",
    )
)


def same_page_facts(stored: str | None, page: str | None) -> bool:
    """Whether two facts as stored (JSON) are the same page's facts, whatever history
    either carries (`HISTORY_FIELDS`): a pair scored with its history and a page's own
    facts, as a crawl saves them, compared."""
    if not stored or not page:
        return False
    if stored == page:
        return True
    a, b = json.loads(stored), json.loads(page)
    return {k: v for k, v in a.items() if k not in HISTORY_FIELDS} == {
        k: v for k, v in b.items() if k not in HISTORY_FIELDS
    }


# The `Facts` fields SQL reads from a `facts` JSON column (sightings, site_numbers).
# `facts_field` is the only place that turns a field into a JSON path;
# tests/test_storage_sql.py checks these names against the dataclass, so a
# renamed field fails there instead of reading null here.
FACTS_READ_BY_SQL = (
    "official_site",
    "brand_listing",
    "official_for",
    "is_fax",
    "number_status",
    "site_status",
    "third_party",
    "third_party_site",
)


def reasons_json(reasons: list[str]) -> str:
    """A verdict's reasons as stored (`reasons` columns)."""
    return _json(reasons)


def signals_json(signals) -> str:
    """A verdict's signals ([(signal, points), ...]) as compact JSON (`base_signals`)."""
    return _json(signals)


def facts_field(name: str, column: str = "facts") -> str:
    """SQL for one `Facts` field of a facts JSON column: `json_extract(facts, '$.name')`."""
    if name not in FACTS_READ_BY_SQL:
        raise KeyError(f"{name!r} is not a Facts field read by SQL (FACTS_READ_BY_SQL)")
    return f"json_extract({column}, '$.{name}')"
