"""Rows as named tuples whose type is built once per column shape, not once per result.

The driver's default ``named_tuple_factory`` creates a new ``namedtuple`` class for every
result it decodes: for a single-row SELECT that class costs more client CPU than the request
itself, and each class is a reference cycle left to the cycle collector. Results with the
same column names (every page of a stream, every execution of a statement, different
statements selecting the same columns) share one row type here. A schema change that changes
the columns (``ALTER TABLE ... ADD``, ``SELECT *`` after it) changes the names, hence the key,
hence the type.

The row type itself is the driver's own (built by calling ``named_tuple_factory`` once on a
placeholder row), so field names, the cleaning of names that are not identifiers and the
positional fallback stay exactly the driver's: switching factories never renames a field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from cassandra.query import named_tuple_factory

__all__ = ["MAX_ROW_TYPES", "cached_named_tuple_factory"]

MAX_ROW_TYPES = 4096
"""Shapes kept; past this, a new shape gets a fresh type per result (as with the driver)."""

_makers: dict[tuple[str, ...], Callable[[Sequence[Any]], tuple[Any, ...]]] = {}


def _maker(names: tuple[str, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    try:
        return _makers[names]
    except KeyError:
        pass
    built = type(named_tuple_factory(list(names), [(None,) * len(names)])[0])
    # tuple.__new__ skips the generated __new__ (a Python frame per row); rows from the
    # driver always have exactly one value per column
    maker: Callable[[Sequence[Any]], tuple[Any, ...]] = partial(tuple.__new__, built)
    if len(_makers) >= MAX_ROW_TYPES:
        return maker
    # the factory runs on driver threads: setdefault keeps one type per shape if two race
    return _makers.setdefault(names, maker)


def cached_named_tuple_factory(colnames: Sequence[str], rows: Sequence[Any]) -> list[Any]:
    """A drop-in ``row_factory``: rows as named tuples (attribute and index access,
    ``_asdict()``), one row type per distinct list of column names."""
    return list(map(_maker(tuple(colnames)), rows))
