"""Conditional writes under contention apply once; counters add up; flags are opt-in."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiocql import AsyncSession
from cassandra import ConsistencyLevel, OperationTimedOut, WriteTimeout
from cassandra.policies import WriteType
from cassandra.protocol import ErrorMessage
from cassandra.query import BatchStatement, SimpleStatement

from .conftest import RecordingRetryPolicy

# Reading at SERIAL completes any Paxos round a timed-out contender left in progress.
SERIAL = ConsistencyLevel.SERIAL
# The server's CAS_WRITE_UNKNOWN error (native protocol v5); cassandra-driver 3.30 has no class
# for it and raises a bare ErrorMessage carrying the code.
CAS_WRITE_UNKNOWN = 0x1700


async def _race(cql: AsyncSession, statement: Any, contenders: int) -> Race:
    """Run ``contenders`` copies of a conditional write at once, each binding its own name."""
    names = [f"c{i}" for i in range(contenders)]
    results = await asyncio.gather(
        *(cql.execute(statement, (name,)) for name in names), return_exceptions=True
    )
    race = Race()
    for name, result in zip(names, results, strict=True):
        if isinstance(result, WriteTimeout) and result.write_type == WriteType.CAS:
            race.unknown.add(name)  # Paxos gave up under contention: applied or not, unknown
        elif isinstance(result, ErrorMessage) and result.code == CAS_WRITE_UNKNOWN:
            race.unknown.add(name)  # accepted by too few replicas: may still be completed
        elif isinstance(result, OperationTimedOut):
            race.unknown.add(name)
        elif isinstance(result, BaseException):
            raise result
        elif result.one().applied:
            race.applied.add(name)
        else:
            race.refused.append(result.one())
    assert race.applied or race.refused, (
        f"all {contenders} contenders timed out; lower the contenders param for this cluster"
    )
    assert len(race.applied) <= 1, f"{sorted(race.applied)} were all told their write applied"
    return race


@dataclass
class Race:
    """How the contenders of one conditional write fared."""

    applied: set[str] = field(default_factory=set)
    refused: list[Any] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)

    def possible_winners(self) -> set[str]:
        return self.applied or self.unknown


async def test_if_not_exists_applies_once_under_contention(
    cql: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS owners (k int PRIMARY KEY, owner text)", timeout=60
    )
    claim = await cql.prepare("INSERT INTO owners (k, owner) VALUES (1, ?) IF NOT EXISTS")
    race = await _race(cql, claim, suite_params["contenders"])
    stored = (
        await cql.execute("SELECT owner FROM owners WHERE k = 1", consistency_level=SERIAL)
    ).one()
    assert stored is not None, "no contender's IF NOT EXISTS insert applied"
    assert stored.owner in race.possible_winners(), (
        f"the row is owned by {stored.owner}, told applied: {sorted(race.applied)}"
    )
    seen = {row.owner for row in race.refused}
    assert seen <= {stored.owner}, (
        f"refused contenders saw owners {seen}, the row holds {stored.owner}"
    )


async def test_conditional_update_applies_once(
    cql: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS versions (k int PRIMARY KEY, version int, winner text)",
        timeout=60,
    )
    await cql.execute("INSERT INTO versions (k, version, winner) VALUES (1, 1, 'init')")
    bump = await cql.prepare(
        "UPDATE versions SET version = 2, winner = ? WHERE k = 1 IF version = 1"
    )
    race = await _race(cql, bump, suite_params["contenders"])
    row = (
        await cql.execute(
            "SELECT version, winner FROM versions WHERE k = 1", consistency_level=SERIAL
        )
    ).one()
    assert row.version == 2, "no contender's conditional update applied"
    assert row.winner in race.possible_winners(), (
        f"the row was updated by {row.winner}, told applied: {sorted(race.applied)}"
    )
    stale = [r.version for r in race.refused if r.version != 2]
    assert not stale, f"refused contenders saw versions {stale}, not the winner's 2"


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
