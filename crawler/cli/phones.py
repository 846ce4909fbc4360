"""`serpwatch phones extract`: the numbers crawler.phones finds on a saved page."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crawler.cli.common import friendly


@click.group("phones")
def phones_group():
    """Work with phone numbers on saved pages."""


@phones_group.command("extract")
@click.option("--region", default="NL", show_default=True, help="Region for national formats.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@friendly
def phones_extract(region, file):
    """Extract phone numbers from a saved HTML page; one JSON object per number.

    Example: serpwatch phones extract --region NL page.html
    """
    from crawler.phones import extract_phones

    for hit in extract_phones(Path(file).read_bytes(), region=region.upper()):
        click.echo(json.dumps(hit.to_dict(), ensure_ascii=False))
