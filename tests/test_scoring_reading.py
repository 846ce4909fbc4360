"""How the scorer reads a page: the number's sentence, whose service it names,
warnings strong and weak, denied signals, title parts and shared hosting.

Each rule came from a miss on the second simulated web (tests/simweb/); these
are its small cases.
"""

from __future__ import annotations

import pytest

from crawler.impersonation import helpdesk_title, title_match
from crawler.items import PageItem
from crawler.phones import extract_phones
from crawler.scoring import (
    number_sentence,
    own_service,
    page_facts,
    presents_as_brand,
    shared_host,
)
from pipelines.score import score_page

ODIDO = ["odido"]


@pytest.mark.parametrize(
    "context, raw, sentence",
    [
        # a heading above the paragraph says whose the number is
        (
            "Officiële Microsoft helpdesk\nBel 085 888 3000 en download AnyDesk.",
            "085 888 3000",
            "Officiële Microsoft helpdesk Bel 085 888 3000 en download AnyDesk",
        ),
        # a bare line (a table cell, "Telefoon:") is read with the line before
        ("Odido zakelijk\n0800 7113\ngratis", "0800 7113", "Odido zakelijk 0800 7113"),
        # a paragraph that ends with a full stop is not a heading
        (
            "Wij zijn een onafhankelijke werkplaats.\nBel 033 456 7890 voor een afspraak",
            "033 456 7890",
            "Bel 033 456 7890 voor een afspraak",
        ),
        # a line ends a sentence: "Niet opgelost?" below is another block
        (
            "Bel direct de Norton helpdesk: 085 230 1007\nNiet opgelost? Geld terug",
            "085 230 1007",
            "Bel direct de Norton helpdesk: 085 230 1007",
        ),
        (
            "voor je bestelling; bel je ons op 0345 612 345",
            "0345 612 345",
            " bel je ons op 0345 612 345",
        ),
    ],
)
def test_number_sentence(context, raw, sentence):
    assert number_sentence(context, raw) == sentence


@pytest.mark.parametrize(
    "sentence, brand",
    [
        ("Bel 24/7 met de Odido fraudeafdeling: 085 230 2002", True),
        ("App de Odido technische dienst even op 06 41 23 98 76", True),
        ("Bel de klantenservice van Odido op 085 230 4006", True),
        ("Bel gewoon Odido op 085 230 4006", True),
        ("Odido Klantenservice customer service: +31-85-230-2004", True),
        # the brand named, but the number is the site's own
        ("Bel De Boer Hypotheken op 0318 642 100 voor uw Odido hypotheek", False),
        ("Vragen over je Odido-zending kun je contact opnemen met onze klantenservice", False),
        ("Wij zijn geen Odido helpdesk, bel 085 230 4000", False),  # negation
        ("Bel ons voor Odido reparaties: 030 123 4567", False),  # a trade
        ("Odido zakelijk 0800 7113", False),  # no service named
    ],
)
def test_presents_as_brand(sentence, brand):
    assert presents_as_brand(sentence, ODIDO) is brand


def test_own_service_line():
    assert own_service("Bel onze servicedesk voor directe hulp: 085 230 2005")
    assert own_service("Call our support team: +1 855 230 3005")
    assert not own_service("Adverteren op onze site? Bel 020 811 4400")
    assert not own_service("Bel onze winkel: 010 438 2200")  # a shop


def test_signals_a_sentence_denies_are_not_the_pages():
    html = (
        "<title>Contact</title><p>Norton vraagt u nooit om software voor hulp op afstand"
        " te installeren en nooit om geld over te maken naar een kluisrekening.</p>"
    )
    pf = page_facts(html)
    assert pf.remote_tool is None and pf.alarm is None
    pf = page_facts("<p>Wij zetten uw geld op een kluisrekening. Hulp op afstand.</p>")
    assert pf.alarm == "kluisrekening" and pf.remote_tool == "Hulp op afstand"


@pytest.mark.parametrize(
    "title, kind",
    [
        ("Norton Support Nederland - Direct hulp van een expert", "helpdesk"),
        ("Klantenservice | Norton", "helpdesk"),  # the brand as the site's name
        ("ICT Helpdesk voor bedrijven | Microsoft 365 en Norton beheer", "name"),
        ("Norton en Windows helpdesk 24/7 - PC reparatie op afstand", "helpdesk"),
        ("Laptop reparatie en Norton support", "helpdesk"),
        ("Norton reparatie en support", "trade"),
        ("Norton 360 Deluxe kopen | SoftwareKeys Outlet", "trade"),
        ("Norton bellen", "helpdesk"),
        ("Norton Sim Only: onbeperkt bellen en internetten", "name"),
        ("Norton pakket kwijt? Bel ons direct", "helpdesk"),
    ],
)
def test_title_kinds(title, kind):
    assert title_match(title, [("Norton", ["norton"])]).kind == kind


def test_helpdesk_title_without_a_brand():
    assert helpdesk_title("Klantenservice Hulplijn | 24/7 bereikbaar")
    assert not helpdesk_title("Klantenservice | Fietsonderdelen Shop")  # a shop's own
    assert not helpdesk_title("Onbeperkt bellen vanaf 10 euro")


@pytest.mark.parametrize(
    "url, shared",
    [
        ("http://nortonhulp.blogspot.com/x", "blogspot.com"),
        ("http://pakkethulp.wixsite.com/postnl", "wixsite.com"),
        ("http://odido-hulp.wordpress.com/", "wordpress.com"),
        ("http://sites.google.com/view/norton-support", "sites.google.com"),
        ("http://www.wordpress.com/", None),
        ("http://www.google.com/", None),
        ("http://norton.com/", None),
    ],
)
def test_shared_host(url, shared):
    assert shared_host(url) == shared


class _Brand:
    def __init__(self, name, keywords, domains, phones):
        self.name, self.keywords, self.domains, self.phones = name, keywords, domains, phones


class _Profile:
    region = "NL"
    third_parties: list = []

    def __init__(self):
        self.brands = [_Brand("Nordbank", ["nordbank"], ["nordbank.nl"], ["+31204517700"])]

    def official_phones(self):
        return {p: b.name for b in self.brands for p in b.phones}


def _score(url, html, brand="Nordbank"):
    item = PageItem(
        url=url,
        entry_url=url,
        status=200,
        html=html,
        engine="bing",
        query="q",
        brand=brand,
        is_ad=False,
        serp_url="http://engine/search",
    )
    item.hits = extract_phones(html, region="NL", url=url)
    score_page(item, _Profile())
    return {v.phone: v.as_dict() for v in item.verdicts}


def test_fraud_words_in_a_fake_bank_helpdesks_own_sentence_are_not_a_warning():
    html = (
        "<title>Nordbank Klantenservice - fraude melden</title><p>Fraude op uw rekening?"
        " Bel 24/7 met de Nordbank fraudeafdeling: 085 230 2002</p>"
        "<p>Slachtoffer van oplichting? De Fraudehelpdesk helpt: 088 786 73 72</p>"
    )
    v = _score("http://bankhulp-direct.nl/", html)
    assert v["+31852302002"]["facts"]["warning_context"] is None
    # it names Nordbank and gives the number as Nordbank's: high since issue 10
    assert v["+31852302002"]["risk"] == "high"
    # ... nor are safety tips next to it; the Fraudehelpdesk's line is warned about
    assert v["+31887867372"]["facts"]["warning_context"]


def test_a_directory_that_shows_the_official_number_leaves_the_title_to_it():
    html = (
        "<title>Nordbank klantenservice telefoonnummer</title><table>"
        "<tr><td>Nordbank klantenservice</td><td>020 451 77 00</td></tr>"
        "<tr><td>Zuidbank</td><td>020 555 0100</td></tr>"
        "<tr><td>Westbank</td><td>030 555 0200</td></tr></table>"
    )
    v = _score("http://banknummers.nl/nordbank", html)
    assert v["+31205550100"]["score"] == 20  # base 30, official shown -10, no title +15
    assert not v["+31204517700"]["flagged"]
    # ... but a page that shows it and then offers its own line is no directory
    html = (
        "<title>Nordbank klantenservice - sneller geholpen</title>"
        "<p>Het algemene nummer van Nordbank (020 451 77 00) is vaak bezet.</p>"
        "<p>Bel onze servicedesk voor directe hulp: 085 230 2005.</p>"
    )
    v = _score("http://bankzaken-hulp.nl/", html)
    assert "official_shown" not in [s for s, _ in v["+31852302005"]["signals"]]
    assert v["+31852302005"]["score"] == 80  # 60, and +20 poses with the number (issue 10)
