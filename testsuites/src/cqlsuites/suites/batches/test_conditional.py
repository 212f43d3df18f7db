"""Conditional (LWT) batches: applied as a whole, or not at all with the current row returned."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest
from cassandra.query import BatchStatement, SimpleStatement

pytestmark = pytest.mark.usefixtures("tables")


def _opening(p: int) -> BatchStatement:
    batch = BatchStatement()
    batch.add(
        f"INSERT INTO accounts (p, c, owner, balance) VALUES ({p}, 0, 'ann', 100) IF NOT EXISTS"
    )
    batch.add(f"INSERT INTO accounts (p, c, owner, balance) VALUES ({p}, 1, 'bob', 50)")
    return batch


async def test_conditional_batch_applied(cql: AsyncSession) -> None:
    result = await cql.execute_batch(_opening(400))
    row = result.one()
    assert row is not None
    assert row.applied is True, f"first conditional batch not applied: {row}"
    rows = await cql.execute_all("SELECT c, owner, balance FROM accounts WHERE p = 400")
    assert [(r.c, r.owner, r.balance) for r in rows] == [(0, "ann", 100), (1, "bob", 50)]


async def test_conditional_batch_not_applied_returns_current_row(cql: AsyncSession) -> None:
    await cql.execute_batch(_opening(410))
    transfer = BatchStatement()
    transfer.add("UPDATE accounts SET balance = 0 WHERE p = 410 AND c = 0 IF balance = 999")
    transfer.add("UPDATE accounts SET balance = 150 WHERE p = 410 AND c = 1")
    result = await cql.execute_batch(transfer)
    row = result.one()
    assert row is not None
    assert row.applied is False, "a batch whose condition is false was applied"
    assert (row.c, row.balance) == (0, 100), f"the returned row is not the current one: {row}"
    rows = await cql.execute_all("SELECT c, balance FROM accounts WHERE p = 410")
    assert [(r.c, r.balance) for r in rows] == [(0, 100), (1, 50)], (
        "a statement of the not-applied conditional batch was applied"
    )


async def test_conditional_batch_applies_when_condition_holds(cql: AsyncSession) -> None:
    await cql.execute_batch(_opening(420))
    transfer = BatchStatement()
    transfer.add("UPDATE accounts SET balance = 70 WHERE p = 420 AND c = 0 IF balance = 100")
    transfer.add("UPDATE accounts SET balance = 80 WHERE p = 420 AND c = 1 IF owner = 'bob'")
    row = (await cql.execute_batch(transfer)).one()
    assert row is not None
    assert row.applied is True, f"a batch whose conditions hold was not applied: {row}"
    rows = await cql.execute_all(SimpleStatement("SELECT balance FROM accounts WHERE p = 420"))
    assert [r.balance for r in rows] == [70, 80]


async def test_conditional_batch_cannot_span_partitions(cql: AsyncSession) -> None:
    batch = BatchStatement()
    batch.add("INSERT INTO accounts (p, c, owner, balance) VALUES (430, 0, 'x', 1) IF NOT EXISTS")
    batch.add("INSERT INTO accounts (p, c, owner, balance) VALUES (431, 0, 'y', 1)")
    with pytest.raises(InvalidRequest, match=r"(?i)partition"):
        await cql.execute_batch(batch)
    assert (await cql.execute("SELECT c FROM accounts WHERE p IN (430, 431)")).one() is None
