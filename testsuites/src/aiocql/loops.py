"""The bridges of one session: one per event loop the session has been used from.

A session is shared across tasks and, in tests, across event loops (pytest-asyncio's
function-scoped loops, successive ``asyncio.run`` calls), but a :class:`LoopBridge` belongs to
exactly one loop, because asyncio futures may only be settled on their own loop's thread. So the
session keeps the bridge of the loop it last ran on, the bridges of other loops that are still
open (their requests may still be pending), and forgets the bridges of closed loops without
touching their futures. Closing the session fails every open bridge's requests on that
bridge's own loop thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .bridge import LoopBridge

__all__ = ["Bridges", "reactor_timer"]


class Bridges:
    """Finds or builds the bridge of the running loop; fails them all at close."""

    def __init__(self, make: Callable[[asyncio.AbstractEventLoop], LoopBridge]) -> None:
        self._make = make
        self.current: LoopBridge | None = None
        self._others: list[LoopBridge] = []

    def bind(self, loop: asyncio.AbstractEventLoop) -> LoopBridge:
        """Make ``loop``'s bridge the current one (reusing it if the loop had one)."""
        old = self.current
        if old is not None:
            if old.loop.is_closed():
                old.detach()
            else:
                self._others.append(old)
        self._others = [b for b in self._others if not b.loop.is_closed()]
        for candidate in self._others:
            if candidate.loop is loop:
                self._others.remove(candidate)
                self.current = candidate
                return candidate
        self.current = bridge = self._make(loop)
        return bridge

    def fail_all(self, make_exc: Callable[[], BaseException]) -> None:
        """Settle every pending request of every bridge with ``make_exc()``: at once for the
        running loop's, through its loop for another open loop's."""
        running = asyncio.get_running_loop()
        for bridge in [*self._others, *([self.current] if self.current else [])]:
            if bridge.loop is running:
                bridge.fail_all(make_exc)
            elif bridge.loop.is_closed():
                bridge.detach()
            else:
                bridge.loop.call_soon_threadsafe(bridge.fail_all, make_exc)


def reactor_timer(driver_session: Any) -> Callable[[float, Callable[[], None]], Any] | None:
    """The driver reactor's ``create_timer``: its callbacks run on the driver's IO thread after
    the IO callbacks of the current cycle, which is how a bridge sends requests and wakes the
    loop once per IO cycle. ``None`` for a session without one (fakes in unit tests)."""
    cluster = getattr(driver_session, "cluster", None)
    timer = getattr(getattr(cluster, "connection_class", None), "create_timer", None)
    return timer if callable(timer) else None
