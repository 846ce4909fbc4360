"""Labels of the sites of the second simulated web (the numbers' are in tests/test_simweb.py)."""

from __future__ import annotations

SCAM_SITES = {
    "bankhulp-direct.nl",
    "bankzaken-hulp.nl",
    "ervaringen-klantenservice.nl",
    "hulplijn-direct.nl",
    "klantenservice-direct.nl",
    "klantenservice-online.com",
    "mijnbank-hulpcentrum.nl",
    "mijnpakket-status.nl",
    "n0rton-setup.com",
    "nordbank-helpdesk.nl",
    "nordbank-inlog-herstel.github.io",
    "norton-klantenservice.nl",
    "nortonhelpdesk-nl.blogspot.com",
    "odido-storingsdienst.nl",
    "odido-support-nl.github.io",
    "p0stnl-track.com",
    "pakket-bezorgservice.nl",
    "pakkethulp.wixsite.com",
    "pakketservice-online.nl",
    "pc-reparatie-spoedservice.nl",
    "postnl-klantenservice.com",
    "postnl-support-center.com",
    "secure-scan-alert.com",
    "snelbankieren-hulp.nl",
    "snelle-pc-hulp.nl",
    "snelservice24.nl",
    "storinghulp-nederland.nl",
}
# Left out on purpose: bakkerij-devries.nl (a real bakery's hacked site, a planted
# scam page) and google.com (sites.google.com hosts a scam at a path).
REPORTING_SITES = {
    "consumentenbond.nl",
    "dagblad-vandaag.nl",
    "fraudehelpdesk.nl",
    "politie.nl",
    "computerclub.nl",
    "allestoringen-nu.nl",
    "vraagbaak-online.nl",
    "vraaghetonline.nl",
    "klantenservicenummer.info",
    "pakketvergelijker.nl",
}
BRAND_SITES = {"nordbank.nl", "norton.com", "odido.nl", "postnl.nl"}
LEGIT_SITES = {
    "bibliotheekutrecht.nl",
    "computerhulp-zwolle.nl",
    "fietsonderdelen-shop.nl",
    "hypotheekhuis-deboer.nl",
    "ict-helpdesk-twente.nl",
    "laptopdokter-amersfoort.nl",
    "odido-shop-hoogvliet.nl",
    "primera-castricum.nl",
    "simvergelijker.nl",
    "softwarekeys-outlet.nl",
    "tuinmeubelen-outlet.nl",
}
