"""The points of every signal, the risk levels, and the README's table made from them.

`python -m crawler.scoring.points` prints the table; tests/test_docs.py checks
that the README holds exactly this text.
"""

from __future__ import annotations

HIGH = 70
MEDIUM = 40

POINTS = {
    "not_official": 30,
    "not_official_any": 20,
    "lookalike_domain": 35,
    "brand_helpdesk_domain": 25,
    "brand_domain": 20,
    "brand_trade_domain": 10,
    "title_helpdesk": 15,
    "ad_helpdesk": 15,
    "title_brand": 5,
    "claims_official": 10,
    "number_as_brand": 15,
    "ad": 15,
    "ad_plain": 5,
    "remote_tool_link": 15,
    "remote_tool": 10,
    "alarm": 15,
    "locker": 10,
    "premium": 15,
    "foreign": 15,
    "number_in_title": 5,
    "shared_hosting": 10,
    "user_content": 25,
    "official_site_listing": -10,
    "listed_by_brand": -30,
    "official_shown": -10,
    "several_domains_2": 5,
    "several_domains_3": 10,
    "several_domains_5": 15,
    "new_number": 10,
    "new_site": 5,
    "confirmed_number": 30,
    "confirmed_site": 20,
    "trade_page": -10,
    "warning": -45,
    "third_party_number": -40,
    "third_party_site": -20,
    "injected": 45,
    "poses_with_number": 20,
    "premium_helpdesk": 10,
    # The verdict of a number (crawler.scoring.verdicts): on top of its best showing.
    "number_not_official": 30,
    "number_reported_1": 35,
    "number_reported_2": 45,
    "number_denied_by_brand": 45,
    "number_denied_by_staff": 50,
    "number_injected": 20,
    # The verdict of a site, and the pair's informed by its number's.
    "site_numbers_high": 10,
    "pair_number_high": 10,
    # What a real browser saw (crawler.scoring.browser, docs/RENDERING.md).
    "image_only": 15,
    "rendered_only": 10,
    "cloaking": 15,
    "fullscreen": 10,
    "keyboard_lock": 15,
    "pointer_lock": 5,
    "beforeunload": 10,
    "dialog_loop": 15,
    "history_flood": 10,
    "autoplay": 5,
    "download": 10,
    "webdriver_probe": 5,
    "popup": 5,
    "hang": 5,
}
# "Seen recently": first seen at most this many days ago, after the database had
# already watched for at least MIN_WATCH_DAYS (on a first crawl everything is new).
RECENT_DAYS = 30
MIN_WATCH_DAYS = 7

# The README's rows: what the signal means, and its signals (points joined by " / ",
# or by the row's own pattern).
README_ROWS: list[tuple[str, tuple[str, ...], str | None]] = [
    (
        "not an official number of the brand queried (of any brand when the query named none)",
        ("not_official", "not_official_any"),
        "{} ({})",
    ),
    (
        "look-alike domain: one typo (`microsfot`), look-alike characters (`rnicrosoft`,"
        " `micros0ft`), Cyrillic letters behind punycode (`xn--...`)",
        ("lookalike_domain",),
        None,
    ),
    (
        "the brand's name in the domain with helpdesk words (`kpn-storingsdienst.nl`)",
        ("brand_helpdesk_domain",),
        None,
    ),
    ("the brand's name in the domain (`outlook-nederland.nl`)", ("brand_domain",), None),
    (
        "the brand's name in the domain with repair or shop words (`iphone-reparatie.nl`)",
        ("brand_trade_domain",),
        None,
    ),
    (
        "page title presents itself as the brand's helpdesk (helpdesk words in the brand's"
        " part of the title; or a helpdesk title naming no brand on a page that calls the"
        " number the brand's) / merely names the brand",
        ("title_helpdesk", "title_brand"),
        None,
    ),
    (
        "the ad that led to the page poses as the brand's helpdesk (\"PostNL Klantenservice"
        ' - Bel Direct") where the page title does not',
        ("ad_helpdesk",),
        None,
    ),
    (
        'page claims to be official or certified ("officiële Microsoft helpdesk")',
        ("claims_official",),
        None,
    ),
    (
        "the sentence with the number (or the heading or label line above it, the alt text"
        ' or JSON-LD `name` it comes with) calls it a service of the brand ("bel de'
        ' Microsoft helpdesk op ...", "de klantenservice van PostNL", "app Odido op ...")',
        ("number_as_brand",),
        None,
    ),
    (
        "shown in a paid ad, on a page that poses as the brand (domain, title, ad text, the"
        " number's sentence, claims, alarm) / on any other page",
        ("ad", "ad_plain"),
        None,
    ),
    (
        "page poses as the brand on a shared-hosting site (blogspot.com, github.io,"
        " wixsite.com, sites.google.com, wordpress.com, ...)",
        ("shared_hosting",),
        None,
    ),
    (
        "remote-access tool pushed with a download link / mentioned (AnyDesk, TeamViewer,"
        ' "hulp op afstand"); not when the sentence says "nooit"',
        ("remote_tool_link", "remote_tool"),
        None,
    ),
    (
        'alarm or browser-locker language ("virus gedetecteerd", "uw computer is'
        ' geblokkeerd", "kluisrekening"); not when the sentence says "nooit"',
        ("alarm",),
        None,
    ),
    (
        "browser-locker behaviour (full screen, blocks leaving, alerts, autoplay audio)",
        ("locker",),
        None,
    ),
    (
        "premium-rate number (0900/0906/0909), or a foreign number on the profile's region",
        ("premium", "foreign"),
        "{}",  # the same points either way
    ),
    ("number in the page title", ("number_in_title",), None),
    (
        "posted as user content (forum, Q&A, comments) on a brand's own site: still flagged",
        ("user_content",),
        None,
    ),
    (
        "listed on a brand's own site, not user content: an official number missing from"
        " the brands file?",
        ("official_site_listing",),
        None,
    ),
    (
        "listed so on a brand's own site and seen here on another site (all runs)",
        ("listed_by_brand",),
        None,
    ),
    (
        "page also shows an official number (a directory, article or review) and does not"
        " present this number as the brand's: the title's claim is left to the official number",
        ("official_shown",),
        None,
    ),
    (
        "the number seen on 2 / 3–4 / 5+ unrelated domains (all runs)",
        ("several_domains_2", "several_domains_3", "several_domains_5"),
        None,
    ),
    (
        "number first seen in the last 30 days, after the database had watched for 7 days or more",
        ("new_number",),
        None,
    ),
    ("site first seen likewise", ("new_site",), None),
    (
        "number confirmed as a scam by an analyst (not on a page that warns about it)",
        ("confirmed_number",),
        None,
    ),
    ("site confirmed as a scam by an analyst", ("confirmed_site",), None),
    (
        "page presents itself as an independent repair shop or store (no impersonating"
        " domain, no alarm, the number not called the brand's)",
        ("trade_page",),
        None,
    ),
    (
        'the text around the number or the title warns about it ("oplichters", "nepsite",'
        ' "waarschuwt voor"; "fraude", "slachtoffer", "phishing" only when the number is not'
        ' called the brand\'s, as in "bel de Nordbank fraudelijn"); ignored on a page whose'
        " domain impersonates the brand",
        ("warning",),
        None,
    ),
    (
        "a known legitimate third party's number (Fraudehelpdesk, Consumentenbond, ...)",
        ("third_party_number",),
        None,
    ),
    (
        "page on a known legitimate site (news, consumer organisation, police)",
        ("third_party_site",),
        None,
    ),
    (
        "the page names the brand (title, domain or the ad that led there) and its sentence"
        " gives the number as the brand's service; not on a page that warns about it",
        ("poses_with_number",),
        None,
    ),
    (
        "a premium-rate or foreign number on a page acting as a helpdesk (remote access,"
        " alarm, helpdesk title or ad, the number given as the brand's)",
        ("premium_helpdesk",),
        None,
    ),
    (
        "the number came in the landing URL's query string or fragment and the brand's own"
        " page echoes it (an ad into the brand's search page): injected, not listed",
        ("injected",),
        None,
    ),
    (
        "seen by a real browser (docs/RENDERING.md): number only in an image / only when the"
        " page's scripts run",
        ("image_only", "rendered_only"),
        None,
    ),
    (
        "the rendered page differs from the static fetch (other numbers, another title)",
        ("cloaking",),
        None,
    ),
    (
        "in the browser: full screen / keyboard lock / pointer lock",
        ("fullscreen", "keyboard_lock", "pointer_lock"),
        None,
    ),
    (
        "in the browser: `beforeunload` trap / dialog loop / history flood",
        ("beforeunload", "dialog_loop", "history_flood"),
        None,
    ),
    (
        "in the browser: audio autoplay / download attempt / `navigator.webdriver` probe /"
        " new windows / hung until the time budget cut it",
        ("autoplay", "download", "webdriver_probe", "popup", "hang"),
        None,
    ),
]
# The number's verdict starts at its best showing's pair score (a page that gives
# the number without reporting it); these rows are added on top.
NUMBER_ROWS: list[tuple[str, tuple[str, ...], str | None]] = [
    (
        "never shown, only reported: not an official number (the base)",
        ("number_not_official",),
        None,
    ),
    (
        "reported as a scam on one / on two or more sites (warning, news, consumer, forum"
        " pages: the number's own sentence, or a warning title above a number the page"
        " does not tell readers to call)",
        ("number_reported_1", "number_reported_2"),
        None,
    ),
    (
        'the brand\'s own site says it is not theirs ("dit is geen nummer van HP", a'
        " security page) / its staff or a moderator says so on its forum",
        ("number_denied_by_brand", "number_denied_by_staff"),
        None,
    ),
    ("injected into a brand's own page through the URL", ("number_injected",), None),
    ("confirmed by an analyst, when no showing carries it", ("confirmed_number",), None),
]
SITE_ROWS: list[tuple[str, tuple[str, ...], str | None]] = [
    (
        "the site poses as the brand with a number whose own verdict is high",
        ("site_numbers_high",),
        None,
    ),
    (
        "pair: the page shows (does not report) a number whose own verdict is high",
        ("pair_number_high",),
        None,
    ),
]


def _points(p: int) -> str:
    return f"+{p}" if p >= 0 else f"−{-p}"  # a typographic minus, as the README writes it


def points_table(rows=None) -> str:
    """The README's points table, in Markdown (the pair's; or the `rows` given)."""
    lines = ["| signal | points |", "|---|---|"]
    for text, signals, pattern in README_ROWS if rows is None else rows:
        shown = [_points(POINTS[s]) for s in signals]
        cell = pattern.format(*shown) if pattern else " / ".join(shown)
        lines.append(f"| {text} | {cell} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(points_table())
    print()
    print(points_table(NUMBER_ROWS))
    print()
    print(points_table(SITE_ROWS))
