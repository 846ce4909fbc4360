"""Risk levels: their names and order, the one list every command and export uses."""

from __future__ import annotations

RISK_LEVELS = ("low", "medium", "high")
RISK_ORDER = {level: rank for rank, level in enumerate(RISK_LEVELS, start=1)}
