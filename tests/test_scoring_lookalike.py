"""Domains and titles that pose as a brand: names, helpdesk words, look-alikes, typos."""

from __future__ import annotations

import pytest

from crawler.impersonation import domain_match, osa_distance, skeleton, title_match, trade_words

BRANDS = [
    ("Microsoft", ["microsoft", "windows", "outlook"]),
    ("Apple", ["apple", "icloud", "iphone"]),
    ("KPN", ["kpn"]),
    ("ING", ["ing", "ing bank"]),
    ("HP", ["hp"]),
    ("ABN AMRO", ["abn amro"]),
]
PUNY_MS = "mіcrosoft-support.com".encode("idna").decode()  # Cyrillic і
PUNY_APPLE = "аpple.com".encode("idna").decode()  # Cyrillic а


@pytest.mark.parametrize(
    "host, brand, kind",
    [
        ("microsoft-helpdesk-bellen.nl", "Microsoft", "helpdesk"),
        ("windows-support-direct.com", "Microsoft", "helpdesk"),
        ("www.icloud-hulp24.com", "Apple", "helpdesk"),
        ("kpn-storingsdienst.nl", "KPN", "helpdesk"),
        ("kpnstoringsdienst.nl", "KPN", "helpdesk"),
        ("ing-klantenservice.nl", "ING", "helpdesk"),
        ("hpsupport.nl", "HP", "helpdesk"),
        ("abn-amro-hulp.nl", "ABN AMRO", "helpdesk"),
        ("microsoft.helpdesk-nl.com", "Microsoft", "helpdesk"),
        ("outlook-nederland.nl", "Microsoft", "name"),
        ("apple-support-nl.blogspot.com", "Apple", "helpdesk"),
        ("iphone-reparatie-utrecht.nl", "Apple", "trade"),
        ("microsfot-help.com", "Microsoft", "typo"),
        ("mircosoft.nl", "Microsoft", "typo"),
        ("microsoftt-support.nl", "Microsoft", "helpdesk"),  # contains the name itself
        ("rnicrosoft.com", "Microsoft", "homoglyph"),
        ("micros0ft-support.nl", "Microsoft", "homoglyph"),
        ("windovvs-hulp.nl", "Microsoft", "homoglyph"),
        ("app1e-id.com", "Apple", "homoglyph"),
        (PUNY_MS, "Microsoft", "homoglyph"),
        (PUNY_APPLE, "Apple", "homoglyph"),
    ],
)
def test_domains_that_pose_as_a_brand(host, brand, kind):
    m = domain_match(host, BRANDS)
    assert m is not None, host
    assert (m.brand, m.kind) == (brand, kind)


@pytest.mark.parametrize(
    "host",
    [
        "pcreparatie-devries.nl",
        "nu-nieuws.nl",
        "storingsdienst.nl",  # "ing" inside a word is not ING
        "ingenieursbureau.nl",
        "booking.com",
        "shop.nl",  # "hp" inside a word is not HP
        "window-cleaning.nl",  # a prefix of "windows" is not a typo of it
        "cloud-hulp.nl",  # a part of "icloud" neither
        "marktplaats.nl",
    ],
)
def test_domains_that_do_not(host):
    assert domain_match(host, BRANDS) is None


def test_punycode_detail_shows_both_forms():
    m = domain_match(PUNY_MS, BRANDS)
    assert PUNY_MS.split(".")[0] in m.detail and "mіcrosoft" in m.detail


def test_the_queried_brand_wins_a_tie():
    both = [("Apple", ["apple"]), ("Microsoft", ["microsoft"])]
    m = domain_match("apple-microsoft-support.nl", both)
    assert m.brand == "Apple"


@pytest.mark.parametrize(
    "title, brand, kind",
    [
        ("Microsoft Helpdesk Nederland | Bel 085", "Microsoft", "helpdesk"),
        ("KPN Storing? Bel de KPN Storingsdienst", "KPN", "helpdesk"),
        ("ING Klantenservice Bellen", "ING", "helpdesk"),
        ("Windows Defender - Beveiligingswaarschuwing", "Microsoft", "name"),
        ("iPhone reparatie Amsterdam", "Apple", "trade"),
    ],
)
def test_titles(title, brand, kind):
    m = title_match(title, BRANDS)
    assert (m.brand, m.kind) == (brand, kind)


@pytest.mark.parametrize(
    "title", ["PC Reparatie De Vries - computerhulp", "Storing melden", "Restore your files"]
)
def test_titles_without_a_brand(title):
    assert title_match(title, BRANDS) is None


def test_trade_words_in_titles_start_a_word_but_not_in_domains():
    assert trade_words("PC Reparatie Utrecht") == "reparatie"
    assert trade_words("Restore access now") is None
    assert trade_words("", "pcreparatie devries") == "reparatie"


def test_skeleton_and_distance():
    assert skeleton("rnicrosоft") == skeleton("microsoft")  # Latin rn, Cyrillic о
    assert skeleton("MICRÓSOFT") == skeleton("microsoft")
    assert osa_distance("microsfot", "microsoft") == 1  # one transposition
    assert osa_distance("micosoft", "microsoft") == 1
    assert osa_distance("macrohard", "microsoft") > 1


def test_a_shop_title_turns_weak_helpdesk_words_into_trade():
    assert domain_match("apple-service-utrecht.nl", BRANDS).kind == "helpdesk"
    assert domain_match("apple-service-utrecht.nl", BRANDS, trade_hint=True).kind == "trade"
    # strong helpdesk words stay a helpdesk, whatever the title says
    assert domain_match("apple-klantenservice.nl", BRANDS, trade_hint=True).kind == "helpdesk"


# Real-looking shop and brand domains, both ways: words and word parts of Dutch,
# English, German and French never make a look-alike on their own.
WORDS_BRANDS = [
    ("Apple", ["apple", "icloud", "iphone"]),
    ("HP", ["hp"]),
    ("ING", ["ing"]),
    ("Booking.com", ["booking"]),
    ("Google", ["google"]),
    ("PostNL", ["postnl"]),
    ("Ziggo", ["ziggo"]),
]


@pytest.mark.parametrize(
    "host, expected",
    [
        # words, not look-alikes
        ("appelreparatie-utrecht.nl", None),  # nl: appel = apple
        ("bakkerij-appeltaart.nl", None),
        ("appelez-nous-depannage.fr", None),  # fr: appeler = to call
        ("appell-verein.de", None),  # de: Appell
        ("apply-now-jobs.com", None),  # en
        ("whp-installatietechniek.nl", None),  # hp inside a word
        ("hpunkt-druckerei.de", None),
        ("ingenieursbureau-dehaan.nl", None),  # ing starts a word
        ("woningverzekering-vergelijken.nl", None),  # ing inside words
        ("helping-hands-zorg.nl", None),  # en: ing ends a word
        ("boeking-hulp.nl", None),  # nl: boeking = booking
        ("postal-service-uk.com", None),  # en: postal, one typo from postnl
        ("goggles-shop.nl", None),
        # brands and look-alikes, still found
        ("apple-support-nl.com", ("Apple", "helpdesk")),
        ("appel-klantenservice.nl", ("Apple", "typo")),  # a word, with strong helpdesk words
        ("app1e-id-herstel.com", ("Apple", "homoglyph")),
        ("hp-printerhulp.nl", ("HP", "helpdesk")),
        ("ing-klantenservice.nl", ("ING", "helpdesk")),
        ("zigg0-support.nl", ("Ziggo", "homoglyph")),
        ("g00gle-hulp.nl", ("Google", "homoglyph")),
        ("bookimg-klantenservice.com", ("Booking.com", "typo")),
        ("postnl-pakket-service.nl", ("PostNL", "helpdesk")),
    ],
)
def test_dictionary_words_are_not_lookalikes(host, expected):
    m = domain_match(host, WORDS_BRANDS)
    assert (None if m is None else (m.brand, m.kind)) == expected, m
