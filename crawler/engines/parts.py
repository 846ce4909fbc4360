"""The parts every HTML engine parser is made of (issue 12 step 7): reading the
page, walking up from a node, a result from its node and link, numbering, the
ads' call cards and the page's ending. `crawler.engines.common` holds the
helpers below them (text, URLs, click decoding, phones). Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from selectolax.lexbor import LexborHTMLParser, LexborNode
from w3lib.url import add_or_replace_parameters

from crawler.engines.base import SerpPage, SerpResult, settle
from crawler.engines.common import (
    BLOCK_STATUSES,
    ad_target,
    advertiser,
    call_card,
    contains_any,
    decode_body,
    find_phones,
    html_tree,
    load_json,
    query_param,
    tel_links,
    text_of,
    unwrap_url,
)

_TOP = ("body", "html")


def read_page(body: bytes | str) -> tuple[str, LexborHTMLParser]:
    """The page's text in lower case (for markers) and its tree."""
    text = decode_body(body)
    return text.lower(), html_tree(text)


def ancestor(node: LexborNode, test: Callable[[LexborNode], bool], *, self_too: bool = False):
    """The nearest ancestor (or the node itself, with `self_too`) below ``body``
    that passes `test`; None when there is none."""
    parent = node if self_too else node.parent
    while parent is not None and parent.tag not in _TOP:
        if test(parent):
            return parent
        parent = parent.parent
    return None


def classes(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


def inside(node: LexborNode, container: LexborNode) -> bool:
    """True when `node` is `container` or sits inside it."""
    parent = node
    while parent is not None:
        if parent.mem_id == container.mem_id:
            return True
        parent = parent.parent
    return False


def int_param(url: str, name: str, default: int = 0) -> int:
    """A whole-number query parameter of the page URL (a page offset), else `default`."""
    try:
        return int(query_param(url, name) or default)
    except ValueError:
        return default


def organic(node: LexborNode, link: LexborNode, page_url: str, region: str, **shown) -> SerpResult:
    """An organic result: its link's text and target, the numbers the whole node
    shows (and its tel: links); `shown` gives display_url, snippet, title, rank."""
    href = link.attributes.get("href") or ""
    shown.setdefault("title", text_of(link))
    return SerpResult(
        is_ad=False,
        url=href,
        landing_url=unwrap_url(href, page_url),
        phones=find_phones(text_of(node), region, tel_links(node)),
        **shown,
    )


def make_ad(result: SerpResult, node: LexborNode, page_url: str, position: int, names=()) -> None:
    """Make `result` an ad at `position`: its landing decoded from the click URL
    without clicking (else its display URL), and what it says of its advertiser."""
    result.is_ad, result.kind, result.ad_position, result.rank = True, "ad", position, None
    result.landing_url, result.landing_from, result.click_url = ad_target(
        result.url, page_url, result.display_url
    )
    for name, value in advertiser(node, page_url, names).items():
        setattr(result, name, value)


def number(results: Iterable[SerpResult], rank: int, ads: int = 0) -> int:
    """Number results in order: ads by `ad_position` after the `ads` before them,
    organic results by `rank` after `rank`. Returns the last rank."""
    for result in results:
        if result.is_ad:
            ads += 1
            result.ad_position = ads
        else:
            rank += 1
            result.rank = rank
    return rank


def next_page(results, tree, url: str, selector: str, name: str, value: int) -> str | None:
    """This URL with ``name=value`` when the page shows a next-page control
    (`selector`) and organic results (a page of ads only ends the query)."""
    if any(not r.is_ad for r in results) and tree.css_first(selector) is not None:
        return add_or_replace_parameters(url, {name: str(value)})
    return None


def add_call_cards(page: SerpPage, ads: Iterable[tuple[LexborNode, SerpResult]], region) -> None:
    """The ads' call extensions, after the page's other cards."""
    for unit, ad in ads:
        found = call_card(unit, ad, len(page.listings) + 1, region)
        if found is not None:
            page.listings.append(found)


def finish(
    page: SerpPage,
    tree: LexborHTMLParser,
    lower: str,
    *,
    blocked: Callable[[], str | None],
    found: str,
    no_results_css: str = "",
    no_results_text: tuple[str, ...] = (),
    css_named: str | None = None,
) -> SerpPage:
    """The end of a parser: a page without results is asked why (`blocked`),
    then `settle` tells "no results" (the engine's own CSS or text marker) from
    an unrecognised page, naming the `found` markers it missed."""
    if not page.results:
        page.blocked = blocked()
    shown = bool(no_results_css) and tree.css_first(no_results_css) is not None
    named = ", ".join(map(repr, no_results_text))
    css_named = no_results_css if css_named is None else css_named  # as the message names it
    return settle(
        page,
        found_markers=found,
        no_results=shown or bool(contains_any(lower, no_results_text)),
        no_results_markers=f"{css_named}, {named}" if css_named else named,
    )


def status_block(reason: str | None, status: int) -> str | None:
    """An engine's own block reason, else "HTTP N without results" for a block status
    (403, 429; any other error status is a failed request, not a block)."""
    if reason or status not in BLOCK_STATUSES:
        return reason
    return f"HTTP {status} without results"


def json_answer(
    body: bytes, status: int, kind: str, hint: str = ""
) -> tuple[dict, SerpPage | None]:
    """A JSON search API's answer as a dict, or the page that says why there is
    none: HTTP 429 is a rate limit, anything but a JSON object is no answer
    (`hint` says what to check): a refusal, unless an error status that is no
    block (a wrong URL's 404, a 5xx) says the request failed."""
    if status == 429:
        return {}, SerpPage(results=[], blocked="rate limited (HTTP 429)", engine=kind)
    data = load_json(decode_body(body))
    if not isinstance(data, dict):
        why = f"HTTP {status}, not a JSON answer{hint}"
        if status >= 400 and status not in BLOCK_STATUSES:
            return {}, SerpPage(results=[], unrecognised=why, engine=kind)
        return {}, SerpPage(results=[], blocked=why, engine=kind)
    return data, None
