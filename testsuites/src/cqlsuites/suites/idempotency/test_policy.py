"""The decisions of the retry policy for the failures a healthy cluster does not produce on
demand (timeouts, lost connections), put to it with real statements of every kind."""

from __future__ import annotations

from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession, IdempotentRetryPolicy
from cassandra import ConsistencyLevel, OperationTimedOut
from cassandra.policies import WriteType
from cassandra.query import BatchStatement, BatchType

from cqlsuites import kit

from .conftest import RecordingRetryPolicy

ONE = ConsistencyLevel.ONE
# (statement kind, write type the server reports for its write timeout): retried once when the
# statement is marked idempotent, never when it is not.
RETRIED_WHEN_IDEMPOTENT = [
    ("insert", WriteType.SIMPLE),
    ("logged_batch", WriteType.BATCH),
    ("unlogged_batch", WriteType.UNLOGGED_BATCH),
]
# Never retried, whatever the mark: a counter would add twice, and after a CAS, BATCH_LOG, VIEW
# or CDC timeout the write's effects may already be applied.
NEVER_RETRIED = [
    ("counter", WriteType.COUNTER),
    ("cas", WriteType.CAS),
    ("logged_batch", WriteType.BATCH_LOG),
    ("insert", WriteType.VIEW),
    ("insert", WriteType.CDC),
]
# (statement kind, marked idempotent, write type, expected decision)
WRITE_TIMEOUTS = [
    (kind, idempotent, write_type, "RETRY" if idempotent and retried else "RETHROW")
    for retried, cases in ((True, RETRIED_WHEN_IDEMPOTENT), (False, NEVER_RETRIED))
    for kind, write_type in cases
    for idempotent in (True, False)
]


async def _statement(cql: AsyncSession, kind: str, idempotent: bool) -> Any:
    await kit.create_tables(
        cql, "kv (k int PRIMARY KEY, v text)", "hits (k int PRIMARY KEY, n counter)"
    )
    insert = await cql.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    statement: Any
    if kind == "insert":
        statement = insert.bind((1, "a"))
    elif kind == "counter":
        statement = (await cql.prepare("UPDATE hits SET n = n + ? WHERE k = ?")).bind((1, 1))
    elif kind == "cas":
        statement = (await cql.prepare("INSERT INTO kv (k, v) VALUES (?, ?) IF NOT EXISTS")).bind(
            (1, "a")
        )
    else:
        batch_type = BatchType.LOGGED if kind == "logged_batch" else BatchType.UNLOGGED
        statement = BatchStatement(batch_type=batch_type)
        statement.add(insert, (1, "a"))
        statement.add(insert, (2, "b"))
    statement.is_idempotent = idempotent
    return statement


def test_suite_clusters_run_aiocql_retry_policy(
    cql_cluster: AsyncCluster, policy: RecordingRetryPolicy
) -> None:
    default = cql_cluster.driver_cluster.profile_manager.default.retry_policy
    assert isinstance(default, IdempotentRetryPolicy), f"the suite cluster retries with {default!r}"
    assert isinstance(policy, IdempotentRetryPolicy)
    assert policy.max_retries == default.max_retries == 1


@pytest.mark.parametrize(
    ("kind", "idempotent", "write_type", "expected"),
    WRITE_TIMEOUTS,
    ids=[
        f"{k}-{'idem' if i else 'nonidem'}-{WriteType.value_to_name[w]}"
        for k, i, w, _ in WRITE_TIMEOUTS
    ],
)
async def test_write_timeout_decision(
    cql: AsyncSession,
    policy: RecordingRetryPolicy,
    kind: str,
    idempotent: bool,
    write_type: int,
    expected: str,
) -> None:
    statement = await _statement(cql, kind, idempotent)
    decisions = []
    for retry_num in (0, 1):
        policy.on_write_timeout(
            statement,
            consistency=ONE,
            write_type=write_type,
            required_responses=1,
            received_responses=0,
            retry_num=retry_num,
        )
        decisions.append(policy.decisions[-1].decision)
    assert decisions[0] == expected, (
        f"a write timeout ({WriteType.value_to_name[write_type]}) of a "
        f"{'' if idempotent else 'non-'}idempotent {kind} was answered {decisions[0]}"
    )
    assert decisions[1] == "RETHROW", "retried beyond max_retries"


@pytest.mark.parametrize(
    ("kind", "idempotent", "expected"),
    [
        ("insert", False, "RETHROW"),
        ("insert", True, "RETRY_NEXT_HOST"),
        ("counter", False, "RETHROW"),
        ("unlogged_batch", False, "RETHROW"),
        ("unlogged_batch", True, "RETRY_NEXT_HOST"),
    ],
)
async def test_request_error_decision(
    cql: AsyncSession, policy: RecordingRetryPolicy, kind: str, idempotent: bool, expected: str
) -> None:
    statement = await _statement(cql, kind, idempotent)
    policy.on_request_error(
        statement, consistency=ONE, error=OperationTimedOut("connection lost"), retry_num=0
    )
    assert policy.decisions[-1].decision == expected, (
        f"a lost request of a {'' if idempotent else 'non-'}idempotent {kind} was answered "
        f"{policy.decisions[-1].decision}"
    )


@pytest.mark.parametrize(
    ("received", "data", "expected"),
    [
        (1, False, "RETRY"),  # enough replicas answered, the data did not arrive: ask again
        (0, False, "RETHROW"),  # not enough replicas: asking again will not help
        (1, True, "RETHROW"),  # the data arrived, the digest did not match in time
    ],
)
async def test_read_timeout_decision(
    cql: AsyncSession, policy: RecordingRetryPolicy, received: int, data: bool, expected: str
) -> None:
    select = (await cql.prepare("SELECT v FROM kv WHERE k = ?")).bind((1,))
    policy.on_read_timeout(
        select,
        consistency=ONE,
        required_responses=1,
        received_responses=received,
        data_retrieved=data,
        retry_num=0,
    )
    assert policy.decisions[-1].decision == expected
