"""Parse time per search engine, on the golden fixtures (and the shared real pages).

For every engine: the fixture cases, their size, and the parser's time per
page, against a baseline measured in the same run on the same bytes: a naive
reader that parses the page with BeautifulSoup (html.parser) and collects its
links, or `json.loads` for the JSON engines. The ratio says how many times the
baseline's time the real parser takes (it does far more: ads, click
decoding, cards, phone extraction, block and layout checks).

    .venv/bin/python bench/engines.py                 # every engine, 20 rounds
    .venv/bin/python bench/engines.py google 50        # one engine, 50 rounds
    SERPWATCH_SHARED_FIXTURES=../shared/fixtures/serp .venv/bin/python bench/engines.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.engines import ENGINES  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "serp"
SHARED_URLS = {
    "bing": "https://www.bing.com/search?q=x",
    "duckduckgo": "https://html.duckduckgo.com/html/?q=x",
    "google": "https://www.google.com/search?q=x&gl=US",
}


def pages(kind: str) -> list[tuple[str, bytes, str, int]]:
    """(name, body, url, status) of every fixture of an engine, and its shared real pages."""
    out = []
    for case in sorted(p.parent for p in (FIXTURES / kind).glob("*/meta.json")):
        body = next(case.glob("page.*")).read_bytes()
        meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
        out.append((case.name, body, meta["url"], int(meta.get("status", 200))))
    shared = os.environ.get("SERPWATCH_SHARED_FIXTURES")
    if shared and kind in SHARED_URLS:
        for page in sorted((Path(shared) / kind).glob("*.html")):
            out.append((f"real:{page.name}", page.read_bytes(), SHARED_URLS[kind], 200))
    return out


def best_of(fn, rounds: int) -> float:
    """The median seconds of `rounds` calls (median: the machine is shared)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def baseline(body: bytes):
    if body.lstrip()[:1] in (b"{", b"["):
        return json.loads(body)
    return [a.get("href") for a in BeautifulSoup(body, "html.parser").find_all("a")]


def main(argv: list[str]) -> int:
    kinds = [a for a in argv if a in ENGINES] or list(ENGINES)
    rounds = next((int(a) for a in argv if a.isdigit()), 20)
    print(
        f"{'engine':<11}{'pages':>6}{'KB':>8}{'parse ms':>10}{'max ms':>9}"
        f"{'baseline ms':>13}{'ratio':>7}"
    )
    for kind in kinds:
        module = ENGINES[kind]
        found = pages(kind)
        ours, theirs, size = [], [], 0
        for _, body, url, status in found:
            size += len(body)
            ours.append(best_of(lambda m=module, b=body, u=url, s=status: m.parse(b, u, s), rounds))
            theirs.append(best_of(lambda b=body: baseline(b), rounds))
        mean_ours = statistics.mean(ours) * 1000
        mean_theirs = statistics.mean(theirs) * 1000
        print(
            f"{kind:<11}{len(found):>6}{size / 1024 / len(found):>8.1f}{mean_ours:>10.2f}"
            f"{max(ours) * 1000:>9.2f}{mean_theirs:>13.2f}{mean_ours / mean_theirs:>7.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
