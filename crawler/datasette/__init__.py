"""Datasette for triage: the metadata, canned queries and plugin `serpwatch serve` uses.

The views themselves (`flagged_numbers`, `flagged_sites`) are part of the
schema (migrations `0004_triage_views` and `0010_triage_views_with_verdicts`
in `crawler/storage/schema.py`), so any SQLite client sees them. Here: their titles,
descriptions, facets (brand, risk, status, engine) and sort order; the
canned query "new since last run"; and the settings. The plugin
(`plugins/serpwatch_triage.py`) shows scam URLs as text, never as links,
truncates the JSON columns, links each WARC record id to a page that shows
the evidence as text (or the screenshot as an image) and keeps Datasette's
CSV spreadsheet-safe, so phone numbers stay text.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

PLUGINS_DIR = Path(__file__).parent / "plugins"
# Columns holding JSON that would make one row fill a screen in a table view.
JSON_COLUMNS = [
    "facts",
    "reasons",
    "appearances",
    "engines",
    "redirects",
    "stats",
    "blocked_engines",
    "warnings",
    "phones",
    "evidence",
]
SETTINGS = {
    "truncate_cells_html": "120",
    # CSV is rewritten to be spreadsheet-safe: bounded, never streamed.
    "allow_csv_stream": "off",
    "default_facet_size": "20",
}

NEW_SINCE_LAST_RUN = """
select c.event, p.phone as number, p.domain as site, p.risk, p.score, p.brand,
       json_extract(p.reasons, '$[0]') as main_reason, p.url, c.detail,
       p.first_seen, p.last_seen, p.warc_file, p.warc_record_id
from changes c
join site_numbers p on c.key = p.domain || ' ' || p.phone
where c.run_id = (select max(id) from runs)
  and c.kind = 'pair' and c.event in ('new', 'back') and p.flagged = 1
order by p.score desc, p.phone
""".strip()


def metadata(db_name: str, warc_dir: Path | str | None) -> dict:
    """Datasette metadata for the database file named `db_name` (its stem)."""
    return {
        "title": "serpwatch: triage",
        "description": (
            "Fake helpdesk numbers found in search results. Start with flagged_numbers "
            "or the query new_since_last_run; decide with `serpwatch triage KEY --confirm` "
            "or `--dismiss`. URLs are scam sites: they are shown as text, not links."
        ),
        "databases": {
            db_name: {
                "tables": {
                    "flagged_numbers": {
                        "title": "Flagged numbers",
                        "description": (
                            "One row per flagged number (and per dismissed one, to undo): "
                            "the verdict of its strongest site, the brand it poses as, "
                            "every site it was seen on, first and last seen, the analysts' "
                            "status, and the evidence: the page's WARC record and, where the crawl "
                            "rendered it, the screenshot (its thumbnail links to the record)."
                        ),
                        "facets": ["brand", "risk", "status", "engine"],
                        "sort_desc": "score",
                    },
                    "flagged_sites": {
                        "title": "Flagged sites",
                        "description": (
                            "One row per site showing a flagged number: its numbers, the "
                            "verdict, the server IP the crawler saw, status and evidence (WARC "
                            "record and screenshot)."
                        ),
                        "facets": ["brand", "risk", "status"],
                        "sort_desc": "score",
                    },
                    # The maintainers' lists (issue 17): brands check, related searches.
                    "brand_check_numbers": {
                        "title": "Official numbers on the brands' own pages",
                        "description": (
                            "Per `serpwatch brands check`: each number listed for a brand or "
                            "found on its pages (confirmed, stale, unlisted, unchecked), "
                            "with the page and the sentence around it."
                        ),
                        "facets": ["brand", "state"],
                        "sort_desc": "at",
                    },
                    "related_searches": {
                        "title": "Related searches",
                        "description": (
                            "What result pages proposed besides results (related searches, "
                            "people also ask): candidates for `serpwatch queries suggest`."
                        ),
                        "facets": ["engine", "kind"],
                    },
                },
                "queries": {
                    "new_since_last_run": {
                        "title": "New since last run",
                        "description": (
                            "Flagged (site, number) pairs that are new, or back after an "
                            "absence, in the latest run."
                        ),
                        "sql": NEW_SINCE_LAST_RUN,
                        "hide_sql": True,
                    }
                },
            }
        },
        "plugins": {
            "serpwatch-triage": {
                "warc_dir": str(warc_dir) if warc_dir else None,
                "json_columns": JSON_COLUMNS,
            }
        },
    }


def serve_args(db_path: Path, warc_dir: Path | None, host: str, port: int) -> list[str]:
    """The `datasette serve` command line, with the metadata written to a temp file."""
    fd, meta = tempfile.mkstemp(prefix="serpwatch-datasette-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(metadata(db_path.stem, warc_dir), f, indent=2)
    args = [sys.executable, "-m", "datasette", "serve", str(db_path), "-h", host, "-p", str(port)]
    args += ["--metadata", meta, "--plugins-dir", str(PLUGINS_DIR)]
    for name, value in SETTINGS.items():
        args += ["--setting", name, value]
    return args
