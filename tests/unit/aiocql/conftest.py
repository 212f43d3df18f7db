"""Fixtures for aiocql unit tests: an AsyncSession over a fake driver session."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from aiocql import AsyncSession, Timeouts
from fakes import FakeDriverSession, FakeReactor, FakeResponseFuture


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture(params=["io-thread", "loop-thread"])
def reactor(request: pytest.FixtureRequest) -> Iterator[FakeReactor | None]:
    """Every session test runs twice: with a driver that has an IO thread (requests are sent
    from it, as with the real driver) and with one that has none (sent from the loop)."""
    if request.param == "loop-thread":
        yield None
        return
    reactor = FakeReactor()
    yield reactor
    reactor.close()


@pytest.fixture
def make_session(
    executor: ThreadPoolExecutor, reactor: FakeReactor | None
) -> Callable[..., tuple[AsyncSession, FakeDriverSession]]:
    def make(
        behaviour: Callable[[FakeResponseFuture], None] | None = None, **kwargs: Any
    ) -> tuple[AsyncSession, FakeDriverSession]:
        driver = FakeDriverSession(behaviour, reactor)
        if "timeouts" not in kwargs:
            request, grace = kwargs.pop("default_timeout", 5.0), kwargs.pop("grace", 0.1)
            kwargs["timeouts"] = Timeouts(request=request, grace=grace)
        return AsyncSession(driver, executor, **kwargs), driver

    return make


@pytest.fixture
async def pending_session(
    make_session: Callable[..., tuple[AsyncSession, FakeDriverSession]],
) -> AsyncIterator[tuple[AsyncSession, FakeDriverSession]]:
    """A session whose requests stay pending until the test completes them."""
    session, driver = make_session()
    yield session, driver
    await session.close()
