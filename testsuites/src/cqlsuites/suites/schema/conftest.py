"""The suite's default consistency and its traffic generator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import ConsistencyLevel

from .traffic import Traffic

DDL_TIMEOUT = 60.0


@pytest.fixture(scope="session", autouse=True)
def default_consistency(cql_cluster: AsyncCluster, suite_params: Mapping[str, Any]) -> None:
    """Every request at the ``consistency`` param, so a read sees the write before it."""
    level = ConsistencyLevel.name_to_value[suite_params["consistency"]]
    cql_cluster.driver_cluster.profile_manager.default.consistency_level = level


@pytest.fixture
def traffic(cql: AsyncSession, suite_params: Mapping[str, Any]) -> Traffic:
    return Traffic(cql, int(suite_params["workers"]))
