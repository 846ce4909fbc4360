from __future__ import annotations

from sqlite_utils import Database

from crawler import storage


def page(url="http://scam.nl/", domain="scam.nl", **kw):
    base = dict(
        url=url,
        entry_url=url,
        domain=domain,
        status=200,
        title="t",
        engine="bing",
        query="Microsoft helpdesk",
        brand="Microsoft",
        is_ad=False,
        rank=1,
        ad_position=None,
        serp_url="http://e/search",
    )
    base.update(kw)
    return base


def verdict(phone="+31852081234", score=80, risk="high", flagged=True):
    return dict(
        phone=phone,
        raw="085",
        source="text",
        number_type="voip",
        country="NL",
        score=score,
        risk=risk,
        reasons=["r"],
        flagged=flagged,
        official=not flagged,
    )


def db():
    d = Database(memory=True)
    storage.ensure_db_shape(d)
    storage.ensure_db_shape(d)  # idempotent
    return d


def test_save_page_is_idempotent_and_keeps_first_seen():
    d = db()
    run1 = storage.start_run(d, "p")
    storage.save_page(d, run1, page(), [verdict()])
    storage.save_page(d, run1, page(), [verdict()])
    assert d["sightings"].count == 1 and d["pages"].count == 1 and d["site_numbers"].count == 1
    first = d["numbers"].get("+31852081234")["first_seen"]
    run2 = storage.start_run(d, "p")
    storage.save_page(d, run2, page(fetched_at="2099-01-01T00:00:00+00:00"), [verdict()])
    n = d["numbers"].get("+31852081234")
    assert n["first_seen"] == first and n["last_seen"] == "2099-01-01T00:00:00+00:00"
    assert (n["first_run"], n["last_run"]) == (run1, run2)
    assert d["sightings"].count == 2


def test_flagged_keeps_strongest_evidence_and_filters_risk():
    d = db()
    run = storage.start_run(d, "p")
    storage.save_page(d, run, page(is_ad=True, ad_position=1), [verdict(score=90)])
    storage.save_page(d, run, page(url="http://scam.nl/x"), [verdict(score=50, risk="medium")])
    storage.save_page(
        d,
        run,
        page(url="http://ok.nl/", domain="ok.nl"),
        [verdict(phone="+31205001005", score=0, risk=None, flagged=False)],
    )
    rows = storage.flagged(d)
    assert [(r["phone"], r["score"], r["is_ad"]) for r in rows] == [("+31852081234", 90, True)]
    assert storage.flagged(d, min_risk="high")[0]["status"] == "new"
    assert set(rows[0]) >= {
        "phone",
        "number_type",
        "country",
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
        "first_seen",
        "last_seen",
        "status",
    }


def test_open_db_uses_wal(tmp_path):
    d = storage.open_db(tmp_path / "x.db")
    assert d.journal_mode == "wal"


def test_a_brief_flagged_row_makes_the_same_export_record_as_a_full_one():
    # `flagged_rows(brief=True)` selects only the pair's columns in storage._BRIEF.
    # That list is not the exports' COLUMNS (those are a record's fields, some from
    # the number and the site); it is what `export_record` and its runs read, so a
    # field added to the record but not to _BRIEF fails here, not in a partner's file.
    from exports_seed import seeded

    d = seeded()
    brief = list(storage.flagged_rows(d, brief=True))
    full = list(storage.flagged_rows(d))
    assert len(brief) == len(full) > 2
    assert [storage.export_record(r) for r in brief] == [storage.export_record(r) for r in full]
    assert all(r["first_run"] and r["last_run"] for r in brief)  # what history.attention reads


def test_a_run_marked_failed_has_the_status_run_status_gives_a_storage_failure():
    # The smallest record, when the full one does not fit (crawler.run_recorder).
    from crawler.run_status import run_status

    d = db()
    run_id = storage.start_run(d, "p")
    storage.mark_run_failed(d, run_id, "disk full")
    run = storage.get_run(d, run_id)
    assert run["status"] == run_status({}, "finished", storage_failed=True) == "failed"
    assert storage.RunSummary.from_row(run).warnings == ["storage failed: disk full"]
    assert run["finished_at"]
