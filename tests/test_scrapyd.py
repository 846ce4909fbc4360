"""A real Scrapyd on 127.0.0.1: deploy the project egg with scrapyd-deploy, schedule a
crawl of the simulated web with deploy/scrapyd/schedule.sh, poll it to the end, and
read the run back from the database and from Scrapyd's job list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest
from watchkit import ROOT, ChangingWeb, demo_profile, env_for, exe, free_port, serpwatch, wait_for

from crawler.lock import CrawlLock

HIGH = {"+31852081234", "+18442173090", "+319001234567", "+442038071234", "+31881234567"}


def _need(name: str) -> str:
    path = exe(name)
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
        pytest.skip(f"{name} is not installed")
    return path


class Scrapyd:
    def __init__(self, folder: Path, env: dict):
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scrapyd.conf").write_text(
            "[scrapyd]\n"
            f"bind_address = 127.0.0.1\nhttp_port = {self.port}\n"
            f"eggs_dir = {folder / 'eggs'}\ndbs_dir = {folder / 'dbs'}\n"
            f"logs_dir = {folder / 'logs'}\nitems_dir =\njobs_to_keep = 5\n"
            "max_proc = 2\npoll_interval = 0.3\n"
        )
        self.log = open(folder / "scrapyd.out", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [_need("scrapyd")], cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_for(self._up, timeout=60, step=0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError((self.folder / "scrapyd.out").read_text())
        try:
            return self.get("daemonstatus.json")["status"] == "ok"
        except OSError:
            return False

    def get(self, path: str, **params) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.url + path + query, timeout=10) as r:
            return json.loads(r.read())

    def post(self, path: str, data: list[tuple[str, str]]) -> dict:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        body = urllib.parse.urlencode(data).encode()
        with opener.open(self.url + path, data=body, timeout=10) as r:
            return json.loads(r.read())

    def finished(self, job: str) -> dict | None:
        jobs = self.get("listjobs.json", project="serpwatch")
        return next((j for j in jobs["finished"] if j["id"] == job), None)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scrapyd")
    with ChangingWeb() as web:
        server = Scrapyd(tmp / "server", env_for(web))
        try:
            # A clean copy of the project, as a clone has it: the build leaves
            # build/ and *.egg-info behind, which do not belong in the work tree.
            files = subprocess.run(
                ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
            ).stdout.split(b"\0")
            src = tmp / "src"
            for name in filter(None, files):
                target = src / name.decode()
                if (ROOT / name.decode()).is_file():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / name.decode(), target)
            deploy = subprocess.run(
                [_need("scrapyd-deploy"), "env", "--version", "r1"],
                cwd=src,
                env=env_for(None, SCRAPYD_URL=server.url),
                capture_output=True,
                text=True,
                timeout=180,
            )
            yield server, web, tmp, deploy
        finally:
            server.stop()


def _schedule_with_script(server, profile: Path, db: Path) -> str:
    proc = subprocess.run(
        ["sh", str(ROOT / "deploy" / "scrapyd" / "schedule.sh"), str(profile), str(db)],
        env=env_for(None, SCRAPYD_URL=server.url.rstrip("/")),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["status"] == "ok", answer
    return answer["jobid"]


def test_scrapyd_deploy_uploads_the_egg_with_its_data(scrapyd):
    server, _, _, deploy = scrapyd
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert '"status": "ok"' in deploy.stdout + deploy.stderr
    assert server.get("listprojects.json")["projects"] == ["serpwatch"]
    assert "search" in server.get("listspiders.json", project="serpwatch")["spiders"]
    (egg,) = (server.folder / "eggs" / "serpwatch").glob("r1*.egg")
    names = set(zipfile.ZipFile(egg).namelist())
    assert {
        "crawler/settings.py",
        "spiders/search.py",
        "pipelines/store.py",
        "crawler/demo/profile.toml",
        "crawler/demo/brands.toml",
        "crawler/demo/sites/microsoft-helpdesk-bellen.nl/index.html",
        "crawler/exports/recipients.toml",
    } <= names
    entry = zipfile.ZipFile(egg).read("EGG-INFO/entry_points.txt").decode()
    assert "[scrapy]" in entry and "settings = crawler.settings" in entry


def test_a_scheduled_job_crawls_into_the_database_named_in_its_settings(scrapyd):
    server, web, tmp, deploy = scrapyd
    assert deploy.returncode == 0
    profile = demo_profile(tmp / "job", web)
    db = tmp / "job" / "scrapyd.db"
    job = _schedule_with_script(server, profile, db)
    finished = wait_for(lambda: server.finished(job), timeout=150, step=0.5)
    log = (server.folder / "logs" / "serpwatch" / "search" / f"{job}.log").read_text()
    assert "Spider closed (finished)" in log, log[-3000:]
    # Without a terminal the crawl logs its progress.
    assert "[crawler.progress] INFO: progress: queries bing 7/7;" in log
    runs = serpwatch("runs", "--db", db)
    assert runs.returncode == 0
    # `serpwatch runs` and Scrapyd's job list agree on which run this job was.
    assert f"finished     demo  job {job}" in runs.stdout
    assert finished["spider"] == "search"
    flagged = serpwatch("flags", "--db", db, "--min-risk", "high", "--json")
    phones = {json.loads(line)["phone"] for line in flagged.stdout.splitlines()}
    assert HIGH <= phones
    status = serpwatch("status", "--db", db)
    assert status.returncode == 0 and status.stdout.startswith("OK: run 1 (demo)")


def test_a_job_on_a_locked_database_is_refused_and_stores_nothing(scrapyd):
    server, web, tmp, deploy = scrapyd
    assert deploy.returncode == 0
    profile = demo_profile(tmp / "locked", web)
    db = tmp / "locked" / "locked.db"
    lock = CrawlLock(db).acquire(run_id=99, profile="other")
    try:
        answer = server.post(
            "schedule.json",
            [
                ("project", "serpwatch"),
                ("spider", "search"),
                ("profile", str(profile)),
                ("setting", f"SERPWATCH_DB={db}"),
            ],
        )
        job = answer["jobid"]
        wait_for(lambda: server.finished(job), timeout=150, step=0.5)
    finally:
        lock.release()
    log = (server.folder / "logs" / "serpwatch" / "search" / f"{job}.log").read_text()
    assert f"another crawl is running on {db}: run 99, profile other" in log
    assert "Traceback" not in log
    assert not db.exists(), "the refused job opened the database"
