"""Distributed mode: many workers, one queue, one store, through a Redis server.

The same search spider runs in every worker; settings switch it
(`worker_settings`). What a single crawl keeps in its own memory lives in
Redis under `serpwatch:<run>:`, where <run> is the run's token:

- `requests` (sorted set): scrapy-redis's scheduler queue, shared by every
  worker; `dupefilter` (set): its duplicate filter. scrapy-redis pops without
  acknowledgement, so `LeasedQueue` moves each popped request to a lease
  (`leases`, `lease_score`, `lease_exp`, `lease_owner`) that the worker
  renews every HEARTBEAT seconds while Scrapy still works on it and deletes
  (acknowledges) once the request's callback and the pipelines of its items
  are done. A lease that is not renewed for LEASE_SECONDS (its worker died)
  goes back to the queue (`reap`): a worker killed mid-run loses no request.
- `merge:<qi>:*`: the per-query merge of showings across engines
  (crawler/merge.py's rule, this state updated atomically by Lua scripts), so a
  landing page is fetched once per query however many workers saw it.
  `once` (set): the queue also refuses a landing request it has queued before
  for the same query, so a request redelivered after a crash cannot fetch it twice.
- `rate:<engine>`: the next moment the engine may be asked, shared by all
  workers (`EngineRateLimit`), unless the profile says `per_worker_limits = true`.
- `items` (stream): every finished item, for the one store (crawler/scale_store.py).
- `meta` (hash): the profile (pickled: workers run the same serpwatch version;
  Redis is trusted like the queue, whose requests scrapy-redis pickles too),
  the settings, `seeded`, `state` (open, closing, closed) and the store's `db_run`.
- `workers` (hash): worker → last heartbeat; `wstats` (hash): worker → its
  final Scrapy stats; `warcs` (hash): each worker's WARC file → the worker.

`serpwatch:runs` (sorted set) lists the open runs, newest last.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import pickle
import socket
import time
import uuid
from dataclasses import replace
from pathlib import Path

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler import testhook
from crawler.items import (
    PageItem,
    QueryOutcome,
    RelatedItem,
    SerpItem,
    SerpShotItem,
    UnparsedItem,
)
from crawler.landing import LANDING_META
from crawler.merge import Landing, Showing, landing, merge_key
from crawler.net.netguard import RefusedRequest
from crawler.render.policy import RenderBudget

logger = logging.getLogger(__name__)

RUNS = "serpwatch:runs"
LEASE_SECONDS = 30.0  # a lease not renewed this long goes back to the queue
HEARTBEAT = 1.0  # seconds between a worker's lease renewals
FLUSH_AT = 500  # items a worker collects before it pushes them without waiting for a beat


def connect(url: str) -> redis.Redis:
    """A client that rides out a Redis restart (a few seconds of retries).

    The first contact retries only briefly (a restart in progress): a wrong address
    is one clear error within seconds.
    """
    quick = Retry(ExponentialBackoff(cap=1.0, base=0.2), 4)
    with redis.Redis.from_url(
        url,
        socket_connect_timeout=5,
        socket_timeout=10,
        retry=quick,
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    ) as first:
        first.ping()
    client = redis.Redis.from_url(
        url,
        socket_timeout=30,
        socket_connect_timeout=10,
        health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), 25),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
    client.ping()
    return client


class Keys:
    """The Redis keys of one run."""

    def __init__(self, token: str):
        self.token = token
        self.prefix = p = f"serpwatch:{token}"
        self.meta = f"{p}:meta"
        self.requests = f"{p}:requests"
        self.dupefilter = f"{p}:dupefilter"
        self.once = f"{p}:once"
        self.leases = f"{p}:leases"
        self.lease_score = f"{p}:lease_score"
        self.lease_exp = f"{p}:lease_exp"
        self.lease_owner = f"{p}:lease_owner"
        self.lease_seq = f"{p}:lease_seq"
        self.beats = f"{p}:beats"
        self.engines = f"{p}:engines"
        self.items = f"{p}:items"
        self.workers = f"{p}:workers"
        self.wstats = f"{p}:wstats"
        self.warcs = f"{p}:warcs"
        self.store_lock = f"{p}:store_lock"
        self.fenced = f"{p}:fenced"
        self.engine_block = f"{p}:engine_block"
        self.engine_pause = f"{p}:engine_pause"
        self.render_budget = f"{p}:render_budget"

    def rate(self, engine: str) -> str:
        return f"{self.prefix}:rate:{engine}"

    def merge(self, qi: int) -> list[str]:
        """done (set of engines), state (hash), hits (hash key → showings), order (list)."""
        return [f"{self.prefix}:merge:{qi}:{part}" for part in ("done", "state", "hits", "order")]


# -- the run -----------------------------------------------------------------------


def create_run(r: redis.Redis, profile, overrides: dict) -> str:
    """Write a new run (its profile and settings) into Redis; its token."""
    token = f"{time.strftime('%Y%m%dT%H%M%S')}-{r.incr('serpwatch:run_seq')}"
    keys = Keys(token)
    r.hset(
        keys.meta,
        mapping={
            "profile": pickle.dumps(profile),
            "profile_name": profile.name,
            "settings": json.dumps(overrides, default=str),
            "state": "open",
            "created": time.time(),
        },
    )
    r.zadd(RUNS, {token: time.time()})
    return token


def open_run(r: redis.Redis, wait: float = 0.0) -> str | None:
    """The newest open run, waiting up to `wait` seconds for one."""
    deadline = time.monotonic() + wait
    while True:
        for token in reversed(r.zrange(RUNS, 0, -1)):
            token = token.decode()
            if state(r, token) == "open":
                return token
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.5)


def state(r: redis.Redis, token: str) -> str | None:
    value = r.hget(Keys(token).meta, "state")
    return value.decode() if value else None


def cleanup(r: redis.Redis, keys: Keys, keep_days: int = 7) -> None:
    """A closed run's working state goes; its meta, stats and WARC list stay a while."""
    doomed = [keys.requests, keys.dupefilter, keys.once, keys.leases, keys.lease_score]
    doomed += [keys.lease_exp, keys.lease_owner, keys.lease_seq, keys.engines, keys.workers]
    doomed += [keys.engine_block, keys.engine_pause, keys.beats, keys.render_budget]
    for pattern in (f"{keys.prefix}:merge:*", f"{keys.prefix}:rate:*"):
        doomed += list(r.scan_iter(match=pattern, count=1000))
    for i in range(0, len(doomed), 500):
        r.delete(*doomed[i : i + 500])
    # The fenced workers stay fenced: one may still wake up and try to write.
    for key in (keys.meta, keys.wstats, keys.warcs, keys.items, keys.fenced):
        r.expire(key, keep_days * 86400)


def run_meta(r: redis.Redis, token: str) -> tuple[object, dict]:
    """The run's profile and its settings overrides."""
    meta = r.hgetall(Keys(token).meta)
    if not meta:
        raise LookupError(f"no run {token!r} in Redis")
    return pickle.loads(meta[b"profile"]), json.loads(meta[b"settings"])


# -- Lua: every read-modify-write of shared state is one script, so it is atomic ----

# KEYS: requests, leases, lease_score, lease_exp, lease_owner, lease_seq, fenced.
# ARGV: worker, lease ms. A fenced worker gets nothing.
_POP = """
if redis.call('SISMEMBER', KEYS[7], ARGV[1]) == 1 then return false end
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[2], id, item[1])
redis.call('HSET', KEYS[3], id, item[2])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), id)
redis.call('HSET', KEYS[5], id, ARGV[1])
return {tostring(id), item[1]}
"""

_ACK = """
for _, id in ipairs(ARGV) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
return #ARGV
"""

# KEYS: lease_exp, beats. ARGV: worker, lease ms, then the leases it holds.
# A worker's beat: its leases renewed and the beat's moment (Redis's clock) recorded
# in one step, so "beat recently" means "renewed every lease it knew of then".
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now, ARGV[1])
local n = 0
for i = 3, #ARGV do
  n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[i])
end
return n
"""

# KEYS: requests, leases, lease_score, lease_exp, lease_owner, fenced, beats. ARGV: lease ms.
# An expired lease goes back to the queue. Its owner, if it has not beaten for a
# lease (dead, or alive but stalled), is fenced in the same step: whatever it
# still sends is refused, so the request's second run is the only one that
# counts. An owner that beat since did not know the lease (a pop whose reply was
# lost to a Redis restart: the beat renews every lease it knows): not fenced.
_REAP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
for _, id in ipairs(ids) do
  local data = redis.call('HGET', KEYS[2], id)
  if data then
    redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[3], id), data)
  end
  local owner = redis.call('HGET', KEYS[5], id)
  if owner then
    local beat = tonumber(redis.call('ZSCORE', KEYS[7], owner) or '0')
    if now - beat >= tonumber(ARGV[1]) then redis.call('SADD', KEYS[6], owner) end
  end
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
end
return #ids
"""

# KEYS: requests, fenced, once. ARGV: worker, score, request, the `once` member or ''.
# 1 queued, 0 a landing page queued before for its query, -1 the worker is fenced.
_PUSH = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return -1 end
if ARGV[4] ~= '' and redis.call('SADD', KEYS[3], ARGV[4]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1
"""

# KEYS: items stream, fenced. ARGV: worker, then kind and body of each item.
# The stream entries' ids, or false when the worker is fenced (nothing added).
_XADD = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return false end
local ids = {}
for i = 2, #ARGV, 2 do
  table.insert(ids, redis.call('XADD', KEYS[1], '*', 'kind', ARGV[i], 'body', ARGV[i + 1],
    'worker', ARGV[1]))
end
return ids
"""

# KEYS: done, state, hits, order. ARGV: merge key, showing id, showing JSON.
_MERGE_ADD = """
local released = redis.call('HGET', KEYS[2], 'released')
if released then
  if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
    if redis.call('HGET', KEYS[2], 'late:' .. ARGV[1]) == ARGV[2] then
      return {ARGV[3]}  -- the same straggler again (a redelivered request)
    end
    return {}
  end
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('HSET', KEYS[2], 'late:' .. ARGV[1], ARGV[2])
  return {ARGV[3]}
end
if redis.call('HSETNX', KEYS[2], 'id:' .. ARGV[2], 1) == 0 then return {} end
local old = redis.call('HGET', KEYS[3], ARGV[1])
if old then
  redis.call('HSET', KEYS[3], ARGV[1], old .. '\\n' .. ARGV[3])
else
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('RPUSH', KEYS[4], ARGV[1])
end
return {}
"""

# KEYS: engines, done, state, hits, order. ARGV: engine.
_MERGE_DONE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {} end
redis.call('SADD', KEYS[2], ARGV[1])
local released = redis.call('HGET', KEYS[3], 'released')
if released then
  if released ~= ARGV[1] then return {} end
else
  if redis.call('SCARD', KEYS[2]) < redis.call('SCARD', KEYS[1]) then return {} end
  redis.call('HSET', KEYS[3], 'released', ARGV[1])
end
local out = {}
for _, key in ipairs(redis.call('LRANGE', KEYS[5], 0, -1)) do
  table.insert(out, redis.call('HGET', KEYS[4], key))
end
return out
"""

# KEYS: rate key. ARGV: delay in ms. Zero or less: go now (minus the grant's moment
# in ms, Redis's clock; the next may go `delay` later); else the ms to wait before
# asking again. Granted when the request really leaves,
# so a worker that wakes late cannot send a burst of requests reserved earlier.
_RATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if now >= nxt then
  redis.call('SET', KEYS[1], tostring(now + tonumber(ARGV[1])), 'PX', 3600000)
  return -now
end
return nxt - now
"""


# KEYS: engine_pause, the engine's rate key. ARGV: engine, seconds in ms.
# The pause is a moment on Redis's clock, the same for every machine; the engine's
# rate limit (EngineRateLimit) grants nothing before it either.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local till = now + tonumber(ARGV[2])
if till > tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') then
  redis.call('HSET', KEYS[1], ARGV[1], till)
end
if till > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], tostring(till), 'PX', 3600000)
end
return till
"""

# KEYS: engine_pause. ARGV: engine. Milliseconds of pause left.
_PAUSE_LEFT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local till = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if till > now then return till - now end
return 0
"""


class RedisEngines:
    """The engines' blocks and pauses of one run, for every worker (engine_state.SharedEngines).

    The rules stay in crawler/engine_state.py; this only keeps the state,
    each change one atomic step: the first block recorded wins (HSETNX), a
    pause never shrinks.
    """

    def __init__(self, r: redis.Redis, token: str):
        self.r = r
        self.keys = Keys(token)
        self._pause = r.register_script(_PAUSE)
        self._left = r.register_script(_PAUSE_LEFT)

    def blocked(self, engine: str) -> str | None:
        value = self.r.hget(self.keys.engine_block, engine)
        return value.decode() if value else None

    def block(self, engine: str, reason: str) -> bool:
        return bool(self.r.hsetnx(self.keys.engine_block, engine, reason))

    def pause(self, engine: str, seconds: float) -> None:
        keys = [self.keys.engine_pause, self.keys.rate(engine)]
        self._pause(keys=keys, args=[engine, int(seconds * 1000)])

    def pause_left(self, engine: str) -> float:
        return self._left(keys=[self.keys.engine_pause], args=[engine]) / 1000


class RedisMerges:
    """crawler.merge.QueryMerges with its state in Redis, shared by every worker.

    One difference, for redelivered requests: `done` by the engine that
    released a query returns its landings again (the first worker may have
    died before queueing them); the queue's `once` set drops the copies.
    """

    def __init__(self, r: redis.Redis, token: str, engines: list[str]):
        self.r = r
        self.keys = Keys(token)
        self.order = {name: i for i, name in enumerate(engines)}
        r.sadd(self.keys.engines, *engines)
        self._add = r.register_script(_MERGE_ADD)
        self._done = r.register_script(_MERGE_DONE)

    @staticmethod
    def _id(s: Showing) -> str:
        return "\x1f".join(str(x) for x in (s.engine, s.is_ad, s.rank, s.ad_position, s.serp_url))

    def add(self, qi: int, showing: Showing) -> list[Landing]:
        body = json.dumps(showing.as_dict(), sort_keys=True)
        out = self._add(keys=self.keys.merge(qi), args=[showing.key, self._id(showing), body])
        return [landing(qi, [Showing.from_dict(json.loads(x))], self.order) for x in out]

    def done(self, engine: str, qi: int) -> list[Landing]:
        out = self._done(keys=[self.keys.engines, *self.keys.merge(qi)], args=[engine])
        return [
            landing(qi, [Showing.from_dict(json.loads(x)) for x in hits.split(b"\n")], self.order)
            for hits in out
        ]


# -- the queue: scrapy-redis's, with leases ------------------------------------------

LEASE_META = "serpwatch_lease"


class Fenced(RuntimeError):
    """This worker's leases were given to others (it was silent too long): it must leave."""


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue; a popped request is leased until acknowledged.

    Pushes and pops refuse a fenced worker (see _REAP) in the same atomic step.
    """

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        self.keys = Keys(spider.settings.get("SERPWATCH_RUN"))
        self.worker = spider.settings.get("SERPWATCH_WORKER")
        self.ttl_ms = int(spider.settings.getfloat("SERPWATCH_LEASE_SECONDS", LEASE_SECONDS) * 1000)
        self._pop = server.register_script(_POP)
        self._push = server.register_script(_PUSH)
        self.held: set[str] = set()

    def _lease_keys(self) -> list[str]:
        k = self.keys
        return [self.key, k.leases, k.lease_score, k.lease_exp, k.lease_owner, k.lease_seq] + [
            k.fenced
        ]

    def push(self, request, once: str | None = None) -> bool:
        """Queue `request`; False when `once` was queued before. Raises Fenced."""
        # A redirect or retry of a leased request carries its meta: not its lease.
        request.meta.pop(LEASE_META, None)
        data = self._encode_request(request)
        keys = [self.key, self.keys.fenced, self.keys.once]
        done = self._push(keys=keys, args=[self.worker, -request.priority, data, once or ""])
        if done < 0:
            raise Fenced(f"worker {self.worker} is fenced")
        return bool(done)

    def pop(self, timeout=0):
        out = self._pop(keys=self._lease_keys(), args=[self.worker, self.ttl_ms])
        if not out:
            return None
        lease, data = out[0].decode(), out[1]
        request = self._decode_request(data)
        request.meta[LEASE_META] = lease
        self.held.add(lease)
        testhook.point("worker.popped")
        return request


def ack(r: redis.Redis, keys: Keys, leases) -> None:
    leases = list(leases)
    if leases:
        r.eval(_ACK, 4, keys.leases, keys.lease_score, keys.lease_exp, keys.lease_owner, *leases)


def renew(r: redis.Redis, keys: Keys, worker: str, leases, ttl_ms: int) -> None:
    """The worker's beat: the leases it holds renewed, its moment recorded."""
    r.eval(_RENEW, 2, keys.lease_exp, keys.beats, worker, ttl_ms, *leases)


def reap(r: redis.Redis, keys: Keys, ttl_ms: int) -> int:
    """Put expired leases back in the queue; fence their owners if silent for `ttl_ms`."""
    lease_keys = [keys.leases, keys.lease_score, keys.lease_exp, keys.lease_owner, keys.fenced]
    return r.eval(_REAP, 7, keys.requests, *lease_keys, keys.beats, ttl_ms)


class RunScheduler(Scheduler):
    """scrapy-redis's scheduler on a retrying client; a landing page once per query."""

    @classmethod
    def from_settings(cls, settings):
        scheduler = super().from_settings(settings)
        scheduler.server = connect(settings.get("SERPWATCH_REDIS_URL"))
        scheduler.keys = Keys(settings.get("SERPWATCH_RUN"))
        if scheduler.df is not None:
            scheduler.df.server = scheduler.server
        return scheduler

    def open(self, spider):
        super().open(spider)
        self.df.server = self.server

    # Both as scrapy-redis 0.9.1 has them, without the `spider` argument that
    # Scrapy 2.19's stats deprecate.
    def enqueue_request(self, request):
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        try:
            queued = self.queue.push(request, once=_once_key(request))
        except Fenced:
            self.stats.inc_value("serpwatch/distributed/requests_refused")
            return False
        if not queued:
            self.stats.inc_value("serpwatch/distributed/landing_requeued_dropped")
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self):
        request = self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request


def _once_key(request) -> str | None:
    """A first landing request's (query, page); None for anything else (redirects, retries)."""
    meta = request.meta
    ctx = meta.get(LANDING_META)
    if ctx is None or meta.get("redirect_urls") or meta.get("retry_times"):
        return None
    return f"{ctx.query}\x1f{merge_key(ctx.entry_url)}"


# -- the browser's budget, one for the run ---------------------------------------------

# KEYS[1] the run's render budget (hash: pages, seconds); ARGV max pages, max
# seconds. {1 if admitted (and counted) else 0, pages, seconds} as they were.
_RENDER_ADMIT = """
local pages = redis.call('HGET', KEYS[1], 'pages') or '0'
local seconds = redis.call('HGET', KEYS[1], 'seconds') or '0'
if tonumber(pages) >= tonumber(ARGV[1]) or tonumber(seconds) >= tonumber(ARGV[2]) then
    return {0, pages, seconds}
end
redis.call('HINCRBY', KEYS[1], 'pages', 1)
return {1, pages, seconds}
"""


class RunRenderBudget(RenderBudget):
    """`RenderBudget` for the whole run: pages and browser seconds counted in Redis.

    SERPWATCH_RENDER_MAX_PAGES and _MAX_SECONDS are per run. Each worker with
    its own budget would render up to N times as many pages as a single crawl,
    and which pages got the browser (its screenshots and what it found) would
    depend on how many workers joined. The counting is one Lua step, so two
    workers never both take the last page. The list of cut pages stays each
    worker's (its stats, added up by the store).
    """

    def __init__(self, base: RenderBudget, r: redis.Redis, key: str):
        super().__init__(
            max_pages=base.max_pages,
            max_seconds=base.max_seconds,
            concurrency=base.concurrency,
            page_seconds=base.page_seconds,
        )
        self.r = r
        self.key = key
        self._admit = r.register_script(_RENDER_ADMIT)

    def admit(self, url: str, reason: str) -> str | None:
        admitted, pages, seconds = self._admit(
            keys=[self.key], args=[self.max_pages, self.max_seconds]
        )
        self.used_seconds = float(seconds)
        if admitted:
            self.used_pages += 1  # this worker's share
            return None
        return self.refuse(url, reason, self.refusal(int(pages), float(seconds)) or "")

    def spend(self, seconds: float) -> None:
        self.used_seconds = float(self.r.hincrbyfloat(self.key, "seconds", seconds))

    def page_deadline(self) -> float:
        self.used_seconds = float(self.r.hget(self.key, "seconds") or 0)
        return super().page_deadline()


def run_render_budget(base: RenderBudget, settings) -> RenderBudget:
    """SERPWATCH_RENDER_BUDGET of a worker (crawler.render.renderer): the run's budget."""
    r = connect(settings.get("SERPWATCH_REDIS_URL"))
    return RunRenderBudget(base, r, Keys(settings.get("SERPWATCH_RUN")).render_budget)


# -- politeness shared through Redis -------------------------------------------------


class EngineRateLimit:
    """One rate limit per engine for all workers: a request leaves when Redis says so.

    Reads SERPWATCH_REDIS_URL and SERPWATCH_RUN; off (NotConfigured) outside
    distributed mode and when the profile says `per_worker_limits = true`, where
    each worker's own download slots pace the engines as in a single crawl.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.r = connect(crawler.settings.get("SERPWATCH_REDIS_URL"))
        self.keys = Keys(crawler.settings.get("SERPWATCH_RUN"))
        self.script = self.r.register_script(_RATE)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("SERPWATCH_REDIS_URL"):
            raise NotConfigured
        if crawler.settings.getbool("SERPWATCH_PER_WORKER_LIMITS"):
            raise NotConfigured
        return cls(crawler)

    async def process_request(self, request):
        slot = request.meta.get("download_slot") or ""
        if not slot.startswith("engine:"):
            return None
        spider = self.crawler.spider
        run = spider.engines.get(slot.removeprefix("engine:"))
        if run is None or run.delay <= 0:
            return None
        while True:
            wait_ms = self.script(keys=[self.keys.rate(run.name)], args=[int(run.delay * 1000)])
            if wait_ms <= 0:
                return None
            self.crawler.stats.inc_value("serpwatch/distributed/rate_waits")
            await spider._sleep(wait_ms / 1000)


class SharedEngineGate:
    """Distributed mode: an engine's result-page request leaves only if no worker has
    found the engine blocking us, and not before the engine's shared pause ends.

    A refused request goes to the spider's errback as `engine_blocked`: the
    query is recorded as not asked, as a single crawl records its dropped ones.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("SERPWATCH_REDIS_URL"):
            raise NotConfigured
        return cls(crawler)

    async def process_request(self, request):
        slot = request.meta.get("download_slot") or ""
        if not slot.startswith("engine:") or "qi" not in request.cb_kwargs:
            return None  # a landing page (an ad click through the engine's host) goes on
        spider = self.crawler.spider
        run = spider.engines.get(slot.removeprefix("engine:"))
        if run is None:
            return None
        left = run.pause_left()
        if left > 0:
            self.crawler.stats.inc_value("serpwatch/distributed/pause_waits")
            await spider._sleep(left)
        if run.is_blocked():
            reason = f"{run.name} is blocked for the run: {run.blocked}"
            raise RefusedRequest(request.url, reason, stat="engine_blocked")
        return None


# -- finished items go to the stream -------------------------------------------------

# A render's findings stay with the worker (its WARC holds the pictures, linked to
# the page; `screenshot` and `screenshot_sha256` travel): the renders and
# screenshots tables are filled by single-machine crawls only (docs/RENDERING.md).
# What a finished item leaves behind when it goes to the store: the page's
# bytes and text are in the worker's WARC file, its hits in its verdicts.
_LEFT_WITH_THE_WORKER = {"html": "", "body": b"", "hits": []}
STREAMED = (SerpItem, PageItem, UnparsedItem, RelatedItem, SerpShotItem, QueryOutcome)


def item_record(item) -> dict | None:
    """A finished item as a stream entry: its kind and the typed record, pickled.

    Pickled, not JSON: items carry objects (the browser's findings and work,
    crawler.render) that the store reads as they are; Redis is trusted like the
    queue, whose requests scrapy-redis pickles too.
    """
    if not isinstance(item, STREAMED):
        return None
    if isinstance(item, PageItem):
        item = replace(item, **_LEFT_WITH_THE_WORKER)
    elif isinstance(item, SerpShotItem):
        item = replace(item, body=b"")
    return {"kind": type(item).__name__, "body": pickle.dumps(item, protocol=5)}


def record_item(kind: str, body: bytes):
    """The item a stream entry holds (the store's side of `item_record`)."""
    item = pickle.loads(body)
    if type(item).__name__ != kind or not isinstance(item, STREAMED):
        raise ValueError(f"stream entry of kind {kind!r} holds a {type(item).__name__}")
    return item


class StreamPipeline:
    """Collects each finished item for the run's Redis stream; the store writes SQLite.

    The items wait here until the next heartbeat (or SERPWATCH_STREAM_FLUSH_AT of
    them, FLUSH_AT by default), which
    pushes them in one atomic step (one round trip, refused whole when this
    worker is fenced) before it acknowledges any lease: a request's items are
    in Redis before its lease is given back, as the close rule needs.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.r = connect(crawler.settings.get("SERPWATCH_REDIS_URL"))
        self.keys = Keys(crawler.settings.get("SERPWATCH_RUN"))
        self.worker = crawler.settings.get("SERPWATCH_WORKER")
        self._xadd = self.r.register_script(_XADD)
        self.pending: list[dict] = []
        self.flush_at = crawler.settings.getint("SERPWATCH_STREAM_FLUSH_AT", FLUSH_AT)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        record = item_record(item)
        if record is not None:
            self.pending.append(record)
            if len(self.pending) >= self.flush_at:
                self.flush()
        return item

    def flush(self) -> None:
        """Push the collected items; on a Redis error they stay for the next try."""
        if not self.pending:
            return
        testhook.point("worker.push")
        batch = self.pending[:]
        args = [self.worker]
        for record in batch:
            args += [record["kind"], record["body"]]
        pushed = self._xadd(keys=[self.keys.items, self.keys.fenced], args=args)
        del self.pending[: len(batch)]
        if pushed:
            self.crawler.stats.inc_value("serpwatch/distributed/items_pushed", len(batch))
        else:  # this worker was fenced: its requests are someone else's now
            self.crawler.stats.inc_value("serpwatch/distributed/items_refused", len(batch))


# -- the worker's side of the run ----------------------------------------------------


class WorkerExtension:
    """Joins the run: seeds it (the seeding crawl), renews leases, stays while it is open.

    Every HEARTBEAT seconds: acknowledges the leases of requests Scrapy is done
    with (the engine's in-progress set, which a request leaves only after its
    callback and the pipelines of its items), renews the others, puts the
    expired leases of dead workers back in the queue, and wakes the engine to
    look at the shared queue. On close: its stats and WARC file into the run.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.r = connect(settings.get("SERPWATCH_REDIS_URL"))
        self.keys = Keys(settings.get("SERPWATCH_RUN"))
        self.worker = settings.get("SERPWATCH_WORKER")
        self.seed = settings.getbool("SERPWATCH_SEED")
        self.ttl_ms = int(settings.getfloat("SERPWATCH_LEASE_SECONDS", LEASE_SECONDS) * 1000)
        self.warc_dir = settings.get("SERPWATCH_WARC_DIR")
        self.loop = None
        self.fenced = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("SERPWATCH_REDIS_URL"):
            raise NotConfigured
        return cls(crawler)

    def spider_opened(self, spider):
        from twisted.internet import task

        engines = list(spider.engines)
        spider.merges = RedisMerges(self.r, self.keys.token, engines)
        shared = RedisEngines(self.r, self.keys.token)
        for run in spider.engines.values():
            run.shared = shared  # a block or pause one worker sees holds for all
        # The evidence pipeline names its WARC file after this: one file per worker.
        self.crawler.stats.set_value("serpwatch/run_id", f"{self.keys.token}-{self.worker}")
        if not self.crawler.settings.getbool("SERPWATCH_PER_WORKER_LIMITS"):
            # EngineRateLimit paces the engines for all workers. A request leaves at
            # its reserved moment: a local slot that delayed or queued it (one at a
            # time) would send the ones behind it in a burst.
            # (How many are in flight is bounded by CONCURRENT_REQUESTS anyway.)
            slots = self.crawler.engine.downloader.per_slot_settings
            for run in spider.engines.values():
                slots.setdefault(run.slot, {}).update({"delay": 0, "concurrency": 1000})
        # Every worker takes its engine requests from the shared queue, none from its own list.
        pending = {name: run.queue for name, run in spider.engines.items()}
        for run in spider.engines.values():
            run.queue = []
        if self.seed:
            n = 0
            for qi in range(len(spider.queries)):
                for name, run in spider.engines.items():
                    if qi in pending[name]:
                        self.crawler.engine.crawl(spider.serp_request(run, qi, page=1))
                        n += 1
            self.r.hset(self.keys.meta, "seeded", 1)
            logger.info("seeded run %s with %d result-page requests", self.keys.token, n)
        self.r.hset(self.keys.workers, self.worker, time.time())
        self.loop = task.LoopingCall(self.heartbeat)
        self.loop.start(HEARTBEAT, now=False)

    def _queue(self) -> LeasedQueue:
        return self.crawler.engine._slot.scheduler.queue

    def _in_progress(self) -> set[str]:
        slot = self.crawler.engine._slot
        inprogress = slot.inprogress if slot is not None else ()
        return {r.meta[LEASE_META] for r in inprogress if LEASE_META in r.meta}

    def _stream(self) -> StreamPipeline:
        pipes = self.crawler.engine.scraper.itemproc.middlewares
        return next(p for p in pipes if isinstance(p, StreamPipeline))

    def heartbeat(self):
        """One beat: the collected items, then one round trip for the leases and the rest."""
        try:
            self._stream().flush()  # first: a lease is given back after its items
            queue = self._queue()
            done = queue.held - self._in_progress()
            if done:
                testhook.point("worker.ack")
            k = self.keys
            with self.r.pipeline(transaction=False) as pipe:
                pipe.sismember(k.fenced, self.worker)
                ack(pipe, k, done)
                renew(pipe, k, self.worker, queue.held - done, self.ttl_ms)
                pipe.hset(k.workers, self.worker, time.time())
                reap(pipe, k, self.ttl_ms)
                replies = pipe.execute()
            if replies[0]:
                self._leave_fenced()
                return
            queue.held -= done
            reaped = replies[-1]
            if reaped:
                self.crawler.stats.inc_value("serpwatch/distributed/leases_requeued", reaped)
                logger.warning("%d requests of a worker that stopped are queued again", reaped)
            self.crawler.engine._slot.nextcall.schedule()  # look at the shared queue
        except redis.RedisError as exc:  # Redis restarting: the next beat tries again
            logger.warning("heartbeat: %s", exc)

    def _leave_fenced(self) -> None:
        """Silent longer than a lease: our requests went back to the queue, others do them."""
        if self.fenced:
            return
        self.fenced = True
        self._queue().held.clear()  # not ours any more
        self._stream().pending.clear()  # would be refused
        self.crawler.stats.set_value("serpwatch/distributed/fenced", 1)
        logger.error(
            "worker %s was silent longer than its lease (%g s): its requests went to other"
            " workers and what it still sends is refused; it leaves",
            self.worker,
            self.ttl_ms / 1000,
        )
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="fenced"))

    def spider_idle(self, spider):
        if self.fenced or state(self.r, self.keys.token) in ("closing", "closed"):
            return
        raise DontCloseSpider

    async def spider_closed(self, spider, reason):
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        queue = self._queue()
        if not self.fenced:
            self._stream().flush()
            ack(self.r, self.keys, queue.held - self._in_progress())
        # Let the evidence pipeline close its WARC file first (it closes in close_spider).
        await maybe_deferred_to_future(_later(0))
        stats = dict(self.crawler.stats.get_stats())
        stats["finish_reason"] = reason
        self.r.hset(self.keys.wstats, self.worker, json.dumps(stats, default=str))
        pattern = os.path.join(self.warc_dir, f"serpwatch-run{self.keys.token}-{self.worker}-*")
        for path in glob.glob(pattern):
            self.r.hset(self.keys.warcs, str(Path(path).resolve()), self.worker)
        self.r.hdel(self.keys.workers, self.worker)


def _later(seconds: float):
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    return deferLater(reactor, seconds)


def worker_id() -> str:
    """host-pid-random: a process id comes back after a restart (in a container, always)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def worker_settings(url: str, token: str, profile, *, seed: bool, warc_dir: str) -> dict:
    """The settings that turn a crawl into a worker of run `token`."""
    from crawler import settings as defaults

    pipelines = dict(defaults.ITEM_PIPELINES)
    pipelines.pop("pipelines.store.StorePipeline", None)
    # Workers never write SQLite, so they take no database lock (crawler/lock.py).
    pipelines.pop("pipelines.lock.RunLockPipeline", None)
    pipelines["crawler.distributed.StreamPipeline"] = 300
    return {
        "SERPWATCH_REDIS_URL": url,
        "SERPWATCH_RUN": token,
        "SERPWATCH_WORKER": worker_id(),
        "SERPWATCH_SEED": seed,
        "SERPWATCH_PER_WORKER_LIMITS": bool(getattr(profile, "per_worker_limits", False)),
        # The browser's pages and seconds are the run's, shared by its workers.
        "SERPWATCH_RENDER_BUDGET": "crawler.distributed.run_render_budget",
        "SERPWATCH_WARC_DIR": str(Path(warc_dir).resolve()),
        "REDIS_URL": url,
        "SCHEDULER": "crawler.distributed.RunScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": Keys(token).requests,
        "SCHEDULER_DUPEFILTER_KEY": Keys(token).dupefilter,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        # The queue belongs to the run, not to this worker: never flushed when it stops.
        "SCHEDULER_PERSIST": True,
        "ITEM_PIPELINES": pipelines,
        "EXTENSIONS": {
            **getattr(defaults, "EXTENSIONS", {}),
            "crawler.distributed.WorkerExtension": 100,
        },
        "DOWNLOADER_MIDDLEWARES": {
            **defaults.DOWNLOADER_MIDDLEWARES,
            "crawler.distributed.EngineRateLimit": 950,
            # After the rate limit's wait: the last look before the request leaves.
            "crawler.distributed.SharedEngineGate": 960,
        },
    }
