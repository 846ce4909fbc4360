"""A third simulated web, written to red-team the number, site and pair verdicts.

It was written from the cases issue 10 lists, before the scorer was changed,
and the scorer is not tuned on it (tests/test_simweb3.py holds the labels):

- numbers reported only on warning, news, consumer and forum pages, and on a
  brand's own security page;
- staff and moderators on the brands' own forums saying a number is not theirs;
- numbers injected through URL parameters into a brand's real search page,
  reached from an ad (the page echoes the search words: Malwarebytes, June 2025);
- legitimate shops whose names hold brand words or words close to them, in
  Dutch, English, German and French (appel, ing, hp in whp, hpunkt, appelez);
- scam pages of every presentation, including weak ones: a number only in
  JSON-LD, behind a redirect chain, broken up by zero-width characters, no
  brand word in the domain, only in the ad's text.

Like `crawler.demo.web`, one threaded server on 127.0.0.1 plays a Bing-style
engine and, as an HTTP proxy, every site under `sites/<host>/<path>`. A page
holding `{{q}}` shows the URL's query words there, escaped, as a search page does.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import parse_qsl, quote

from crawler.demo.web import DemoWeb, bing_page, site_file

HERE = Path(__file__).parent
SITES = HERE / "sites"


def r(url: str, title: str, snippet: str, call: str = "") -> tuple[str, str, str, str, str]:
    """A result: url, title, display url, snippet, and an ad's call extension."""
    display = url.split("//", 1)[1].split("?", 1)[0].rstrip("/").replace("/", " › ")
    return (url, title, display, snippet, call)


# --- HP ----------------------------------------------------------------------------
HP_OFFICIAL = r("http://www.hp.com/nl-nl/contact", "Contact opnemen met HP", "Ondersteuning.")
HP_SCAM = r(
    "http://hp-printerhulp.nl/",
    "HP Printer Helpdesk | Bel 085 760 1001",
    "Printer offline? Onze HP technici helpen direct.",
    call="085 760 1001",
)
HP_INJECTED = r(
    "http://support.hp.com/nl-nl/search?text=" + quote("HP Support bellen 085-760-1006"),
    "HP Support Nederland - 24/7 bereikbaar",
    "Officiële HP ondersteuning. Printer, laptop en pc.",
)
HP_REDIRECT = r(
    "http://klik-hier-nu.com/r/hp",
    "HP Printer Offline? Direct hulp",
    "Los het vandaag nog op.",
)
HP_STAFF = r(
    "http://community.hp.com/t5/printers/gebeld-door-hp-medewerker/td-p/120345",
    "Gebeld door HP medewerker? - HP Support Community",
    "Ik werd vandaag gebeld door iemand die zei van HP te zijn.",
)
HP_NEWS = r(
    "http://nieuws-regio.nl/tech/2026/11/oplichters-bellen-namens-hp",
    "Oplichters bellen namens HP | Nieuws Regio",
    "Inwoners worden gebeld door een nep HP helpdesk.",
)
HP_FORUM = r(
    "http://forum.computerhulp-nl.nl/topic/8812-nep-hp-helpdesk",
    "Nep HP helpdesk - Computerhulp NL Forum",
    "Let op, dit is een nep HP helpdesk.",
)
HP_FHD = r(
    "http://www.fraudehelpdesk.nl/actueel/nep-hp-helpdesk",
    "Actueel: nep HP helpdesk | Fraudehelpdesk",
    "Meldingen over een nep-helpdesk die zich voordoet als HP.",
)
HP_PREMIUM = r("http://printer-hulplijn.nl/", "Printer hulplijn - HP, Canon, Epson", "Bel ons.")
HP_WHP = r(
    "http://whp-installatietechniek.nl/",
    "WHP Installatietechniek – warmtepompen en cv",
    "Storing aan uw warmtepomp?",
)
HP_HPUNKT = r("http://hpunkt-druckerei.de/", "HPunkt Druckerei Berlin", "Digitaldruck.")
HP_INK = r(
    "http://inktpatronen-voor-hp.nl/",
    "Inktpatronen voor HP printers – webshop",
    "Voor 23:00 besteld, morgen in huis.",
)
# --- Apple ---------------------------------------------------------------------------
AP_OFFICIAL = r("http://www.apple.com/nl/contact/", "Contact - Apple (NL)", "Apple Support.")
AP_MODERATOR = r(
    "http://discussions.apple.com/thread/255001234",
    "Pop-up met Apple Support nummer, klopt dat? - Apple Community",
    "Ik kreeg in Safari een pop-up met een nummer.",
)
AP_JSONLD = r(
    "http://mijn-toestel-hulp.nl/",
    "Apple Support Nederland - iPhone en iCloud hulp",
    "iCloud geblokkeerd? Wij helpen u.",
)
AP_ENGLISH = r(
    "http://icloud-ontgrendelen-nu.com/",
    "iCloud Locked? Apple Support 24/7",
    "Call Apple Support now.",
    call="+44 20 3769 1020",
)
AP_WHATSAPP = r("http://iphone-hulp-direct.nl/", "iPhone hulp - Apple helpdesk", "WhatsApp ons.")
AP_REPAIR = r(
    "http://appelreparatie-utrecht.nl/",
    "Appelreparatie Utrecht – iPhone en iPad reparatie",
    "Scherm kapot? Wij repareren terwijl u wacht.",
)
AP_BAKERY = r(
    "http://bakkerij-appeltaart.nl/",
    "Bakkerij De Appeltaart – Zwolle",
    "De lekkerste appeltaart van Zwolle.",
)
AP_FRENCH = r(
    "http://appelez-nous-depannage.fr/",
    "Appelez-nous Dépannage – réparation PC et Mac",
    "Réparation iPhone aussi.",
)
CONSUMER = r(
    "http://www.consumentenwaakhond.nl/nepnummers",
    "Nepnummers van helpdesks | Consumentenwaakhond",
    "De actuele lijst met gemelde nepnummers.",
)
# --- ING -------------------------------------------------------------------------------
ING_OFFICIAL = r(
    "http://www.ing.nl/particulier/klantenservice", "Klantenservice | ING", "Bel de ING."
)
ING_SECURITY = r(
    "http://www.ing.nl/particulier/veilig-bankieren",
    "Veilig bankieren: herken fraude | ING",
    "Oplichters doen zich voor als ING-medewerker.",
)
ING_INJECTED = r(
    "http://www.ing.nl/zoeken?q=" + quote("ING klantenservice bel 085 760 1005"),
    "ING Klantenservice - Direct bellen",
    "Hulp bij uw rekening. Bel direct.",
)
ING_AD_TEXT = r(
    "http://ing-hulpcentrum.com/",
    "ING Klantenservice | Bel 085 760 1012",
    "Bel direct 085 760 1012, 24/7 bereikbaar.",
)
ING_SAFE_ACCOUNT = r(
    "http://veilig-bankieren-hulp.nl/",
    "Veiligheidsteam - Klantenservice Veilig Bankieren",
    "Uw rekening is in gevaar.",
)
ING_BLOG = r(
    "http://ing-klantenservice.blogspot.com/2026/10/ing-klantenservice-bellen.html",
    "ING Klantenservice bellen - 24/7",
    "Ook 's nachts bereikbaar.",
)
ING_ENGINEER = r(
    "http://ingenieursbureau-dehaan.nl/",
    "Ingenieursbureau De Haan – constructieadvies",
    "Constructieberekeningen voor woningbouw.",
)
ING_INSURANCE = r(
    "http://woningverzekering-vergelijken.nl/",
    "Woningverzekering vergelijken – ING en meer",
    "Vergelijk de woonverzekering van ING.",
)
# --- Ziggo -----------------------------------------------------------------------------
ZG_OFFICIAL = r("http://www.ziggo.nl/klantenservice", "Klantenservice | Ziggo", "Bel Ziggo.")
ZG_ZERO_WIDTH = r(
    "http://ziggo-storing-direct.nl/",
    "Ziggo Storingsdienst - storing melden",
    "Geen internet of tv? Bel de storingsdienst.",
)
ZG_NO_BRAND_DOMAIN = r(
    "http://snel-internet-hulp.nl/ziggo",
    "Storing bij Ziggo? Direct geholpen",
    "Internet weg? Ook in het weekend.",
)
ZG_SAFETY_TIP = r(
    "http://ziggo-klantenservice-24.nl/",
    "Ziggo Klantenservice 24/7",
    "Bel de officiële Ziggo klantenservice.",
)
ZG_HOMOGLYPH = r(
    "http://zigg0-support.nl/",
    "Ziggo Support | Klantenservice",
    "Bel de Ziggo helpdesk.",
    call="085 760 1021",
)
ZG_ADVISER = r(
    "http://tv-internet-adviseur.nl/ziggo",
    "Overstappen naar Ziggo? Gratis advies",
    "Wij vergelijken Ziggo, KPN en Odido.",
)

SERPS = {
    "hp": (
        [HP_OFFICIAL, HP_SCAM, HP_STAFF, HP_NEWS, HP_FORUM, HP_FHD, HP_PREMIUM, HP_WHP],
        [HP_INJECTED, HP_SCAM, HP_REDIRECT],
    ),
    "printer": ([HP_INK, HP_HPUNKT, HP_PREMIUM, CONSUMER], [HP_REDIRECT]),
    "apple": (
        [AP_OFFICIAL, AP_MODERATOR, AP_JSONLD, AP_REPAIR, AP_BAKERY, AP_FRENCH, CONSUMER],
        [AP_ENGLISH, AP_WHATSAPP],
    ),
    "ing": (
        [ING_OFFICIAL, ING_SECURITY, ING_SAFE_ACCOUNT, ING_BLOG, ING_ENGINEER, ING_INSURANCE],
        [ING_INJECTED, ING_AD_TEXT],
    ),
    "ziggo": (
        [ZG_OFFICIAL, ZG_ZERO_WIDTH, ZG_NO_BRAND_DOMAIN, ZG_SAFETY_TIP, ZG_ADVISER],
        [ZG_HOMOGLYPH],
    ),
    "internet": ([ZG_NO_BRAND_DOMAIN, ZG_ADVISER, ZG_OFFICIAL], []),
}
# A cloaking chain: the ad's URL hops twice before the browser locker.
REDIRECTS = {
    "http://klik-hier-nu.com/r/hp": "http://tussenstap-verkeer.net/go",
    "http://tussenstap-verkeer.net/go": "http://printer-scan-alert.com/nl/alert.html",
}


def serp_html(query: str) -> str:
    words = set(query.lower().split())
    organic, ads = next((v for k, v in SERPS.items() if k in words), ([], []))
    return bing_page(query, organic, ads)


class SimWeb3(DemoWeb):
    """Context manager: `with SimWeb3() as web: web.search_url, web.proxy_url`."""

    def serp_html(self, query: str) -> str:
        return serp_html(query)

    def site_file(self, host: str, path: str) -> Path | None:
        return site_file(host, path, SITES)

    def redirects(self) -> dict[str, str]:
        return REDIRECTS

    def page(self, target: Path, query: str) -> str:
        """The file, with the query's words where it shows `{{q}}` (a search page)."""
        words = " ".join(v for _, v in parse_qsl(query))
        return target.read_text(encoding="utf-8").replace("{{q}}", html.escape(words))
