"""What crawler.history, crawler.triage and crawler.alerts keep and ask:
presence per profile (who is present, who is gone), the changes of a run,
analysts' decisions, and what was alerted and delivered.
"""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import urlsplit

from sqlite_utils import Database

from crawler.storage.connection import _chunks, _dicts, in_transaction, now
from crawler.storage.facts import facts_field

# An analyst's action and the status it gives (crawler.triage records them).
DECISION_STATUS = {"confirm": "confirmed", "dismiss": "dismissed", "reset": "new"}


def latest_decisions(db: Database) -> dict[str, dict]:
    """key → the latest triage decision (confirm or dismiss); a reset clears it."""
    out: dict[str, dict] = {}
    if "triage" not in db.table_names():
        return out
    for row in db.execute("select key, action, note, at from triage order by at, id").fetchall():
        key, action, note, at = row
        if action == "reset":
            out.pop(key, None)
        else:
            out[key] = {"action": action, "status": DECISION_STATUS[action], "note": note, "at": at}
    return out


def run_phones_and_domains(db: Database, run_id: int) -> set[str]:
    """Every number (E.164) and site (domain) a run saw: what its end re-scores."""
    rows = db.execute(
        "select distinct phone, domain from sightings where run_id = ?", [run_id]
    ).fetchall()
    return {p for p, _ in rows} | {d for _, d in rows}


def run_phones(db: Database, run_id: int) -> set[str]:
    """Every number (E.164) a run saw: whose pairs its end scores again."""
    rows = db.execute("select distinct phone from sightings where run_id = ?", [run_id])
    return {p for (p,) in rows}


def aged_out_phones(db: Database, run_id: int, when: str, recent_days: float) -> set[str]:
    """Numbers whose pairs may have stopped being new on the scene since the run
    before `run_id` (crawler.scoring.rules.recent): the number or the site turned
    `recent_days` old in between (a day's margin). Each run takes the numbers that
    aged out since the one before, so every one is taken once."""
    since = "(select max(started_at) from runs where id < :run)"
    # julianday(first_seen) alone on one side: the indexes of migration 0021 answer it
    # (turned r days old after the run before, a day's margin, and by `when`).
    first = "julianday(first_seen)"
    window = f"{first} > julianday({since}) - 1 - :r and {first} <= julianday(:when) - :r"
    rows = db.execute(
        f"""select phone from numbers where {window}
            union select phone from site_numbers
            where domain in (select domain from sites where {window})""",
        {"run": run_id, "r": recent_days, "when": when},
    )
    return {p for (p,) in rows}


def pairs_before(db: Database, run_id: int) -> dict[str, dict]:
    """The verdicts and facts the run's pairs had before it saved them again
    (crawler.storage.saves._keep_before), by pair id, and `page`: the page facts a
    pair that kept them was saved with (None when the save wrote the page's own);
    read once, then forgotten."""
    try:
        rows = db.execute(
            "select id, facts, score, risk, reasons, flagged, base_score, base_signals, page"
            " from temp.pair_before where run_id = ?",
            [run_id],
        ).fetchall()
    except sqlite3.OperationalError:  # no table: nothing saved in this connection
        return {}
    outside = not db.conn.in_transaction
    db.conn.execute("delete from temp.pair_before where run_id = ?", [run_id])
    if outside:  # only the temporary table changed: leave no transaction open
        db.conn.commit()
    names = ("facts", "score", "risk", "reasons", "flagged", "base_score", "base_signals", "page")
    return {r[0]: dict(zip(names, r[1:], strict=True)) for r in rows}


def run_pairs(db: Database, run_id: int) -> set[tuple[str, str]]:
    """The (site, number) pairs a run saw: (domain, phone) each."""
    rows = db.execute("select distinct domain, phone from sightings where run_id = ?", [run_id])
    return set(rows)


def run_domains_all(db: Database, run_id: int) -> set[str]:
    """Every site (domain) a run saw a number on, official numbers and faxes too."""
    rows = db.execute("select distinct domain from sightings where run_id = ?", [run_id])
    return {d for (d,) in rows}


def run_pair_counts(db: Database, run_id: int) -> dict:
    """The run's (site, number) pairs, official numbers and faxes left out: how many are
    flagged, and how many an analyst confirmed or dismissed (the number or the site)."""
    status = (
        f"(coalesce({facts_field('number_status')}, ''),"
        f" coalesce({facts_field('site_status')}, ''))"
    )
    flagged, dismissed, confirmed = db.execute(
        f"""select count(case when flagged = 1 then 1 end),
                   count(case when 'dismissed' in {status} then 1 end),
                   count(case when 'confirmed' in {status} then 1 end)
            from site_numbers
            where last_run = ? and facts is not null
              and {facts_field("official_for")} is null
              and not coalesce({facts_field("is_fax")}, 0)""",
        [run_id],
    ).fetchone()
    return {"flagged_pairs": flagged, "dismissed_pairs": dismissed, "confirmed_pairs": confirmed}


# ---------------------------------------------------------------------------
# History's presence bookkeeping (crawler.history): what a run covered, who is
# present, who is gone. A key is a number (E.164), a site (domain) or a pair
# ("domain phone"); presence is kept per profile.


KINDS = ("number", "site", "pair")


def run_keys(db: Database, run_id: int) -> dict[str, set[str]]:
    """Numbers, sites and pairs a run saw (official numbers and faxes left out)."""
    rows = db.execute(
        "select distinct phone, domain from sightings where run_id = ? and official = 0"
        " and is_fax = 0",
        [run_id],
    ).fetchall()
    return {
        "number": {p for p, _ in rows},
        "site": {d for _, d in rows},
        "pair": {f"{d} {p}" for p, d in rows},
    }


def presence_of(db: Database, kind: str, keys: set[str]) -> dict[str, list[tuple]]:
    """key → [(profile, last_run, gone_run)] for the keys already known (any profile)."""
    out: dict[str, list[tuple]] = {}
    for chunk in _chunks(sorted(keys)):
        marks = ",".join("?" * len(chunk))
        for k, profile, last_run, gone_run in db.execute(
            f"select key, profile, last_run, gone_run from presence"
            f" where kind = ? and key in ({marks})",
            [kind, *chunk],
        ).fetchall():
            out.setdefault(k, []).append((profile, last_run, gone_run))
    return out


def seen_before(db: Database, kind: str, keys: set[str], run_id: int) -> set[str]:
    """The keys (numbers, sites or pairs, as `run_keys`) that a run before `run_id`
    saw. Asked only of those `presence` does not know (a run killed before its end
    recorded none), one indexed lookup each: a new key finds nothing."""
    on = {
        "number": "s.phone = k.value ->> 1",
        "site": "s.domain = k.value ->> 0",
        "pair": "s.domain = k.value ->> 0 and s.phone = k.value ->> 1",
    }[kind]
    asked = {
        k: k.split(" ", 1) if kind == "pair" else [None, k] if kind == "number" else [k, None]
        for k in keys
    }
    rows = db.execute(
        f"""select k.key from json_each(?) k where exists (
                select 1 from sightings s where {on} and s.run_id < ?
                  and s.official = 0 and s.is_fax = 0)""",
        [json.dumps(asked), run_id],
    )
    return {k for (k,) in rows}


def mark_present(
    db: Database,
    profile: str,
    run_id: int,
    keys: dict[str, set[str]],
    back: list[tuple[str, str]] = (),
) -> None:
    """The run saw these keys: present, last seen in this run; `back`, (kind, key) of
    those recorded gone for `profile` before: not gone any more."""
    rows = []
    for kind, found in keys.items():
        for k in found:
            domain, _, phone = k.partition(" ") if kind == "pair" else ("", "", "")
            rows.append(
                {
                    "profile": profile,
                    "kind": kind,
                    "key": k,
                    "phone": phone or (k if kind == "number" else None),
                    "domain": domain or (k if kind == "site" else None),
                    "last_run": run_id,
                    "gone_run": None,
                }
            )
    db.conn.executemany(
        """insert into presence (profile, kind, key, phone, domain, last_run, gone_run)
           values (:profile, :kind, :key, :phone, :domain, :last_run, null)
           on conflict(profile, kind, key) do update set last_run = excluded.last_run""",
        rows,
    )
    # Only the keys that were gone: setting gone_run on every row (null again)
    # rewrote two of its indexes for every key a run saw.
    db.conn.executemany(
        "update presence set gone_run = null where profile = ? and kind = ? and key = ?",
        [(profile, kind, k) for kind, k in back],
    )


def gone_candidates(db: Database, profile: str, run_id: int) -> dict[tuple[str, str], dict]:
    """Keys present for `profile` but not seen by `run_id`, with what showed them last.

    (kind, key) → {"last_run": id, "showings": {(engine, query, site), ...}, "pages":
    {page id, ...}}: the engines and query its sightings in the last run that saw it
    keep (a page's first fetch), each with the site it was on and the site of the
    result's URL (they differ when the result redirected); `add_result_showings`
    adds the page's other fetches.
    """
    from crawler.domains import registrable_domain

    out: dict[tuple[str, str], dict] = {}
    joins = {
        "number": "s.phone = p.phone",
        "site": "s.domain = p.domain",
        "pair": "s.domain = p.domain and s.phone = p.phone",
    }
    for kind, on in joins.items():
        for k, last_run, engine, engines, query, domain, entry, page in db.execute(
            f"""select p.key, p.last_run, s.engine, s.engines, s.query, s.domain,
                       s.entry_url, s.page_id
                from presence p
                join sightings s on s.run_id = p.last_run and {on}
                where p.profile = ? and p.kind = ? and p.gone_run is null and p.last_run < ?
                  and s.official = 0 and s.is_fax = 0""",
            [profile, kind, run_id],
        ).fetchall():
            entry_site = registrable_domain(entry or "")
            c = out.setdefault((kind, k), {"last_run": last_run, "showings": set(), "pages": set()})
            c["pages"].add(page)
            for e in json.loads(engines or "[]") or [engine]:
                c["showings"] |= {(e, query, domain), (e, query, entry_site)}
    return out


def add_result_showings(db: Database, candidates: dict[tuple[str, str], dict]) -> None:
    """Add to each candidate of `gone_candidates` every result of its last run that
    led to a page it was seen on: the page is fetched once per query that showed it
    and its sighting keeps the first fetch only (storage.saves), its row the last.
    A result led to a page when the page was requested from the result's landing
    (or click) URL, or ended there (the joins of `ad_showings`, by URL)."""
    from crawler.domains import registrable_domain

    ids = sorted({p for c in candidates.values() for p in c["pages"]})
    shown: dict[str, set[tuple]] = {}
    urls: dict[int, dict[str, list[tuple[str, str]]]] = {}  # run → URL → (page, site)
    for chunk in _chunks(ids):
        for page, run, entry, url, domain, query, engine, engines in db.execute(
            "select id, run_id, entry_url, url, domain, query, engine, engines from pages"
            f" where id in ({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall():
            shown[page] = {(e, query, domain) for e in json.loads(engines or "[]") or [engine]}
            for u in {entry, url} - {None, ""}:
                urls.setdefault(run, {}).setdefault(u, []).append((page, domain))
    for run, led in urls.items():
        # The run's results by its index, once a run: a candidate's last run is
        # nearly always the one before, and only the candidates about to be gone
        # come here (crawler.history).
        for engine, query, landing, click in db.execute(
            """select engine, query, landing_url, click_url from serp_results
               where run_id = ? and (landing_url in (select value from json_each(?))
                                     or click_url in (select value from json_each(?)))""",
            [run, json.dumps(list(led)), json.dumps(list(led))],
        ).fetchall():
            for page, domain in led.get(landing, []) + led.get(click, []):
                site = registrable_domain(landing or "")
                shown[page] |= {(engine, query, domain), (engine, query, site)}
    for c in candidates.values():
        for page in c["pages"]:
            c["showings"] |= shown.get(page, set())


def mark_gone(db: Database, profile: str, run_id: int, keys: list[tuple[str, str]]) -> None:
    with in_transaction(db):
        db.conn.executemany(
            "update presence set gone_run = ? where profile = ? and kind = ? and key = ?",
            [(run_id, profile, kind, k) for kind, k in keys],
        )


def answered_queries(db: Database, run_id: int) -> set[tuple[str, str]]:
    """(engine, query) pairs whose every result page came back in the run."""
    return {
        (e, q)
        for e, q in db.execute(
            "select engine, query from run_queries where run_id = ? and outcome = 'answered'",
            [run_id],
        ).fetchall()
    }


def run_domains(db: Database, run_id: int) -> set[str]:
    """Sites whose pages the run stored (with or without numbers on them)."""
    return {
        d for (d,) in db.execute("select distinct domain from pages where run_id = ?", [run_id])
    }


def shown_but_not_fetched(db: Database, run_id: int) -> set[tuple[str, str, str]]:
    """(engine, query, site): a result the run showed whose landing page it did not
    store; site: the registrable domain of the result's landing URL.

    By the result's URL, not its site: a page of the run was requested from its
    landing (or click) URL, or ended there; a page reached through a redirect has
    the result's URL as its entry_url. Another page of the same site fetched says
    nothing of this one. URLs that differ only in click-tracking parameters are
    one page (crawler.merge: the page was fetched once, from one engine's URL).
    The page failed, was not followed (beyond results_per_query), or the run
    stopped first: what was on it is unknown, so nothing it led to is gone.
    """
    from crawler.domains import registrable_domain

    fetched: set[str] = set()  # the URLs the run's pages were requested from or ended at
    for url, entry in db.execute(
        "select url, entry_url from pages where run_id = ?", [run_id]
    ).fetchall():
        fetched |= {url, entry} - {None, ""}
    same_page = _SamePage(fetched)
    out = set()
    for engine, query, landing, click in db.execute(
        "select distinct engine, query, landing_url, click_url from serp_results where run_id = ?",
        [run_id],
    ).fetchall():
        if landing in fetched or click in fetched or same_page(landing):
            continue
        out.add((engine, query, registrable_domain(landing or "")))
    return out


class _SamePage:
    """Whether a URL is, but for click-tracking parameters, one of `urls` (crawler.
    merge). The merge keys of a host's URLs are made only when a URL of that host
    asks (few do: most results are fetched from their very URL)."""

    def __init__(self, urls: set[str]):
        self.by_host: dict[str | None, list[str]] = {}
        for u in urls:
            self.by_host.setdefault(urlsplit(u).hostname, []).append(u)
        self.keys: dict[str | None, set[str]] = {}

    def __call__(self, url: str | None) -> bool:
        from crawler.merge import merge_key

        host = urlsplit(url or "").hostname
        if host not in self.by_host:
            return False
        if host not in self.keys:
            self.keys[host] = {merge_key(u) for u in self.by_host[host]}
        return merge_key(url) in self.keys[host]


# -- scheduled watch: what alerts read and record (crawler/alerts.py) ------------------


def alert_pairs(db: Database, run_id: int) -> list[dict]:
    """Flagged (site, number) pairs seen in the run, with their evidence columns, the
    number's and site's first run and triage status, and the number's own verdict
    (number_score, number_risk, number_reasons); highest score first."""
    return _dicts(
        db.execute(
            """
            select p.*, n.number_type, n.country, n.first_run as number_first_run,
                   n.status as number_status, s.first_run as site_first_run,
                   s.status as site_status, n.score as number_score,
                   n.risk as number_risk, n.reasons as number_reasons
            from site_numbers p
            join numbers n on n.phone = p.phone
            join sites s on s.domain = p.domain
            where p.flagged = 1 and p.last_run = ?
            order by p.score desc, p.phone, p.domain
            """,
            [run_id],
        )
    )


def run_changes(db: Database, run_id: int, kind: str, event: str) -> dict[str, str]:
    """key → detail of the run's recorded changes (crawler.history) of one kind and event."""
    if "changes" not in db.table_names():
        return {}
    rows = db.execute(
        "select key, detail from changes where run_id = ? and kind = ? and event = ?",
        [run_id, kind, event],
    ).fetchall()
    return dict(rows)


def flagged_in_run(db: Database, run_id: int) -> int:
    """Flagged (site, number) pairs seen in the run."""
    return db["site_numbers"].count_where("flagged = 1 and last_run = ?", [run_id])


def alerted_keys(db: Database, channel: str) -> set[str]:
    """What the alerts ledger says a channel was already told."""
    return {k for (k,) in db.execute("select key from alerts where channel = ?", [channel])}


def record_alerts(db: Database, channel: str, run_id: int, items: list[tuple[str, str]]) -> None:
    """Put (key, kind) pairs sent to `channel` in the ledger (a key already there stays)."""
    at = now()
    with db.conn:
        for key_, kind in items:
            db.execute(
                "insert or ignore into alerts (channel, key, kind, run_id, at)"
                " values (?, ?, ?, ?, ?)",
                [channel, key_, kind, run_id, at],
            )


def record_delivery(db: Database, row: dict) -> None:
    db["alert_deliveries"].insert({**row, "at": row.get("at") or now()})


# ===========================================================================
# Read queries of history, triage, flags (crawler.history, crawler.triage)
#
# Every module above storage asks here; none writes SQL of its own
# (tests/test_storage_sql.py).


def last_seen_before(db: Database, kind: str, key: str, run_id: int) -> tuple | None:
    """(run id, time) of the last sighting of a number, site or pair before `run_id`."""
    where = {"number": "phone = ?", "site": "domain = ?", "pair": "domain = ? and phone = ?"}
    params = key.split(" ") if kind == "pair" else [key]
    found = db.execute(
        f"select max(run_id), max(seen_at) from sightings where {where[kind]} and run_id < ?"
        " and official = 0 and is_fax = 0",
        [*params, run_id],
    ).fetchone()
    return found if found and found[0] is not None else None


def record_changes(db: Database, run_id: int, events: list[tuple], at: str) -> None:
    """The run's changes: (kind, key, event, detail) each."""
    db.conn.executemany(
        "insert into changes (run_id, kind, key, event, detail, at) values (?, ?, ?, ?, ?, ?)",
        [(run_id, kind, k, event, detail, at) for kind, k, event, detail in events],
    )


def entity(db: Database, kind: str, key: str) -> dict | None:
    """The `numbers` (kind "number") or `sites` row of a key, None if never seen."""
    table, pk = ("numbers", "phone") if kind == "number" else ("sites", "domain")
    rows = list(db[table].rows_where(f"{pk} = ?", [key]))
    return rows[0] if rows else None


def runs_of(db: Database, kind: str, key: str) -> list[int]:
    """The runs that saw a number or a site, in order."""
    column = "phone" if kind == "number" else "domain"
    return [
        r
        for (r,) in db.execute(
            f"select distinct run_id from sightings where {column} = ? order by run_id", [key]
        )
    ]


def with_pair_keys(db: Database, key: str) -> str:
    """A number's (E.164) or site's key and the keys of its pairs ("domain phone"),
    as a JSON list for `key in (select value from json_each(?))`.

    Found from its pairs, not by `like` on the key: a suffix pattern reads every
    row of a year's changes (0.6 s), and `_` in a domain matched other domains.
    """
    column = "phone" if key.startswith("+") else "domain"
    pairs = db.execute(f"select domain, phone from site_numbers where {column} = ?", [key])
    return json.dumps([key, *(f"{d} {p}" for d, p in pairs)])


def changes_of(db: Database, key: str) -> list[dict]:
    """Every change recorded for a number or site and the pairs it is in, in run order."""
    names = ("run_id", "kind", "key", "event", "detail")
    return [
        dict(zip(names, row, strict=True))
        for row in db.execute(
            "select run_id, kind, key, event, detail from changes"
            " where key in (select value from json_each(?)) order by run_id, id",
            [with_pair_keys(db, key)],
        )
    ]


def partners(db: Database, kind: str, key: str) -> list[dict]:
    """The sites of a number (or the numbers of a site), with the pair's verdict."""
    column, other = ("phone", "domain") if kind == "number" else ("domain", "phone")
    names = (other, "score", "risk", "flagged", "first_seen", "last_seen", "last_run")
    return [
        dict(zip(names, row, strict=True))
        for row in db.execute(
            f"select {other}, score, risk, flagged, first_seen, last_seen, last_run"
            f" from site_numbers where {column} = ? order by score desc",
            [key],
        )
    ]


def record_decision(db: Database, row: dict) -> None:
    """One analyst's decision (crawler.triage), in the caller's transaction."""
    db["triage"].insert(row)


def decisions_of(db: Database, key: str) -> list[dict]:
    """Every decision on `key`, oldest first."""
    if "triage" not in db.table_names():
        return []
    return list(db["triage"].rows_where("key = ?", [key], order_by="at, id"))


def mirror_decisions(db: Database, decisions: dict[str, dict]) -> None:
    """`numbers.status` and `sites.status` as the latest decisions say (others `new`)."""
    with db.atomic():
        for table, pk in (("numbers", "phone"), ("sites", "domain")):
            # By the status index, always: the statistics say nearly every row is
            # `new`, and SQLite would read the whole table at the end of every run.
            db.execute(
                f"update [{table}] indexed by idx_{table}_status set status = 'new'"
                " where status in ('confirmed', 'dismissed')"
            )
            db.conn.executemany(
                f"update [{table}] set status = ? where [{pk}] = ?",
                [(d["status"], key) for key, d in decisions.items()],
            )


def decided_numbers(db: Database, decisions: dict[str, dict]) -> dict[str, set[str]]:
    """status → the numbers it applies to: decided on themselves, or seen on a site
    decided so (`confirmed`, `dismissed`)."""
    out: dict[str, set[str]] = {"confirmed": set(), "dismissed": set()}
    for key, d in decisions.items():
        if d["status"] not in out:
            continue
        if key.startswith("+"):
            out[d["status"]].add(key)
        else:
            out[d["status"]] |= {
                p
                for (p,) in db.execute(
                    "select distinct phone from sightings where domain = ?", [key]
                )
            }
    return out
