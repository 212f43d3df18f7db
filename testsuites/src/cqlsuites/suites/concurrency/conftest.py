"""A pre-filled table the reads go to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest_asyncio
from aiocql import AsyncSession

DDL = 60.0


async def prepare_idempotent(cql: AsyncSession, text: str) -> Any:
    """A prepared statement marked idempotent: every statement of this suite but the counter
    update can be repeated safely, so a server timeout under load is retried, not failed."""
    prepared = await cql.prepare(text)
    prepared.is_idempotent = True
    return prepared


def value_of(key: int) -> str:
    """The value stored under ``key``: derived from it, so any mix-up shows."""
    return f"value-{key}-{key * 7919 % 1000003}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def filled(cql: AsyncSession, suite_params: Mapping[str, Any]) -> int:
    """``reads`` rows in ``items`` (k, v = value_of(k), n = k); returns how many."""
    rows: int = suite_params["reads"]
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS items (k int PRIMARY KEY, v text, n int)", timeout=DDL
    )
    await cql.execute("CREATE TABLE IF NOT EXISTS written (k int PRIMARY KEY, v text)", timeout=DDL)
    insert = await prepare_idempotent(cql, "INSERT INTO items (k, v, n) VALUES (?, ?, ?)")
    await cql.execute_concurrent(
        [(insert, (k, value_of(k), k)) for k in range(rows)], concurrency=64
    )
    return rows
