"""Per-call statement options applied to a *copy*, never to the caller's statement.

Callers reuse statements across tasks; mutating ``fetch_size`` or ``is_idempotent`` in place
would leak one call's options into another's.
"""

from __future__ import annotations

import copy
from typing import Any

from cassandra.query import BatchStatement, BoundStatement, PreparedStatement, SimpleStatement

__all__ = ["with_options"]


def with_options(
    query: Any,
    parameters: Any,
    *,
    fetch_size: int | None = None,
    idempotent: bool | None = None,
    consistency_level: int | None = None,
) -> tuple[Any, Any]:
    """Return ``(statement, parameters)`` carrying the given options, the input untouched."""
    if fetch_size is not None and (not isinstance(fetch_size, int) or fetch_size < 1):
        raise ValueError(f"fetch_size={fetch_size!r}: must be an integer >= 1")
    if fetch_size is None and idempotent is None and consistency_level is None:
        return query, parameters
    if isinstance(query, str):
        statement: Any = SimpleStatement(query)
    elif isinstance(query, PreparedStatement):
        statement = query.bind(parameters)
        parameters = None
    elif isinstance(query, SimpleStatement | BoundStatement | BatchStatement):
        statement = copy.copy(query)
    else:
        raise TypeError(
            f"query={query!r}: expected str, SimpleStatement, PreparedStatement, "
            "BoundStatement or BatchStatement"
        )
    if fetch_size is not None:
        if isinstance(statement, BatchStatement):
            raise ValueError("fetch_size/page_size: a BatchStatement cannot be paged")
        statement.fetch_size = fetch_size
    if idempotent is not None:
        statement.is_idempotent = bool(idempotent)
    if consistency_level is not None:
        statement.consistency_level = consistency_level
    return statement, parameters
