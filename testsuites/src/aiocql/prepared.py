"""Prepared statements, prepared once per (keyspace, text) however many tasks ask at once.

Preparing is a blocking driver call and a round trip to every node, and test workloads start
hundreds of tasks that each prepare the same statements at start-up. So the first caller's
preparation runs in the executor and every concurrent caller awaits that same future (each
bounded by its own timeout, never cancelling the shared work); a failed preparation is not
cached, so the next caller tries again. The statements are also kept by query id, because a
batch holds only ids and :func:`~aiocql.statements.batch_is_idempotent` needs the statements.
"""

from __future__ import annotations

from concurrent.futures import Executor
from concurrent.futures import Future as ConcurrentFuture
from typing import Any

from .blocking import timed_blocking
from .listeners import RequestListener
from .stats import StatsRecorder

__all__ = ["PreparedCache"]


class PreparedCache:
    """The prepared statements of one session, by (keyspace, text) and by query id."""

    def __init__(
        self,
        session: Any,
        executor: Executor,
        stats: StatsRecorder,
        listeners: list[RequestListener],
    ) -> None:
        self._session = session
        self._executor = executor
        self._stats = stats
        self._listeners = listeners
        self._prepared: dict[tuple[str | None, str], Any] = {}
        self.by_id: dict[bytes, Any] = {}
        self._preparing: dict[tuple[str | None, str], ConcurrentFuture[Any]] = {}

    async def prepare(self, query: str, keyspace: str | None, limit: float) -> Any:
        """The ``PreparedStatement`` of ``query``, waiting at most ``limit`` seconds."""
        if not isinstance(query, str):
            raise TypeError(f"query={query!r}: prepare() takes the CQL text")
        key = (keyspace or self._session.keyspace, query)
        cached = self._prepared.get(key)
        if cached is not None:
            return cached
        cf = self._preparing.get(key)
        if cf is None or (cf.done() and (cf.cancelled() or cf.exception() is not None)):
            cf = self._executor.submit(self._session.prepare, query, None, keyspace)
            self._preparing[key] = cf
        try:
            prepared = await timed_blocking(
                self._stats, self._listeners, "prepare", query, cf, limit
            )
        except Exception:
            if cf.done() and self._preparing.get(key) is cf:
                del self._preparing[key]
            raise
        self._prepared[key] = prepared
        self.by_id[prepared.query_id] = prepared
        if self._preparing.get(key) is cf:
            del self._preparing[key]
        return prepared
