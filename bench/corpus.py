"""Make the phone-extraction bench corpus: realistic pages with labelled numbers and traps.

Every page is made from a seed, so the corpus is the same on every machine and
is made at bench time, never committed. A page carries the numbers a reader
sees (in text, links, attributes, JSON-LD, microdata; some as fax) written
with the tricks scam pages use, and traps that look like numbers but are not
(IBAN, KvK, BTW, EAN, dates, times, prices, postcodes, order, invoice and
tracking numbers, versions), among navigation, product lists, tables, scripts
and styles, 30-300 KB in all.

    python bench/corpus.py --out /tmp/phones-corpus   # write the pages to look at
"""

from __future__ import annotations

import argparse
import html
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

WORDS = (
    "de het een en van in op met voor aan niet is dat bij ook als dan om maar nog "
    "klantenservice helpdesk storing computer laptop wachtwoord account inloggen "
    "problemen oplossen snel deskundig hulp bellen contact vragen antwoord software "
    "installatie printer netwerk wifi router e-mail outlook windows update virus "
    "beveiliging medewerker direct vandaag gratis advies bereikbaar werkdagen "
    "weekend monteur afspraak service kosten minuut tarief abonnement levering "
    "bestelling retour garantie onderdelen reparatie scherm batterij toetsenbord"
).split()

# Numbers a page may show: (kind, national digits without trunk prefix, region)
_NL_PREFIXES = ["20", "10", "30", "70", "40", "50", "13", "23", "24", "26", "33", "35", "43"]


def _valid(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


def random_number(rng: random.Random) -> str:
    """A valid E.164 number of a kind that turns up on helpdesk scam pages."""
    while True:
        kind = rng.choices(
            ["geo", "mobile", "free", "premium", "nongeo", "us-free", "gb", "be", "de"],
            weights=[30, 20, 12, 10, 10, 8, 4, 3, 3],
        )[0]
        if kind == "geo":
            area = rng.choice(_NL_PREFIXES)
            e164 = "+31" + area + str(rng.randint(2, 9)) + _digits(rng, 8 - len(area))
        elif kind == "mobile":
            e164 = "+316" + rng.choice("12345") + _digits(rng, 7)
        elif kind == "free":
            e164 = "+31800" + _digits(rng, rng.choice([4, 7]))
        elif kind == "premium":
            e164 = "+31" + rng.choice(["900", "906", "909"]) + _digits(rng, rng.choice([4, 7]))
        elif kind == "nongeo":
            e164 = "+31" + rng.choice(["85", "88", "84", "87"]) + str(rng.randint(2, 9))
            e164 += _digits(rng, 6)
        elif kind == "us-free":
            e164 = "+1" + rng.choice(["800", "833", "844", "855", "866", "877", "888"])
            e164 += str(rng.randint(2, 9)) + _digits(rng, 6)
        elif kind == "gb":
            e164 = "+4420" + rng.choice("378") + _digits(rng, 7)
        elif kind == "be":
            e164 = "+322" + str(rng.randint(2, 9)) + _digits(rng, 6)
        else:
            e164 = "+4930" + str(rng.randint(2, 9)) + _digits(rng, 7)
        if _valid(e164):
            return e164


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


# ---------------------------------------------------------------------------
# How a number is written


def national(e164: str) -> str:
    num = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)


def international(e164: str) -> str:
    num = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def written(e164: str, style: str, rng: random.Random) -> str:
    """The number as HTML, in one of the ways pages (and scammers) write it."""
    nat = national(e164) if e164.startswith("+31") else international(e164)
    digits = "".join(ch for ch in nat if ch.isdigit())
    if style == "plain":
        return html.escape(nat)
    if style == "intl":
        return html.escape(international(e164))
    if style == "dots":
        return ".".join(nat.replace("-", " ").split())
    if style == "dashes":
        return "-".join(nat.replace("-", " ").split())
    if style == "slash" and e164.startswith("+31"):
        parts = nat.replace("-", " ").split()
        return parts[0] + "/" + "".join(parts[1:])
    if style == "trunk0" and e164.startswith("+31"):
        return "+31 (0)" + nat[1:].replace("-", " ")
    if style == "idd" and e164.startswith("+31"):
        return "0031 " + nat[1:].replace("-", " ")
    if style == "spans":
        cut = sorted(rng.sample(range(1, len(nat)), 2))
        pieces = [nat[: cut[0]], nat[cut[0] : cut[1]], nat[cut[1] :]]
        return "".join(f"<span class='n{i}'>{html.escape(p)}</span>" for i, p in enumerate(pieces))
    if style == "entities":
        return "".join(f"&#{ord(ch)};" if ch.isdigit() else html.escape(ch) for ch in nat)
    if style == "zwsp":
        return "&#8203;".join(nat)
    if style == "fullwidth":
        return "".join(chr(0xFF10 + int(ch)) if ch.isdigit() else ch for ch in nat)
    if style == "nbsp":
        return nat.replace(" ", "&nbsp;")
    if style == "decoy" and len(digits) > 6:
        # a hidden digit between the visible ones
        at = rng.randint(3, len(nat) - 2)
        return f"{nat[:at]}<span style='display:none'>{rng.randint(0, 9)}</span>{nat[at:]}"
    return html.escape(nat)


STYLES = [
    "plain",
    "plain",
    "intl",
    "dots",
    "dashes",
    "slash",
    "trunk0",
    "idd",
    "spans",
    "entities",
    "zwsp",
    "fullwidth",
    "nbsp",
    "decoy",
]

# ---------------------------------------------------------------------------
# Traps: things that look like numbers and are not


def _iban(rng: random.Random) -> str:
    bank = rng.choice(["ABNA", "INGB", "RABO", "SNSB", "TRIO", "KNAB"])
    account = rng.choice(["0", "06", "01", "02"]) + _digits(rng, 10)
    account = account[:10]
    spaced = " ".join(account[i : i + 4] for i in range(0, 10, 4))
    return f"NL{rng.randint(10, 99)} {bank} {spaced}"


def _ean(rng: random.Random) -> str:
    body = rng.choice(["87", "871", "0"]) + _digits(rng, 12)
    body = body[:12]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def trap(rng: random.Random) -> str:
    """One trap sentence, HTML."""
    kind = rng.randrange(16)
    if kind == 0:
        return f"IBAN: {_iban(rng)}"
    if kind == 1:
        return f"Rekeningnummer {_iban(rng)} t.n.v. Stichting Hulp"
    if kind == 2:
        return f"KvK {rng.choice(['0900', '0800', '3', '6', '0'])}{_digits(rng, 4)}"[:12]
    if kind == 3:
        return f"BTW-nummer NL{_digits(rng, 9)}B0{rng.randint(1, 9)}"
    if kind == 4:
        return f"EAN: {_ean(rng)}"
    if kind == 5:
        day, month = rng.randint(1, 28), rng.randint(1, 12)
        hour, minute = rng.randint(8, 20), rng.choice([0, 15, 30, 45])
        return f"Geplaatst op {day:02d}-{month:02d}-20{rng.randint(10, 25)} {hour:02d}:{minute:02d}"
    if kind == 6:
        sep = rng.choice([":", "."])  # 09.00 - 17.00 reads as 0900 1700 to a naive matcher
        return f"Open van {rng.randint(8, 10):02d}{sep}00 - {rng.randint(17, 22)}{sep}00 uur"
    if kind == 7:
        return f"Prijs: &euro; {rng.randint(1, 9)}.{_digits(rng, 3)},{_digits(rng, 2)}"
    if kind == 8:
        return f"Postbus {rng.randint(100, 99999)}, {rng.randint(1000, 9999)} AB Amsterdam"
    if kind == 9:
        return f"Ordernummer: 0{rng.choice('123456789')}{_digits(rng, 8)}"
    if kind == 10:
        return f"Factuurnummer 20{rng.randint(10, 25)}-06{_digits(rng, 8)}"
    if kind == 11:
        major, minor = rng.randint(1, 12), rng.randint(0, 9)
        return f"Versie {major}.{minor}.{_digits(rng, 5)}.{_digits(rng, 4)}"
    if kind == 12:
        return f"Track &amp; trace: 3S{''.join(rng.choices('ABCDEFGHJK', k=4))}0{_digits(rng, 9)}"
    if kind == 13:
        return f"Uw klantnummer is 0{rng.choice('2356')}{_digits(rng, 8)}"
    if kind == 14:
        return f"Datum: {rng.randint(1, 28)}.{rng.randint(1, 12)}.20{rng.randint(10, 25)}"
    return f"Artikelnummer #{rng.choice(['0', '06', '085'])}{_digits(rng, 7)}"


# ---------------------------------------------------------------------------
# Pages


@dataclass
class Page:
    name: str
    html: str
    phones: set[str] = field(default_factory=set)  # every number a reader can see
    fax: set[str] = field(default_factory=set)
    traps: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.html.encode())


def _sentence(rng: random.Random, n: int | None = None) -> str:
    words = rng.choices(WORDS, k=n or rng.randint(6, 18))
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 6)))


def _script(rng: random.Random, size: int) -> str:
    state = {
        "build": _digits(rng, 12),
        "ts": 1_700_000_000 + rng.randint(0, 10**8),
        "items": [
            {"id": rng.randint(10**6, 10**9), "sku": _digits(rng, 10), "price": rng.randint(1, 999)}
            for _ in range(max(1, size // 80))
        ],
    }
    return f"<script>window.__STATE__ = {json.dumps(state)};</script>"


def _style(rng: random.Random, size: int) -> str:
    rules = []
    while sum(map(len, rules)) < size:
        rules.append(
            f".c{_digits(rng, 4)} {{ margin: {rng.randint(0, 40)}px; color: #{_digits(rng, 6)}; "
            f"font-size: {rng.randint(10, 30)}px; }}"
        )
    return "<style>" + "\n".join(rules) + "</style>"


def _products(rng: random.Random) -> str:
    rows = []
    for _ in range(rng.randint(3, 12)):
        rows.append(
            f"<tr><td>{rng.choice(WORDS).title()} {rng.randint(100, 9999)}</td>"
            f"<td>&euro; {rng.randint(5, 2000)},{_digits(rng, 2)}</td>"
            f"<td>{rng.randint(1, 20)}</td><td>SKU-{_digits(rng, 8)}</td></tr>"
        )
    return "<table class='products'>" + "".join(rows) + "</table>"


def _show(e164: str, rng: random.Random, where: str) -> str:
    """HTML that shows a number; ``where`` picks the source."""
    if where == "text":
        style = rng.choice(STYLES)
        label = rng.choice(["Bel ons:", "Telefoon", "Tel.", "Helpdesk", "Bel direct", "Call", ""])
        return f"<p>{label} <strong>{written(e164, style, rng)}</strong> {_sentence(rng, 5)}</p>"
    if where == "tel":
        return f"<a class='call' href='tel:{e164}'><span>{written(e164, 'plain', rng)}</span></a>"
    if where == "tel-only":
        return f"<a class='btn' href='tel:{e164}'><i class='icon-phone'></i></a>"
    if where == "attr":
        return f"<img src='/img/call.png' alt='Bel {international(e164)}'>"
    if where == "aria":
        return f"<a href='#' aria-label='Bel ons op {international(e164)}'>Bel</a>"
    if where == "microdata":
        return (
            "<div itemscope itemtype='https://schema.org/Organization'>"
            f"<span itemprop='telephone'>{written(e164, 'plain', rng)}</span></div>"
        )
    raise ValueError(where)


def make_page(index: int, seed: int = 4) -> Page:
    rng = random.Random(seed * 100_003 + index)
    target = int(30_000 * (10 ** rng.uniform(0, 1)))  # 30-300 KB, log-uniform
    page = Page(name=f"page-{index:03d}", html="")
    head: list[str] = []
    body: list[str] = []
    contacts = [random_number(rng) for _ in range(rng.randint(1, 5))]
    page.phones.update(contacts)

    title = f"{rng.choice(['Microsoft', 'Apple', 'Ziggo', 'KPN', 'PostNL'])} helpdesk"
    if rng.random() < 0.3:
        title += f" bellen {national(contacts[0])}"
    head.append(f"<title>{title}</title>")
    description = _sentence(rng)
    if rng.random() < 0.3:
        description += f" Bel {national(contacts[-1])}."
    head.append(f"<meta name='description' content='{description}'>")
    head.append(f"<meta property='og:image:width' content='{rng.randint(600, 1200)}'>")
    head.append(_style(rng, rng.randint(2_000, 20_000)))
    head.append(_script(rng, rng.randint(1_000, 20_000)))
    if rng.random() < 0.4:
        ld = {"@context": "https://schema.org", "@type": "LocalBusiness", "name": title}
        ld["telephone"] = international(rng.choice(contacts))
        if rng.random() < 0.5:
            fax = random_number(rng)
            ld["faxNumber"] = international(fax)
            page.fax.add(fax)
            page.phones.add(fax)
        head.append(f"<script type='application/ld+json'>{json.dumps(ld)}</script>")

    body.append(
        "<nav><ul>"
        + "".join(f"<li><a href='/{w}'>{w.title()}</a></li>" for w in rng.sample(WORDS, 8))
        + "</ul></nav>"
    )
    wheres = ["text", "text", "text", "tel", "tel-only", "attr", "aria", "microdata"]
    shown = [(e164, rng.choice(wheres)) for e164 in contacts]
    if rng.random() < 0.3:
        # a tel: link that dials another number than the one shown
        other = random_number(rng)
        page.phones.add(other)
        body.append(f"<p>Bel <a href='tel:{other}'>{written(contacts[0], 'plain', rng)}</a></p>")
    if rng.random() < 0.3:
        fax = random_number(rng)
        if fax.startswith("+31"):
            page.fax.add(fax)
            page.phones.add(fax)
            body.append(f"<p>T: {national(contacts[0])} F: {national(fax)}</p>")

    traps = [trap(rng) for _ in range(rng.randint(4, 12))]
    page.traps = traps
    blocks = [f"<p>{t}</p>" for t in traps] + [_show(e, rng, w) for e, w in shown]
    filler: list[str] = []
    size = sum(map(len, head)) + sum(map(len, blocks)) + 2_000
    while size < target:
        choice = rng.random()
        if choice < 0.7:
            block = f"<p>{_paragraph(rng)}</p>"
        elif choice < 0.85:
            block = _products(rng)
        else:
            block = f"<h2>{_sentence(rng, 4)}</h2>"
        filler.append(block)
        size += len(block)
    for block in blocks:
        filler.insert(rng.randint(0, len(filler)), block)
    body.extend(filler)
    body.append(
        f"<footer><p>&copy; 20{rng.randint(15, 25)} Helpdesk B.V. | {trap(rng)} | "
        f"{trap(rng)}</p></footer>"
    )
    page.html = (
        "<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>"
        + "\n".join(head)
        + "</head><body>\n"
        + "\n".join(body)
        + "\n</body></html>"
    )
    return page


def make_corpus(n: int = 200, seed: int = 4) -> list[Page]:
    return [make_page(i, seed) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write pages to")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    labels = {}
    for page in make_corpus(args.n, args.seed):
        (args.out / f"{page.name}.html").write_text(page.html, encoding="utf-8")
        labels[page.name] = {"phones": sorted(page.phones), "fax": sorted(page.fax)}
    (args.out / "labels.json").write_text(json.dumps(labels, indent=1))
    print(f"wrote {len(labels)} pages to {args.out}")


if __name__ == "__main__":
    main()
