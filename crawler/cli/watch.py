"""Commands for scheduled crawls: `watch`, `status`, `alerts test`.

`watch` is the foreground loop for containers and for users without cron or
Scrapyd: each cycle runs `serpwatch crawl` as a child process (a Twisted
reactor runs once per process), which stores the run and sends the profile's
alerts; then it sleeps until the next start. SIGTERM or SIGINT while sleeping
stops it at once (exit 0); during a crawl the signal is passed to the crawl
(once: the crawl runs in its own process group), which records its run as
interrupted, and watch exits 143 (130 for SIGINT; SIGHUP, the terminal
closed, stops it as SIGTERM does, with 129). After `--cycles N` it exits
with the last failing crawl's code, 0 when all succeeded.

`status` is a health check for Nagios/Icinga and container health checks.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import click

from crawler.cli.common import db_option, friendly, setting_overrides

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.I)


def parse_duration(text: str) -> float:
    """Seconds in "90s", "30m", "6h", "1d", "1h30m" or a bare number of seconds."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = _DURATION.findall(value)
        if not parts or _DURATION.sub("", value).strip():
            raise ValueError(f"{text!r} is not a duration; write e.g. 90s, 30m, 6h, 1d or 1h30m")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than 0")
    return seconds


class Duration(click.ParamType):
    name = "DURATION"

    def convert(self, value, param, ctx):
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _ago(seconds: float) -> str:
    from crawler.progress import duration

    return duration(seconds) + " ago"


# -- status ----------------------------------------------------------------------------


def health(db, db_path, max_age: float, now: datetime | None = None) -> dict:
    """Is the database's last run recent, finished and unblocked? One reason either way."""
    from crawler import lock, storage

    now = now or datetime.now(UTC)
    out: dict = {"ok": False, "max_age_seconds": max_age, "running": None}
    last = storage.last_run(db)
    if last is None:
        out["reason"] = "no run yet"
        return out
    if last["status"] == "running":
        holder = lock.current_holder(db_path)
        if holder is not None:
            out["running"] = {"run_id": last["id"], "started_at": last["started_at"]}
        else:
            out["stale_running"] = last["id"]
    run = storage.last_finished_run(db)
    if run is None:
        out["reason"] = (
            f"run {last['id']} is running, none has finished yet"
            if out["running"]
            else f"run {last['id']} never finished and no crawl holds the lock (killed?)"
        )
        return out
    finished = storage.parse_time(run["finished_at"])
    age = (now - finished).total_seconds() if finished else None
    summary = storage.RunSummary.from_row(run)
    blocked, warnings = summary.blocked, summary.warnings
    out.update(
        run_id=run["id"],
        profile=run["profile"],
        status=run["status"],
        job=run.get("job"),
        finished_at=run["finished_at"],
        age_seconds=age,
        blocked=blocked,
        warnings=warnings,
        # Counted when the run closed: a crawl running now moves its pairs' last run on.
        flagged=summary.counts["flagged_pairs"]
        if summary.counts
        else storage.flagged_in_run(db, run["id"]),
    )
    what = f"run {run['id']} ({run['profile']})"
    # A blocked run (every engine blocked) ended; its blocks are said below.
    if run["status"] not in ("finished", "blocked"):
        out["reason"] = f"{what} ended {run['status']} {_ago(age or 0)}"
    elif age is None or age > max_age:
        out["reason"] = f"{what} finished {_ago(age or 0)}, more than --max-age allows"
    elif blocked:
        names = ", ".join(f"{k} ({v})" for k, v in sorted(blocked.items()))
        out["reason"] = f"{what} finished {_ago(age)} but was blocked by {names}"
    elif out.get("stale_running"):
        out["reason"] = (
            f"run {out['stale_running']} is marked running but no crawl holds the lock (killed?)"
        )
    else:
        out["ok"] = True
        extra = f", {len(warnings)} warnings" if warnings else ""
        out["reason"] = (
            f"{what} finished {_ago(age)}, {out['flagged']} flagged pairs, no engine blocked{extra}"
        )
    if out["running"]:
        out["reason"] += f"; run {last['id']} running since {last['started_at']}"
    return out


@click.command()
@db_option
@click.option(
    "--max-age",
    type=Duration(),
    default="12h",
    show_default=True,
    help="Oldest acceptable finish of the last run (e.g. 90m, 12h, 2d).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object for dashboards.")
@friendly
def status(db_path, max_age, as_json):
    """Health check: exit 0 when the last run finished recently and unblocked.

    Prints one line saying why (OK: ... or PROBLEM: ...). Exit 1 when the last
    run is too old, failed, was blocked by an engine, or there is none; 2 when
    the database does not exist. For Nagios/Icinga checks and container health
    checks; --json for dashboards.

    Example: serpwatch status --db nl.db --max-age 12h
    """
    from pathlib import Path

    from crawler import storage

    if not Path(db_path).exists():
        raise click.BadParameter(f"{db_path}: no such database", param_hint="--db")
    db = storage.open_db(db_path)
    result = health(db, db_path, max_age)
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
    else:
        click.echo(f"{'OK' if result['ok'] else 'PROBLEM'}: {result['reason']}")
    sys.exit(0 if result["ok"] else 1)


# -- alerts test -------------------------------------------------------------------------


@click.group()
def alerts():
    """Alerts through Apprise, set in the profile's [alerts] table."""


@alerts.command("test")
@click.argument("profile_path", metavar="PROFILE.toml", type=click.Path(dir_okay=False))
@friendly
def alerts_test(profile_path):
    """Send a test message to every channel in the profile's [alerts] table.

    Prints one line per channel (password masked); exit 1 if any failed.

    Example: serpwatch alerts test profiles/nl.toml
    """
    from crawler.alerts import send_test
    from crawler.config import load_profile

    profile = load_profile(profile_path)
    if profile.alerts is None:
        raise click.ClickException(f"{profile_path}: no [alerts] table with urls")
    failed = 0
    for d in send_test(profile.alerts, profile.name):
        if d.ok:
            click.echo(f"sent: {d.name}")
        else:
            failed += 1
            click.echo(f"FAILED: {d.name}: {d.error}", err=True)
    sys.exit(1 if failed else 0)


# -- watch -------------------------------------------------------------------------------

EXIT_MEANING = {
    0: "ok",
    1: "some engines failed or were blocked, or an error",
    2: "bad config",
    3: "every engine blocked",
    75: "skipped: another crawl holds the database",
    130: "interrupted (SIGINT)",
    143: "interrupted (SIGTERM)",
}


class Watcher:
    """The loop, with the signal handling that makes it stop cleanly."""

    def __init__(self, args: list[str], every: float, cycles: int, echo=click.echo):
        self.args = args
        self.every = every
        self.cycles = cycles
        self.echo = echo
        self.stop = threading.Event()
        self.signum: int | None = None
        self.child: subprocess.Popen | None = None
        self.signals = 0
        self.forwarded = 0

    def on_signal(self, signum, _frame):
        self.signum = signum
        self.signals += 1
        self.stop.set()
        self._forward()

    def _forward(self) -> None:
        """Pass each signal watch got to the crawl once: the first stops it gracefully
        (its run recorded interrupted, its alert sent), a second at once."""
        child = self.child
        # A hangup (the terminal closed) stops it as SIGTERM does: the crawl, in its own
        # process group, would go on unwatched, and it stops gracefully only on INT/TERM.
        signum = signal.SIGTERM if self.signum == signal.SIGHUP else self.signum
        while child is not None and child.poll() is None and self.forwarded < self.signals:
            self.forwarded += 1
            child.send_signal(signum)

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self.on_signal)
        cycle = last_failure = 0
        while not self.stop.is_set():
            cycle += 1
            started = time.monotonic()
            self.echo(f"watch: cycle {cycle}: crawl started {_stamp()}")
            # Its own process group: Ctrl-C on a terminal signals the whole foreground
            # group, and the crawl, signalled by the terminal and again by watch, took
            # it as a second signal and stopped unclean (no alert, no history step).
            self.child = subprocess.Popen(self.args, process_group=0)
            self._forward()  # a signal that came while the child was starting
            code = self.child.wait()
            self.child = None
            self.echo(f"watch: cycle {cycle}: crawl exit {code} ({EXIT_MEANING.get(code, '?')})")
            if self.stop.is_set():
                self.echo("watch: stopped during a crawl")
                return 128 + (self.signum or signal.SIGTERM)
            last_failure = code or last_failure
            if code == 2 and cycle == 1:
                # Nothing has crawled yet: the command line or its files are wrong, and
                # every later cycle would be refused the same way, --every apart.
                self.echo("watch: stopped: the first crawl was refused (bad usage or config)")
                return 2
            if self.cycles and cycle >= self.cycles:
                break
            wait = self.every - (time.monotonic() - started)
            if wait <= 0:
                self.echo("watch: the crawl took longer than --every; the next starts now")
                continue
            self.echo(f"watch: next crawl in {wait:.0f}s")
            if self.stop.wait(wait):
                break
        if self.stop.is_set():
            self.echo("watch: stopped")
            return 0
        self.echo(f"watch: done after {cycle} cycles")
        # A scheduler sees whether the crawls did their job, not only that the loop ended.
        return last_failure


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@click.command()
@click.argument("profile_path", metavar="PROFILE.toml", type=click.Path(dir_okay=False))
@click.option("--every", type=Duration(), required=True, help="Start a crawl this often (6h).")
@db_option
@click.option(
    "-s", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting."
)
@click.option(
    "--cycles", type=click.IntRange(min=0), default=0, help="Stop after N crawls (0: never)."
)
@friendly
def watch(profile_path, every, db_path, settings, cycles):
    """Crawl the profile every DURATION in the foreground, alerting after each run.

    For containers and hosts without cron. Each crawl is `serpwatch crawl` in a
    child process (same lock, exit codes and alerts); a crawl still running
    when the next is due delays it. SIGTERM or SIGINT stops the loop: at once
    (exit 0) while it sleeps; during a crawl the crawl is stopped and recorded
    as interrupted (exit 143 or 130; 129 for SIGHUP). After --cycles N: exit 0 when every crawl
    exited 0, else the exit code of the last one that did not. A first crawl
    refused as bad usage or config (exit 2) stops it with 2.

    Example: serpwatch watch profiles/nl.toml --every 6h --db nl.db
    """
    from crawler.config import load_profile

    load_profile(profile_path)  # a bad profile fails now (exit 2), not in every cycle
    setting_overrides(settings)  # as does a malformed -s
    # The child runs the CLI through the console script's entry point (a Ctrl-C
    # while it starts, a closed pipe: as `serpwatch crawl` would end).
    child = "from crawler.entry import run; run()"
    args = [sys.executable, "-c", child, "crawl", profile_path, "--db", db_path]
    for item in settings:
        args += ["-s", item]
    sys.exit(Watcher(args, every, cycles).run())
