"""The label of every number and site on the third simulated web (tests/simweb3)."""

from __future__ import annotations

SCAM = {
    "+31857601001": "hp-printerhulp.nl: brand helpdesk domain, ad, AnyDesk; also reported",
    "+31857601002": "reported only: a news article, a consumer list, a forum, the Fraudehelpdesk",
    "+31857601003": "reported only: HP's staff on HP's forum says it is not HP's",
    "+31857601004": "reported only: Apple's moderator on Apple's forum, and a consumer list",
    "+31857601005": "injected: an ad to ing.nl/zoeken?q=... whose page echoes the number",
    "+31857601006": "injected: an ad to support.hp.com/nl-nl/search?text=...",
    "+31857601007": "mijn-toestel-hulp.nl: only in JSON-LD, no brand in the domain",
    "+18884401009": "printer-scan-alert.com: browser locker behind a two-hop redirect chain",
    "+31857601010": "ziggo-storing-direct.nl: digits broken by zero-width characters",
    "+31857601011": "snel-internet-hulp.nl/ziggo: no brand word in the domain",
    "+31857601012": "ing-hulpcentrum.com: only in the ad's title and text, not on the page",
    "+31857601013": "veilig-bankieren-hulp.nl: 'kluisrekening'; ING's own page warns about it",
    "+319007601014": "printer-hulplijn.nl: premium rate, remote access, no brand in the domain",
    "+31857601015": "ing-klantenservice.blogspot.com: free blog",
    "+31857601017": "ziggo-klantenservice-24.nl: 'pas op voor oplichters' beside its own number",
    "+442037691020": "icloud-ontgrendelen-nu.com: English locker text, UK number, ad",
    "+31857601021": "zigg0-support.nl: look-alike domain, ad with call extension",
    "+31641239877": "iphone-hulp-direct.nl: only as a WhatsApp link",
}
INJECTED = {"+31857601005", "+31857601006"}
LEGIT_THIRD_PARTY = {
    "+31205551000": "nieuws-regio.nl: the newsroom's tip line under the article",
    "+31703102200": "consumentenwaakhond.nl: member service under the list of scam numbers",
    "+31513123456": "forum.computerhulp-nl.nl: a repair shop a user recommends",
    "+31887867372": "fraudehelpdesk.nl: the Fraudehelpdesk (a known third party)",
    "+31302345678": "appelreparatie-utrecht.nl: 'appel' (Dutch for apple) repair shop",
    "+31384211234": "bakkerij-appeltaart.nl: a bakery; takes Apple Pay",
    "+31412612345": "whp-installatietechniek.nl: 'hp' inside WHP, heat pumps",
    "+31104567890": "ingenieursbureau-dehaan.nl: 'ing' starts the word",
    "+31206703300": "woningverzekering-vergelijken.nl: 'ing' inside words, names ING",
    "+49301234567": "hpunkt-druckerei.de: German print shop, 'hp' in HPunkt, foreign number",
    "+31513765432": "inktpatronen-voor-hp.nl: ink webshop's own klantenservice",
    "+31365401234": "tv-internet-adviseur.nl/ziggo: an adviser naming Ziggo",
    "+33320123456": "appelez-nous-depannage.fr: French 'appelez' (call), foreign number",
}
OFFICIAL_UNLISTED = {
    "+31206545390": "hp.com: sales line",
    "+31887171800": "ziggo.nl: business customers",
}
OFFICIAL = {"+31206545301", "+318000201009", "+31202288800", "+31887171717"}

SCAM_SITES = {
    "hp-printerhulp.nl",
    "mijn-toestel-hulp.nl",
    "printer-scan-alert.com",
    "ziggo-storing-direct.nl",
    "snel-internet-hulp.nl",
    "ing-hulpcentrum.com",
    "veilig-bankieren-hulp.nl",
    "printer-hulplijn.nl",
    "ing-klantenservice.blogspot.com",
    "ziggo-klantenservice-24.nl",
    "icloud-ontgrendelen-nu.com",
    "zigg0-support.nl",
    "iphone-hulp-direct.nl",
}
# Warning, news, consumer and forum sites, brands' own sites, legitimate businesses.
REPORTING_SITES = {
    "nieuws-regio.nl",
    "consumentenwaakhond.nl",
    "computerhulp-nl.nl",
    "fraudehelpdesk.nl",
}
BRAND_SITES = {"hp.com", "apple.com", "ing.nl", "ziggo.nl"}
LEGIT_SITES = {
    "appelreparatie-utrecht.nl",
    "bakkerij-appeltaart.nl",
    "whp-installatietechniek.nl",
    "ingenieursbureau-dehaan.nl",
    "woningverzekering-vergelijken.nl",
    "hpunkt-druckerei.de",
    "inktpatronen-voor-hp.nl",
    "tv-internet-adviseur.nl",
    "appelez-nous-depannage.fr",
}
