"""What every node says about the schema, asked of each node directly."""

from __future__ import annotations

import asyncio
from typing import Any

from aiocql import AsyncResult, AsyncSession

from cqlsuites.kit import DDL_TIMEOUT

AGREEMENT_WAIT = 30.0
AGREEMENT_POLL = 0.5


async def ddl(cql: AsyncSession, statement: str) -> AsyncResult:
    """Run a schema change and wait until every node agrees on the schema.

    The driver waits for agreement itself before returning, but gives up after its
    ``max_schema_agreement_wait`` (10 s); a loaded cluster can take longer, so the wait goes on
    here, node by node, within :data:`AGREEMENT_WAIT`.
    """
    result = await cql.execute(statement, timeout=DDL_TIMEOUT)
    if not result.response_future.is_schema_agreed:
        await assert_agreement(cql)
    return result


async def per_node(cql: AsyncSession, query: str, *values: Any) -> dict[str, list[Any]]:
    """The rows of ``query`` as each node the session connects to answers it (system tables
    are node-local). DC-aware routing opens no connection to remote datacenters, so their
    nodes are seen through the gossip of the local ones (see :func:`assert_agreement`)."""
    answers: dict[str, list[Any]] = {}
    for host in cql.driver_session.get_pool_state():
        result = await cql.execute(query, values or None, host=host, timeout=10)
        answers[str(host.address)] = result.all()
    assert answers, "the session has no connection to any node"
    return answers


async def assert_agreement(cql: AsyncSession) -> None:
    """Every node of the cluster reports one schema version, as each reachable node sees it
    (its own in system.local, its peers' in system.peers_v2).

    Other suites may change their own schema on the same cluster meanwhile, so disagreement
    is retried for up to :data:`AGREEMENT_WAIT`: what must hold is that the nodes converge.
    """
    problem = ""
    for _ in range(int(AGREEMENT_WAIT / AGREEMENT_POLL)):
        problem = await _disagreement(cql)
        if not problem:
            return
        await asyncio.sleep(AGREEMENT_POLL)
    raise AssertionError(f"no schema agreement after {AGREEMENT_WAIT:g} s: {problem}")


async def _disagreement(cql: AsyncSession) -> str:
    own = await per_node(cql, "SELECT schema_version FROM system.local")
    peers = await per_node(cql, "SELECT peer, schema_version FROM system.peers_v2")
    versions: dict[str, set[str]] = {}
    for node, rows in own.items():
        versions.setdefault(node, set()).add(str(rows[0].schema_version))
    for rows in peers.values():
        for row in rows:
            versions.setdefault(str(row.peer), set()).add(str(row.schema_version))
    expected = {str(h.address) for h in cql.driver_session.cluster.metadata.all_hosts()}
    if set(versions) != expected:
        return f"versions known for {sorted(versions)}, not for every node {sorted(expected)}"
    if len(set().union(*versions.values())) != 1:
        return f"nodes report different schema versions: {versions}"
    return ""
