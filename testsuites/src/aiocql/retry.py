"""A retry policy that never repeats a write the caller did not declare idempotent.

The driver hands ``write_type`` to ``on_write_timeout`` as an *integer* (``WriteType.SIMPLE``
is 0); comparing it with strings silently never matches. The driver's own ``on_request_error``
path (overloaded, server error, connection lost mid-request) retries regardless of
idempotency, which can apply a non-idempotent write twice. This policy fixes both.
"""

from __future__ import annotations

from typing import Any

from cassandra.policies import RetryPolicy, WriteType

__all__ = ["IdempotentRetryPolicy"]

_RETRYABLE_WRITE_TYPES = frozenset({WriteType.SIMPLE, WriteType.BATCH, WriteType.UNLOGGED_BATCH})


def _is_idempotent(query: Any) -> bool:
    return getattr(query, "is_idempotent", False) is True


class IdempotentRetryPolicy(RetryPolicy):  # type: ignore[misc]
    """Retry only what is safe to repeat, at most ``max_retries`` times per request.

    - read timeout: retry (same host) when enough replicas answered but the data did not
      arrive, like the driver's default;
    - write timeout: retry only idempotent SIMPLE, BATCH and UNLOGGED_BATCH writes; never
      COUNTER, CAS, BATCH_LOG, VIEW or CDC (their effects may already be applied);
    - unavailable: try the next host (another coordinator may see more replicas);
    - request error (connection lost, overloaded, server error): next host, idempotent only.
    """

    def __init__(self, max_retries: int = 1) -> None:
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries={max_retries!r}: must be an integer >= 0")
        self.max_retries = max_retries

    def on_read_timeout(
        self,
        query: Any,
        consistency: int,
        required_responses: int,
        received_responses: int,
        data_retrieved: bool,
        retry_num: int,
    ) -> tuple[int, Any]:
        if retry_num >= self.max_retries:
            return self.RETHROW, None
        if received_responses >= required_responses and not data_retrieved:
            return self.RETRY, consistency
        return self.RETHROW, None

    def on_write_timeout(
        self,
        query: Any,
        consistency: int,
        write_type: int,
        required_responses: int,
        received_responses: int,
        retry_num: int,
    ) -> tuple[int, Any]:
        if retry_num >= self.max_retries:
            return self.RETHROW, None
        if write_type in _RETRYABLE_WRITE_TYPES and _is_idempotent(query):
            return self.RETRY, consistency
        return self.RETHROW, None

    def on_unavailable(
        self,
        query: Any,
        consistency: int,
        required_replicas: int,
        alive_replicas: int,
        retry_num: int,
    ) -> tuple[int, Any]:
        if retry_num >= self.max_retries:
            return self.RETHROW, None
        return self.RETRY_NEXT_HOST, None

    def on_request_error(
        self, query: Any, consistency: int, error: BaseException, retry_num: int
    ) -> tuple[int, Any]:
        if retry_num >= self.max_retries or not _is_idempotent(query):
            return self.RETHROW, None
        return self.RETRY_NEXT_HOST, None
