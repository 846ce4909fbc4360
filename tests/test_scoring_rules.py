"""The rule table's shape: every signal has a rule, every rule is small and named."""

from __future__ import annotations

import ast
import inspect

from crawler.scoring import POINTS, RULES, Facts, score, verdicts
from crawler.scoring import rules as rules_module
from crawler.scoring.verdicts import NUMBER_RULES


def signals_of(rule) -> set[str]:
    """The signal names a rule's code holds (string constants that are signals)."""
    tree = ast.parse(inspect.getsource(rule))
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in POINTS
    }


def test_every_signal_has_points_and_a_rule():
    pair = set().union(*(signals_of(r) for r in [*RULES, rules_module.not_official]))
    number = set().union(*(signals_of(r) for r in NUMBER_RULES))
    site = signals_of(verdicts.site_verdict) | signals_of(verdicts.pair_with_number)
    assert pair | number | site == set(POINTS)


def test_rules_are_small():
    for rule in RULES:
        lines = inspect.getsource(rule).splitlines()
        assert len(lines) <= 30, rule.__name__


def test_a_rule_is_asked_once_in_order():
    assert len({r.__name__ for r in RULES}) == len(RULES)
    f = Facts(phone="+31850000000", brand="X", domain="x.nl", is_ad=True, alarm="virus detected")
    v = score(f)
    # ad (15) and alarm (15) weigh the same: the order of RULES breaks the tie.
    assert [s for s, _ in v.signals] == ["ad", "alarm", "not_official"]
