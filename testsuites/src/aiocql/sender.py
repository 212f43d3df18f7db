"""Requests sent from the driver's IO thread, in batches, as the raw driver's callback chains are.

``execute_async`` takes the driver's locks (the connection's request ids, the pool's in-flight
count, the write queue) that its IO thread takes too. Called on the event-loop thread, every
request made the two threads contend for those locks and for the GIL: measured with client
and node sharing the cores (benchmarks/aiocql_bench.py --no-pin, variant ``Wl``), 1.8 context
switches per insert against 0.04 for the raw driver, and 1.2 times its client CPU. So the loop
thread only queues the request here and, once the callbacks already queued on the loop have
run, one driver timer (0 s; timers run on the IO thread, after the IO callbacks of the current
cycle) sends every queued request in one go: one cross-thread wake-up per burst instead of
lock hand-offs per request (0.4 context switches per insert in the same run, and about the raw
driver's CPU).

The driver's libev loop stops when it has no open connection (every node down), and its
timers stop with it; a watchdog on the event loop therefore sends whatever the IO thread has
not picked up within :data:`WATCHDOG` seconds itself, so a request never waits on a stopped
reactor (the driver then fails it at once, e.g. with ``NoHostAvailable``). The queue follows
the bridge's flag protocol (the consumer clears "scheduled" before popping), and both threads
may pop from it: each ``popleft`` hands a request to exactly one of them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .request import Request

__all__ = ["WATCHDOG", "IoThreadSender"]

WATCHDOG = 0.05
"""Seconds a queued request may wait for the IO thread before the event loop sends it."""


class IoThreadSender:
    """The outbox of one bridge: ``submit`` on the loop thread, sent on the IO thread."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        io_timer: Callable[[float, Callable[[], None]], Any],
        send: Callable[[Request], None],
    ) -> None:
        self._loop = loop
        self._io_timer = io_timer
        self._send = send
        self._outbox: deque[Request] = deque()
        self._scheduled = False
        self._runs = 0  # batches the IO thread sent: the watchdog's sign of life
        self._watchdog: asyncio.TimerHandle | None = None

    def submit(self, req: Request) -> None:
        self._outbox.append(req)
        if not self._scheduled:
            self._scheduled = True
            # Kick the IO thread once the loop has run every callback already queued: the
            # tasks one drain resumed all submit before that, so the burst goes in one batch.
            # Kicked at the first request, an IO thread free to run at once took the burst in
            # pieces, a wake-up each (inserts, --no-pin, load 19-25: 0.011-0.017 IO-thread
            # batches per request before, 0.008-0.014 after, same run).
            self._loop.call_soon(self._kick)

    def _kick(self) -> None:
        self._io_timer(0, self._run)
        if self._watchdog is None:
            self._watchdog = self._loop.call_later(WATCHDOG, self._check, self._runs)

    def _run(self) -> None:
        self._scheduled = False  # before popping: see the module docstring
        self._runs += 1
        outbox = self._outbox
        send = self._send
        while outbox:
            send(outbox.popleft())

    def _check(self, runs_before: int) -> None:
        self._watchdog = None
        if not self._outbox:
            return
        if self._runs == runs_before:  # the IO thread sent nothing since: it is not running
            self._run()
        else:
            self._watchdog = self._loop.call_later(WATCHDOG, self._check, self._runs)

    def forget(self) -> None:
        """Drop queued requests and the watchdog (the loop is gone)."""
        self._outbox.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
