"""Analysts' decisions: a number or a site confirmed as a scam, or dismissed.

Every decision is a row of the `triage` table (key, kind, action, note, time);
the latest one per key counts. `numbers.status` and `sites.status` mirror it
so exports carry it. A dismissed key is still recorded by later runs but no
longer flagged; a confirmed one raises the score wherever it reappears. Both
take effect at once: `record` scores the pairs of the key again in the same
transaction (`crawler.history.rescore_keys`), and every later run applies
them too (`crawler.history.close_run`).
"""

from __future__ import annotations

import re

from sqlite_utils import Database

from crawler import storage
from crawler.brands import normalise_domain
from crawler.phones import normalize_phone
from crawler.storage import now

ACTIONS = ("confirm", "dismiss", "reset")
STATUS = storage.DECISION_STATUS
_PHONEISH = re.compile(r"^[+(]?[\d\s().\-/]{5,}$")


def parse_key(text: str, region: str = "NL") -> tuple[str, str]:
    """("number", E.164) or ("site", registrable domain); ValueError says why not."""
    value = text.strip()
    if _PHONEISH.match(value):
        e164 = normalize_phone(value, region)
        if e164 is None:
            raise ValueError(f"{text!r} is not a valid phone number (region {region})")
        return "number", e164
    try:
        return "site", normalise_domain(value)
    except ValueError as exc:
        raise ValueError(f"{text!r} is neither a phone number nor a domain: it {exc}") from None


def record(db: Database, kind: str, key: str, action: str, note: str = "") -> dict:
    """Store one decision and mirror it on the number or site if it was seen."""
    if action not in ACTIONS:
        raise ValueError(f"unknown triage action {action!r}")
    from crawler import history  # history scores with the decisions read here

    history.ensure_shape(db)
    row = {"key": key, "kind": kind, "action": action, "note": note or "", "at": now()}
    # One transaction: the decision, the statuses it mirrors and the pairs it
    # touches scored again, so every reader sees all of it or none of it.
    with db.atomic():
        storage.record_decision(db, row)
        sync_statuses(db)
        history.rescore_keys(db, {key})
    return row


def latest(db: Database) -> dict[str, dict]:
    """key → the latest decision (confirm or dismiss); a reset clears it."""
    return storage.latest_decisions(db)


def sync_statuses(db: Database, decisions: dict[str, dict] | None = None) -> None:
    """Mirror the latest decisions on `numbers.status` and `sites.status`."""
    storage.mirror_decisions(db, latest(db) if decisions is None else decisions)


def history(db: Database, key: str) -> list[dict]:
    """Every decision on `key`, oldest first."""
    return storage.decisions_of(db, key)
