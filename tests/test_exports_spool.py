"""Grouped exports made in a spool file: the same items, in the same order, as
made in memory (`core.shape`), with only keys, fingerprints and sort fields held."""

from __future__ import annotations

import pytest
from exports_seed import seeded

from crawler.exports.core import SOURCES, shape, shape_spooled
from crawler.exports.recipients import load_presets
from crawler.exports.spool import Spool, SpooledItem

PRESETS = load_presets()


@pytest.fixture(scope="module")
def db(demo_out):
    from crawler import storage

    return storage.open_db(demo_out / "demo.db")


def _made(items) -> list[tuple]:
    return [(it.key, it.fingerprint, it.row, it.pairs) for it in items]


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("source_db", ["demo", "seeded"])
def test_spooled_items_are_the_items_made_in_memory(name, source_db, db):
    base = db if source_db == "demo" else seeded()
    preset = PRESETS[name]
    rows = SOURCES[preset.source](base, include_dismissed=True, by=preset.verdict)
    for want in (True, False):  # the live rows, then the dismissed ones
        keep = lambda r, w=want: (r.get("status") != "dismissed") == w  # noqa: E731
        whole = shape([r for r in rows if keep(r)], preset)
        with Spool() as spool:
            spooled = shape_spooled(iter(rows), preset, spool, keep)
            assert all(isinstance(it, SpooledItem) for it in spooled)
            assert _made(spooled) == _made(whole)
        assert whole or not want  # something was made


def test_a_spool_reads_back_what_was_put_by_offset():
    with Spool() as spool:
        rows = [{"phone": "+31852081234", "reasons": ["a", "b"], "n": i} for i in range(3)]
        at = [spool.put(r) for r in rows]
        assert [spool.get(a) for a in reversed(at)] == list(reversed(rows))
        assert spool.put({"x": None}) > at[-1]
