"""Real Unavailable errors from the server: each decision the policy took, and nothing applied.

An Unavailable error means the coordinator refused before writing anything, so trying another
coordinator once is safe for every statement, idempotent or not; a second refusal is final.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra import ConsistencyLevel, Unavailable
from cassandra.cluster import NoHostAvailable
from cassandra.query import BatchStatement, BatchType

from .conftest import Decision, OverReplicated, RecordingRetryPolicy

ALL = ConsistencyLevel.ALL


async def _refused(
    recorded: AsyncSession,
    policy: RecordingRetryPolicy,
    statement: Any,
    params: Any = None,
    **options: Any,
) -> list[Decision]:
    start = len(policy.decisions)
    request = (
        recorded.execute_batch(statement, **options)
        if isinstance(statement, BatchStatement)
        else recorded.execute(statement, params, consistency_level=ALL, **options)
    )
    with pytest.raises((Unavailable, NoHostAvailable)):
        await request
    return policy.decisions[start:]


def _check(decisions: list[Decision], over: OverReplicated) -> None:
    assert decisions, "the server's Unavailable never reached the retry policy"
    first = decisions[0]
    assert (first.event, first.retry_num, first.decision) == ("unavailable", 0, "RETRY_NEXT_HOST")
    counts = {"required_replicas": over.declared, "alive_replicas": over.nodes}
    assert dict(first.details) == counts, (
        f"Unavailable reported {dict(first.details)}; the keyspace declares {over.declared} "
        f"replicas on {over.nodes} node(s)"
    )
    assert len(decisions) <= 2, f"more than one retry after Unavailable: {decisions}"
    if len(decisions) == 2:
        assert (decisions[1].retry_num, decisions[1].decision) == (1, "RETHROW")


@pytest.mark.parametrize("idempotent", [False, True])
async def test_unavailable_insert_tries_one_other_coordinator(
    recorded: AsyncSession,
    policy: RecordingRetryPolicy,
    over: OverReplicated,
    cql: AsyncSession,
    idempotent: bool,
) -> None:
    insert = await recorded.prepare(f"INSERT INTO {over.name}.kv (k, v) VALUES (?, ?)")
    key = 10 + idempotent
    decisions = await _refused(recorded, policy, insert, (key, "x"), idempotent=idempotent)
    _check(decisions, over)
    assert all(d.idempotent is idempotent for d in decisions), "the policy saw another flag"
    assert insert.is_idempotent is False, "execute(idempotent=...) changed the prepared statement"
    row = (
        await cql.execute(
            f"SELECT v FROM {over.name}.kv WHERE k = %s",
            (key,),
            consistency_level=ConsistencyLevel.ONE,
        )
    ).one()
    assert row is None, "a write refused as Unavailable was applied"


async def test_unavailable_read_tries_one_other_coordinator(
    recorded: AsyncSession, policy: RecordingRetryPolicy, over: OverReplicated
) -> None:
    select = await recorded.prepare(f"SELECT v FROM {over.name}.kv WHERE k = ?")
    _check(await _refused(recorded, policy, select, (1,)), over)


async def test_unavailable_counter_update_is_not_applied(
    recorded: AsyncSession, policy: RecordingRetryPolicy, over: OverReplicated, cql: AsyncSession
) -> None:
    bump = await recorded.prepare(f"UPDATE {over.name}.hits SET n = n + 1 WHERE k = ?")
    _check(await _refused(recorded, policy, bump, (1,)), over)
    row = (
        await cql.execute(
            f"SELECT n FROM {over.name}.hits WHERE k = 1", consistency_level=ConsistencyLevel.ONE
        )
    ).one()
    assert row is None, f"a refused counter update was applied: {row}"


@pytest.mark.parametrize("batch_type", [BatchType.LOGGED, BatchType.UNLOGGED])
@pytest.mark.parametrize("holds", ["idempotent statements", "a non-idempotent statement"])
async def test_unavailable_batch_carries_its_real_idempotency(
    recorded: AsyncSession,
    policy: RecordingRetryPolicy,
    over: OverReplicated,
    batch_type: BatchType,
    holds: str,
) -> None:
    # their own texts: the flag is set on the (cached, shared) prepared statements themselves
    safe = await recorded.prepare(f"INSERT INTO {over.name}.kv (v, k) VALUES (?, ?)")
    safe.is_idempotent = True
    unsafe = await recorded.prepare(
        f"INSERT INTO {over.name}.kv (k, v) VALUES (?, ?) USING TTL 600"
    )
    batch = BatchStatement(batch_type=batch_type, consistency_level=ALL)
    batch.add(safe, ("a", 20))
    if holds == "idempotent statements":
        batch.add(safe, ("b", 21))
    else:
        batch.add(unsafe, (21, "b"))
    batch.is_idempotent = True
    decisions = await _refused(recorded, policy, batch)
    _check(decisions, over)
    # a batch is only as idempotent as its least idempotent statement; retrying it otherwise
    # could apply that statement twice
    expected = holds == "idempotent statements"
    seen = {d.idempotent for d in decisions}
    assert seen == {expected}, (
        f"a batch marked idempotent holding {holds} reached the retry policy as "
        f"{'idempotent' if True in seen else 'not idempotent'}"
    )
    assert batch.is_idempotent is True, "sending the batch changed the caller's flag"
