"""Fast paths of the per-page work (bench/throughput.py) give what the slow ones gave."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field

from crawler.impersonation import Match
from crawler.phones import extract_phones
from crawler.plain import plain_dict
from crawler.scoring.facts import Facts


@dataclass
class Inner:
    name: str
    tags: list[str] = field(default_factory=list)


@dataclass
class Outer:
    a: int
    inner: Inner
    many: list[Inner]
    pairs: tuple[int, str]
    nested: dict[str, list[dict]]
    odd: OrderedDict = field(default_factory=OrderedDict)  # not plain: asdict itself


def test_same_as_asdict_and_copies_containers():
    inner = Inner("x", ["t1"])
    obj = Outer(1, inner, [inner, Inner("y")], (2, "b"), {"k": [{"z": [1, 2]}]})
    got = plain_dict(obj)
    assert got == asdict(obj)
    # Copies, as asdict's: changing the dict leaves the record alone.
    got["inner"]["tags"].append("t2")
    got["nested"]["k"][0]["z"].append(3)
    assert inner.tags == ["t1"] and obj.nested == {"k": [{"z": [1, 2]}]}
    obj.odd["q"] = [1]
    assert plain_dict(obj) == asdict(obj)
    assert type(plain_dict(obj)["odd"]) is OrderedDict


def test_records_of_the_hot_path():
    html = '<title>Bel 085 208 1234</title><p>Helpdesk: <a href="tel:+31852081234">bel</a></p>'
    for hit in extract_phones(html):
        assert hit.to_dict() == asdict(hit)
    facts = Facts(
        phone="+31852081234",
        brand="Microsoft",
        domain="x.nl",
        domain_match=Match("Microsoft", "microsoft", "helpdesk").to_dict(),
        behaviours=["fullscreen"],
    )
    assert facts.to_dict() == asdict(facts)
    assert Facts.from_dict(facts.to_dict()) == facts


def test_context_collapse_as_before():
    """phones._collapse: a white-space run with a block boundary is a line break,
    any other a space, junk dropped: what the old per-run callback gave."""
    import random

    from crawler import phones

    def before(part: str) -> str:
        junkless = phones._JUNK_RE.sub("", part)
        return phones._WS_RE.sub(lambda m: "\n" if phones._HARD in m.group(0) else " ", junkless)

    alphabet = [" ", "\t", "\n", "\u00a0", "\u2009", "\u3000", phones._HARD, phones._SOFT]
    alphabet += ["\u200b", "a", "é", "1", "-", "\U000f0001"]
    rnd = random.Random(13)
    for _ in range(20_000):
        part = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
        assert phones._collapse(part) == before(part), repr(part)


def test_whole_word_as_before():
    """brands._whole_word (the word first, its look-behind after) finds what
    `(?<!\\w)word(?!\\w)` found, in any text."""
    import random
    import re

    from crawler.brands import _whole_word, word_hits

    alphabet = ["a", "b", " ", "-", "é", "1", "_", ".", "\u00a0", "ß"]
    rnd = random.Random(13)
    for word in ["ab", "a b", "a-b", "a.b", "é", "b_a", "1a", "ß", "a+b"]:
        before = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
        for _ in range(5_000):
            text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 14)))
            assert _whole_word(word).findall(text) == before.findall(text), (word, text)
    assert word_hits("ing bellen, bellingen; ing.", ["ing", "", "bel"]) == 2


def test_dejunk_as_before():
    """phones._dejunk drops what `_JUNK_RE.sub("", ...)` dropped."""
    import random

    from crawler import phones

    alphabet = [" ", "a", "1", "é", "\u00ad", "\u200b", "\ufeff", phones._SOFT, phones._HARD]
    alphabet += ["\U000f0001", "\U000fffff", "€", "\u2060"]
    rnd = random.Random(13)
    for _ in range(20_000):
        part = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 16)))
        assert phones._dejunk(part) == phones._JUNK_RE.sub("", part), repr(part)
