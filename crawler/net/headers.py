"""What a desktop browser sends: the headers of engine and landing-page requests.

Apart from crawler.engines so that crawler.settings (read by the exports for
their WARC folder) does not import every engine's parser.
"""

from __future__ import annotations

# A recent desktop Chrome: engines serve their full markup (ads included) to it.
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def browser_headers(language: str = "nl", region: str = "NL") -> dict[str, str]:
    """Headers a desktop browser sends with a top-level navigation."""
    lang = f"{language.lower()}-{region.upper()}"
    return {
        "User-Agent": CHROME_UA,
        "Accept": (
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
        ),
        "Accept-Language": f"{lang},{language.lower()};q=0.9,en;q=0.8",
        "Upgrade-Insecure-Requests": "1",
        "Sec-Fetch-Dest": "document",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Site": "none",
        "Sec-Fetch-User": "?1",
    }


def json_headers(language: str = "nl", region: str = "NL") -> dict[str, str]:
    """Headers for a JSON search API."""
    return {
        "User-Agent": CHROME_UA,
        "Accept": "application/json",
        "Accept-Language": f"{language.lower()}-{region.upper()},{language.lower()};q=0.9",
    }
