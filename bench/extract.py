"""Bench phone extraction: serpwatch's extractor against the naive baseline.

The baseline is what most scrapers do: BeautifulSoup(html, "lxml").get_text()
and phonenumbers.PhoneNumberMatcher at Leniency.VALID over the whole text.
Both run over the same project-made corpus (bench/corpus.py: >= 200 pages of
30-300 KB with labelled numbers and traps); one run prints pages/s and MB/s of
both, the speed ratio, recall and false positives of both, and the time the
candidate HTML parsers take to parse a page and give its text.

    python bench/extract.py            # 200 pages
    python bench/extract.py -n 400 --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import phonenumbers  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from corpus import Page, make_corpus  # noqa: E402
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher  # noqa: E402

from crawler.phones import extract_phones  # noqa: E402


def baseline(html: bytes, region: str = "NL") -> set[str]:
    text = BeautifulSoup(html, "lxml").get_text()
    return {
        phonenumbers.format_number(m.number, PhoneNumberFormat.E164)
        for m in PhoneNumberMatcher(text, region, Leniency.VALID)
    }


def serpwatch(html: bytes, region: str = "NL") -> set[str]:
    return {hit.phone for hit in extract_phones(html, region=region)}


def run(extractors: dict, pages: list[Page], bodies: list[bytes], repeat: int) -> list[dict]:
    """Time each extractor over the whole corpus, in turn, ``repeat`` rounds; the
    best round counts (a busy machine only ever slows a round down)."""
    for fn in extractors.values():
        for body in bodies[:10]:  # warm up: phonenumbers loads metadata on first use
            fn(body)
    best = dict.fromkeys(extractors, float("inf"))
    found: dict[str, list[set[str]]] = {}
    for _ in range(repeat):
        for name, fn in extractors.items():
            gc.collect()
            start = time.perf_counter()
            found[name] = [fn(body) for body in bodies]
            best[name] = min(best[name], time.perf_counter() - start)
    expected = sum(len(p.phones) for p in pages)
    megabytes = sum(map(len, bodies)) / 1e6
    results = []
    for name in extractors:
        pairs = list(zip(found[name], pages, strict=True))
        hits = sum(len(f & p.phones) for f, p in pairs)
        results.append(
            {
                "name": name,
                "seconds": best[name],
                "pages_s": len(pages) / best[name],
                "mb_s": megabytes / best[name],
                "recall": hits / expected,
                "hits": hits,
                "expected": expected,
                "false": [(p.name, n) for f, p in pairs for n in sorted(f - p.phones)],
            }
        )
    return results


def parsers(bodies: list[bytes]) -> list[tuple[str, float]]:
    """Seconds per page to parse and get the visible text, per HTML parser."""
    import lxml.html
    from selectolax.lexbor import LexborHTMLParser

    def lexbor(body: bytes) -> str:
        tree = LexborHTMLParser(body)
        for node in tree.css("script, style"):
            node.decompose()
        return tree.body.text(separator="\x1f")

    def lxml_html(body: bytes) -> str:
        root = lxml.html.document_fromstring(body)
        for node in root.xpath("//script|//style"):
            node.drop_tree()
        return "\x1f".join(root.body.itertext())

    def bs4_lxml(body: bytes) -> str:
        soup = BeautifulSoup(body, "lxml")
        for node in soup(["script", "style"]):
            node.decompose()
        return soup.body.get_text("\x1f")

    def bs4_html_parser(body: bytes) -> str:
        soup = BeautifulSoup(body, "html.parser")
        for node in soup(["script", "style"]):
            node.decompose()
        return soup.body.get_text("\x1f")

    out = []
    for name, fn in [
        ("selectolax lexbor", lexbor),
        ("lxml.html", lxml_html),
        ("bs4 + lxml", bs4_lxml),
        ("bs4 + html.parser", bs4_html_parser),
    ]:
        start = time.perf_counter()
        for body in bodies:
            fn(body)
        out.append((name, (time.perf_counter() - start) / len(bodies)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="pages in the corpus (default 200)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2, help="best of N timed rounds (2)")
    parser.add_argument("--show-false", action="store_true", help="list every false positive")
    args = parser.parse_args()

    pages = make_corpus(args.n, args.seed)
    bodies = [p.html.encode() for p in pages]
    sizes = sorted(map(len, bodies))
    megabytes = sum(sizes) / 1e6
    print(
        f"corpus: {len(pages)} pages, {megabytes:.1f} MB "
        f"({sizes[0] / 1e3:.0f}-{sizes[-1] / 1e3:.0f} KB), "
        f"{sum(len(p.phones) for p in pages)} labelled numbers, "
        f"{sum(len(p.traps) for p in pages)} traps"
    )
    ours, base = run({"serpwatch": serpwatch, "baseline": baseline}, pages, bodies, args.repeat)
    print(f"{'':10} {'pages/s':>9} {'MB/s':>7} {'recall':>14} {'false pos.':>10}")
    for r in (ours, base):
        print(
            f"{r['name']:10} {r['pages_s']:9.1f} {r['mb_s']:7.2f} "
            f"{r['recall']:7.1%} ({r['hits']}/{r['expected']}) {len(r['false']):10d}"
        )
    print(f"speed ratio (pages/s serpwatch / baseline): {ours['pages_s'] / base['pages_s']:.1f}x")
    fax_right = fax_total = 0
    for page, body in zip(pages, bodies, strict=True):
        for hit in extract_phones(body, region="NL"):
            if hit.phone in page.phones:
                fax_total += 1
                fax_right += hit.is_fax == (hit.phone in page.fax)
    print(f"serpwatch is_fax right on {fax_right}/{fax_total} numbers found")
    print("HTML parse + visible text, ms per page:")
    timings = parsers(bodies)
    fastest = min(t for _, t in timings)
    for name, seconds in timings:
        print(f"  {name:18} {seconds * 1e3:7.2f} ms  ({seconds / fastest:4.1f}x the fastest)")
    for r in (ours, base):
        if r["false"] and (args.show_false or r is ours):
            print(f"{r['name']} false positives:")
            for name, number in r["false"][: None if args.show_false else 20]:
                print(f"  {name} {number}")
    ok = ours["recall"] >= base["recall"] and not ours["false"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
