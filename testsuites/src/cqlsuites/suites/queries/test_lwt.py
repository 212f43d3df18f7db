"""Lightweight transactions: IF, IF EXISTS, IF NOT EXISTS, and exactly one winner of a race."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra import ConsistencyLevel, WriteTimeout
from cassandra.protocol import ErrorMessage
from cassandra.query import SimpleStatement

# Protocol v5 CAS_WRITE_UNKNOWN: under Paxos contention the proposal reached some replicas but
# not a quorum, so the outcome is decided later. Like a CAS write timeout, it is not a failure.
CAS_WRITE_UNKNOWN = 0x1700

pytestmark = pytest.mark.usefixtures("tables")


def _outcome_unknown(exc: Exception) -> bool:
    return isinstance(exc, WriteTimeout) or (
        isinstance(exc, ErrorMessage) and getattr(exc, "code", None) == CAS_WRITE_UNKNOWN
    )


async def _serial_read(cql: AsyncSession, statement: SimpleStatement) -> Any:
    for _ in range(20):  # a SERIAL read runs Paxos too, and can meet the same contention
        try:
            return (await cql.execute(statement)).one()
        except Exception as exc:
            if not _outcome_unknown(exc):
                raise
    raise AssertionError("20 SERIAL reads in a row ended with an unknown outcome")


async def _one(cql: AsyncSession, query: str, *values: Any) -> Any:
    return (await cql.execute(query, values)).one()


async def test_insert_if_not_exists_applies_once(cql: AsyncSession) -> None:
    first = await _one(cql, "INSERT INTO kv (k, v) VALUES (1, 'first') IF NOT EXISTS")
    second = await _one(cql, "INSERT INTO kv (k, v) VALUES (1, 'second') IF NOT EXISTS")
    assert first.applied, "IF NOT EXISTS on a new row was not applied"
    assert not second.applied, "IF NOT EXISTS on an existing row was applied"
    assert second.v == "first", f"the refused insert returned {second} instead of the row"


async def test_update_if_condition(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, v, n) VALUES (2, 'a', 1)")
    refused = await _one(cql, "UPDATE kv SET n = 5 WHERE k = 2 IF n = 0")
    assert not refused.applied, "an update whose condition is false was applied"
    assert refused.n == 1, f"the refused update returned n={refused.n}, the current value is 1"
    applied = await _one(cql, "UPDATE kv SET n = 5 WHERE k = 2 IF n = 1 AND v = 'a'")
    assert applied.applied, "an update whose conditions hold was not applied"
    assert (await _one(cql, "SELECT n FROM kv WHERE k = 2")).n == 5


async def test_update_if_exists_on_a_missing_row(cql: AsyncSession) -> None:
    result = await _one(cql, "UPDATE kv SET v = 'ghost' WHERE k = 3 IF EXISTS")
    assert not result.applied, "UPDATE IF EXISTS created a missing row"
    assert await _one(cql, "SELECT k FROM kv WHERE k = 3") is None, "the row appeared anyway"


async def test_delete_if_exists(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, v) VALUES (4, 'doomed')")
    deleted = await _one(cql, "DELETE FROM kv WHERE k = 4 IF EXISTS")
    again = await _one(cql, "DELETE FROM kv WHERE k = 4 IF EXISTS")
    assert deleted.applied, "DELETE IF EXISTS of a present row was not applied"
    assert not again.applied, "DELETE IF EXISTS of a deleted row was applied"
    assert await _one(cql, "SELECT k FROM kv WHERE k = 4") is None


async def test_concurrent_inserts_exactly_one_wins(
    cql: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    contenders = int(suite_params["contenders"])
    insert = await cql.prepare("INSERT INTO kv (k, v) VALUES (5, ?) IF NOT EXISTS")

    async def contend(name: str) -> Any:
        try:
            return (await cql.execute(insert, (name,), timeout=20)).one()
        except Exception as exc:
            if _outcome_unknown(exc):
                return exc
            raise

    names = [f"contender-{i}" for i in range(contenders)]
    answers = await asyncio.gather(*(contend(n) for n in names))
    serial = SimpleStatement(
        "SELECT v FROM kv WHERE k = 5", consistency_level=ConsistencyLevel.SERIAL
    )
    final = (await _serial_read(cql, serial)).v
    winners = [
        n for n, a in zip(names, answers, strict=True) if not isinstance(a, Exception) and a.applied
    ]
    unknown = [n for n, a in zip(names, answers, strict=True) if isinstance(a, Exception)]
    assert len(winners) <= 1, f"{len(winners)} concurrent IF NOT EXISTS inserts applied: {winners}"
    if winners:
        assert final == winners[0], f"the row holds {final!r}, the winner was {winners[0]!r}"
    else:
        assert final in unknown, f"nobody won, yet the row holds {final!r}"
    losers = [a for a in answers if not isinstance(a, Exception) and not a.applied]
    assert all(a.v == final for a in losers), "a losing insert saw a value other than the winner's"


async def test_concurrent_compare_and_set_increments(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, n) VALUES (6, 0)")
    cas = await cql.prepare("UPDATE kv SET n = ? WHERE k = 6 IF n = ?")
    read = SimpleStatement(
        "SELECT n FROM kv WHERE k = 6", consistency_level=ConsistencyLevel.SERIAL
    )

    unknown = 0

    async def current_value() -> int:
        value: int = (await _serial_read(cql, read)).n
        return value

    async def increment() -> int:
        nonlocal unknown
        for attempt in range(1, 51):
            current = await current_value()
            try:
                result = await cql.execute(cas, (current + 1, current), timeout=20)
            except Exception as exc:
                if not _outcome_unknown(exc):
                    raise
                unknown += 1
                continue
            if result.one().applied:
                return attempt
        raise AssertionError("a compare-and-set increment lost 50 races in a row")

    attempts = await asyncio.gather(*(increment() for _ in range(4)))
    final = await current_value()
    # Each task stops after one confirmed increment; an unknown outcome may have applied too.
    assert 4 <= final <= 4 + unknown, (
        f"4 confirmed CAS increments ({unknown} of unknown outcome) left n={final}: "
        f"an increment was lost or invented (attempts per task: {attempts})"
    )
