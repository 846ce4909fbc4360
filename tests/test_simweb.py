"""Red-teaming the scorer on a web it was not tuned on (tests/simweb/), through the real CLI.

The simulated web has its own brands (a bank, a telecom, a software brand and a
parcel service), scams in many styles and legitimate third parties of many
kinds; every number on it is labelled below. A crawl of it must flag every
scam number, never an official one, rank every scam number above every
legitimate one, and call only scam numbers high risk.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from simweb.web import SimWeb

SIMWEB = Path(__file__).parent / "simweb"

# number → where it is, and why it is hard
SCAM = {
    "+31852301001": "norton-klantenservice.nl: brand and helpdesk in the domain, ad, AnyDesk",
    "+31852301002": "snelle-pc-hulp.nl: brand only in the title, 'independent' disclaimer",
    "+442037691201": "nortonhelpdesk-nl.blogspot.com: foreign number on a free blog",
    "+31852301005": "n0rton-setup.com: look-alike domain, ad with call extension",
    "+31852301006": "vraagbaak-online.nl: posted by a user on a Q&A site",
    "+31852301007": "pc-reparatie-spoedservice.nl: a repair word in domain and title",
    "+18883019912": "secure-scan-alert.com: browser locker behind an ad redirect, no brand queried",
    "+31882304001": "odido-storingsdienst.nl: digits split over tags, ad with call extension",
    "+319002304003": "klantenservice-direct.nl/odido: premium rate, ad with call extension",
    "+31641239876": "community.odido.nl: a mobile number posted in the brand's own forum",
    "+31852304005": "odido-support-nl.github.io: free hosting",
    "+31852302001": "nordbank-helpdesk.nl: a 'fraudelijn', number in the title, ad",
    "+31852302002": "bankhulp-direct.nl/nordbank: a 'fraudeafdeling', no brand in the domain",
    "+31852302003": "nordbank-inlog-herstel.github.io: 'rekening geblokkeerd'",
    "+31852302004": "mijnbank-hulpcentrum.nl: only in JSON-LD",
    "+3225884411": "postnl-klantenservice.com: Belgian number",
    "+31852303002": "pakket-bezorgservice.nl: only in an image's alt text",
    "+31852303003": "pakkethulp.wixsite.com/postnl-klantenservice: brand only in path and title",
    "+31852303004": "p0stnl-track.com: look-alike domain, ad",
    "+31852301008": "sites.google.com/view/...: a free site under Google's own domain",
    "+31852301010": "bakkerij-devries.nl/wp-content/...: a page planted on a hacked site",
    "+31852304006": "hulplijn-direct.nl/odido-storing: the brand only in one sentence",
    "+31852304007": "storinghulp-nederland.nl/odido: 'niet gelieerd aan Odido' disclaimer",
    "+31687654321": "snelbankieren-hulp.nl: only as a WhatsApp link",
    "+18552303005": "postnl-support-center.com: an English page, US toll-free number",
    "+31852303009": "pakketservice-online.nl: only in the ad's call extension, not on the page",
    "+31852304009": "snelservice24.nl: a page for every provider, behind an Odido ad",
    "+31852303011": "mijnpakket-status.nl: a tracking look-alike, 085.230.30.11 in a tel: link",
    "+31852302012": "nordbank.klantenservice-online.com: the brand as a subdomain",
    "+31852304010": "ervaringen-klantenservice.nl/odido: a 'review' that tips a faster line",
    "+31852302005": "bankzaken-hulp.nl: quotes the official number, then 'bel onze servicedesk'",
}
LEGIT_THIRD_PARTY = {
    "+31334567890": "laptopdokter-amersfoort.nl: repair shop that names Norton",
    "+31886402200": "softwarekeys-outlet.nl: reseller of Norton licences, also in an ad",
    "+31623456789": "computerhulp-zwolle.nl/norton: computer help at home, mobile number",
    "+31502115480": "simvergelijker.nl/odido: comparison site, also in an ad",
    "+31104382200": "odido-shop-hoogvliet.nl: franchise store, brand in the domain",
    "+31205622000": "dagblad-vandaag.nl: the newsroom's tip line under a warning article",
    "+31704454000": "consumentenbond.nl: member service under a warning (not a known party)",
    "+319008840": "politie.nl: the police's premium number under a warning",
    "+31887867372": "fraudehelpdesk.nl: the Fraudehelpdesk (a known third party)",
    "+31318642100": "hypotheekhuis-deboer.nl: mortgage adviser that names the bank",
    "+31251654321": "primera-castricum.nl: a shop with a PostNL point",
    "+31345612345": "tuinmeubelen-outlet.nl: webshop that ships with PostNL",
    "+31880552000": "pakketvergelijker.nl: DHL's number on a directory",
    "+319001122": "pakketvergelijker.nl: GLS's premium number on a directory",
    "+31513412345": "forum.computerclub.nl: a repair shop a forum user recommends",
    "+31208114400": "allestoringen-nu.nl/storing/odido: outage monitor's advertising line",
    "+31852309900": "fietsonderdelen-shop.nl: webshop's 085 number in a sentence naming PostNL",
    "+31302861800": "bibliotheekutrecht.nl: a library's desk under a course on safe banking",
    "+31534801234": "ict-helpdesk-twente.nl: an IT company whose title says helpdesk and Norton",
}
# Official numbers the brands file does not list (yet): legitimate, never above a scam.
OFFICIAL_UNLISTED = {
    "+31207949410": "norton.com: sales line",
    "+318007113": "odido.nl and a directory: business customers",
    "+31624001200": "odido.nl and a directory: from abroad, a mobile number",
    "+31204517711": "nordbank.nl: business service centre",
    "+31204517799": "nordbank.nl/veiligheid: the card blocking line",
}
OFFICIAL = {
    "+31204517700": "Nordbank, as 0031 (0)20-451 77 00",
    "+318007112": "Odido, as 0800&#8209;7112",
    "+31207949400": "Norton, as 020 – 794 94 00",
    "+31888686868": "PostNL, as 088 - 868 68 68",
}
LEGIT = {**LEGIT_THIRD_PARTY, **OFFICIAL_UNLISTED}


def serpwatch(*args, env=None):
    exe = Path(sys.executable).with_name("serpwatch")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("simweb")
    db = str(tmp / "sim.db")
    with SimWeb() as web:
        profile = (SIMWEB / "profile.toml").read_text()
        profile = profile.replace("http://127.0.0.1:8080/search", web.search_url)
        profile = profile.replace('brands = "brands.toml"', f'brands = "{SIMWEB}/brands.toml"')
        (tmp / "p.toml").write_text(profile)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["http_proxy"] = web.proxy_url
        proc = serpwatch(
            "crawl",
            str(tmp / "p.toml"),
            "--db",
            db,
            "-s",
            "SERPWATCH_ENGINE_DELAY=0",
            "-s",
            "AUTOTHROTTLE_START_DELAY=0",
            "-s",
            "LOG_LEVEL=WARNING",
            env=env,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    exp = serpwatch("export", "--format", "jsonl", "--db", db)
    assert exp.returncode == 0, exp.stderr
    records = [json.loads(line) for line in exp.stdout.splitlines()]
    with sqlite3.connect(db) as conn:
        seen = {p for (p,) in conn.execute("select distinct phone from sightings")}
    return records, seen


def best(records) -> dict[str, dict]:
    """The highest-scoring record of each flagged number."""
    out: dict[str, dict] = {}
    for r in records:
        if r["phone"] not in out or r["score"] > out[r["phone"]]["score"]:
            out[r["phone"]] = r
    return out


def table(records) -> str:
    """Every flagged number's best score, label and reasons: printed when a check fails."""
    label = {
        **{p: "SCAM" for p in SCAM},
        **{p: "legit" for p in LEGIT_THIRD_PARTY},
        **{p: "unlisted" for p in OFFICIAL_UNLISTED},
    }
    rows = sorted(best(records).values(), key=lambda r: -r["score"])
    return "\n" + "\n".join(
        f"{r['score']:3d} {r['risk']:6s} {label.get(r['phone'], '?'):8s} {r['phone']:15s}"
        f" {r['domain']}: {'; '.join(r['reasons'])}"
        for r in rows
    )


def test_every_number_on_the_web_is_labelled(crawl):
    _, seen = crawl
    labelled = set(SCAM) | set(LEGIT) | set(OFFICIAL)
    assert seen == labelled, (sorted(seen - labelled), sorted(labelled - seen))


def test_every_scam_number_is_flagged(crawl):
    records, _ = crawl
    flagged = {r["phone"] for r in records}
    assert not set(SCAM) - flagged, table(records)


def test_no_official_number_is_flagged(crawl):
    records, _ = crawl
    assert not {r["phone"] for r in records} & set(OFFICIAL)


def test_every_scam_number_ranks_above_every_legit_number(crawl):
    records, _ = crawl
    top = best(records)
    lowest_scam = min(top[p]["score"] for p in SCAM)
    highest_legit = max(top[p]["score"] for p in LEGIT if p in top)
    assert lowest_scam > highest_legit, table(records)


def test_scam_numbers_are_at_least_medium_risk(crawl):
    records, _ = crawl
    top = best(records)
    assert all(top[p]["risk"] in ("medium", "high") for p in SCAM), table(records)


def test_high_risk_means_scam(crawl):
    records, _ = crawl
    high = {r["phone"] for r in records if r["risk"] == "high"}
    assert high <= set(SCAM), table(records)
    assert len(high) >= len(SCAM) // 2, table(records)  # and most scams are high


def test_a_margin_between_the_weakest_scam_and_the_strongest_legit_number(crawl):
    """Not just ranked: a web the scorer has not seen will shift scores a little."""
    records, _ = crawl
    top = best(records)
    lowest_scam = min(top[p]["score"] for p in SCAM)
    highest_legit = max(top[p]["score"] for p in LEGIT if p in top)
    assert lowest_scam - highest_legit >= 10, table(records)
