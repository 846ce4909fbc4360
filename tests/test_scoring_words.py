"""The word lists: sentences each must and must not match."""

from __future__ import annotations

import pytest

from crawler.scoring.words import ALARM, CLAIMS_OFFICIAL, REMOTE_TOOLS, WARNING, WEAK_WARNING

CASES = [
    (REMOTE_TOOLS, "download AnyDesk en geef ons de code", True),
    (REMOTE_TOOLS, "bel ons, ook op zondag", False),
    (REMOTE_TOOLS, "wij helpen met hulp op afstand", True),
    (ALARM, "Uw computer is geblokkeerd! Bel onmiddellijk", True),
    (ALARM, "Error code #0x80070005 detected", True),
    (ALARM, "Zet uw geld op een kluisrekening", True),
    (ALARM, "Uw pakket is onderweg", False),
    (CLAIMS_OFFICIAL, "Officiële Microsoft helpdesk", True),
    (CLAIMS_OFFICIAL, "gecertificeerde Apple technici", True),
    (CLAIMS_OFFICIAL, "de officiële website", False),
    (WARNING, "Pas op voor oplichters die bellen", True),
    (WARNING, "dit is een nepnummer", True),
    (WARNING, "Politie waarschuwt voor nep-bankmedewerkers", True),
    (WARNING, "een waarschuwing op uw scherm", False),
    (WEAK_WARNING, "Bel de fraudelijn", True),
    (WEAK_WARNING, "Bel de helpdesk", False),
]


@pytest.mark.parametrize("rx, text, matches", CASES, ids=[c[1][:30] for c in CASES])
def test_word_lists(rx, text, matches):
    assert bool(rx.search(text)) is matches
