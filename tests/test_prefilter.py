"""crawler.scoring.prefilter skips a pattern only where it cannot match.

`fold` must fold as `re.IGNORECASE` compares (checked against `re` itself on
every character), `required` must name strings every match contains (checked
on hand-made patterns and on the word lists over real pages), and the page
facts and verdicts must not change (tests/test_snapshots.py records them all).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from crawler.scoring import words
from crawler.scoring.prefilter import could_match, fold, required, search
from crawler.scoring.text import page_facts

ROOT = Path(__file__).resolve().parents[1]


def _chars():
    for code in range(sys.maxunicode + 1):
        if not 0xD800 <= code < 0xE000:
            yield chr(code)


def test_fold_is_one_character_for_one_and_one_per_ignorecase_class():
    """re.IGNORECASE takes two characters for each other when their simple lower
    cases are equal or in one group of `re._casefix` (ı and i, ſ and s, ...):
    each character must fold to a lower-case one of its own class, and a class
    to one character."""
    import _sre
    from re import _casefix

    for ch in _chars():
        f = fold(ch)
        if f == ch:  # most: then only lower case already
            assert _sre.unicode_tolower(ord(f)) == ord(f), hex(ord(ch))
            continue
        assert len(f) == 1, hex(ord(ch))
        assert re.fullmatch(re.escape(f), ch, re.IGNORECASE), hex(ord(ch))
        assert _sre.unicode_tolower(ord(f)) == ord(f), hex(ord(ch))
        assert fold(f) == f
    for ch, others in _casefix._EXTRA_CASES.items():
        assert {fold(chr(c)) for c in (ch, *others)} == {fold(chr(ch))}
    for a, b in (("ı", "I"), ("ſ", "S"), ("K", "k"), ("İ", "i"), ("Σ", "ς"), ("ẞ", "ß")):
        assert fold(a) == fold(b)
    assert fold("Ὀδυσσεύς") == fold("ὈΔΥΣΣΕΎΣ")


@pytest.mark.parametrize(
    ("pattern", "flags", "cannot", "can"),
    [
        (r"\bvirus(sen)?\ (gevonden|found)", re.I | re.X, "virus is er", "VIRUSSEN FOUND"),
        (r"abc|de", 0, "ab d e", "xdex"),
        (r"x\w+yz", 0, "x y z", "xqqyz"),
        (r"(?:ab)+cde", 0, "ababcd e", "ababcde"),
        (
            r"bel\ (direct|meteen)\ \w*(desk|support)",
            re.I | re.X,
            "bel direct; desk",
            "Bel meteen desk",
        ),
        (r"offici[eë]le?", re.I, "official", "OFFICIËLE"),
    ],
)
def test_could_match(pattern, flags, cannot, can):
    rx = re.compile(pattern, flags)
    assert required(rx) is not None
    assert not could_match(rx, cannot) and not rx.search(cannot)
    assert could_match(rx, can) and rx.search(can)


@pytest.mark.parametrize("pattern", [r"a*", r"a|b*", r"(?i:x)yz", r"\w+"])
def test_patterns_without_a_condition_always_run(pattern):
    assert required(re.compile(pattern)) is None
    assert could_match(re.compile(pattern), "")


def _patterns():
    for name, value in vars(words).items():
        if isinstance(value, re.Pattern):
            yield name, value
        elif isinstance(value, tuple) and value and isinstance(value[0], re.Pattern):
            for i, rx in enumerate(value):
                yield f"{name}[{i}]", rx


def _texts():
    """The project's own pages (scoring fixtures, simulated webs, the demo) and the
    word lists' test sentences."""
    paths = [ROOT / "tests" / "test_scoring_words.py"]
    for folder in (ROOT / "tests", ROOT / "crawler" / "demo" / "sites"):
        paths += sorted(p for p in folder.rglob("*.htm*") if p.is_file())
        paths += sorted(p for p in folder.rglob("index*") if p.is_file())
    for path in dict.fromkeys(paths):
        if path.exists():
            yield path.read_text(encoding="utf-8", errors="replace")


def test_the_word_lists_are_never_skipped_where_they_match():
    texts = list(_texts())
    assert len(texts) > 50
    # Each text also upper-cased and with the characters IGNORECASE folds oddly.
    texts += [t.upper() for t in texts] + [t.replace("i", "ı").replace("s", "ſ") for t in texts]
    checked = 0
    for name, rx in _patterns():
        for text in texts:
            if rx.search(text):
                checked += 1
                assert could_match(rx, text), (name, rx.search(text).group(0))
            else:
                assert search(rx, text) is None
    assert checked > 100


def test_page_facts_the_same_with_and_without_the_prefilter(monkeypatch):
    from crawler.scoring import text as text_module

    pages = [t for t in _texts() if "<" in t][:300]
    fast = [page_facts(p, "http://example.nl/forum/thread/1") for p in pages]
    monkeypatch.setattr(text_module, "could_match", lambda *a, **k: True)
    slow = [page_facts(p, "http://example.nl/forum/thread/1") for p in pages]
    assert fast == slow


def test_anchored_groups_hold_where_one_of_their_strings_is():
    """Many strings in groups under a shared word (`_anchored`): a text holds the
    groups exactly where it holds one of the strings."""
    import random

    from crawler.scoring.prefilter import _anchored, _holds

    strings = frozenset(
        ["virus gevonden", "virussen gevonden", "error 0x", "error code 0x", "uw pc", "x"]
        + [f"bel {w} direct" for w in ("nu", "meteen", "snel")]
        + ["geld veilig zetten", "geld in veiligheid", "safe account", "kluisrekening"]
    )
    condition = _anchored(strings)
    assert condition[0] == "anchored" and len(condition[1]) < len(strings)
    assert frozenset().union(*(group for _, group in condition[1])) == strings
    pieces = [p for s in strings for p in s.split()] + [" ", "0x", "ge", "zet"]
    rnd = random.Random(13)
    for _ in range(20_000):
        hay = " ".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 6)))
        assert _holds(condition, hay) == any(s in hay for s in strings), hay
