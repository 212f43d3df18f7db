"""A bring-your-own suite (``path:`` in a TestRun) that fails on purpose.

``dag.yaml`` runs it to show that a failed suite is reported with its message and that the
suites depending on it are skipped, naming it. It uses the plugin's ``cql`` fixture like any
built-in suite, so it also shows how your own tests get an instrumented session.
"""

from __future__ import annotations

from aiocql import AsyncSession


async def test_cluster_answers(cql: AsyncSession) -> None:
    row = (await cql.execute("SELECT release_version FROM system.local")).one()
    assert row is not None


async def test_fails_on_purpose(cql: AsyncSession) -> None:
    row = (await cql.execute("SELECT count(*) FROM system_schema.keyspaces")).one()
    assert row is not None
    assert row.count < 0, "intentional failure: this example suite always fails"
