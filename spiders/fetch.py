"""The fetch spider: a given list of operator-configured URLs, each answer kept as it came.

It only crawls, for the maintainers' commands (`serpwatch brands check`,
`serpwatch queries suggest` through `crawler.fetch`): it requests each
`FetchJob` once and appends a `FetchResult` (status, headers, body, final URL,
redirect chain, server address, or the error) to the `sink` list it was given.
Every status reaches it (`handle_httpstatus_list`: 400-599), so a block or a
failure is reported, never dropped. Jobs that share a download `slot` (one
autocomplete endpoint) go one after the other, each after the previous answer;
when one of them is blocked (401, 403, 429, 503) the rest of that slot is not
asked and gets a "skipped" result. The requests are marked trusted like engine
requests: the operator configured them (`crawler.fetch` puts their endpoints in
SERPWATCH_TRUSTED_HOSTS); a redirect to another host loses that trust and goes
through the SSRF guard like any page link.
"""

from __future__ import annotations

from datetime import UTC, datetime

import scrapy

from crawler.fetch import FetchJob, FetchResult
from crawler.net.limits import failure_kind

ALL_ERRORS = list(range(400, 600))
BLOCK_STATUSES = {401, 403, 429, 503}


class FetchSpider(scrapy.Spider):
    """Requests each job once; appends a FetchResult per job to `sink`."""

    name = "fetch"

    def __init__(self, jobs: list[FetchJob] | None = None, sink: list | None = None, **kwargs):
        super().__init__(**kwargs)
        self.jobs = list(jobs or [])
        self.sink = sink if sink is not None else []
        self.queues: dict[str, list[FetchJob]] = {}
        for job in self.jobs:
            if job.slot:
                self.queues.setdefault(job.slot, []).append(job)

    async def start(self):
        for job in self.jobs:
            if not job.slot:
                yield self.request(job)
        for queue in self.queues.values():
            yield self.request(queue.pop(0))

    def _next(self, job: FetchJob, blocked: str | None = None):
        """The next job of the same slot, or none (and "skipped" for the rest) when blocked."""
        queue = self.queues.get(job.slot or "", [])
        if blocked:
            for rest in queue:
                self.sink.append(FetchResult(job=rest, url=rest.url, error=f"skipped: {blocked}"))
            queue.clear()
        if queue:
            yield self.request(queue.pop(0))

    def request(self, job: FetchJob) -> scrapy.Request:
        meta = {
            "serpwatch_trusted": True,
            "handle_httpstatus_list": ALL_ERRORS,
            "dont_retry": job.dont_retry,
        }
        if job.slot:
            meta.update({"download_slot": job.slot, "autothrottle_dont_adjust_delay": True})
        return scrapy.Request(
            job.url,
            headers=job.headers,
            callback=self.done,
            errback=self.failed,
            dont_filter=True,
            meta=meta,
            cb_kwargs={"job": job},
        )

    def done(self, response, job: FetchJob):
        self.sink.append(
            FetchResult(
                job=job,
                url=response.url,
                status=response.status,
                headers={
                    k.decode("latin-1"): b", ".join(v).decode("latin-1")
                    for k, v in response.headers.items()
                },
                body=response.body,
                redirects=list(response.meta.get("redirect_urls", [])),
                ip=str(response.ip_address) if response.ip_address else None,
                fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        blocked = None
        if response.status in BLOCK_STATUSES:
            blocked = f"{job.slot} answered HTTP {response.status} before"
        yield from self._next(job, blocked)

    def failed(self, failure):
        job = failure.request.cb_kwargs["job"]
        self.sink.append(
            FetchResult(
                job=job,
                url=failure.request.url,
                error=f"{failure_kind(failure.value)}: {failure.value}"[:300],
                redirects=list(failure.request.meta.get("redirect_urls", [])),
                fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        return list(self._next(job))
