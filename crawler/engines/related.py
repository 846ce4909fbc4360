"""What a result page offers besides results: related searches, "people also ask".

Victims click what the engine proposes next, and scammers buy ads on those
phrases, so `serpwatch queries suggest` reads them from every result page
crawled (`SerpPage.related`: (kind, text) pairs, kind `related`,
`people_also_ask` or `suggestion`). Pure: a parsed tree or JSON in, texts out.

- Bing: `.b_rs` links (their `q=` parameter), `[data-tag="RelatedQnA.Item"]`
  questions (`data-query`).
- Google: the links (`/search?q=`) of `#bres` and of the block under a
  "Related searches" heading (no-JS pages; also in Dutch, French, German),
  questions from `[data-q]`.
- SearXNG: the JSON answer's `suggestions`.
DuckDuckGo's HTML pages have no such blocks.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from crawler.engines.common import attr, clean, select, text_of

RELATED_HEADINGS = {
    "related searches",
    "people also search for",
    "gerelateerde zoekopdrachten",
    "mensen zoeken ook naar",
    "anderen zochten ook naar",
    "recherches associées",
    "ähnliche suchanfragen",
    "verwandte suchanfragen",
}
MAX_TEXTS = 40  # per page: a page cannot flood the candidates


def _q(href: str) -> str:
    """The query a search link asks (`q=`), or ""."""
    try:
        values = parse_qs(urlsplit(href).query).get("q")
    except ValueError:
        return ""
    return clean(values[0]) if values else ""


def _add(out: list[tuple[str, str]], kind: str, text: str) -> None:
    text = clean(text)
    if text and len(text) <= 200 and (kind, text) not in out and len(out) < MAX_TEXTS:
        out.append((kind, text))


def bing(tree) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for node in select(tree, '[data-tag="RelatedQnA.Item"]'):
        _add(out, "people_also_ask", attr(node, "data-query"))
    for link in select(tree, ".b_rs a[href]"):
        _add(out, "related", _q(attr(link, "href")) or text_of(link))
    return out


def google(tree) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for node in select(tree, "[data-q]"):
        _add(out, "people_also_ask", attr(node, "data-q"))
    blocks = select(tree, "#bres")
    for node in select(tree, "div, span, h2, h3"):
        if clean(node.text(deep=False)).lower() in RELATED_HEADINGS:
            block = node.parent
            while block is not None and not select(block, 'a[href*="/search?"]'):
                block = block.parent
            if block is not None:
                blocks.append(block)
    for block in blocks:
        for link in select(block, 'a[href*="/search?"]'):
            _add(out, "related", _q(attr(link, "href")))
    return out


def searxng(data: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for text in data.get("suggestions") or []:
        if isinstance(text, str):
            _add(out, "suggestion", text)
    return out
