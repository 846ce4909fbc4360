"""The scoring fixtures, scored as in a crawl: tests/fixtures/scoring/<case>/.

Each case is a page as it was found (golden.py's convention):
- `meta.json`: the URL, the brand queried, whether an ad led to it (and the
  ad's title, text and call-extension numbers), what it is (`kind`: scam,
  legit third party, official), its main number (`phone`, or `phones`) and
  the signals that number must show (`signals`) and must not (`absent`);
- `page.html`;
- `expected.json`: every stored verdict on the page's numbers and its site
  (pairs, numbers, sites) once all the cases are stored in one run and the
  run is closed, as `verdict_lines` writes them.

`tests/fixtures/scoring/brands.toml` is the brands file all cases share.
"""

from __future__ import annotations

import json

from golden import FIXTURES, case_dirs, meta, page_file
from sqlite_utils import Database

from crawler import history, storage
from crawler.config import Profile, load_brands, load_third_parties
from crawler.items import PageItem
from crawler.phones import extract_phones, result_hits
from pipelines.score import score_page

FX = FIXTURES / "scoring"
BRANDS = FX / "brands.toml"
PAGE_FIELDS = (
    "url", "entry_url", "status", "engine", "query", "brand", "is_ad", "rank",
    "ad_position", "serp_url", "domain", "title",
)  # fmt: skip


def cases() -> list[dict]:
    """Every case's meta.json, with its `id` (the folder's name) and `dir`."""
    return [{**meta(d), "id": d.name, "dir": d} for d in case_dirs(FX)]


def profile() -> Profile:
    return Profile(
        path=BRANDS,
        name="fixtures",
        brands=load_brands(BRANDS),
        brands_path=BRANDS,
        third_parties=load_third_parties(BRANDS),
    )


def scored(case: dict, prof: Profile | None = None) -> PageItem:
    """The case's page as a crawl would have it: found, extracted, scored."""
    html = page_file(case["dir"]).read_text(encoding="utf-8")
    item = PageItem(
        url=case["url"],
        entry_url=case["url"],
        status=200,
        html=html,
        engine="bing",
        query=f"{case.get('brand') or 'klantenservice'} helpdesk telefoonnummer",
        brand=case.get("brand"),
        is_ad=case.get("is_ad", False),
        serp_url="http://engine/search",
        rank=None if case.get("is_ad") else 1,
        ad_position=1 if case.get("is_ad") else None,
    )
    if case.get("ad_title"):  # the ad that led to the page: its title and call extension
        item.appearances = [
            {
                "engine": "bing",
                "is_ad": True,
                "title": case["ad_title"],
                "snippet": case.get("ad_snippet", ""),
                "phones": case.get("ad_phones", []),
            }
        ]
    item.hits = extract_phones(html, region="NL", url=case["url"])
    item.hits += result_hits(item.appearances, {h.phone for h in item.hits}, "NL")
    score_page(item, prof or profile())
    return item


def store(db: Database, run_id: int, items: list[PageItem], at: str) -> None:
    """Store scored pages in a run, as the crawl's storage pipeline does."""
    for item in items:
        page = {k: getattr(item, k) for k in PAGE_FIELDS}
        page["fetched_at"] = at
        storage.save_page(db, run_id, page, [v.as_dict() for v in item.verdicts])


def verdict_lines(db: Database) -> list[dict]:
    """Every stored verdict of a database, sorted (by its JSON with sorted keys).

    A verdict is `kind` (pair, number or site), the key (domain and/or phone),
    score, risk, flagged (pairs) and the reasons in order. The page a pair was
    kept from is left out: it can depend on which query finished first.
    """
    lines = []
    for row in db.query("select * from site_numbers"):
        lines.append(
            {
                "kind": "pair",
                "domain": row["domain"],
                "phone": row["phone"],
                "score": row["score"],
                "risk": row["risk"],
                "flagged": row.get("flagged"),
                "reasons": json.loads(row["reasons"] or "[]"),
            }
        )
    for kind, table, pk in (("number", "numbers", "phone"), ("site", "sites", "domain")):
        if "score" not in db[table].columns_dict:
            continue
        for row in db.query(f"select * from {table}"):
            lines.append(
                {
                    "kind": kind,
                    pk: row[pk],
                    "score": row["score"],
                    "risk": row["risk"],
                    "reasons": json.loads(row["reasons"] or "[]"),
                }
            )
    text = sorted(json.dumps(x, ensure_ascii=False, sort_keys=True) for x in lines)
    return [json.loads(t) for t in text]


def _belongs(line: dict, domain: str, phones: set[str]) -> bool:
    if line["kind"] == "pair":
        return line["domain"] == domain and line["phone"] in phones
    if line["kind"] == "number":
        return line["phone"] in phones
    return line["domain"] == domain


def verdicts_by_case(all_cases: list[dict]) -> dict[str, list[dict]]:
    """Every case's verdicts, all its pages stored in one run and the run closed.

    A page two cases share (same URL, same bytes) is stored once. Every stored
    verdict belongs to at least one case, so the cases' files hold them all.
    """
    prof = profile()
    items, seen = {}, set()
    db = Database(memory=True)
    storage.ensure_db_shape(db)
    history.ensure_shape(db)
    run = storage.start_run(db, "fixtures")
    for case in all_cases:
        items[case["id"]] = item = scored(case, prof)
        if (item.url, item.html) not in seen:
            seen.add((item.url, item.html))
            store(db, run, [item], "2026-11-01T08:00:00+00:00")
    history.close_run(db, run, at="2026-11-01T09:00:00+00:00")
    lines = verdict_lines(db)
    out = {}
    for case_id, item in items.items():
        phones = {v.phone for v in item.verdicts}
        out[case_id] = [x for x in lines if _belongs(x, item.domain, phones)]
    orphans = [x for x in lines if not any(x in mine for mine in out.values())]
    assert not orphans, f"verdicts of no case: {orphans}"
    return out
