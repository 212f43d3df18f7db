"""Every request of the suite runs at the ``consistency`` param, so reads see earlier writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster
from cassandra import ConsistencyLevel


@pytest.fixture(scope="session", autouse=True)
def _consistency(cql_cluster: AsyncCluster, suite_params: Mapping[str, Any]) -> None:
    level = ConsistencyLevel.name_to_value[suite_params["consistency"]]
    cql_cluster.driver_cluster.profile_manager.default.consistency_level = level
