"""A LOGGED batch applies all of its statements, and a rejected one applies none."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest
from cassandra.query import BatchStatement, BatchType


async def _tables(cql: AsyncSession) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY, owner text)", timeout=60
    )
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS owners (owner text PRIMARY KEY, id int)", timeout=60
    )


async def test_logged_batch_applies_every_statement(cql: AsyncSession) -> None:
    await _tables(cql)
    to_accounts = await cql.prepare("INSERT INTO accounts (id, owner) VALUES (?, ?)")
    to_owners = await cql.prepare("INSERT INTO owners (owner, id) VALUES (?, ?)")
    batch = BatchStatement(batch_type=BatchType.LOGGED)
    for n in range(5):
        batch.add(to_accounts, (n, f"o{n}"))
        batch.add(to_owners, (f"o{n}", n))
    await cql.execute_batch(batch)
    accounts = await cql.execute_all("SELECT id, owner FROM accounts WHERE id IN (0, 1, 2, 3, 4)")
    owners = await cql.execute_all(
        "SELECT owner, id FROM owners WHERE owner IN ('o0', 'o1', 'o2', 'o3', 'o4')"
    )
    assert sorted((r.id, r.owner) for r in accounts) == [(n, f"o{n}") for n in range(5)]
    assert sorted((r.id, r.owner) for r in owners) == [(n, f"o{n}") for n in range(5)]


async def test_rejected_logged_batch_applies_nothing(cql: AsyncSession) -> None:
    await _tables(cql)
    batch = BatchStatement(batch_type=BatchType.LOGGED)
    batch.add("INSERT INTO accounts (id, owner) VALUES (100, 'kept?')")
    batch.add("INSERT INTO accounts (id, no_such_column) VALUES (101, 'x')")
    with pytest.raises(InvalidRequest, match="no_such_column"):
        await cql.execute_batch(batch)
    row = (await cql.execute("SELECT id FROM accounts WHERE id = 100")).one()
    assert row is None, "a batch the server rejected still applied one of its statements"
