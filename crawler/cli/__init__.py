"""serpwatch: find fake helpdesk numbers in search results.

Exit codes: 0 ok, 1 anything else, 2 bad usage or bad config, 3 blocked by
the engine, 75 another crawl holds the database (crawler.lock).

One module per command group, each defining its commands at top level (so a
test can import and run one), thin over the Python API; this module only
builds the `serpwatch` group from them:

| module      | commands                                          |
|-------------|---------------------------------------------------|
| crawl       | demo, crawl                                       |
| analyst     | flags, triage, history                            |
| runs        | runs                                              |
| queries     | queries stats / try / suggest / retire / restore  |
| export      | export                                            |
| serve       | serve, report                                     |
| evidence    | evidence                                          |
| serp        | serp parse / unparsed                             |
| phones      | phones extract                                    |
| brands      | brands check                                      |
| scoring     | rescore                                           |
| watch       | watch, status, alerts test                        |
| scale       | worker, store                                     |

Shared parts (--db, `friendly`) are in crawler.cli.common; command modules
never import this module, which imports them.
"""

from __future__ import annotations

import logging

import click

from crawler.cli import (
    analyst,
    brands,
    crawl,
    evidence,
    export,
    phones,
    queries,
    runs,
    scale,
    scoring,
    serp,
    serve,
    watch,
)


@click.group()
@click.version_option(package_name="serpwatch")
def main():
    """Find fake helpdesk numbers in search results.

    Run the queries victims type, follow the results and ads, flag every
    phone number that is not the brand's official contact.
    """
    _show_schema_log()


class _EchoHandler(logging.Handler):
    """Log records as lines on stderr, through click (so tests capture them)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"serpwatch: {record.getMessage()}", err=True)


def _show_schema_log() -> None:
    """Every command says when it upgraded a database's schema (crawler.storage.schema)."""
    log = logging.getLogger("crawler.storage.schema")
    if not any(isinstance(h, _EchoHandler) for h in log.handlers):
        log.addHandler(_EchoHandler())
    log.setLevel(logging.INFO)
    log.propagate = False  # one line, not a second one through Scrapy's root handler


for _command in (
    crawl.demo,
    crawl.crawl,
    analyst.flags,
    analyst.triage_cmd,
    analyst.history_cmd,
    runs.runs_cmd,
    queries.queries_group,
    export.export,
    serve.report,
    serve.serve,
    evidence.evidence,
    serp.serp_group,
    phones.phones_group,
    brands.brands_group,
    scoring.rescore,
    watch.status,
    watch.watch,
    watch.alerts,
    scale.worker,
    scale.store,
):
    main.add_command(_command)
