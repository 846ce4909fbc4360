"""More than one machine: `serpwatch worker`, `serpwatch store` and `crawl --redis`.

How the parts fit: crawler/distributed.py (the workers' side, in Redis) and
crawler/scale_store.py (the one store). README "More than one machine" and
docs/SCALE.md say how to deploy them.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import click

from crawler import stats_keys
from crawler.cli.common import db_option, friendly, setting_overrides

FENCED = (
    "this worker was silent longer than its lease: its requests went back to the queue"
    " and other workers did them; what it still had is refused. Rejoining as a new worker"
)


def rejoin(url: str, token: str, warc_dir, settings=()) -> int:
    """A fenced worker's process cannot take work again (its Scrapy engine is spent, its
    name refused): a new process joins the run under a new name; its exit code."""
    import subprocess
    import sys

    click.echo(FENCED, err=True)
    args = [sys.executable, "-m", "crawler.cli", "worker", "--redis", url, "--run", token]
    args += ["--warc-dir", str(warc_dir)]
    for item in settings:
        args += ["-s", item]
    return subprocess.call(args)


def _connect(url: str):
    import redis

    from crawler.distributed import connect

    try:
        return connect(url)
    except (redis.RedisError, ValueError) as exc:
        raise click.ClickException(f"cannot reach Redis at {url}: {exc}") from None


def run_worker(url: str, token: str, *, seed: bool, warc_dir, overrides: dict) -> dict:
    """Work on run `token` in this process until it closes; this worker's Scrapy stats."""
    from scrapy.crawler import CrawlerProcess

    from crawler.crawl import build_settings
    from crawler.distributed import run_meta, worker_settings

    r = _connect(url)
    profile, run_settings = run_meta(r, token)
    settings = {**run_settings, **overrides}
    settings.update(worker_settings(url, token, profile, seed=seed, warc_dir=str(warc_dir)))
    process = CrawlerProcess(build_settings("unused-by-workers.db", settings))
    crawler = process.create_crawler("search")
    process.crawl(crawler, profile=profile)
    process.start()
    return crawler.stats.get_stats()


def run_distributed(profile, db_path, overrides: dict, url: str) -> dict:
    """`crawl --redis`: seed a run, store it in a thread, work on it; the run's stats."""
    from crawler import settings as defaults
    from crawler.distributed import create_run
    from crawler.evidence import warc_dir_for
    from crawler.scale_store import Store

    r = _connect(url)
    token = create_run(r, profile, overrides)
    click.echo(f"run {token} seeded in {url}; join it with: serpwatch worker --redis {url}")
    result: dict = {}
    stop = threading.Event()
    # SERPWATCH_STORE=0: a separate `serpwatch store` writes this run's database.
    own_store = str(overrides.get("SERPWATCH_STORE", "1")).lower() not in ("0", "false", "no")
    store = Store(url, db_path, token) if own_store else None

    def store_run():
        try:
            result["run_id"] = store.run(stop)
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            logging.getLogger(__name__).exception("the store failed")
            result["error"] = exc

    thread = threading.Thread(target=store_run, name="serpwatch-store", daemon=True)
    if store is not None:
        thread.start()
    warc_dir = warc_dir_for(
        db_path, overrides.get("SERPWATCH_WARC_DIR") or defaults.SERPWATCH_WARC_DIR or None
    )
    stats = run_worker(url, token, seed=True, warc_dir=warc_dir, overrides={})
    if stats.get("finish_reason") == "fenced":
        # Our worker stalled and was replaced; the store goes on, a new worker helps.
        rejoin(url, token, warc_dir)
    elif stats.get("finish_reason") != "finished":
        # Interrupted: the run stays open in Redis for the other workers and a store.
        stop.set()
    if store is not None:
        thread.join()
    else:
        result["run_id"] = _wait_closed(r, token, stop)
    if "error" in result:
        raise click.ClickException(f"the store failed: {result['error']}")
    if result.get("run_id") is None:
        raise click.ClickException(
            f"stopped before run {token} closed; it stays open in Redis:"
            f" `serpwatch worker --redis URL` and `serpwatch store --redis URL` finish it"
        )
    return {**stats, stats_keys.RUN_ID: result.get("run_id")}


def _wait_closed(r, token: str, stop: threading.Event) -> int | None:
    """The database run id, once the separate store has closed the run."""
    import time

    from crawler.distributed import Keys, state

    while not stop.is_set() and state(r, token) != "closed":
        time.sleep(0.5)
    value = r.hget(Keys(token).meta, "db_run")
    return int(value) if value else None


redis_option = click.option(
    "--redis", "url", required=True, metavar="URL", help="Redis server, redis://HOST:PORT/DB."
)
run_option = click.option("--run", "token", help="The run to join (default: the newest open run).")
wait_option = click.option(
    "--wait",
    default=60.0,
    show_default=True,
    type=float,
    help="Seconds to wait for an open run.",
)


def _pick_run(r, token, wait) -> str | None:
    from crawler.distributed import open_run, state

    if token:
        if state(r, token) is None:
            raise click.ClickException(f"no run {token!r} in Redis")
        return token
    token = open_run(r, wait)
    if token is None:
        click.echo(f"no open run after {wait:g} s; nothing to do", err=True)
    return token


@click.command()
@redis_option
@run_option
@wait_option
@click.option(
    "--warc-dir",
    default="serpwatch-warc",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for this worker's WARC file.",
)
@click.option(
    "-s", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting."
)
@friendly
def worker(url, token, wait, warc_dir, settings):
    """Join a running distributed crawl as one more worker; leave when it closes.

    Takes requests from the run's shared queue, pushes what it finds to the
    run's stream (it never writes the database) and keeps its evidence in its
    own WARC file. Start and stop workers at any time: a stopped worker's
    requests go back to the queue.

    Example: serpwatch worker --redis redis://10.0.0.5:6379/0
    """
    from crawler.distributed import state

    r = _connect(url)
    token = _pick_run(r, token, wait)
    if token is None:
        return
    if state(r, token) == "closed":
        click.echo(f"run {token} is closed; nothing to join")
        return
    click.echo(f"joining run {token}")
    stats = run_worker(
        url, token, seed=False, warc_dir=Path(warc_dir), overrides=setting_overrides(settings)
    )
    if stats.get("finish_reason") == "fenced":
        code = rejoin(url, token, warc_dir, settings)
        if code:
            raise SystemExit(code)
        return
    pages = stats.get(stats_keys.DISTRIBUTED("items_pushed"), 0)
    click.echo(f"run {token}: this worker pushed {pages} items; the run is closed")


@click.command()
@redis_option
@db_option
@run_option
@wait_option
@friendly
def store(url, db_path, token, wait):
    """Write a distributed crawl's findings into the database and close the run.

    The only writer of the database: reads what the workers push to the run's
    stream, resumes after its last acknowledged entry when restarted, and
    closes the run when the queue is empty and no worker holds work.

    Example: serpwatch store --redis redis://10.0.0.5:6379/0 --db nl.db
    """
    from crawler import storage
    from crawler.cli.runs import summary_lines as _summary_lines
    from crawler.scale_store import Store

    r = _connect(url)
    token = _pick_run(r, token, wait)
    if token is None:
        return
    click.echo(f"storing run {token} into {db_path}")
    writer = Store(url, db_path, token)
    run_id = writer.run()
    if run_id is None:
        raise click.ClickException(f"run {token} was closed by another store")
    click.echo(f"stored {writer.stored} stream entries")
    if writer.lag:
        lag = sorted(writer.lag)
        pick = {"p50": lag[len(lag) // 2], "p95": lag[int(len(lag) * 0.95)], "max": lag[-1]}
        # Seconds from a worker's push to the store's commit (bench/scale.py reads this line).
        click.echo("store lag: " + json.dumps({k: round(v, 3) for k, v in pick.items()}))
    db = storage.open_db(db_path)
    for line in _summary_lines(db, run_id):
        click.echo(line)
    for path in storage.run_warcs(db, run_id):
        click.echo(f"evidence: {path}")
    db.close()
