"""A second simulated web, independent of the demo: its own brands, results and sites.

Like `crawler.demo.web`, one threaded HTTP server on 127.0.0.1 plays a search
engine that answers in Bing's HTML (`GET /search?q=...`) and, as an HTTP proxy,
every site under `sites/<host>/<path>` (a directory serves its `index.html`).
The data here are made to red-team the scorer on pages it was not tuned on:
four brands (a bank, a telecom, a software brand and a parcel service), scams
in many styles and legitimate third parties of many kinds. `test_simweb.py`
holds the label of every number.
"""

from __future__ import annotations

from pathlib import Path

from crawler.demo.web import DemoWeb, bing_page, site_file

HERE = Path(__file__).parent
SITES = HERE / "sites"


def r(url: str, title: str, snippet: str, call: str = "") -> tuple[str, str, str, str, str]:
    """A result: url, title, display url, snippet, and an ad's call extension."""
    display = url.split("//", 1)[1].rstrip("/").replace("/", " › ")
    return (url, title, display, snippet, call)


# --- Norton ------------------------------------------------------------------
N_SCAM_DOMAIN = r(
    "http://norton-klantenservice.nl/",
    "Norton Klantenservice Nederland | Bel 085 230 1001",
    "Problemen met Norton 360? Onze helpdesk is 24/7 bereikbaar.",
    call="085 230 1001",
)
N_OFFICIAL = r(
    "http://www.norton.com/nl/contact",
    "Contact opnemen met Norton Support | Norton",
    "Neem contact op met Norton Support voor hulp bij uw abonnement.",
)
N_PCHULP = r(
    "http://snelle-pc-hulp.nl/norton-support/",
    "Norton Support Nederland - Direct hulp van een expert",
    "Norton werkt niet? Onze specialisten helpen u vandaag nog.",
)
N_BLOG = r(
    "http://nortonhelpdesk-nl.blogspot.com/2026/03/norton-helpdesk-nederland.html",
    "Norton Helpdesk Nederland: telefoonnummer en hulp",
    "Het telefoonnummer van de Norton helpdesk in Nederland.",
)
N_HOMOGLYPH = r(
    "http://n0rton-setup.com/",
    "Norton Setup - Installeer Norton 360 met uw productcode",
    "Installatie mislukt? Bel de Norton installatiehulp.",
    call="+31 85 230 1005",
)
N_QA = r(
    "http://vraagbaak-online.nl/vraag/88123/hoe-bereik-ik-norton",
    "Hoe kan ik Norton klantenservice bellen? - Vraagbaak Online",
    "Ik krijg mijn abonnement niet opgezegd. Wie weet het nummer?",
)
N_REPAIR = r(
    "http://laptopdokter-amersfoort.nl/",
    "Laptopdokter Amersfoort - computerreparatie en virusverwijdering",
    "Virus verwijderen of Norton installeren? Kom langs in onze werkplaats.",
)
N_RESELLER = r(
    "http://softwarekeys-outlet.nl/norton-360-deluxe",
    "Norton 360 Deluxe kopen - direct geleverd | SoftwareKeys Outlet",
    "Norton 360 Deluxe, 5 apparaten, 1 jaar. Direct per mail geleverd.",
)
N_HOMEHELP = r(
    "http://computerhulp-zwolle.nl/norton",
    "Norton installeren of verwijderen? | Computerhulp Zwolle",
    "Henk helpt u thuis met Norton, Windows en uw printer.",
)
N_REPAIRSCAM = r(
    "http://pc-reparatie-spoedservice.nl/",
    "Norton en Windows helpdesk 24/7 - PC reparatie op afstand",
    "Gecertificeerde Norton technici lossen het direct op afstand op.",
)
N_LOCKER = r(
    "http://secure-scan-alert.com/nl/",
    "Uw computer is mogelijk besmet - Scan nu",
    "Gratis virusscan. Direct resultaat.",
)

# --- Odido -------------------------------------------------------------------
O_SCAM_DOMAIN = r(
    "http://odido-storingsdienst.nl/",
    "Odido Storing? Bel de Odido Storingsdienst",
    "Internet, tv of mobiel storing bij Odido? Wij helpen direct.",
    call="088 230 4001",
)
O_AD_PREMIUM = r(
    "http://klantenservice-direct.nl/odido/",
    "Odido Klantenservice - Direct Een Medewerker",
    "Geen wachtrij. Direct verbonden met een Odido medewerker.",
    call="0900 230 4003",
)
O_OFFICIAL = r(
    "http://www.odido.nl/klantenservice",
    "Klantenservice | Odido",
    "Vragen over je abonnement of rekening? Bel of chat met Odido.",
)
O_FORUM = r(
    "http://community.odido.nl/t5/internet/wifi-valt-steeds-weg/td-p/44120",
    "Wifi valt steeds weg - Odido Community",
    "Sinds een week valt mijn wifi steeds weg. Iemand een tip?",
)
O_DIRECTORY = r(
    "http://klantenservicenummer.info/odido",
    "Odido klantenservice telefoonnummer - bellen, chat en mail",
    "Alle contactgegevens van Odido op een rij.",
)
O_COMPARE = r(
    "http://simvergelijker.nl/odido",
    "Odido Sim Only vergelijken - alle bundels | Simvergelijker",
    "Vergelijk alle Odido Sim Only abonnementen.",
)
O_SHOP = r(
    "http://odido-shop-hoogvliet.nl/",
    "Odido Shop Hoogvliet - abonnementen en toestellen",
    "Kom langs in onze winkel in winkelcentrum Hoogvliet.",
)
O_GITHUB = r(
    "http://odido-support-nl.github.io/",
    "Odido Support - storing melden",
    "Meld je storing bij de Odido supportlijn.",
)

# --- Nordbank ----------------------------------------------------------------
B_SCAM_DOMAIN = r(
    "http://nordbank-helpdesk.nl/",
    "Nordbank Helpdesk | 085 230 2001 | Pas geblokkeerd?",
    "Pas geblokkeerd of verdachte transactie? Bel de Nordbank helpdesk.",
    call="085 230 2001",
)
B_FRAUDLINE = r(
    "http://bankhulp-direct.nl/nordbank",
    "Nordbank Klantenservice - pas geblokkeerd of fraude melden",
    "Fraude op uw rekening? Bel direct de afdeling fraude.",
)
B_GITHUB = r(
    "http://nordbank-inlog-herstel.github.io/",
    "Nordbank - rekening tijdelijk geblokkeerd",
    "Herstel de toegang tot uw Nordbank rekening.",
)
B_JSONLD = r(
    "http://mijnbank-hulpcentrum.nl/",
    "Nordbank klantenservice | Hulpcentrum",
    "Hulp bij uw Nordbank rekening, pas en app.",
)
B_OFFICIAL = r(
    "http://www.nordbank.nl/zakelijk/contact",
    "Contact - Nordbank Zakelijk",
    "Bel ons of maak een afspraak.",
)
B_NEWS = r(
    "http://dagblad-vandaag.nl/economie/2026/03/12/oplichters-misbruiken-naam-nordbank",
    "Oplichters misbruiken naam Nordbank met eigen 'klantenservice'",
    "Klanten die het nummer van Nordbank zochten, kwamen uit bij oplichters.",
)
B_CONSUMENTENBOND = r(
    "http://www.consumentenbond.nl/nieuws/2026/nepnummers-banken-en-providers",
    "Let op: nepnummers van banken en providers in zoekresultaten",
    "De Consumentenbond ziet steeds meer valse klantenservices.",
)
B_POLICE = r(
    "http://www.politie.nl/nieuws/2026/maart/12-nep-bankmedewerkers.html",
    "Politie waarschuwt voor nep-bankmedewerkers",
    "Criminelen doen zich voor als medewerker van Nordbank.",
)
B_FRAUDEHELPDESK = r(
    "http://www.fraudehelpdesk.nl/actueel/nordbank-nepnummers",
    "Actuele fraude: nepnummers Nordbank | Fraudehelpdesk",
    "Deze nummers zijn bij ons gemeld.",
)
B_ADVISOR = r(
    "http://hypotheekhuis-deboer.nl/nordbank-hypotheek",
    "Hypotheek bij Nordbank afsluiten? | De Boer Hypotheken",
    "Onafhankelijk advies over de Nordbank hypotheek.",
)

# --- PostNL ------------------------------------------------------------------
P_FOREIGN = r(
    "http://postnl-klantenservice.com/",
    "PostNL Klantenservice - Pakket niet ontvangen?",
    "Bel de PostNL klantenservice, ook in het weekend.",
)
P_ALT = r(
    "http://pakket-bezorgservice.nl/",
    "PostNL pakket kwijt? Bel ons direct",
    "Uw pakket is niet bezorgd? Wij zoeken het voor u uit.",
)
P_WIX = r(
    "http://pakkethulp.wixsite.com/postnl-klantenservice",
    "PostNL Klantenservice Nederland",
    "De snelste weg naar de PostNL klantenservice.",
)
P_HOMOGLYPH = r(
    "http://p0stnl-track.com/",
    "PostNL Track & Trace - bezorging wijzigen",
    "Wijzig uw bezorgmoment of bel onze klantenservice.",
    call="085 230 3004",
)
P_OFFICIAL = r(
    "http://www.postnl.nl/klantenservice/",
    "Klantenservice | PostNL",
    "Hulp bij je zending, brief of pakket.",
)
P_POINT = r(
    "http://primera-castricum.nl/postnl-punt",
    "PostNL Punt Primera Castricum - openingstijden",
    "Pakketten ophalen en versturen bij Primera Castricum.",
)
P_WEBSHOP = r(
    "http://tuinmeubelen-outlet.nl/verzending",
    "Verzending en bezorging | Tuinmeubelen Outlet",
    "Wij bezorgen met PostNL en eigen bezorgers.",
)
P_DIRECTORY = r(
    "http://pakketvergelijker.nl/klantenservice-pakketdiensten",
    "PostNL klantenservice bellen? Telefoonnummers van alle pakketdiensten",
    "PostNL, DHL, GLS: alle klantenservicenummers op een rij.",
)

# --- more styles -------------------------------------------------------------
N_GOOGLE_SITES = r(
    "http://sites.google.com/view/norton-support-nederland",
    "Norton Support Nederland",
    "Hulp bij het installeren, activeren en verlengen van Norton 360.",
)
N_HACKED = r(
    "http://www.bakkerij-devries.nl/wp-content/uploads/2026/03/norton-klantenservice.html",
    "Norton klantenservice bellen - 085 230 1010",
    "Norton klantenservice bellen? Bel 085 230 1010 voor directe hulp.",
)
N_FORUM_SHOP = r(
    "http://forum.computerclub.nl/topic/18822-norton-opzeggen-lukt-niet",
    "Norton abonnement opzeggen lukt niet - Computerclub Forum",
    "Ik probeer al weken mijn Norton abonnement op te zeggen.",
)
N_RESELLER_AD = r(
    "http://softwarekeys-outlet.nl/norton-360-deluxe",
    "Norton 360 Deluxe - Nu € 24,95",
    "Norton 360 Deluxe voor 5 apparaten. Direct geleverd per e-mail.",
)
O_NO_BRAND_TITLE = r(
    "http://hulplijn-direct.nl/odido-storing",
    "Klantenservice Hulplijn | 24/7 bereikbaar",
    "Storing? Bel direct en een monteur lost het voor u op.",
)
O_DISCLAIMER = r(
    "http://storinghulp-nederland.nl/odido",
    "Odido storing melden | Storinghulp Nederland",
    "Onafhankelijke hulp bij storingen van internet en tv.",
)
O_MONITOR = r(
    "http://allestoringen-nu.nl/storing/odido",
    "Odido storing? Actuele storingen en problemen | Allestoringen Nu",
    "Heb je problemen met Odido? Bekijk de storingskaart.",
)
O_COMPARE_AD = r(
    "http://simvergelijker.nl/odido",
    "Odido Sim Only - Vergelijk Alle Deals",
    "De goedkoopste Odido Sim Only deals op een rij.",
)
B_WHATSAPP = r(
    "http://snelbankieren-hulp.nl/",
    "Nordbank klantenservice via WhatsApp",
    "Chat direct met een Nordbank medewerker.",
)
P_ENGLISH = r(
    "http://postnl-support-center.com/",
    "PostNL Customer Service | Missing Parcel Help Line",
    "Parcel delayed, lost or returned to sender? Call us.",
)
P_WEBSHOP2 = r(
    "http://fietsonderdelen-shop.nl/klantenservice",
    "Klantenservice | Fietsonderdelen Shop",
    "Vragen over je bestelling of de bezorging door PostNL?",
)

P_CALL_ONLY = r(
    "http://pakketservice-online.nl/",
    "PostNL Klantenservice - Bel Direct",
    "Pakket kwijt of niet bezorgd? Direct iemand aan de lijn.",
    call="085 230 3009",
)
O_MULTI_BRAND = r(
    "http://snelservice24.nl/",
    "Odido Klantenservice | Direct Hulp",
    "Storing, rekening of opzeggen? Wij helpen je direct.",
)

P_TRACKING = r(
    "http://mijnpakket-status.nl/",
    "Track & Trace PostNL - status van uw zending",
    "Volg uw zending en bekijk de status van uw pakket.",
)
B_SUBDOMAIN = r(
    "http://nordbank.klantenservice-online.com/",
    "Nordbank | Klantenservice Online",
    "Voor al uw vragen over betalen, sparen en lenen.",
)
O_REVIEW = r(
    "http://ervaringen-klantenservice.nl/odido",
    "Odido klantenservice ervaringen & tips 2026",
    "We testten de klantenservice van Odido.",
)
B_LIBRARY = r(
    "http://www.bibliotheekutrecht.nl/digitaal/veilig-bankieren",
    "Veilig online bankieren - gratis cursus | Bibliotheek Utrecht",
    "Leer veilig bankieren met de app van uw bank.",
)
N_MSP = r(
    "http://ict-helpdesk-twente.nl/",
    "ICT Helpdesk voor bedrijven | Microsoft 365 en Norton beheer",
    "Beheer van computers en beveiliging voor het MKB in Twente.",
)
O_QA_WARNING = r(
    "http://www.vraaghetonline.nl/v/77812/is-dit-het-nummer-van-odido",
    "Is 088 230 4001 echt de storingsdienst van Odido? - VraagHetOnline",
    "Ik vond dit nummer via Google. Kan ik dat vertrouwen?",
)
B_SECURITY = r(
    "http://www.nordbank.nl/veiligheid",
    "Veilig bankieren | Nordbank",
    "Zo herkent u oplichters.",
)

B_SHOWS_OFFICIAL = r(
    "http://bankzaken-hulp.nl/",
    "Nordbank klantenservice - sneller geholpen",
    "Geen wachttijd: direct een medewerker.",
)

# keyword in the query → (organic results, ads)
SERPS = {
    "norton": (
        [
            N_SCAM_DOMAIN,
            N_OFFICIAL,
            N_PCHULP,
            N_BLOG,
            N_QA,
            N_REPAIR,
            N_RESELLER,
            N_HOMEHELP,
            N_REPAIRSCAM,
            N_GOOGLE_SITES,
            N_HACKED,
            N_FORUM_SHOP,
            N_MSP,
        ],
        [N_SCAM_DOMAIN, N_HOMOGLYPH, N_RESELLER_AD],
    ),
    "virus": ([N_REPAIR, N_HOMEHELP, N_PCHULP], [N_LOCKER]),
    "odido": (
        [
            O_OFFICIAL,
            O_SCAM_DOMAIN,
            O_FORUM,
            O_DIRECTORY,
            O_COMPARE,
            O_SHOP,
            O_GITHUB,
            B_CONSUMENTENBOND,
            O_NO_BRAND_TITLE,
            O_DISCLAIMER,
            O_MONITOR,
            O_REVIEW,
            O_QA_WARNING,
        ],
        [O_AD_PREMIUM, O_SCAM_DOMAIN, O_COMPARE_AD, O_MULTI_BRAND],
    ),
    "nordbank": (
        [
            B_OFFICIAL,
            B_FRAUDLINE,
            B_GITHUB,
            B_JSONLD,
            B_NEWS,
            B_CONSUMENTENBOND,
            B_POLICE,
            B_FRAUDEHELPDESK,
            B_ADVISOR,
            B_WHATSAPP,
            B_SUBDOMAIN,
            B_LIBRARY,
            B_SECURITY,
            B_SHOWS_OFFICIAL,
        ],
        [B_SCAM_DOMAIN],
    ),
    "postnl": (
        [
            P_OFFICIAL,
            P_FOREIGN,
            P_ALT,
            P_WIX,
            P_POINT,
            P_WEBSHOP,
            P_DIRECTORY,
            P_ENGLISH,
            P_WEBSHOP2,
            P_TRACKING,
        ],
        [P_HOMOGLYPH, P_CALL_ONLY],
    ),
    "pakket": ([P_ALT, P_DIRECTORY, P_OFFICIAL], []),
}
# An ad's landing URL that redirects (as cloaking sites do) before the page.
REDIRECTS = {"http://secure-scan-alert.com/nl/": "/nl/scan.html?id=88120"}


def serp_html(query: str) -> str:
    q = query.lower()
    organic, ads = next((v for k, v in SERPS.items() if k in q), ([], []))
    return bing_page(query, organic, ads)


class SimWeb(DemoWeb):
    """Context manager: `with SimWeb() as web: web.search_url, web.proxy_url`."""

    def serp_html(self, query: str) -> str:
        return serp_html(query)

    def site_file(self, host: str, path: str) -> Path | None:
        return site_file(host, path, SITES)

    def redirects(self) -> dict[str, str]:
        return REDIRECTS
