"""Alerts after each run, through Apprise, on what changed: never the same thing twice.

The profile's optional `[alerts]` table (crawler.config.AlertsConfig) names
Apprise URLs (mail, Slack, Teams, Matrix, Telegram, ntfy, webhooks, ...) and
the lowest risk alerted. After a run, `collect` finds:

- numbers and sites at or above `min_risk` that no alert has named yet
  ("new": first seen in this run; else "now <risk>");
- numbers back after an absence (crawler.history's `changes`);
- numbers and sites an analyst confirmed, seen again (once per decision);
- engines that blocked the run; run warnings (an engine with no results, ...);
- a run that failed, or that flagged nothing where the profile's last run did.

Each channel gets one message per run with every item it was not told before
(the `alerts` ledger, per channel), grouped by kind; links and domains are
defanged (hxxp, [.]); each number carries its score, top reasons, the page,
the WARC evidence and the screenshot where there is one (attached too). A
channel that fails is tried SERPWATCH_ALERT_RETRIES times, logged, recorded
in `alert_deliveries`, and its items stay out of its ledger so the next run
tells it again. Nothing here can fail a crawl.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from crawler import stats_keys, storage
from crawler.config import AlertsConfig, mask_url
from crawler.risk import RISK_ORDER

logger = logging.getLogger(__name__)

# Set by the first SIGINT or SIGTERM (crawler/crawl.py): a failed alert is not tried
# again, so a stop does not wait out the retries; its channel is told next run.
STOP_RETRIES = threading.Event()


SECTIONS = (
    ("run", "RUN PROBLEMS"),
    ("blocked", "ENGINES THAT BLOCKED THE RUN"),
    ("number", "NEW NUMBERS"),
    ("back", "NUMBERS BACK AFTER AN ABSENCE"),
    ("confirmed", "CONFIRMED SCAMS SEEN AGAIN"),
    ("site", "NEW SITES FOR KNOWN NUMBERS"),
)
# A section's subject in a title that counts one ("1 run problem").
ONE = {
    "run": "run problem",
    "blocked": "engine that blocked the run",
    "number": "new number",
    "back": "number back after an absence",
    "confirmed": "confirmed scam seen again",
    "site": "new site for a known number",
}
MAX_ATTACHMENTS = 5
MAX_PAIRS_PER_NUMBER = 5


@dataclass
class AlertItem:
    """One thing to tell: its ledger key, section, headline and detail lines."""

    key: str
    kind: str  # a SECTIONS key
    headline: str
    lines: list[str] = field(default_factory=list)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, bytes)
    subject: str = ""  # the number an item is about, if any


@dataclass
class Delivery:
    channel: str  # a hash of the URL: the ledger never stores secrets
    name: str  # the URL with its password masked
    ok: bool
    attempts: int
    items: int
    error: str = ""


# -- defanging ---------------------------------------------------------------------

_HOSTLIKE = re.compile(r"\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})\b", re.I)


def defang(text: str) -> str:
    """Links and domain names that no mail client or chat app turns into a link."""
    text = re.sub(r"\bhttp(s?)://", r"hxxp\1://", text, flags=re.I)
    return _HOSTLIKE.sub(lambda m: m.group(1).replace(".", "[.]"), text)


def channel_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


# -- what to tell --------------------------------------------------------------------


def _risk_ok(risk: str | None, floor: str) -> bool:
    return RISK_ORDER.get(risk or "", 0) >= RISK_ORDER[floor]


def _where(p: dict) -> str:
    """The pair's site, defanged; a card without a website (issue 16) says so."""
    return defang(p["domain"]) if p["domain"] else f"a {p.get('engine')} card without a website"


def _pair_lines(p: dict, warc_dir: Path | None) -> tuple[list[str], list[tuple[str, bytes]]]:
    where = "ad" if p.get("is_ad") else "result"
    rank = f" #{p['rank']}" if p.get("rank") else ""
    reasons = json.loads(p.get("reasons") or "[]")[:3]
    lines = [
        f"  {_where(p)}: {defang(p.get('url') or '')}",
        f"    score {p.get('score')} ({p.get('risk')}); {p.get('engine')} {where}{rank}"
        f" for {p.get('query')!r}",
    ]
    if reasons:
        lines.append("    why: " + defang("; ".join(reasons)))
    if p.get("warc_file"):
        lines.append(
            f"    evidence: {_in_folder(p['warc_file'], warc_dir)}"
            f" record {p.get('warc_record_id') or '?'}"
        )
    where_shot, shot = _screenshot(p, warc_dir)
    if where_shot:
        lines.append(f"    screenshot: {where_shot}")
    return lines, [shot] if shot else []


def _in_folder(name: str, warc_dir: Path | None) -> Path:
    path = Path(name)
    return warc_dir / path if warc_dir is not None and not path.is_absolute() else path


def _screenshot(p: dict, warc_dir: Path | None) -> tuple[str | None, tuple[str, bytes] | None]:
    """Where the page's screenshot is (the `screenshot` field the browser fills, as
    exports read it: a WARC record id, {"warc_file", "warc_record_id"} or a file)
    and its bytes when they are at hand."""
    from crawler.exports.evidence_files import EvidenceFiles

    cited = p.get("screenshot")
    if not cited or not isinstance(cited, str):
        return None, None
    where = cited
    if cited.startswith("{"):
        try:
            data = json.loads(cited)
        except ValueError:
            data = {}
        record = data.get("warc_record_id") or data.get("record_id")
        warc = data.get("warc_file") or p.get("warc_file")
        where = data.get("path") or f"{_in_folder(warc or '?', warc_dir)} record {record}"
    elif cited.startswith("<urn:"):
        where = f"{_in_folder(p.get('warc_file') or '?', warc_dir)} record {cited}"
    found = EvidenceFiles(warc_dir).screenshot(p)
    return where, (found.name, found.data) if found else None


def _number_item(kind, key, headline, pairs, warc_dir) -> AlertItem:
    item = AlertItem(key=key, kind=kind, headline=headline, subject=pairs[0]["phone"])
    reasons = json.loads(pairs[0].get("number_reasons") or "[]")[:3]
    if reasons:  # the number's own verdict, over all its sites
        item.lines.append("  number: " + defang("; ".join(reasons)))
    for p in pairs[:MAX_PAIRS_PER_NUMBER]:
        lines, shots = _pair_lines(p, warc_dir)
        item.lines += lines
        item.attachments += shots
    if len(pairs) > MAX_PAIRS_PER_NUMBER:
        item.lines.append(f"  ... and {len(pairs) - MAX_PAIRS_PER_NUMBER} more sites")
    return item


def _ended_as(run: dict, reason: str | None) -> str | None:
    """How the run ended: its recorded status, or Scrapy's reason while it is not closed
    ("shutdown" for a signal, which the closed run calls interrupted)."""
    status = run.get("status")
    if status in ("running", None) and reason and reason != "finished":
        return reason
    return status


def collect(
    db, run_id: int, min_risk: str = "high", warc_dir: Path | None = None, reason: str | None = None
) -> list[AlertItem]:
    """Everything worth telling about run `run_id`, before the ledger is consulted."""
    from crawler import triage

    run = storage.get_run(db, run_id)
    items: list[AlertItem] = []
    status = _ended_as(run, reason)
    if status not in ("finished", "running", None):
        items.append(
            AlertItem(
                key=f"run:{run_id}:failed",
                kind="run",
                headline=f"run {run_id} did not finish: {status}",
            )
        )
    summary = storage.RunSummary.from_row(run)
    for i, warning in enumerate(summary.warnings):
        items.append(
            AlertItem(key=f"run:{run_id}:warning:{i}", kind="run", headline=defang(warning))
        )
    for engine, why in sorted(summary.blocked.items()):
        items.append(
            AlertItem(key=f"blocked:{run_id}:{engine}", kind="blocked", headline=f"{engine}: {why}")
        )
    pairs = storage.alert_pairs(db, run_id)
    prev = storage.previous_run(db, run_id)
    if not pairs and prev is not None and storage.flagged_in_run(db, prev["id"]):
        items.append(
            AlertItem(
                key=f"run:{run_id}:empty",
                kind="run",
                headline=f"run {run_id} flagged nothing; the last run ({prev['id']}) flagged "
                f"{storage.flagged_in_run(db, prev['id'])} (site, number) pairs",
            )
        )
    by_number: dict[str, list[dict]] = {}
    for p in pairs:
        if p.get("number_status") == "dismissed" or p.get("site_status") == "dismissed":
            continue
        by_number.setdefault(p["phone"], []).append(p)
    back = storage.run_changes(db, run_id, "number", "back")
    decisions = triage.latest(db)
    for phone, group in by_number.items():
        risk = _number_risk(group)
        top = group[0]
        what = f"{phone} ({top.get('country') or '?'}, {top.get('number_type') or '?'})"
        best = top.get("number_score")
        if best is None:  # a database from before number verdicts: the best pair's
            best = max(p.get("score") or 0 for p in group)
        score = f"{risk}, score {best}"
        confirmed = decisions.get(phone, {}).get("status") == "confirmed"
        if confirmed:
            at = decisions[phone]["at"]
            items.append(
                _number_item(
                    "confirmed",
                    f"confirmed:{phone}:{at}",
                    f"{what}: confirmed {at[:10]}, seen again; {score}",
                    group,
                    warc_dir,
                )
            )
            continue
        if not _risk_ok(risk, min_risk):
            continue
        new = top.get("number_first_run") == run_id
        items.append(
            _number_item(
                "number",
                f"number:{phone}",
                f"{what}: {'new' if new else 'now ' + str(risk)}; {score}",
                group,
                warc_dir,
            )
        )
        if phone in back:
            items.append(
                _number_item(
                    "back", f"back:{phone}:{run_id}", f"{what}: {back[phone]}", group, warc_dir
                )
            )
        for p in group:
            if p["domain"] in decisions and decisions[p["domain"]]["status"] == "confirmed":
                continue
            if _risk_ok(p.get("risk"), min_risk):
                lines, shots = _pair_lines(p, warc_dir)
                items.append(
                    AlertItem(
                        # A card without a website (issue 16) is no site: its own item.
                        key=f"site:{p['domain']}" if p["domain"] else f"card:{phone}",
                        kind="site",
                        headline=f"{_where(p)} shows {phone}"
                        + (
                            " (new site)"
                            if p["domain"] and p.get("site_first_run") == run_id
                            else ""
                        ),
                        lines=lines,
                        attachments=shots,
                        subject=phone,
                    )
                )
    return items


def _number_risk(group: list[dict]) -> str | None:
    """The number's own risk where the scorer gives one (number_risk), else its best pair's."""
    own = [p.get("number_risk") for p in group if p.get("number_risk")]
    pool = own or [p.get("risk") for p in group]
    return max(pool, key=lambda r: RISK_ORDER.get(r or "", 0), default=None)


def for_channel(items: list[AlertItem], told: set[str]) -> tuple[list[AlertItem], list[AlertItem]]:
    """(to send, covered): what a channel was not told yet. A site whose number is in the
    same message is covered by it: not repeated, but put in the ledger all the same."""
    fresh: list[AlertItem] = []
    for item in items:
        if item.key not in told and all(item.key != f.key for f in fresh):
            fresh.append(item)
    numbers = {i.subject for i in fresh if i.kind in ("number", "back", "confirmed")}
    send = [i for i in fresh if not (i.kind == "site" and i.subject in numbers)]
    covered = [i for i in fresh if i.kind == "site" and i.subject in numbers]
    return send, covered


def compose(
    profile: str, run: dict, items: list[AlertItem]
) -> tuple[str, str, list[tuple[str, bytes]]]:
    """(title, body, attachments) of the one message for a run."""
    counts = []
    for kind, label in SECTIONS:
        n = sum(1 for i in items if i.kind == kind)
        if n:
            counts.append(f"{n} {(label if n > 1 else ONE[kind]).lower()}")
    title = f"serpwatch {profile}, run {run['id']}: " + ", ".join(counts)
    body = [
        f"Run {run['id']} of profile {profile} on {run.get('host') or '?'}"
        f" ({run.get('status')}, started {run.get('started_at')}"
        + (f", Scrapyd job {run['job']}" if run.get("job") else "")
        + ").",
        "Links are defanged: hxxp and [.] stand for http and a dot.",
    ]
    attachments: list[tuple[str, bytes]] = []
    for kind, label in SECTIONS:
        section = [i for i in items if i.kind == kind]
        if not section:
            continue
        body += ["", label]
        for item in section:
            body.append(f"- {item.headline}")
            body += item.lines
            attachments += [a for a in item.attachments if a not in attachments]
    return title, "\n".join(body), attachments[:MAX_ATTACHMENTS]


# -- sending -------------------------------------------------------------------------


class _Capture(logging.Handler):
    """Apprise says why a send failed only in its log: keep the last error."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def send(
    url: str,
    title: str,
    body: str,
    attachments: list[str] | None = None,
    *,
    retries: int = 3,
    delay: float = 2.0,
) -> Delivery:
    """Send one message to one Apprise URL, trying `retries` times with a doubling wait."""
    import apprise

    name = mask_url(url)
    capture = _Capture()
    apprise_log = logging.getLogger("apprise")
    apprise_log.addHandler(capture)
    attempts = 0
    try:
        for attempts in range(1, max(1, retries) + 1):
            notifier = apprise.Apprise()
            if not notifier.add(url):
                capture.messages.append("Apprise refused the URL")
                break
            try:
                ok = notifier.notify(
                    title=title,
                    body=body,
                    body_format=apprise.NotifyFormat.TEXT,
                    attach=attachments or None,
                )
            except Exception as exc:  # noqa: BLE001 - a plugin bug is one more failed try
                capture.messages.append(f"{type(exc).__name__}: {exc}")
                ok = False
            if ok:
                return Delivery(channel_id(url), name, True, attempts, 0)
            logger.warning("alert to %s failed (try %d of %d)", name, attempts, retries)
            if attempts < retries and STOP_RETRIES.wait(delay * 2 ** (attempts - 1)):
                capture.messages.append("the crawl was stopped before another try")
                break
    finally:
        apprise_log.removeHandler(capture)
    error = (capture.messages[-1] if capture.messages else "Apprise reported a failure")[:500]
    return Delivery(channel_id(url), name, False, attempts, 0, mask_url(error))


def alert_run(
    db,
    profile: str,
    config: AlertsConfig,
    run_id: int,
    *,
    warc_dir: Path | None = None,
    reason: str | None = None,
    retries: int = 3,
    delay: float = 2.0,
) -> list[Delivery]:
    """Tell every channel what it was not told yet about run `run_id`; record it all."""
    items = collect(db, run_id, config.min_risk, warc_dir, reason)
    run = storage.get_run(db, run_id)
    out = []
    for url in config.urls:
        channel = channel_id(url)
        todo, covered = for_channel(items, storage.alerted_keys(db, channel))
        if not todo:
            continue
        title, body, attachments = compose(profile, run, todo)
        with tempfile.TemporaryDirectory(prefix="serpwatch-alert-") as tmp:
            files = []
            for n, (name, data) in enumerate(attachments):
                path = Path(tmp) / f"{n}-{name}"
                path.write_bytes(data)
                files.append(str(path))
            delivery = send(url, title, body, files, retries=retries, delay=delay)
        delivery.items = len(todo)
        storage.record_delivery(
            db,
            {
                "run_id": run_id,
                "channel": channel,
                "channel_name": delivery.name,
                "ok": int(delivery.ok),
                "attempts": delivery.attempts,
                "items": delivery.items,
                "error": delivery.error or None,
            },
        )
        if delivery.ok:
            told = [(i.key, i.kind) for i in todo + covered]
            storage.record_alerts(db, channel, run_id, told)
            logger.info("alerted %s: %d items", delivery.name, delivery.items)
        else:
            logger.warning(
                "alert to %s failed after %d tries: %s; its %d items are kept for the next run",
                delivery.name,
                delivery.attempts,
                delivery.error,
                delivery.items,
            )
        out.append(delivery)
    return out


def send_test(config: AlertsConfig, profile: str, *, retries: int = 1) -> list[Delivery]:
    """`serpwatch alerts test`: one short message to every channel of the profile."""
    title = f"serpwatch {profile}: test alert"
    body = (
        f"This is a test from serpwatch for profile {profile}. Alerts of risk "
        f"{config.min_risk} and up will arrive here after each run. Example of a defanged "
        f"link: {defang('http://scam-helpdesk.example.nl/')}"
    )
    return [send(url, title, body, retries=retries, delay=1.0) for url in config.urls]


class AlertsExtension:
    """Scrapy extension: after the run is stored, alert the profile's channels.

    Runs in a thread (SMTP and webhooks block) that Scrapy waits for; any error
    is logged and the crawl's outcome is left as it was."""

    def __init__(self, crawler):
        from scrapy import signals

        self.crawler = crawler
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("SERPWATCH_ALERTS", True):
            raise NotConfigured
        return cls(crawler)

    def closed(self, spider, reason):
        from twisted.internet.threads import deferToThread

        profile = getattr(spider, "profile", None)
        config = getattr(profile, "alerts", None)
        run_id = self.crawler.stats.get_value(stats_keys.RUN_ID)
        if config is None or run_id is None:
            return None
        settings = self.crawler.settings
        d = deferToThread(
            self._alert,
            settings.get("SERPWATCH_DB"),
            profile.name,
            config,
            run_id,
            reason,
            settings.getint("SERPWATCH_ALERT_RETRIES", 3),
            settings.getfloat("SERPWATCH_ALERT_RETRY_DELAY", 2.0),
        )
        return d

    def _alert(self, db_path, profile, config, run_id, reason, retries, delay):
        from crawler import settings as default_settings
        from crawler.evidence import warc_dir_for

        try:
            db = storage.open_db(db_path)
            try:
                warc = self.crawler.settings.get("SERPWATCH_WARC_DIR") or (
                    default_settings.SERPWATCH_WARC_DIR or None
                )
                done = alert_run(
                    db,
                    profile,
                    config,
                    run_id,
                    warc_dir=warc_dir_for(db_path, warc),
                    reason=reason,
                    retries=retries,
                    delay=delay,
                )
            finally:
                db.close()
        except Exception:  # noqa: BLE001 - alerts never fail the crawl
            logger.exception("alerts for run %s failed; the run is stored", run_id)
            return
        for d in done:
            key = "ok" if d.ok else "failed"
            self.crawler.stats.inc_value(stats_keys.ALERTS(key))
