"""Tables and helpers shared by the batch tests (created once per suite run)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra import ConsistencyLevel

from cqlsuites import kit


@pytest.fixture(scope="session")
def consistency(suite_params: Mapping[str, Any]) -> int:
    """The ``consistency`` param, which the plugin makes every request's default."""
    level: int = ConsistencyLevel.name_to_value[suite_params["consistency"]]
    return level


@pytest.fixture(scope="session")
def statements(suite_params: Mapping[str, Any]) -> int:
    count = int(suite_params["statements"])
    if count < 11:
        raise pytest.UsageError(f"param statements={count}: must be at least 11")
    return count


@pytest.fixture(scope="session")
async def tables(cql: AsyncSession) -> None:
    await kit.create_tables(
        cql,
        "kv (p int, c int, v text, PRIMARY KEY (p, c))",
        "kv_shadow (p int, c int, v text, PRIMARY KEY (p, c))",
        "hits (p int PRIMARY KEY, n counter, m counter)",
        "accounts (p int, c int, owner text, balance int, PRIMARY KEY (p, c))",
    )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def driver_warnings() -> Iterator[list[str]]:
    """Messages the driver logs at WARNING while the test runs (it logs each server warning)."""
    handler = _Collect()
    logger = logging.getLogger("cassandra")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
