"""Audit logging records the suite's query, where a client can see the audit log at all."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiocql import AsyncSession

AUDIT_WAIT = 10.0


async def _setting(cql: AsyncSession, name: str) -> str | None:
    row = (
        await cql.execute("SELECT value FROM system_views.settings WHERE name = %s", (name,))
    ).one()
    return None if row is None else str(row.value)


async def test_audit_log_records_a_query(cql: AsyncSession, keyspace: str) -> None:
    enabled = await _setting(cql, "audit_logging_options_enabled")
    logger = await _setting(cql, "audit_logging_options_logger") or "?"
    if enabled != "true":
        pytest.skip(
            "audit logging is off on the node this suite reaches "
            f"(audit_logging_options_enabled={enabled}), and a CQL client cannot turn it on: "
            "Cassandra 5.0 enables it only in cassandra.yaml or over JMX (nodetool "
            "enableauditlog), and system_views.settings is read-only"
        )
    if "FileAuditLogger" not in logger:
        pytest.skip(
            f"audit logging is on, but its logger {logger} writes binary files only readable on "
            "the node (auditlogviewer); FileAuditLogger entries can be read through "
            "system_views.system_logs"
        )
    marker = f"audit_{uuid.uuid4().hex}"
    await cql.execute("CREATE TABLE IF NOT EXISTS audited (k text PRIMARY KEY)", timeout=60)
    # excluded_keyspaces leaves out system keyspaces by default: query the suite's own
    await cql.execute(f"SELECT k FROM {keyspace}.audited WHERE k = '{marker}'")
    try:
        async with asyncio.timeout(AUDIT_WAIT):
            while True:
                rows = (await cql.execute("SELECT message FROM system_views.system_logs")).all()
                if any(marker in (r.message or "") for r in rows):
                    return
                await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"the query tagged {marker} was not in the audit log after {AUDIT_WAIT:g}s")
