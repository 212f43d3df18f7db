"""Row streams: consumer-driven paging with bounded prefetch, per-page timeouts and clean stop.

A stream is two objects. ``StreamCore`` holds the state and the one producer task that
fetches pages (each a fresh request carrying the paging state, so each gets its own timeout);
``AsyncRowStream`` is what the caller holds. The producer task references only the core, so
when the caller drops an unclosed stream, the stream object is collected, its ``__del__``
warns (``ResourceWarning``) and stops the core through ``call_soon_threadsafe`` (finalizers
may run on any thread). The producer never gets more than ``prefetch`` pages ahead of the
consumer, so an abandoned stream stops fetching by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

from cassandra import OperationTimedOut

from .errors import RequestTimeout, StreamBusyError, StreamClosedError
from .listeners import RequestKind
from .result import PageInfo

if TYPE_CHECKING:
    from .options import CallOptions
    from .session import AsyncSession

__all__ = ["AsyncRowStream", "OnPage", "StreamCore", "check_stream_limits"]

OnPage = Callable[[PageInfo], None]


def check_stream_limits(prefetch: int, total_timeout: float | None, max_pages: int | None) -> None:
    """Refuse a stream's limits that are not what ``AsyncSession.stream`` documents."""
    if not isinstance(prefetch, int) or prefetch < 0:
        raise ValueError(f"prefetch={prefetch!r}: must be an integer >= 0")
    if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
        raise ValueError(f"max_pages={max_pages!r}: must be an integer >= 1 or None")
    if total_timeout is not None and not total_timeout > 0:
        raise ValueError(f"total_timeout={total_timeout!r}: must be > 0 seconds or None")


class StreamCore:
    """The state of one stream, shared by its producer task and its consumer."""

    def __init__(
        self,
        session: AsyncSession,
        statement: Any,
        parameters: Any,
        options: CallOptions,
        *,
        prefetch: int,
        total_timeout: float | None,
        max_pages: int | None,
        paging_state: bytes | None,
        on_page: OnPage | None,
    ) -> None:
        self.session = session
        self.statement = statement
        self.parameters = parameters
        self.options = options
        self.prefetch = prefetch
        self.total_timeout = total_timeout
        self.max_pages = max_pages
        self.start_state = paging_state
        self.on_page = on_page
        self.loop: asyncio.AbstractEventLoop | None = None
        self.deadline: float | None = None
        self.buffer: deque[tuple[list[Any], bytes | None]] = deque()
        self.finished = False  # the producer fetched the last page
        self.error: BaseException | None = None
        self.closed = False
        self.task: asyncio.Task[None] | None = None
        self.consumer_waiting = False
        self.claimed = 0  # 1: the buffered page is a woken consumer's, not one fetched ahead
        self.consumer_waiter: asyncio.Future[None] | None = None
        self.producer_waiter: asyncio.Future[None] | None = None
        self.pages_fetched = 0
        self.rows_fetched = 0
        self.pages_delivered = 0
        self.rows_delivered = 0
        self.delivered_state: bytes | None = paging_state
        self.page_requests = 0

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self.closed:
            raise StreamClosedError("the stream is closed")
        if self.task is not None:
            return
        self.loop = asyncio.get_running_loop()
        self.session._register_stream(self)
        if self.total_timeout is not None:
            self.deadline = monotonic() + self.total_timeout
        self.task = self.loop.create_task(self._produce())

    def abort(self, exc: BaseException | None = None) -> None:
        """Stop fetching now (loop thread only). Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.buffer.clear()
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.session._forget_stream(self)
        waiter = self.consumer_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc if exc is not None else StreamClosedError("stream closed"))

    def abort_threadsafe(self) -> None:
        """``abort`` from any thread (finalizers)."""
        loop = self.loop
        if loop is None or self.closed:
            return
        with contextlib.suppress(RuntimeError):  # loop closed: its tasks are gone already
            loop.call_soon_threadsafe(self.abort)

    @property
    def active(self) -> bool:
        """True while the stream holds resources: a producer that may fetch more pages."""
        return not self.closed and self.task is not None and not self.task.done()

    # ---- producer --------------------------------------------------------------------------

    def _wants_page(self) -> bool:
        return len(self.buffer) - self.claimed < self.prefetch or self.consumer_waiting

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - monotonic()

    def _expired(self) -> RequestTimeout:
        return RequestTimeout(f"stream total_timeout={self.total_timeout:g}s expired")

    async def _produce(self) -> None:
        state = self.start_state
        loop = self.loop
        assert loop is not None
        try:
            while True:
                while not self._wants_page():
                    self.producer_waiter = loop.create_future()
                    await self.producer_waiter
                options = self.options
                remaining = self._remaining()
                clipped = False
                if remaining is not None:
                    if remaining <= 0:
                        raise self._expired()
                    if remaining < options.timeout:
                        options = options.with_timeout(remaining)
                        clipped = True
                kind: RequestKind = "page" if self.page_requests else "execute"
                self.page_requests += 1
                try:
                    result = await self.session._execute_page(
                        kind, self.statement, self.parameters, options, state
                    )
                except OperationTimedOut as exc:
                    # The page had only what was left of the stream's budget: when the driver's
                    # own timer fires first, it is still the stream's total_timeout that expired.
                    if clipped and not isinstance(exc, RequestTimeout):
                        raise self._expired() from exc
                    raise
                rows = result.rows
                state = result.paging_state
                self.pages_fetched += 1
                self.rows_fetched += len(rows)
                last = state is None or (
                    self.max_pages is not None and self.pages_fetched >= self.max_pages
                )
                if self.on_page is not None:
                    # before the page is buffered: if the callback raises, the consumer gets
                    # its exception in place of this page, after the pages before it
                    self.on_page(PageInfo(self.pages_fetched, len(rows), self.rows_fetched, state))
                self.buffer.append((rows, state))
                # Only the buffer may hold the page now: kept in this frame, it would stay alive
                # through the next page's request, after the consumer has dropped it.
                del rows, result
                self.consumer_waiting = False
                if last:
                    self.finished = True
                    self._wake_consumer()
                    return
                if self.consumer_waiter is None or self.consumer_waiter.done():
                    continue
                # The consumer waits for this page: the next one's request (if prefetch allows)
                # goes out before it runs, as a consumer iterating rows yields only when it needs
                # a page. Its wake-up is queued ahead of the request's call_soon (the sender's
                # kick), so the consumer runs after that kick.
                self.claimed = 1
                if self._wants_page():
                    loop.call_soon(self._wake_consumer)
                else:
                    self._wake_consumer()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.error = exc
            self._wake_consumer()
        finally:
            self.producer_waiter = None

    def _wake_consumer(self) -> None:
        waiter = self.consumer_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_producer(self) -> None:
        waiter = self.producer_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- consumer --------------------------------------------------------------------------

    async def next_page(self) -> list[Any] | None:
        """The next page's rows, or ``None`` when the stream is exhausted."""
        if self.closed:
            raise StreamClosedError("the stream is closed")
        if self.task is None:
            self.start()
        buffer = self.buffer
        while not buffer:
            if self.error is not None:
                error, self.error = self.error, None
                self.finished = True
                raise error
            if self.finished:
                return None
            if self.consumer_waiter is not None:
                # a second waiter would replace the first one's future and leave it hanging
                raise StreamBusyError(
                    "another task is already waiting for this stream's next page: a stream "
                    "has one consumer at a time (hand its rows to other tasks through a queue)"
                )
            assert self.loop is not None
            waiter = self.loop.create_future()
            self.consumer_waiter = waiter
            self.consumer_waiting = True
            self._wake_producer()
            try:
                remaining = self._remaining()
                if remaining is None:
                    await waiter
                else:
                    try:
                        async with asyncio.timeout(max(remaining, 0.0)):
                            await waiter
                    except TimeoutError:
                        if not waiter.done() or waiter.cancelled():
                            exc = self._expired()
                            self.abort(exc)
                            raise exc from None
            finally:
                self.consumer_waiting = False
                self.consumer_waiter = None
            if self.closed:
                raise StreamClosedError("the stream is closed")
        rows, state = buffer.popleft()
        self.claimed = 0
        self.pages_delivered += 1
        self.rows_delivered += len(rows)
        self.delivered_state = state
        self._wake_producer()
        return rows


class AsyncRowStream:
    """Rows of a query, fetched page by page as they are consumed.

    ``async with session.stream(q) as rows: async for row in rows: ...`` or
    ``async for page in rows.pages(): ...``. Leaving the block (or ``aclose()``) stops
    fetching; iterating after that raises ``StreamClosedError``.
    """

    def __init__(self, core: StreamCore) -> None:
        self._core = core
        self._rows: Any = iter(())

    def __repr__(self) -> str:
        core = self._core
        return (
            f"<AsyncRowStream pages={core.pages_delivered} rows={core.rows_delivered} "
            f"closed={core.closed}>"
        )

    # ---- context management ------------------------------------------------------------------

    async def __aenter__(self) -> AsyncRowStream:
        self._core.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop fetching and release the stream. Idempotent."""
        core = self._core
        task = core.task
        core.abort()
        if task is not None and not task.done():
            await asyncio.wait((task,))

    def __del__(self) -> None:
        core = self._core
        if core.active:
            warnings.warn(
                f"unclosed aiocql stream {self!r}: use 'async with session.stream(...)' "
                "or await stream.aclose()",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )
            core.abort_threadsafe()

    # ---- iteration ---------------------------------------------------------------------------

    def __aiter__(self) -> AsyncRowStream:
        return self

    async def __anext__(self) -> Any:
        if self._core.closed:
            raise StreamClosedError("the stream is closed")
        for row in self._rows:
            return row
        while True:
            rows = await self._next_page()
            if rows is None:
                raise StopAsyncIteration
            self._rows = iter(rows)
            for row in self._rows:
                return row

    async def _next_page(self) -> list[Any] | None:
        try:
            return await self._core.next_page()
        except asyncio.CancelledError:
            self._core.abort()
            raise

    def pages(self) -> _PageIterator:
        """Iterate whole pages (lists of rows) instead of rows."""
        return _PageIterator(self)

    # ---- introspection -----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._core.closed

    @property
    def page_number(self) -> int:
        """Pages handed to the consumer so far."""
        return self._core.pages_delivered

    @property
    def rows_fetched(self) -> int:
        """Rows received from the cluster so far (including prefetched pages)."""
        return self._core.rows_fetched

    @property
    def page_requests(self) -> int:
        """Page requests sent so far."""
        return self._core.page_requests

    @property
    def paging_state(self) -> bytes | None:
        """Paging state after the last page handed to the consumer: resuming from it (with
        ``stream(paging_state=...)`` or ``execute(paging_state=...)``) yields the next page."""
        return self._core.delivered_state


class _PageIterator:
    """``async for page in stream.pages()``: a plain iterator (not an async generator), so
    breaking out of it leaves nothing half-finalised; the stream itself owns the cleanup."""

    def __init__(self, stream: AsyncRowStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _PageIterator:
        return self

    async def __anext__(self) -> list[Any]:
        stream = self._stream
        rest = list(stream._rows)  # rows of a page partly consumed through row iteration
        if rest:
            return rest
        while True:
            rows = await stream._next_page()
            if rows is None:
                raise StopAsyncIteration
            if rows:
                return rows
