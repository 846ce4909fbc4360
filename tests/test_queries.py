"""For maintainers: `queries stats` per query and engine, `queries try` storing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from crawler import history, queries, storage, triage
from crawler.cli import main
from crawler.config import load_profile
from tests.test_history import SCAM, SHOP, db, see

DEMO = Path(__file__).parents[1] / "crawler" / "demo"


def serp(d, rid, query, landing, rank, engine="bing", is_ad=False):
    storage.save_serp_result(
        d,
        rid,
        {
            "engine": engine,
            "query": query,
            "brand": "Microsoft",
            "serp_url": "http://engine/search",
            "is_ad": is_ad,
            "rank": None if is_ad else rank,
            "ad_position": rank if is_ad else None,
            "title": "t",
            "url": landing,
            "landing_url": landing,
        },
    )


def test_stats_per_query_and_engine():
    d = db()
    dm = {"kind": "helpdesk", "brand": "Microsoft", "keyword": "microsoft"}
    for day, with_scam in (("2026-11-01", True), ("2026-11-02", True), ("2026-11-03", False)):
        rid = storage.start_run(d, "p")
        at = f"{day}T08:00:00+00:00"
        serp(d, rid, "Microsoft helpdesk", "http://microsoft-helpdesk.nl/", 1)
        serp(d, rid, "Microsoft helpdesk", "http://pcrepair.nl/", 2)
        serp(d, rid, "windows hulp", "http://pcrepair.nl/", 1)
        serp(d, rid, "windows hulp", "http://pcrepair.nl/", 1, engine="duckduckgo")
        if with_scam:
            see(d, rid, "microsoft-helpdesk.nl", SCAM, at, domain_match=dm)
        see(d, rid, "pcrepair.nl", SHOP, at, trade="reparatie")
        history.close_run(d, rid, at=at)
    triage.record(d, "number", SCAM, "confirm")
    triage.record(d, "site", "pcrepair.nl", "dismiss")
    rows = {(r["query"], r["engine"]): r for r in queries.stats(d)}
    helpdesk = rows[("Microsoft helpdesk", "bing")]
    assert (helpdesk["runs"], helpdesk["results"], helpdesk["ads"]) == (3, 6, 0)
    assert (helpdesk["flagged"], helpdesk["new_flagged"]) == (2, 2)
    assert (helpdesk["confirmed"], helpdesk["dismissed"]) == (1, 1)
    hulp = rows[("windows hulp", "bing")]
    assert (hulp["runs"], hulp["flagged"], hulp["new_flagged"], hulp["confirmed"]) == (3, 1, 1, 0)
    ddg = rows[("windows hulp", "duckduckgo")]
    assert ddg["runs"] == 3 and ddg["dismissed"] == 1
    # the most productive query first
    assert queries.stats(d)[0]["query"] == "Microsoft helpdesk"


def test_stats_cli_table_and_json(tmp_path):
    path = tmp_path / "q.db"
    d = storage.open_db(path)
    rid = storage.start_run(d, "p")
    serp(d, rid, "KPN storing", "http://kpn-storing.nl/", 1)
    see(d, rid, "kpn-storing.nl", "+31881234567", "2026-11-01T08:00:00+00:00")
    d.close()
    table = CliRunner().invoke(main, ["queries", "stats", "--db", str(path)])
    assert table.exit_code == 0 and "KPN storing" in table.output and "confirmed" in table.output
    rows = CliRunner().invoke(main, ["queries", "stats", "--json", "--db", str(path)])
    (row,) = [json.loads(x) for x in rows.output.splitlines()]
    assert row["query"] == "KPN storing" and row["flagged"] == 1


def test_one_query_profile_names_the_brand():
    profile = load_profile(DEMO / "profile.toml")
    one = queries.one_query_profile(profile, "iCloud account geblokkeerd bellen")
    assert one.queries() == [("Apple", "iCloud account geblokkeerd bellen")]
    assert queries.one_query_profile(profile, "pc hulp").queries() == [(None, "pc hulp")]
    assert one.engines == profile.engines and one.brands == profile.brands


def test_try_runs_one_query_and_stores_nothing(tmp_path):
    from crawler.demo.web import DemoWeb

    exe = Path(sys.executable).with_name("serpwatch")
    with DemoWeb() as web:
        text = (DEMO / "profile.toml").read_text()
        text = text.replace("http://127.0.0.1:8080/search", web.search_url)
        text = text.replace('brands = "brands.toml"', f'brands = "{DEMO}/brands.toml"')
        (tmp_path / "p.toml").write_text(text)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["http_proxy"] = web.proxy_url
        proc = subprocess.run(
            [str(exe), "queries", "try", "p.toml", "KPN klantenservice bellen"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
        as_json = subprocess.run(
            [str(exe), "queries", "try", "p.toml", "KPN klantenservice bellen", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "query 'KPN klantenservice bellen' (brand KPN) on bing" in out
    assert "kpn-storingsdienst.nl" in out and "+31881234567" in out
    assert "official (KPN)" in out  # kpn.com's own number
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]  # nothing stored
    results = [json.loads(x) for x in as_json.stdout.splitlines()]
    ad = next(r for r in results if r["is_ad"])
    assert ad["landing_url"] == "http://kpn-storingsdienst.nl/"
    (number,) = ad["numbers"]
    assert number["phone"] == "+31881234567" and number["risk"] == "high"
    assert "shown in a paid ad (+15)" in number["reasons"]
