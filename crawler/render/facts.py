"""What a render adds to a page: numbers seen only by the browser, and behaviour facts.

Pure: takes the static hits, the rendered HTML, OCR texts and the behaviour
counts of `crawler.render.page.RenderWork`; knows no browser.

- `rendered_hits`: numbers in the rendered DOM (and its frames) that the
  static page did not show, through the same extractor, source `rendered`.
- `image_hits`: numbers read by OCR that neither showed, source `image`.
- `behaviour_facts`: the locker and cloaking behaviour seen, as short names
  (`BEHAVIOUR_NAMES`), each a scoring signal (crawler.scoring).
- `cloaking`: how the rendered page differs from the static fetch of the
  same URL (other numbers, another title), or None.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field

from crawler.phones import PhoneHit, extract_phones
from crawler.scoring.browser import BEHAVIOURS

# The behaviours, named and described where they are scored.
BEHAVIOUR_NAMES = BEHAVIOURS
DIALOG_LOOP = 3  # dialogs on one page
HISTORY_FLOOD = 10  # pushState/replaceState calls


@dataclass
class RenderFacts:
    """The render's findings for one page, as stored and scored."""

    reason: str = ""
    status: str = ""  # rendered | cut | failed
    detail: str = ""
    behaviours: list[str] = field(default_factory=list)
    cloaking: str | None = None
    rendered_only: list[str] = field(default_factory=list)  # E.164
    image_only: list[str] = field(default_factory=list)


def behaviour_facts(
    counts: dict[str, int],
    dialogs: int = 0,
    downloads: int = 0,
    popups: int = 0,
    left_with_trap: bool = False,
    hung: bool = False,
) -> list[str]:
    """Short names of the behaviours seen (keys of BEHAVIOUR_NAMES), in table order."""
    seen = {
        "fullscreen": counts.get("fullscreen", 0) > 0,
        "keyboard_lock": counts.get("keyboard_lock", 0) > 0,
        "pointer_lock": counts.get("pointer_lock", 0) > 0,
        "beforeunload": counts.get("beforeunload", 0) > 0 or left_with_trap,
        "dialog_loop": max(dialogs, counts.get("dialogs", 0)) >= DIALOG_LOOP
        or counts.get("dialogs_cut", 0) > 0,
        "history_flood": counts.get("history", 0) >= HISTORY_FLOOD
        or counts.get("history_cut", 0) > 0,
        "autoplay": counts.get("autoplay", 0) > 0 or counts.get("audio_context", 0) > 0,
        "download": downloads > 0,
        "webdriver_probe": counts.get("webdriver", 0) > 0,
        "popup": popups > 0 or counts.get("popups", 0) > 0,
        "hang": hung,
    }
    return [name for name in BEHAVIOUR_NAMES if seen[name]]


def rendered_hits(
    static: list[PhoneHit],
    documents: list[tuple[str, str]],
    region: str,
) -> list[PhoneHit]:
    """Numbers in the rendered documents [(url, html)] that the static page did not show."""
    known = {h.phone for h in static}
    out: list[PhoneHit] = []
    for url, html in documents:
        for hit in extract_phones(html, region=region, url=url or None):
            if hit.phone in known:
                continue
            known.add(hit.phone)
            hit.sources = ["rendered", *[s for s in hit.sources or [hit.source]]]
            hit.source = "rendered"
            out.append(hit)
    return out


def image_hits(known: set[str], texts: list[str], region: str, url: str) -> list[PhoneHit]:
    """Numbers read in images (OCR text) that no document showed: source `image`."""
    out: list[PhoneHit] = []
    for text in texts:
        if not text.strip():
            continue
        # Lines of an image are lines of a paragraph to the extractor.
        page = "<html><body>" + "".join(
            f"<p>{htmllib.escape(line)}</p>" for line in text.splitlines() if line.strip()
        )
        for hit in extract_phones(page, region=region, url=url or None):
            if hit.phone in known:
                continue
            known.add(hit.phone)
            hit.sources = ["image"]
            hit.source = "image"
            out.append(hit)
    return out


def _norm_title(title: str) -> str:
    return re.sub(r"\s+", " ", title or "").strip().lower()


def cloaking(
    static_numbers: set[str],
    rendered_numbers: set[str],
    static_title: str,
    rendered_title: str,
) -> str | None:
    """How the browser's page differs from the static fetch of the same URL, or None."""
    parts = []
    added = sorted(rendered_numbers - static_numbers)
    gone = sorted(static_numbers - rendered_numbers)
    if added and static_numbers:
        parts.append(f"the browser was shown other numbers ({', '.join(added[:3])})")
    if gone and rendered_numbers:
        parts.append(f"numbers of the static page vanished ({', '.join(gone[:3])})")
    a, b = _norm_title(static_title), _norm_title(rendered_title)
    if a and b and a != b:
        parts.append(f"another title ({rendered_title.strip()[:80]!r})")
    return "; ".join(parts) or None
