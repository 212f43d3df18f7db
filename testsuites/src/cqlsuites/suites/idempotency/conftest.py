"""The recording cluster and the over-replicated keyspace that makes Unavailable real."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from aiocql import AsyncCluster, AsyncSession, IdempotentRetryPolicy
from cassandra.policies import RetryPolicy

from cqlsuites import connect, kit
from cqlsuites.env import SuiteEnv

_NOT_DETAILS = frozenset({"consistency", "retry_num", "error"})
DECISIONS = {
    RetryPolicy.RETRY: "RETRY",
    RetryPolicy.RETHROW: "RETHROW",
    RetryPolicy.IGNORE: "IGNORE",
    RetryPolicy.RETRY_NEXT_HOST: "RETRY_NEXT_HOST",
}


@dataclass(frozen=True)
class Decision:
    """One call of the retry policy: what failed, for which statement, and what it decided."""

    event: str
    query: Any
    retry_num: int
    decision: str
    details: tuple[tuple[str, Any], ...] = ()

    @property
    def idempotent(self) -> bool:
        return getattr(self.query, "is_idempotent", False) is True


def _recorded(event: str) -> Callable[..., Any]:
    """aiocql's ``on_<event>``, its decision recorded (one wrapper for the four events)."""
    decide = getattr(IdempotentRetryPolicy, f"on_{event}")

    def recorded(self: RecordingRetryPolicy, query: Any, *args: Any, **info: Any) -> Any:
        return self._record(event, query, decide(self, query, *args, **info), info)

    return recorded


class RecordingRetryPolicy(IdempotentRetryPolicy):
    """aiocql's policy, unchanged, with each decision appended to ``decisions``.

    The driver passes everything but the statement by keyword (``retry_num``, and the error's
    ``info``: ``required_replicas``, ``write_type``...), and so do the tests; those keywords
    become the decision's details.
    """

    def __init__(self) -> None:
        super().__init__()
        self.decisions: list[Decision] = []

    def _record(self, event: str, query: Any, out: Any, info: dict[str, Any]) -> Any:
        if "retry_num" not in info:
            raise TypeError(f"{event}: pass the policy's arguments by keyword to record them")
        details = tuple(sorted((k, v) for k, v in info.items() if k not in _NOT_DETAILS))
        self.decisions.append(Decision(event, query, info["retry_num"], DECISIONS[out[0]], details))
        return out

    on_read_timeout = _recorded("read_timeout")
    on_write_timeout = _recorded("write_timeout")
    on_unavailable = _recorded("unavailable")
    on_request_error = _recorded("request_error")


@pytest.fixture(scope="session")
def policy() -> RecordingRetryPolicy:
    return RecordingRetryPolicy()


@dataclass(frozen=True)
class OverReplicated:
    """A keyspace declaring one more replica in the local DC than it has nodes."""

    name: str
    declared: int
    nodes: int


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def recorded(
    suite_env: SuiteEnv, policy: RecordingRetryPolicy, cqlsuites_reporter: Any
) -> AsyncIterator[AsyncSession]:
    """A session on a cluster of its own whose retry policy records every decision."""
    options = connect.cluster_options(suite_env)
    async with AsyncCluster(
        list(suite_env.require_contact_points()), retry_policy=policy, **options
    ) as cluster:
        session = await connect.connect(cluster, cqlsuites_reporter.stats)
        yield session


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def over(
    cql: AsyncSession, cql_cluster: AsyncCluster, keyspace: str, suite_env: SuiteEnv
) -> AsyncIterator[OverReplicated]:
    """Its table ``kv`` (k int, v text) and ``hits`` (counter); dropped at the end."""
    hosts = cql_cluster.metadata.all_hosts()
    local_dc = suite_env.local_dc or hosts[0].datacenter
    nodes = sum(1 for h in hosts if h.datacenter == local_dc)
    async with kit.side_keyspace(
        cql,
        f"{keyspace}_over"[:48],
        {local_dc: nodes + 1},
        "kv (k int PRIMARY KEY, v text)",
        "hits (k int PRIMARY KEY, n counter)",
    ) as name:
        yield OverReplicated(name, nodes + 1, nodes)
