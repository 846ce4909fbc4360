"""The systemd units and the cron line in deploy/, tested as far as a test can: the
commands they run, with the shipped paths swapped for a test's, against the
simulated web; their exit codes; and the lock when two starts overlap."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from watchkit import ROOT, ChangingWeb, demo_profile, env_for, exe, wait_for

from crawler.lock import EXIT_BUSY, current_holder

DEPLOY = ROOT / "deploy"
SHIPPED_EXE = "/opt/serpwatch/bin/serpwatch"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / name)
    return parser


def exec_start(name: str, profile: Path, db: Path) -> list[str]:
    """The unit's ExecStart with its Environment= expanded and the test's paths in."""
    service = unit(name)["Service"]
    env = dict(line.split("=", 1) for line in service["Environment"].split("\n") if line)
    env.update(PROFILE=str(profile), DB=str(db))
    command = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], service["ExecStart"])
    args = shlex.split(command)
    assert args[0] == SHIPPED_EXE
    return [exe(), *args[1:]]


def cron_command(profile: Path, db: Path, log: Path) -> str:
    (line,) = [
        x for x in (DEPLOY / "cron" / "serpwatch").read_text().splitlines() if re.match(r"^\d", x)
    ]
    fields = line.split(None, 6)
    minute, hour, dom, month, dow, user, command = fields
    assert (minute, hour, dom, month, dow, user) == ("0", "*/6", "*", "*", "*", "serpwatch")
    command = command.replace(SHIPPED_EXE, exe())
    command = command.replace("/etc/serpwatch/nl.toml", str(profile))
    command = command.replace("/var/lib/serpwatch/nl.db", str(db))
    return command.replace("/var/log/serpwatch/crawl.log", str(log))


def test_the_units_say_what_the_readme_says():
    crawl = unit("serpwatch-crawl.service")["Service"]
    assert crawl["Type"] == "oneshot"
    assert crawl["SuccessExitStatus"].split() == [str(EXIT_BUSY)]
    timer = unit("serpwatch-crawl.timer")["Timer"]
    assert timer["OnCalendar"] == "*-*-* 00/6:00:00" and timer["Persistent"] == "true"
    watch = unit("serpwatch-watch.service")["Service"]
    assert "watch ${PROFILE} --every 6h --db ${DB}" in watch["ExecStart"]
    # `systemctl stop` signals watch alone, which passes it on once (not unclean, twice).
    assert watch["KillMode"] == "mixed"
    analyze = shutil.which("systemd-analyze")
    if analyze:  # where systemd is there, it checks the files too
        units = ["serpwatch-crawl.timer", "serpwatch-crawl.service", "serpwatch-watch.service"]
        proc = subprocess.run(
            [analyze, "verify", "--man=no", *(str(DEPLOY / "systemd" / u) for u in units)],
            capture_output=True,
            text=True,
        )
        # Only the shipped executable path is missing on a test machine.
        problems = [x for x in proc.stderr.splitlines() if "is not executable" not in x]
        assert not problems, proc.stderr


def test_the_service_command_crawls_and_a_second_start_is_skipped_with_75(tmp_path):
    db = tmp_path / "svc.db"
    log = tmp_path / "cron.log"
    with ChangingWeb(serp_delay=0.05) as web:
        web.gate.clear()
        profile = demo_profile(tmp_path, web)
        service = subprocess.Popen(
            exec_start("serpwatch-crawl.service", profile, db),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(web),
        )
        wait_for(lambda: current_holder(db) is not None)
        # The cron line starts while the timer's crawl still runs.
        cron = subprocess.run(
            ["sh", "-c", cron_command(profile, db, log)],
            env=env_for(web),
            timeout=60,
        )
        web.gate.set()
        out, err = service.communicate(timeout=120)
        # ... and again once it is done.
        again = subprocess.run(["sh", "-c", cron_command(profile, db, log)], env=env_for(web))
    assert service.returncode == 0, err[-2000:]
    assert "run 1: 7 result pages" in out
    assert cron.returncode == EXIT_BUSY
    assert again.returncode == 0
    text = log.read_text()
    assert "another crawl is running" in text and "run 2: 7 result pages" in text


@pytest.mark.parametrize("script", ["schedule.sh"])
def test_scrapyd_schedule_script_is_valid_sh(script):
    proc = subprocess.run(["sh", "-n", str(DEPLOY / "scrapyd" / script)], capture_output=True)
    assert proc.returncode == 0, proc.stderr
