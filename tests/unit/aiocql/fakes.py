"""Fakes at the driver boundary: a ResponseFuture with the driver's callback semantics and a
driver Session whose futures the test completes when, and on whichever thread, it wants.

``FakeResponseFuture`` copies the 3.30 driver's rules that matter to a bridge: callbacks are
kept after firing (the driver fires them once per page), a callback added after completion runs
immediately in the caller's thread, completion runs callbacks outside the lock on the
completing thread, and ``clear_callbacks`` detaches them. Like the driver's, it holds its
timeout timer in ``_timer``, and a cancelled timer keeps its callback (a bound method of the
future): the reference cycle aiocql has to cut for pages to be freed at once.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from cassandra.query import PreparedStatement

NOT_SET = object()


class FakeTimer:
    """``cassandra.connection.Timer``: ``cancel`` only sets a flag, the callback stays."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.canceled = False

    def cancel(self) -> None:
        self.canceled = True


class FakeResponseFuture:
    def __init__(self, query: Any, parameters: Any, timeout: Any, paging_state: Any, host: Any):
        self.query = query
        self.parameters = parameters
        self.timeout = timeout
        self.paging_state_in = paging_state
        self.host = host
        self._callback_lock = threading.Lock()
        self._callbacks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._errbacks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._final_result: Any = NOT_SET
        self._final_exception: BaseException | None = None
        self._paging_state: bytes | None = None
        self._col_names: list[str] | None = None
        self.warnings = None
        self.coordinator_host = None
        self._current_host = None
        self.cleared = 0
        self.on_add: Callable[[FakeResponseFuture], None] | None = None
        self._timer: FakeTimer | None = FakeTimer(self._on_timeout)

    def _on_timeout(self) -> None:
        self.fail(TimeoutError("fake driver timeout"))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    # -- driver API used by aiocql
    def add_callback(self, fn: Callable[..., Any], *args: Any) -> FakeResponseFuture:
        with self._callback_lock:
            self._callbacks.append((fn, args))
            run_now = self._final_result is not NOT_SET
        if run_now:
            fn(self._final_result, *args)
        return self

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> FakeResponseFuture:
        with self._callback_lock:
            self._errbacks.append((fn, args))
            run_now = self._final_exception is not None
        if run_now:
            fn(self._final_exception, *args)
        if self.on_add is not None:  # after both registrations, like a reactor racing us
            hook, self.on_add = self.on_add, None
            hook(self)
        return self

    def clear_callbacks(self) -> None:
        with self._callback_lock:
            self._callbacks = []
            self._errbacks = []
            self.cleared += 1

    # -- test controls
    @property
    def has_callbacks(self) -> bool:
        return bool(self._callbacks or self._errbacks)

    def complete(self, rows: Any, paging_state: bytes | None = None) -> None:
        self._paging_state = paging_state
        self._cancel_timer()
        with self._callback_lock:
            self._final_result = rows
            calls = list(self._callbacks)
        for fn, args in calls:
            fn(rows, *args)

    def fail(self, exc: BaseException) -> None:
        self._cancel_timer()
        with self._callback_lock:
            self._final_exception = exc
            calls = list(self._errbacks)
        for fn, args in calls:
            fn(exc, *args)

    def complete_in_thread(self, rows: Any, paging_state: bytes | None = None) -> None:
        t = threading.Thread(target=self.complete, args=(rows, paging_state))
        t.start()
        t.join()

    def fail_in_thread(self, exc: BaseException) -> None:
        t = threading.Thread(target=self.fail, args=(exc,))
        t.start()
        t.join()


class FakeReactor:
    """The driver's IO thread, as far as aiocql uses it (``connection_class.create_timer``):
    timer callbacks run on one thread, in due order. ``stop()`` freezes it the way libev's loop
    stops when no connection is open; ``close()`` ends the thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self.running = True
        self._closed = False
        self.thread = threading.Thread(target=self._run, daemon=True, name="fake-reactor")
        self.thread.start()

    def create_timer(self, timeout: float, callback: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._timers, (time.monotonic() + timeout, next(self._order), callback))
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self.running = False

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self.thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    due = self._timers[0][0] if self._timers and self.running else None
                    if due is not None and due <= time.monotonic():
                        callback = heapq.heappop(self._timers)[2]
                        break
                    self._cond.wait(None if due is None else due - time.monotonic())
            callback()


class FakeHost:
    def __init__(self, address: str, is_up: bool = True) -> None:
        self.address = address
        self.endpoint = address
        self.is_up = is_up
        self.datacenter = "dc1"


class FakeMetadata:
    def __init__(self, hosts: list[FakeHost]) -> None:
        self.hosts = hosts

    def all_hosts(self) -> list[FakeHost]:
        return list(self.hosts)


class FakeCluster:
    def __init__(self, reactor: FakeReactor | None) -> None:
        self.metadata = FakeMetadata([FakeHost("127.0.0.1")])
        if reactor is not None:
            self.connection_class = reactor


class FakeDriverSession:
    """``execute_async`` returns a new FakeResponseFuture, after ``behaviour(rf)`` ran."""

    def __init__(
        self,
        behaviour: Callable[[FakeResponseFuture], None] | None = None,
        reactor: FakeReactor | None = None,
    ) -> None:
        self.behaviour = behaviour
        self.futures: list[FakeResponseFuture] = []
        self.keyspace: str | None = None
        self.cluster = FakeCluster(reactor)
        self.shutdown_calls = 0
        self.prepare_calls = 0
        self.raise_on_execute: BaseException | None = None

    def execute_async(
        self,
        query: Any,
        parameters: Any = None,
        trace: bool = False,
        custom_payload: Any = None,
        timeout: Any = None,
        execution_profile: Any = None,
        paging_state: Any = None,
        host: Any = None,
    ) -> FakeResponseFuture:
        if self.raise_on_execute is not None:
            raise self.raise_on_execute
        rf = FakeResponseFuture(query, parameters, timeout, paging_state, host)
        self.futures.append(rf)
        if self.behaviour is not None:
            self.behaviour(rf)
        return rf

    def prepare(self, query: str, custom_payload: Any = None, keyspace: Any = None) -> Any:
        self.prepare_calls += 1
        # a real statement without bind markers: BatchStatement.add binds it
        return PreparedStatement([], query.encode(), None, query, self.keyspace, 4, [], None)

    def set_keyspace(self, keyspace: str) -> None:
        self.keyspace = keyspace

    def shutdown(self) -> None:
        self.shutdown_calls += 1


async def cancel_and_check_released(
    task: asyncio.Future[Any], rf: FakeResponseFuture, session: Any
) -> None:
    """Cancel ``task`` (awaiting ``rf``): the cancellation propagates, and the request's driver
    callbacks, its in-flight slot and a cancellation count are all settled."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the cancelled task finished instead of raising CancelledError")
    assert not rf.has_callbacks
    assert session.in_flight == 0
    assert session.stats().cancellations == 1
