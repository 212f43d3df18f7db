"""One page of a query result, and the handle to fetch the page after it.

``execute`` deliberately returns a single page: fetching every page eagerly is how wrappers
end up holding a whole table in memory behind a call that looks like a point read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .options import CallOptions
    from .session import AsyncSession

__all__ = ["AsyncResult", "PageInfo"]


class AsyncResult:
    """The rows of one page plus what is needed to continue (``paging_state``)."""

    __slots__ = ("_options", "_parameters", "_query", "_rf", "_session", "rows")

    def __init__(
        self,
        session: AsyncSession,
        rows: Any,
        rf: Any,
        query: Any,
        parameters: Any,
        options: CallOptions,
    ) -> None:
        self.rows: list[Any] = rows if rows is not None else []
        self._rf = rf
        self._session = session
        self._query = query
        self._parameters = parameters
        self._options = options

    def __repr__(self) -> str:
        return f"<AsyncResult rows={len(self.rows)} has_more_pages={self.has_more_pages}>"

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def one(self) -> Any:
        """The first row of this page, or ``None`` when the page is empty."""
        return self.rows[0] if self.rows else None

    def all(self) -> list[Any]:
        """The rows of *this page* (use ``execute_all`` or ``stream`` for every page)."""
        return list(self.rows)

    @property
    def paging_state(self) -> bytes | None:
        """Opaque position after this page; pass it to ``execute(paging_state=...)`` or
        ``stream(paging_state=...)`` to resume, even from another session."""
        state: bytes | None = self._rf._paging_state
        return state

    @property
    def has_more_pages(self) -> bool:
        return self._rf._paging_state is not None

    @property
    def column_names(self) -> list[str] | None:
        names: list[str] | None = self._rf._col_names
        return names

    @property
    def warnings(self) -> list[str] | None:
        warnings: list[str] | None = self._rf.warnings
        return warnings

    @property
    def coordinator(self) -> Any:
        """The driver ``Host`` that answered."""
        return self._rf.coordinator_host

    @property
    def response_future(self) -> Any:
        """The driver's ``ResponseFuture`` (already complete) for anything not wrapped here."""
        return self._rf

    async def get_query_trace(self, *, max_wait: float = 2.0) -> Any:
        """The driver's ``QueryTrace`` of this request (sent with ``trace=True``), or ``None``
        when it was not traced. The driver reads ``system_traces`` with blocking queries, so
        this runs in the cluster's executor; it raises the driver's ``TraceUnavailable`` if
        the trace is still incomplete after ``max_wait`` seconds."""
        return await self._session._query_trace(self._rf, max_wait)

    async def next_page(self, *, timeout: float | None = None) -> AsyncResult | None:
        """Fetch the following page as a fresh request (its own timeout), or ``None``."""
        state = self.paging_state
        if state is None:
            return None
        options = self._options if timeout is None else self._options.with_timeout(timeout)
        return await self._session._execute_page(
            "page", self._query, self._parameters, options, state
        )


@dataclass(frozen=True, slots=True)
class PageInfo:
    """Passed to a stream's ``on_page`` callback, on the event-loop thread."""

    number: int
    """1-based page number within the stream."""
    rows: int
    rows_total: int
    paging_state: bytes | None
