"""The store pipeline's batches (pipelines/store.py: `batched_save`, `storage.save_many`)
store the same rows as storing each item on its own (`save_item`)."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, fields

from crawler import storage
from crawler.items import PageItem, SerpItem
from crawler.scoring.pair import SightingVerdict
from pipelines.store import batched_save, save_item

AT = "2026-01-01T00:00:00+00:00"


def _verdict(phone: str) -> SightingVerdict:
    return SightingVerdict(
        hit={"phone": phone, "raw": "085 208 1234", "source": "text", "context": "bel ons"},
        official=False,
        official_for=None,
        score=80,
        risk="high",
        reasons=["r"],
        flagged=True,
        signals=[("voip", 20)],
        facts={"phone": phone, "brand": "Microsoft", "domain": "scam.nl"},
    )


def _results() -> list[SerpItem]:
    """One result of each batched kind, every field of the record set (a field
    added to SerpItem that is no column shows here)."""
    base = dict(engine="bing", query="microsoft helpdesk", brand="Microsoft")
    base |= dict(serp_url="http://e/search?q=x", title="Hulp", url="http://scam.nl/")
    base |= dict(landing_url="http://scam.nl/", display_url="scam.nl", snippet="bel")
    base |= dict(phones=["+31852081234"], click_url="http://e/click", landing_from="decoded")
    base |= dict(advertiser_name="A", advertiser_location="NL", advertiser_url="http://a/")
    base |= dict(address="Straat 1", position=1)
    items = [
        SerpItem(**base, is_ad=False, rank=1, kind="organic"),
        SerpItem(**base, is_ad=True, ad_position=1, kind="ad", page=2),
        # A sitelink is stored as a result of its parent's kind (issue 16).
        SerpItem(**{**base, "title": "Contact"}, is_ad=False, rank=2, kind="organic"),
    ]
    unset = {f.name for f in fields(SerpItem)} - set(base) - {"is_ad", "rank", "kind"}
    assert unset <= {"ad_position", "page", "verdicts"}, unset
    return items


def _pages() -> list[PageItem]:
    common = dict(engine="bing", query="microsoft helpdesk", brand="Microsoft", status=200)
    return [
        PageItem(
            url=f"http://scam{i}.nl/",
            entry_url=f"http://scam{i}.nl/",
            html="<p>bel 085 208 1234</p>",
            is_ad=bool(i),
            serp_url="http://e/search?q=x",
            rank=i + 1,
            domain=f"scam{i}.nl",
            title="Hulp",
            fetched_at=AT,
            engines=["bing"],
            appearances=[{"engine": "bing", "rank": i + 1}],
            verdicts=[_verdict("+31852081234")] * (i + 1),
            **common,
        )
        for i in range(2)
    ]


def _rows(path) -> dict[str, list]:
    """Every table's rows, without the clock's columns."""
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        tables = [t for (t,) in conn.execute("select name from sqlite_master where type = 'table'")]
        out = {}
        for table in tables:
            rows = [dict(r) for r in conn.execute(f"select * from [{table}]")]
            clock = ("_at", "_seen", "started", "finished")
            out[table] = sorted(
                repr(sorted((k, v) for k, v in r.items() if not k.endswith(clock))) for r in rows
            )
        return out


def test_a_batch_stores_what_one_by_one_stores(tmp_path):
    items = [*_results(), *_pages()]
    for it in items:
        if isinstance(it, SerpItem):
            it.verdicts = []
    one, batch = tmp_path / "one.db", tmp_path / "batch.db"
    for path in (one, batch):
        db = storage.open_db(path)
        storage.ensure_db_shape(db)
        run_id = storage.start_run(db, "p")
        if path == one:
            for it in items:
                save_item(db, run_id, it)
        else:
            calls = [batched_save(run_id, it) for it in items]
            assert None not in calls  # every one of these waits in a batch
            assert storage.save_many(db, calls) == []
        db.close()
    for it in items[:3]:  # the row is asdict's, without the verdicts
        assert _row(it) == {k: v for k, v in asdict(it).items() if k != "verdicts"}
    got, want = _rows(batch), _rows(one)
    assert want["serp_results"] and want["sightings"] and want["pages"]
    assert got == want


def test_a_save_that_fails_is_undone_alone(tmp_path):
    """In a batch, a save that fails (not a storage failure) is undone whole, even
    the rows it wrote before failing, and reported; the others are committed."""
    results, pages = _results(), _pages()
    db = storage.open_db(tmp_path / "x.db")
    storage.ensure_db_shape(db)
    run_id = storage.start_run(db, "p")
    broken_page = batched_save(run_id, pages[1])
    save, (_, row, verdicts) = broken_page
    # The page's row is written, then its second verdict has no number: KeyError.
    broken = (save, (run_id, row, [verdicts[0], {"score": 1}]))
    bad_result = (storage.save_serp_result, (run_id, {**_row(results[1]), "no_such": 1}))
    calls = [batched_save(run_id, results[0]), bad_result, broken, batched_save(run_id, pages[0])]
    errors = storage.save_many(db, calls)
    assert [i for i, _ in errors] == [1, 2]
    assert isinstance(errors[1][1], KeyError)
    assert [r["url"] for r in db["pages"].rows] == [pages[0].url]
    assert [r["is_ad"] for r in db["serp_results"].rows] == [0]
    assert {r["url"] for r in db["sightings"].rows} == {pages[0].url}
    # Another batch after it runs as usual.
    assert storage.save_many(db, [batched_save(run_id, pages[1])]) == []
    assert db["pages"].count == 2
    db.close()


def _row(item: SerpItem) -> dict:
    from pipelines.store import _serp_row

    return _serp_row(item)
