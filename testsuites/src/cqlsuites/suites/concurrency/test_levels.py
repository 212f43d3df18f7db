"""Concurrent writes then reads at each consistency level; the ones the replication cannot meet
are skipped naming the replicas they need (a topology limit, not a failure)."""

from __future__ import annotations

import asyncio

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import ConsistencyLevel

from cqlsuites.connect import replication_for
from cqlsuites.env import SuiteEnv

from .conftest import prepare_idempotent, value_of

LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM")
PER_LEVEL = 100


def unmet(level: str, replication: dict[str, int], local_dc: str) -> str | None:
    """Why ``level`` cannot be met with this replication, or None when it can."""
    total = sum(replication.values())
    local = replication.get(local_dc, 0)
    need = {"ONE": 1, "TWO": 2, "THREE": 3, "QUORUM": 1, "ALL": 1}.get(level)
    if need is not None and need > total:
        return f"{level} needs {need} replicas, the keyspace has {total} ({replication})"
    if level.startswith("LOCAL_") and local == 0:
        return f"{level} needs replicas in the local DC {local_dc}, replication is {replication}"
    return None


@pytest.mark.parametrize("level", LEVELS)
async def test_concurrent_writes_and_reads_at_level(
    cql: AsyncSession, cql_cluster: AsyncCluster, suite_env: SuiteEnv, level: str
) -> None:
    replication = replication_for(suite_env, cql_cluster)
    local_dc = suite_env.local_dc or next(iter(replication))
    reason = unmet(level, replication, local_dc)
    if reason is not None:
        pytest.skip(reason)
    cl = ConsistencyLevel.name_to_value[level]
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS levels (level text, k int, v text, PRIMARY KEY (level, k))",
        timeout=60,
    )
    insert = await prepare_idempotent(cql, "INSERT INTO levels (level, k, v) VALUES (?, ?, ?)")
    select = await prepare_idempotent(cql, "SELECT v FROM levels WHERE level = ? AND k = ?")
    await asyncio.gather(
        *(
            cql.execute(insert, (level, k, value_of(k)), consistency_level=cl)
            for k in range(PER_LEVEL)
        )
    )
    results = await asyncio.gather(
        *(cql.execute(select, (level, k), consistency_level=cl) for k in range(PER_LEVEL))
    )
    got = [r.one() for r in results]
    wrong = [k for k, row in enumerate(got) if row is None or row.v != value_of(k)]
    assert not wrong, f"at {level}: {len(wrong)} of {PER_LEVEL} rows not read back as written"
