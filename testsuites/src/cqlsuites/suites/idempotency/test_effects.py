"""Conditional writes under contention apply once; counters add up; flags are opt-in."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiocql import AsyncSession
from cassandra.query import BatchStatement, SimpleStatement

from .conftest import RecordingRetryPolicy


async def test_if_not_exists_applies_once_under_contention(
    cql: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    contenders: int = suite_params["contenders"]
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS owners (k int PRIMARY KEY, owner text)", timeout=60
    )
    claim = await cql.prepare("INSERT INTO owners (k, owner) VALUES (1, ?) IF NOT EXISTS")
    results = await asyncio.gather(*(cql.execute(claim, (f"c{i}",)) for i in range(contenders)))
    rows = [r.one() for r in results]
    winners = [row for row in rows if row.applied]
    assert len(winners) == 1, f"{len(winners)} of {contenders} IF NOT EXISTS inserts applied"
    stored = (await cql.execute("SELECT owner FROM owners WHERE k = 1")).one()
    losers = {row.owner for row in rows if not row.applied}
    assert losers == {stored.owner}, f"losers saw owners {losers}, the row holds {stored.owner}"


async def test_conditional_update_applies_once(
    cql: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    contenders: int = suite_params["contenders"]
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS versions (k int PRIMARY KEY, version int, winner text)",
        timeout=60,
    )
    await cql.execute("INSERT INTO versions (k, version, winner) VALUES (1, 1, 'init')")
    bump = await cql.prepare(
        "UPDATE versions SET version = 2, winner = ? WHERE k = 1 IF version = 1"
    )
    results = await asyncio.gather(*(cql.execute(bump, (f"c{i}",)) for i in range(contenders)))
    applied = [r.one() for r in results if r.one().applied]
    assert len(applied) == 1, f"{len(applied)} of {contenders} conditional updates applied"
    row = (await cql.execute("SELECT version, winner FROM versions WHERE k = 1")).one()
    assert row.version == 2


async def test_counter_updates_add_up_and_are_never_retried(
    recorded: AsyncSession, policy: RecordingRetryPolicy, keyspace: str
) -> None:
    await recorded.execute(
        f"CREATE TABLE IF NOT EXISTS {keyspace}.tally (k int PRIMARY KEY, n counter)", timeout=60
    )
    bump = await recorded.prepare(f"UPDATE {keyspace}.tally SET n = n + ? WHERE k = 1")
    start = len(policy.decisions)
    await asyncio.gather(*(recorded.execute(bump, (d,)) for d in range(1, 201)))
    row = (await recorded.execute(f"SELECT n FROM {keyspace}.tally WHERE k = 1")).one()
    assert row.n == sum(range(1, 201)), f"200 concurrent counter updates summed to {row.n}"
    retried = [d for d in policy.decisions[start:] if d.decision != "RETHROW"]
    assert not retried, f"counter updates were retried: {retried}"


async def test_statements_are_not_idempotent_unless_marked(cql: AsyncSession) -> None:
    await cql.execute("CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, v text)", timeout=60)
    text = "INSERT INTO kv (k, v) VALUES (?, ?)"
    prepared = await cql.prepare(text)
    assert prepared.is_idempotent is False, "a prepared INSERT is idempotent by default"
    assert prepared.bind((1, "a")).is_idempotent is False
    assert SimpleStatement("SELECT 1").is_idempotent is False
    assert BatchStatement().is_idempotent is False
    prepared.is_idempotent = True
    try:
        assert prepared.bind((1, "a")).is_idempotent is True, "bound statements lost the flag"
    finally:
        prepared.is_idempotent = False
