"""The one place where the event loop and the driver's threads hand requests to each other.

cassandra-driver completes a ``ResponseFuture`` on whichever thread happens to finish it: the
reactor's IO thread, a cluster executor worker (retries, re-prepares), a timer, or *the calling
thread itself* inside ``add_callback`` when the future already failed (``NoHostAvailable`` is
delivered that way, never raised). asyncio futures may only be touched on their loop's thread.

So driver threads do exactly two things here: append an immutable ``(key, value, ok)`` tuple
to a ``collections.deque`` (an atomic operation in CPython) and, if no wake-up is already
scheduled, wake the loop (``call_soon_threadsafe(drain)``; from the IO thread only after the
reactor ran every callback of its current cycle, through a 0 s driver timer). Everything else
— settling futures, counters, listeners, the in-flight window, deadlines — runs on the loop
thread. Requests travel the other way in batches too: the loop queues them and the driver's IO
thread sends them (:mod:`aiocql.sender`), so neither thread waits on the other's locks.

Why no completion is ever lost: ``drain`` clears the "wake-up scheduled" flag *before* it
empties the deque. A producer that sees the flag set has appended its item before a drain that
has not started yet (it has not cleared the flag), so that drain will pop it. A producer that
sees the flag clear schedules a fresh drain itself. Exactly-once settlement is decided on the
loop thread by removing the request from ``pending``: whoever removes it (completion, timeout
sweep, cancellation, close) settles it; everyone else finds it gone and does nothing.

A bridge belongs to one session and one event loop; a session builds a fresh bridge when it is
used from a new loop (pytest-asyncio function-scoped loops, successive ``asyncio.run`` calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from threading import get_ident
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .errors import BackpressureTimeout, RequestTimeout, error_kind
from .listeners import RequestEvent, RequestKind, RequestListener, RequestOutcome, notify
from .request import DROP_SETTLED_TIMER, Request, query_text
from .sender import IoThreadSender
from .stats import StatsRecorder

if TYPE_CHECKING:
    from .options import CallOptions

__all__ = ["SWEEP_INTERVAL", "LoopBridge"]

SWEEP_INTERVAL = 0.2
"""Seconds between deadline sweeps; a stalled request surfaces within deadline + this."""


class LoopBridge:
    """Per (session, event loop): the completion queue, pending set, in-flight window and
    deadline sweeper."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        execute_async: Callable[..., Any],
        stats: StatsRecorder,
        listeners: list[RequestListener],
        max_in_flight: int,
        grace: float,
        defer: Callable[[float, Callable[[], None]], Any] | None = None,
        send_on_io_thread: bool = True,
        defer_wakeups: bool = True,
    ) -> None:
        self.loop = loop
        self._defer = defer
        self._defer_wakeups = defer_wakeups and defer is not None
        self._reactor_thread = 0  # unknown until a driver timer tells us: wake at once
        if defer is not None:
            defer(0, self._learn_reactor_thread)
        self.grace = grace
        self._execute_async = execute_async
        self._create_future = loop.create_future
        self._on_result = self.on_result  # bound once, not per request
        self._on_error = self.on_error
        self.stats = stats
        self.listeners = listeners
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.pending: dict[int, Request] = {}  # by Request.key
        self._keys = itertools.count()
        self._queue: deque[tuple[int, Any, bool]] = deque()
        self._wakeup_scheduled = False
        self._sender = (
            IoThreadSender(loop, defer, self._send)
            if send_on_io_thread and defer is not None
            else None
        )
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None

    # ---- driver-thread side: append + (maybe) one call_soon_threadsafe, nothing else -------

    def on_result(self, value: Any, key: int) -> None:
        self._queue.append((key, value, True))
        if not self._wakeup_scheduled:
            self._wakeup_scheduled = True
            self._schedule_wakeup()

    def on_error(self, exc: BaseException, key: int) -> None:
        self._queue.append((key, exc, False))
        if not self._wakeup_scheduled:
            self._wakeup_scheduled = True
            self._schedule_wakeup()

    def _schedule_wakeup(self) -> None:
        if self._defer_wakeups and get_ident() == self._reactor_thread:
            # On the driver's IO thread, wake the loop only after the reactor has run every
            # callback of this IO batch: a 0 s driver timer fires after them. Waking it at
            # once would hand the GIL to the loop thread in the middle of the batch.
            self._defer(0, self._wake)  # type: ignore[misc]
        else:
            self._wake()

    def _learn_reactor_thread(self) -> None:
        self._reactor_thread = get_ident()  # driver timers run on the driver's IO thread

    def _wake(self) -> None:
        try:  # noqa: SIM105 - hot path: a bare try is cheaper than contextlib.suppress
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # loop closed: nobody is left to wake
            pass

    # ---- loop-thread side -------------------------------------------------------------------

    def start(
        self,
        kind: RequestKind,
        query: Any,
        parameters: Any,
        options: CallOptions,
        paging_state: bytes | None,
    ) -> Request:
        """Send one driver request (now, or from the driver's IO thread) whose outcome settles
        ``req.fut`` (the rows; ``req.rf`` is then the driver's ``ResponseFuture``). The caller
        holds an in-flight slot, which this method owns from now on."""
        req = Request(
            self._create_future(), kind, query, parameters, options, paging_state, perf_counter()
        )
        req.deadline += self.grace
        stats = self.stats
        stats.requests += 1
        if self.in_flight > stats.high_water:
            stats.high_water = self.in_flight
        req.key = key = next(self._keys)
        self.pending[key] = req
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(SWEEP_INTERVAL, self._sweep)
        if self._sender is not None:
            self._sender.submit(req)
        else:
            self._send(req)
        return req

    def _send(self, req: Request) -> None:
        if req.abandoned:
            return
        options = req.options
        try:
            rf = self._execute_async(
                req.call,
                req.parameters,
                options.trace,
                options.custom_payload,
                options.timeout,
                options.execution_profile,
                req.paging_state,
                options.host,
            )
        except BaseException as exc:  # delivered like any other failure of the request
            self.on_error(exc, req.key)
            return
        req.rf = rf
        rf.add_callback(self._on_result, req.key)
        rf.add_errback(self._on_error, req.key)

    def acquire_slot_nowait(self) -> bool:
        if self.in_flight < self.max_in_flight:
            self.in_flight += 1
            if self.in_flight > self.stats.high_water:
                self.stats.high_water = self.in_flight
            return True
        return False

    async def acquire_slot(self, timeout: float) -> None:
        """Wait (bounded) for an in-flight slot; slots are handed over in FIFO order."""
        if self.acquire_slot_nowait():
            return
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._slot_waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return  # the slot arrived in the same loop iteration as the deadline
            self._drop_waiter(waiter)
            raise BackpressureTimeout(
                f"no in-flight slot became free within {timeout:g}s "
                f"(max_in_flight={self.max_in_flight})"
            ) from None
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release_slot()  # handed a slot but cancelled before using it
            else:
                self._drop_waiter(waiter)
            raise

    def _drop_waiter(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._slot_waiters.remove(waiter)
        if not waiter.done():
            waiter.cancel()

    def release_slot(self) -> None:
        waiters = self._slot_waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # hand the slot over: in_flight stays the same
                return
        self.in_flight -= 1

    def _drain(self) -> None:
        self._wakeup_scheduled = False  # before popping: see the module docstring
        queue = self._queue
        pending = self.pending
        listeners = self.listeners
        latencies: list[float] = []
        record = latencies.append
        completed = rows_total = 0
        now = perf_counter()
        drop_timer = DROP_SETTLED_TIMER
        while queue:
            key, value, ok = queue.popleft()
            req = pending.pop(key, None)
            if req is None:
                continue  # already settled by a timeout, a cancellation or close()
            if drop_timer and req.rf is not None:
                # the driver cancelled it when it settled: see DROP_SETTLED_TIMER
                req.rf._timer = None
            if self._slot_waiters:
                self.release_slot()
            else:
                self.in_flight -= 1
            latency = now - req.start
            record(latency)
            fut = req.fut
            if ok:
                completed += 1
                rows = len(value) if value else 0
                rows_total += rows
                if not fut.done():
                    fut.set_result(value)
                if listeners:
                    self._emit(req, "ok", latency, rows, None)
            else:
                self.stats.record_error(error_kind(value))
                if not fut.done():
                    fut.set_exception(value)
                if listeners:
                    self._emit(req, "error", latency, 0, value)
        if latencies:
            stats = self.stats
            stats.completed += completed
            stats.pages += completed
            stats.rows += rows_total
            stats.latency.record_many(latencies)

    def _emit(
        self,
        req: Request,
        outcome: RequestOutcome,
        latency: float,
        rows: int,
        error: BaseException | None,
    ) -> None:
        event = RequestEvent(
            kind=req.kind,
            outcome=outcome,
            latency=latency,
            rows=rows,
            error=error,
            error_kind=error_kind(error) if error is not None else None,
            query=query_text(req.call),
        )
        notify(self.listeners, event)

    def settle_now(self, req: Request, outcome: RequestOutcome, exc: BaseException) -> bool:
        """Settle ``req`` on the loop thread without a driver result (timeout, cancellation,
        close): detach the driver callbacks and free its slot. False if already settled."""
        if self.pending.pop(req.key, None) is None:
            return False
        req.abandoned = True
        self.release_slot()
        if req.rf is not None:  # else never sent, or being sent: its completion is dropped
            req.rf.clear_callbacks()
        latency = perf_counter() - req.start
        stats = self.stats
        if outcome == "cancelled":
            stats.cancellations += 1
        else:
            if outcome == "timeout":
                stats.timeouts += 1
            stats.record_error(error_kind(exc))
            stats.latency.record(latency)
            if not req.fut.done():
                req.fut.set_exception(exc)
        if self.listeners:
            self._emit(req, outcome, latency, 0, exc)
        return True

    def abandon(self, req: Request) -> None:
        """The awaiting coroutine was cancelled: stop caring about the driver request."""
        self.settle_now(req, "cancelled", asyncio.CancelledError())

    def _sweep(self) -> None:
        self._sweeper = None
        if not self.pending:
            return
        now = perf_counter()
        expired = [req for req in self.pending.values() if req.deadline <= now]
        for req in expired:
            host = getattr(req.rf, "_current_host", None)
            self.settle_now(
                req,
                "timeout",
                RequestTimeout(
                    f"no response within {req.deadline - req.start:.3g}s "
                    f"(aiocql deadline) for {query_text(req.call)[:200]!r}",
                    last_host=host,
                ),
            )
        if self.pending and not self.loop.is_closed():
            self._sweeper = self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def fail_all(self, make_exc: Callable[[], BaseException]) -> None:
        """Settle every pending request and waiter with ``make_exc()`` (session close)."""
        for req in list(self.pending.values()):
            self.settle_now(req, "closed", make_exc())
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_exception(make_exc())
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def detach(self) -> None:
        """The loop is gone (closed): forget its requests without touching its futures."""
        for req in self.pending.values():
            req.abandoned = True
            if req.rf is not None:
                req.rf.clear_callbacks()
        self.pending.clear()
        self._queue.clear()
        if self._sender is not None:
            self._sender.forget()
        self._slot_waiters.clear()
        self.in_flight = 0
        self._sweeper = None
