"""Skip a regular expression over a page that cannot hold a match.

Python's `re` finds no fast start for a case-insensitive pattern that begins
with `\\b` and an alternation (the scorer's word lists, crawler.scoring.words):
it tries every alternative at every position. Over a page's whole text and
HTML that was most of the time of scoring a page (bench/throughput.py).

Every match of such a pattern contains some literal strings, which `required`
reads off the pattern's own parse tree as a condition: `\\b(virus\\ gevonden |
security\\ alert)` needs "virus gevonden" or "security alert", `bel\\ (direct |
meteen)\\ \\w*(helpdesk|support)` needs "bel direct " or "bel meteen ", and
"helpdesk" or "support". `could_match` checks it with `str.__contains__` on
the text folded as `re.IGNORECASE` folds it (`fold`). A text that fails it
cannot hold a match and the pattern is not run; otherwise it is, so a result
never differs from the pattern's own. A pattern this cannot read (a
back-reference only, say) is simply always run.
"""

from __future__ import annotations

import re
from functools import cache

try:  # CPython's own parser and case table (3.11+), read not changed
    from re import _casefix, _constants, _parser
except ImportError:  # pragma: no cover - another Python: always run the pattern
    _parser = None

_DOTTED_I = "\u0130"  # İ: the only character whose str.lower() is two characters


def _canon_table() -> dict[int, int]:
    """Characters `re.IGNORECASE` also takes for each other beyond their lower case
    (ı and i, ſ and s, ς and σ, ...), each mapped to the smallest of its group."""
    if _parser is None:
        return {}
    table = {ch: min(ch, *others) for ch, others in _casefix._EXTRA_CASES.items()}
    return {ch: rep for ch, rep in table.items() if ch != rep}


_CANON = _canon_table()
_SPECIAL = re.compile("[" + "".join(re.escape(chr(c)) for c in _CANON) + "]") if _CANON else None


def fold(text: str) -> str:
    """`text` as `re.IGNORECASE` compares it, one character for one: two characters
    the flag takes for each other fold to the same one."""
    if _DOTTED_I in text:
        text = text.replace(_DOTTED_I, "i")
    text = text.lower()
    if _SPECIAL is not None and not text.isascii() and _SPECIAL.search(text):
        text = text.translate(_CANON)
    return text


MAX_STRINGS = 16  # a literal run through alternatives stops growing past this many


def _finite(items) -> frozenset[str] | None:
    """Every string this sequence of parse items can match, when they are few and
    literal (letters, `(a|b)`, `[eë]`, `(sen)?`); None otherwise."""
    c = _constants
    out = frozenset([""])
    for op, av in items:
        if op is c.LITERAL:
            part = frozenset([chr(av)])
        elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue  # zero width
        elif op is c.IN and all(o is c.LITERAL for o, _ in av):
            part = frozenset(chr(v) for _, v in av)
        elif op is c.SUBPATTERN and not (av[1] or av[2]):
            part = _finite(av[3])
        elif op is c.BRANCH:
            parts = [_finite(branch) for branch in av[1]]
            part = None if None in parts else frozenset().union(*parts)
        elif op is c.MAX_REPEAT or op is c.MIN_REPEAT:
            lo, hi, sub = av
            inner = _finite(sub) if (lo, hi) in ((0, 1), (1, 1)) else None
            part = None if inner is None else inner | ({""} if lo == 0 else set())
        else:
            return None
        if part is None or len(out) * len(part) > MAX_STRINGS:
            return None
        out = frozenset(a + b for a in out for b in part)
    return out


def _strings(items):
    """What every match of this sequence of parse items contains, as a condition on
    the text: ("any", strings) (one of them), ("and", conditions), ("or",
    conditions); None when nothing can be said."""
    c = _constants
    conditions: list = []
    run = frozenset([""])  # the literal strings the sequence matches up to here

    def end_run(run: frozenset[str]) -> None:
        if "" not in run:
            conditions.append(("any", run))

    for op, av in items:
        part = _finite([(op, av)])
        if part is not None and len(run) * len(part) <= MAX_STRINGS:
            run = frozenset(a + b for a in run for b in part)
            continue
        end_run(run)
        run = frozenset([""])
        if part is not None:  # too many to join: a run of its own
            run = part
        elif op is c.SUBPATTERN:
            if av[1] or av[2]:  # (?i:...) and the like: flags of its own
                raise _Unreadable
            conditions.append(_strings(av[3]))
        elif op is c.BRANCH:
            found = [_strings(branch) for branch in av[1]]
            if all(found):
                conditions.append(("or", tuple(found)))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            if av[0] >= 1:
                conditions.append(_strings(av[2]))
        elif op is getattr(c, "ATOMIC_GROUP", None):
            conditions.append(_strings(av))
        # else: a class, any character, a back-reference...: no literal here
    end_run(run)
    conditions = [x for x in conditions if x is not None]
    if not conditions:
        return None
    # The most telling first: a text that fails it is done with at once.
    conditions.sort(key=_telling, reverse=True)
    return conditions[0] if len(conditions) == 1 else ("and", tuple(conditions))


def _telling(condition) -> int:
    """How rare text that meets a condition is, roughly: its shortest string's length."""
    kind, parts = condition
    if kind == "any":
        return min(map(len, parts))
    values = [_telling(p) for p in parts]
    return max(values) if kind == "and" else min(values)


class _Unreadable(Exception):
    pass


def _folded(condition):
    kind, parts = condition
    if kind == "any":
        return kind, frozenset(fold(s) for s in parts)
    return kind, tuple(_folded(p) for p in parts)


@cache
def required(rx: re.Pattern):
    """(case-insensitive?, the condition every text with a match meets; see
    `_strings`), its strings folded when the pattern ignores case; None when the
    pattern gives no condition."""
    if _parser is None or not isinstance(rx.pattern, str):
        return None
    try:
        found = _strings(_parser.parse(rx.pattern, rx.flags))
    except (_Unreadable, re.error, RecursionError):
        return None
    if found is None:
        return None
    nocase = bool(rx.flags & re.IGNORECASE)
    return nocase, _simpler(_folded(found) if nocase else found)


def _simpler(condition):
    """The same condition, cheaper to check: the strings of an "or"'s "any" parts
    in one "any", and no string that holds another of its "any" (a text that
    holds "nepsite" holds "nep")."""
    kind, parts = condition
    if kind == "any":
        parts = frozenset(s for s in parts if not any(o != s and o in s for o in parts))
        return _anchored(parts) if len(parts) > MAX_STRINGS else (kind, parts)
    parts = [_simpler(p) for p in parts]
    if kind == "or":
        flat = [q for p in parts for q in (p[1] if p[0] == "or" else [p])]
        strings = frozenset().union(*(p[1] for p in flat if p[0] == "any"))
        rest = [p for p in flat if p[0] != "any"]
        parts = ([_simpler(("any", strings))] if strings else []) + rest
        if len(parts) == 1:
            return parts[0]
    return kind, tuple(parts)


ANCHOR = 4  # the shortest word of a string that may stand for it (`_anchored`)
_WORDS = re.compile(r"\w+")


def _anchored(strings: frozenset[str]):
    """Many strings (ALARM's: some sixty, read over the whole page) as groups that
    share a word: ("anchored", ((word, strings), ...)). A text without the word
    holds none of its group's strings, so one look for it stands for the group;
    the text is looked at for each string only where the word is (`_holds`)."""
    left = set(strings)
    groups = []
    while left:
        # The word (of ANCHOR letters at least) that most strings left share.
        counts: dict[str, int] = {}
        for s in left:
            for w in set(_WORDS.findall(s)):
                if len(w) >= ANCHOR:
                    counts[w] = counts.get(w, 0) + 1
        if not counts:
            groups += [(s, frozenset([s])) for s in sorted(left)]
            break
        word = min(counts, key=lambda w: (-counts[w], -len(w), w))
        group = frozenset(s for s in left if word in s)
        groups.append((word, group))
        left -= group
    return "anchored", tuple(groups)


def _holds(condition, hay: str) -> bool:
    kind, parts = condition
    if kind == "any":
        return any(s in hay for s in parts)
    if kind == "anchored":
        return any(w in hay and any(s in hay for s in group) for w, group in parts)
    if kind == "and":
        return all(_holds(p, hay) for p in parts)
    return any(_holds(p, hay) for p in parts)


def could_match(rx: re.Pattern, text: str, folded: str | None = None) -> bool:
    """False only when `rx` cannot match anywhere in `text` (`folded`: `fold(text)`,
    when the caller has it already for several patterns)."""
    need = required(rx)
    if need is None:
        return True
    nocase, condition = need
    hay = (folded if folded is not None else fold(text)) if nocase else text
    return _holds(condition, hay)


def search(rx: re.Pattern, text: str, folded: str | None = None) -> re.Match | None:
    """`rx.search(text)`, skipped when it cannot match."""
    return rx.search(text) if could_match(rx, text, folded) else None
