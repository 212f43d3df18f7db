"""Bounded awaits on the driver's blocking calls (connect, prepare, set_keyspace, shutdown).

These driver calls block their thread, so they run in an executor owned by the cluster; the
awaiting coroutine gives up after its deadline with ``RequestTimeout`` instead of hanging. A
thread cannot be interrupted, so a late result is handed to ``on_late`` (e.g. to shut down a
session that connected after its caller stopped waiting).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures import Future as ConcurrentFuture
from typing import Any, TypeVar

from .errors import RequestTimeout

__all__ = ["await_concurrent", "run_blocking"]

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
