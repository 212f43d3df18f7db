"""Fresh sessions (so counters start at zero), a server-warning collector, the suite tables."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from aiocql import AsyncCluster, AsyncSession

from cqlsuites import kit


@pytest.fixture(scope="session")
async def tables(cql: AsyncSession) -> None:
    await kit.create_tables(
        cql, "kv (k int PRIMARY KEY, v text)", "rows (p int, c int, v text, PRIMARY KEY (p, c))"
    )


@pytest.fixture
async def fresh(
    cql_cluster: AsyncCluster, keyspace: str, tables: None
) -> AsyncIterator[AsyncSession]:
    """A new session on the suite keyspace: its counters count only this test's requests."""
    async with await cql_cluster.connect(keyspace) as session:
        yield session


class ServerWarnings(logging.Handler):
    """The driver logs each server warning as ``Server warning: <text>`` (cassandra.protocol)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.logged: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Server warning: "):
            self.logged.append(message.removeprefix("Server warning: "))


@pytest.fixture
def server_warnings() -> Iterator[ServerWarnings]:
    handler = ServerWarnings()
    logger = logging.getLogger("cassandra.protocol")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
