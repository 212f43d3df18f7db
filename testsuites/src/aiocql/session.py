"""``AsyncSession``: awaitable, bounded, observable requests on a driver ``Session``.

The one place where a request is admitted: every request, page and batch goes through
``_execute_page`` (rate limiter, in-flight window, then the loop's
:class:`~aiocql.bridge.LoopBridge`, which sends it from the driver's IO thread and settles it
on the loop), so bounds, stats and listeners hold for all of them alike. The other modules
build on this path (:mod:`~aiocql.bulk`, :mod:`~aiocql.stream`) or sit beside it for the
driver's blocking calls (:mod:`~aiocql.prepared`, :mod:`~aiocql.health`).

Every await is bounded: the driver gets the request's timeout for its own timer, and the
bridge's deadline sweep fails the request ``grace`` seconds later if the driver never answers.
Paging is always a fresh request carrying the paging state, so each page has its own timeout,
retries and query plan (the driver re-arms no timer for the pages it fetches itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from concurrent.futures import Executor
from concurrent.futures import Future as ConcurrentFuture
from functools import partial
from typing import TYPE_CHECKING, Any

from cassandra.cluster import EXEC_PROFILE_DEFAULT
from cassandra.query import BatchStatement

from .blocking import await_concurrent, timed_blocking
from .bridge import LoopBridge
from .bulk import collect_all, run_concurrently
from .config import Limits, Rate, Settings, Timeouts, resolve
from .errors import SessionClosedError
from .health import HostHealth, check_host
from .listeners import Listeners, RequestKind, RequestListener
from .loops import Bridges, reactor_timer
from .options import CallOptions, call_options
from .prepared import PreparedCache
from .ratelimit import RateLimiter
from .result import AsyncResult
from .statements import keyspace_name, really_idempotent, with_options
from .stats import SessionStats, StatsRecorder
from .stream import AsyncRowStream, OnPage, StreamCore, check_stream_limits

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["AsyncSession", "HostHealth"]


class AsyncSession:
    """An asyncio view of a connected driver ``Session``. Create it with
    ``await AsyncCluster.connect()``; share it across tasks and event loops."""

    def __init__(
        self,
        session: Any,
        executor: Executor,
        *,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        rate: Rate | RateLimiter | None = None,
        settings: Settings | None = None,
        batch_wakeups_per_io_cycle: bool = True,
        send_on_io_thread: bool = True,
        **aliases: Any,
    ) -> None:
        settings = resolve(timeouts, limits, rate, base=settings, **aliases)
        self._session = session
        self._executor = executor
        self._settings = settings
        self._default_options = CallOptions(settings.timeouts.request)
        self._options = partial(call_options, self._default_options)
        self._grace = settings.timeouts.grace
        self._limiter = settings.rate_limiter
        self._stats = StatsRecorder()
        self._listeners = Listeners()
        self._bridges = Bridges(
            partial(
                LoopBridge,
                execute_async=session.execute_async,
                stats=self._stats,
                listeners=self._listeners,
                max_in_flight=settings.limits.max_in_flight,
                grace=self._grace,
                defer=reactor_timer(session),
                send_on_io_thread=send_on_io_thread,
                defer_wakeups=batch_wakeups_per_io_cycle,
            )
        )
        self._bridge: LoopBridge | None = None  # the running loop's, checked per request
        self._streams: set[StreamCore] = set()
        self._prepared = PreparedCache(session, executor, self._stats, self._listeners)
        self._closed = False
        self._close_future: ConcurrentFuture[None] | None = None
        self._on_close: list[Callable[[AsyncSession], None]] = []

    @property
    def driver_session(self) -> Any:
        """The wrapped ``cassandra.cluster.Session`` (for what aiocql does not wrap)."""
        return self._session

    @property
    def keyspace(self) -> str | None:
        keyspace: str | None = self._session.keyspace
        return keyspace

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def default_timeout(self) -> float:
        return self._default_options.timeout

    @property
    def settings(self) -> Settings:
        """The wrapper settings this session was opened with."""
        return self._settings

    @property
    def in_flight(self) -> int:
        """Driver requests currently outstanding from this session on the running loop."""
        return self._bridge.in_flight if self._bridge is not None else 0

    @property
    def rate_limiter(self) -> RateLimiter | None:
        return self._limiter

    @rate_limiter.setter
    def rate_limiter(self, limiter: RateLimiter | None) -> None:
        self._limiter = limiter

    # ---- the request path --------------------------------------------------------------------

    def _closed_error(self) -> SessionClosedError:
        return SessionClosedError("the aiocql session is closed")

    def _check_open(self) -> None:
        if self._closed:
            raise self._closed_error()

    async def _execute_page(
        self,
        kind: RequestKind,
        query: Any,
        parameters: Any,
        options: CallOptions,
        paging_state: bytes | None,
    ) -> AsyncResult:
        bridge = self._bridge
        if bridge is None or bridge.loop is not asyncio.get_running_loop():
            bridge = self._bridge = self._bridges.bind(asyncio.get_running_loop())
        if self._closed:  # inlined, not _check_open: this runs for every request and page
            raise self._closed_error()
        if self._limiter is not None:
            await self._limiter.acquire()
            if self._closed:  # closed while this request waited for its turn
                raise self._closed_error()
        if bridge.in_flight < bridge.max_in_flight:
            bridge.in_flight += 1  # the common case, inlined: a free in-flight slot
        else:
            await bridge.acquire_slot(options.timeout)
            if self._closed:
                bridge.release_slot()
                raise self._closed_error()
        req = bridge.start(kind, query, parameters, options, paging_state)
        try:
            rows = await req.fut
        except asyncio.CancelledError:
            bridge.abandon(req)
            raise
        return AsyncResult(self, rows, req.rf, query, parameters, options)

    # ---- public request API ------------------------------------------------------------------

    def execute(
        self,
        query: Any,
        parameters: Any = None,
        *,
        timeout: float | None = None,
        paging_state: bytes | None = None,
        fetch_size: int | None = None,
        idempotent: bool | None = None,
        consistency_level: int | None = None,
        execution_profile: Any = EXEC_PROFILE_DEFAULT,
        host: Any = None,
        trace: bool = False,
        custom_payload: dict[str, bytes] | None = None,
    ) -> Coroutine[Any, Any, AsyncResult]:
        """Run one request; awaiting the call returns its first page (``AsyncResult``).

        ``timeout`` (seconds, default the session's) bounds this request; driver exceptions
        are raised unchanged. ``fetch_size``, ``idempotent`` and ``consistency_level`` apply
        to a copy of the statement.
        """
        if fetch_size is not None or idempotent is not None or consistency_level is not None:
            query, parameters = with_options(
                query,
                parameters,
                fetch_size=fetch_size,
                idempotent=idempotent,
                consistency_level=consistency_level,
            )
        if isinstance(query, BatchStatement):
            query = really_idempotent(query, self._prepared.by_id)
        options = self._options(timeout, execution_profile, host, trace, custom_payload)
        # a plain method handing back the coroutine saves one coroutine frame per request
        return self._execute_page("execute", query, parameters, options, paging_state)

    async def execute_batch(
        self,
        batch: Any,
        *,
        timeout: float | None = None,
        idempotent: bool | None = None,
        consistency_level: int | None = None,
        execution_profile: Any = EXEC_PROFILE_DEFAULT,
        trace: bool = False,
        custom_payload: dict[str, bytes] | None = None,
    ) -> AsyncResult:
        """Run a ``BatchStatement`` with the same timeout, error and retry semantics as
        ``execute``. A batch counts as idempotent (retried, speculatively executed) only when
        it is marked so, is not a COUNTER batch, and every statement in it was prepared by
        this session and marked idempotent; otherwise a copy marked not idempotent is sent."""
        batch, _ = with_options(
            batch, None, idempotent=idempotent, consistency_level=consistency_level
        )
        batch = really_idempotent(batch, self._prepared.by_id)
        options = self._options(timeout, execution_profile, None, trace, custom_payload)
        return await self._execute_page("batch", batch, None, options, None)

    async def execute_all(
        self,
        query: Any,
        parameters: Any = None,
        *,
        max_rows: int = 100_000,
        page_size: int | None = None,
        page_timeout: float | None = None,
        total_timeout: float | None = None,
        execution_profile: Any = EXEC_PROFILE_DEFAULT,
        idempotent: bool | None = None,
        consistency_level: int | None = None,
    ) -> list[Any]:
        """Collect every page into one list, refusing (``ResultTooLarge``) past ``max_rows``.

        Each page is its own request bounded by ``page_timeout``; ``total_timeout`` bounds all.
        """
        stream = self.stream(
            query,
            parameters,
            page_size=page_size,
            prefetch=1,
            page_timeout=page_timeout,
            total_timeout=total_timeout,
            execution_profile=execution_profile,
            idempotent=idempotent,
            consistency_level=consistency_level,
        )
        return await collect_all(stream, max_rows)

    def stream(
        self,
        query: Any,
        parameters: Any = None,
        *,
        page_size: int | None = 1000,
        prefetch: int = 1,
        page_timeout: float | None = None,
        total_timeout: float | None = None,
        max_pages: int | None = None,
        paging_state: bytes | None = None,
        on_page: OnPage | None = None,
        execution_profile: Any = EXEC_PROFILE_DEFAULT,
        idempotent: bool | None = None,
        consistency_level: int | None = None,
    ) -> AsyncRowStream:
        """Stream rows page by page: ``async with session.stream(q) as rows: async for r in
        rows``. At most ``prefetch`` pages are fetched ahead of the consumer; every page is a
        fresh request bounded by ``page_timeout``; ``total_timeout`` bounds the whole stream."""
        self._check_open()
        check_stream_limits(prefetch, total_timeout, max_pages)
        statement, parameters = with_options(
            query,
            parameters,
            fetch_size=page_size,
            idempotent=idempotent,
            consistency_level=consistency_level,
        )
        options = self._options(page_timeout, execution_profile, None, False, None)
        core = StreamCore(
            self,
            statement,
            parameters,
            options,
            prefetch=prefetch,
            total_timeout=total_timeout,
            max_pages=max_pages,
            paging_state=paging_state,
            on_page=on_page,
        )
        return AsyncRowStream(core)

    async def execute_concurrent(
        self,
        statements_and_parameters: Iterable[tuple[Any, Any]],
        *,
        concurrency: int = 100,
        return_exceptions: bool = False,
        timeout: float | None = None,
    ) -> list[Any]:
        """Run ``(statement, parameters)`` pairs with at most ``concurrency`` in flight.

        Results come back in input order. The first failure is raised (after the requests
        already started have finished) unless ``return_exceptions``, which puts the
        exception objects in the result list instead.
        """
        options = self._options(timeout, EXEC_PROFILE_DEFAULT, None, False, None)
        return await run_concurrently(
            self, list(statements_and_parameters), options, concurrency, return_exceptions
        )

    async def prepare(
        self, query: str, *, timeout: float | None = None, keyspace: str | None = None
    ) -> Any:
        """Prepare ``query`` once per (keyspace, text): cached, and concurrent callers share
        one in-flight preparation. Bounded by ``timeout``."""
        self._check_open()
        limit = self._default_options.timeout if timeout is None else timeout
        return await self._prepared.prepare(query, keyspace, limit + self._grace)

    async def _query_trace(self, rf: Any, max_wait: float) -> Any:
        # the driver polls the trace tables with up to one full request after max_wait
        limit = max_wait + self._default_options.timeout + self._grace
        cf = self._executor.submit(rf.get_query_trace, max_wait)
        return await await_concurrent(cf, limit, "query trace")

    async def set_keyspace(self, name: str, *, timeout: float | None = None) -> None:
        """Switch the session's keyspace (``USE``), validating the identifier first."""
        self._check_open()
        keyspace = keyspace_name(name)
        limit = self._default_options.timeout if timeout is None else timeout
        cf = self._executor.submit(self._session.set_keyspace, keyspace)
        await timed_blocking(
            self._stats, self._listeners, "set_keyspace", f"USE {name}", cf, limit + self._grace
        )

    async def check_host(self, host: Any, *, timeout: float = 2.0) -> HostHealth:
        """Query ``host`` itself (``SELECT release_version FROM system.local`` pinned to it,
        no retry elsewhere) and report whether it answered. ``host`` is an address or a driver
        ``Host``. Never raises for a down host; raises ``ValueError`` for an unknown one."""
        return await check_host(self, host, timeout)

    # ---- observability ---------------------------------------------------------------------

    def add_listener(self, listener: RequestListener) -> Callable[[], None]:
        """Call ``listener(RequestEvent)`` on the loop thread after every request; returns a
        function that removes it."""
        return self._listeners.add(listener)

    def remove_listener(self, listener: RequestListener) -> None:
        self._listeners.discard(listener)

    def stats(self) -> SessionStats:
        """A snapshot of this session's counters and latency histogram."""
        return self._stats.snapshot(self.in_flight)

    # ---- lifecycle -------------------------------------------------------------------------

    def _register_stream(self, core: StreamCore) -> None:
        self._check_open()
        self._streams.add(core)

    def _forget_stream(self, core: StreamCore) -> None:
        self._streams.discard(core)

    async def close(self, *, timeout: float | None = None) -> None:
        """Fail pending requests and open streams with ``SessionClosedError`` at once, then
        shut the driver session down (bounded by ``timeout``, default ``Timeouts.close``).
        Idempotent."""
        if timeout is None:
            timeout = self._settings.timeouts.close
        if not self._closed:
            self._closed = True
            for core in list(self._streams):
                core.abort(self._closed_error())
            self._streams.clear()
            self._bridges.fail_all(self._closed_error)
            self._close_future = self._executor.submit(self._session.shutdown)
            for callback in self._on_close:
                callback(self)
        assert self._close_future is not None
        await await_concurrent(self._close_future, timeout, "session shutdown")

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
