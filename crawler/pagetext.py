"""Title and visible text of a page, for the scoring signals."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

MAX_TEXT = 200_000  # signals sit near the top; a 10 MB page need not be read whole


def title_and_text(html: str) -> tuple[str, str]:
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    body = tree.body or tree.root
    text = body.text(separator=" ", strip=True) if body else ""
    return title, text[:MAX_TEXT]
