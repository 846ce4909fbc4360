"""Reads behind the run report (crawler.exports.report) at a year's size.

The report shows the pairs one run saw. They are found from that run's own
sightings (tens of thousands), not by testing every flagged pair of the
history against them, and only the columns the report shows are read: no
facts, no verdicts of numbers and sites, no evidence it does not print.
"""

from __future__ import annotations

from sqlite_utils import Database

from crawler.storage.reads import _DISMISSED, _flagged_where

# The pair's columns the report shows, then its number's and site's, then the
# title of the page the pair was last seen on (as `flagged_rows(details=True)`).
_PAIR = (
    "phone",
    "domain",
    "url",
    "brand",
    "score",
    "risk",
    "reasons",
    "is_ad",
    "engine",
    "query",
    "rank",
    "first_run",
    "warc_file",
    "warc_record_id",
    "screenshot",
)
_REPORT_COLUMNS = ", ".join(f"p.{c} as {c}" for c in _PAIR) + (
    ", n.number_type, n.country, n.status as number_status, s.status as site_status,"
    " g.title as page_title"
)


# The run's pairs; those whose number or site an analyst dismissed (few) apart, so
# the second arm looks up only them.
_SEEN = """with seen as (select distinct phone, domain from sightings where run_id = ?),
    seen_dismissed as (
        select phone, domain from seen
        where phone in (select phone from numbers indexed by idx_numbers_status
                        where status = 'dismissed')
           or domain in (select domain from sites indexed by idx_sites_status
                         where status = 'dismissed'))"""


def run_pair_rows(db: Database, run_id: int) -> list[dict]:
    """The pairs a run saw that are flagged, or not only because an analyst dismissed
    the number or the site, as `flagged_rows(details=True, seen_in_run=run_id,
    include_dismissed=True)` orders them (highest score first, then number and
    site), with `_REPORT_COLUMNS` (`reasons` as stored: JSON text)."""
    selects, params = [], [run_id]
    for seen, base in (("seen", "p.flagged = 1"), ("seen_dismissed", _DISMISSED)):
        where, more = _flagged_where("low", None, False, "pair", base=base)
        # The run's pairs first (CROSS JOIN keeps the order written): each is looked
        # up by its number, instead of every flagged pair tested against them.
        selects.append(
            f"""select {_REPORT_COLUMNS}
                from {seen} k
                cross join site_numbers p on p.phone = k.phone and p.domain = k.domain
                cross join numbers n on n.phone = p.phone
                cross join sites s on s.domain = p.domain
                left join pages g on g.run_id = p.last_run and g.url = p.url
                where {where}"""
        )
        params += more
    cursor = db.execute(
        f"{_SEEN} {' union all '.join(selects)} order by score desc, phone, domain", params
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]
