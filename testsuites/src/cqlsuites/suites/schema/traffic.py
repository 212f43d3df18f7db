"""Query loops that keep running while a test changes the schema, recording every outcome."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiocql import AsyncSession

Request = Callable[[AsyncSession, int], Awaitable[Any]]
# Requests already in flight when a schema change returns may still meet the old schema.
IN_FLIGHT_MARGIN = 1.0


class Traffic:
    """``async with traffic.running(request):`` runs ``workers`` loops of ``request(cql, n)``."""

    def __init__(self, cql: AsyncSession, workers: int) -> None:
        self.cql = cql
        self.workers = workers
        self.ok = 0
        self.errors: list[tuple[float, BaseException]] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._numbers = itertools.count()
        self._waiting: tuple[int, asyncio.Event] | None = None
        self.windows: list[tuple[float, float]] = []

    async def _loop(self, request: Request) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            try:
                await request(self.cql, next(self._numbers))
                self.ok += 1
                if self._waiting is not None and self.ok >= self._waiting[0]:
                    self._waiting[1].set()
            except Exception as exc:
                self.errors.append((loop.time(), exc))
                await asyncio.sleep(0.01)  # a failing loop must not spin

    async def around(
        self, request: Request, change: Callable[[], Awaitable[Any]], *, settle: int = 50
    ) -> int:
        """Run the loops; once ``settle`` requests succeeded apply ``change`` (a marked schema
        change), wait for ``settle`` more, stop. Returns the success count right after it."""
        self.start(request)
        try:
            await self.settle(settle)
            async with self.change():
                await change()
            after = self.ok
            await self.settle(settle)
        finally:
            await self.stop()
        return after

    def start(self, request: Request) -> None:
        self._stop.clear()
        self._tasks = [asyncio.create_task(self._loop(request)) for _ in range(self.workers)]

    async def settle(self, requests: int) -> None:
        """Wait (at most 30 s) until ``requests`` more requests have succeeded."""
        reached = asyncio.Event()
        self._waiting = (self.ok + requests, reached)
        try:
            async with asyncio.timeout(30):
                await reached.wait()
        except TimeoutError:
            raise AssertionError(
                f"fewer than {requests} requests succeeded in 30 s; errors: {self.unexpected()}"
            ) from None
        finally:
            self._waiting = None

    async def stop(self) -> None:
        self._stop.set()
        async with asyncio.timeout(30):
            await asyncio.gather(*self._tasks)

    @contextlib.asynccontextmanager
    async def change(self) -> AsyncIterator[None]:
        """Mark a schema change: errors ``unexpected`` allows must fall inside such a window."""
        clock = asyncio.get_running_loop().time
        start = clock()
        try:
            yield
        finally:
            self.windows.append((start, clock() + IN_FLIGHT_MARGIN))

    def unexpected(self, allowed: Callable[[BaseException], bool] = lambda _: False) -> list[str]:
        """Errors ``allowed`` does not accept, or that happened outside every schema change,
        described for an assertion message."""
        found = []
        for at, exc in self.errors:
            inside = any(start <= at <= end for start, end in self.windows)
            if not (inside and allowed(exc)):
                where = "during" if inside else "outside"
                found.append(f"{type(exc).__name__} {where} a schema change: {exc}")
        return found[:5]
