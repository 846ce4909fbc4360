"""The fetch spider: a given list of operator-configured URLs, each answer kept as it came.

It only crawls, for the maintainers' commands (`serpwatch brands check`,
`serpwatch queries suggest` through `crawler.fetch`): it requests each
`FetchJob` once and appends a `FetchResult` (status, headers, body, final URL,
redirect chain, server address, or the error) to the `sink` list it was given.
Every status reaches it (`handle_httpstatus_list`: 400-599), so a block or a
failure is reported, never dropped. The requests are marked trusted like engine
requests: the operator configured them (`crawler.fetch` puts their endpoints in
SERPWATCH_TRUSTED_HOSTS); a redirect to another host loses that trust and goes
through the SSRF guard like any page link.
"""

from __future__ import annotations

from datetime import UTC, datetime

import scrapy

from crawler.fetch import FetchJob, FetchResult
from crawler.limits import failure_kind

ALL_ERRORS = list(range(400, 600))


class FetchSpider(scrapy.Spider):
    """Requests each job once; appends a FetchResult per job to `sink`."""

    name = "fetch"

    def __init__(self, jobs: list[FetchJob] | None = None, sink: list | None = None, **kwargs):
        super().__init__(**kwargs)
        self.jobs = list(jobs or [])
        self.sink = sink if sink is not None else []

    async def start(self):
        for job in self.jobs:
            meta = {
                "serpwatch_trusted": True,
                "handle_httpstatus_list": ALL_ERRORS,
                "dont_retry": job.dont_retry,
            }
            if job.slot:
                meta.update({"download_slot": job.slot, "autothrottle_dont_adjust_delay": True})
            yield scrapy.Request(
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
