"""Per-call statement options applied to a *copy*, never to the caller's statement, and the
idempotence a batch really has.

Callers reuse statements across tasks; mutating ``fetch_size`` or ``is_idempotent`` in place
would leak one call's options into another's.

A ``BatchStatement`` keeps only ``(prepared?, query id or CQL text, values)`` of what was added
to it, not the statements, so the driver's retry and speculative-execution decisions see only
the batch's own ``is_idempotent`` flag: a batch marked idempotent that holds a counter update
or a statement nobody declared idempotent would be sent twice. :func:`batch_is_idempotent`
looks inside (the entries list is driver-private, so its presence is checked once here;
without it every batch counts as not idempotent, and tests/unit/aiocql fails).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from cassandra.query import (
    BatchStatement,
    BatchType,
    BoundStatement,
    PreparedStatement,
    SimpleStatement,
)

__all__ = ["BATCH_ENTRIES_VISIBLE", "batch_is_idempotent", "keyspace_name", "with_options"]

_UNQUOTED_KEYSPACE = re.compile(r"[A-Za-z0-9_]{1,48}")
_QUOTED_KEYSPACE = re.compile(r'"(?:[^"]|""){1,48}"')

BATCH_ENTRIES_VISIBLE = "_statements_and_parameters" in vars(BatchStatement)
"""Whether ``BatchStatement`` still lists its entries in ``_statements_and_parameters``."""


def batch_is_idempotent(batch: BatchStatement, prepared: Mapping[bytes, Any]) -> bool:
    """True only for a batch marked idempotent, not a COUNTER batch, whose every statement was
    prepared (``prepared`` maps query ids to the ``PreparedStatement``) and marked idempotent
    on its ``PreparedStatement``. CQL text added to a batch carries no flag: not idempotent."""
    if batch.is_idempotent is not True or batch.batch_type == BatchType.COUNTER:
        return False
    if not BATCH_ENTRIES_VISIBLE:
        return False
    for is_prepared, query_id, _ in batch._statements_and_parameters:
        statement = prepared.get(query_id) if is_prepared else None
        if statement is None or statement.is_idempotent is not True:
            return False
    return True


def really_idempotent(batch: BatchStatement, prepared: Mapping[bytes, Any]) -> BatchStatement:
    """``batch``, or a copy marked not idempotent when it is marked idempotent but holds
    something that is not (see :func:`batch_is_idempotent`), so the driver never retries it."""
    if batch.is_idempotent is True and not batch_is_idempotent(batch, prepared):
        copied: BatchStatement = with_options(batch, None, idempotent=False)[0]
        return copied
    return batch


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


def keyspace_name(name: str) -> str:
    """The keyspace a ``USE`` identifier names (unquoted), refusing anything else: the name
    reaches the driver's ``USE`` statement as text."""
    if not isinstance(name, str) or not (
        _UNQUOTED_KEYSPACE.fullmatch(name) or _QUOTED_KEYSPACE.fullmatch(name)
    ):
        raise ValueError(
            f"keyspace={name!r}: must be 1-48 letters, digits or underscores, "
            "or a double-quoted identifier"
        )
    return name[1:-1].replace('""', '"') if name.startswith('"') else name
