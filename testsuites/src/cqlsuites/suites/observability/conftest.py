"""Fresh sessions (so counters start at zero), a server-warning collector, the suite tables."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import ConsistencyLevel

DDL_TIMEOUT = 60.0


@pytest.fixture(scope="session", autouse=True)
def default_consistency(cql_cluster: AsyncCluster, suite_params: Mapping[str, Any]) -> None:
    """Every request at the ``consistency`` param, so a read sees the write before it."""
    level = ConsistencyLevel.name_to_value[suite_params["consistency"]]
    cql_cluster.driver_cluster.profile_manager.default.consistency_level = level


@pytest.fixture(scope="session")
async def tables(cql: AsyncSession) -> None:
    for ddl in (
        "CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, v text)",
        "CREATE TABLE IF NOT EXISTS rows (p int, c int, v text, PRIMARY KEY (p, c))",
    ):
        await cql.execute(ddl, timeout=DDL_TIMEOUT)


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
