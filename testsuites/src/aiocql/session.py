"""``AsyncSession``: awaitable, bounded, observable requests on a driver ``Session``.

Every request goes through one path (``_execute_page``): admission (rate limiter, in-flight
window), ``execute_async`` on the loop thread, completion through the loop's
:class:`~aiocql.bridge.LoopBridge`. Every await is bounded — the driver gets the request's
timeout for its own timer, and the bridge's deadline sweep fails the request ``grace`` seconds
later if the driver never answers. Paging is always a fresh request carrying the paging state,
so each page has its own timeout, retries and query plan (the driver re-arms no timer for the
pages it fetches itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Coroutine, Iterable
from concurrent.futures import Executor
from concurrent.futures import Future as ConcurrentFuture
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

from cassandra.cluster import EXEC_PROFILE_DEFAULT
from cassandra.query import BatchStatement, SimpleStatement

from .blocking import await_concurrent
from .bridge import LoopBridge
from .config import Limits, Rate, Settings, Timeouts, resolve
from .errors import ResultTooLarge, SessionClosedError, error_kind
from .listeners import RequestEvent, RequestKind, RequestListener
from .ratelimit import RateLimiter
from .result import AsyncResult
from .statements import batch_is_idempotent, with_options
from .stats import SessionStats, StatsRecorder
from .stream import AsyncRowStream, OnPage, StreamCore

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["AsyncSession", "CallOptions", "HostHealth"]

log = logging.getLogger("aiocql")

_UNQUOTED_KEYSPACE = re.compile(r"[A-Za-z0-9_]{1,48}")
_QUOTED_KEYSPACE = re.compile(r'"(?:[^"]|""){1,48}"')
_HEALTH_QUERY = SimpleStatement("SELECT release_version FROM system.local")


class CallOptions:
    """Per-call driver options, shared (not copied) when a call uses the defaults."""

    __slots__ = ("custom_payload", "execution_profile", "host", "timeout", "trace")

    def __init__(
        self,
        timeout: float,
        execution_profile: Any = EXEC_PROFILE_DEFAULT,
        host: Any = None,
        trace: bool = False,
        custom_payload: dict[str, bytes] | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout={timeout!r}: must be a number of seconds > 0")
        self.timeout = float(timeout)
        self.execution_profile = execution_profile
        self.host = host
        self.trace = trace
        self.custom_payload = custom_payload

    def with_timeout(self, timeout: float) -> CallOptions:
        return CallOptions(
            timeout, self.execution_profile, self.host, self.trace, self.custom_payload
        )


@dataclass(frozen=True, slots=True)
class HostHealth:
    """What ``check_host`` saw when it queried one host directly."""

    address: str
    up: bool
    """True when the host itself answered the probe query."""
    latency: float | None
    release_version: str | None
    error: BaseException | None
    driver_marked_up: bool | None
    """The driver's own opinion (``Host.is_up``), which may lag reality."""


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
        self._grace = settings.timeouts.grace
        self._max_in_flight = settings.limits.max_in_flight
        self._limiter = settings.rate_limiter
        # the reactor's own timer lets completions wake the loop once per IO cycle
        connection_class = getattr(getattr(session, "cluster", None), "connection_class", None)
        timer = getattr(connection_class, "create_timer", None)
        self._defer = timer if callable(timer) else None
        self._send_on_io_thread = send_on_io_thread
        self._defer_wakeups = batch_wakeups_per_io_cycle
        self._stats = StatsRecorder()
        self._listeners: list[RequestListener] = []
        self._bridge: LoopBridge | None = None
        self._old_bridges: list[LoopBridge] = []
        self._streams: set[StreamCore] = set()
        self._prepared: dict[tuple[str | None, str], Any] = {}
        self._prepared_by_id: dict[bytes, Any] = {}  # for batch_is_idempotent
        self._preparing: dict[tuple[str | None, str], ConcurrentFuture[Any]] = {}
        self._closed = False
        self._close_future: ConcurrentFuture[None] | None = None
        self._on_close: list[Callable[[AsyncSession], None]] = []

    # ---- properties ------------------------------------------------------------------------

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

    def _bind_loop(self) -> LoopBridge:
        loop = asyncio.get_running_loop()
        old = self._bridge
        if old is not None:
            if old.loop.is_closed():
                old.detach()
            else:
                self._old_bridges.append(old)
        self._old_bridges = [b for b in self._old_bridges if not b.loop.is_closed()]
        for candidate in self._old_bridges:
            if candidate.loop is loop:
                self._old_bridges.remove(candidate)
                self._bridge = candidate
                return candidate
        bridge = LoopBridge(
            loop,
            self._session.execute_async,
            self._stats,
            self._listeners,
            self._max_in_flight,
            self._grace,
            self._defer,
            self._send_on_io_thread,
            self._defer_wakeups,
        )
        self._bridge = bridge
        return bridge

    def _closed_error(self) -> SessionClosedError:
        return SessionClosedError("the aiocql session is closed")

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
            bridge = self._bind_loop()
        if self._closed:
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

    def _really_idempotent(self, batch: Any) -> Any:
        """``batch``, or a copy marked not idempotent when it is marked idempotent but holds
        something that is not (see ``statements.batch_is_idempotent``)."""
        if batch.is_idempotent is True and not batch_is_idempotent(batch, self._prepared_by_id):
            batch, _ = with_options(batch, None, idempotent=False)
        return batch

    def _options(
        self,
        timeout: float | None,
        execution_profile: Any,
        host: Any,
        trace: bool,
        custom_payload: dict[str, bytes] | None,
    ) -> CallOptions:
        if (
            execution_profile is EXEC_PROFILE_DEFAULT
            and host is None
            and not trace
            and custom_payload is None
        ):
            if timeout is None:
                return self._default_options
            return CallOptions(timeout)
        return CallOptions(
            self._default_options.timeout if timeout is None else timeout,
            execution_profile,
            host,
            trace,
            custom_payload,
        )

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
            query = self._really_idempotent(query)
        if timeout is None and host is None and custom_payload is None and not trace:
            options = (
                self._default_options
                if execution_profile is EXEC_PROFILE_DEFAULT
                else self._options(None, execution_profile, None, False, None)
            )
        else:
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
        batch = self._really_idempotent(batch)
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
        if not isinstance(max_rows, int) or max_rows < 0:
            raise ValueError(f"max_rows={max_rows!r}: must be an integer >= 0")
        rows: list[Any] = []
        async with self.stream(
            query,
            parameters,
            page_size=page_size,
            prefetch=1,
            page_timeout=page_timeout,
            total_timeout=total_timeout,
            execution_profile=execution_profile,
            idempotent=idempotent,
            consistency_level=consistency_level,
        ) as stream:
            async for page in stream.pages():
                if len(rows) + len(page) > max_rows:
                    raise ResultTooLarge(
                        f"the result has more than max_rows={max_rows} rows "
                        f"(stopped after {len(rows)}); use stream() for large results"
                    )
                rows.extend(page)
        return rows

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
        if self._closed:
            raise self._closed_error()
        if not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"prefetch={prefetch!r}: must be an integer >= 0")
        if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
            raise ValueError(f"max_pages={max_pages!r}: must be an integer >= 1 or None")
        if total_timeout is not None and not total_timeout > 0:
            raise ValueError(f"total_timeout={total_timeout!r}: must be > 0 seconds or None")
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
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency={concurrency!r}: must be an integer >= 1")
        items = list(statements_and_parameters)
        results: list[Any] = [None] * len(items)
        options = self._options(timeout, EXEC_PROFILE_DEFAULT, None, False, None)
        position = iter(range(len(items)))
        first_error: list[BaseException] = []

        async def worker() -> None:
            for index in position:
                if first_error:
                    return
                statement, params = items[index]
                if isinstance(statement, BatchStatement):
                    statement = self._really_idempotent(statement)
                try:
                    results[index] = await self._execute_page(
                        "execute", statement, params, options, None
                    )
                except Exception as exc:
                    if return_exceptions:
                        results[index] = exc
                    else:
                        first_error.append(exc)
                        return

        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(items)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if first_error:
            raise first_error[0]
        return results

    async def prepare(
        self, query: str, *, timeout: float | None = None, keyspace: str | None = None
    ) -> Any:
        """Prepare ``query`` once per (keyspace, text): cached, and concurrent callers share
        one in-flight preparation. Bounded by ``timeout``."""
        if self._closed:
            raise self._closed_error()
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
        limit = self._default_options.timeout if timeout is None else timeout
        try:
            prepared = await self._timed_blocking("prepare", query, cf, limit + self._grace)
        except Exception:
            if cf.done() and self._preparing.get(key) is cf:
                del self._preparing[key]
            raise
        self._prepared[key] = prepared
        self._prepared_by_id[prepared.query_id] = prepared
        if self._preparing.get(key) is cf:
            del self._preparing[key]
        return prepared

    async def _timed_blocking(
        self, kind: RequestKind, what: str, cf: ConcurrentFuture[Any], timeout: float
    ) -> Any:
        """Await executor work as one observable request (stats and listeners)."""
        stats = self._stats
        stats.requests += 1
        start = perf_counter()
        try:
            value = await await_concurrent(cf, timeout, f"{kind} of {what[:200]!r}")
        except asyncio.CancelledError:
            stats.cancellations += 1
            raise
        except BaseException as exc:
            latency = perf_counter() - start
            stats.record_error(error_kind(exc))
            if isinstance(exc, TimeoutError):
                stats.timeouts += 1
            stats.latency.record(latency)
            self._emit(
                kind,
                "error" if not isinstance(exc, TimeoutError) else "timeout",
                latency,
                exc,
                what,
            )
            raise
        latency = perf_counter() - start
        stats.completed += 1
        stats.latency.record(latency)
        self._emit(kind, "ok", latency, None, what)
        return value

    async def _query_trace(self, rf: Any, max_wait: float) -> Any:
        # the driver polls the trace tables with up to one full request after max_wait
        limit = max_wait + self._default_options.timeout + self._grace
        cf = self._executor.submit(rf.get_query_trace, max_wait)
        return await await_concurrent(cf, limit, "query trace")

    def _emit(
        self, kind: RequestKind, outcome: Any, latency: float, exc: BaseException | None, what: str
    ) -> None:
        if not self._listeners:
            return
        event = RequestEvent(
            kind=kind,
            outcome=outcome,
            latency=latency,
            rows=0,
            error=exc,
            error_kind=error_kind(exc) if exc is not None else None,
            query=what,
        )
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("aiocql request listener %r failed", listener)

    async def set_keyspace(self, name: str, *, timeout: float | None = None) -> None:
        """Switch the session's keyspace (``USE``), validating the identifier first."""
        if self._closed:
            raise self._closed_error()
        if not isinstance(name, str) or not (
            _UNQUOTED_KEYSPACE.fullmatch(name) or _QUOTED_KEYSPACE.fullmatch(name)
        ):
            raise ValueError(
                f"keyspace={name!r}: must be 1-48 letters, digits or underscores, "
                "or a double-quoted identifier"
            )
        keyspace = name[1:-1].replace('""', '"') if name.startswith('"') else name
        limit = self._default_options.timeout if timeout is None else timeout
        cf = self._executor.submit(self._session.set_keyspace, keyspace)
        await self._timed_blocking("set_keyspace", f"USE {name}", cf, limit + self._grace)

    async def check_host(self, host: Any, *, timeout: float = 2.0) -> HostHealth:
        """Query ``host`` itself (``SELECT release_version FROM system.local`` pinned to it,
        no retry elsewhere) and report whether it answered. ``host`` is an address or a driver
        ``Host``. Never raises for a down host; raises ``ValueError`` for an unknown one."""
        target = self._find_host(host)
        address = str(target.address)
        marked_up = target.is_up
        start = perf_counter()
        try:
            result = await self.execute(_HEALTH_QUERY, host=target, timeout=timeout)
        except (asyncio.CancelledError, SessionClosedError):
            raise
        except Exception as exc:
            return HostHealth(address, False, None, None, exc, marked_up)
        latency = perf_counter() - start
        row = result.one()
        version = getattr(row, "release_version", None) if row is not None else None
        return HostHealth(address, True, latency, version, None, marked_up)

    def _find_host(self, host: Any) -> Any:
        hosts = list(self._session.cluster.metadata.all_hosts())
        if not isinstance(host, str):
            if host in hosts:
                return host
            host = str(getattr(host, "address", host))
        for candidate in hosts:
            if str(candidate.address) == host or str(candidate.endpoint) == host:
                return candidate
        known = ", ".join(sorted(str(h.address) for h in hosts))
        raise ValueError(f"host={host!r}: not a host of this cluster (known: {known})")

    # ---- observability ---------------------------------------------------------------------

    def add_listener(self, listener: RequestListener) -> Callable[[], None]:
        """Call ``listener(RequestEvent)`` on the loop thread after every request; returns a
        function that removes it."""
        if not callable(listener):
            raise TypeError(f"listener={listener!r}: must be callable with a RequestEvent")
        self._listeners.append(listener)

        def remove() -> None:
            self.remove_listener(listener)

        return remove

    def remove_listener(self, listener: RequestListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def stats(self) -> SessionStats:
        """A snapshot of this session's counters and latency histogram."""
        return self._stats.snapshot(self.in_flight)

    # ---- lifecycle -------------------------------------------------------------------------

    def _register_stream(self, core: StreamCore) -> None:
        if self._closed:
            raise self._closed_error()
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
            bridges = [*self._old_bridges, *([self._bridge] if self._bridge else [])]
            running = asyncio.get_running_loop()
            for bridge in bridges:
                if bridge.loop is running:
                    bridge.fail_all(self._closed_error)
                elif bridge.loop.is_closed():
                    bridge.detach()
                else:
                    bridge.loop.call_soon_threadsafe(bridge.fail_all, self._closed_error)
            self._close_future = self._executor.submit(self._session.shutdown)
            for callback in self._on_close:
                callback(self)
        assert self._close_future is not None
        await await_concurrent(self._close_future, timeout, "session shutdown")

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
