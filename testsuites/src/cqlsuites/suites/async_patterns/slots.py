"""Waiting until requests really hold their in-flight slots before a test interrupts them."""

from __future__ import annotations

import asyncio

from aiocql import AsyncSession

POLL = 0.001
LIMIT = 5.0


async def wait_in_flight(session: AsyncSession, count: int) -> None:
    """Return once ``count`` requests are in flight on ``session``; fail after 5 s."""
    # No event marks a request being sent, so poll the counter the session keeps.
    for _ in range(int(LIMIT / POLL)):
        if session.in_flight >= count:
            return
        await asyncio.sleep(POLL)
    raise AssertionError(f"{count} requests never were in flight at once ({session.in_flight})")
