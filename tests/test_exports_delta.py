"""`export --since last` reads only what may have changed (schema 0020's change
tracking), and gives exactly the delta a full scan gives (issue 11).

A history is built with the project's save functions and its end of run
(several crawl runs, triage, a rescore, verdicts changed by hand); after each
step every format's delta is made twice, from the changed pairs only and by
reading every pair, and the two must be the same items, ledger and bytes.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlite_utils import Database

from crawler import history, storage, triage
from crawler.exports import FORMATS, core, delta, items, rows
from crawler.exports.changed_pairs import pair_key
from crawler.exports.core import default_floor, prepare_export, write_export
from crawler.exports.ledger import record_export
from crawler.exports.recipients import load_presets
from crawler.exports.rowtext import REASONS_FIELDS
from crawler.scoring import Facts, verdict_record

PRESETS = load_presets()
START = datetime(2026, 10, 1, tzinfo=UTC)
BRANDS = ("Microsoft", "Apple", "KPN")


def _verdict(i: int, phone: str, brand: str, domain: str, is_ad: bool) -> dict:
    harmless = i % 5 == 0
    facts = Facts(
        phone=phone,
        brand=brand,
        domain=domain,
        title=f"{brand} helpdesk bellen" if not harmless else "Computerwinkel",
        number_type="voip" if i % 3 else "fixed_line",
        country="NL" if i % 4 else "BE",
        nl_category="085 (VoIP)" if i % 3 else None,
        is_ad=is_ad,
        domain_match=None
        if harmless
        else {"kind": "helpdesk", "brand": brand, "keyword": brand.lower()},
        claims_official=None if harmless else "officiële klantenservice",
        remote_tool="AnyDesk" if i % 7 == 0 else None,
        trade="reparatie" if harmless else None,
    )
    hit = {"phone": phone, "raw": phone, "source": "text", "number_type": facts.number_type}
    return verdict_record({**hit, "country": facts.country}, facts).as_dict()


def crawl(db: Database, r: int, sites: range) -> int:
    """One crawl run through the save functions and the end of run: each site a page
    with its own number and one shared by two sites (which moves every other run)."""
    at = (START + timedelta(hours=6 * r)).isoformat(timespec="seconds")
    run_id = storage.start_run(db, "delta")
    db["runs"].update(run_id, {"started_at": at})
    for i, site in enumerate(sites):
        page, verdicts = _site_page(site, i, r, at)
        if page["is_ad"]:  # the ad that led to the page (the search engines' export)
            storage.save_serp_result(db, run_id, _ad(page, i, at))
        storage.save_page(db, run_id, page, verdicts)
    stats = {"serpwatch/engines": ["bing"], "finish_reason": "finished"}
    history.close_run(db, run_id, stats, at=at)
    storage.finish_crawl(db, run_id, stats)
    return run_id


def _site_page(site: int, i: int, r: int, at: str) -> tuple[dict, list]:
    """A site's page in run `r` (the `i`th of the run) and its numbers' verdicts."""
    brand = BRANDS[site % len(BRANDS)]
    domain = f"{brand.lower()}-hulp-{site}.nl"
    url = f"https://{domain}/contact"
    is_ad = site % 6 == 0
    page = {
        "url": url,
        "entry_url": url,
        "domain": domain,
        "status": 200,
        "title": f"{brand} helpdesk",
        "engine": "bing",
        "engines": ["bing"],
        "query": f"{brand} helpdesk telefoonnummer",
        "brand": brand,
        "is_ad": is_ad,
        "rank": None if is_ad else 1 + i % 10,
        "ad_position": 1 if is_ad else None,
        "serp_url": "http://127.0.0.1/search",
        "redirects": [],
        "ip": f"192.0.2.{site % 250}",
        "fetched_at": at,
    }
    phones = [f"+3185{site:07d}", f"+3188{(site // 2 + r // 2 * 7) % 40:07d}"]
    verdicts = [
        _verdict(site + j + r * (site % 2), p, brand, domain, is_ad) for j, p in enumerate(phones)
    ]
    return page, verdicts


def _ad(page: dict, position: int, at: str) -> dict:
    return {
        "engine": page["engine"],
        "query": page["query"],
        "brand": page["brand"],
        "serp_url": page["serp_url"],
        "is_ad": True,
        "title": f"{page['brand']} helpdesk",
        "url": page["url"],
        "landing_url": page["url"],
        "rank": None,
        "ad_position": position,
        "display_url": page["domain"],
        "snippet": "Bel ons",
        "phones": [],
        "page": 1,
        "seen_at": at,
    }


def _no_ids(data: bytes) -> bytes:
    """An export's bytes less what is new each time it is made: the STIX bundle's
    id, an XARF report's id and time of writing."""
    data = re.sub(rb"bundle--[0-9a-f-]{36}", b"bundle--X", data)
    return re.sub(rb'"report_id": "[0-9a-f-]{36}"', b'"report_id": "X"', data)


_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _misp_no_ids(data: bytes) -> bytes:
    """A MISP event's bytes less its random UUIDs (each named by where it first
    appears, so references still say which attribute they point at) and its date."""
    names: dict[bytes, bytes] = {}
    data = _UUID.sub(lambda m: names.setdefault(m.group(), b"uuid-%d" % len(names)), data)
    return re.sub(rb'"date": "[0-9-]+"', b'"date": "X"', data)


def _items(export) -> list:
    return [(it.key, it.row, it.fingerprint, it.pairs) for it in export.items]


def both(db, preset, fmt, monkeypatch) -> tuple:
    """The delta made from the changed pairs and by reading every pair (every row in
    Python: no group made in SQL, `items._aggregated_items`)."""
    floor = default_floor(preset, fmt)
    out = io.BytesIO()
    fast = write_export(db, preset, fmt, out, since="last", min_risk=floor)
    fast_whole = prepare_export(db, preset, fmt, since="last", min_risk=floor)
    with monkeypatch.context() as m:
        m.setattr(core, "delta_plan", lambda *a, **kw: None)
        m.setattr(items, "delta_plan", lambda *a, **kw: None)
        m.setattr(items, "_aggregated_items", lambda *a, **kw: None)
        full_out = io.BytesIO()
        full = write_export(db, preset, fmt, full_out, since="last", min_risk=floor)
        full_whole = prepare_export(db, preset, fmt, since="last", min_risk=floor)
    assert fast.ledger == full.ledger, (preset.name, fmt)
    assert fast.pair_ledger == full.pair_ledger, (preset.name, fmt)  # changed_pairs
    assert _items(fast_whole) == _items(full_whole), (preset.name, fmt)
    if fmt != "misp":
        assert _no_ids(out.getvalue()) == _no_ids(full_out.getvalue()), (preset.name, fmt)
    else:  # new UUIDs each time
        assert _misp_no_ids(out.getvalue()) == _misp_no_ids(full_out.getvalue()), preset.name
    return fast, full


def deliver(db, preset, fmt) -> None:
    """Record a delta as the CLI does for a delivered file (marking the change clock)."""
    floor = default_floor(preset, fmt)
    record_export(
        db, write_export(db, preset, fmt, io.BytesIO(), since="last", min_risk=floor, mark=True)
    )


FAST = ("default", "regulator", "hosting", "search-engine", "operator")  # read what changed


def check_all(db, monkeypatch, *, recipients=FAST) -> dict:
    """Every format's delta both ways, equal; then delivered. Returns each one's size."""
    sizes = {}
    for name in recipients:
        for fmt in FORMATS:
            fast, _ = both(db, PRESETS[name], fmt, monkeypatch)
            sizes[name, fmt] = fast.count
            deliver(db, PRESETS[name], fmt)
    return sizes


@pytest.fixture
def db(tmp_path):
    d = storage.open_db(tmp_path / "serpwatch.db")
    yield d
    d.close()


def _read_pairs(monkeypatch) -> list[int]:
    """Count the pair rows each export reads from storage."""
    counts: list[int] = []
    rows = storage.flagged_rows

    def counted(*a, **kw):
        counts.append(0)
        for row in rows(*a, **kw):
            counts[-1] += 1
            yield row

    monkeypatch.setattr(storage, "flagged_rows", counted)
    return counts


def test_the_delta_from_changed_pairs_is_the_delta_of_a_full_scan(db, monkeypatch):
    crawl(db, 0, range(0, 30))
    first = check_all(db, monkeypatch, recipients=tuple(PRESETS))
    assert first["default", "jsonl"] > 20 and first["default", "stix"] > 0
    assert first["search-engine", "jsonl"] > 2
    assert set(check_all(db, monkeypatch).values()) == {0}
    # A run seeing most sites again and some new: the re-seen pairs move (last
    # seen, another page), the shared numbers move to other sites, some verdicts change.
    crawl(db, 1, range(10, 40))
    after_run = check_all(db, monkeypatch)
    assert 0 < after_run["default", "jsonl"] < first["default", "jsonl"] + 10
    assert after_run["search-engine", "jsonl"] > 0
    crawl(db, 2, range(10, 40))  # the same sites again
    check_all(db, monkeypatch)
    # Triage: a number confirmed, a site dismissed (its pairs withdrawn), a number dismissed.
    flagged = storage.flagged(db)
    triage.record(db, "number", flagged[0]["phone"], "confirm", "a test")
    triage.record(db, "site", flagged[1]["domain"], "dismiss", "a test")
    triage.record(db, "number", flagged[-1]["phone"], "dismiss", "a test")
    triaged = check_all(db, monkeypatch)
    assert triaged["default", "jsonl"] >= 2
    assert set(check_all(db, monkeypatch).values()) == {0}
    # A rescore of everything, then a run after the triage.
    history.rescore(db)
    check_all(db, monkeypatch)
    crawl(db, 3, range(20, 50))
    check_all(db, monkeypatch, recipients=tuple(PRESETS))
    # An analyst takes a decision back.
    triage.record(db, "site", flagged[1]["domain"], "confirm", "changed my mind")
    assert check_all(db, monkeypatch)["default", "jsonl"] >= 1


@pytest.mark.parametrize(
    ("table", "key", "change"),
    [
        ("numbers", "phone", {"risk": "low", "score": 1}),  # the number's verdict only
        ("sites", "domain", {"reasons": json.dumps(["a reason given by hand"])}),
        ("numbers", "phone", {"number_type": "premium_rate"}),
        ("site_numbers", "id", {"brand": "ING"}),
    ],
)
def test_a_change_by_any_path_reaches_the_delta(db, monkeypatch, table, key, change):
    """A change written by plain SQL, by no save function, is in the next delta: the
    triggers stamp it (without them this delta would be empty)."""
    crawl(db, 0, range(0, 12))
    check_all(db, monkeypatch)
    pair = storage.flagged(db)[0]
    value = {"phone": pair["phone"], "domain": pair["domain"]}.get(key)
    if key == "id":
        (value,) = db.execute(
            "select id from site_numbers where domain = ? and phone = ?",
            [pair["domain"], pair["phone"]],
        ).fetchone()
    sets = ", ".join(f"{c} = ?" for c in change)
    db.execute(f"update {table} set {sets} where {key} = ?", [*change.values(), value])
    db.conn.commit()
    read = _read_pairs(monkeypatch)
    fast, _ = both(db, PRESETS["default"], "jsonl", monkeypatch)
    assert fast.count >= 1
    assert any(pair["phone"] in k and pair["domain"] in k for k, _ in fast.ledger)
    # The delta read only the changed pairs (the number's, the site's or the one pair);
    # the full scan after it read them all.
    assert read[0] < len(storage.flagged(db)) <= read[2]


def test_a_delta_reads_only_the_changed_pairs(db, monkeypatch):
    crawl(db, 0, range(0, 40))
    deliver(db, PRESETS["default"], "jsonl")
    db.execute(
        "update site_numbers set score = score + 1 where id in"
        " (select id from site_numbers where flagged = 1 limit 3)"
    )
    db.conn.commit()
    read = _read_pairs(monkeypatch)
    out = io.BytesIO()
    written = write_export(db, PRESETS["default"], "jsonl", out, since="last")
    assert written.count == 3 and read == [3]


def test_what_moves_every_run_stamps_nothing(db):
    """The strongest sighting's page, query and evidence move on every run: no
    bundled recipient's delta looks at them, so they do not make a pair a candidate."""
    crawl(db, 0, range(0, 6))
    tick, _ = storage.mark_changes(db)
    db.execute(
        "update site_numbers set url = 'https://x.nl/', last_seen = '2027-01-01', ip = '1.2.3.4'"
    )
    db.execute("update numbers set last_seen = '2027-01-01', last_run = 9")
    db.conn.commit()
    assert storage.changed_pairs(db, tick) == []
    db.execute("update sites set status = 'confirmed' where rowid = 1")
    db.conn.commit()
    assert len(storage.changed_pairs(db, tick)) >= 1


def test_a_full_scan_when_no_export_says_where_to_start(db, monkeypatch):
    """No recorded export with a change tick (the first delta, a ledger from before
    schema 0020, a preset edited since, a preview): every pair is read."""
    crawl(db, 0, range(0, 10))
    preset = PRESETS["default"]
    record_export(db, write_export(db, preset, "jsonl", io.BytesIO(), since="last"))
    read = _read_pairs(monkeypatch)
    assert write_export(db, preset, "jsonl", io.BytesIO(), since="last").count == 0
    assert read[-1] == len(storage.flagged(db))  # no mark recorded: all read
    deliver(db, preset, "jsonl")
    assert write_export(db, preset, "jsonl", io.BytesIO(), since="last").count == 0
    assert read[-1] == 0  # marked: nothing changed since, nothing read
    # The same recipient with another definition: its fingerprints are not the ledger's.
    columns = [c for c in preset.columns if c != "brand"]
    edited = preset.__class__(**{**vars(preset), "columns": columns})
    assert delta.covering_export(db, edited, "jsonl", "low") is None
    assert write_export(db, edited, "jsonl", io.BytesIO(), since="last").count > 0
    assert read[-1] == len(storage.flagged(db))
    # A floor below the one last delivered covers less than asked: all read.
    assert delta.covering_export(db, preset, "jsonl", "medium") is not None
    # (a delivery at medium does not cover a delta at low)
    record_export(
        db,
        write_export(db, preset, "csv", io.BytesIO(), since="last", min_risk="medium", mark=True),
    )
    assert delta.covering_export(db, preset, "csv", "low") is None
    assert delta.covering_export(db, preset, "csv", "high") is not None


def test_a_preset_whose_fingerprint_reads_untracked_fields_reads_everything():
    preset = PRESETS["default"]
    assert delta.tracked(preset)
    assert not delta.tracked(preset.__class__(**{**vars(preset), "ignore_in_delta": []}))
    for name in ("regulator", "operator", "search-engine", "hosting"):
        assert not delta.tracked(PRESETS[name])
    assert delta.anchored(PRESETS["regulator"]) == "phone"
    assert delta.anchored(PRESETS["hosting"]) == "domain"
    # Operators' groups are number ranges (all of a changed number's range is read
    # again), search engines' ads (the ads' groups that changed).
    assert delta.anchored(PRESETS["operator"]) is None and delta.of_ranges(PRESETS["operator"])
    assert delta.anchored(PRESETS["search-engine"]) is None
    # A group's "latest" row is the most recently seen: a pair's last seen is not
    # tracked, a sighting's is (a new sighting is found by its rowid).
    by_site = preset.__class__(**{**vars(preset), "group_by": ["domain"], "key": ["domain"]})
    assert delta.anchored(by_site) is None
    sightings = preset.__class__(**{**vars(by_site), "source": "sightings"})
    assert delta.anchored(sightings) == "domain"


def test_the_cli_marks_a_delivered_export_only(tmp_path):
    from click.testing import CliRunner

    from crawler.cli import main

    path = tmp_path / "serpwatch.db"
    d = storage.open_db(path)
    crawl(d, 0, range(0, 8))
    d.close()
    run = CliRunner().invoke
    args = ["export", "--db", str(path), "--since", "last"]
    assert run(main, [*args, "--out", str(tmp_path / "a.jsonl"), "--dry-run"]).exit_code == 0
    assert run(main, args).exit_code == 0  # a preview
    d = Database(path)
    assert d["exports"].count == 0
    assert run(main, [*args, "--out", str(tmp_path / "b.jsonl")]).exit_code == 0
    (row,) = d["exports"].rows
    assert row["change_tick"] > 1 and row["preset_hash"] == delta.preset_hash(PRESETS["default"])
    assert row["sightings_mark"] == d.execute("select max(rowid) from sightings").fetchone()[0]


def test_a_database_from_before_change_tracking_reads_everything_once(tmp_path, monkeypatch):
    """Release 0.1's demo database (with a ledger) upgrades: its rows are stamped 0 and
    its exports have no tick, so the first delta reads every pair (the delta it always
    gave); once one is delivered, the next reads only what changed."""
    import shutil
    from pathlib import Path

    path = tmp_path / "old.db"
    shutil.copy(Path(__file__).parent / "fixtures" / "db" / "release-0.1-demo.db", path)
    db = storage.open_db(path)
    assert db["export_items"].count and db.execute(
        "select count(*) from site_numbers where changed_at != 0"
    ).fetchone() == (0,)
    preset = PRESETS["default"]
    for fmt in FORMATS:
        assert delta.covering_export(db, preset, fmt, default_floor(preset, fmt)) is None
    check_all(db, monkeypatch)  # the same delta both ways, then delivered with a mark
    flagged = storage.flagged(db)
    db.execute("update numbers set risk = 'low' where phone = ?", [flagged[0]["phone"]])
    db.conn.commit()
    read = _read_pairs(monkeypatch)
    sizes = check_all(db, monkeypatch)
    assert sizes["default", "jsonl"] >= 1 and read[0] < len(flagged)
    db.close()


def save_seen_again(db, run_id: int, pair: dict, url: str, *, ip: str, at: str) -> None:
    """Save `pair` (a flagged record) seen on `url` of its site, from server `ip`, with
    the facts and verdict it has."""
    (facts,) = db.execute(
        "select facts from site_numbers where domain = ? and phone = ?",
        [pair["domain"], pair["phone"]],
    ).fetchone()
    verdict = {
        **{k: pair[k] for k in ("phone", "number_type", "country", "score", "risk", "reasons")},
        "raw": pair["phone"],
        "source": "text",
        "flagged": True,
        "facts": json.loads(facts),
    }
    page = {
        "url": url,
        "entry_url": url,
        "domain": pair["domain"],
        "status": 200,
        "title": "t",
        "engine": "bing",
        "query": pair["query"],
        "brand": pair["brand"],
        "is_ad": False,
        "rank": 1,
        "ip": ip,
        "fetched_at": at,
    }
    storage.save_page(db, run_id, page, [verdict])


def test_a_new_page_or_server_reaches_the_groups_of_sightings(db, monkeypatch):
    """The regulator's pages and hosting's server IPs come from sightings: a pair seen on
    a new page, or the same page again from another server, is in their next delta,
    though the pair itself (its verdict) did not change."""
    crawl(db, 0, range(0, 8))
    check_all(db, monkeypatch)
    pair = next(p for p in storage.flagged(db) if p["risk"] != "low" and p["country"] == "NL")
    run_id = storage.start_run(db, "delta")
    url = f"https://{pair['domain']}/another-page"
    save_seen_again(db, run_id, pair, url, ip="203.0.113.99", at=pair["last_seen"])
    plan = delta.delta_plan(db, PRESETS["regulator"], "jsonl", min_risk="medium")
    assert plan.of == ("phone", [pair["phone"]])  # that number's group only
    plan = delta.delta_plan(db, PRESETS["hosting"], "jsonl", min_risk="medium")
    assert plan.of == ("domain", [pair["domain"]])
    sizes = check_all(db, monkeypatch)
    assert sizes["regulator", "jsonl"] == 1 and sizes["hosting", "jsonl"] == 1
    # The same page again in that run from another server: a sighting updated in place.
    (sighting,) = db.execute(
        "select id from sightings where run_id = ? and phone = ?", [run_id, pair["phone"]]
    ).fetchone()
    db.execute("update sightings set ip = '203.0.113.100' where id = ?", [sighting])
    db.conn.commit()
    sizes = check_all(db, monkeypatch)
    assert sizes["hosting", "jsonl"] == 1


def test_a_change_undone_before_the_next_export_leaves_no_stamp(db):
    """A crawl saves a pair with its page's verdict and the end of the run scores it
    again, mostly back: a change undone before the next mark is no change (schema 0023)."""
    crawl(db, 0, range(0, 6))
    tick, _ = storage.mark_changes(db)
    (row, score) = db.execute("select rowid, score from site_numbers limit 1").fetchone()

    def stamped():
        return [r for r, _, _ in storage.changed_pairs(db, tick)]

    def write(sql, *args):
        db.execute(sql, [*args, row])
        db.conn.commit()

    write("update site_numbers set score = ? where rowid = ?", score + 5)
    assert stamped() == [row]
    write("update site_numbers set score = ? where rowid = ?", score)
    assert stamped() == []
    # Facts no export reads change, or come back: no stamp; the official site's do.
    write("update site_numbers set facts = json_set(facts, '$.title', 'x') where rowid = ?")
    assert stamped() == []
    write("update site_numbers set facts = json_set(facts, '$.official_site', 1) where rowid = ?")
    assert stamped() == [row]
    # Undone after an export read it: a change since that export.
    tick, _ = storage.mark_changes(db)
    write("update site_numbers set facts = json_remove(facts, '$.official_site') where rowid = ?")
    assert stamped() == [row]


def test_a_run_that_sees_the_same_pages_again_stamps_little(db, monkeypatch):
    crawl(db, 0, range(0, 20))
    crawl(db, 1, range(0, 20))
    check_all(db, monkeypatch)
    tick = delta.covering_export(db, PRESETS["default"], "jsonl", "low")["change_tick"]
    crawl(db, 1, range(0, 20))  # the same pages, verdicts and time again
    assert len(storage.changed_pairs(db, tick)) < db["site_numbers"].count / 4
    assert set(check_all(db, monkeypatch).values()) == {0}


def test_a_page_seen_again_as_it_was_is_no_candidate(db, monkeypatch):
    """A sighting that repeats its page's latest one (the same URL, number and what the
    preset reads of a page) changes no group of sightings: its number (site) is not
    read again. The same page from another server changes hosting's (its IPs), not
    the regulator's."""
    crawl(db, 0, range(0, 8))
    check_all(db, monkeypatch)
    pair = next(p for p in storage.flagged(db) if p["risk"] != "low" and p["country"] == "NL")
    (url, ip) = db.execute(
        "select url, ip from site_numbers where domain = ? and phone = ?",
        [pair["domain"], pair["phone"]],
    ).fetchone()

    def seen_again(ip: str) -> None:
        run_id = storage.start_run(db, "delta")
        save_seen_again(db, run_id, pair, url, ip=ip, at="2027-01-01T00:00:00+00:00")

    seen_again(ip)
    for name in ("regulator", "hosting"):
        assert delta.delta_plan(db, PRESETS[name], "jsonl", min_risk="medium").of[1] == []
    assert set(check_all(db, monkeypatch).values()) == {0}
    seen_again("203.0.113.7")  # the same page from another server
    assert delta.delta_plan(db, PRESETS["regulator"], "jsonl", min_risk="medium").of[1] == []
    plan = delta.delta_plan(db, PRESETS["hosting"], "jsonl", min_risk="medium")
    assert plan.of == ("domain", [pair["domain"]])
    sizes = check_all(db, monkeypatch)
    assert sizes["hosting", "jsonl"] == 1 and sizes["regulator", "jsonl"] == 0


def test_a_change_to_an_ad_or_its_page_reaches_the_search_engines_delta(db, monkeypatch):
    """The search engines' items are ads with their landing pages: an ad saved, or an
    ad or page changed by any path (plain SQL here), is logged (schema 0025) with the
    group it left and the one it joined, and the next delta makes those again."""
    crawl(db, 0, range(0, 24))
    crawl(db, 1, range(0, 24))
    check_all(db, monkeypatch)
    preset = PRESETS["search-engine"]
    assert delta.of_ads(preset)
    assert delta.delta_plan(db, preset, "jsonl", min_risk="medium").of == ("ads", [])
    sent = {json.loads(k)[2] for k, _ in storage.sent_fingerprints(db, preset.name, "jsonl")}
    ads = [  # those of the last run (the latest of their groups) that were sent
        ad
        for ad in db.execute(
            "select rowid, engine, query, landing_url from serp_results where is_ad = 1"
            " and run_id = (select max(run_id) from serp_results) order by rowid"
        )
        if ad[3] in sent
    ]

    def change(sql, *args):
        db.execute(sql, args)
        db.conn.commit()
        return check_all(db, monkeypatch)["search-engine", "jsonl"]

    assert change("update serp_results set title = 'Bel nu' where rowid = ?", ads[0][0]) == 1
    assert change("update serp_results set ad_position = 99 where is_ad = 1") == len(sent)
    # An ad that led elsewhere: the group it left and the one it joined.
    tick = delta.covering_export(db, preset, "jsonl", "medium")["change_tick"]
    change("update serp_results set landing_url = ? where rowid = ?", ads[1][3], ads[-1][0])
    groups = storage.changed_ad_groups(db, tick, 10**9, [])
    assert set(groups) == {tuple(ads[1][1:]), tuple(ads[-1][1:])}
    # The page an ad led to, now at another URL (the pages of an ad's item).
    assert change("update pages set url = url || '?p=1' where url = ?", ads[2][3]) >= 1
    assert set(check_all(db, monkeypatch).values()) == {0}
    # A pair an ad led to, scored again by hand: the pair's verdict is in the ad's row.
    assert (
        change(
            "update site_numbers set score = score - 1 where domain = ?", ads[3][3].split("/")[2]
        )
        == 1
    )
    # An ad (for another query) saved before an export, the page it led to after (a
    # crawl running meanwhile): its group gains a showing, whether or not the pairs
    # on the page changed.
    run_id = storage.start_run(db, "delta")
    page, verdicts = _site_page(0, 0, 1, "2027-01-01T00:00:00+00:00")
    ad = _ad({**page, "query": "KPN storing"}, 1, page["fetched_at"])
    storage.save_serp_result(db, run_id, ad)
    check_all(db, monkeypatch)
    e = delta.covering_export(db, preset, "jsonl", "medium")
    storage.save_page(db, run_id, page, verdicts)
    late = ("bing", "KPN storing", page["url"])
    assert late in storage.changed_ad_groups(db, e["change_tick"], e["sightings_mark"], [])
    assert check_all(db, monkeypatch)["search-engine", "jsonl"] >= 1
    # A search engines' export marked before the ads were logged covers nothing.
    db.execute("update change_tracking set since_tick = (select tick from change_clock)")
    db.conn.commit()
    assert delta.delta_plan(db, preset, "jsonl", min_risk="medium") is None


def test_a_number_that_changes_group_reaches_both_of_its_operators_items(db, monkeypatch):
    """The operators' items are number ranges by country and carrier: a delta makes
    again every group of the ranges of the numbers that changed. A number whose
    carrier changes leaves one group for another of its range: both change."""
    crawl(db, 0, range(0, 24))
    check_all(db, monkeypatch)
    preset = PRESETS["operator"]
    flagged = [p for p in storage.flagged(db) if p["risk"] != "low"]
    by_range: dict = {}
    for p in flagged:
        by_range.setdefault(rows.number_range(p["phone"]), set()).add(p["phone"])
    rng, phones = max(by_range.items(), key=lambda kv: len(kv[1]))
    assert len(phones) >= 2 and len(by_range) >= 2
    phone = sorted(phones)[0]
    db.execute("update numbers set carrier = 'KPN' where phone = ?", [phone])
    db.conn.commit()
    plan = delta.delta_plan(db, preset, "jsonl", min_risk="medium")
    assert plan.of == ("number_range", [phone])
    read = _read_pairs(monkeypatch)
    sizes = check_all(db, monkeypatch, recipients=("operator",))
    assert sizes["operator", "jsonl"] == 2  # the range without KPN, and with it
    # Only that range's pairs were read (the full scan after it read them all), those
    # no longer flagged or below the floor too: a delta withdraws those it sent.
    assert read[0] == sum(
        1 for p in db["site_numbers"].rows if rows.number_range(p["phone"]) == rng
    )


@pytest.mark.parametrize(
    "phone",
    [
        None,
        "",
        "+",
        "+123456",
        "+1234567",
        "+12345678",
        "0201234567",
        "+31852081234",
        "+3185€208123",
    ],
)
def test_the_number_range_in_sql_is_the_exports_own(phone):
    """The operators' aggregates made in SQL group by `storage.grouped.NUMBER_RANGE`:
    the same range as `rows.number_range` gives the export's rows."""
    import sqlite3

    from crawler.storage.grouped import NUMBER_RANGE

    conn = sqlite3.connect(":memory:")
    (got,) = conn.execute(f"select {NUMBER_RANGE} from (select ? as phone) p", [phone]).fetchone()
    assert got == rows.number_range(phone)


def test_the_pairs_of_changed_ranges_are_written_in_the_full_scans_order(db, monkeypatch):
    """The operators' STIX, MISP and XARF deltas make their items in SQL and read the
    pairs of those that changed when writing them (`items.read_pairs`): in each
    format's order, also when the items' order (their numbers' best scores) is not
    the database's (the pairs' scores): STIX item by item, MISP strongest pair
    first, XARF site by site with each site's pairs in the items' order."""
    crawl(db, 0, range(0, 12))
    check_all(db, monkeypatch, recipients=("operator",))
    # Every site has a +3185 and a +3188 number: the +3188 ranges' items come first
    # (their numbers' scores), their pairs last in the database's order.
    db.execute("update numbers set score = 99 where phone like '+3188%'")
    db.execute("update site_numbers set score = 5 where phone like '+3188%'")
    db.conn.commit()
    read = []
    spied = core.read_pairs

    def spy(*a, **kw):
        read.append(a[2])
        yield from spied(*a, **kw)

    monkeypatch.setattr(core, "read_pairs", spy)
    for fmt in ("stix", "misp", "xarf"):
        fast, _ = both(db, PRESETS["operator"], fmt, monkeypatch)
        assert fast.count >= 2, fmt
    assert read == ["stix", "misp", "xarf"]


def _in_python(monkeypatch):
    """Every group made from its rows in Python, none in SQL (the reference)."""
    monkeypatch.setattr(items, "_aggregated_items", lambda *a, **kw: None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_operators_whole_export_made_in_sql_is_the_one_made_of_rows(db, monkeypatch, fmt):
    """A full export to the operators (everything, since a date, any floor, a first
    delta with no ledger to go by) makes its ranges in SQL from every pair's
    distinct values: the same items, ledger and bytes as made from every row, with
    numbers and sites dismissed and confirmed and a number that changed carrier."""
    crawl(db, 0, range(0, 24))
    crawl(db, 1, range(12, 36))
    flagged = storage.flagged(db)
    triage.record(db, "number", flagged[0]["phone"], "confirm", "a test")
    triage.record(db, "site", flagged[1]["domain"], "dismiss", "a test")
    triage.record(db, "number", flagged[-1]["phone"], "dismiss", "a test")
    db.execute("update numbers set carrier = 'KPN' where phone = ?", [flagged[2]["phone"]])
    db.conn.commit()
    preset = PRESETS["operator"]
    ways = [{}, {"since": "2026-10-01T03:00:00"}, {"since": "last"}]
    ways += [{"min_risk": "low"}, {"min_risk": "high"}]
    for kw in ways:
        kw = {"min_risk": default_floor(preset, fmt), **kw}
        sql, sql_out = prepare_export(db, preset, fmt, **kw), io.BytesIO()
        sql_written = write_export(db, preset, fmt, sql_out, **kw)
        with monkeypatch.context() as m:
            _in_python(m)
            rows_, rows_out = prepare_export(db, preset, fmt, **kw), io.BytesIO()
            rows_written = write_export(db, preset, fmt, rows_out, **kw)
        assert _items(sql) == _items(rows_), kw
        assert sql_written.ledger == rows_written.ledger, kw
        assert sql_written.pair_ledger == rows_written.pair_ledger, kw
        strip = _misp_no_ids if fmt == "misp" else _no_ids
        assert strip(sql_out.getvalue()) == strip(rows_out.getvalue()), kw
        assert sql_written.count > 0 or kw["min_risk"] == "high", kw


def test_the_operators_whole_export_reads_no_pair_row_in_python(db, monkeypatch):
    """An operator's range holds thousands of numbers: its full JSONL and CSV are made
    from SQLite's distinct values, no pair's row read (a year: 13 s, now 2)."""
    crawl(db, 0, range(0, 12))
    preset = PRESETS["operator"]
    for fmt in ("jsonl", "csv"):
        read = _read_pairs(monkeypatch)
        written = write_export(db, preset, fmt, io.BytesIO(), min_risk="medium")
        assert written.count > 0 and read == [], fmt
        monkeypatch.undo()


def test_a_range_whose_item_did_not_change_sends_only_its_changed_pair(db, monkeypatch):
    """A pair change the operators' items do not show (a pair's own reasons) makes its
    range a candidate; its item, made in SQL, is as sent: XARF reads no pair, and STIX
    and MISP, whose indicators carry the pair's reasons, send only that pair."""
    crawl(db, 0, range(0, 12))
    check_all(db, monkeypatch, recipients=("operator",))
    pair = storage.flagged(db)[0]
    db.execute(
        "update site_numbers set reasons = ? where domain = ? and phone = ?",
        [json.dumps(["a reason given by hand"]), pair["domain"], pair["phone"]],
    )
    db.conn.commit()
    preset = PRESETS["operator"]
    for fmt in ("stix", "misp", "xarf"):
        read = _read_pairs(monkeypatch)
        written = write_export(db, preset, fmt, io.BytesIO(), since="last", min_risk="medium")
        assert written.count == 0 and (sum(read) == 0) == (fmt == "xarf"), fmt
        if fmt != "xarf":
            assert [k for k, _ in written.pair_ledger] == [pair_key(pair["domain"], pair["phone"])]
        monkeypatch.undo()
        assert both(db, preset, fmt, monkeypatch)[1].count == 0


def test_a_group_of_pages_reads_each_pair_it_writes_back_once(db, monkeypatch):
    """The regulator's and hosting's deltas in STIX, MISP and XARF keep in the spool
    only the row each pair is written with (its latest page), beside what orders
    them (`items._keep_pairs`): each is read back once, to be written (in STIX and
    MISP, to be written if it changed: `changed_pairs`), each first floored by its
    own risk (`core.pair_floor`), which reads it once for both."""
    import crawler.exports as exports
    from crawler.exports.changed_pairs import BELOW_FLOOR, ChangedPairs
    from crawler.exports.spool import Spool

    crawl(db, 0, range(0, 12))
    check_all(db, monkeypatch, recipients=("regulator", "hosting"))
    pair = next(p for p in storage.flagged(db) if p["risk"] != "low" and p["country"] == "NL")
    run_id = storage.start_run(db, "delta")
    url = f"https://{pair['domain']}/another-page"
    save_seen_again(db, run_id, pair, url, ip="203.0.113.9", at="2026-10-01T03:00:00+00:00")
    crawl(db, 1, range(6, 18))
    gets: list[int] = []
    floored: list[dict] = []
    judged: list[dict] = []
    written: list[dict] = []
    get, write, changed = Spool.get, exports.write_pair_records, ChangedPairs.changed
    pair_floor = core.pair_floor

    def counted(fmt, records, out, files):
        return write(fmt, (written.append(r) or r for r in records), out, files)

    def judging(self, records, least=None):
        return changed(self, (judged.append(r) or r for r in records), least)

    def flooring(*args):
        keep = pair_floor(*args)
        return lambda records: keep(floored.append(r) or r for r in records)

    monkeypatch.setattr(Spool, "get", lambda self, at: gets.append(at) or get(self, at))
    monkeypatch.setattr(exports, "write_pair_records", counted)
    monkeypatch.setattr(ChangedPairs, "changed", judging)
    monkeypatch.setattr(core, "pair_floor", flooring)
    for name in ("regulator", "hosting"):
        for fmt in ("stix", "misp", "xarf"):
            gets.clear()
            floored.clear()
            judged.clear()
            written.clear()
            floor = default_floor(PRESETS[name], fmt)
            write_export(db, PRESETS[name], fmt, io.BytesIO(), since="last", min_risk=floor)
            # STIX and MISP floor each pair as they judge it (a pair sent that fell
            # below the floor is withdrawn): what they write is what they judged.
            read = floored if fmt == "xarf" else judged
            assert written and len(gets) == len(read), (name, fmt)
            assert all(any(w is r for r in read) or w.get(BELOW_FLOOR) for w in written), (
                name,
                fmt,
            )
    monkeypatch.undo()
    assert check_all(db, monkeypatch, recipients=("regulator", "hosting"))["regulator", "stix"]


def test_a_group_of_pages_decodes_only_the_reasons_it_reads(db, monkeypatch):
    """The regulator's rows need no site's reasons, hosting's neither the number's nor
    the pair's (but in STIX, MISP, XARF, whose writers read the pair's): a delta
    written out decodes only those it reads (`items._decoded`), and its bytes are the
    full scan's."""
    crawl(db, 0, range(0, 8))
    check_all(db, monkeypatch, recipients=("regulator", "hosting"))
    crawl(db, 1, range(4, 12))
    decoded = []
    made = rows.export_row

    def spy(raw, decisions, decode=REASONS_FIELDS):
        decoded.append(decode)
        return made(raw, decisions, decode)

    monkeypatch.setattr(rows, "export_row", spy)
    monkeypatch.setattr(core, "export_row", spy)
    cases = [
        ("regulator", "jsonl", {"reasons", "number_reasons"}),
        ("regulator", "stix", {"reasons", "number_reasons"}),
        ("hosting", "csv", {"site_reasons"}),
        ("hosting", "xarf", {"reasons", "site_reasons"}),
    ]
    for name, fmt, read in cases:
        decoded.clear()
        floor = default_floor(PRESETS[name], fmt)
        write_export(db, PRESETS[name], fmt, io.BytesIO(), since="last", min_risk=floor)
        assert decoded and set(decoded) == {frozenset(read)}, (name, fmt)
    monkeypatch.undo()
    assert check_all(db, monkeypatch, recipients=("regulator", "hosting"))["regulator", "jsonl"]


WHOLE_READS = {  # what a full export written out reads of each pair: reasons, title
    ("regulator", "jsonl"): ({"reasons", "number_reasons"}, False),
    ("regulator", "stix"): ({"reasons", "number_reasons"}, False),
    ("hosting", "csv"): ({"site_reasons"}, False),
    ("hosting", "xarf"): ({"reasons", "site_reasons"}, False),
    ("search-engine", "jsonl"): (set(), False),
    ("search-engine", "misp"): ({"reasons"}, False),
}


@pytest.mark.parametrize("name, fmt", sorted(WHOLE_READS))
def test_a_whole_export_written_out_reads_only_what_it_writes(db, monkeypatch, name, fmt):
    """A full export written out decodes only the reasons its items and writer read
    and looks up no page title its preset does not name (`items._fields_read`), and
    the search engines' ads are shaped where `ad_rows` made them, none spooled; its
    bytes are those of the export made whole in memory, which reads everything."""
    from crawler.exports.spool import Spool

    crawl(db, 0, range(0, 8))
    crawl(db, 1, range(4, 12))
    preset, floor = PRESETS[name], default_floor(PRESETS[name], fmt)
    whole = prepare_export(db, preset, fmt, min_risk=floor)
    reads, puts = [], []
    iter_pairs, put = rows.iter_pair_rows, Spool.put
    monkeypatch.setattr(
        rows, "iter_pair_rows", lambda d, o, **kw: reads.append(o) or iter_pairs(d, o, **kw)
    )
    monkeypatch.setattr(Spool, "put", lambda self, v: puts.append(v) or put(self, v))
    out = io.BytesIO()
    written = write_export(db, preset, fmt, out, min_risk=floor)
    decode, title = WHOLE_READS[name, fmt]
    assert written.count > 0
    assert {(o.decode, o.title) for o in reads} == {(frozenset(decode), title)}
    assert not puts if name == "search-engine" else puts
    strip = _misp_no_ids if fmt == "misp" else _no_ids
    assert strip(out.getvalue()) == strip(whole.content.encode("utf-8"))
