"""A request rate limiter that load tests use to drive a cluster at a fixed, open-loop rate.

It is a virtual-scheduling (GCRA) limiter: each caller reserves the next free slot and sleeps
until it, so waiters are served in arrival order without a lock, and it holds no loop-bound
state (the same limiter works across successive event loops).
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """Admit at most ``rate`` requests per second, allowing bursts of ``burst`` requests."""

    __slots__ = ("_interval", "_tat", "_tolerance", "burst", "rate")

    def __init__(self, rate: float, burst: int = 1) -> None:
        if not rate > 0:
            raise ValueError(f"rate={rate!r}: must be > 0 requests per second")
        if not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst={burst!r}: must be an integer >= 1")
        self.rate = float(rate)
        self.burst = burst
        self._interval = 1.0 / self.rate
        self._tolerance = (burst - 1) * self._interval
        self._tat = 0.0  # theoretical arrival time of the next request

    def reserve(self) -> float:
        """Take the next slot; return how many seconds the caller must wait for it (>= 0)."""
        now = time.monotonic()
        tat = self._tat if self._tat > now else now
        self._tat = tat + self._interval
        delay = tat - self._tolerance - now
        return delay if delay > 0 else 0.0

    async def acquire(self) -> None:
        """Wait until this request may be sent."""
        delay = self.reserve()
        if delay:
            await asyncio.sleep(delay)
