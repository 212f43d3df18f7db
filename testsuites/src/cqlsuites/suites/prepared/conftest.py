"""The suite's tables, and a keyspace with one local replica for the routing tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiocql import AsyncSession

from cqlsuites import kit
from cqlsuites.env import SuiteEnv


@pytest.fixture(scope="session")
async def tables(cql: AsyncSession) -> None:
    await kit.create_tables(
        cql,
        "kv (k int PRIMARY KEY, a int, b text)",
        "wide (p int, c int, v text, PRIMARY KEY (p, c))",
        "big (k int PRIMARY KEY, data blob, body text)",
    )


@pytest.fixture(scope="session")
async def single_replica(
    cql: AsyncSession, keyspace: str, suite_env: SuiteEnv
) -> AsyncIterator[str]:
    """A keyspace with RF 1 in the local DC, so each partition has exactly one owner there.

    With RF equal to the local node count every node owns every partition and routing could
    not be told from round robin.
    """
    local = suite_env.local_dc or "datacenter1"
    name = f"{keyspace[:44]}_rf1"  # at most 48 characters, never the suite keyspace
    async with kit.side_keyspace(
        cql,
        name,
        {local: 1},
        "one (k int PRIMARY KEY, v int)",
        "two (a int, b text, v int, PRIMARY KEY ((a, b)))",
    ) as rf1:
        yield rf1
