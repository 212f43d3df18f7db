"""The wrapper's own failures, in one hierarchy, next to the driver's untouched exceptions.

Driver exceptions are never wrapped: callers catch exactly what the driver raises, from every
entry point. Only failures that the wrapper itself decides (a closed session, a deadline it
enforces, a row limit, a full in-flight window) use these classes, so ``except AiocqlError``
means "aiocql said no", never "Cassandra said no".
"""

from __future__ import annotations

from typing import Any

from cassandra import OperationTimedOut

__all__ = [
    "AiocqlError",
    "BackpressureTimeout",
    "RequestTimeout",
    "ResultTooLarge",
    "SessionClosedError",
    "StreamBusyError",
    "StreamClosedError",
    "error_kind",
]


class AiocqlError(Exception):
    """Base class of every failure that aiocql itself raises."""


class SessionClosedError(AiocqlError):
    """The session (or its cluster) was closed before or while the request ran."""


class StreamClosedError(AiocqlError):
    """A row stream was used after ``aclose()`` or after leaving its ``async with`` block."""


class StreamBusyError(AiocqlError, RuntimeError):
    """A second consumer awaited a row stream while another was already waiting for its next
    page: a stream has one consumer at a time (hand rows to other tasks through a queue)."""


class RequestTimeout(AiocqlError, OperationTimedOut, TimeoutError):  # type: ignore[misc]
    """An aiocql deadline expired (request safety net, page timeout or total stream timeout).

    It is also a ``cassandra.OperationTimedOut`` and a builtin ``TimeoutError``, so code that
    catches either keeps working whether the driver's timer or aiocql's fired first.
    """

    def __init__(self, message: str, *, last_host: Any = None) -> None:
        TimeoutError.__init__(self, message)
        self.errors: dict[Any, Any] = {}
        self.last_host = last_host

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "request timed out"


class ResultTooLarge(AiocqlError):
    """``execute_all`` would have collected more rows than its ``max_rows`` bound."""


class BackpressureTimeout(AiocqlError):
    """No in-flight slot (``max_in_flight``) became free within the request's timeout."""


def error_kind(exc: BaseException) -> str:
    """The label used for ``stats().errors_by_kind`` and listener events: the class name.

    Class names are what the SuiteResult's ``errorsByKind`` reports (``WriteTimeout``,
    ``NoHostAvailable``...), and they are stable across driver module moves.
    """
    return type(exc).__name__
