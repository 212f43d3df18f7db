"""IdempotentRetryPolicy decisions for every write type, the latency histogram and the
Prometheus collector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiocql import IdempotentRetryPolicy
from aiocql.prometheus import SessionCollector
from aiocql.stats import BUCKET_UPPER_BOUNDS_SECONDS, RELATIVE_ERROR, LatencyHistogram
from cassandra import ConsistencyLevel
from cassandra.policies import RetryPolicy, WriteType
from cassandra.query import SimpleStatement
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

QUORUM = ConsistencyLevel.QUORUM
RETRY, RETHROW, NEXT = RetryPolicy.RETRY, RetryPolicy.RETHROW, RetryPolicy.RETRY_NEXT_HOST

ALL_WRITE_TYPES = {
    "SIMPLE": WriteType.SIMPLE,
    "BATCH": WriteType.BATCH,
    "UNLOGGED_BATCH": WriteType.UNLOGGED_BATCH,
    "COUNTER": WriteType.COUNTER,
    "BATCH_LOG": WriteType.BATCH_LOG,
    "CAS": WriteType.CAS,
    "VIEW": WriteType.VIEW,
    "CDC": WriteType.CDC,
}
RETRYABLE = {"SIMPLE", "BATCH", "UNLOGGED_BATCH"}


def statement(idempotent: bool) -> SimpleStatement:
    return SimpleStatement("INSERT ...", is_idempotent=idempotent)


@pytest.mark.parametrize("name", sorted(ALL_WRITE_TYPES))
@pytest.mark.parametrize("idempotent", [True, False])
def test_write_timeout_decision_for_every_write_type(name: str, idempotent: bool) -> None:
    policy = IdempotentRetryPolicy(max_retries=1)
    write_type = ALL_WRITE_TYPES[name]
    assert isinstance(write_type, int)  # what the driver passes: never a string
    decision, cl = policy.on_write_timeout(statement(idempotent), QUORUM, write_type, 2, 1, 0)
    if idempotent and name in RETRYABLE:
        assert (decision, cl) == (RETRY, QUORUM)
    else:
        assert decision == RETHROW
    # the retry budget is honoured
    decision, _ = policy.on_write_timeout(statement(idempotent), QUORUM, write_type, 2, 1, 1)
    assert decision == RETHROW


def test_string_write_types_are_not_what_the_policy_matches() -> None:
    policy = IdempotentRetryPolicy()
    decision, _ = policy.on_write_timeout(statement(True), QUORUM, "SIMPLE", 2, 1, 0)
    assert decision == RETHROW


@pytest.mark.parametrize("idempotent", [True, False, None])
def test_request_error_retries_only_idempotent(idempotent: bool | None) -> None:
    policy = IdempotentRetryPolicy(max_retries=2)
    query = SimpleStatement("INSERT ...")
    if idempotent is not None:
        query.is_idempotent = idempotent
    decision, _ = policy.on_request_error(query, QUORUM, ConnectionError("reset"), 0)
    assert decision == (NEXT if idempotent else RETHROW)
    decision, _ = policy.on_request_error(query, QUORUM, ConnectionError("reset"), 2)
    assert decision == RETHROW


def test_read_timeout_and_unavailable() -> None:
    policy = IdempotentRetryPolicy(max_retries=1)
    q = statement(False)
    assert policy.on_read_timeout(q, QUORUM, 2, 2, False, 0) == (RETRY, QUORUM)
    assert policy.on_read_timeout(q, QUORUM, 2, 2, True, 0)[0] == RETHROW
    assert policy.on_read_timeout(q, QUORUM, 2, 1, False, 0)[0] == RETHROW
    assert policy.on_read_timeout(q, QUORUM, 2, 2, False, 1)[0] == RETHROW
    assert policy.on_unavailable(q, QUORUM, 2, 1, 0)[0] == NEXT
    assert policy.on_unavailable(q, QUORUM, 2, 1, 1)[0] == RETHROW
    with pytest.raises(ValueError, match="max_retries=-1"):
        IdempotentRetryPolicy(max_retries=-1)


def test_latency_histogram_percentiles() -> None:
    hist = LatencyHistogram()
    hist.record_many([i / 1000 for i in range(1, 1001)])  # 1 ms .. 1 s
    hist.record(0.0000005)
    snap = hist.snapshot()
    assert snap.count == 1001
    assert snap.max == 1.0
    for q, expected in ((50, 0.5), (99, 0.99)):
        value = snap.percentile(q)
        assert expected <= value <= expected * (1 + RELATIVE_ERROR), (q, value)
    assert snap.percentile(100) == 1.0
    buckets = snap.buckets()
    assert buckets[-1] == (1.048576, 1001)  # 2**20 µs: the exported edge above 1 s
    assert [b for b, _ in buckets] == sorted(b for b, _ in buckets)
    assert len(buckets) <= 4 * 21  # 4 exported bounds per power of two, not 128
    assert list(BUCKET_UPPER_BOUNDS_SECONDS) == sorted(BUCKET_UPPER_BOUNDS_SECONDS)
    with pytest.raises(ValueError, match="q=0"):
        snap.percentile(0)


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=50), st.integers(1, 100))
def test_latency_histogram_error_is_bounded(micros: list[int], q: int) -> None:
    values = [m / 1e6 for m in micros]
    one, many = LatencyHistogram(), LatencyHistogram()
    for value in values:
        one.record(value)
    many.record_many(values)
    assert one.snapshot() == many.snapshot()
    ordered = sorted(micros)
    true = ordered[max(0, -(-q * len(ordered) // 100) - 1)]
    reported = round(one.snapshot().percentile(q) * 1e6, 3)
    assert true <= reported <= max(true * (1 + RELATIVE_ERROR), true + 1), (true, reported)


async def test_prometheus_collector_exports_session_stats(make_session: Callable[..., Any]) -> None:
    session, _ = make_session(lambda rf: rf.complete([1, 2, 3]))
    for _ in range(4):
        await session.execute("SELECT 1")
    registry = CollectorRegistry()
    collector = SessionCollector()
    collector.add(session, "unit")
    registry.register(collector)
    text = generate_latest(registry).decode()
    assert 'aiocql_requests_total{session="unit"} 4.0' in text
    assert 'aiocql_rows_total{session="unit"} 12.0' in text
    assert 'aiocql_request_latency_seconds_count{session="unit"} 4.0' in text
    with pytest.raises(ValueError, match="already exported"):
        collector.add(session, "unit")
