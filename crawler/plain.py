"""`plain_dict`: `dataclasses.asdict` for records of plain values, without its cost.

`asdict` deep-copies every value through `copy.deepcopy`, which made it the
largest single cost of scoring a page (bench/throughput.py: `Facts.to_dict`
and `PhoneHit.to_dict` per number, again per sighting at the end of a run).
This gives the same dict: scalars as they are, lists, tuples and dicts copied
(recursively), nested dataclasses as dicts. Anything else falls back to
`asdict` itself, so the result never differs from it.
"""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass

_SCALARS = frozenset({str, int, float, bool, type(None), bytes})
_NAMES: dict[type, tuple[str, ...]] = {}


class _NotPlain(Exception):
    """A value `_copy` does not know: use `asdict`."""


def _copy(value):
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [_copy(v) for v in value]
    if kind is dict:
        return {_copy(k): _copy(v) for k, v in value.items()}
    if kind is tuple:
        return tuple(_copy(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return _fields_of(value)
    raise _NotPlain


def _fields_of(obj) -> dict:
    cls = type(obj)
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return {name: _copy(getattr(obj, name)) for name in names}


def plain_dict(obj) -> dict:
    """`dataclasses.asdict(obj)`, fast for fields of scalars, lists, tuples, dicts."""
    try:
        return _fields_of(obj)
    except _NotPlain:
        return asdict(obj)
