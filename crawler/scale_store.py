"""The one store of a distributed run: reads the workers' stream, writes SQLite, closes the run.

Workers never write the database (crawler/distributed.py): they push every
finished item to the run's stream `serpwatch:<run>:items`. The store reads it
as the consumer `store` of the group `store` and acknowledges (XACK) an entry
only after its rows are committed, so a store killed mid-stream resumes from
its last acknowledged entry: on start it first reads the entries delivered
but not acknowledged, then new ones. Rows have natural keys (storage.key) and
are upserted, so an entry written twice (killed between the commit and the
acknowledgement) leaves no duplicate. The acknowledgement and the deletion of
an entry are one transaction.

Only one store writes: it holds `serpwatch:<run>:store_lock` (renewed while
it runs). A second store, such as the seeding crawl's own, waits as a standby
and takes over when the holder dies.

The store opens its database run as a single crawl does (`open_run`,
crawler/run_recorder.py): first the runs of this host that were killed before
their end (a store's, a crawl's) are marked `interrupted` and get the history
step they never reached. A store that takes over a run resumes it instead and
catches up nothing: its dead predecessor's run is this one, ended by this store.

The run closes when it is seeded, the queue is empty and no worker holds a
lease (one atomic read), and every entry is stored: the store marks it
`closing`; workers see that when idle and leave, writing their stats and WARC
file; once none is left (or a silent one's heartbeat is a lease old) the
store scores the run with its history and closes it, as a single crawl does.

Why "empty and nothing leased, then drained" is final, with no timing in it:
a worker writes to the run (items, follow-up requests) only while it holds
the lease of the request they come from, and it gives the lease back only
after those writes are done. A lease also ends when it expires (its worker
silent for a lease: dead, or only stalled); the same atomic step that puts it
back in the queue fences its owner, and every write to the queue or the
stream checks the fence in its own atomic step (crawler/distributed.py). So
once nothing is queued or leased, no process can add anything: a stalled
worker that wakes up after the close has its late items refused, and the
request it held was done again by another (tests/test_distributed.py widens
that gap on purpose).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid

import redis

from crawler import storage, testhook
from crawler.distributed import (
    LEASE_SECONDS,
    RUNS,
    Keys,
    cleanup,
    connect,
    record_item,
    state,
)
from crawler.lock import hold
from pipelines.store import close_run, open_run, save_item

logger = logging.getLogger(__name__)

GROUP = CONSUMER = b"store"
LOCK_MS = 10_000

_IDLE = "return {redis.call('ZCARD', KEYS[1]), redis.call('HLEN', KEYS[2])}"
# Renewed; or taken again when it ran out and nobody took it (this store stalled
# longer than the lock, but no other store wrote meanwhile).
_RENEW_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class LostLock(RuntimeError):
    """Another store took the run over (this one stalled longer than the lock)."""


def merge_stats(per_worker: list[dict]) -> dict:
    """One run's stats from its workers': counts add up, lists join, the first text wins."""
    out: dict = {}
    for stats in per_worker:
        for name, value in stats.items():
            if isinstance(value, bool) or not isinstance(value, int | float | list | str):
                out.setdefault(name, value)
            elif (
                name in ("serpwatch/engines", "serpwatch/queries")
                or name.endswith("_time")
                or (name == "start_time")
            ):  # the run's, the same in every worker
                out.setdefault(name, value)
            elif name == "elapsed_time_seconds":
                out[name] = max(out.get(name, 0), value)
            elif isinstance(value, list):
                out[name] = [*out.get(name, []), *value]
            elif isinstance(value, str):
                out.setdefault(name, value)
            else:
                out[name] = out.get(name, 0) + value
    return out


class Store:
    """Writes run `token` from its stream into the SQLite file `db_path`."""

    def __init__(self, url: str, db_path, token: str, *, block_ms: int = 500):
        self.url = url
        self.db_path = db_path
        self.keys = Keys(token)
        self.block_ms = block_ms
        self.me = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.r = connect(url)
        settings = json.loads(self.r.hget(self.keys.meta, "settings") or "{}")
        # A worker silent this long is gone; the lock outlives a stalled store as long.
        self.lease_seconds = float(settings.get("SERPWATCH_LEASE_SECONDS") or LEASE_SECONDS)
        self.lock_ms = int(max(2.0, min(self.lease_seconds, LOCK_MS / 1000)) * 1000)
        self.db = None
        self.run_id: int | None = None
        self.closed_before = False
        self.stored = 0
        self.lag: list[float] = []  # seconds from XADD to commit, per entry

    # -- the lock --------------------------------------------------------------------

    def _acquire(self, stop: threading.Event | None) -> bool:
        announced = False
        while not (stop and stop.is_set()):
            if self.r.set(self.keys.store_lock, self.me, nx=True, px=self.lock_ms):
                return True
            if state(self.r, self.keys.token) == "closed":
                return False
            if not announced:
                logger.info("another store writes run %s; standing by", self.keys.token)
                announced = True
            time.sleep(0.5)
        return False

    def _renew(self) -> None:
        if not self.r.eval(_RENEW_LOCK, 1, self.keys.store_lock, self.me, self.lock_ms):
            raise LostLock(f"run {self.keys.token}: another store took over")

    # -- the run ---------------------------------------------------------------------

    def _open_run(self) -> None:
        self.db = storage.open_db(self.db_path)
        meta = self.r.hgetall(self.keys.meta)
        if b"db_run" in meta:
            self.run_id = int(meta[b"db_run"])
            row = storage.get_run(self.db, self.run_id)
            # Ended already: closed, or marked interrupted (its history step caught up)
            # by the next run opened on this host while its store was dead. A second
            # step would count its history twice.
            self.closed_before = bool(row.get("finished_at")) or row.get("status") != "running"
            if not self.closed_before:
                storage.resume_run(self.db, self.run_id)
            logger.info("resuming run %s as database run %d", self.keys.token, self.run_id)
        else:
            # As a single crawl opens its run: first the history step of a run of this
            # host killed before its end (crawler/run_recorder.py). Not when resuming:
            # this run's own dead store would be one, and its step is this store's end.
            self.run_id = open_run(self.db, meta[b"profile_name"].decode())
            self.r.hset(self.keys.meta, "db_run", self.run_id)
        try:
            self.r.xgroup_create(self.keys.items, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self, stop: threading.Event | None = None) -> int | None:
        """Store until the run is closed; its database run id (None when stopped first)."""
        if not self._acquire(stop):
            return self._closed_run_id()
        try:
            # The database's crawl lock too (crawler/lock.py): no single crawl
            # writes it while this store does.
            name = (self.r.hget(self.keys.meta, "profile_name") or b"").decode()
            with hold(self.db_path, profile=name):
                return self._store(stop)
        finally:
            self.r.eval(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end",
                1,
                self.keys.store_lock,
                self.me,
            )

    def _store(self, stop: threading.Event | None) -> int | None:
        try:
            self._open_run()
            backlog = True  # first the entries delivered before but never acknowledged
            while not (stop and stop.is_set()):
                self._renew()
                got = self._read("0" if backlog else ">")
                if backlog and not got:
                    backlog = False
                elif not got and self._pending():
                    # Delivered but never acknowledged while we were reading: a
                    # reply lost to a Redis restart. Read those again first.
                    backlog = True
                elif not got and self._maybe_close():
                    return self.run_id
            return None
        finally:
            if self.db is not None:
                self.db.close()

    def _closed_run_id(self) -> int | None:
        value = self.r.hget(self.keys.meta, "db_run")
        return int(value) if value else None

    def _read(self, start: str) -> int:
        block = None if start == "0" else self.block_ms
        answer = self.r.xreadgroup(
            GROUP, CONSUMER, {self.keys.items: start}, count=200, block=block
        )
        entries = answer[0][1] if answer else []
        if entries:
            testhook.point("store.read")
        done = []
        for entry_id, data in entries:
            if data:  # a trimmed entry has no data left
                item = record_item(data[b"kind"].decode(), data[b"body"])
                save_item(self.db, self.run_id, item)
                self.stored += 1
                millis = int(entry_id.split(b"-")[0])
                self.lag.append(max(0.0, time.time() - millis / 1000))
            done.append(entry_id)
        if done:
            testhook.point("store.committed")
            # Stored: acknowledged and deleted in one step (MULTI/EXEC). Two steps left the
            # entries acknowledged before a kill in the stream for ever (seen in CI).
            with self.r.pipeline(transaction=True) as pipe:
                pipe.xack(self.keys.items, GROUP, *done)
                pipe.xdel(self.keys.items, *done)
                pipe.execute()
        return len(entries)

    def _pending(self) -> int:
        return self.r.xpending(self.keys.items, GROUP)["pending"]

    def _drained(self) -> bool:
        """Every entry of the stream was read and acknowledged."""
        info = self.r.xinfo_stream(self.keys.items)
        last = info["last-generated-id"]
        for group in self.r.xinfo_groups(self.keys.items):
            if group["name"] == GROUP:
                return group["pending"] == 0 and group["last-delivered-id"] == last
        return False

    def _live_workers(self) -> list[str]:
        """Workers whose goodbye (stats, WARC file) is still to come."""
        now = time.time()
        gone = self.r.smembers(self.keys.fenced)
        live = []
        for worker, beat in self.r.hgetall(self.keys.workers).items():
            if worker in gone or now - float(beat) > self.lease_seconds:
                self.r.hdel(self.keys.workers, worker)  # died (or fenced) without a goodbye
            else:
                live.append(worker.decode())
        return live

    def _maybe_close(self) -> bool:
        k = self.keys
        current = state(self.r, k.token)
        if current == "open":
            seeded = self.r.hget(k.meta, "seeded")
            queued, leased = self.r.eval(_IDLE, 2, k.requests, k.leases)
            # Final by construction (module docstring): read in one step, nothing
            # queued and nothing leased means nobody can add an entry or a request
            # any more, so the stream, once drained, stays drained.
            if seeded and not queued and not leased and self._drained():
                self.r.hset(k.meta, "state", "closing")
                logger.info("run %s: queue empty, nothing leased; closing", k.token)
            return False
        if current == "closing" and not self._live_workers() and self._drained():
            self._finish()
            return True
        return current == "closed"

    def _finish(self) -> None:
        k = self.keys
        if self.closed_before:
            # A store killed during the close (after the database's, before Redis's), or
            # its run ended while no store ran (`_open_run`): scoring it with history
            # again would count twice.
            logger.info("run %s: database run %d was ended already", k.token, self.run_id)
            self._closed_in_redis()
            return
        per_worker = [json.loads(v) for v in self.r.hgetall(k.wstats).values()]
        stats = merge_stats(per_worker)
        stats["finish_reason"] = "finished"
        stats["serpwatch/run_id"] = self.run_id
        stats["serpwatch/distributed/workers"] = len(per_worker)
        stats["serpwatch/distributed/token"] = k.token
        warcs = {p.decode(): w.decode() for p, w in self.r.hgetall(k.warcs).items()}
        storage.save_run_warcs(self.db, self.run_id, warcs)
        close_run(self.db, self.run_id, stats)
        testhook.point("store.finish")
        self._closed_in_redis()
        logger.info("run %s closed as database run %d", k.token, self.run_id)

    def _closed_in_redis(self) -> None:
        k = self.keys
        self.r.hset(k.meta, "state", "closed")
        self.r.zrem(RUNS, k.token)
        cleanup(self.r, k)
