"""Bounded awaits on the driver's blocking calls (connect, prepare, set_keyspace, shutdown).

These driver calls block their thread, so they run in an executor owned by the cluster; the
awaiting coroutine gives up after its deadline with ``RequestTimeout`` instead of hanging. A
thread cannot be interrupted, so a late result is handed to ``on_late`` (e.g. to shut down a
session that connected after its caller stopped waiting). :func:`timed_blocking` counts such
a call as a request (stats and listeners), as the bridge counts driver requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures import Future as ConcurrentFuture
from time import perf_counter
from typing import Any, TypeVar

from .errors import RequestTimeout, error_kind
from .listeners import RequestEvent, RequestKind, RequestListener, RequestOutcome, notify
from .stats import StatsRecorder

__all__ = ["await_concurrent", "run_blocking", "timed_blocking"]

T = TypeVar("T")


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


async def await_concurrent(
    cf: ConcurrentFuture[T],
    timeout: float,
    what: str,
    on_late: Callable[[T], Any] | None = None,
) -> T:
    """Await a ``concurrent.futures.Future`` for at most ``timeout`` seconds.

    Never cancels ``cf``: other coroutines (single-flight ``prepare``) may share it.
    """
    fut = asyncio.wrap_future(cf)
    done, _ = await asyncio.wait((fut,), timeout=timeout)
    if not done:
        fut.add_done_callback(_retrieve)  # a late failure is nobody's to log
        if on_late is not None:

            def _late(f: ConcurrentFuture[T]) -> None:
                if not f.cancelled() and f.exception() is None:
                    on_late(f.result())

            cf.add_done_callback(_late)
        raise RequestTimeout(f"{what} did not finish within {timeout:g}s")
    return fut.result()


async def run_blocking(
    executor: Executor,
    timeout: float,
    what: str,
    fn: Callable[..., T],
    *args: Any,
    on_late: Callable[[T], Any] | None = None,
) -> T:
    """Run ``fn(*args)`` in ``executor`` and await it for at most ``timeout`` seconds."""
    return await await_concurrent(executor.submit(fn, *args), timeout, what, on_late)


async def timed_blocking(
    stats: StatsRecorder,
    listeners: list[RequestListener],
    kind: RequestKind,
    what: str,
    cf: ConcurrentFuture[T],
    timeout: float,
) -> T:
    """Await executor work (bounded) as one observable request: counted in ``stats``, its
    latency recorded, ``listeners`` told."""
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
        timed_out = isinstance(exc, TimeoutError)
        if timed_out:
            stats.timeouts += 1
        stats.latency.record(latency)
        _emit(listeners, kind, "timeout" if timed_out else "error", latency, exc, what)
        raise
    latency = perf_counter() - start
    stats.completed += 1
    stats.latency.record(latency)
    _emit(listeners, kind, "ok", latency, None, what)
    return value


def _emit(
    listeners: list[RequestListener],
    kind: RequestKind,
    outcome: RequestOutcome,
    latency: float,
    exc: BaseException | None,
    what: str,
) -> None:
    if not listeners:
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
    notify(listeners, event)
