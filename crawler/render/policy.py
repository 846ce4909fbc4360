"""When a page is rendered in the browser: the written policy, as pure functions.

`render_reason(page, mode)` says why a landing page should be rendered, or
None; `serp_reason(has_ads, mode)` the same for a result page. The mode is
the profile's `render` (or SERPWATCH_RENDER): `never`, `auto` or `always`.

With `auto` (docs/RENDERING.md has the table), a landing page is rendered when:

1. it is flagged at medium risk or above after static reading: for the
   screenshot that goes with the report;
2. its static text shows no phone number, but its scripts, canvases, images
   or `<noscript>` suggest one is drawn there (`hidden_number_hints`);
3. it carries locker or cloaking markers (fullscreen, beforeunload, alert
   loops, history floods, `navigator.webdriver`, audio autoplay, ...).

A result page is pictured when it showed ads, so the ad is seen as the
engine showed it. With `always`, everything is rendered; with `never`,
nothing. `RenderBudget` then caps pages, browser seconds and pages at once per
run, and keeps a list of what it cut.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

MODES = ("auto", "always", "never")
RISK_ORDER = {"low": 1, "medium": 2, "high": 3}

# Words around a phone number, as a page that draws its number would say them.
_CALL_WORDS = re.compile(
    r"\b(bel|bellen|belt|telefoon\w*|tel\.?|call|phone|helpdesk|klantenservice|support|"
    r"hotline|gratis|toll[- ]?free|nummer|number)\b",
    re.I,
)
# A script that writes into the page or builds text from pieces.
_SCRIPT_WRITES = re.compile(
    r"document\.write|innerHTML|innerText|textContent|insertAdjacentHTML|createTextNode|"
    r"String\.fromCharCode|atob\(|\.join\(|\.reverse\(|fillText|strokeText|unescape\(|"
    r"decodeURIComponent\(",
    re.I,
)
_DIGITS_IN_SCRIPT = re.compile(r"['\"][\d\s().+-]{2,}['\"]")
_IMAGE_NAMES = re.compile(
    r"<img[^>]+(src|alt|title)=[\"'][^\"']*(tel|phone|bel|call|nummer|number|contact|"
    r"support|helpdesk|hotline)",
    re.I,
)
# (name, pattern, strong): one strong marker is enough; weak ones (common on
# ordinary sites too: single-page apps push history, analytics read webdriver)
# count from two.
LOCKER_MARKERS = (
    (
        "fullscreen",
        re.compile(r"requestFullscreen|webkitRequestFull[Ss]creen|mozRequestFull"),
        True,
    ),
    ("keyboard lock", re.compile(r"keyboard\.lock\("), True),
    ("pointer lock", re.compile(r"requestPointerLock"), True),
    ("beforeunload", re.compile(r"onbeforeunload|[\"']beforeunload[\"']", re.I), True),
    (
        "alert loop",
        re.compile(r"(while\s*\(\s*(true|1|!0)\s*\)|setInterval)[^;]{0,200}alert\("),
        True,
    ),
    ("history flood", re.compile(r"history\.pushState"), False),
    ("webdriver probe", re.compile(r"navigator\.webdriver|navigator\[[\"']webdriver"), True),
    ("automation words", re.compile(r"\b(webdriver|selenium|puppeteer|playwright)\b", re.I), False),
    ("audio autoplay", re.compile(r"<audio[^>]*\bautoplay|\.play\(\)", re.I), False),
    ("headless probe", re.compile(r"HeadlessChrome|navigator\.plugins\.length|callPhantom"), False),
)


@dataclass
class PageView:
    """What the policy needs to know about a statically read landing page."""

    html: str
    risk: str | None = None  # the highest risk of its flagged numbers
    numbers: int = 0  # numbers read statically (not counting ones only in the result)


def locker_markers(html: str) -> list[str]:
    """Names of the locker and cloaking markers in a page's source."""
    raw = html[:2_000_000]
    found = [(name, strong) for name, rx, strong in LOCKER_MARKERS if rx.search(raw)]
    if any(strong for _, strong in found) or len(found) >= 2:
        return [name for name, _ in found]
    return []


def hidden_number_hints(html: str) -> list[str]:
    """Why a page without a readable number may draw one: scripts, canvas, images, noscript."""
    raw = html[:2_000_000]
    hints = []
    scripts = " ".join(re.findall(r"<script[^>]*>(.*?)</script>", raw, re.I | re.S))
    if (
        scripts
        and _SCRIPT_WRITES.search(scripts)
        and (_CALL_WORDS.search(scripts) or _DIGITS_IN_SCRIPT.search(scripts))
    ):
        hints.append("a script writes text into the page")
    if re.search(r"<canvas\b", raw, re.I):
        hints.append("a canvas")
    if _IMAGE_NAMES.search(raw):
        hints.append("an image named like a phone number")
    noscript = " ".join(re.findall(r"<noscript[^>]*>(.*?)</noscript>", raw, re.I | re.S))
    if noscript and _CALL_WORDS.search(noscript):
        hints.append("<noscript> speaks of calling")
    if not hints and _CALL_WORDS.search(re.sub(r"<[^>]+>", " ", raw)) and "<script" in raw:
        hints.append("call words, no number, and scripts")
    return hints


def render_reason(page: PageView, mode: str = "auto", min_risk: str = "medium") -> str | None:
    """Why this landing page is rendered, or None (see the module's docstring).

    `min_risk` (SERPWATCH_RENDER_MIN_RISK) is the lowest risk pictured for the
    evidence: medium by default, low in the demo (every flagged page).
    """
    if mode == "never":
        return None
    if mode == "always":
        return "render = always"
    if page.risk and RISK_ORDER.get(page.risk, 0) >= RISK_ORDER.get(min_risk, 2):
        return f"flagged {page.risk}: screenshot for the evidence"
    markers = locker_markers(page.html)
    if markers:
        return "locker or cloaking markers: " + ", ".join(markers)
    if page.numbers == 0:
        hints = hidden_number_hints(page.html)
        if hints:
            return "no number in the text, but " + ", ".join(hints)
    return None


def serp_reason(has_ads: bool, mode: str = "auto") -> str | None:
    """Why a result page is pictured, or None."""
    if mode == "never":
        return None
    if mode == "always":
        return "render = always"
    return "the result page showed ads" if has_ads else None


@dataclass
class RenderBudget:
    """Per-run caps on rendering, and the list of what they cut."""

    max_pages: int = 50
    max_seconds: float = 600.0  # browser time, summed over pages
    concurrency: int = 2
    page_seconds: float = 20.0  # one page, navigation to pictures
    used_pages: int = 0
    used_seconds: float = 0.0
    cut: list[dict] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def admit(self, url: str, reason: str) -> str | None:
        """None when the page may be rendered (and counts it); else why it may not."""
        why = self.refusal(self.used_pages, self.used_seconds)
        if why is None:
            self.used_pages += 1
            return None
        return self.refuse(url, reason, why)

    def refusal(self, pages: int, seconds: float) -> str | None:
        """Why no more page may be rendered after `pages` and `seconds`; None if it may."""
        if pages >= self.max_pages:
            return f"page budget spent ({self.max_pages} renders, SERPWATCH_RENDER_MAX_PAGES)"
        if seconds >= self.max_seconds:
            return (
                f"time budget spent ({seconds:.0f} of {self.max_seconds:.0f} s,"
                " SERPWATCH_RENDER_MAX_SECONDS)"
            )
        return None

    def refuse(self, url: str, reason: str, why: str) -> str:
        self.cut.append({"url": url, "reason": reason, "cut": why})
        return why

    def spend(self, seconds: float) -> None:
        self.used_seconds += seconds

    def page_deadline(self) -> float:
        """Seconds the next page may take: its own cap, within what the run has left."""
        return max(1.0, min(self.page_seconds, self.max_seconds - self.used_seconds))

    def hung(self, status: str, deadline: float) -> bool:
        """Whether a render with this outcome and deadline shows the page hanging.

        Only a page cut at its own cap (`page_seconds`) hung. One cut sooner
        because the run's browser time was nearly spent (`page_deadline`
        shrinks to what is left, down to 1 s) shows the budget, not the page:
        calling it a hang would add points that depend on how busy the machine
        was and on which pages came late, so two crawls of the same web (one
        process or several workers, each with its own budget) would disagree.
        """
        return status == "cut" and deadline >= self.page_seconds
